//! The stored rows of the wide tables (gaps, and the identity columns vessels and
//! identity_history share): one column list each, from which both the statement that writes a
//! row and the one that reads it back are built, and values bound and read by column name, so
//! that the writer and the read side cannot disagree about which column is which.

use std::sync::LazyLock;

use rusqlite::{Row, Statement};

use super::cells::Cells;
use crate::detect::{Confidence, GapRecord, GapStatus};
use crate::model::{Mmsi, ShortText, TransceiverClass};
use crate::time::UnixMillis;
use crate::track::Identity;

/// The columns of `gaps`, in the schema's order.
const GAP_COLUMNS: [&str; 30] = [
    "mmsi",
    "dark_from",
    "dark_until",
    "status",
    "watched",
    "port",
    "from_lat",
    "from_lon",
    "until_lat",
    "until_lon",
    "duration_hours",
    "distance_nm",
    "implied_speed_kn",
    "detour_nm",
    "slack_hours",
    "coverage",
    "dark_now",
    "imo",
    "name",
    "callsign",
    "ship_type",
    "draught_before",
    "draught_after",
    "draught_change",
    "est_tonnes",
    "est_barrels",
    "confidence",
    "identity_changes",
    "candidates",
    "segment",
];

/// The gap columns as a SELECT list.
pub(super) static GAP_SELECT_LIST: LazyLock<String> = LazyLock::new(|| GAP_COLUMNS.join(", "));

/// Writes (or rewrites) one gap; parameter `?n` is the `n`th of [`GAP_COLUMNS`].
pub(super) static GAP_INSERT: LazyLock<String> = LazyLock::new(|| {
    let parameters: Vec<String> = (1..=GAP_COLUMNS.len()).map(|n| format!("?{n}")).collect();
    format!(
        "INSERT OR REPLACE INTO gaps ({}) VALUES ({})",
        GAP_COLUMNS.join(", "),
        parameters.join(", ")
    )
});

/// Where the JSON of a gap's lists is written, kept from row to row: a passing vessel's open
/// gap is written again at each refresh mark, and its candidates are most of the row.
#[derive(Default)]
pub(super) struct GapJson {
    identity_changes: Vec<u8>,
    candidates: Vec<u8>,
}

/// Binds a gap to a statement prepared from [`GAP_INSERT`] and runs it. Values are bound by
/// the position of their column's name, found at compile time: looking 30 names up in SQLite
/// for every row cost more than binding them.
pub(super) fn write_gap(
    insert: &mut Statement<'_>,
    json: &mut GapJson,
    g: &GapRecord,
) -> rusqlite::Result<()> {
    fn list_json<T: serde::Serialize>(list: &[T], out: &mut Vec<u8>) {
        out.clear();
        if serde_json::to_writer(&mut *out, list).is_err() {
            out.clear();
            out.extend_from_slice(b"[]");
        }
    }
    list_json(&g.identity_changes, &mut json.identity_changes);
    list_json(&g.candidates, &mut json.candidates);
    // serde_json writes UTF-8 only.
    fn as_text(bytes: &[u8]) -> &str {
        std::str::from_utf8(bytes).unwrap_or("[]")
    }
    // A binding outlives its row: a column left out would keep the row before's value, so
    // the build fails unless every column is bound exactly once.
    macro_rules! bind {
        ($($name:literal => $value:expr),* $(,)?) => {
            const _: () = assert!(binds_every_column(&[$($name),*]));
            $(insert.raw_bind_parameter(const { gap_column($name) + 1 }, $value)?;)*
        };
    }
    bind! {
        "mmsi" => g.mmsi.0,
        "dark_from" => g.dark_from.as_millis(),
        "dark_until" => g.dark_until.map(UnixMillis::as_millis),
        "status" => g.status.as_str(),
        "watched" => g.watched,
        "port" => &g.port,
        "from_lat" => g.from_lat,
        "from_lon" => g.from_lon,
        "until_lat" => g.until_lat,
        "until_lon" => g.until_lon,
        "duration_hours" => g.duration_hours,
        "distance_nm" => g.distance_nm,
        "implied_speed_kn" => g.implied_speed_kn,
        "detour_nm" => g.detour_nm,
        "slack_hours" => g.slack_hours,
        "coverage" => g.coverage,
        "dark_now" => g.dark_now,
        "imo" => g.imo,
        "name" => &g.name,
        "callsign" => &g.callsign,
        "ship_type" => g.ship_type,
        "draught_before" => g.draught_before,
        "draught_after" => g.draught_after,
        "draught_change" => g.draught_change,
        "est_tonnes" => g.est_tonnes,
        "est_barrels" => g.est_barrels,
        "confidence" => g.confidence.map(|c| c.as_str()),
        "identity_changes" => as_text(&json.identity_changes),
        "candidates" => as_text(&json.candidates),
        "segment" => g.segment,
    }
    insert.raw_execute()?;
    Ok(())
}

/// Where a column sits in [`GAP_COLUMNS`] (and so in [`GAP_SELECT_LIST`]); evaluated at compile
/// time, so a name that is not a column fails the build.
const fn gap_column(name: &str) -> usize {
    let mut i = 0;
    while i < GAP_COLUMNS.len() {
        if same_name(GAP_COLUMNS[i], name) {
            return i;
        }
        i += 1;
    }
    panic!("not a column of gaps");
}

/// Whether `names` are the columns of `gaps`, each once (in any order).
const fn binds_every_column(names: &[&str]) -> bool {
    if names.len() != GAP_COLUMNS.len() {
        return false;
    }
    let mut i = 0;
    while i < GAP_COLUMNS.len() {
        let mut found = 0;
        let mut j = 0;
        while j < names.len() {
            if same_name(GAP_COLUMNS[i], names[j]) {
                found += 1;
            }
            j += 1;
        }
        if found != 1 {
            return false;
        }
        i += 1;
    }
    true
}

const fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A gap from a row selected with [`GAP_SELECT_LIST`]. Columns are named, and their positions
/// found once at compile time: a list answers up to ten thousand rows, and looking each name up
/// in every row would cost more than reading it. A cell that does not parse (an unknown status,
/// unreadable JSON, a value of the wrong type) is an error naming the gap and the column.
pub(super) fn read_gap(row: &Row<'_>) -> rusqlite::Result<GapRecord> {
    let mut key = Cells::key_of(
        row,
        &[
            (gap_column("mmsi"), "mmsi"),
            (gap_column("dark_from"), "dark_from"),
        ],
    );
    if let Ok(millis) = row.get::<_, i64>(const { gap_column("dark_from") }) {
        key.push_str(&format!(" ({})", UnixMillis(millis)));
    }
    let cells = Cells::new(row, "gaps", key);
    macro_rules! column {
        ($name:literal) => {
            cells.get(const { gap_column($name) })
        };
    }
    let dark_until: Option<i64> = column!("dark_until")?;
    Ok(GapRecord {
        mmsi: Mmsi(column!("mmsi")?),
        segment: column!("segment")?,
        dark_from: UnixMillis(column!("dark_from")?),
        dark_until: dark_until.map(UnixMillis),
        status: cells.parsed(
            const { gap_column("status") },
            "a status aisgap knows",
            GapStatus::parse,
        )?,
        watched: column!("watched")?,
        port: column!("port")?,
        from_lat: column!("from_lat")?,
        from_lon: column!("from_lon")?,
        until_lat: column!("until_lat")?,
        until_lon: column!("until_lon")?,
        duration_hours: column!("duration_hours")?,
        distance_nm: column!("distance_nm")?,
        implied_speed_kn: column!("implied_speed_kn")?,
        detour_nm: column!("detour_nm")?,
        slack_hours: column!("slack_hours")?,
        coverage: column!("coverage")?,
        dark_now: column!("dark_now")?,
        imo: column!("imo")?,
        name: column!("name")?,
        callsign: column!("callsign")?,
        ship_type: column!("ship_type")?,
        draught_before: column!("draught_before")?,
        draught_after: column!("draught_after")?,
        draught_change: column!("draught_change")?,
        est_tonnes: column!("est_tonnes")?,
        est_barrels: column!("est_barrels")?,
        confidence: cells.parsed_opt(
            const { gap_column("confidence") },
            "a confidence aisgap knows (high, medium, low)",
            Confidence::parse,
        )?,
        identity_changes: cells.json(const { gap_column("identity_changes") })?,
        candidates: cells.json(const { gap_column("candidates") })?,
        last_open_call: None,
    })
}

/// The identity columns, named alike in `vessels` and `identity_history`.
pub(super) const IDENTITY_SELECT_LIST: &str =
    "imo, name, callsign, ship_type, length, beam, draught, destination, class";

/// An identity from a row that selected [`IDENTITY_SELECT_LIST`], of `table` at the row `key`
/// names; a cell that does not parse is an error naming them.
pub(super) fn read_identity(
    row: &Row<'_>,
    table: &'static str,
    key: String,
) -> rusqlite::Result<Identity> {
    let cells = Cells::new(row, table, key);
    let at = |name: &str| {
        row.as_ref()
            .column_index(name)
            .map_err(|_| cells.bad(0, format!("no column {name}")))
    };
    Ok(Identity {
        imo: cells.get(at("imo")?)?,
        name: cells.get(at("name")?)?,
        callsign: cells.get(at("callsign")?)?,
        ship_type: cells.get(at("ship_type")?)?,
        length: cells.get(at("length")?)?,
        beam: cells.get(at("beam")?)?,
        draught: cells.get::<Option<f64>>(at("draught")?)?.map(|d| d as f32),
        destination: cells.get(at("destination")?)?,
        class: cells.parsed_opt(
            at("class")?,
            "a transceiver class (A or B)",
            class_from_text,
        )?,
    })
}

/// How a transceiver class is stored.
pub(super) fn class_text(class: Option<TransceiverClass>) -> Option<&'static str> {
    class.map(|c| match c {
        TransceiverClass::A => "A",
        TransceiverClass::B => "B",
    })
}

fn class_from_text(text: &str) -> Option<TransceiverClass> {
    [TransceiverClass::A, TransceiverClass::B]
        .into_iter()
        .find(|c| class_text(Some(*c)) == Some(text))
}

/// A report's text is stored as the text it holds.
impl rusqlite::types::ToSql for ShortText {
    fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
        Ok(rusqlite::types::ToSqlOutput::Borrowed(
            rusqlite::types::ValueRef::Text(self.as_bytes()),
        ))
    }
}

impl rusqlite::types::FromSql for ShortText {
    fn column_result(value: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
        value.as_str().map(ShortText::new)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::detect::PortCandidate;
    use crate::store::schema;
    use crate::track::IdentityChange;

    /// Every field set, none equal to another, so that two swapped columns cannot pass.
    pub(in crate::store) fn distinct_gap() -> GapRecord {
        GapRecord {
            mmsi: Mmsi(445_000_001),
            segment: 3,
            imo: Some(8_372_538),
            name: Some("CHON MA SAN".into()),
            callsign: Some("HMYZ".into()),
            ship_type: Some(80),
            status: GapStatus::PositionJump,
            watched: true,
            port: Some("Vostochny".into()),
            dark_from: UnixMillis(1_709_856_000_000),
            dark_until: Some(UnixMillis(1_709_942_400_000)),
            from_lat: 42.1,
            from_lon: 133.2,
            until_lat: Some(42.3),
            until_lon: Some(133.4),
            duration_hours: 24.5,
            distance_nm: Some(12.6),
            implied_speed_kn: Some(0.7),
            detour_nm: Some(30.8),
            slack_hours: Some(9.9),
            coverage: Some(0.11),
            dark_now: false,
            draught_before: Some(5.12),
            draught_after: Some(7.13),
            draught_change: Some(2.14),
            identity_changes: vec![IdentityChange {
                field: "name".into(),
                before: "A".into(),
                after: "B".into(),
            }],
            est_tonnes: Some(1515.0),
            est_barrels: Some(11_116.0),
            confidence: Some(Confidence::High),
            candidates: vec![PortCandidate {
                port: "Vostochny".into(),
                detour_nm: 30.8,
                slack_hours: 9.9,
                reachable: true,
                coverage: 0.11,
                feasible: true,
            }],
            last_open_call: None,
        }
    }

    #[test]
    fn a_gap_reads_back_as_written() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        schema::migrate(&mut conn).unwrap();
        let gap = distinct_gap();
        write_gap(
            &mut conn.prepare(&GAP_INSERT).unwrap(),
            &mut GapJson::default(),
            &gap,
        )
        .unwrap();
        let back = conn
            .query_row(
                &format!("SELECT {} FROM gaps", *GAP_SELECT_LIST),
                [],
                read_gap,
            )
            .unwrap();
        assert_eq!(back, gap);
    }

    #[test]
    fn the_column_list_is_the_schema_of_gaps() {
        let mut conn = rusqlite::Connection::open_in_memory().unwrap();
        schema::migrate(&mut conn).unwrap();
        let statement = conn.prepare("SELECT * FROM gaps").unwrap();
        assert_eq!(statement.column_names().collect::<Vec<_>>(), GAP_COLUMNS);
    }
}
