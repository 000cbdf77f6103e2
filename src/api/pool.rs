//! Read-only store readers for the HTTP handlers: a few kept open and reused, the queries
//! run on tokio's blocking threads, and at most a fixed number at once so that a burst of
//! requests queues instead of opening connections without end.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use super::ApiError;
use crate::store::{Reader, StoreError};

pub struct ReadPool {
    db: PathBuf,
    idle: Mutex<Vec<Reader>>,
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

    fn connect(db: &Path) -> Result<Reader, StoreError> {
        Reader::open(db)?.refuse_writes()
    }

    fn take(&self) -> Result<Reader, StoreError> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        match idle {
            Some(reader) => Ok(reader),
            None => Self::connect(&self.db),
        }
    }

    fn give_back(&self, reader: Reader) {
        self.idle
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(reader);
    }

    /// Runs `question` on a pooled reader on a blocking thread.
    pub async fn run<T, F>(self: &Arc<Self>, question: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Reader) -> Result<T, ApiError> + Send + 'static,
    {
        let _turn = self
            .running
            .acquire()
            .await
            .map_err(|e| ApiError::Worker(e.to_string()))?;
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let reader = pool.take()?;
            let answer = question(&reader);
            pool.give_back(reader);
            answer
        })
        .await
        .map_err(|e| ApiError::Worker(e.to_string()))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn the_database_connections_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("pool.db");
        drop(Store::open(&db).unwrap());
        let pool = Arc::new(ReadPool::open(&db, 2).unwrap());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let refused = runtime.block_on(pool.run(|reader| {
            Ok(reader
                .connection()
                .execute("DELETE FROM gaps", [])
                .map_err(|e| e.to_string()))
        }));
        let error = refused.unwrap().expect_err("a write on an API connection");
        assert!(
            error.contains("readonly") || error.contains("read-only"),
            "{error}"
        );
    }
}
