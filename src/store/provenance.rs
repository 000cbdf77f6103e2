//! Provenance in the store: each gap's evidence rows (where fix A, fix B and the static reports
//! came from, with their raw lines and hashes once found), the sources they name, and the
//! fingerprints of what judged.

use rusqlite::{params, OptionalExtension, Statement, Transaction};
use serde::Serialize;

use super::{Reader, Store, StoreError};
use crate::engine::provenance::{Evidence, EvidenceRole, Fingerprint};
use crate::model::{Mmsi, TimeSource};
use crate::time::UnixMillis;

pub(super) const EVIDENCE_INSERT: &str = "INSERT OR REPLACE INTO evidence (mmsi, dark_from, \
     role, time, msg_type, source, line, offset, carrier, station) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";

/// The time carrier's one spelling, stored and shown (README, "One clock per source").
pub fn carrier_text(carrier: TimeSource) -> &'static str {
    match carrier {
        TimeSource::TagBlock => "tag block c:",
        TimeSource::Gatehouse => "$PGHP",
        TimeSource::LogColumn => "log time column",
        TimeSource::Csv => "CSV time column",
        TimeSource::TimeSentence => "$xxZDA/$xxRMC",
        TimeSource::Received => "receive time",
        TimeSource::ReceivedOnSourceClock => "receive time on the source's clock",
    }
}

pub(super) fn write_evidence(insert: &mut Statement<'_>, e: &Evidence) -> rusqlite::Result<()> {
    let o = &e.origin;
    insert.execute(params![
        e.mmsi.0,
        e.dark_from.as_millis(),
        e.role.as_str(),
        o.time.as_millis(),
        o.msg_type,
        o.line.source,
        o.line.line as i64,
        o.line.offset as i64,
        o.carrier.map(carrier_text),
        o.station.as_deref()
    ])?;
    Ok(())
}

/// Records `fingerprint` and makes it the one the judgements written after it carry.
pub(super) fn write_fingerprint(
    tx: &Transaction<'_>,
    fingerprint: &Fingerprint,
) -> Result<(), StoreError> {
    let f = fingerprint;
    tx.prepare_cached(
        "INSERT OR IGNORE INTO fingerprints (id, version, ports_sha256, watchlist_sha256, detect_sha256, detect)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        f.id,
        f.version,
        f.ports_sha256,
        f.watchlist_sha256,
        f.detect_sha256,
        f.detect
    ])?;
    tx.prepare_cached("INSERT OR REPLACE INTO state (key, value) VALUES ('judged_by', ?1)")?
        .execute(params![f.id])?;
    Ok(())
}

/// An evidence row whose raw line(s) are still to be found in its source.
#[derive(Clone, Debug, PartialEq)]
pub struct Unresolved {
    pub source: u32,
    pub line: u64,
    pub offset: u64,
}

/// What was found for one [`Unresolved`]: the message's line(s) as read, the number of the
/// first of them, and their SHA-256.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    pub at: Unresolved,
    pub first_line: u64,
    pub raw: Vec<u8>,
    pub sha256: String,
}

pub(super) fn write_sources(
    tx: &Transaction<'_>,
    sources: &[(u32, String, Option<String>)],
) -> Result<(), StoreError> {
    let mut insert = tx.prepare_cached(
        "INSERT OR REPLACE INTO evidence_sources (id, name, path) VALUES (?1, ?2, ?3)",
    )?;
    for (id, name, path) in sources {
        insert.execute(params![id, name, path])?;
    }
    Ok(())
}

/// Stores each message's line(s) and hash on every evidence row pointing at it.
pub(super) fn write_lines(tx: &Transaction<'_>, found: &[Resolved]) -> Result<(), StoreError> {
    if found.is_empty() {
        return Ok(());
    }
    let mut update = tx.prepare_cached(
        "UPDATE evidence SET first_line = ?4, raw = ?5, sha256 = ?6
         WHERE source = ?1 AND line = ?2 AND offset = ?3",
    )?;
    for f in found {
        update.execute(params![
            f.at.source,
            f.at.line as i64,
            f.at.offset as i64,
            f.first_line as i64,
            f.raw,
            f.sha256
        ])?;
    }
    Ok(())
}

pub(super) fn write_witness_states(
    tx: &Transaction<'_>,
    states: &[(u32, Option<String>)],
) -> Result<(), StoreError> {
    for (mmsi, state) in states {
        match state {
            Some(state) => tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO witness_states (mmsi, state) VALUES (?1, ?2)",
                )?
                .execute(params![mmsi, state])?,
            None => tx
                .prepare_cached("DELETE FROM witness_states WHERE mmsi = ?1")?
                .execute([mmsi])?,
        };
    }
    Ok(())
}

pub(super) fn read_witness_states(
    conn: &rusqlite::Connection,
) -> Result<Vec<(u32, String)>, StoreError> {
    let mut select = conn.prepare("SELECT mmsi, state FROM witness_states ORDER BY mmsi")?;
    let rows = select
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// The number a live source's evidence rows carry: a hash of its configured name (FNV-1a),
/// the same after every restart and reload, so that rows written before stay named.
pub fn source_number(name: &str) -> u32 {
    name.bytes().fold(0x811c_9dc5u32, |hash, b| {
        (hash ^ u32::from(b)).wrapping_mul(0x0100_0193)
    }) & 0x7fff_ffff
}

impl Store {
    /// Names the sources evidence rows number: `(number, name, path)`.
    pub fn save_evidence_sources(
        &mut self,
        sources: &[(u32, String, Option<String>)],
    ) -> Result<(), StoreError> {
        let tx = self.db.conn.transaction()?;
        write_sources(&tx, sources)?;
        tx.commit()?;
        Ok(())
    }

    /// The distinct lines evidence rows point at whose raw text is not yet stored, by source
    /// and line.
    pub fn unresolved_evidence(&self) -> Result<Vec<Unresolved>, StoreError> {
        let mut select = self.db.conn.prepare(
            "SELECT DISTINCT source, line, offset FROM evidence WHERE raw IS NULL ORDER BY source, line",
        )?;
        let rows = select
            .query_map([], |r| {
                Ok(Unresolved {
                    source: r.get(0)?,
                    line: r.get::<_, i64>(1)? as u64,
                    offset: r.get::<_, i64>(2)? as u64,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// Stores the raw lines and hashes found, on every evidence row pointing at them.
    pub fn resolve_evidence(&mut self, found: &[Resolved]) -> Result<(), StoreError> {
        let tx = self.db.conn.transaction()?;
        write_lines(&tx, found)?;
        tx.commit()?;
        Ok(())
    }
}

/// One evidence row as stored, with its source's name.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EvidenceRow {
    pub role: EvidenceRole,
    pub time: UnixMillis,
    pub msg_type: u8,
    pub source: u32,
    pub source_name: Option<String>,
    pub source_path: Option<String>,
    /// The line the message ended on (1-based) and where it starts, in bytes.
    pub line: u64,
    pub offset: u64,
    /// The first line of a message of several sentences (`line` for one).
    pub first_line: Option<u64>,
    pub carrier: Option<String>,
    pub station: Option<String>,
    /// The line(s) as read, joined by `\n`; `None` until found in the source.
    pub raw: Option<String>,
    pub sha256: Option<String>,
}

impl Reader {
    fn has_table(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [name],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// The evidence of the gap keyed by `(mmsi, dark_from)`, A and B first; empty for a
    /// database written before provenance was kept.
    pub fn evidence_of(
        &self,
        mmsi: Mmsi,
        dark_from: UnixMillis,
    ) -> Result<Vec<EvidenceRow>, StoreError> {
        if !self.has_table("evidence")? {
            return Ok(Vec::new());
        }
        let mut select = self.conn.prepare(
            "SELECT e.role, e.time, e.msg_type, e.source, s.name, s.path, e.line, e.offset,
                    e.first_line, e.carrier, e.station, e.raw, e.sha256
             FROM evidence e LEFT JOIN evidence_sources s ON s.id = e.source
             WHERE e.mmsi = ?1 AND e.dark_from = ?2",
        )?;
        let mut rows = Vec::new();
        let mut found = select.query(params![mmsi.0, dark_from.as_millis()])?;
        while let Some(r) = found.next()? {
            let role: String = r.get(0)?;
            let Some(role) = EvidenceRole::parse(&role) else {
                return Err(StoreError::from(super::cells::BadValue {
                    table: "evidence",
                    row: format!("mmsi {mmsi}, dark_from {}", dark_from.as_millis()),
                    column: "role".into(),
                    problem: format!("unknown role {role:?}"),
                }));
            };
            let raw: Option<Vec<u8>> = r.get(11)?;
            rows.push(EvidenceRow {
                role,
                time: UnixMillis(r.get(1)?),
                msg_type: r.get(2)?,
                source: r.get(3)?,
                source_name: r.get(4)?,
                source_path: r.get(5)?,
                line: r.get::<_, i64>(6)? as u64,
                offset: r.get::<_, i64>(7)? as u64,
                first_line: r.get::<_, Option<i64>>(8)?.map(|l| l as u64),
                carrier: r.get(9)?,
                station: r.get(10)?,
                raw: raw.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()),
                sha256: r.get(12)?,
            });
        }
        rows.sort_by_key(|row| (row.role as u8, row.time));
        Ok(rows)
    }

    /// The fingerprint each change of the gap's judgement was made under, in the order of
    /// [`Reader::gap_history`]; `None` for changes written before fingerprints were kept.
    pub fn history_fingerprints(
        &self,
        mmsi: Mmsi,
        dark_from: UnixMillis,
    ) -> Result<Vec<Option<String>>, StoreError> {
        if !self.has_table("fingerprints")? {
            return Ok(Vec::new());
        }
        let mut select = self.conn.prepare(
            "SELECT fingerprint FROM gap_history WHERE mmsi = ?1 AND dark_from = ?2 ORDER BY id",
        )?;
        let rows = select
            .query_map(params![mmsi.0, dark_from.as_millis()], |r| r.get(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(rows)
    }

    /// The fingerprint recorded under `id`.
    pub fn fingerprint(&self, id: &str) -> Result<Option<Fingerprint>, StoreError> {
        if !self.has_table("fingerprints")? {
            return Ok(None);
        }
        Ok(self
            .conn
            .query_row(
                "SELECT id, version, ports_sha256, watchlist_sha256, detect_sha256, detect
                 FROM fingerprints WHERE id = ?1",
                [id],
                |r| {
                    Ok(Fingerprint {
                        id: r.get(0)?,
                        version: r.get(1)?,
                        ports_sha256: r.get(2)?,
                        watchlist_sha256: r.get(3)?,
                        detect_sha256: r.get(4)?,
                        detect: r.get(5)?,
                    })
                },
            )
            .optional()?)
    }
}
