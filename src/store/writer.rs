//! The service's commits through store faults: a commit that fails is kept and written again
//! with backoff until it succeeds or the fault outlasts `[store] give_up_after_s`; a database
//! whose path no longer names the open file ends the writing at once, its contents saved aside.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::health::{FileIdentity, StoreHealth};
use super::{Commit, Store, StoreError};
use crate::time;

/// The first wait before writing a failed commit again; it doubles up to [`RETRY_AT_MOST`].
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_AT_MOST: Duration = Duration::from_secs(5);

impl Store {
    /// Whether the database's path still names the file this store has open (always, in
    /// memory).
    pub fn verify_file(&self) -> Result<(), StoreError> {
        let Some((path, opened)) = &self.file else {
            return Ok(());
        };
        let now = FileIdentity::of(path).map_err(|error| StoreError::FileCheck {
            path: path.clone(),
            error,
        })?;
        match now {
            Some(identity) if identity == *opened => Ok(()),
            Some(_) => Err(StoreError::Replaced {
                path: path.clone(),
                rescued: None,
            }),
            None => Err(StoreError::Deleted {
                path: path.clone(),
                rescued: None,
            }),
        }
    }

    /// Writes `commit` (see [`Store::commit`]), waiting through faults that may clear: each
    /// failure is logged with its cause and counted in `health`, which marks the store failing
    /// until a write succeeds. Gives up, returning the last fault, once faults have lasted
    /// `give_up_after` or `health` says to stop waiting. A lost database file ends it at once,
    /// after this commit is written into the open file and that file is saved aside.
    pub fn commit_through_faults(
        &mut self,
        commit: &Commit,
        health: &StoreHealth,
        give_up_after: Duration,
    ) -> Result<(), StoreError> {
        let started = Instant::now();
        let mut delay = RETRY_FIRST;
        let mut attempts = 0u64;
        loop {
            attempts += 1;
            let written = self.verify_file().and_then(|()| self.commit(commit));
            let error = match written {
                Ok(()) => {
                    if let Some(ms) = health.note_written(time::now()) {
                        tracing::warn!(
                            db = %self.path_text(),
                            unavailable_s = ms as f64 / 1000.0,
                            attempts,
                            "The database is writable again; the commit held back is written and intake resumes."
                        );
                    }
                    return Ok(());
                }
                Err(error) => error,
            };
            health.note_failure(&error, time::now());
            if !error.may_clear() {
                return Err(self.save_lost_file(Some(commit), error));
            }
            let waited = started.elapsed();
            let give_up = waited >= give_up_after || health.told_to_give_up();
            if attempts == 1 || give_up || attempts.is_power_of_two() {
                tracing::error!(
                    db = %self.path_text(),
                    kind = error.kind(),
                    sqlite_code = error.sqlite_code().unwrap_or(0),
                    attempts,
                    failing_for_s = waited.as_secs_f64(),
                    give_up_after_s = give_up_after.as_secs(),
                    error = %error,
                    "Cannot write to the database; intake is held back and the commit will be written again."
                );
            }
            if give_up {
                tracing::error!(
                    db = %self.path_text(),
                    error = %error,
                    failing_for_s = waited.as_secs_f64(),
                    "Giving up on the database; what was received since the last commit is not written."
                );
                return Err(StoreError::GaveUp {
                    path: PathBuf::from(self.path_text()),
                    waited_s: waited.as_secs_f64(),
                    cause: error.cause_text(),
                    kind: error.kind(),
                });
            }
            std::thread::sleep(delay.min(give_up_after.saturating_sub(waited)));
            delay = (delay * 2).min(RETRY_AT_MOST);
            health.note_retry();
        }
    }

    /// Between commits: whether the path still names the open file. A lost file ends the
    /// writing as a failed commit would (its contents saved aside); a path that cannot be
    /// looked at for a moment is left for the next commit to judge.
    pub fn watch_file(&mut self, health: &StoreHealth) -> Result<(), StoreError> {
        match self.verify_file() {
            Ok(()) => Ok(()),
            Err(error) if error.may_clear() => {
                tracing::warn!(db = %self.path_text(), %error, "Cannot check the database file.");
                Ok(())
            }
            Err(error) => {
                health.note_failure(&error, time::now());
                Err(self.save_lost_file(None, error))
            }
        }
    }

    fn path_text(&self) -> String {
        self.file
            .as_ref()
            .map_or_else(|| ":memory:".to_string(), |(p, _)| p.display().to_string())
    }

    /// The open file still holds every commit, this one too once written into it: a copy
    /// beside the path keeps them for the operator, whatever now lies at the path.
    fn save_lost_file(&mut self, commit: Option<&Commit>, lost: StoreError) -> StoreError {
        let Some((path, _)) = self.file.clone() else {
            return lost;
        };
        if let Some(Err(error)) = commit.map(|c| self.commit(c)) {
            tracing::warn!(db = %path.display(), %error, "The last commit could not be written into the lost file either.");
        }
        let copy = rescue_path(&path, time::now().as_millis() / 1000);
        let rescued = match self
            .db
            .conn
            .execute("VACUUM INTO ?1", [copy.to_string_lossy()])
        {
            Ok(_) => Some(copy),
            Err(error) => {
                tracing::error!(db = %path.display(), copy = %copy.display(), %error, "Cannot save the lost database's contents.");
                None
            }
        };
        let error = match lost {
            StoreError::Replaced { .. } => StoreError::Replaced { path, rescued },
            _ => {
                forget_journal(&path);
                StoreError::Deleted { path, rescued }
            }
        };
        tracing::error!(kind = error.kind(), error = %error, "The database file is gone from under the writer; stopping.");
        error
    }
}

/// The WAL and shared-memory files beside a deleted database belong to the lost file only: a
/// database created next at the path would take the old WAL's pages for its own. A file that
/// appeared at the path meanwhile has them in use, so they stay.
fn forget_journal(db: &Path) {
    for suffix in ["-wal", "-shm"] {
        let mut name = db.as_os_str().to_os_string();
        name.push(suffix);
        let journal = PathBuf::from(name);
        if matches!(FileIdentity::of(db), Ok(None)) && journal.exists() {
            if let Err(error) = std::fs::remove_file(&journal) {
                tracing::warn!(file = %journal.display(), %error, "Cannot remove the lost database's journal; remove it before starting again.");
            }
        }
    }
}

/// Where a lost database's contents are saved: beside its path, named by the time of loss so
/// that a second loss does not overwrite the first.
fn rescue_path(db: &Path, unix_seconds: i64) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push(format!(".orphaned-{unix_seconds}"));
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(store: &Store) -> i64 {
        store
            .reader()
            .conn
            .query_row("SELECT value FROM ingest WHERE name = 'lines'", [], |r| {
                r.get(0)
            })
            .unwrap()
    }

    fn one_line() -> Commit {
        Commit {
            counters: vec![("lines".into(), 1)],
            checkpoint: "{}".into(),
            ..Commit::default()
        }
    }

    #[test]
    fn a_deleted_database_is_noticed_and_its_commits_saved_beside_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        let mut store = Store::open(&db).unwrap();
        let health = StoreHealth::default();
        let wait = Duration::from_secs(5);
        store
            .commit_through_faults(&one_line(), &health, wait)
            .unwrap();
        std::fs::remove_file(&db).unwrap();
        let started = Instant::now();
        let error = store
            .commit_through_faults(&one_line(), &health, wait)
            .unwrap_err();
        assert!(started.elapsed() < wait, "a lost file is not waited for");
        let StoreError::Deleted {
            rescued: Some(copy),
            ..
        } = &error
        else {
            panic!("{error}");
        };
        let text = error.to_string();
        assert!(text.contains(&db.display().to_string()), "{text}");
        assert!(text.contains(&copy.display().to_string()), "{text}");
        assert!(health.is_failing());
        assert!(
            !dir.path().join("a.db-wal").exists(),
            "the lost WAL is not left for the next database"
        );
        let saved = Store::open(copy).unwrap();
        assert_eq!(counted(&saved), 2, "both commits are in the copy");
    }

    #[test]
    fn a_replaced_database_is_told_from_a_deleted_one() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        let store = Store::open(&db).unwrap();
        store.verify_file().unwrap();
        let other = dir.path().join("b.db");
        std::fs::write(&other, b"").unwrap();
        std::fs::rename(&other, &db).unwrap();
        let error = store.verify_file().unwrap_err();
        assert_eq!(error.kind(), "replaced", "{error}");
    }

    #[test]
    fn a_fault_that_does_not_clear_is_given_up_on_after_the_configured_time() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        let mut store = Store::open(&db).unwrap();
        // Another connection holding the write lock: SQLITE_BUSY on every attempt.
        let other = rusqlite::Connection::open(&db).unwrap();
        other.execute_batch("BEGIN IMMEDIATE").unwrap();
        store
            .db
            .conn
            .busy_timeout(Duration::from_millis(1))
            .unwrap();
        let health = StoreHealth::default();
        let started = Instant::now();
        let error = store
            .commit_through_faults(&one_line(), &health, Duration::from_millis(700))
            .unwrap_err();
        let took = started.elapsed();
        assert_eq!(error.kind(), "busy", "{error}");
        let text = error.to_string();
        assert!(text.contains("a.db could not be written for 0."), "{text}");
        assert!(text.contains("(SQLite error 5)"), "{text}");
        assert!(
            took >= Duration::from_millis(700) && took < Duration::from_secs(3),
            "{took:?}"
        );
        assert!(health.retries() >= 2, "retried {}", health.retries());
        assert!(health.is_failing());
        // The lock released, the same commit goes through and the outage ends.
        other.execute_batch("ROLLBACK").unwrap();
        store
            .commit_through_faults(&one_line(), &health, Duration::from_millis(700))
            .unwrap();
        assert!(!health.is_failing());
        assert_eq!(health.recoveries(), 1);
        assert_eq!(
            counted(&store),
            1,
            "the failed commit was never half-written"
        );
    }
}
