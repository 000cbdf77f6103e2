//! `[store]`'s parameters: where the database lives and how its writes are batched.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// `[store]`: the SQLite database.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreParams {
    /// Database file; after loading, relative paths are resolved against the config's folder.
    pub db: PathBuf,
    /// Thinned track: one fix per vessel per this many minutes.
    pub track_interval_minutes: u32,
    /// Changes `replay` hands to the writer at a time (its transactions gather 50,000).
    pub batch_rows: usize,
    /// `aisgap run` commits (changes, checkpoint, source positions) this often, in
    /// milliseconds: the most input a `kill -9` can lose.
    pub commit_interval_ms: u64,
    /// `aisgap run` holds intake back and retries while the database cannot be written (disk
    /// full, I/O errors); it exits with an error when the fault lasts this many seconds, so that
    /// the service manager can act.
    pub give_up_after_s: u64,
}

impl Default for StoreParams {
    fn default() -> Self {
        StoreParams {
            db: PathBuf::from("aisgap.db"),
            track_interval_minutes: 10,
            batch_rows: 5000,
            commit_interval_ms: 1000,
            give_up_after_s: 600,
        }
    }
}
