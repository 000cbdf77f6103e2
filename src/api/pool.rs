//! Read-only SQLite connections for the HTTP handlers: a few kept open and reused, the queries
//! run on tokio's blocking threads, and at most a fixed number at once so that a burst of
//! requests queues instead of opening connections without end.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tokio::sync::Semaphore;

use super::ApiError;
use crate::store::{open_read_only, StoreError};

pub struct ReadPool {
    db: PathBuf,
    idle: Mutex<Vec<Connection>>,
    running: Semaphore,
}

impl ReadPool {
    /// Opens the database once to check it is an aisgap database; `size` queries may run at
    /// the same time.
    pub fn open(db: &Path, size: usize) -> Result<ReadPool, StoreError> {
        let first = Self::connect(db)?;
        Ok(ReadPool {
            db: db.to_path_buf(),
            idle: Mutex::new(vec![first]),
            running: Semaphore::new(size.max(1)),
        })
    }

    pub fn db(&self) -> &Path {
        &self.db
    }

    fn connect(db: &Path) -> Result<Connection, StoreError> {
        let conn = open_read_only(db)?;
        // Read-only twice over: the open flags, and SQLite refusing any write statement.
        conn.pragma_update(None, "query_only", true)?;
        Ok(conn)
    }

    fn take(&self) -> Result<Connection, StoreError> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match idle {
            Some(conn) => Ok(conn),
            None => Self::connect(&self.db),
        }
    }

    fn give_back(&self, conn: Connection) {
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(conn);
    }

    /// Runs `question` on a pooled connection on a blocking thread.
    pub async fn run<T, F>(self: &Arc<Self>, question: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, ApiError> + Send + 'static,
    {
        let _turn = self
            .running
            .acquire()
            .await
            .map_err(|e| ApiError::Worker(e.to_string()))?;
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let conn = pool.take()?;
            let answer = question(&conn);
            pool.give_back(conn);
            answer
        })
        .await
        .map_err(|e| ApiError::Worker(e.to_string()))?
    }
}
