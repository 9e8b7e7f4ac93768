//! Spilling rows to local disk when they do not fit the memory limit.
//!
//! Spill files are Arrow IPC streams in one private folder per run, created only when
//! the first batch must leave memory. The folder is removed when the run's
//! [`SpillDir`] is dropped: on success, on error and on panic alike.
//!
//! A file that has been read back is not deleted but written over by the next spill:
//! its pages stay in the page cache, where a rewrite costs a copy. Deleting it frees
//! them, and on a VM that hands free memory back to its host (free page reporting),
//! pages allocated anew cost a host fault each: writing 1 GiB into new page-cache
//! pages took 2.3 s of system time there, into pages just freed 0.2 s. For the same
//! reason the next spill takes the largest free file, which it is least likely to
//! outgrow.

use crate::error::{Error, Result};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, BufWriter, Read, Seek, Take};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

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
    /// Files read back and free to be written over (the next spill takes the largest).
    reusable: Reusable,
}

/// Free files with the bytes each already holds.
type Reusable = Arc<Mutex<Vec<(u64, PathBuf)>>>;

impl SpillDir {
    pub fn new(parent: impl Into<PathBuf>) -> Self {
        SpillDir {
            parent: parent.into(),
            dir: Mutex::new(None),
            next: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            reusable: Reusable::default(),
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

    /// A spill file for batches of `schema`: the largest one free, or a new one.
    ///
    /// The largest, because bytes written past a file's end take new page-cache
    /// pages: handed the file closed last, large runs landed in small routing
    /// files and the spill folder grew to 537 MB of 59 files on the doubled bench
    /// lake, every byte of it a new page.
    pub fn create(&self, schema: &SchemaRef) -> Result<SpillWriter> {
        let reused = self.reusable.lock().ok().and_then(|mut free| {
            let largest = (0..free.len()).max_by_key(|&i| free[i].0)?;
            Some(free.swap_remove(largest))
        });
        let (size, path, file) = match reused {
            // written from its start; what lies past the new end is never read
            Some((size, path)) => match OpenOptions::new().write(true).open(&path) {
                Ok(file) => (size, path, file),
                Err(_) => self.new_file()?,
            },
            None => self.new_file()?,
        };
        let path = Pooled {
            path,
            size,
            reusable: self.reusable.clone(),
        };
        let writer =
            StreamWriter::try_new(BufWriter::with_capacity(SPILL_WRITE_BUFFER, file), schema)?;
        Ok(SpillWriter {
            writer,
            path,
            rows: 0,
        })
    }

    fn new_file(&self) -> Result<(u64, PathBuf, File)> {
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
        Ok((0, path, file))
    }

    /// Spill files made so far (reused ones counted once).
    #[cfg(test)]
    pub fn files_made(&self) -> u64 {
        self.next.load(Ordering::Relaxed)
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

/// A spill file's path, offered for reuse once nothing reads or writes it any more
/// (also after a failure: a new writer starts from the file's start).
struct Pooled {
    path: PathBuf,
    /// Bytes the file holds (its longest finished stream).
    size: u64,
    reusable: Reusable,
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Ok(mut free) = self.reusable.lock() {
            free.push((self.size, std::mem::take(&mut self.path)));
        }
    }
}

/// Batches being appended to one spill file.
pub struct SpillWriter {
    writer: StreamWriter<BufWriter<File>>,
    path: Pooled,
    rows: u64,
}

impl SpillWriter {
    pub fn write(&mut self, batch: &RecordBatch, spill: &SpillDir) -> Result<()> {
        self.writer.write(batch)?;
        self.rows += batch.num_rows() as u64;
        spill.count(batch_bytes(batch) as u64);
        Ok(())
    }

    /// Closes the stream; its batches can then be read back in the order written.
    pub fn finish(mut self) -> Result<SpillFile> {
        self.writer.finish()?;
        let path = &self.path.path;
        let mut file = self
            .writer
            .into_inner()
            .map_err(|e| spill_error(path, std::io::Error::other(e.to_string())))?;
        let bytes = file.stream_position().map_err(|e| spill_error(path, e))?;
        self.path.size = self.path.size.max(bytes);
        Ok(SpillFile {
            path: self.path,
            rows: self.rows,
            bytes,
        })
    }
}

/// A finished spill file, read back once.
pub struct SpillFile {
    path: Pooled,
    pub rows: u64,
    /// Where its stream ends: a reused file may hold an older, longer one.
    bytes: u64,
}

impl SpillFile {
    /// Its batches, one at a time, in the order they were written. The file is free
    /// for the next spill once the reader is dropped (batches are read into memory).
    pub fn read(self) -> Result<SpillReader> {
        let path = &self.path.path;
        let file = File::open(path).map_err(|e| spill_error(path, e))?;
        let stream = BufReader::with_capacity(256 * 1024, file.take(self.bytes));
        Ok(SpillReader {
            reader: StreamReader::try_new(stream, None)?,
            _path: self.path,
        })
    }
}

/// Batches read back from a spill file.
pub struct SpillReader {
    reader: StreamReader<BufReader<Take<File>>>,
    /// Dropped after the reader: the file is reused only once it is closed.
    _path: Pooled,
}

impl Iterator for SpillReader {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.reader.next().map(|b| b.map_err(Error::from))
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

    fn spill_all(spill: &SpillDir, batches: &[RecordBatch]) -> SpillFile {
        let mut writer = spill.create(&batches[0].schema()).unwrap();
        for b in batches {
            writer.write(b, spill).unwrap();
        }
        writer.finish().unwrap()
    }

    fn spill_and_read(spill: &SpillDir, batches: &[RecordBatch]) -> Vec<RecordBatch> {
        let file = spill_all(spill, batches);
        file.read().unwrap().collect::<Result<_>>().unwrap()
    }

    #[test]
    fn a_file_read_back_is_written_over_and_yields_only_its_new_batches() {
        let parent = tempfile::tempdir().unwrap();
        let spill = SpillDir::new(parent.path());
        let long: Vec<RecordBatch> = (0..50).map(|n| batch(n * 10)).collect();
        assert_eq!(spill_and_read(&spill, &long), long);
        let folder = spill.path().unwrap();
        let long_size = std::fs::metadata(folder.join("000000.arrows"))
            .unwrap()
            .len();
        // shorter than what the file already holds: the older tail must not come back
        assert_eq!(spill_and_read(&spill, &[batch(7)]), vec![batch(7)]);
        assert_eq!(
            spill_and_read(&spill, &[batch(8), batch(9)]),
            vec![batch(8), batch(9)]
        );
        assert_eq!(spill.files_made(), 1, "one file served all three spills");
        let names: Vec<_> = std::fs::read_dir(&folder).unwrap().collect();
        assert_eq!(names.len(), 1);
        assert_eq!(
            std::fs::metadata(folder.join("000000.arrows"))
                .unwrap()
                .len(),
            long_size,
            "written over in place, not truncated"
        );
    }

    #[test]
    fn a_file_still_being_read_is_not_handed_to_the_next_spill() {
        let parent = tempfile::tempdir().unwrap();
        let spill = SpillDir::new(parent.path());
        let schema = batch(0).schema();
        let mut first = spill.create(&schema).unwrap();
        first.write(&batch(1), &spill).unwrap();
        first.write(&batch(3), &spill).unwrap();
        let mut reading = first.finish().unwrap().read().unwrap();
        assert_eq!(reading.next().unwrap().unwrap(), batch(1));
        // a spill while the first file is half read gets a file of its own
        assert_eq!(spill_and_read(&spill, &[batch(20)]), vec![batch(20)]);
        assert_eq!(reading.next().unwrap().unwrap(), batch(3));
        assert!(reading.next().is_none());
        assert_eq!(spill.files_made(), 2);
        drop(reading);
        // both are free now: one of them is reused
        assert_eq!(spill_and_read(&spill, &[batch(30)]), vec![batch(30)]);
        assert_eq!(spill.files_made(), 2);
    }

    fn folder_bytes(folder: &Path) -> u64 {
        std::fs::read_dir(folder)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum()
    }

    #[test]
    fn the_largest_free_file_takes_the_next_spill_so_no_file_grows() {
        let parent = tempfile::tempdir().unwrap();
        let spill = SpillDir::new(parent.path());
        let long: Vec<RecordBatch> = (0..40).map(|n| batch(n * 10)).collect();
        let long_file = spill_all(&spill, &long);
        let short_file = spill_all(&spill, &[batch(1)]);
        // the long one is freed first, so the short one is the file closed last
        drop(long_file);
        drop(short_file);
        let folder = spill.path().unwrap();
        let before = folder_bytes(&folder);
        // longer than the short file, shorter than the long one
        let middle: Vec<RecordBatch> = (0..20).map(|n| batch(n * 3)).collect();
        assert_eq!(spill_and_read(&spill, &middle), middle);
        assert_eq!(spill.files_made(), 2);
        assert_eq!(folder_bytes(&folder), before, "the long file took it");
    }
}
