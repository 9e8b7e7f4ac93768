//! Folding a partition's new rows into its current rows, without sorting them again.
//!
//! The current files were written under the same rules: sorted, one row per dedup
//! key, and numbered as older deliveries than any new row. So when an hour of late
//! events adds a few thousand rows to a partition of millions, only the new rows are
//! deduplicated and sorted; the current keys are probed against them (superseded rows
//! drop out), and the new rows are merged in by binary search. The result is the same
//! as [`dedup_and_sort`] over all rows, at the cost of a copy instead of a sort.

use super::merge::{
    Merged, WRITE_ORDER, columns, dedup_and_sort, key_rows, order_converter, order_rows, replaces,
};
use crate::model::definition::DedupRule;
use arrow::array::{BooleanArray, DynComparator, RecordBatch, make_comparator};
use arrow::compute::{concat_batches, filter_record_batch};
use arrow::datatypes::SchemaRef;
use arrow::error::ArrowError;
use arrow::row::Row;
use foldhash::fast::RandomState;
use std::cmp::Ordering;
use std::collections::HashMap;

/// The rows of a fold in order, as runs of the inputs, copied out chunk by chunk.
pub struct Folded {
    schema: SchemaRef,
    /// The current batches, then the new rows (sorted, deduplicated) last.
    inputs: Vec<RecordBatch>,
    runs: Vec<Run>,
    pub rows: u64,
    pub duplicates_removed: u64,
}

/// `len` rows of input `input` from row `start`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Run {
    input: usize,
    start: usize,
    len: usize,
}

/// Folds `new` rows into `current` rows (in order, sorted by `sort_by`, one row per
/// dedup key, every one an older delivery than any new row).
pub fn fold(
    current: Vec<RecordBatch>,
    new: &RecordBatch,
    dedup: Option<&DedupRule>,
    sort_by: &[String],
) -> Result<Folded, ArrowError> {
    let Merged {
        batch: mut fresh,
        mut duplicates_removed,
    } = dedup_and_sort(new, dedup, sort_by)?;
    let mut superseded = vec![Vec::new(); current.len()];
    if let Some(rule) = dedup {
        let outcome = probe(&current, &fresh, rule)?;
        duplicates_removed += outcome.duplicates;
        fresh = outcome.without_lost(fresh)?;
        superseded = outcome.superseded;
    }
    let runs = merge_runs(&current, &fresh, &superseded, sort_by)?;
    let mut inputs = current;
    inputs.push(fresh);
    Ok(Folded {
        schema: new.schema(),
        rows: runs.iter().map(|r| r.len as u64).sum(),
        inputs,
        runs,
        duplicates_removed,
    })
}

/// Which current rows and which new rows a dedup rule drops.
pub struct Probe {
    /// Per current batch, the rows a new row replaces (ascending).
    pub superseded: Vec<Vec<usize>>,
    /// Per new row, whether a current row beats it.
    pub fresh_lost: Vec<bool>,
    pub duplicates: u64,
}

impl Probe {
    /// The probed new rows without those a current row beats.
    pub fn without_lost(&self, fresh: RecordBatch) -> Result<RecordBatch, ArrowError> {
        if !self.fresh_lost.contains(&true) {
            return Ok(fresh);
        }
        let keep: BooleanArray = self.fresh_lost.iter().map(|&l| Some(!l)).collect();
        filter_record_batch(&fresh, &keep)
    }

    /// Positions in their files of the superseded rows, when the probe looked at
    /// batches read in file order: `origins[b]` is the file of batch `b` and the
    /// position of its first row.
    pub fn superseded_by_file(&self, origins: &[(usize, u64)], files: usize) -> Vec<Vec<u64>> {
        let mut positions = vec![Vec::new(); files];
        for (&(file, first), rows) in origins.iter().zip(&self.superseded) {
            if let Some(at) = positions.get_mut(file) {
                at.extend(rows.iter().map(|&r| first + r as u64));
            }
        }
        positions
    }
}

/// Looks up every current row's key among the new rows' keys; the rule decides which
/// of each matching pair stays. Only the new keys are hashed into a table, and only
/// the key and `order_by` columns of the current rows are looked at.
pub fn probe(
    current: &[RecordBatch],
    fresh: &RecordBatch,
    rule: &DedupRule,
) -> Result<Probe, ArrowError> {
    let fresh_keys = key_rows(fresh, &rule.key)?;
    let mut by_key: HashMap<Row<'_>, usize, RandomState> =
        HashMap::with_capacity_and_hasher(fresh.num_rows(), RandomState::default());
    for (i, key) in fresh_keys.iter().enumerate() {
        by_key.insert(key, i);
    }
    let converter = order_converter(&fresh.schema(), rule)?;
    let fresh_order = order_rows(fresh, rule, converter.as_ref())?;
    let mut outcome = Probe {
        superseded: vec![Vec::new(); current.len()],
        fresh_lost: vec![false; fresh.num_rows()],
        duplicates: 0,
    };
    for (b, batch) in current.iter().enumerate() {
        let keys = key_rows(batch, &rule.key)?;
        let order = order_rows(batch, rule, converter.as_ref())?;
        for row in 0..batch.num_rows() {
            let Some(&j) = by_key.get(&keys.row(row)) else {
                continue;
            };
            let compared = match (&fresh_order, &order) {
                (Some(f), Some(c)) => Some(f.row(j).cmp(&c.row(row))),
                _ => None,
            };
            if replaces(rule, compared, true) {
                outcome.superseded[b].push(row);
            } else {
                outcome.fresh_lost[j] = true;
            }
            outcome.duplicates += 1;
        }
    }
    Ok(outcome)
}

/// Compares row `i` of one batch with row `j` of another by `sort_by`, ascending with
/// nulls last (the order [`dedup_and_sort`] writes).
fn comparator(
    left: &RecordBatch,
    right: &RecordBatch,
    sort_by: &[String],
) -> Result<impl Fn(usize, usize) -> Ordering, ArrowError> {
    let columns: Vec<DynComparator> = columns(left, sort_by)?
        .iter()
        .zip(&columns(right, sort_by)?)
        .map(|(l, r)| make_comparator(l.as_ref(), r.as_ref(), WRITE_ORDER))
        .collect::<Result<_, _>>()?;
    Ok(move |i, j| {
        columns
            .iter()
            .map(|c| c(i, j))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    })
}

/// The output order as runs: current rows in order minus the superseded ones, each
/// new row placed after every current row whose sort key is not greater (those are
/// older deliveries). Without sort keys new rows follow the current ones.
fn merge_runs(
    current: &[RecordBatch],
    fresh: &RecordBatch,
    superseded: &[Vec<usize>],
    sort_by: &[String],
) -> Result<Vec<Run>, ArrowError> {
    let fresh_input = current.len();
    let fresh_rows = fresh.num_rows();
    let mut runs = Vec::new();
    let mut next = 0;
    for (b, batch) in current.iter().enumerate() {
        let n = batch.num_rows();
        let mut gaps = superseded[b].iter().copied().peekable();
        let mut at = 0;
        if n > 0 && !sort_by.is_empty() {
            let compare = comparator(fresh, batch, sort_by)?;
            while next < fresh_rows && compare(next, n - 1) == Ordering::Less {
                // the first current row greater than the new row
                let (mut low, mut high) = (at, n - 1);
                while low < high {
                    let mid = (low + high) / 2;
                    if compare(next, mid) == Ordering::Less {
                        high = mid;
                    } else {
                        low = mid + 1;
                    }
                }
                push_current(&mut runs, b, at, low, &mut gaps);
                let mut end = next + 1;
                while end < fresh_rows && compare(end, low) == Ordering::Less {
                    end += 1;
                }
                push_run(&mut runs, fresh_input, next, end);
                (next, at) = (end, low);
            }
        }
        push_current(&mut runs, b, at, n, &mut gaps);
    }
    push_run(&mut runs, fresh_input, next, fresh_rows);
    Ok(runs)
}

/// Current rows `from..to` of batch `b`, skipping superseded ones.
fn push_current(
    runs: &mut Vec<Run>,
    b: usize,
    from: usize,
    to: usize,
    gaps: &mut std::iter::Peekable<impl Iterator<Item = usize>>,
) {
    let mut start = from;
    while let Some(gap) = gaps.next_if(|&g| g < to) {
        push_run(runs, b, start, gap);
        start = gap + 1;
    }
    push_run(runs, b, start, to);
}

fn push_run(runs: &mut Vec<Run>, input: usize, start: usize, end: usize) {
    if end > start {
        runs.push(Run {
            input,
            start,
            len: end - start,
        });
    }
}

impl Folded {
    /// The rows in order, `rows_per_chunk` at a time (a run that is one slice is
    /// handed out without a copy).
    pub fn chunks(
        self,
        rows_per_chunk: usize,
    ) -> impl Iterator<Item = Result<RecordBatch, ArrowError>> {
        let rows_per_chunk = rows_per_chunk.max(1);
        let mut runs = self.runs.into_iter().peekable();
        let mut taken = 0; // rows of the first run already handed out
        std::iter::from_fn(move || {
            let mut pieces = Vec::new();
            let mut rows = 0;
            while rows < rows_per_chunk {
                let Some(run) = runs.peek().copied() else {
                    break;
                };
                let len = (run.len - taken).min(rows_per_chunk - rows);
                pieces.push(self.inputs[run.input].slice(run.start + taken, len));
                rows += len;
                taken += len;
                if taken == run.len {
                    runs.next();
                    taken = 0;
                }
            }
            match pieces.len() {
                0 => None,
                1 => pieces.pop().map(Ok),
                _ => Some(concat_batches(&self.schema, &pieces)),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::merge::{add_delivery, sort_batches, with_delivery_field};
    use crate::model::definition::Keep;
    use arrow::array::{ArrayRef, AsArray, Float64Array, Int64Array, StringArray};
    use arrow::datatypes::{DataType, Field, Schema, UInt64Type};
    use std::sync::Arc;

    /// A small deterministic generator (xorshift), so that failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self, below: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % below
        }
    }

    /// Rows with few distinct ids (many duplicates), a user with nulls and ties, an
    /// order value with ties and nulls, and a float with NaN.
    fn rows(rng: &mut Rng, n: usize, first_delivery: u64) -> RecordBatch {
        let id = StringArray::from_iter_values((0..n).map(|_| format!("e{}", rng.next(60))));
        let user = Int64Array::from_iter((0..n).map(|_| match rng.next(12) {
            0 => None,
            v => Some(v as i64 % 5),
        }));
        let at = Int64Array::from_iter((0..n).map(|_| match rng.next(10) {
            0 => None,
            v => Some(v as i64 % 4),
        }));
        let score = Float64Array::from_iter_values((0..n).map(|_| match rng.next(9) {
            0 => f64::NAN,
            v => v as f64 - 4.0,
        }));
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("user", DataType::Int64, true),
            Field::new("at", DataType::Int64, true),
            Field::new("score", DataType::Float64, false),
        ]));
        let columns: Vec<ArrayRef> =
            vec![Arc::new(id), Arc::new(user), Arc::new(at), Arc::new(score)];
        let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
        add_delivery(&batch, &with_delivery_field(&schema), first_delivery).unwrap()
    }

    fn deliveries(batch: &RecordBatch) -> Vec<u64> {
        batch
            .column(batch.num_columns() - 1)
            .as_primitive::<UInt64Type>()
            .values()
            .to_vec()
    }

    /// Current rows as compaction leaves them: deduplicated, sorted, split into
    /// batches, renumbered by position (as `read_current` does).
    fn current_rows(
        rng: &mut Rng,
        rule: Option<&DedupRule>,
        sort_by: &[String],
    ) -> Vec<RecordBatch> {
        let written = dedup_and_sort(&rows(rng, 300, 0), rule, sort_by)
            .unwrap()
            .batch;
        let mut plain = written.clone();
        plain.remove_column(plain.num_columns() - 1);
        let renumbered = add_delivery(&plain, &written.schema(), 0).unwrap();
        let mut batches = Vec::new();
        let mut start = 0;
        while start < renumbered.num_rows() {
            let len = (1 + rng.next(70) as usize).min(renumbered.num_rows() - start);
            batches.push(renumbered.slice(start, len));
            start += len;
        }
        batches.insert(1, renumbered.slice(0, 0));
        batches
    }

    #[test]
    fn folding_and_sorting_in_place_equal_deduplicating_and_sorting_everything() {
        let rules = [
            None,
            Some((Keep::Latest, Some("at"))),
            Some((Keep::First, Some("at"))),
            Some((Keep::Latest, None)),
            Some((Keep::First, None)),
        ];
        let sorts: [&[&str]; 4] = [&[], &["user"], &["user", "at"], &["score", "user"]];
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut compared = 0;
        for rule in rules {
            let rule = rule.map(|(keep, order_by)| DedupRule {
                key: vec!["id".into()],
                keep,
                order_by: order_by.map(str::to_string),
            });
            for sort in sorts {
                let sort_by: Vec<String> = sort.iter().map(|s| s.to_string()).collect();
                for _ in 0..4 {
                    let current = current_rows(&mut rng, rule.as_ref(), &sort_by);
                    let count = 1 + rng.next(90) as usize;
                    let new = rows(&mut rng, count, 1 << 40);
                    let mut all = current.clone();
                    all.push(new.clone());
                    let everything = concat_batches(&new.schema(), &all).unwrap();
                    let expected = dedup_and_sort(&everything, rule.as_ref(), &sort_by).unwrap();

                    // sorting the batches where they lie gives the same rows, too
                    let sorted = sort_batches(all.clone(), rule.as_ref(), &sort_by).unwrap();
                    assert_eq!(sorted.duplicates_removed, expected.duplicates_removed);
                    let chunks: Vec<_> = sorted.chunks(7).collect::<Result<_, _>>().unwrap();
                    let got = concat_batches(&new.schema(), &chunks).unwrap();
                    assert_eq!(deliveries(&got), deliveries(&expected.batch));

                    let folded = fold(current, &new, rule.as_ref(), &sort_by).unwrap();
                    assert_eq!(folded.duplicates_removed, expected.duplicates_removed);
                    assert_eq!(folded.rows, expected.batch.num_rows() as u64);
                    let chunk = 1 + rng.next(40) as usize;
                    let chunks: Vec<_> = folded.chunks(chunk).collect::<Result<_, _>>().unwrap();
                    assert!(chunks.iter().all(|c| c.num_rows() <= chunk));
                    let got = concat_batches(&new.schema(), &chunks).unwrap();
                    assert_eq!(
                        deliveries(&got),
                        deliveries(&expected.batch),
                        "rule {rule:?}, sort {sort_by:?}"
                    );
                    compared += 1;
                }
            }
        }
        assert_eq!(compared, 80);
    }

    #[test]
    fn superseded_rows_are_placed_by_file_and_offset() {
        let probe = Probe {
            superseded: vec![vec![1, 4], vec![0], vec![], vec![2]],
            fresh_lost: Vec::new(),
            duplicates: 0,
        };
        let origins = [(0, 0), (0, 5), (1, 0), (1, 3)];
        assert_eq!(
            probe.superseded_by_file(&origins, 3),
            vec![vec![1, 4, 5], vec![5], vec![]]
        );
    }

    #[test]
    fn superseded_current_rows_drop_out_and_beaten_new_rows_never_appear() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("at", DataType::Int64, false),
        ]));
        let flow = with_delivery_field(&schema);
        let batch = |ids: &[&str], at: &[i64], first: u64| {
            let b = RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(StringArray::from(ids.to_vec())) as ArrayRef,
                    Arc::new(Int64Array::from(at.to_vec())),
                ],
            )
            .unwrap();
            add_delivery(&b, &flow, first).unwrap()
        };
        let current = vec![batch(&["a", "b", "c"], &[1, 5, 3], 0)];
        // a is replaced (2 > 1), b stays (4 < 5), d is new
        let new = batch(&["b", "a", "d"], &[4, 2, 0], 1 << 40);
        let rule = DedupRule {
            key: vec!["id".into()],
            keep: Keep::Latest,
            order_by: Some("at".into()),
        };
        let folded = fold(current, &new, Some(&rule), &["id".to_string()]).unwrap();
        assert_eq!(folded.duplicates_removed, 2);
        let out: Vec<_> = folded.chunks(2).collect::<Result<_, _>>().unwrap();
        let out = concat_batches(&flow, &out).unwrap();
        let ids = out.column(0).as_string::<i32>();
        let at = out.column(1).as_primitive::<arrow::datatypes::Int64Type>();
        let pairs: Vec<(&str, i64)> = (0..out.num_rows())
            .map(|i| (ids.value(i), at.value(i)))
            .collect();
        assert_eq!(pairs, vec![("a", 2), ("b", 5), ("c", 3), ("d", 0)]);
    }
}
