//! What `aisgap check-config` prints of a valid configuration: its ports, watchlist,
//! parameters and sources, and notes on what is allowed but worth a second look.

use super::Config;
use crate::ports::{format_position, haversine_nm, PortIndex, PortZone};
use crate::source::{SourceKind, SourceSpec, DEFAULT_MAX_LINE_BYTES};

/// Ports listed one per line; a file of thousands is summarised by its count, so that a
/// service's start (which runs check-config) does not fill the journal.
const LISTED_PORTS: usize = 100;

impl Config {
    /// A human summary: ports with zones, watchlist size, key parameters, and notes worth a
    /// second look (overlapping zones).
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let source = self.source_path.as_deref().map_or_else(
            || "(built-in defaults)".to_owned(),
            |p| p.display().to_string(),
        );
        out.push_str(&format!("Configuration {source} is valid.\n"));
        out.push_str(&format!("Designated ports: {}\n", self.ports.len()));
        let listed = &self.ports[..self.ports.len().min(LISTED_PORTS)];
        let width = listed.iter().map(|p| p.name.len()).max().unwrap_or(0);
        for port in listed {
            let gap = port
                .gap_hours
                .map_or_else(String::new, |h| format!(", gap {h} h"));
            out.push_str(&format!(
                "  {:width$}  {}; approach {} nm, coverage {} nm{gap}\n",
                port.name,
                port.zone_description(),
                port.approach_nm,
                port.coverage_nm,
            ));
        }
        if self.ports.len() > listed.len() {
            out.push_str(&format!(
                "  ... and {} more (`aisgap query ports` lists them once a database has them)\n",
                self.ports.len() - listed.len()
            ));
        }
        let watched = if self.detect.watch_all {
            "every vessel"
        } else {
            "tankers and the watchlist"
        };
        out.push_str(&format!(
            "Watchlist: {} vessel(s); watching {watched}\n",
            self.watchlist.len()
        ));
        let d = &self.detect;
        out.push_str(&format!(
            "Detection: gap >= {} h; reachable at {} kn with {} h in port; an hour is covered \
             with >= {} other vessel(s) heard, a trip needs {:.0}% covered hours; jump above {} kn\n",
            d.gap_hours,
            d.max_speed_kn,
            d.min_port_hours,
            d.coverage_min_vessels,
            d.min_coverage * 100.0,
            d.jump_speed_kn,
        ));
        out.push_str(&format!(
            "Cargo: estimated above a {} m draught rise (high confidence above {} m); block \
             coefficient {}, sea water {} t/m3, {} bbl/t\n",
            d.cargo_min_draught_rise_m,
            d.high_confidence_draught_rise_m,
            d.block_coefficient,
            d.seawater_density_t_m3,
            d.barrels_per_tonne,
        ));
        out.push_str(&format!(
            "Store: {}; track thinned to one fix per {} min; {} rows per transaction\n",
            self.store.db.display(),
            self.store.track_interval_minutes,
            self.store.batch_rows,
        ));
        out.push_str(&format!(
            "Decode: incomplete messages dropped after {} s; at most {} pending; repeats within {} s are duplicates\n",
            self.decode.fragment_timeout_s, self.decode.max_pending_fragments, self.decode.duplicate_window_s,
        ));
        if self.sources.is_empty() {
            out.push_str("Sources: none\n");
        } else {
            out.push_str(&format!("Sources: {}\n", self.sources.len()));
            let width = self.sources.iter().map(|s| s.name.len()).max().unwrap_or(0);
            for spec in &self.sources {
                out.push_str(&format!(
                    "  {:width$}  {}\n",
                    spec.name,
                    describe_source(spec)
                ));
            }
        }
        for line in super::http::describe(&self.http, &self.alerts) {
            out.push_str(&format!("{line}\n"));
        }
        for note in self
            .overlap_notes()
            .into_iter()
            .chain(self.listener_notes())
            .chain(super::http::exposure_note(&self.http))
        {
            out.push_str(&format!("Note: {note}\n"));
        }
        out
    }

    /// Listeners reachable from other machines: allowed (receivers often push over the
    /// network), but worth a second look.
    fn listener_notes(&self) -> Vec<String> {
        self.sources
            .iter()
            .filter_map(|spec| match &spec.kind {
                SourceKind::TcpListen { address, .. } | SourceKind::Udp { address }
                    if !address.ip().is_loopback() =>
                {
                    Some(format!(
                        "source {} listens on {address}, reachable from other machines; \
                         use 127.0.0.1 to accept senders on this machine only",
                        spec.name
                    ))
                }
                _ => None,
            })
            .collect()
    }

    /// Circular zones that share water: a fix there is "in" both ports.
    fn overlap_notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        // Only pairs whose boxes meet can overlap: the index spares the other n² pairs.
        let index = PortIndex::new(&self.ports, |_| 0.0);
        let mut meeting = Vec::new();
        for (i, a) in self.ports.iter().enumerate() {
            index.meeting(a, 0.0, &mut meeting);
            for b in meeting.iter().filter(|&&j| j > i).map(|&j| &self.ports[j]) {
                if let (
                    PortZone::Circle {
                        lat: lat_a,
                        lon: lon_a,
                        radius_nm: r_a,
                    },
                    PortZone::Circle {
                        lat: lat_b,
                        lon: lon_b,
                        radius_nm: r_b,
                    },
                ) = (&a.zone, &b.zone)
                {
                    let apart = haversine_nm(*lat_a, *lon_a, *lat_b, *lon_b);
                    if apart < r_a + r_b {
                        notes.push(format!(
                            "zones {} and {} overlap: centres {} and {} are {apart:.1} nm \
                             apart, radii {r_a:.1} + {r_b:.1} nm",
                            a.name,
                            b.name,
                            format_position(*lat_a, *lon_a),
                            format_position(*lat_b, *lon_b),
                        ));
                    }
                }
            }
        }
        notes
    }
}

/// One line describing a source for `check-config`.
fn describe_source(spec: &SourceSpec) -> String {
    let timeout = spec.read_timeout.as_secs();
    let reconnect = spec.reconnect.max.as_secs();
    let mut text = match &spec.kind {
        SourceKind::Tcp { address } => format!(
            "tcp client of {address}; stall after {timeout} s silent, reconnect within {reconnect} s"
        ),
        SourceKind::TcpListen {
            address,
            max_clients,
        } => format!(
            "tcp listener on {address} for up to {max_clients} client(s); a client silent \
             {timeout} s is closed"
        ),
        SourceKind::Udp { address } => {
            format!("udp listener on {address}; stall noted after {timeout} s silent")
        }
        SourceKind::Serial { path, baud } => format!(
            "serial {} at {baud} baud; reopened after {timeout} s silent, retry within {reconnect} s",
            path.display()
        ),
        SourceKind::File { path, follow: true } => {
            format!("file {}, followed from its end", path.display())
        }
        SourceKind::File {
            path,
            follow: false,
        } => format!("file {}, read once", path.display()),
        SourceKind::Stdin => "standard input, read once".to_owned(),
    };
    text.push_str(if spec.trust_data_time {
        "; times from the data"
    } else {
        "; times of receipt"
    });
    if let Some(station) = &spec.station {
        text.push_str(&format!("; station {station}"));
    }
    if spec.max_line_bytes != DEFAULT_MAX_LINE_BYTES {
        text.push_str(&format!("; lines up to {} bytes", spec.max_line_bytes));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::super::testing::{load, MINIMAL};
    use super::*;
    use crate::ports::Port;

    #[test]
    fn no_sources_is_valid_and_said() {
        let config = load(MINIMAL).unwrap();
        assert!(config.sources.is_empty());
        assert!(config.summary().contains("Sources: none"));
    }

    #[test]
    fn summary_lists_ports_and_notes_overlaps() {
        let config = Config {
            ports: vec![
                Port::circle("Vostochny", 42.735, 133.075, 2.0),
                Port::circle("Kozmino", 42.728, 133.005, 1.5),
                Port::circle("Vladivostok", 43.105, 131.885, 3.0),
            ],
            ..Config::default()
        };
        let summary = config.summary();
        assert!(summary.contains("Designated ports: 3"), "{summary}");
        assert!(
            summary.contains("circle 2.0 nm around 42.7350 N 133.0750 E"),
            "{summary}"
        );
        let notes: Vec<&str> = summary.lines().filter(|l| l.starts_with("Note:")).collect();
        assert_eq!(notes.len(), 1, "{summary}");
        assert!(
            notes[0].contains("Vostochny and Kozmino overlap"),
            "{summary}"
        );
    }
}
