//! An exported dataset: a folder of files, one per partition (Hive style, `month=2024-03/`),
//! written into a staging folder beside the destination and moved there only when whole, so
//! that a reader never sees half an export and a failed one leaves the old one in place.

use std::collections::HashMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use super::parquet_file::ParquetFile;
use super::table::{Cell, Column, Geometry};
use super::text_file::TextFile;
use super::{ExportError, ExportFormat};

/// Files held open at once. Fixes arrive vessel by vessel, each vessel's months in turn, so a
/// year's twelve or thirteen months are all open; past this the least recently written is
/// closed, and its month continues in a further `part-N` file if rows for it come again.
pub const MAX_OPEN_FILES: usize = 24;

enum OutFile {
    Parquet(Box<ParquetFile>),
    Text(TextFile),
}

struct OpenFile {
    partition: String,
    path: PathBuf,
    file: OutFile,
    used: u64,
}

pub struct Dataset {
    out: PathBuf,
    staging: PathBuf,
    format: ExportFormat,
    columns: &'static [Column],
    open: Vec<OpenFile>,
    last: usize,
    parts: HashMap<String, u32>,
    tick: u64,
    pub files: u64,
    pub rows: u64,
}

/// The folder of one partition's files: `month=2024-03`; the dataset's own folder for an
/// unpartitioned table (partition "").
fn partition_folder(partition: &str) -> Option<String> {
    (!partition.is_empty()).then(|| format!("month={partition}"))
}

impl Dataset {
    /// Checks the destination before any work: an existing folder with files in it is only
    /// replaced when asked to.
    pub fn create(
        out: &Path,
        replace: bool,
        format: ExportFormat,
        columns: &'static [Column],
    ) -> Result<Dataset, ExportError> {
        let io = |source| ExportError::Io {
            path: out.to_path_buf(),
            source,
        };
        if out.exists() {
            if !out.is_dir() {
                return Err(ExportError::NotAFolder(out.to_path_buf()));
            }
            let has_files = fs::read_dir(out).map_err(io)?.next().is_some();
            if has_files && !replace {
                return Err(ExportError::OutNotEmpty(out.to_path_buf()));
            }
        }
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "export".into());
        let parent = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        fs::create_dir_all(parent).map_err(io)?;
        let staging = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if staging.exists() {
            fs::remove_dir_all(&staging).map_err(io)?;
        }
        fs::create_dir(&staging).map_err(|source| ExportError::Io {
            path: staging.clone(),
            source,
        })?;
        Ok(Dataset {
            out: out.to_path_buf(),
            staging,
            format,
            columns,
            open: Vec::new(),
            last: 0,
            parts: HashMap::new(),
            tick: 0,
            files: 0,
            rows: 0,
        })
    }

    /// Opens the file of an unpartitioned table at once, so that a table without rows is still
    /// a file with its columns.
    pub fn open_unpartitioned(&mut self) -> Result<(), ExportError> {
        self.file_for("").map(|_| ())
    }

    /// Adds one row to `partition` ("" for an unpartitioned table).
    pub fn write(
        &mut self,
        partition: &str,
        cells: &[Cell],
        geometry: Option<&Geometry>,
    ) -> Result<(), ExportError> {
        let index = self.file_for(partition)?;
        let open = &mut self.open[index];
        let written = match &mut open.file {
            OutFile::Parquet(file) => {
                file.write(cells, geometry)
                    .map_err(|source| ExportError::Parquet {
                        path: open.path.clone(),
                        source,
                    })
            }
            OutFile::Text(file) => file
                .write(cells, geometry)
                .map_err(|source| ExportError::Io {
                    path: open.path.clone(),
                    source,
                }),
        };
        written?;
        self.rows += 1;
        Ok(())
    }

    fn file_for(&mut self, partition: &str) -> Result<usize, ExportError> {
        self.tick += 1;
        let found = match self.open.get(self.last) {
            Some(open) if open.partition == partition => Some(self.last),
            _ => self.open.iter().position(|o| o.partition == partition),
        };
        let index = match found {
            Some(index) => index,
            None => {
                if self.open.len() >= MAX_OPEN_FILES {
                    let oldest = (0..self.open.len())
                        .min_by_key(|&i| self.open[i].used)
                        .unwrap_or(0);
                    let closed = self.open.swap_remove(oldest);
                    finish(closed)?;
                }
                let file = self.new_file(partition)?;
                self.open.push(file);
                self.open.len() - 1
            }
        };
        self.open[index].used = self.tick;
        self.last = index;
        Ok(index)
    }

    fn new_file(&mut self, partition: &str) -> Result<OpenFile, ExportError> {
        let folder = match partition_folder(partition) {
            Some(folder) => self.staging.join(folder),
            None => self.staging.clone(),
        };
        let part = self.parts.entry(partition.to_string()).or_insert(0);
        let path = folder.join(format!("part-{part}.{}", self.format.extension()));
        *part += 1;
        let io = |source| ExportError::Io {
            path: path.clone(),
            source,
        };
        fs::create_dir_all(&folder).map_err(io)?;
        let handle = File::create(&path).map_err(io)?;
        let file = match self.format {
            ExportFormat::Parquet => {
                let file = ParquetFile::create(handle, self.columns).map_err(|source| {
                    ExportError::Parquet {
                        path: path.clone(),
                        source,
                    }
                })?;
                OutFile::Parquet(Box::new(file))
            }
            ExportFormat::Csv | ExportFormat::Jsonl => OutFile::Text(
                TextFile::create(handle, self.columns, self.format == ExportFormat::Jsonl)
                    .map_err(io)?,
            ),
        };
        self.files += 1;
        Ok(OpenFile {
            partition: partition.to_string(),
            path,
            file,
            used: self.tick,
        })
    }

    /// Closes every file and moves the staging folder to the destination (the old export,
    /// when replaced, is removed only after the new one is in place).
    pub fn publish(mut self) -> Result<(), ExportError> {
        for open in std::mem::take(&mut self.open) {
            finish(open)?;
        }
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ExportError::Io { path, source }
        };
        let old = self.out.exists().then(|| {
            let mut aside = self.staging.clone().into_os_string();
            aside.push(".old");
            PathBuf::from(aside)
        });
        if let Some(old) = &old {
            fs::rename(&self.out, old).map_err(io(&self.out))?;
        }
        fs::rename(&self.staging, &self.out).map_err(io(&self.out))?;
        if let Some(old) = old {
            fs::remove_dir_all(&old).map_err(io(&old))?;
        }
        Ok(())
    }
}

impl Drop for Dataset {
    /// An export that did not finish leaves nothing behind but the destination as it was.
    fn drop(&mut self) {
        if self.staging.exists() {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

fn finish(open: OpenFile) -> Result<(), ExportError> {
    match open.file {
        OutFile::Parquet(file) => file
            .finish()
            .map(drop)
            .map_err(|source| ExportError::Parquet {
                path: open.path,
                source,
            }),
        OutFile::Text(file) => file.finish().map(drop).map_err(|source| ExportError::Io {
            path: open.path,
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::table::FIX_COLUMNS;
    use crate::time::UnixMillis;
    use parquet::file::reader::{FileReader, SerializedFileReader};

    fn fix(time: i64) -> Vec<Cell> {
        vec![
            Cell::Int(445_000_001),
            Cell::Int(1),
            Cell::Time(UnixMillis(time)),
            Cell::Float64(42.0),
            Cell::Float64(133.0),
            Cell::Float32(11.5),
            Cell::Null,
            Cell::Null,
            Cell::Int(0),
            Cell::Bool(false),
        ]
    }

    fn rows_in(path: &Path) -> i64 {
        let reader = SerializedFileReader::try_from(File::open(path).unwrap()).unwrap();
        reader.metadata().file_metadata().num_rows()
    }

    #[test]
    fn a_month_coming_back_after_its_file_was_closed_continues_in_the_next_part() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("fixes");
        let mut dataset = Dataset::create(&out, false, ExportFormat::Parquet, FIX_COLUMNS).unwrap();
        let point = Geometry::Point(133.0, 42.0);
        let months: Vec<String> = (0..=MAX_OPEN_FILES)
            .map(|m| format!("20{:02}-01", m))
            .collect();
        for month in &months {
            dataset.write(month, &fix(0), Some(&point)).unwrap();
        }
        // The first month's file was the least recently written when the cap was passed.
        dataset.write(&months[0], &fix(1), Some(&point)).unwrap();
        dataset.write(&months[0], &fix(2), None).unwrap();
        assert_eq!(dataset.files, MAX_OPEN_FILES as u64 + 2);
        dataset.publish().unwrap();
        let first = out.join(format!("month={}", months[0]));
        assert_eq!(rows_in(&first.join("part-0.parquet")), 1);
        assert_eq!(rows_in(&first.join("part-1.parquet")), 2);
        let last = out.join(format!("month={}", months[MAX_OPEN_FILES]));
        assert_eq!(rows_in(&last.join("part-0.parquet")), 1);
        let staged: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(staged.len(), 1, "only the dataset is left");
    }

    #[test]
    fn a_row_group_is_written_every_so_many_rows() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("fixes");
        let mut dataset = Dataset::create(&out, false, ExportFormat::Parquet, FIX_COLUMNS).unwrap();
        let rows = crate::export::ROW_GROUP_ROWS * 2 + 5;
        for i in 0..rows {
            dataset
                .write(
                    "2024-03",
                    &fix(i as i64),
                    Some(&Geometry::Point(133.0, 42.0)),
                )
                .unwrap();
        }
        dataset.publish().unwrap();
        let path = out.join("month=2024-03/part-0.parquet");
        let reader = SerializedFileReader::try_from(File::open(&path).unwrap()).unwrap();
        assert_eq!(reader.metadata().num_row_groups(), 3);
        assert_eq!(reader.metadata().file_metadata().num_rows(), rows as i64);
    }

    #[test]
    fn a_folder_with_files_is_only_replaced_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("trips");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("notes.txt"), "kept").unwrap();
        let refused = Dataset::create(&out, false, ExportFormat::Csv, FIX_COLUMNS);
        assert!(matches!(refused, Err(ExportError::OutNotEmpty(_))));
        let file = dir.path().join("a-file");
        fs::write(&file, "").unwrap();
        let refused = Dataset::create(&file, true, ExportFormat::Csv, FIX_COLUMNS);
        assert!(matches!(refused, Err(ExportError::NotAFolder(_))));
        // An export dropped before it is published leaves the folder as it was.
        let mut dataset = Dataset::create(&out, true, ExportFormat::Csv, FIX_COLUMNS).unwrap();
        dataset.open_unpartitioned().unwrap();
        drop(dataset);
        assert_eq!(fs::read_to_string(out.join("notes.txt")).unwrap(), "kept");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
        let mut dataset = Dataset::create(&out, true, ExportFormat::Csv, FIX_COLUMNS).unwrap();
        dataset.open_unpartitioned().unwrap();
        dataset.publish().unwrap();
        assert!(!out.join("notes.txt").exists());
        let header = fs::read_to_string(out.join("part-0.csv")).unwrap();
        assert_eq!(
            header,
            "mmsi,segment,time,lat,lon,sog,cog,heading,nav_status,late,geometry\n"
        );
    }
}
