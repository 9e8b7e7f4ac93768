//! Dedup and sort for a partition larger than its share of memory.
//!
//! 1. With a dedup rule, rows are split by a hash of their dedup key into spill
//!    files small enough to hold one at a time: all copies of a key land in one file.
//!    Without one, rows are cut into memory-sized chunks instead.
//! 2. Each piece is deduplicated and sorted in memory and spilled as a sorted run.
//! 3. The runs are merged by sort key, then delivery order: the same total order the
//!    in-memory path gives, so both paths write the same rows in the same order.

use super::merge::{ascending_converter, dedup_and_sort, key_rows, merge_columns};
use super::spill::{SPILL_WRITE_BUFFER, SpillDir, SpillFile, SpillWriter};
use crate::error::{Error, Result};
use crate::model::definition::DedupRule;
use arrow::array::{RecordBatch, UInt32Array};
use arrow::compute::{concat_batches, interleave_record_batch, take_record_batch};
use arrow::datatypes::SchemaRef;
use arrow::row::{RowConverter, Rows};
use std::hash::{BuildHasher, Hasher};

/// Rows per batch in sorted runs and merged output.
const RUN_BATCH_ROWS: usize = 8 * 1024;

/// Sorted runs on disk, ready to be merged.
pub struct SortedRuns {
    runs: Vec<SpillFile>,
    pub rows: u64,
    pub duplicates_removed: u64,
    sort_by: Vec<String>,
}

/// Steps 1 and 2: takes rows (with the delivery column) as they are read, holding
/// about `budget` bytes of them at once.
pub struct RunBuilder<'a> {
    schema: SchemaRef,
    rule: Option<DedupRule>,
    sort_by: Vec<String>,
    spill: &'a SpillDir,
    /// Bytes of a piece sorted in memory (sorting needs about twice that).
    piece_bytes: usize,
    /// With a dedup rule: one spill file per key hash.
    by_key: Vec<Option<SpillWriter>>,
    /// Without one: rows waiting to fill a piece.
    held: Vec<RecordBatch>,
    held_bytes: usize,
    runs: SortedRuns,
}

impl<'a> RunBuilder<'a> {
    /// `total_bytes`, the input's in-memory size, sets how many pieces there are.
    pub fn new(
        schema: SchemaRef,
        rule: Option<&DedupRule>,
        sort_by: &[String],
        budget: usize,
        total_bytes: u64,
        spill: &'a SpillDir,
    ) -> Self {
        let piece_bytes = (budget / 3).max(1);
        let fan_out = match rule {
            // each open piece holds a write buffer, so there are never very many
            Some(_) => (total_bytes as usize)
                .div_ceil(piece_bytes)
                .clamp(2, (piece_bytes / SPILL_WRITE_BUFFER).clamp(2, 1024)),
            None => 0,
        };
        RunBuilder {
            schema,
            rule: rule.cloned(),
            sort_by: sort_by.to_vec(),
            spill,
            piece_bytes,
            by_key: (0..fan_out).map(|_| None).collect(),
            held: Vec::new(),
            held_bytes: 0,
            runs: SortedRuns {
                runs: Vec::new(),
                rows: 0,
                duplicates_removed: 0,
                sort_by: sort_by.to_vec(),
            },
        }
    }

    pub fn push(&mut self, batch: RecordBatch) -> Result<()> {
        match &self.rule {
            Some(rule) => {
                let key = rule.key.clone();
                self.split_by_key(&batch, &key)
            }
            None => {
                self.held_bytes += batch.get_array_memory_size();
                self.held.push(batch);
                if self.held_bytes >= self.piece_bytes {
                    let held = std::mem::take(&mut self.held);
                    self.held_bytes = 0;
                    self.sort_piece(&held)?;
                }
                Ok(())
            }
        }
    }

    /// Step 1: every row goes to the spill file its key hashes to.
    fn split_by_key(&mut self, batch: &RecordBatch, key: &[String]) -> Result<()> {
        let fan_out = self.by_key.len();
        // a fixed hasher: every copy of a key goes to one piece
        let hasher =
            std::hash::BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default();
        let keys = key_rows(batch, key)?;
        let mut rows_of: Vec<Vec<u32>> = vec![Vec::new(); fan_out];
        for (i, row) in keys.iter().enumerate() {
            let mut h = hasher.build_hasher();
            h.write(row.as_ref());
            rows_of[(h.finish() % fan_out as u64) as usize].push(i as u32);
        }
        for (piece, rows) in rows_of.into_iter().enumerate() {
            if rows.is_empty() {
                continue;
            }
            let part = take_record_batch(batch, &UInt32Array::from(rows))?;
            let writer = match &mut self.by_key[piece] {
                Some(w) => w,
                slot => slot.insert(self.spill.create(&self.schema)?),
            };
            writer.write(&part, self.spill)?;
        }
        Ok(())
    }

    /// Step 2 for one piece: dedup and sort in memory, spill as a sorted run.
    fn sort_piece(&mut self, batches: &[RecordBatch]) -> Result<()> {
        let piece = concat_batches(&self.schema, batches)?;
        let merged = dedup_and_sort(&piece, self.rule.as_ref(), &self.sort_by)?;
        drop(piece);
        self.runs.duplicates_removed += merged.duplicates_removed;
        self.runs.rows += merged.batch.num_rows() as u64;
        let mut run = self.spill.create(&self.schema)?;
        let mut offset = 0;
        while offset < merged.batch.num_rows() {
            let len = RUN_BATCH_ROWS.min(merged.batch.num_rows() - offset);
            run.write(&merged.batch.slice(offset, len), self.spill)?;
            offset += len;
        }
        self.runs.runs.push(run.finish()?);
        Ok(())
    }

    /// Sorts what is left into runs.
    pub fn finish(mut self) -> Result<SortedRuns> {
        for writer in std::mem::take(&mut self.by_key).into_iter().flatten() {
            let piece = writer.finish()?;
            let batches = piece.read()?.collect::<Result<Vec<RecordBatch>>>()?;
            piece.remove();
            self.sort_piece(&batches)?;
        }
        let held = std::mem::take(&mut self.held);
        if !held.is_empty() {
            self.sort_piece(&held)?;
        }
        Ok(self.runs)
    }
}

impl SortedRuns {
    /// Step 3: the runs merged into one sorted stream of batches.
    pub fn merge(self) -> Result<MergedRuns> {
        let mut cursors = Vec::with_capacity(self.runs.len());
        let mut converter: Option<RowConverter> = None;
        for run in &self.runs {
            let mut batches: Box<dyn Iterator<Item = Result<RecordBatch>> + Send> =
                Box::new(run.read()?);
            if let Some(first) = batches.next() {
                let first = first?;
                let keys = merge_columns(&first, &self.sort_by)?;
                let conv = match &mut converter {
                    Some(c) => c,
                    slot => slot.insert(ascending_converter(&keys)?),
                };
                let rows = conv.convert_columns(&keys)?;
                cursors.push(Cursor {
                    batches,
                    batch: first,
                    rows,
                    at: 0,
                });
            }
        }
        Ok(MergedRuns {
            converter,
            cursors,
            sort_by: self.sort_by,
            _runs: self.runs,
        })
    }
}

struct Cursor {
    batches: Box<dyn Iterator<Item = Result<RecordBatch>> + Send>,
    batch: RecordBatch,
    rows: Rows,
    at: usize,
}

/// The merged rows, a batch at a time (an iterator, so a writer can pull from it).
pub struct MergedRuns {
    converter: Option<RowConverter>,
    cursors: Vec<Cursor>,
    sort_by: Vec<String>,
    /// Kept until the merge is done; their files go with the spill folder.
    _runs: Vec<SpillFile>,
}

impl MergedRuns {
    /// Takes rows in merge order until `RUN_BATCH_ROWS` are out or a run's batch is
    /// used up (the output refers into the current batches, so it is cut there).
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        if self.cursors.is_empty() {
            return Ok(None);
        }
        let mut picks: Vec<(usize, usize)> = Vec::with_capacity(RUN_BATCH_ROWS);
        let mut exhausted = None;
        while picks.len() < RUN_BATCH_ROWS {
            let mut best = 0;
            for c in 1..self.cursors.len() {
                let (a, b) = (&self.cursors[c], &self.cursors[best]);
                if a.rows.row(a.at) < b.rows.row(b.at) {
                    best = c;
                }
            }
            let cursor = &mut self.cursors[best];
            picks.push((best, cursor.at));
            cursor.at += 1;
            if cursor.at == cursor.batch.num_rows() {
                exhausted = Some(best);
                break;
            }
        }
        let batches: Vec<&RecordBatch> = self.cursors.iter().map(|c| &c.batch).collect();
        let out = interleave_record_batch(&batches, &picks)?;
        if let Some(c) = exhausted {
            self.advance(c)?;
        }
        Ok(Some(out))
    }

    fn advance(&mut self, c: usize) -> Result<()> {
        match self.cursors[c].batches.next() {
            Some(next) => {
                let next = next?;
                let keys = merge_columns(&next, &self.sort_by)?;
                let converter = self
                    .converter
                    .as_mut()
                    .ok_or_else(|| Error::Other("merge without a converter".into()))?;
                let cursor = &mut self.cursors[c];
                cursor.rows = converter.convert_columns(&keys)?;
                cursor.batch = next;
                cursor.at = 0;
                if cursor.batch.num_rows() == 0 {
                    return self.advance(c);
                }
            }
            None => {
                self.cursors.swap_remove(c);
            }
        }
        Ok(())
    }
}

impl Iterator for MergedRuns {
    type Item = Result<RecordBatch>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_batch().transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::merge::{DELIVERY, add_delivery, with_delivery_field};
    use crate::model::definition::Keep;
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use std::sync::Arc;

    /// Rows with many duplicate keys and many equal sort keys, in 37-row batches.
    fn input() -> (SchemaRef, Vec<RecordBatch>) {
        let n = 2_000i64;
        let plain = RecordBatch::try_from_iter(vec![
            (
                "id",
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("k{}", (i * 7) % 900)),
                )) as ArrayRef,
            ),
            (
                "at",
                Arc::new(Int64Array::from_iter_values((0..n).map(|i| (i * 13) % 5))) as ArrayRef,
            ),
            (
                "user",
                Arc::new(Int64Array::from_iter_values((0..n).map(|i| (i * 31) % 17))) as ArrayRef,
            ),
        ])
        .unwrap();
        let schema = with_delivery_field(&plain.schema());
        let with = add_delivery(&plain, &schema, 0).unwrap();
        let batches = (0..n as usize)
            .step_by(37)
            .map(|s| with.slice(s, 37.min(n as usize - s)))
            .collect();
        (schema, batches)
    }

    fn external(rule: Option<&DedupRule>, sort_by: &[String]) -> (RecordBatch, u64) {
        let (schema, batches) = input();
        let total: usize = batches.iter().map(|b| b.get_array_memory_size()).sum();
        let parent = tempfile::tempdir().unwrap();
        let spill = SpillDir::new(parent.path());
        // a budget an eighth of the data forces several pieces and runs
        let mut builder = RunBuilder::new(
            schema.clone(),
            rule,
            sort_by,
            total / 8,
            total as u64,
            &spill,
        );
        for batch in batches {
            builder.push(batch).unwrap();
        }
        let runs = builder.finish().unwrap();
        assert!(runs.runs.len() >= 2, "{} runs", runs.runs.len());
        let removed = runs.duplicates_removed;
        let out: Vec<RecordBatch> = runs.merge().unwrap().collect::<Result<_>>().unwrap();
        (concat_batches(&schema, &out).unwrap(), removed)
    }

    fn in_memory(rule: Option<&DedupRule>, sort_by: &[String]) -> (RecordBatch, u64) {
        let (schema, batches) = input();
        let all = concat_batches(&schema, &batches).unwrap();
        let m = dedup_and_sort(&all, rule, sort_by).unwrap();
        (m.batch, m.duplicates_removed)
    }

    #[test]
    fn external_and_in_memory_paths_give_the_same_rows_in_the_same_order() {
        let sort = vec!["user".to_string(), "at".to_string()];
        for keep in [Keep::Latest, Keep::First] {
            for order_by in [None, Some("at".to_string())] {
                let rule = DedupRule {
                    key: vec!["id".into()],
                    keep,
                    order_by,
                };
                for sort_by in [&sort[..], &[]] {
                    let expected = in_memory(Some(&rule), sort_by);
                    assert_eq!(expected.0.num_rows(), 900);
                    assert_eq!(
                        external(Some(&rule), sort_by),
                        expected,
                        "{rule:?} {sort_by:?}"
                    );
                }
            }
        }
        let expected = in_memory(None, &sort);
        assert_eq!(expected.0.num_rows(), 2_000);
        assert_eq!(external(None, &sort), expected);
        assert!(expected.0.schema().index_of(DELIVERY).is_ok());
    }
}
