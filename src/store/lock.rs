//! The writer's claim on a database file: an exclusive `flock(2)` on `<db>.lock`, held for the
//! life of the process, with the holder's PID inside so that a refused second writer can say
//! who holds it. Two writers on one database would each undo the other's commits.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("database {} is in use by another aisgap ({}, lock file {}); stop it first or use another database", db.display(), holder(*pid), lock.display())]
    Held {
        db: PathBuf,
        lock: PathBuf,
        pid: Option<u32>,
    },
    #[error("lock file {}: {error}", lock.display())]
    Io {
        lock: PathBuf,
        error: std::io::Error,
    },
}

fn holder(pid: Option<u32>) -> String {
    pid.map_or_else(|| "PID unknown".to_string(), |pid| format!("PID {pid}"))
}

/// Held while alive; the kernel releases it when the process ends, however it ends. The file
/// stays behind on purpose: removing it would let a third writer lock a new file while the
/// second still holds the old one.
#[derive(Debug)]
pub struct WriterLock {
    _file: File,
}

/// Where the lock of `db` lives: beside it, so that it names the same file for every process.
pub fn lock_path(db: &Path) -> PathBuf {
    let mut name = db.as_os_str().to_os_string();
    name.push(".lock");
    PathBuf::from(name)
}

impl WriterLock {
    /// Claims `db` for writing, or says which process holds it. Touches only the lock file.
    pub fn acquire(db: &Path) -> Result<WriterLock, LockError> {
        let lock = lock_path(db);
        let io = |error| LockError::Io {
            lock: lock.clone(),
            error,
        };
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&lock)
            .map_err(io)?;
        // SAFETY: flock on a descriptor this function owns; no memory is shared.
        let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if locked != 0 {
            let error = std::io::Error::last_os_error();
            if error.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(io(error));
            }
            let mut text = String::new();
            let pid = file
                .read_to_string(&mut text)
                .ok()
                .and_then(|_| text.trim().parse().ok());
            return Err(LockError::Held {
                db: db.to_path_buf(),
                lock,
                pid,
            });
        }
        file.set_len(0).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        writeln!(file, "{}", std::process::id()).map_err(io)?;
        file.flush().map_err(io)?;
        Ok(WriterLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_writer_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        let first = WriterLock::acquire(&db).unwrap();
        let e = WriterLock::acquire(&db).unwrap_err();
        let text = e.to_string();
        assert!(
            text.contains(&format!("PID {}", std::process::id())),
            "{text}"
        );
        assert!(text.contains(&db.display().to_string()), "{text}");
        assert!(!db.exists(), "the database itself is not touched");
        drop(first);
        WriterLock::acquire(&db).unwrap();
    }
}
