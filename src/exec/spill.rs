//! Spilling rows to local disk when they do not fit the memory limit.
//!
//! Spill files are Arrow IPC streams in one private folder per run, created only when
//! the first batch must leave memory. The folder is removed when the run's
//! [`SpillDir`] is dropped: on success, on error and on panic alike.

use crate::error::{Error, Result};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Bytes of the rows a batch holds, counting only the part of shared buffers a
/// slice uses (`get_array_memory_size` counts whole buffers, so slices of one big
/// batch would each count all of it).
pub fn batch_bytes(batch: &RecordBatch) -> usize {
    batch
        .columns()
        .iter()
        .map(|c| c.to_data().get_slice_memory_size().unwrap_or(0))
        .sum()
}

/// Write buffer of each open spill file (many can be open at once).
pub const SPILL_WRITE_BUFFER: usize = 64 * 1024;

/// Where a run spills; the folder itself appears only on first use.
pub struct SpillDir {
    parent: PathBuf,
    dir: Mutex<Option<tempfile::TempDir>>,
    next: AtomicU64,
    bytes: AtomicU64,
}

impl SpillDir {
    pub fn new(parent: impl Into<PathBuf>) -> Self {
        SpillDir {
            parent: parent.into(),
            dir: Mutex::new(None),
            next: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    /// Bytes written to spill files so far (a figure for the run's report).
    pub fn bytes_spilled(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }

    /// The run's spill folder, if anything was spilled yet.
    pub fn path(&self) -> Option<PathBuf> {
        let dir = self.dir.lock().ok()?;
        dir.as_ref().map(|d| d.path().to_path_buf())
    }

    /// A new spill file for batches of `schema`.
    pub fn create(&self, schema: &SchemaRef) -> Result<SpillWriter> {
        let folder = {
            let mut dir = self
                .dir
                .lock()
                .map_err(|_| Error::Other("spill folder lock poisoned".into()))?;
            if dir.is_none() {
                std::fs::create_dir_all(&self.parent).map_err(|e| spill_error(&self.parent, e))?;
                let made = tempfile::Builder::new()
                    .prefix("laketidy-spill-")
                    .tempdir_in(&self.parent)
                    .map_err(|e| spill_error(&self.parent, e))?;
                *dir = Some(made);
            }
            dir.as_ref()
                .map(|d| d.path().to_path_buf())
                .unwrap_or_default()
        };
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let path = folder.join(format!("{n:06}.arrows"));
        let file = File::create(&path).map_err(|e| spill_error(&path, e))?;
        let writer =
            StreamWriter::try_new(BufWriter::with_capacity(SPILL_WRITE_BUFFER, file), schema)?;
        Ok(SpillWriter {
            writer,
            path,
            rows: 0,
        })
    }

    fn count(&self, bytes: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }
}

fn spill_error(path: &Path, e: std::io::Error) -> Error {
    Error::Other(format!(
        "cannot spill to {}: {e} (choose another folder with --spill-dir, or raise --memory-limit)",
        path.display()
    ))
}

/// Batches being appended to one spill file.
pub struct SpillWriter {
    writer: StreamWriter<BufWriter<File>>,
    path: PathBuf,
    rows: u64,
}

impl SpillWriter {
    pub fn write(&mut self, batch: &RecordBatch, spill: &SpillDir) -> Result<()> {
        self.writer.write(batch)?;
        self.rows += batch.num_rows() as u64;
        spill.count(batch_bytes(batch) as u64);
        Ok(())
    }

    /// Closes the file; its batches can then be read back in the order written.
    pub fn finish(mut self) -> Result<SpillFile> {
        self.writer.finish()?;
        let path = self.path.clone();
        self.writer
            .into_inner()
            .map_err(|e| spill_error(&path, std::io::Error::other(e.to_string())))?;
        Ok(SpillFile {
            path: self.path,
            rows: self.rows,
        })
    }
}

/// A finished spill file. Removing it early frees disk; the folder goes at the end anyway.
pub struct SpillFile {
    path: PathBuf,
    pub rows: u64,
}

impl SpillFile {
    /// Its batches, one at a time, in the order they were written.
    pub fn read(&self) -> Result<impl Iterator<Item = Result<RecordBatch>> + use<>> {
        let file = File::open(&self.path).map_err(|e| spill_error(&self.path, e))?;
        let reader = StreamReader::try_new(BufReader::with_capacity(256 * 1024, file), None)?;
        Ok(reader.map(|b| b.map_err(Error::from)))
    }

    pub fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use std::sync::Arc;

    fn batch(n: i64) -> RecordBatch {
        RecordBatch::try_from_iter(vec![
            ("n", Arc::new(Int64Array::from(vec![n, n + 1])) as ArrayRef),
            (
                "s",
                Arc::new(StringArray::from(vec![Some("a"), None])) as ArrayRef,
            ),
        ])
        .unwrap()
    }

    #[test]
    fn batches_come_back_in_order_and_the_folder_goes_with_the_run() {
        let parent = tempfile::tempdir().unwrap();
        let spill = SpillDir::new(parent.path().join("nested"));
        assert!(spill.path().is_none(), "nothing is created before a spill");
        let schema = batch(0).schema();
        let mut writer = spill.create(&schema).unwrap();
        for n in [1, 5, 9] {
            writer.write(&batch(n), &spill).unwrap();
        }
        let file = writer.finish().unwrap();
        assert_eq!(file.rows, 6);
        let back: Vec<RecordBatch> = file.read().unwrap().collect::<Result<_>>().unwrap();
        assert_eq!(back, vec![batch(1), batch(5), batch(9)]);
        let folder = spill.path().unwrap();
        assert!(folder.starts_with(parent.path().join("nested")));
        assert!(spill.bytes_spilled() > 0);
        drop(spill);
        assert!(!folder.exists(), "the spill folder is removed with the run");
    }
}
