//! Deduplication and sorting of one partition's rows. Pure CPU over Arrow.
//!
//! Rows may arrive in any order (source files are read in parallel, and some rows
//! come back from spill files), so each carries its delivery order in the hidden
//! [`DELIVERY`] column: the partition's current rows first, then new rows by source
//! file in delivery order and row within the file. Ties in dedup go to the later
//! delivery, and rows with equal sort keys keep delivery order, so the result does
//! not depend on how the rows were gathered.

use crate::model::definition::{DedupRule, Keep};
use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, UInt32Array, UInt64Array};
use arrow::compute::{SortOptions, interleave_record_batch, take_record_batch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, UInt64Type};
use arrow::error::ArrowError;
use arrow::row::{RowConverter, Rows, SortField};
use foldhash::fast::RandomState;
use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::Arc;

/// The hidden column that orders deliveries; never written to a data file.
pub const DELIVERY: &str = "__laketidy_delivery";

/// Delivery numbers of new rows sort after every current row.
const NEW_ROWS: u64 = 1 << 63;

/// The delivery number of row `row` of a partition's current file `file` (in order).
pub fn current_delivery(file: usize, row: u64) -> u64 {
    ((file as u64) << 32) | row
}

/// The delivery number of row `row` of the source file at `ordinal` in delivery order.
pub fn new_delivery(ordinal: usize, row: u64) -> u64 {
    NEW_ROWS | ((ordinal as u64) << 32) | row
}

/// `schema` with the delivery column appended.
pub fn with_delivery_field(schema: &Schema) -> SchemaRef {
    with_field(schema, Field::new(DELIVERY, DataType::UInt64, false))
}

/// `schema` with `field` appended: a column that travels with the rows between
/// steps (see [`with_column`]).
pub fn with_field(schema: &Schema, field: Field) -> SchemaRef {
    let mut fields: Vec<_> = schema.fields().iter().cloned().collect();
    fields.push(Arc::new(field));
    Arc::new(Schema::new(fields))
}

/// `batch` with `column` appended (`schema` is the batch's with [`with_field`]).
pub fn with_column(
    batch: &RecordBatch,
    schema: &SchemaRef,
    column: ArrayRef,
) -> Result<RecordBatch, ArrowError> {
    let mut columns = batch.columns().to_vec();
    columns.push(column);
    RecordBatch::try_new(schema.clone(), columns)
}

/// Appends delivery numbers `first, first + 1, …` to `batch` (conformed to `schema`
/// without the column, `schema` with it).
pub fn add_delivery(
    batch: &RecordBatch,
    schema: &SchemaRef,
    first: u64,
) -> Result<RecordBatch, ArrowError> {
    let n = batch.num_rows() as u64;
    add_deliveries(
        batch,
        schema,
        UInt64Array::from_iter_values(first..first + n),
    )
}

/// Appends the given delivery numbers, one per row.
pub fn add_deliveries(
    batch: &RecordBatch,
    schema: &SchemaRef,
    numbers: UInt64Array,
) -> Result<RecordBatch, ArrowError> {
    with_column(batch, schema, Arc::new(numbers))
}

/// `batch` without the delivery column, ready to be written.
pub fn without_delivery(batch: &RecordBatch) -> RecordBatch {
    match batch.schema().index_of(DELIVERY) {
        Ok(i) => {
            let mut b = batch.clone();
            b.remove_column(i);
            b
        }
        Err(_) => batch.clone(),
    }
}

/// Delivery numbers: the column if present, else the row index.
pub fn deliveries(batch: &RecordBatch) -> Cow<'_, [u64]> {
    match batch.column_by_name(DELIVERY) {
        Some(c) => Cow::Borrowed(c.as_primitive::<UInt64Type>().values().as_ref()),
        None => Cow::Owned((0..batch.num_rows() as u64).collect()),
    }
}

#[derive(Debug)]
pub struct Merged {
    pub batch: RecordBatch,
    pub duplicates_removed: u64,
}

/// Sort keys as comparable rows, if there are any.
fn sort_rows(batch: &RecordBatch, sort_by: &[String]) -> Result<Option<Rows>, ArrowError> {
    let sort_columns = columns(batch, sort_by)?;
    if sort_columns.is_empty() {
        return Ok(None);
    }
    Ok(Some(
        ascending_converter(&sort_columns)?.convert_columns(&sort_columns)?,
    ))
}

/// The columns of the merge order, in order.
pub fn merge_columns(batch: &RecordBatch, sort_by: &[String]) -> Result<Vec<ArrayRef>, ArrowError> {
    let mut keys = columns(batch, sort_by)?;
    keys.push(match batch.column_by_name(DELIVERY) {
        Some(c) => c.clone(),
        None => Arc::new(UInt64Array::from(deliveries(batch).into_owned())),
    });
    Ok(keys)
}

/// A converter to the order laketidy writes: ascending, nulls last. Rows compare
/// only within one converter.
pub fn ascending_converter(keys: &[ArrayRef]) -> Result<RowConverter, ArrowError> {
    RowConverter::new(
        keys.iter()
            .map(|c| ascending_nulls_last(c.data_type()))
            .collect(),
    )
}

/// The order laketidy writes rows in: ascending, nulls last.
pub const WRITE_ORDER: SortOptions = SortOptions {
    descending: false,
    nulls_first: false,
};

fn ascending_nulls_last(t: &DataType) -> SortField {
    SortField::new_with_options(t.clone(), WRITE_ORDER)
}

/// The first row that sorts after the row following it, if any.
pub fn first_unsorted_row(
    batch: &RecordBatch,
    sort_by: &[String],
) -> Result<Option<usize>, ArrowError> {
    let Some(rows) = sort_rows(batch, sort_by)? else {
        return Ok(None);
    };
    Ok((1..batch.num_rows())
        .find(|&i| rows.row(i - 1) > rows.row(i))
        .map(|i| i - 1))
}

/// Keeps one row per dedup key (if a rule is given), then orders rows by `sort_by`
/// ascending with nulls last; equal sort keys keep delivery order. The delivery
/// column, if any, is kept (a caller merging sorted runs still needs it).
pub fn dedup_and_sort(
    batch: &RecordBatch,
    dedup: Option<&DedupRule>,
    sort_by: &[String],
) -> Result<Merged, ArrowError> {
    let sorted = sort_batches(vec![batch.clone()], dedup, sort_by)?;
    let duplicates_removed = sorted.duplicates_removed;
    let unchanged = sorted.order.len() == batch.num_rows()
        && sorted
            .order
            .iter()
            .enumerate()
            .all(|(i, &(_, row))| i as u32 == row);
    let batch = if unchanged {
        batch.clone()
    } else {
        let rows = UInt32Array::from_iter_values(sorted.order.iter().map(|&(_, row)| row));
        take_record_batch(batch, &rows)?
    };
    Ok(Merged {
        batch,
        duplicates_removed,
    })
}

/// A partition's rows deduplicated and sorted where they lie: the order is a list of
/// (batch, row), and rows are copied out a chunk at a time, so that the partition is
/// held about once, not concatenated and then taken again.
pub struct SortedBatches {
    batches: Vec<RecordBatch>,
    order: Vec<(u32, u32)>,
    pub duplicates_removed: u64,
}

/// [`dedup_and_sort`] over several batches of one schema.
pub fn sort_batches(
    batches: Vec<RecordBatch>,
    dedup: Option<&DedupRule>,
    sort_by: &[String],
) -> Result<SortedBatches, ArrowError> {
    let batches: Vec<RecordBatch> = batches.into_iter().filter(|b| b.num_rows() > 0).collect();
    let total: usize = batches.iter().map(|b| b.num_rows()).sum();
    let order: Vec<(u32, u32)> = match dedup {
        Some(rule) => {
            let delivery: Vec<Cow<'_, [u64]>> = batches.iter().map(deliveries).collect();
            dedup_pairs(&batches, rule, &delivery)?
        }
        None => batches
            .iter()
            .enumerate()
            .flat_map(|(b, batch)| (0..batch.num_rows() as u32).map(move |r| (b as u32, r)))
            .collect(),
    };
    let mut sorted = sort_rows_of(batches, order, sort_by)?;
    sorted.duplicates_removed = (total - sorted.order.len()) as u64;
    Ok(sorted)
}

/// Sorts the rows `order` names, as (batch, row) of `batches`, by `sort_by` then
/// delivery (none counted as duplicates).
pub fn sort_rows_of(
    batches: Vec<RecordBatch>,
    mut order: Vec<(u32, u32)>,
    sort_by: &[String],
) -> Result<SortedBatches, ArrowError> {
    if sort_by.is_empty() {
        let delivery: Vec<Cow<'_, [u64]>> = batches.iter().map(deliveries).collect();
        order.sort_unstable_by_key(|&(b, r)| delivery[b as usize][r as usize]);
    } else if let Some(first) = batches.first() {
        let converter = ascending_converter(&merge_columns(first, sort_by)?)?;
        let rows = batches
            .iter()
            .map(|b| converter.convert_columns(&merge_columns(b, sort_by)?))
            .collect::<Result<Vec<Rows>, _>>()?;
        order = sorted_by_rows(order, &rows);
    }
    Ok(SortedBatches {
        batches,
        order,
        duplicates_removed: 0,
    })
}

/// `order` sorted by the rows it names. Each pair first gets the first 16 bytes of
/// its row as two integers, and pairs compare those: most comparisons then read
/// one array front to back instead of two rows anywhere in memory (the rows are
/// read only where the first 16 bytes tie, as with equal leading sort keys).
fn sorted_by_rows(order: Vec<(u32, u32)>, rows: &[Rows]) -> Vec<(u32, u32)> {
    let row = |b: u32, r: u32| rows[b as usize].row(r as usize);
    let mut keyed: Vec<(u64, u64, u32, u32)> = order
        .into_iter()
        .map(|(b, r)| {
            let (high, low) = leading_bytes(row(b, r).data());
            (high, low, b, r)
        })
        .collect();
    keyed.sort_unstable_by(|x, y| {
        (x.0, x.1)
            .cmp(&(y.0, y.1))
            .then_with(|| row(x.2, x.3).cmp(&row(y.2, y.3)))
    });
    keyed.into_iter().map(|(_, _, b, r)| (b, r)).collect()
}

/// The first 16 bytes of a row (zero-padded) as big-endian integers: they order
/// as the bytes do, and a shorter row padded ties (never passes) a longer one it
/// begins, so ties fall back to comparing rows whole.
pub fn leading_bytes(data: &[u8]) -> (u64, u64) {
    let mut first = [0u8; 16];
    let n = data.len().min(16);
    first[..n].copy_from_slice(&data[..n]);
    let (high, low) = first.split_at(8);
    let word = |b: &[u8]| u64::from_be_bytes(b.try_into().unwrap_or_default());
    (word(high), word(low))
}

impl SortedBatches {
    pub fn rows(&self) -> u64 {
        self.order.len() as u64
    }

    /// The rows in order, `rows_per_chunk` at a time.
    ///
    /// Sorted rows lie all over the batches, and copying them out in order would
    /// read memory at random. So each chunk's rows are first copied in the order
    /// they lie (reads that only move forward), then put in order within the chunk,
    /// which is small enough to stay in cache.
    pub fn chunks(
        self,
        rows_per_chunk: usize,
    ) -> impl Iterator<Item = Result<RecordBatch, ArrowError>> {
        self.lying_chunks(rows_per_chunk)
            .map(|chunk| chunk.and_then(|(rows, order)| take_record_batch(&rows, &order)))
    }

    /// The first step of [`SortedBatches::chunks`] alone: each chunk's rows in the
    /// order they lie, and the chunk's order (its k-th row in sort order is row
    /// `order[k]`). For a reader that can follow the order itself, such as a merge,
    /// which saves copying every row once more.
    pub fn lying_chunks(
        self,
        rows_per_chunk: usize,
    ) -> impl Iterator<Item = Result<(RecordBatch, UInt32Array), ArrowError>> {
        let SortedBatches { batches, order, .. } = self;
        let per_chunk = rows_per_chunk.max(1);
        let by_chunk = rows_by_chunk(&batches, &order, per_chunk);
        let mut next = 0;
        std::iter::from_fn(move || {
            if next >= order.len() {
                return None;
            }
            let end = (next + per_chunk).min(order.len());
            let lying = &by_chunk[next..end];
            next = end;
            let refs: Vec<&RecordBatch> = batches.iter().collect();
            let indices: Vec<(usize, usize)> = lying
                .iter()
                .map(|&(b, r, _)| (b as usize, r as usize))
                .collect();
            let mut place = vec![0u32; lying.len()];
            for (k, &(_, _, at)) in lying.iter().enumerate() {
                place[at as usize] = k as u32;
            }
            Some(
                interleave_record_batch(&refs, &indices)
                    .map(|rows| (rows, UInt32Array::from(place))),
            )
        })
    }
}

/// For each chunk of `per_chunk` rows of `order`, in turn, its rows in the order they
/// lie in `batches`: (batch, row, place within the chunk). A counting sort: the rows
/// are visited once, in the order they lie.
fn rows_by_chunk(
    batches: &[RecordBatch],
    order: &[(u32, u32)],
    per_chunk: usize,
) -> Vec<(u32, u32, u32)> {
    let mut first_row = Vec::with_capacity(batches.len() + 1);
    first_row.push(0usize);
    for b in batches {
        first_row.push(first_row[first_row.len() - 1] + b.num_rows());
    }
    const DROPPED: u32 = u32::MAX;
    let mut place = vec![DROPPED; first_row[batches.len()]];
    for (at, &(b, r)) in order.iter().enumerate() {
        place[first_row[b as usize] + r as usize] = at as u32;
    }
    let mut next_of_chunk: Vec<usize> = (0..order.len().div_ceil(per_chunk))
        .map(|c| c * per_chunk)
        .collect();
    let mut out = vec![(0u32, 0u32, 0u32); order.len()];
    for (b, batch) in batches.iter().enumerate() {
        for r in 0..batch.num_rows() {
            let at = place[first_row[b] + r];
            if at == DROPPED {
                continue;
            }
            let chunk = at as usize / per_chunk;
            out[next_of_chunk[chunk]] = (b as u32, r as u32, (at as usize % per_chunk) as u32);
            next_of_chunk[chunk] += 1;
        }
    }
    out
}

/// The dedup key of every row as bytes: equal keys, equal bytes, in any batch of
/// the same schema.
pub fn key_rows(batch: &RecordBatch, key: &[String]) -> Result<Rows, ArrowError> {
    let key_columns = columns(batch, key)?;
    let key_fields = key_columns
        .iter()
        .map(|c| SortField::new(c.data_type().clone()))
        .collect();
    RowConverter::new(key_fields)?.convert_columns(&key_columns)
}

/// The (batch, row) pairs the rule keeps.
pub fn dedup_pairs(
    batches: &[RecordBatch],
    rule: &DedupRule,
    delivery: &[Cow<'_, [u64]>],
) -> Result<Vec<(u32, u32)>, ArrowError> {
    let Some(first) = batches.first() else {
        return Ok(Vec::new());
    };
    let keys = batches
        .iter()
        .map(|b| key_rows(b, &rule.key))
        .collect::<Result<Vec<Rows>, _>>()?;
    let converter = order_converter(&first.schema(), rule)?;
    let order = batches
        .iter()
        .map(|b| order_rows(b, rule, converter.as_ref()))
        .collect::<Result<Vec<Option<Rows>>, _>>()?;
    let total = batches.iter().map(|b| b.num_rows()).sum();
    let mut best: HashMap<arrow::row::Row<'_>, (u32, u32), RandomState> =
        HashMap::with_capacity_and_hasher(total, RandomState::default());
    for (b, batch_keys) in keys.iter().enumerate() {
        for r in 0..batch_keys.num_rows() {
            match best.entry(batch_keys.row(r)) {
                Entry::Vacant(slot) => {
                    slot.insert((b as u32, r as u32));
                }
                Entry::Occupied(mut slot) => {
                    let (hb, hr) = *slot.get();
                    let (hb, hr) = (hb as usize, hr as usize);
                    let compared = match (&order[b], &order[hb]) {
                        (Some(mine), Some(held)) => Some(mine.row(r).cmp(&held.row(hr))),
                        _ => None,
                    };
                    if replaces(rule, compared, delivery[b][r] > delivery[hb][hr]) {
                        slot.insert((b as u32, r as u32));
                    }
                }
            }
        }
    }
    Ok(best.into_values().collect())
}

/// The rule's `order_by` values as rows of `converter` (from [`order_converter`]),
/// so that any orderable type compares; nulls always lose.
pub fn order_rows(
    batch: &RecordBatch,
    rule: &DedupRule,
    converter: Option<&RowConverter>,
) -> Result<Option<Rows>, ArrowError> {
    match (&rule.order_by, converter) {
        (Some(column), Some(converter)) => {
            let column = columns(batch, std::slice::from_ref(column))?;
            Ok(Some(converter.convert_columns(&column)?))
        }
        _ => Ok(None),
    }
}

/// A converter for the rule's `order_by` values in `schema`, if it has `order_by`.
/// Rows compare only with rows of the same converter.
pub fn order_converter(
    schema: &Schema,
    rule: &DedupRule,
) -> Result<Option<RowConverter>, ArrowError> {
    let Some(column) = &rule.order_by else {
        return Ok(None);
    };
    let options = SortOptions {
        descending: false,
        nulls_first: rule.keep == Keep::Latest,
    };
    let data_type = schema.field_with_name(column)?.data_type().clone();
    Ok(Some(RowConverter::new(vec![SortField::new_with_options(
        data_type, options,
    )])?))
}

/// Whether a delivery replaces another one of the same key under `rule`. `order`
/// compares the challenger's `order_by` value with the holder's (`None` without
/// `order_by`); with equal values the later delivery wins.
pub fn replaces(rule: &DedupRule, order: Option<Ordering>, challenger_is_later: bool) -> bool {
    match (order, rule.keep) {
        (None, Keep::Latest) | (Some(Ordering::Equal), _) => challenger_is_later,
        (None, Keep::First) => !challenger_is_later,
        (Some(Ordering::Greater), keep) => keep == Keep::Latest,
        (Some(Ordering::Less), keep) => keep == Keep::First,
    }
}

/// The named columns of `batch`, in order.
pub fn columns(batch: &RecordBatch, names: &[String]) -> Result<Vec<ArrayRef>, ArrowError> {
    names
        .iter()
        .map(|n| {
            batch
                .column_by_name(n)
                .cloned()
                .ok_or_else(|| ArrowError::SchemaError(format!("column {n:?} is not in the data")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, Int64Array, StringArray};
    use arrow::datatypes::Int64Type;
    use std::sync::Arc;

    fn batch(ids: &[&str], order: &[Option<i64>], user: &[i64]) -> RecordBatch {
        RecordBatch::try_from_iter(vec![
            ("id", Arc::new(StringArray::from(ids.to_vec())) as ArrayRef),
            ("at", Arc::new(Int64Array::from(order.to_vec())) as ArrayRef),
            (
                "user",
                Arc::new(Int64Array::from(user.to_vec())) as ArrayRef,
            ),
            (
                "seq",
                Arc::new(Int64Array::from((0..ids.len() as i64).collect::<Vec<_>>())) as ArrayRef,
            ),
        ])
        .unwrap()
    }

    fn rule(keep: Keep, order_by: Option<&str>) -> DedupRule {
        DedupRule {
            key: vec!["id".into()],
            keep,
            order_by: order_by.map(str::to_string),
        }
    }

    fn seqs(m: &Merged) -> Vec<i64> {
        m.batch
            .column_by_name("seq")
            .unwrap()
            .as_primitive::<Int64Type>()
            .values()
            .to_vec()
    }

    #[test]
    fn latest_keeps_the_greatest_order_value_and_ties_go_to_the_later_delivery() {
        // a: 5 then 3 → keep seq 0; b: 7, 7 → later (seq 3); c: null then 1 → seq 5
        let b = batch(
            &["a", "a", "b", "b", "c", "c"],
            &[Some(5), Some(3), Some(7), Some(7), None, Some(1)],
            &[0; 6],
        );
        let m = dedup_and_sort(&b, Some(&rule(Keep::Latest, Some("at"))), &[]).unwrap();
        assert_eq!(seqs(&m), vec![0, 3, 5]);
        assert_eq!(m.duplicates_removed, 3);
    }

    #[test]
    fn first_keeps_the_smallest_and_nulls_still_lose() {
        let b = batch(
            &["a", "a", "b", "b", "c", "c"],
            &[Some(5), Some(3), Some(7), Some(7), None, Some(1)],
            &[0; 6],
        );
        let m = dedup_and_sort(&b, Some(&rule(Keep::First, Some("at"))), &[]).unwrap();
        assert_eq!(seqs(&m), vec![1, 3, 5]);
    }

    #[test]
    fn without_order_by_delivery_order_decides() {
        let b = batch(&["a", "b", "a"], &[None, None, None], &[0; 3]);
        assert_eq!(
            seqs(&dedup_and_sort(&b, Some(&rule(Keep::Latest, None)), &[]).unwrap()),
            vec![1, 2]
        );
        assert_eq!(
            seqs(&dedup_and_sort(&b, Some(&rule(Keep::First, None)), &[]).unwrap()),
            vec![0, 1]
        );
    }

    #[test]
    fn sort_is_stable_with_nulls_last() {
        let b = RecordBatch::try_from_iter(vec![
            (
                "k",
                Arc::new(Int64Array::from(vec![Some(2), None, Some(1), Some(2)])) as ArrayRef,
            ),
            (
                "seq",
                Arc::new(Int64Array::from(vec![0, 1, 2, 3])) as ArrayRef,
            ),
        ])
        .unwrap();
        let m = dedup_and_sort(&b, None, &["k".to_string()]).unwrap();
        assert_eq!(seqs(&m), vec![2, 0, 3, 1]);
    }

    #[test]
    fn first_unsorted_row_finds_the_break() {
        let b = batch(
            &["a", "b", "c", "d"],
            &[Some(1), Some(2), Some(1), None],
            &[0; 4],
        );
        assert_eq!(
            first_unsorted_row(&b, &["at".to_string()]).unwrap(),
            Some(1)
        );
        let sorted = dedup_and_sort(&b, None, &["at".to_string()]).unwrap().batch;
        assert_eq!(
            first_unsorted_row(&sorted, &["at".to_string()]).unwrap(),
            None,
            "nulls last is sorted"
        );
    }

    #[test]
    fn multi_column_sort_keys() {
        let b = batch(
            &["x", "y", "z", "w"],
            &[Some(2), Some(1), Some(1), Some(0)],
            &[1, 1, 0, 1],
        );
        let m = dedup_and_sort(&b, None, &["user".to_string(), "at".to_string()]).unwrap();
        assert_eq!(seqs(&m), vec![2, 3, 1, 0]);
    }

    #[test]
    fn chunks_give_the_sorted_rows_in_order_across_batches_whatever_the_chunk_size() {
        // three batches; copies of ids across them, so some rows are dropped
        let ids = ["a", "b", "c", "a", "d", "e", "b", "f", "g", "h", "c", "i"];
        let users = [5, 3, 9, 1, 3, 7, 2, 8, 0, 6, 4, 3];
        let plain = batch(&ids, &[Some(1); 12], &users);
        let whole = add_delivery(&plain, &with_delivery_field(&plain.schema()), 0).unwrap();
        let parts: Vec<RecordBatch> = [(0, 5), (5, 3), (8, 4)]
            .iter()
            .map(|&(at, n)| whole.slice(at, n))
            .collect();
        let sort_by = ["user".to_string()];
        let rule = rule(Keep::Latest, None);
        let expected = dedup_and_sort(&whole, Some(&rule), &sort_by).unwrap();
        assert_eq!(expected.batch.num_rows(), 9);
        for per_chunk in [1, 2, 4, 9, 100] {
            let sorted = sort_batches(parts.clone(), Some(&rule), &sort_by).unwrap();
            let chunks: Vec<RecordBatch> =
                sorted.chunks(per_chunk).collect::<Result<_, _>>().unwrap();
            assert!(chunks.iter().all(|c| c.num_rows() <= per_chunk));
            let got = arrow::compute::concat_batches(&whole.schema(), &chunks).unwrap();
            assert_eq!(got, expected.batch, "{per_chunk} rows a chunk");
        }
    }

    #[test]
    fn rows_that_share_their_first_sixteen_bytes_sort_as_their_values_do() {
        // long common prefixes tie the leading bytes the sort compares first; short
        // and empty names and nulls end inside them; equal names fall to `n`, then
        // to the delivery
        let prefix = "tenant-0000000000000000/";
        let names = [
            None,
            Some(String::new()),
            Some("t".to_string()),
            Some(prefix.to_string()),
            Some(format!("{prefix}a")),
            Some(format!("{prefix}ab")),
            Some(format!("{prefix}b")),
            Some(format!("{prefix}\u{0}")),
            Some(prefix[..15].to_string()),
            Some(prefix[..16].to_string()),
        ];
        let mut seed = 7u64;
        let mut next = move |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        let mut delivery = 0u64;
        let mut expected = Vec::new();
        let batches: Vec<RecordBatch> = [40usize, 1, 70]
            .into_iter()
            .map(|len| {
                let rows: Vec<(Option<String>, i64, u64)> = (0..len)
                    .map(|_| {
                        delivery += 1;
                        let name = names[next(names.len() as u64) as usize].clone();
                        (name, next(3) as i64 - 1, 1_000 - delivery)
                    })
                    .collect();
                expected.extend(rows.iter().cloned());
                RecordBatch::try_from_iter(vec![
                    (
                        "name",
                        Arc::new(StringArray::from_iter(rows.iter().map(|r| r.0.clone())))
                            as ArrayRef,
                    ),
                    (
                        "n",
                        Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.1))),
                    ),
                    (
                        DELIVERY,
                        Arc::new(UInt64Array::from_iter_values(rows.iter().map(|r| r.2))),
                    ),
                ])
                .unwrap()
            })
            .collect();
        expected
            .sort_by(|a, b| (a.0.is_none(), &a.0, a.1, a.2).cmp(&(b.0.is_none(), &b.0, b.1, b.2)));
        let order: Vec<(u32, u32)> = batches
            .iter()
            .enumerate()
            .flat_map(|(b, batch)| (0..batch.num_rows() as u32).map(move |r| (b as u32, r)))
            .collect();
        let sorted = sort_rows_of(batches, order, &["name".to_string(), "n".to_string()]).unwrap();
        let mut got = Vec::new();
        for chunk in sorted.chunks(16) {
            let chunk = chunk.unwrap();
            let name = chunk.column(0).as_string::<i32>();
            let n = chunk.column(1).as_primitive::<Int64Type>();
            let d = chunk.column(2).as_primitive::<UInt64Type>();
            got.extend((0..chunk.num_rows()).map(|i| {
                let name = name.is_valid(i).then(|| name.value(i).to_string());
                (name, n.value(i), d.value(i))
            }));
        }
        assert_eq!(got, expected);
    }
}
