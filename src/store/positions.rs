//! Where each file source has got in its file, as committed: the `file_positions` rows, written
//! in the transaction of the commit whose engine checkpoint covers every line up to them.

use rusqlite::{params, Connection, Transaction};

use super::StoreError;

/// One file source's committed position: just past the last line whose effects (and the
/// engine checkpoint covering them) are in the same commit.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilePosition {
    /// The source's configured name.
    pub source: String,
    /// The path the source read, for the operator; the file is known by `device` and `inode`.
    pub path: String,
    pub device: u64,
    pub inode: u64,
    /// Byte offset just past the last committed line's ending.
    pub offset: u64,
    /// The last bytes of that line, to tell the file from another one at the same inode.
    pub tail: Vec<u8>,
}

/// Writes `positions` (replacing each source's previous one) inside `tx`.
pub(super) fn write(tx: &Transaction<'_>, positions: &[FilePosition]) -> Result<(), StoreError> {
    if positions.is_empty() {
        return Ok(());
    }
    let mut upsert = tx.prepare_cached(
        "INSERT OR REPLACE INTO file_positions (source, path, device, inode, offset, tail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for p in positions {
        // SQLite integers are signed: device numbers and inodes keep their 64 bits as stored.
        upsert.execute(params![
            p.source,
            p.path,
            p.device as i64,
            p.inode as i64,
            p.offset as i64,
            p.tail
        ])?;
    }
    Ok(())
}

/// Every committed file position, by source name.
pub(super) fn read(conn: &Connection) -> Result<Vec<FilePosition>, StoreError> {
    let mut select = conn.prepare(
        "SELECT source, path, device, inode, offset, tail FROM file_positions ORDER BY source",
    )?;
    let rows = select.query_map([], |r| {
        Ok(FilePosition {
            source: r.get(0)?,
            path: r.get(1)?,
            device: r.get::<_, i64>(2)? as u64,
            inode: r.get::<_, i64>(3)? as u64,
            offset: r.get::<_, i64>(4)? as u64,
            tail: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Commit, Store};

    #[test]
    fn positions_are_committed_with_the_checkpoint_and_read_back_whole() {
        let mut store = Store::open_in_memory().unwrap();
        let first = FilePosition {
            source: "log".into(),
            path: "/var/log/ais/feed.log".into(),
            device: u64::MAX - 7,
            inode: 1 << 63,
            offset: 123_456,
            tail: b"!AIVDM,1,1,,A,13aG?P0P00PD;88MD5MTDww@2D7k,0*46".to_vec(),
        };
        let commit = |positions: Vec<FilePosition>| Commit {
            checkpoint: "{}".into(),
            file_positions: positions,
            ..Commit::default()
        };
        store.commit(&commit(vec![first.clone()])).unwrap();
        let resume = store.resume_point().unwrap().unwrap();
        assert_eq!(resume.file_positions, std::slice::from_ref(&first));
        // A commit without a source's position leaves it as it was; one with it moves it.
        store.commit(&commit(Vec::new())).unwrap();
        let moved = FilePosition {
            offset: 200_000,
            ..first
        };
        store.commit(&commit(vec![moved.clone()])).unwrap();
        assert_eq!(
            store.resume_point().unwrap().unwrap().file_positions,
            [moved]
        );
        store.clear().unwrap();
        assert!(store.resume_point().unwrap().is_none());
        assert!(read(&store.reader().conn).unwrap().is_empty());
    }
}
