//! Whether the database can be written: what kind of fault a failed write was, whether the
//! path still names the file the writer has open, and the shared [`StoreHealth`] that the
//! service's readiness, health, metrics and intake read.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;

use crate::time::UnixMillis;

use super::StoreError;

/// The device and inode a path named when the database was opened: a file deleted or replaced
/// under the running writer no longer has them at its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileIdentity {
    pub dev: u64,
    pub ino: u64,
}

impl FileIdentity {
    /// What `path` names now; `None` when it names nothing.
    pub fn of(path: &Path) -> std::io::Result<Option<FileIdentity>> {
        match std::fs::metadata(path) {
            Ok(meta) => Ok(Some(FileIdentity {
                dev: meta.dev(),
                ino: meta.ino(),
            })),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// The kinds of store fault counted in `aisgap_db_errors_total{kind}`.
pub const ERROR_KINDS: [&str; 9] = [
    "full", "io", "readonly", "busy", "cantopen", "corrupt", "deleted", "replaced", "other",
];

impl StoreError {
    /// Which of [`ERROR_KINDS`] this fault is.
    pub fn kind(&self) -> &'static str {
        use rusqlite::ErrorCode as C;
        match self {
            StoreError::Deleted { .. } => "deleted",
            StoreError::Replaced { .. } => "replaced",
            StoreError::FileCheck { .. } => "io",
            StoreError::GaveUp { kind, .. } => kind,
            StoreError::Sql(rusqlite::Error::SqliteFailure(e, _))
            | StoreError::Open {
                reason: rusqlite::Error::SqliteFailure(e, _),
                ..
            } => match e.code {
                C::DiskFull => "full",
                C::SystemIoFailure => "io",
                C::ReadOnly => "readonly",
                C::DatabaseBusy | C::DatabaseLocked => "busy",
                C::CannotOpen => "cantopen",
                C::DatabaseCorrupt | C::NotADatabase => "corrupt",
                _ => "other",
            },
            _ => "other",
        }
    }

    /// SQLite's extended result code, when SQLite reported the fault (`SQLITE_IOERR_WRITE` is
    /// 778, `SQLITE_FULL` 13): what to look up when the message is not enough.
    pub fn sqlite_code(&self) -> Option<i32> {
        match self {
            StoreError::Sql(rusqlite::Error::SqliteFailure(e, _))
            | StoreError::Open {
                reason: rusqlite::Error::SqliteFailure(e, _),
                ..
            } => Some(e.extended_code),
            _ => None,
        }
    }

    /// The fault in SQLite's words with its code, without the path (which the log line or
    /// the enclosing message names).
    pub fn cause_text(&self) -> String {
        match self {
            StoreError::Sql(rusqlite::Error::SqliteFailure(e, message)) => {
                let words = message.clone().unwrap_or_else(|| e.to_string());
                format!("{words} (SQLite error {})", e.extended_code)
            }
            other => other.to_string(),
        }
    }

    /// Whether the fault can clear while this process waits (space freed, a device back, a
    /// lock released). A database deleted or replaced under the writer cannot: whatever it
    /// writes from then on is lost with the open file.
    pub fn may_clear(&self) -> bool {
        !matches!(
            self,
            StoreError::Deleted { .. } | StoreError::Replaced { .. }
        )
    }
}

/// The writer's state as the rest of the service sees it. Failing from the first failed write
/// to the first one that succeeds after it.
#[derive(Debug, Default)]
pub struct StoreHealth {
    /// Wall-clock millis of the first failure of the current outage; 0 while writes succeed.
    failing_since_ms: AtomicI64,
    /// The latest failure's cause, for `/readyz` and `/healthz`.
    reason: Mutex<String>,
    errors: Mutex<BTreeMap<&'static str, u64>>,
    /// Milliseconds of outages that ended.
    unavailable_ms: AtomicU64,
    retries: AtomicU64,
    recoveries: AtomicU64,
    /// Set when the service stops during an outage and can wait no longer.
    give_up: AtomicBool,
}

impl StoreHealth {
    /// Since when, and why, the database cannot be written; `None` while it can.
    pub fn failing(&self) -> Option<(UnixMillis, String)> {
        let since = self.failing_since_ms.load(Ordering::Acquire);
        if since == 0 {
            return None;
        }
        let reason = self.reason.lock().map(|r| r.clone()).unwrap_or_default();
        Some((UnixMillis(since), reason))
    }

    pub fn is_failing(&self) -> bool {
        self.failing_since_ms.load(Ordering::Acquire) != 0
    }

    /// One failed write: counted by kind; the first of an outage starts it.
    pub fn note_failure(&self, error: &StoreError, now: UnixMillis) {
        if let Ok(mut errors) = self.errors.lock() {
            *errors.entry(error.kind()).or_default() += 1;
        }
        if let Ok(mut reason) = self.reason.lock() {
            *reason = error.cause_text();
        }
        let _ = self.failing_since_ms.compare_exchange(
            0,
            now.as_millis().max(1),
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    pub fn note_retry(&self) {
        self.retries.fetch_add(1, Ordering::Relaxed);
    }

    /// A write succeeded: an outage, if there was one, ends and its length is added up. The
    /// length of the outage that ended, if one did.
    pub fn note_written(&self, now: UnixMillis) -> Option<u64> {
        let since = self.failing_since_ms.swap(0, Ordering::AcqRel);
        if since == 0 {
            return None;
        }
        let lasted = (now.as_millis() - since).max(0) as u64;
        self.unavailable_ms.fetch_add(lasted, Ordering::Relaxed);
        self.recoveries.fetch_add(1, Ordering::Relaxed);
        Some(lasted)
    }

    /// Failed writes so far, by kind (every kind of [`ERROR_KINDS`], zero or not).
    pub fn errors_by_kind(&self) -> Vec<(&'static str, u64)> {
        let errors = self.errors.lock().map(|e| e.clone()).unwrap_or_default();
        ERROR_KINDS
            .iter()
            .map(|kind| (*kind, errors.get(kind).copied().unwrap_or(0)))
            .collect()
    }

    /// Seconds the database could not be written, the current outage included.
    pub fn unavailable_seconds(&self, now: UnixMillis) -> f64 {
        let since = self.failing_since_ms.load(Ordering::Acquire);
        let current = if since == 0 {
            0
        } else {
            (now.as_millis() - since).max(0) as u64
        };
        (self.unavailable_ms.load(Ordering::Relaxed) + current) as f64 / 1000.0
    }

    pub fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    pub fn recoveries(&self) -> u64 {
        self.recoveries.load(Ordering::Relaxed)
    }

    /// Tells a retrying writer to stop waiting for the fault to clear.
    pub fn give_up_now(&self) {
        self.give_up.store(true, Ordering::Release);
    }

    pub fn told_to_give_up(&self) -> bool {
        self.give_up.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> StoreError {
        StoreError::Sql(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_FULL),
            Some("database or disk is full".into()),
        ))
    }

    #[test]
    fn an_outage_runs_from_the_first_failure_to_the_next_write() {
        let health = StoreHealth::default();
        assert_eq!(health.note_written(UnixMillis(500)), None);
        health.note_failure(&full(), UnixMillis(1_000));
        health.note_failure(&full(), UnixMillis(3_000));
        let (since, reason) = health.failing().unwrap();
        assert_eq!(
            since,
            UnixMillis(1_000),
            "the outage began at the first failure"
        );
        assert!(reason.contains("database or disk is full"), "{reason}");
        assert_eq!(health.unavailable_seconds(UnixMillis(2_500)), 1.5);
        assert_eq!(health.note_written(UnixMillis(4_000)), Some(3_000));
        assert!(!health.is_failing());
        assert_eq!(health.unavailable_seconds(UnixMillis(9_000)), 3.0);
        let errors = health.errors_by_kind();
        assert_eq!(errors.len(), ERROR_KINDS.len());
        assert!(errors.contains(&("full", 2)), "{errors:?}");
        assert!(errors.contains(&("io", 0)), "{errors:?}");
    }

    #[test]
    fn faults_are_told_apart_by_kind_and_only_a_lost_file_cannot_clear() {
        assert_eq!(full().kind(), "full");
        assert_eq!(full().sqlite_code(), Some(13));
        assert!(full().may_clear());
        let io = StoreError::Sql(rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_IOERR_WRITE),
            None,
        ));
        assert_eq!((io.kind(), io.sqlite_code()), ("io", Some(778)));
        assert_eq!(
            full().cause_text(),
            "database or disk is full (SQLite error 13)"
        );
        let deleted = StoreError::Deleted {
            path: "/var/lib/aisgap/aisgap.db".into(),
            rescued: None,
        };
        assert_eq!(deleted.kind(), "deleted");
        assert!(!deleted.may_clear());
        assert!(deleted.to_string().contains("/var/lib/aisgap/aisgap.db"));
    }

    #[test]
    fn a_path_names_a_file_until_it_is_deleted_or_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.db");
        assert_eq!(FileIdentity::of(&path).unwrap(), None);
        std::fs::write(&path, b"one").unwrap();
        let first = FileIdentity::of(&path).unwrap().unwrap();
        let other = dir.path().join("b.db");
        std::fs::write(&other, b"two").unwrap();
        std::fs::rename(&other, &path).unwrap();
        assert_ne!(FileIdentity::of(&path).unwrap(), Some(first));
    }
}
