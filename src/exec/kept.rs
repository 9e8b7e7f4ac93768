//! Deduplication across sorted runs, holding keys but not rows.
//!
//! A partition too large for memory is cut into pieces in the order its rows come;
//! each piece is sorted alone and spilled as a run. Every key kept so far is
//! remembered here with its row's `order_by` value and delivery number, whichever
//! piece it came from: a row that loses to one seen before is dropped before its run
//! is written, and a row seen before that loses to a later one is named in
//! [`KeptKeys::lost`], for the merge to drop. Each decision is the one
//! [`dedup_and_sort`](super::merge::dedup_and_sort) makes for rows held together,
//! and as it compares delivery numbers, not positions, the rows may come in any order.
//!
//! Keys are held as bytes in one arena (a key of one string column as its bytes,
//! any other key in Arrow's row format), with a slot each in one of 64 hash tables.

use super::merge::{columns, deliveries, key_rows, order_converter, order_rows, replaces};
use crate::model::definition::DedupRule;
use arrow::array::{Array, ArrayRef, AsArray, GenericBinaryArray, RecordBatch};
use arrow::datatypes::{DataType, Schema};
use arrow::error::ArrowError;
use arrow::row::RowConverter;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use std::collections::HashSet;
use std::hash::BuildHasher;

/// Delivery numbers, looked up once per merged row: hashed with foldhash, not SipHash.
pub type Deliveries = HashSet<u64, foldhash::fast::RandomState>;

/// Hash tables the keys are spread over, by bits of their hash.
const TABLES: usize = 64;

/// A key's table, from bits that hashbrown leaves alone: it takes a slot from the
/// low bits and a tag from the top seven, and keys of one table sharing those bits
/// would crowd together or all carry one tag (every probe then compares keys).
fn table_of(hash: u64) -> usize {
    (hash >> 40) as usize % TABLES
}

/// Bytes one table takes for `rows` keys: hashbrown keeps a power of two of slots,
/// at most 7/8 full, each with a control byte.
fn table_bytes(rows: u64) -> u64 {
    let slots = (rows.saturating_mul(8) / 7).max(1).next_power_of_two();
    slots * (std::mem::size_of::<Slot>() as u64 + 1)
}

/// What remembering a partition's keys will take.
#[derive(Clone, Copy, Debug)]
pub struct KeysEstimate {
    /// Key and `order_by` bytes of every row.
    pub arena: u64,
    /// The hash tables, sized once for every row.
    pub table: u64,
}

impl KeysEstimate {
    pub fn total(&self) -> u64 {
        self.arena + self.table
    }
}

pub struct KeptKeys {
    rule: DedupRule,
    order: Option<RowConverter>,
    /// A key of one string or binary column is its bytes; others go through Arrow's
    /// row format (exact for every type, but longer).
    raw_key: bool,
    hasher: foldhash::fast::FixedState,
    /// Slots by the top bits of their hash: small tables stay in cache.
    tables: Vec<HashTable<Slot>>,
    /// Key bytes then `order_by` bytes of every kept row, one after another.
    arena: Vec<u8>,
    /// Deliveries of rows in runs already written that a later row beat.
    pub lost: Deliveries,
}

/// A row of a piece to look up, with its key's hash.
#[derive(Clone, Copy, Default)]
struct Visit {
    hash: u64,
    batch: u32,
    row: u32,
}

/// Slots of a hashbrown table that holds `capacity` keys (a power of two, 7/8 of
/// them usable once there are more than eight).
fn slots(capacity: usize) -> usize {
    if capacity < 8 {
        (capacity + 1).next_power_of_two()
    } else {
        (capacity * 8 / 7).next_power_of_two()
    }
}

struct Slot {
    at: usize,
    key_len: u32,
    order_len: u32,
    delivery: u64,
}

impl KeptKeys {
    pub fn new(schema: &Schema, rule: &DedupRule) -> Result<Self, ArrowError> {
        let raw_key = match rule.key.as_slice() {
            [only] => matches!(
                schema.field_with_name(only)?.data_type(),
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Binary | DataType::LargeBinary
            ),
            _ => false,
        };
        Ok(KeptKeys {
            rule: rule.clone(),
            order: order_converter(schema, rule)?,
            raw_key,
            hasher: foldhash::fast::FixedState::default(),
            tables: (0..TABLES).map(|_| HashTable::new()).collect(),
            arena: Vec::new(),
            lost: Deliveries::default(),
        })
    }

    /// About what remembering the keys of `rows` rows like those of `sample` costs.
    pub fn estimate(&self, sample: &RecordBatch, rows: u64) -> Result<KeysEstimate, ArrowError> {
        let n = sample.num_rows().max(1) as u64;
        let keys = self.key_bytes(sample)?;
        let mut bytes: u64 = (0..sample.num_rows())
            .map(|r| keys.get(r).1.len() as u64 + 1)
            .sum();
        if let Some(order) = order_rows(sample, &self.rule, self.order.as_ref())? {
            bytes += order
                .iter()
                .map(|row| row.as_ref().len() as u64)
                .sum::<u64>();
        }
        Ok(KeysEstimate {
            arena: rows * bytes.div_ceil(n),
            table: TABLES as u64 * table_bytes(rows.div_ceil(TABLES as u64)),
        })
    }

    /// Bytes held now.
    pub fn memory(&self) -> usize {
        self.arena.capacity()
            + self
                .tables
                .iter()
                .map(|t| table_bytes(t.capacity() as u64) as usize)
                .sum::<usize>()
            + self.lost.capacity() * (std::mem::size_of::<u64>() + 1)
    }

    /// Takes the rows of one piece and returns, as (batch, row) in the order they
    /// lie, those that stay (no row of their key seen before beats them); names in
    /// `lost` the rows seen before that a row of the piece beats.
    ///
    /// The keys are looked up in the order of the slots their hashes point to, not in
    /// the order they come: a piece's keys land all over tables many times the size
    /// of the cache, and visited in slot order they are read front to back instead of
    /// at random (the decisions do not depend on the order).
    pub fn admit(&mut self, batches: &[RecordBatch]) -> Result<Vec<(u32, u32)>, ArrowError> {
        let mut inputs = Vec::with_capacity(batches.len());
        let mut visits = Vec::with_capacity(batches.iter().map(|b| b.num_rows()).sum());
        for (b, batch) in batches.iter().enumerate() {
            let keys = self.key_bytes(batch)?;
            for r in 0..batch.num_rows() {
                visits.push(Visit {
                    hash: self.hasher.hash_one(keys.get(r)),
                    batch: b as u32,
                    row: r as u32,
                });
            }
            let orders = order_rows(batch, &self.rule, self.order.as_ref())?;
            inputs.push((keys, orders, deliveries(batch)));
        }
        let mut stays: Vec<Vec<bool>> = batches.iter().map(|b| vec![false; b.num_rows()]).collect();
        for visit in self.in_slot_order(visits) {
            let (b, r) = (visit.batch as usize, visit.row as usize);
            let (keys, orders, deliveries) = &inputs[b];
            let (marker, key) = keys.get(r);
            let order: &[u8] = match orders {
                Some(o) => o.row(r).data(),
                None => &[],
            };
            stays[b][r] = self.take(visit.hash, marker, key, order, deliveries[r]);
        }
        Ok(stays
            .iter()
            .enumerate()
            .flat_map(|(b, rows)| {
                rows.iter()
                    .enumerate()
                    .filter(|(_, stays)| **stays)
                    .map(move |(r, _)| (b as u32, r as u32))
            })
            .collect())
    }

    /// `visits` ordered by table, then by about the slot their hash points to (a
    /// counting sort on groups of a few slots: two passes, no comparisons).
    fn in_slot_order(&self, visits: Vec<Visit>) -> Vec<Visit> {
        // a few keys a group; within a group they are near enough to share lines
        let groups = (visits.len() / TABLES / 4)
            .clamp(1, 1 << 12)
            .next_power_of_two();
        // per table: the mask that gives a hash's slot, and the shift to its group
        let layout: Vec<(usize, u32)> = self
            .tables
            .iter()
            .map(|t| {
                let slots = slots(t.capacity());
                let shift = slots
                    .trailing_zeros()
                    .saturating_sub(groups.trailing_zeros());
                (slots - 1, shift)
            })
            .collect();
        let group_of = |hash: u64| {
            let table = table_of(hash);
            let (mask, shift) = layout[table];
            table * groups + (((hash as usize & mask) >> shift) & (groups - 1))
        };
        let mut starts = vec![0usize; TABLES * groups + 1];
        for v in &visits {
            starts[group_of(v.hash) + 1] += 1;
        }
        for g in 1..starts.len() {
            starts[g] += starts[g - 1];
        }
        let mut ordered = vec![Visit::default(); visits.len()];
        for v in visits {
            let g = group_of(v.hash);
            ordered[starts[g]] = v;
            starts[g] += 1;
        }
        ordered
    }

    /// One row: whether it stays. A new key is remembered; a kept one that the row
    /// beats is replaced, and its row named in `lost`.
    fn take(&mut self, hash: u64, marker: u8, key: &[u8], order: &[u8], delivery: u64) -> bool {
        let (arena, hasher) = (&self.arena, &self.hasher);
        let entry = self.tables[table_of(hash)].entry(
            hash,
            |s| key_of(arena, s) == (marker, key),
            |s| hasher.hash_one(key_of(arena, s)),
        );
        let mut held = match entry {
            Entry::Occupied(held) => held,
            Entry::Vacant(slot) => {
                let at = self.arena.len();
                self.arena.push(marker);
                self.arena.extend_from_slice(key);
                self.arena.extend_from_slice(order);
                slot.insert(Slot {
                    at,
                    key_len: key.len() as u32 + 1,
                    order_len: order.len() as u32,
                    delivery,
                });
                return true;
            }
        };
        let held = held.get_mut();
        let order_at = held.at + held.key_len as usize;
        let held_order = &self.arena[order_at..order_at + held.order_len as usize];
        let compared = self.order.as_ref().map(|_| order.cmp(held_order));
        if !replaces(&self.rule, compared, delivery > held.delivery) {
            return false;
        }
        self.lost.insert(held.delivery);
        held.delivery = delivery;
        if order.len() == held.order_len as usize {
            self.arena[order_at..order_at + order.len()].copy_from_slice(order);
        } else {
            // a value of another length: the key moves to the end of the arena
            let at = self.arena.len();
            self.arena.extend_from_within(held.at..order_at);
            self.arena.extend_from_slice(order);
            held.at = at;
            held.order_len = order.len() as u32;
        }
        true
    }

    /// Room for the keys `estimate` foresaw, so neither the table nor the arena
    /// grows by doubling (which would hold up to twice what they need).
    pub fn reserve(&mut self, rows: usize, estimate: KeysEstimate) {
        let (arena, hasher) = (&self.arena, &self.hasher);
        for table in &mut self.tables {
            table.reserve(rows.div_ceil(TABLES), |s| hasher.hash_one(key_of(arena, s)));
        }
        self.arena.reserve(estimate.arena as usize);
    }

    fn key_bytes(&self, batch: &RecordBatch) -> Result<KeyBytes, ArrowError> {
        if self.raw_key
            && let Some(raw) = KeyBytes::of(&columns(batch, &self.rule.key)?.remove(0))
        {
            return Ok(raw);
        }
        Ok(KeyBytes::Rows(key_rows(batch, &self.rule.key)?))
    }
}

/// The key a slot holds, as [`KeyBytes::get`] gives it.
fn key_of<'a>(arena: &'a [u8], slot: &Slot) -> (u8, &'a [u8]) {
    (
        arena[slot.at],
        &arena[slot.at + 1..slot.at + slot.key_len as usize],
    )
}

/// One batch's keys as bytes: equal keys, equal bytes.
enum KeyBytes {
    /// A string or binary column, as its values' bytes.
    Raw(GenericBinaryArray<i32>),
    LargeRaw(GenericBinaryArray<i64>),
    Rows(arrow::row::Rows),
}

impl KeyBytes {
    /// A string or binary column as binary (the same buffers), or its rows.
    fn of(column: &ArrayRef) -> Option<KeyBytes> {
        Some(match column.data_type() {
            DataType::Utf8 => KeyBytes::Raw(column.as_string::<i32>().clone().into()),
            DataType::LargeUtf8 => KeyBytes::LargeRaw(column.as_string::<i64>().clone().into()),
            DataType::Binary => KeyBytes::Raw(column.as_binary::<i32>().clone()),
            DataType::LargeBinary => KeyBytes::LargeRaw(column.as_binary::<i64>().clone()),
            _ => return None,
        })
    }

    /// A row's key: a marker that tells a null key from an empty one, and bytes.
    fn get(&self, row: usize) -> (u8, &[u8]) {
        match self {
            KeyBytes::Rows(rows) => (1, rows.row(row).data()),
            KeyBytes::Raw(column) if column.is_null(row) => (0, &[]),
            KeyBytes::Raw(column) => (1, column.value(row)),
            KeyBytes::LargeRaw(column) if column.is_null(row) => (0, &[]),
            KeyBytes::LargeRaw(column) => (1, column.value(row)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::merge::{add_delivery, with_delivery_field};
    use crate::model::definition::Keep;
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use std::sync::Arc;

    /// A piece of rows (id, version, n) numbered from delivery `first`.
    fn piece(ids: &[Option<&str>], versions: &[&str], first: u64) -> RecordBatch {
        let plain = RecordBatch::try_from_iter(vec![
            ("id", Arc::new(StringArray::from(ids.to_vec())) as ArrayRef),
            (
                "version",
                Arc::new(StringArray::from(versions.to_vec())) as ArrayRef,
            ),
            (
                "n",
                Arc::new(Int64Array::from_iter_values(0..ids.len() as i64)) as ArrayRef,
            ),
        ])
        .unwrap();
        add_delivery(&plain, &with_delivery_field(&plain.schema()), first).unwrap()
    }

    /// Which rows of a one-batch piece stay, one flag per row.
    fn admit(kept: &mut KeptKeys, piece: &RecordBatch) -> Vec<bool> {
        let stays = kept.admit(std::slice::from_ref(piece)).unwrap();
        (0..piece.num_rows() as u32)
            .map(|r| stays.contains(&(0, r)))
            .collect()
    }

    fn rule(key: &[&str], keep: Keep, order_by: Option<&str>) -> DedupRule {
        DedupRule {
            key: key.iter().map(|k| k.to_string()).collect(),
            keep,
            order_by: order_by.map(str::to_string),
        }
    }

    #[test]
    fn later_pieces_beat_or_lose_to_kept_keys_by_the_rule() {
        // order_by is a string: a winner of another length moves its key in the arena
        let first = piece(
            &[Some("a"), Some(""), None, Some("b")],
            &["m", "m", "m", "m"],
            0,
        );
        let mut kept = KeptKeys::new(
            &first.schema(),
            &rule(&["id"], Keep::Latest, Some("version")),
        )
        .unwrap();
        assert_eq!(admit(&mut kept, &first), vec![true; 4]);

        // "a" loses (older), "" wins with a longer value, null wins (tie, later), "c" is new
        let second = piece(
            &[Some("a"), Some(""), None, Some("c")],
            &["l", "zz", "m", "a"],
            10,
        );
        let stays = admit(&mut kept, &second);
        assert_eq!(stays, vec![false, true, true, true]);
        assert_eq!(
            kept.lost,
            Deliveries::from_iter([1, 2]),
            "rows of the first piece beaten"
        );

        // the moved key compares with its new value: "zz" beats "zy"; an empty key is
        // not a null key, and "b" keeps its first row against an older one
        let third = piece(&[Some(""), Some("b"), None], &["zy", "a", "n"], 20);
        let stays = admit(&mut kept, &third);
        assert_eq!(stays, vec![false, false, true]);
        assert_eq!(kept.lost, Deliveries::from_iter([1, 2, 12]));
    }

    #[test]
    fn keys_of_several_columns_and_keep_first_without_order() {
        let first = piece(&[Some("a"), Some("a")], &["x", "y"], 0);
        let mut kept = KeptKeys::new(
            &first.schema(),
            &rule(&["id", "version"], Keep::First, None),
        )
        .unwrap();
        assert!(!kept.raw_key);
        assert_eq!(admit(&mut kept, &first), vec![true, true]);
        let second = piece(&[Some("a"), Some("b")], &["y", "y"], 5);
        assert_eq!(admit(&mut kept, &second), vec![false, true]);
        assert!(kept.lost.is_empty(), "keep first: earlier rows never lose");
        assert!(kept.memory() > 0);
        let estimate = kept.estimate(&second, 1_000).unwrap();
        // keys in row format, over a byte per column; 1,000 keys over 64 tables of 32 slots
        assert!(estimate.arena >= 1_000 * 4, "{estimate:?}");
        assert_eq!(
            estimate.table,
            64 * 32 * (std::mem::size_of::<Slot>() as u64 + 1)
        );
        kept.reserve(1_000, estimate);
        assert!(
            kept.memory() as u64 >= estimate.total(),
            "{}",
            kept.memory()
        );
    }
}
