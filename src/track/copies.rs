//! Receptions of one report by several sources: what tells a fix heard again from a new one.

use super::Position;
use crate::model::Fix;
use crate::time::UnixMillis;

/// How far apart in time two receptions of one report may be timed: receivers' clocks and a
/// network's delays differ by a few seconds at most, and a vessel reports again within that
/// only with another UTC second.
pub const DEFAULT_COPY_WINDOW_MS: i64 = 5_000;

/// A key no fix matches: before the first fix, and for a report without its UTC second.
pub const NO_COPY_KEY: u64 = 0;

/// What a fix reported besides its time, hashed: equal for two receptions of one transmission
/// (the same position, motion and UTC second), which the decoder's duplicate filter cannot see
/// when they come from different sources (two receivers' feeds, two stations' logs: the
/// simpleais log split by talker stored 7,359 fixes against 5,042 for the log as one). A
/// report without its UTC second (60-63, or a CSV row) has no key: in that log one vessel
/// reports every 2 s from the same place with the same motion, and only the second tells
/// its transmissions apart.
pub fn copy_key(fix: &Fix) -> u64 {
    let Some(second) = fix.second.filter(|s| *s < 60).map(u64::from) else {
        return NO_COPY_KEY;
    };
    let parts = [
        fix.lat.to_bits(),
        fix.lon.to_bits(),
        fix.sog.map_or(u64::MAX, |v| u64::from(v.to_bits())),
        fix.cog.map_or(u64::MAX, |v| u64::from(v.to_bits())),
        fix.heading.map_or(u64::MAX, u64::from),
        fix.nav_status.map_or(u64::MAX, u64::from),
        second,
        u64::from(fix.msg_type),
    ];
    // FNV-1a over the words: the key is compared, never looked up, so spread matters little.
    let key = parts.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &w| {
        (h ^ w).wrapping_mul(0x0000_0100_0000_01b3)
    });
    key.max(1)
}

/// A fix with `key` at `time` is the last fix (`last`, whose key was `last_key`) heard again,
/// `window_ms` apart at most.
pub fn is_copy(
    last: Option<Position>,
    last_key: u64,
    key: u64,
    time: UnixMillis,
    window_ms: i64,
) -> bool {
    key != NO_COPY_KEY
        && key == last_key
        && last.is_some_and(|last| (time.as_millis() - last.time.as_millis()).abs() <= window_ms)
}
