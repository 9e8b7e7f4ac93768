//! Routed rows waiting for their partition to be rewritten, inside a memory budget.
//!
//! Every source file is read once, and its rows go to many partitions (late events
//! reach back hours), so no partition is complete before the whole source is read.
//! Rows wait here; when they pass the budget, the largest partitions' rows move to
//! spill files, so memory stays bounded whatever the size of the run.

use super::spill::{SpillDir, SpillFile, SpillWriter};
use crate::error::{Error, Result};
use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use arrow::datatypes::SchemaRef;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Small pieces are joined before they are spilled, so spill files hold few, large
/// batches and reading them back is cheap.
const SPILL_BATCH_ROWS: usize = 64 * 1024;

/// Pieces a bucket holds before they are joined into one batch.
const COALESCE_PIECES: usize = 64;

pub struct Buckets {
    schema: SchemaRef,
    budget: usize,
    spill: Arc<SpillDir>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    buckets: HashMap<String, Bucket>,
    in_memory: usize,
}

/// A source file most of whose rows go to one partition: rather than holding (or
/// spilling) them from the first read, the partition reads the file again when it
/// is rewritten.
#[derive(Clone, Debug)]
pub struct Reread {
    /// Its place in delivery order.
    pub ordinal: usize,
    pub path: String,
    pub size: u64,
    /// Rows of the file that go to the partition.
    pub rows: u64,
}

#[derive(Default)]
struct Bucket {
    rereads: Vec<Reread>,
    pieces: Vec<RecordBatch>,
    /// Bytes of `pieces`, still in memory.
    held: usize,
    /// Bytes of pieces taken out to be joined into one batch (still in memory).
    joining: usize,
    /// Bytes of every row routed here, spilled or not.
    bytes: usize,
    rows: u64,
    /// Written outside the buckets' lock; its own lock keeps writes in turn.
    spilled: Arc<Mutex<Option<SpillWriter>>>,
}

/// Pieces taken out of a bucket to be spilled, once the buckets' lock is let go.
struct ToSpill {
    pieces: Vec<RecordBatch>,
    writer: Arc<Mutex<Option<SpillWriter>>>,
}

/// One partition's routed rows, handed over for its rewrite.
pub struct Routed {
    /// Files to read again for the rest of the partition's rows.
    pub rereads: Vec<Reread>,
    pub in_memory: Vec<RecordBatch>,
    pub spilled: Option<SpillFile>,
    pub rows: u64,
    /// In-memory size of all its rows, spilled or not.
    pub bytes: u64,
}

impl Buckets {
    pub fn new(schema: SchemaRef, budget: usize, spill: Arc<SpillDir>) -> Self {
        Buckets {
            schema,
            budget,
            spill,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>> {
        self.state
            .lock()
            .map_err(|_| Error::Other("routing buffers lock poisoned".into()))
    }

    /// Adds rows (conformed to the table schema) to a partition's bucket.
    ///
    /// Every file being routed adds here, so the lock covers only bookkeeping:
    /// joining pieces and writing spill files happen after it is let go (held
    /// through them, it kept a job waiting an eighth of the routing time).
    pub fn add(&self, partition: &str, piece: RecordBatch) -> Result<()> {
        // pieces are fresh batches: their allocated size is what they cost
        let bytes = piece.get_array_memory_size();
        let (to_join, to_spill) = {
            let mut guard = self.lock()?;
            let state = &mut *guard;
            let bucket = match state.buckets.get_mut(partition) {
                Some(b) => b,
                None => state.buckets.entry(partition.to_string()).or_default(),
            };
            bucket.rows += piece.num_rows() as u64;
            bucket.bytes += bytes;
            bucket.held += bytes;
            bucket.pieces.push(piece);
            state.in_memory += bytes;
            let to_join = if bucket.pieces.len() >= COALESCE_PIECES {
                let held = std::mem::take(&mut bucket.held);
                bucket.joining += held;
                Some((std::mem::take(&mut bucket.pieces), held))
            } else {
                None
            };
            (to_join, self.take_spills(state))
        };
        for spill in to_spill {
            self.write_spill(spill)?;
        }
        if let Some((pieces, held)) = to_join {
            // many small pieces (late rows, a few per file) cost more in per-buffer
            // overhead than in data: join them into one batch
            let joined = concat_batches(&self.schema, &pieces)?;
            drop(pieces);
            let size = joined.get_array_memory_size();
            let mut guard = self.lock()?;
            let state = &mut *guard;
            // buckets are taken only once every file is routed, so it is still here
            let bucket = state.buckets.entry(partition.to_string()).or_default();
            bucket.joining -= held;
            bucket.held += size;
            bucket.pieces.push(joined);
            state.in_memory = state.in_memory - held + size;
        }
        Ok(())
    }

    /// Takes pieces out of the largest buckets until the rest fit the budget.
    fn take_spills(&self, state: &mut State) -> Vec<ToSpill> {
        let mut to_spill = Vec::new();
        while state.in_memory > self.budget {
            let Some(bucket) = state
                .buckets
                .values_mut()
                .filter(|b| !b.pieces.is_empty())
                .max_by_key(|b| b.held)
            else {
                break;
            };
            state.in_memory -= std::mem::take(&mut bucket.held);
            to_spill.push(ToSpill {
                pieces: std::mem::take(&mut bucket.pieces),
                writer: bucket.spilled.clone(),
            });
        }
        to_spill
    }

    /// Appends pieces to their partition's spill file.
    fn write_spill(&self, spill: ToSpill) -> Result<()> {
        let mut writer = spill
            .writer
            .lock()
            .map_err(|_| Error::Other("spill writer lock poisoned".into()))?;
        let writer = match &mut *writer {
            Some(w) => w,
            None => writer.insert(self.spill.create(&self.schema)?),
        };
        for group in joined(&spill.pieces) {
            writer.write(&concat_batches(&self.schema, group)?, &self.spill)?;
        }
        Ok(())
    }

    /// Notes that the partition takes most of a file's rows, to be read again later.
    pub fn reread(&self, partition: &str, file: Reread) -> Result<()> {
        let mut state = self.lock()?;
        state
            .buckets
            .entry(partition.to_string())
            .or_default()
            .rereads
            .push(file);
        Ok(())
    }

    /// Takes a partition's rows out (none if no source row went there).
    pub fn take(&self, partition: &str) -> Result<Routed> {
        let mut state = self.lock()?;
        let bucket = state.buckets.remove(partition).unwrap_or_default();
        state.in_memory -= bucket.held + bucket.joining;
        drop(state);
        let spilled = bucket
            .spilled
            .lock()
            .map_err(|_| Error::Other("spill writer lock poisoned".into()))?
            .take();
        Ok(Routed {
            rereads: bucket.rereads,
            in_memory: bucket.pieces,
            spilled: spilled.map(SpillWriter::finish).transpose()?,
            rows: bucket.rows,
            bytes: bucket.bytes as u64,
        })
    }

    /// Rows routed so far, over all partitions: held, spilled or left to be read again.
    pub fn rows(&self) -> Result<u64> {
        let state = self.lock()?;
        Ok(state
            .buckets
            .values()
            .map(|b| b.rows + b.rereads.iter().map(|r| r.rows).sum::<u64>())
            .sum())
    }
}

/// Splits pieces into runs of about [`SPILL_BATCH_ROWS`] rows.
fn joined(pieces: &[RecordBatch]) -> Vec<&[RecordBatch]> {
    let mut groups = Vec::new();
    let (mut start, mut rows) = (0, 0);
    for (i, piece) in pieces.iter().enumerate() {
        rows += piece.num_rows();
        if rows >= SPILL_BATCH_ROWS {
            groups.push(&pieces[start..=i]);
            (start, rows) = (i + 1, 0);
        }
    }
    if start < pieces.len() {
        groups.push(&pieces[start..]);
    }
    groups
}

impl Routed {
    /// Every routed row, one batch at a time (order does not matter: each row carries
    /// its delivery number).
    pub fn stream(self) -> Result<impl Iterator<Item = Result<RecordBatch>> + Send> {
        let spilled = self.spilled.map(SpillFile::read).transpose()?;
        Ok(spilled
            .into_iter()
            .flatten()
            .chain(self.in_memory.into_iter().map(Ok)))
    }

    /// Every routed row, all at once.
    pub fn batches(self) -> Result<Vec<RecordBatch>> {
        self.stream()?.collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, AsArray, Int64Array};
    use arrow::datatypes::Int64Type;

    fn piece(values: &[i64]) -> RecordBatch {
        RecordBatch::try_from_iter(vec![(
            "n",
            Arc::new(Int64Array::from(values.to_vec())) as ArrayRef,
        )])
        .unwrap()
    }

    fn values(batches: &[RecordBatch]) -> Vec<i64> {
        batches
            .iter()
            .flat_map(|b| b.column(0).as_primitive::<Int64Type>().values().to_vec())
            .collect()
    }

    #[test]
    fn past_the_budget_the_largest_partition_spills_and_nothing_is_lost() {
        let parent = tempfile::tempdir().unwrap();
        let spill = Arc::new(SpillDir::new(parent.path()));
        let one = piece(&[0; 100]).get_array_memory_size();
        let buckets = Buckets::new(piece(&[0]).schema(), one * 3, spill.clone());
        buckets
            .add("big", piece(&(0..100).collect::<Vec<_>>()))
            .unwrap();
        buckets.add("small", piece(&[7])).unwrap();
        buckets
            .add("big", piece(&(100..200).collect::<Vec<_>>()))
            .unwrap();
        assert!(spill.path().is_none(), "within budget nothing spills");
        buckets
            .add("big", piece(&(200..300).collect::<Vec<_>>()))
            .unwrap();
        assert!(
            spill.bytes_spilled() > 0,
            "past the budget the big one spills"
        );
        buckets.add("big", piece(&[300])).unwrap();

        let big = buckets.take("big").unwrap();
        assert_eq!(big.rows, 301);
        assert!(big.spilled.is_some());
        assert_eq!(
            values(&big.batches().unwrap()),
            (0..301).collect::<Vec<_>>()
        );
        assert_eq!(
            values(&buckets.take("small").unwrap().batches().unwrap()),
            vec![7]
        );
        let none = buckets.take("absent").unwrap();
        assert_eq!((none.rows, none.in_memory.len()), (0, 0));

        let file = Reread {
            ordinal: 3,
            path: "a.parquet".into(),
            size: 10,
            rows: 40,
        };
        buckets.reread("later", file).unwrap();
        assert_eq!(buckets.rows().unwrap(), 40, "only the reread is left");
        let later = buckets.take("later").unwrap();
        assert_eq!((later.rereads.len(), later.rows), (1, 0));
    }

    /// Files are routed by several jobs at once, and joining and spilling run outside
    /// the lock: whatever the interleaving, every row arrives once and the memory
    /// counted goes back to nothing.
    #[test]
    fn jobs_adding_at_once_lose_no_row_and_count_memory_right() {
        let parent = tempfile::tempdir().unwrap();
        let spill = Arc::new(SpillDir::new(parent.path()));
        let one = piece(&[0; 10]).get_array_memory_size();
        // room for more than `COALESCE_PIECES` pieces a partition: pieces are joined,
        // and later spilled
        let buckets = Buckets::new(piece(&[0]).schema(), one * 250, spill.clone());
        let partitions = ["a", "b", "c"];
        std::thread::scope(|scope| {
            for job in 0..4i64 {
                let buckets = &buckets;
                scope.spawn(move || {
                    for n in 0..300i64 {
                        let first = (job * 300 + n) * 10;
                        let rows: Vec<i64> = (first..first + 10).collect();
                        buckets
                            .add(partitions[(n % 3) as usize], piece(&rows))
                            .unwrap();
                    }
                });
            }
        });
        assert!(spill.bytes_spilled() > 0, "past the budget pieces spilled");
        let mut seen = Vec::new();
        let mut joined = false;
        for partition in partitions {
            let routed = buckets.take(partition).unwrap();
            joined |= routed.in_memory.iter().any(|b| b.num_rows() > 10);
            let values = values(&routed.batches().unwrap());
            assert_eq!(values.len(), 4 * 100 * 10, "{partition}");
            seen.extend(values);
        }
        assert!(joined, "pieces were joined");
        seen.sort_unstable();
        assert_eq!(seen, (0..4 * 300 * 10).collect::<Vec<i64>>());
        assert_eq!(buckets.lock().unwrap().in_memory, 0);
    }
}
