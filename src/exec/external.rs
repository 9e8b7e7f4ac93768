//! Dedup and sort for a partition larger than its share of memory.
//!
//! 1. Rows are cut, in the order they come, into pieces that fit in memory; each
//!    piece is sorted alone and spilled as a sorted run (the last stays in memory):
//!    batches of rows as they lie in the piece, each with its order, which the
//!    merge follows (putting rows in order here would copy them once more).
//!    With a dedup rule, every key seen so far is remembered ([`KeptKeys`]): a row
//!    that a copy seen before beats never reaches its run, and a row beaten by a
//!    copy seen later (in its own piece or a later one) is dropped at the merge.
//! 2. When even the keys would not fit, only the keys (with `order_by` and delivery)
//!    are spilled, split by their hash ([`SpilledKeys`]); rows become runs as in 1.
//!    without dedup, and the rows that lose are found one key file at a time and
//!    dropped at the merge. Rows are written once either way.
//! 3. The runs are merged by sort key, then delivery order: the same total order the
//!    in-memory path gives, so every path writes the same rows in the same order.

use super::kept::{Deliveries, KeptKeys};
use super::merge::{
    DELIVERY, SortedBatches, ascending_converter, leading_bytes, merge_columns, sort_batches,
    sort_rows_of, with_column, with_field,
};
use super::spill::{SPILL_WRITE_BUFFER, SpillDir, SpillFile, batch_bytes};
use super::spilled_keys::SpilledKeys;
use crate::error::{Error, Result};
use crate::model::definition::DedupRule;
use arrow::array::{AsArray, RecordBatch, UInt32Array};
use arrow::compute::interleave_record_batch;
use arrow::datatypes::{DataType, Field, SchemaRef, UInt32Type, UInt64Type};
use arrow::row::{RowConverter, Rows};
use std::sync::Arc;

/// Rows per batch in sorted runs and merged output.
const RUN_BATCH_ROWS: usize = 8 * 1024;

/// Runs when keys are remembered at most; past it keys are spilled instead, which
/// leaves pieces the whole budget (so there are fewer, larger runs).
const MAX_RUNS: usize = 256;

/// Bytes of rows per piece: half of what the keys leave of the budget, because a
/// piece being spilled lives twice for a moment (its rows and their sorted copy,
/// plus sort keys and indices), never under a sixteenth of it. Three quarters cost
/// ~25 MB more peak RSS on the doubled bench lake and saved no time.
fn piece_bytes(budget: usize, keys: usize) -> usize {
    (budget.saturating_sub(keys) / 2).max(budget / 16).max(1)
}

/// Key files to split `key_bytes` of key rows into. A file read back takes about
/// three times its bytes (its rows, their keys in row format, a hash table) beside
/// the last piece (half the budget); each file being written holds a write buffer,
/// so there are never more than an eighth of the budget's worth.
fn key_files(key_bytes: f64, budget: usize) -> usize {
    let most = (budget / 8 / SPILL_WRITE_BUFFER).max(1);
    ((key_bytes * 6.0 / budget.max(1) as f64).ceil() as usize).clamp(1, most)
}

/// A sorted run: spilled, or the last one, still in memory.
enum Run {
    Spilled(SpillFile),
    Held(SortedBatches),
}

/// Sorted runs, ready to be merged.
pub struct SortedRuns {
    schema: SchemaRef,
    runs: Vec<Run>,
    pub rows: u64,
    pub duplicates_removed: u64,
    sort_by: Vec<String>,
    /// Deliveries of rows in the runs that a copy seen later beat.
    lost: Deliveries,
}

/// How copies of a dedup key are brought together.
enum Dedup {
    /// No dedup rule.
    Off,
    /// Decided at the first batch, from the size of its keys.
    Undecided(DedupRule),
    /// Keys remembered across runs cut in arrival order.
    AcrossRuns(KeptKeys),
    /// Keys spilled by hash, losers found at the end.
    SpilledKeys(SpilledKeys),
}

/// Steps 1 and 2: takes rows (with the delivery column) as they are read, holding
/// about `budget` bytes of them at once.
pub struct RunBuilder<'a> {
    schema: SchemaRef,
    rule: Option<DedupRule>,
    sort_by: Vec<String>,
    spill: &'a SpillDir,
    budget: usize,
    total_rows: u64,
    total_bytes: u64,
    /// Bytes of a piece sorted in memory (sorting needs about twice that).
    piece_bytes: usize,
    dedup: Dedup,
    /// Rows waiting to fill a piece.
    held: Vec<RecordBatch>,
    held_bytes: usize,
    runs: SortedRuns,
}

impl<'a> RunBuilder<'a> {
    /// `total_rows` and `total_bytes` (in memory) size the input, for how to cut it.
    pub fn new(
        schema: SchemaRef,
        rule: Option<&DedupRule>,
        sort_by: &[String],
        budget: usize,
        (total_rows, total_bytes): (u64, u64),
        spill: &'a SpillDir,
    ) -> Self {
        RunBuilder {
            schema: schema.clone(),
            rule: rule.cloned(),
            sort_by: sort_by.to_vec(),
            spill,
            budget,
            total_rows,
            total_bytes,
            piece_bytes: piece_bytes(budget, 0),
            dedup: rule.map_or(Dedup::Off, |r| Dedup::Undecided(r.clone())),
            held: Vec::new(),
            held_bytes: 0,
            runs: SortedRuns {
                schema,
                runs: Vec::new(),
                rows: 0,
                duplicates_removed: 0,
                sort_by: sort_by.to_vec(),
                lost: Deliveries::default(),
            },
        }
    }

    pub fn push(&mut self, batch: RecordBatch) -> Result<()> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        if let Dedup::Undecided(rule) = &self.dedup {
            self.dedup = self.decide(rule.clone(), &batch)?;
        }
        if let Dedup::SpilledKeys(keys) = &mut self.dedup {
            keys.add(&batch, self.spill)?;
        }
        // slices, not whole buffers: a batch read back from a spill file is a slice
        // of one buffer, which `get_array_memory_size` would count once per column
        self.held_bytes += batch_bytes(&batch);
        self.held.push(batch);
        if self.held_bytes >= self.piece_bytes {
            let held = std::mem::take(&mut self.held);
            self.held_bytes = 0;
            self.sort_piece(held, false)?;
        }
        Ok(())
    }

    /// Remembers keys when they leave at least an eighth of the budget to pieces;
    /// else spills them.
    fn decide(&mut self, rule: DedupRule, sample: &RecordBatch) -> Result<Dedup> {
        let mut kept = KeptKeys::new(&self.schema, &rule)?;
        let estimate = kept.estimate(sample, self.total_rows)?;
        let keys = estimate.total() as usize;
        let piece = piece_bytes(self.budget, keys);
        let runs = (self.total_bytes as usize).div_ceil(piece);
        // every run is open at once in the merge, each with a read buffer and a batch
        if keys <= self.budget / 8 * 7 && runs <= MAX_RUNS {
            kept.reserve(self.total_rows as usize, estimate);
            self.piece_bytes = piece;
            return Ok(Dedup::AcrossRuns(kept));
        }
        let files = key_files(
            SpilledKeys::bytes_per_row(&rule, sample)? * self.total_rows as f64,
            self.budget,
        );
        self.piece_bytes = piece_bytes(self.budget, files * SPILL_WRITE_BUFFER);
        Ok(Dedup::SpilledKeys(SpilledKeys::new(&rule, sample, files)?))
    }

    /// Sorts one piece in memory and dedups it (alone, or through the kept keys),
    /// and spills it as a sorted run (or keeps it, when it is the `last`).
    fn sort_piece(&mut self, batches: Vec<RecordBatch>, last: bool) -> Result<()> {
        let sorted = if let Dedup::AcrossRuns(kept) = &mut self.dedup {
            // remembered keys dedup the piece too (copies within it meet in the
            // table as copies across runs do), so the piece is not hashed twice
            let batches: Vec<RecordBatch> =
                batches.into_iter().filter(|b| b.num_rows() > 0).collect();
            let total: usize = batches.iter().map(|b| b.num_rows()).sum();
            let stays = kept.admit(&batches)?;
            self.runs.duplicates_removed += (total - stays.len()) as u64;
            // the keys' estimate came from one batch: the next pieces get what the
            // keys really left of the budget
            self.piece_bytes = piece_bytes(self.budget, kept.memory());
            sort_rows_of(batches, stays, &self.sort_by)?
        } else {
            // with spilled keys, copies are found at the end, all at once
            let rule = match self.dedup {
                Dedup::SpilledKeys(_) => None,
                _ => self.rule.as_ref(),
            };
            let sorted = sort_batches(batches, rule, &self.sort_by)?;
            self.runs.duplicates_removed += sorted.duplicates_removed;
            sorted
        };
        self.runs.rows += sorted.rows();
        if last {
            self.runs.runs.push(Run::Held(sorted));
            return Ok(());
        }
        // each batch as its rows lie, with its order: the merge follows the order
        let run_schema = with_field(&self.schema, Field::new(RUN_ORDER, DataType::UInt32, false));
        let mut run = self.spill.create(&run_schema)?;
        for chunk in sorted.lying_chunks(RUN_BATCH_ROWS) {
            let (rows, order) = chunk?;
            run.write(
                &with_column(&rows, &run_schema, Arc::new(order))?,
                self.spill,
            )?;
        }
        self.runs.runs.push(Run::Spilled(run.finish()?));
        Ok(())
    }

    /// Sorts what is left into runs.
    pub fn finish(mut self) -> Result<SortedRuns> {
        // key files are read back before the last piece is sorted, which for a
        // moment takes more than its rows
        if let Dedup::SpilledKeys(keys) = &mut self.dedup {
            self.runs.lost = keys.losers()?;
        }
        let held = std::mem::take(&mut self.held);
        self.sort_piece(held, true)?;
        if let Dedup::AcrossRuns(kept) = &mut self.dedup {
            self.runs.lost = std::mem::take(&mut kept.lost);
        }
        let lost = self.runs.lost.len() as u64;
        self.runs.rows -= lost;
        self.runs.duplicates_removed += lost;
        Ok(self.runs)
    }
}

impl SortedRuns {
    /// Step 3: the runs merged into one sorted stream of batches.
    pub fn merge(self) -> Result<MergedRuns> {
        let lost = if self.lost.is_empty() {
            None
        } else {
            Some((self.lost, self.schema.index_of(DELIVERY)?))
        };
        let mut cursors = Vec::with_capacity(self.runs.len());
        let mut converter: Option<RowConverter> = None;
        for run in self.runs {
            let batches: Box<dyn Iterator<Item = Result<Lying>> + Send> = match run {
                Run::Spilled(file) => Box::new(file.read()?.map(|b| split_order(b?))),
                Run::Held(sorted) => Box::new(sorted.lying_chunks(RUN_BATCH_ROWS).map(|c| Ok(c?))),
            };
            let mut cursor = Cursor {
                batches,
                batch: RecordBatch::new_empty(self.schema.clone()),
                order: UInt32Array::from(Vec::<u32>::new()),
                rows: None,
                leads: Vec::new(),
                at: 0,
            };
            if cursor.advance(&mut converter, &self.sort_by, lost.as_ref())? {
                cursors.push(cursor);
            }
        }
        let tree = LoserTree::new(&cursors);
        Ok(MergedRuns {
            converter,
            cursors,
            tree,
            sort_by: self.sort_by,
            lost,
        })
    }
}

/// Rows as they lie and their order: the k-th row in sort order is row `order[k]`.
type Lying = (RecordBatch, UInt32Array);

/// The field that carries a spilled batch's order (see [`Lying`]).
const RUN_ORDER: &str = "__laketidy_run_order";

/// A batch read back from a run, as its rows and their order.
fn split_order(mut batch: RecordBatch) -> Result<Lying> {
    let last = batch.num_columns().checked_sub(1);
    let order = last
        .filter(|&l| batch.schema().field(l).name() == RUN_ORDER)
        .and_then(|l| batch.column(l).as_primitive_opt::<UInt32Type>().cloned());
    match (last, order) {
        (Some(last), Some(order)) => {
            batch.remove_column(last);
            Ok((batch, order))
        }
        _ => Err(Error::Other("a spilled run lost its order column".into())),
    }
}

/// A run being merged: its current batch, that batch's merge keys, and the next row.
struct Cursor {
    batches: Box<dyn Iterator<Item = Result<Lying>> + Send>,
    /// Rows as they lie; `order` gives them in sort order.
    batch: RecordBatch,
    order: UInt32Array,
    /// The merge keys of `batch` as rows; `None` once the run is used up.
    rows: Option<Rows>,
    /// The first 16 bytes of each row, in sort order: most comparisons end there.
    leads: Vec<(u64, u64)>,
    /// The next row's place in sort order.
    at: usize,
}

impl Cursor {
    /// Moves to the run's next batch that has rows to merge (rows a later copy beat
    /// are left out of its order here, not looked up row by row in the merge); false
    /// when there is none.
    fn advance(
        &mut self,
        converter: &mut Option<RowConverter>,
        sort_by: &[String],
        lost: Option<&Lost>,
    ) -> Result<bool> {
        for next in self.batches.by_ref() {
            let (next, mut order) = next?;
            if let Some(lost) = lost {
                order = without_lost(&next, order, lost);
            }
            if order.is_empty() {
                continue;
            }
            let keys = merge_columns(&next, sort_by)?;
            let converter = match converter {
                Some(c) => c,
                slot => slot.insert(ascending_converter(&keys)?),
            };
            let rows = converter.convert_columns(&keys)?;
            // read the rows front to back, then put their leads in order
            let lying: Vec<(u64, u64)> = rows.iter().map(|row| leading_bytes(row.data())).collect();
            self.leads.clear();
            self.leads
                .extend(order.values().iter().map(|&r| lying[r as usize]));
            self.rows = Some(rows);
            self.batch = next;
            self.order = order;
            self.at = 0;
            return Ok(true);
        }
        self.rows = None;
        Ok(false)
    }

    /// Whether this cursor's next row comes before `other`'s. A used-up run comes
    /// after everything; rows of two runs never tie (their deliveries differ).
    fn before(&self, other: &Cursor) -> bool {
        match (&self.rows, &other.rows) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(mine), Some(theirs)) => match self.leads[self.at].cmp(&other.leads[other.at]) {
                std::cmp::Ordering::Equal => mine.row(self.row()) < theirs.row(other.row()),
                unequal => unequal.is_lt(),
            },
        }
    }

    /// The next row, in `batch`.
    fn row(&self) -> usize {
        self.order.value(self.at) as usize
    }
}

/// A tournament over the cursors: each inner node holds the loser of the match
/// below it, node 0 the overall winner. Taking a row replays only the winner's path,
/// about log2(runs) comparisons, where scanning every cursor takes one per run.
struct LoserTree {
    nodes: Vec<usize>,
}

impl LoserTree {
    fn new(cursors: &[Cursor]) -> Self {
        let k = cursors.len();
        let mut nodes = vec![0; k.max(1)];
        // winners of each subtree, leaves at k..2k (a complete binary tree)
        let mut winners = vec![0; 2 * k];
        for (i, slot) in winners[k..].iter_mut().enumerate() {
            *slot = i;
        }
        for node in (1..k).rev() {
            let (a, b) = (winners[2 * node], winners[2 * node + 1]);
            let (winner, loser) = if cursors[a].before(&cursors[b]) {
                (a, b)
            } else {
                (b, a)
            };
            winners[node] = winner;
            nodes[node] = loser;
        }
        if k > 1 {
            nodes[0] = winners[1];
        }
        LoserTree { nodes }
    }

    fn winner(&self) -> usize {
        self.nodes[0]
    }

    /// After the winner's cursor moved: plays its new row up to the root.
    fn replay(&mut self, cursors: &[Cursor]) {
        let k = cursors.len();
        let mut winner = self.nodes[0];
        let mut node = (winner + k) / 2;
        while node >= 1 {
            if cursors[self.nodes[node]].before(&cursors[winner]) {
                std::mem::swap(&mut self.nodes[node], &mut winner);
            }
            node /= 2;
        }
        self.nodes[0] = winner;
    }
}

/// The merged rows, a batch at a time (an iterator, so a writer can pull from it).
pub struct MergedRuns {
    converter: Option<RowConverter>,
    cursors: Vec<Cursor>,
    tree: LoserTree,
    sort_by: Vec<String>,
    lost: Option<Lost>,
}

/// Rows to leave out (see [`SortedRuns`]), and the delivery column's index.
type Lost = (Deliveries, usize);

/// `order` without the rows of `batch` that `lost` names. The deliveries are read
/// front to back, as they lie: looked up in sort order, inside the merge, each read
/// stalled it (three quarters of the merge's time on the doubled bench lake).
fn without_lost(batch: &RecordBatch, order: UInt32Array, (lost, column): &Lost) -> UInt32Array {
    let deliveries = batch.column(*column).as_primitive::<UInt64Type>().values();
    let gone: Vec<bool> = deliveries.iter().map(|d| lost.contains(d)).collect();
    if !gone.contains(&true) {
        return order;
    }
    order
        .values()
        .iter()
        .copied()
        .filter(|&r| !gone[r as usize])
        .collect()
}

impl MergedRuns {
    /// Takes rows in merge order until `RUN_BATCH_ROWS` are out or the runs are used
    /// up. A run whose batch is used up on the way moves to its next one and the used
    /// batch is kept until the output is copied: output batches are never cut short,
    /// so each copy (one call per column) moves a full batch of rows.
    fn next_batch(&mut self) -> Result<Option<RecordBatch>> {
        if self.cursors.is_empty() {
            return Ok(None);
        }
        let mut sources: Vec<RecordBatch> = self.cursors.iter().map(|c| c.batch.clone()).collect();
        let mut source_of: Vec<usize> = (0..self.cursors.len()).collect();
        let mut picks: Vec<(usize, usize)> = Vec::with_capacity(RUN_BATCH_ROWS);
        while picks.len() < RUN_BATCH_ROWS {
            let best = self.tree.winner();
            let cursor = &mut self.cursors[best];
            // a run with rows beats every used-up run, so a used-up winner means the end
            if cursor.rows.is_none() {
                break;
            }
            picks.push((source_of[best], cursor.row()));
            cursor.at += 1;
            if cursor.at == cursor.order.len()
                && cursor.advance(&mut self.converter, &self.sort_by, self.lost.as_ref())?
            {
                source_of[best] = sources.len();
                sources.push(cursor.batch.clone());
            }
            self.tree.replay(&self.cursors);
        }
        if picks.is_empty() {
            return Ok(None);
        }
        let sources: Vec<&RecordBatch> = sources.iter().collect();
        Ok(Some(interleave_record_batch(&sources, &picks)?))
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
    use crate::exec::merge::{add_delivery, dedup_and_sort, with_delivery_field};
    use crate::model::definition::Keep;
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use arrow::compute::concat_batches;
    use std::sync::Arc;

    /// Rows with many duplicate keys and many equal sort keys, in 37-row batches.
    fn input() -> (SchemaRef, Vec<RecordBatch>) {
        let n = 2_000i64;
        let plain = RecordBatch::try_from_iter(vec![
            (
                "id",
                Arc::new(StringArray::from_iter_values(
                    // copies far apart (900 rows), and every tenth row a copy of
                    // the row before it: copies in one piece and across pieces
                    (0..n).map(|i| format!("k{}", ((i - i64::from(i % 10 == 9)) * 7) % 900)),
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
            (
                // rows wide enough that their keys take a fraction of their bytes
                "pad",
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("{i:0>200}")),
                )) as ArrayRef,
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

    /// Sorts `input()` through runs with a budget of `1 / fraction` of its size;
    /// says too whether keys were remembered across runs (else split by hash).
    fn external(
        rule: Option<&DedupRule>,
        sort_by: &[String],
        fraction: usize,
    ) -> ((RecordBatch, u64), bool) {
        let (schema, batches) = input();
        let total: usize = batches.iter().map(batch_bytes).sum();
        let parent = tempfile::tempdir().unwrap();
        let spill = SpillDir::new(parent.path());
        let mut builder = RunBuilder::new(
            schema.clone(),
            rule,
            sort_by,
            total / fraction,
            (2_000, total as u64),
            &spill,
        );
        for batch in batches {
            builder.push(batch).unwrap();
        }
        let remembered = matches!(builder.dedup, Dedup::AcrossRuns(_));
        let runs = builder.finish().unwrap();
        // rows are written once at most, whatever holds the keys: what is spilled
        // beyond them is key rows (the key, `at` and the delivery: ~10% of a row)
        assert!(
            (spill.bytes_spilled() as usize) < total * 23 / 20,
            "{} spilled of {total}",
            spill.bytes_spilled()
        );
        assert!(runs.runs.len() >= 2, "{} runs", runs.runs.len());
        assert!(matches!(runs.runs.last(), Some(Run::Held(_))));
        let removed = runs.duplicates_removed;
        assert_eq!(runs.rows + removed, 2_000, "kept and removed rows add up");
        let out: Vec<RecordBatch> = runs.merge().unwrap().collect::<Result<_>>().unwrap();
        (
            (concat_batches(&schema, &out).unwrap(), removed),
            remembered,
        )
    }

    /// Rows read back from a spill file share one buffer per batch; a piece is cut
    /// by the bytes they hold, not by that buffer counted once per column.
    #[test]
    fn pieces_are_cut_by_the_bytes_rows_hold_even_when_they_share_a_buffer() {
        let (schema, batches) = input();
        let parent = tempfile::tempdir().unwrap();
        let spill = SpillDir::new(parent.path());
        let mut file = spill.create(&schema).unwrap();
        for batch in &batches {
            file.write(batch, &spill).unwrap();
        }
        let read_back: Vec<RecordBatch> = file
            .finish()
            .unwrap()
            .read()
            .unwrap()
            .collect::<Result<_>>()
            .unwrap();
        let total: usize = read_back.iter().map(batch_bytes).sum();
        let shared: usize = read_back.iter().map(|b| b.get_array_memory_size()).sum();
        assert!(
            shared > 2 * total,
            "the batches share buffers: {shared} vs {total}"
        );
        let runs_of = |batches: Vec<RecordBatch>| {
            let mut builder = RunBuilder::new(
                schema.clone(),
                None,
                &[],
                total / 4,
                (2_000, total as u64),
                &spill,
            );
            for batch in batches {
                builder.push(batch).unwrap();
            }
            builder.finish().unwrap().runs.len()
        };
        let runs = runs_of(read_back);
        // a budget a quarter of the rows; a piece closes at the first batch that
        // brings it to piece_bytes, so pieces are a little over it
        let pieces = total.div_ceil(piece_bytes(total / 4, 0));
        assert!(
            (pieces - 1..=pieces).contains(&runs),
            "{runs} runs, {pieces} pieces"
        );
        assert_eq!(runs, runs_of(batches));
    }

    /// Any number of runs, each cut at its own batch sizes and some of them empty,
    /// merge into the order one sort of all their rows gives.
    #[test]
    fn runs_of_any_count_merge_into_one_order() {
        let (schema, batches) = input();
        let sort_by = vec!["user".to_string(), "at".to_string()];
        let all = concat_batches(&schema, &batches).unwrap();
        let expected = dedup_and_sort(&all, None, &sort_by).unwrap().batch;
        for count in [1usize, 2, 3, 5, 8, 9, 17] {
            let mut pieces: Vec<Vec<RecordBatch>> = vec![Vec::new(); count + 1];
            for (i, batch) in batches.iter().enumerate() {
                // run `count` stays empty; the others get every count-th batch
                pieces[(i * 7) % count].push(batch.clone());
            }
            let runs = pieces
                .into_iter()
                .map(|piece| Run::Held(sort_batches(piece, None, &sort_by).unwrap()))
                .collect();
            let merged = SortedRuns {
                schema: schema.clone(),
                runs,
                rows: 2_000,
                duplicates_removed: 0,
                sort_by: sort_by.clone(),
                lost: Deliveries::default(),
            }
            .merge()
            .unwrap()
            .collect::<Result<Vec<_>>>()
            .unwrap();
            assert!(merged.iter().all(|b| b.num_rows() <= RUN_BATCH_ROWS));
            assert_eq!(
                concat_batches(&schema, &merged).unwrap(),
                expected,
                "{count} runs"
            );
        }
    }

    /// Merged batches come out full, never cut where one run's batch ends, and runs
    /// spilled as rows where they lie plus their order merge in sort order.
    #[test]
    fn merged_batches_are_full_whatever_the_runs_batches() {
        let n = 5 * RUN_BATCH_ROWS + 123;
        let users = Int64Array::from_iter_values((0..n as i64).map(|i| (i * 7_919) % 1_000));
        let plain =
            RecordBatch::try_from_iter(vec![("user", Arc::new(users) as ArrayRef)]).unwrap();
        let schema = with_delivery_field(&plain.schema());
        let all = add_delivery(&plain, &schema, 0).unwrap();
        let sort_by = vec!["user".to_string()];
        let parent = tempfile::tempdir().unwrap();
        let spill = SpillDir::new(parent.path());
        let total = batch_bytes(&all);
        let mut builder = RunBuilder::new(
            schema.clone(),
            None,
            &sort_by,
            total / 2,
            (n as u64, total as u64),
            &spill,
        );
        for start in (0..n).step_by(1_000) {
            builder
                .push(all.slice(start, 1_000.min(n - start)))
                .unwrap();
        }
        // pieces of about a quarter of the rows: runs of more than one batch
        let runs = builder.finish().unwrap();
        assert!(runs.runs.len() >= 3, "{} runs", runs.runs.len());
        assert!(matches!(runs.runs[0], Run::Spilled(_)));
        let merged: Vec<RecordBatch> = runs.merge().unwrap().collect::<Result<_>>().unwrap();
        let sizes: Vec<usize> = merged.iter().map(|b| b.num_rows()).collect();
        let (last, full) = sizes.split_last().unwrap();
        assert!(full.iter().all(|&s| s == RUN_BATCH_ROWS), "{sizes:?}");
        assert_eq!(*last, n % RUN_BATCH_ROWS, "{sizes:?}");
        let expected = dedup_and_sort(&all, None, &sort_by).unwrap().batch;
        assert_eq!(concat_batches(&schema, &merged).unwrap(), expected);
    }

    #[test]
    fn a_run_batch_without_its_order_is_refused() {
        let (_, batches) = input();
        let error = split_order(batches[0].clone()).unwrap_err();
        assert!(error.to_string().contains("order column"), "{error}");
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
                    assert_eq!(expected.0.num_rows(), 810);
                    // a budget a third of the rows: keys fit, rows need many runs
                    let (got, remembered) = external(Some(&rule), sort_by, 3);
                    assert!(remembered, "{rule:?}");
                    assert_eq!(got, expected, "{rule:?} {sort_by:?}");
                    // too small even for the keys: keys spilled; pieces of a few
                    // batches (copies within the last one too), or of one
                    for fraction in [6, 400] {
                        let (got, remembered) = external(Some(&rule), sort_by, fraction);
                        assert!(!remembered, "{rule:?} 1/{fraction}");
                        assert_eq!(got, expected, "{rule:?} {sort_by:?} 1/{fraction}");
                    }
                }
            }
        }
        let expected = in_memory(None, &sort);
        assert_eq!(expected.0.num_rows(), 2_000);
        assert_eq!(external(None, &sort, 3).0, expected);
        assert!(expected.0.schema().index_of(DELIVERY).is_ok());
    }

    #[test]
    fn lost_rows_leave_a_batchs_order_and_the_rest_keep_theirs() {
        let schema = Arc::new(arrow::datatypes::Schema::new(vec![Field::new(
            DELIVERY,
            DataType::UInt64,
            false,
        )]));
        let batch = RecordBatch::try_new(
            schema,
            vec![Arc::new(arrow::array::UInt64Array::from(vec![
                10, 11, 12, 13,
            ]))],
        )
        .unwrap();
        let order = UInt32Array::from(vec![2, 0, 3, 1]);
        let lost = |d: &[u64]| (d.iter().copied().collect::<Deliveries>(), 0);
        let kept = without_lost(&batch, order.clone(), &lost(&[10, 13]));
        assert_eq!(kept.values().to_vec(), vec![2, 1]);
        assert_eq!(without_lost(&batch, order.clone(), &lost(&[99])), order);
        assert!(without_lost(&batch, order, &lost(&[10, 11, 12, 13])).is_empty());
    }
}
