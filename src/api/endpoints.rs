//! What `/api/v1` offers, endpoint by endpoint: its path, parameters, formats and record. The
//! router mounts these and the OpenAPI description is built from them, so neither can list an
//! endpoint the other lacks.

use super::params::Format;

/// One endpoint of `/api/v1` as documented.
#[derive(Clone, Copy, Debug)]
pub struct Endpoint {
    pub path: &'static str,
    pub summary: &'static str,
    pub description: &'static str,
    /// Query parameters it takes (names from [`super::params::PARAMS`]).
    pub params: &'static [&'static str],
    /// Representations offered; the first is the default.
    pub formats: &'static [Format],
    /// The OpenAPI component its JSON answer is made of.
    pub record: &'static str,
    /// Whether the JSON answer is an array of `record`.
    pub list: bool,
}

const GAP_FILTERS: &[&str] = &[
    "port",
    "mmsi",
    "imo",
    "since",
    "until",
    "confidence",
    "limit",
    "offset",
    "format",
];
const LIST_FORMATS: &[Format] = &[Format::Json, Format::Csv, Format::Geojson];

pub const TRIPS: Endpoint = Endpoint {
    path: "/api/v1/trips",
    summary: "Suspected dark port calls (trips) of watched vessels",
    description: "Gaps judged trips: near a designated port, reachable in the time and covered. Oldest first. Records are those of `aisgap query trips --format json`.",
    params: GAP_FILTERS,
    formats: LIST_FORMATS,
    record: "Gap",
    list: true,
};

pub const GAPS: Endpoint = Endpoint {
    path: "/api/v1/gaps",
    summary: "Every dark period of a watched vessel, with its judgement",
    description:
        "All gaps of watched vessels whatever their status (filter with status). Oldest first.",
    params: &[
        "port",
        "mmsi",
        "imo",
        "since",
        "until",
        "confidence",
        "status",
        "limit",
        "offset",
        "format",
    ],
    formats: LIST_FORMATS,
    record: "Gap",
    list: true,
};

pub const DARK_NOW: Endpoint = Endpoint {
    path: "/api/v1/dark-now",
    summary: "Watched vessels silent now near a covered port",
    description: "Open gaps flagged dark now at the stream clock (see /api/v1/summary).",
    params: &[
        "port", "mmsi", "imo", "since", "until", "limit", "offset", "format",
    ],
    formats: LIST_FORMATS,
    record: "Gap",
    list: true,
};

pub const TALLY: Endpoint = Endpoint {
    path: "/api/v1/tally",
    summary: "Trips counted by port, vessel and/or month",
    description: "One row per group, with high-confidence trips and estimated barrels. The same filters as trips apply before counting.",
    params: &[
        "by",
        "port",
        "mmsi",
        "imo",
        "since",
        "until",
        "confidence",
        "limit",
        "offset",
        "format",
    ],
    formats: &[Format::Json, Format::Csv],
    record: "TallyRow",
    list: true,
};

pub const VESSEL: Endpoint = Endpoint {
    path: "/api/v1/vessels/{mmsi}",
    summary: "One vessel: identity, identity history, gaps and track",
    description: "The stored state of a vessel, every identity it reported, and its gaps and track inside the window given by since and until (all of them without).",
    params: &["since", "until"],
    formats: &[Format::Json],
    record: "Vessel",
    list: false,
};

pub const PORTS: Endpoint = Endpoint {
    path: "/api/v1/ports",
    summary: "Designated ports with their coverage and traffic",
    description: "Each port's zone, approach and coverage distances, the hours in the window in which vessels were heard near it, trips and vessels dark now.",
    params: &["since", "until", "min_vessels", "format"],
    formats: LIST_FORMATS,
    record: "Port",
    list: true,
};

pub const PORT_HOURS: Endpoint = Endpoint {
    path: "/api/v1/ports/{name}/hours",
    summary: "Hourly coverage of one port",
    description: "For every hour in the window in which any vessel was heard within the port's coverage distance, how many distinct vessels were.",
    params: &["since", "until"],
    formats: &[Format::Json],
    record: "PortHour",
    list: true,
};

pub const SUMMARY: Endpoint = Endpoint {
    path: "/api/v1/summary",
    summary: "The stream clock, whether the input was complete, and ingest counters",
    description: "The time of the latest data written (the \"now\" of dark-now) the running counters of lines, messages and rejects, and, when a replayed log broke off or was refused, why the database was built from incomplete input.",
    params: &[],
    formats: &[Format::Json],
    record: "Summary",
    list: false,
};

pub const OPENAPI: Endpoint = Endpoint {
    path: "/api/v1/openapi.json",
    summary: "This description",
    description: "The OpenAPI 3.1 description of /api/v1.",
    params: &[],
    formats: &[Format::Json],
    record: "OpenApi",
    list: false,
};

pub const HISTORY: Endpoint = Endpoint {
    path: "/api/v1/history",
    summary: "Why gaps are judged as they are: every change of a judgement",
    description: "Each change of the judgement of the gaps selected (by vessel, by fix A's time, by the port and status they have now), gap by gap in the order the changes happened, with the stream time, the reason and one sentence saying it. Records are those of `aisgap query history --format json`.",
    params: &[
        "port", "mmsi", "since", "until", "status", "limit", "offset", "format",
    ],
    formats: &[Format::Json, Format::Csv],
    record: "JudgementChange",
    list: true,
};

const AT_SEA_FILTERS: &[&str] = &["mmsi", "since", "until", "limit", "offset", "format"];

pub const ENCOUNTERS: Endpoint = Endpoint {
    path: "/api/v1/encounters",
    summary: "Two vessels meeting at sea, at least one of them watched",
    description: "Within [encounters] max_distance_m at common (interpolated) times for at least min_hours, at a median speed under max_median_speed_kn, away from every designated port. Both vessels' identities and draughts before and after, and the cargo estimate from the rise. Earliest start first; mmsi matches either vessel. GeoJSON draws where they met, the meeting segment and both tracks. Records are those of `aisgap query encounters --format json`.",
    params: AT_SEA_FILTERS,
    formats: LIST_FORMATS,
    record: "Encounter",
    list: true,
};

pub const LOITERING: Endpoint = Endpoint {
    path: "/api/v1/loitering",
    summary: "Watched vessels idling at sea",
    description: "Every fix under [loitering] max_speed_kn for at least min_hours, at least min_port_distance_nm from every designated port zone (away_rule from_ports: no coastline is bundled). Earliest start first. Records are those of `aisgap query loitering --format json`.",
    params: AT_SEA_FILTERS,
    formats: LIST_FORMATS,
    record: "Loitering",
    list: true,
};

pub const RENDEZVOUS: Endpoint = Endpoint {
    path: "/api/v1/rendezvous",
    summary: "Dark rendezvous: a watched vessel's silence another vessel could have shared",
    description: "Pairs of a watched vessel's silence (fix A to fix B) and another vessel's silence or loitering such that both could have reached one place and stayed together there for [rendezvous] min_hours at no more than max_speed_kn, at least min_port_distance_km from every designated port: the feasibility window (earliest, latest), the slack, the best meeting place and the area where they could have met. A candidate, never proof. Earliest dark_from first; mmsi matches either vessel. GeoJSON draws the meeting place, the area and both legs. Records are those of `aisgap query rendezvous --format json`.",
    params: AT_SEA_FILTERS,
    formats: LIST_FORMATS,
    record: "Rendezvous",
    list: true,
};

pub const VISITS: Endpoint = Endpoint {
    path: "/api/v1/visits",
    summary: "Port visits of watched vessels heard with AIS on",
    description: "Calls at designated ports: arrival (first fix inside the zone), departure (last fix within the exit margin, null while in port), whether a silence as long as a gap happened inside, and the voyage from the previous visit. The window applies to the arrival; oldest first. Records are those of `aisgap query visits --format json`.",
    params: &[
        "port", "mmsi", "imo", "since", "until", "limit", "offset", "format",
    ],
    formats: LIST_FORMATS,
    record: "Visit",
    list: true,
};

pub const PATTERNS: Endpoint = Endpoint {
    path: "/api/v1/patterns",
    summary: "Shuttle patterns: repeated dark trips of one vessel from one area to one port",
    description: "At least 3 trips of one vessel to one attributed port whose dark positions lie within 50 km of each other (chained), with cycle-time statistics and the window the next dark call is due in. The filters select the trips first. Records are those of `aisgap query patterns --format json`, which can change the area and the number of trips.",
    params: GAP_FILTERS,
    formats: LIST_FORMATS,
    record: "Pattern",
    list: true,
};

pub const TALLY_REPORT: Endpoint = Endpoint {
    path: "/api/v1/tally/report",
    summary: "The tally report: trips and open calls per port and month, cumulative estimated barrels against the annual cap",
    description: "What `aisgap report tally` draws: the tally by port and month, every month of the period with the running total of estimated barrels and the annual cap ([report] annual_cap_bbl) pro rata, the confidence split and every trip. CSV is the tally by port and month.",
    params: &["port", "since", "until", "format"],
    formats: &[Format::Json, Format::Csv],
    record: "TallyReport",
    list: false,
};

/// The trip report: an HTML page, not a record (no JSON formats; see `openapi::operation`).
pub const TRIP_REPORT: Endpoint = Endpoint {
    path: "/api/v1/report/trip/{mmsi}/{time}",
    summary: "The report of one gap (usually a trip), as one self-contained HTML page",
    description: "What `aisgap report trip MMSI@TIME` writes: map, coverage hour by hour, identity and draught before and after, candidate ports, judgement history, the raw lines of A, B and the static reports with their provenance and SHA-256, the fingerprint of what judged, and the cargo estimate. `time` is fix A's time as the trips answer gives it (dark_from, RFC 3339) or Unix seconds.",
    params: &[],
    formats: &[],
    record: "Error",
    list: false,
};

/// The encounter report: an HTML page, like the trip report.
pub const ENCOUNTER_REPORT: Endpoint = Endpoint {
    path: "/api/v1/report/encounter/{mmsi}/{time}",
    summary: "The report of one encounter at sea, as one self-contained HTML page",
    description: "What `aisgap report encounter MMSI@TIME` writes: both tracks around the meeting and the meeting segment, the distance over time (min, median), both identities, both draughts before and after, the cargo estimate with its formula and inputs, where and when, the judgement and the fingerprint of what judged. `mmsi` is either vessel, `time` the start as the encounters answer gives it (RFC 3339) or Unix seconds. When two encounters of that vessel start at the same time the answer is 409 naming both partners: ask /api/v1/report/encounter/{mmsi}/{time}/{with}.",
    params: &[],
    formats: &[],
    record: "Error",
    list: false,
};

/// The same, naming the other vessel too: two encounters of one vessel may start together.
pub const ENCOUNTER_REPORT_WITH: Endpoint = Endpoint {
    path: "/api/v1/report/encounter/{mmsi}/{time}/{with}",
    summary: "The report of the encounter of two named vessels starting at a time",
    description: "As /api/v1/report/encounter/{mmsi}/{time}, `with` being the other vessel's MMSI.",
    params: &[],
    formats: &[],
    record: "Error",
    list: false,
};

pub const ENDPOINTS: &[Endpoint] = &[
    TRIPS,
    GAPS,
    DARK_NOW,
    TALLY,
    VESSEL,
    PORTS,
    PORT_HOURS,
    HISTORY,
    ENCOUNTERS,
    LOITERING,
    SUMMARY,
    OPENAPI,
    VISITS,
    PATTERNS,
    TALLY_REPORT,
    RENDEZVOUS,
    TRIP_REPORT,
    ENCOUNTER_REPORT,
    ENCOUNTER_REPORT_WITH,
];
