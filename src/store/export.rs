//! The whole-table reads behind `aisgap export`: tracks and hourly port counts streamed row by
//! row in key order, so that a year of fixes never sits in memory at once.

use rusqlite::params;

use super::cells::Cells;
use super::read::Reader;
use super::StoreError;
use crate::model::Mmsi;
use crate::time::UnixMillis;
use crate::track::{day_of, unpack_points, TrackPoint, POINT_BYTES};

/// Which part of the stored tracks an export reads: one vessel, and fixes with
/// `since <= time < until`.
#[derive(Clone, Copy, Debug, Default)]
pub struct TrackWindow {
    pub mmsi: Option<Mmsi>,
    pub since: Option<UnixMillis>,
    pub until: Option<UnixMillis>,
}

impl TrackWindow {
    fn holds(&self, time: UnixMillis) -> bool {
        self.since.is_none_or(|s| time >= s) && self.until.is_none_or(|u| time < u)
    }
}

/// One vessel's stored fixes of one UTC day, every segment's, in time order.
#[derive(Debug)]
pub struct VesselDay {
    pub mmsi: Mmsi,
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    pub points: Vec<TrackPoint>,
}

impl Reader {
    /// Calls `each` with every vessel-day of stored track inside the window, by MMSI then day.
    /// Only one vessel-day is held at a time: the chunks are read in the order of their key.
    pub fn for_each_vessel_day<E: From<StoreError>>(
        &self,
        window: &TrackWindow,
        mut each: impl FnMut(VesselDay) -> Result<(), E>,
    ) -> Result<(), E> {
        let since = window.since.map_or(i64::MIN, UnixMillis::as_millis);
        // `until` is exclusive; chunk times are inclusive bounds.
        let until = window.until.map_or(i64::MAX, |u| u.as_millis() - 1);
        let mmsi = window.mmsi.map(|m| i64::from(m.0));
        let mut statement = self
            .conn
            .prepare(
                "SELECT mmsi, day, segment, points, id FROM track_chunks
                 WHERE (?1 IS NULL OR mmsi = ?1) AND last_time >= ?2 AND first_time <= ?3
                   AND day >= ?4 AND day <= ?5
                 ORDER BY mmsi, day, seq",
            )
            .map_err(StoreError::from)?;
        let mut rows = statement
            .query(params![
                mmsi,
                since,
                until,
                day_of(UnixMillis(since)),
                day_of(UnixMillis(until))
            ])
            .map_err(StoreError::from)?;
        let mut current: Option<VesselDay> = None;
        while let Some(row) = rows.next().map_err(StoreError::from)? {
            let (mmsi, day, segment, blob) = read_chunk(row).map_err(StoreError::from)?;
            let points = unpack_points(&blob)
                .into_iter()
                .filter(|p| window.holds(p.time))
                .map(|p| TrackPoint { segment, ..p });
            match &mut current {
                Some(open) if open.mmsi == mmsi && open.day == day => open.points.extend(points),
                _ => {
                    if let Some(done) = current.take() {
                        each(sorted(done))?;
                    }
                    current = Some(VesselDay {
                        mmsi,
                        day,
                        points: points.collect(),
                    });
                }
            }
        }
        if let Some(done) = current {
            each(sorted(done))?;
        }
        Ok(())
    }

    /// Calls `each` with every hourly distinct-vessel count of every port (port, hour, vessels),
    /// by port then hour, for hours with `since <= hour < until`.
    pub fn for_each_port_hour<E: From<StoreError>>(
        &self,
        since: Option<UnixMillis>,
        until: Option<UnixMillis>,
        mut each: impl FnMut(&str, UnixMillis, u32) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut statement = self
            .conn
            .prepare(
                "SELECT port, hour, vessels FROM port_hours WHERE hour >= ?1 AND hour < ?2
                 ORDER BY port, hour",
            )
            .map_err(StoreError::from)?;
        let mut rows = statement
            .query(params![
                since.map_or(i64::MIN, UnixMillis::as_millis),
                until.map_or(i64::MAX, UnixMillis::as_millis)
            ])
            .map_err(StoreError::from)?;
        while let Some(row) = rows.next().map_err(StoreError::from)? {
            let key = Cells::key_of(row, &[(0, "port"), (1, "hour")]);
            let cells = Cells::new(row, "port_hours", key);
            let port: String = cells.get(0).map_err(StoreError::from)?;
            let hour = UnixMillis(cells.get(1).map_err(StoreError::from)?);
            let vessels: u32 = cells.get(2).map_err(StoreError::from)?;
            each(&port, hour, vessels)?;
        }
        Ok(())
    }
}

/// A chunk's key and packed points; a blob that is not whole points is a located error.
fn read_chunk(row: &rusqlite::Row<'_>) -> rusqlite::Result<(Mmsi, i64, u32, Vec<u8>)> {
    let cells = Cells::new(row, "track_chunks", Cells::key_of(row, &[(4, "id")]));
    let mmsi = Mmsi(cells.get(0)?);
    let day: i64 = cells.get(1)?;
    let segment: u32 = cells.get(2)?;
    let blob: Vec<u8> = cells.get(3)?;
    if blob.len() % POINT_BYTES != 0 {
        return Err(cells.bad(
            3,
            format!(
                "{} bytes is not a whole number of {POINT_BYTES}-byte track points",
                blob.len()
            ),
        ));
    }
    Ok((mmsi, day, segment, blob))
}

/// Late fixes sit in later chunks of their day: sorted in, as `Reader::track` does.
fn sorted(mut day: VesselDay) -> VesselDay {
    day.points.sort_by_key(|p| p.time);
    day
}
