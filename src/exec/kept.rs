//! Deduplication across sorted runs, holding keys but not rows.
//!
//! A partition too large for memory is cut into pieces in the order its rows come;
//! each piece is deduplicated and sorted alone and spilled as a run. Copies of a key
//! can sit in different pieces, so every key kept so far is remembered here with its
//! row's `order_by` value and delivery number: a later row that loses is dropped
//! before its run is written, and a row already spilled that loses to a later one
//! is named in [`KeptKeys::lost`], for the merge to drop. The decision is the one
//! [`dedup_and_sort`](super::merge::dedup_and_sort) makes for rows held together.
//!
//! Keys are held as bytes in one arena (a key of one string column as its bytes,
//! any other key in Arrow's row format), with a slot each in a hash table.

use super::merge::{columns, deliveries, key_rows, order_converter, order_rows, replaces};
use crate::model::definition::DedupRule;
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Schema};
use arrow::error::ArrowError;
use arrow::row::RowConverter;
use hashbrown::HashTable;
use std::collections::HashSet;
use std::hash::BuildHasher;

/// Bytes a kept key costs besides its own bytes and its `order_by` bytes: its slot
/// (24 bytes and a control byte, in a table of a power of two slots at most 7/8
/// full) and its share of the set of rows lost.
const SLOT_BYTES: usize = 48;

pub struct KeptKeys {
    rule: DedupRule,
    order: Option<RowConverter>,
    /// A key of one string or binary column is its bytes; others go through Arrow's
    /// row format (exact for every type, but longer).
    raw_key: bool,
    hasher: foldhash::fast::FixedState,
    table: HashTable<Slot>,
    /// Key bytes then `order_by` bytes of every kept row, one after another.
    arena: Vec<u8>,
    /// Deliveries of rows in runs already written that a later row beat.
    pub lost: HashSet<u64>,
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
            table: HashTable::new(),
            arena: Vec::new(),
            lost: HashSet::new(),
        })
    }

    /// About what remembering the keys of `rows` rows like those of `sample` costs.
    pub fn estimate(&self, sample: &RecordBatch, rows: u64) -> Result<u64, ArrowError> {
        let n = sample.num_rows().max(1) as u64;
        let keys = self.key_bytes(sample)?;
        let key_bytes: u64 = (0..sample.num_rows())
            .map(|r| keys.get(r).1.len() as u64 + 1)
            .sum();
        let order_bytes = match order_rows(sample, &self.rule, self.order.as_ref())? {
            Some(rows) => rows.size() as u64,
            None => 0,
        };
        Ok(rows * ((key_bytes + order_bytes) / n + SLOT_BYTES as u64))
    }

    /// Bytes held now.
    pub fn memory(&self) -> usize {
        self.arena.capacity()
            + self.table.capacity() * (std::mem::size_of::<Slot>() + 1)
            + self.lost.capacity() * (std::mem::size_of::<u64>() + 1)
    }

    /// Takes the rows of one deduplicated piece: says for each whether it stays
    /// (no earlier row of its key beats it), and names in `lost` the earlier rows it
    /// beats. `rows` lists the piece's rows as (batch, row) of `batches`.
    pub fn admit(
        &mut self,
        batches: &[RecordBatch],
        rows: &[(u32, u32)],
    ) -> Result<Vec<bool>, ArrowError> {
        let keys = batches
            .iter()
            .map(|b| self.key_bytes(b))
            .collect::<Result<Vec<_>, _>>()?;
        let orders = batches
            .iter()
            .map(|b| order_rows(b, &self.rule, self.order.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        let deliveries: Vec<_> = batches.iter().map(deliveries).collect();
        let mut stays = Vec::with_capacity(rows.len());
        for &(b, r) in rows {
            let (b, r) = (b as usize, r as usize);
            let (marker, key) = keys[b].get(r);
            let order: &[u8] = match &orders[b] {
                Some(o) => o.row(r).data(),
                None => &[],
            };
            let delivery = deliveries[b][r];
            let hash = self.hasher.hash_one((marker, key));
            let arena = &self.arena;
            let found = self
                .table
                .find_mut(hash, |s| key_of(arena, s) == (marker, key));
            let Some(held) = found else {
                let at = self.arena.len();
                self.arena.push(marker);
                self.arena.extend_from_slice(key);
                self.arena.extend_from_slice(order);
                let slot = Slot {
                    at,
                    key_len: key.len() as u32 + 1,
                    order_len: order.len() as u32,
                    delivery,
                };
                let (arena, hasher) = (&self.arena, &self.hasher);
                self.table
                    .insert_unique(hash, slot, |s| hasher.hash_one(key_of(arena, s)));
                stays.push(true);
                continue;
            };
            let order_at = held.at + held.key_len as usize;
            let held_order = &self.arena[order_at..order_at + held.order_len as usize];
            let compared = self.order.as_ref().map(|_| order.cmp(held_order));
            if !replaces(&self.rule, compared, delivery > held.delivery) {
                stays.push(false);
                continue;
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
            stays.push(true);
        }
        Ok(stays)
    }

    /// Room for `rows` keys, so the table is sized once (the arena grows as keys come:
    /// their length is known only then).
    pub fn reserve(&mut self, rows: usize) {
        let (arena, hasher) = (&self.arena, &self.hasher);
        self.table
            .reserve(rows, |s| hasher.hash_one(key_of(arena, s)));
    }

    fn key_bytes(&self, batch: &RecordBatch) -> Result<KeyBytes, ArrowError> {
        if self.raw_key {
            let column = columns(batch, &self.rule.key)?.remove(0);
            return Ok(KeyBytes::Raw(column));
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
    Raw(arrow::array::ArrayRef),
    Rows(arrow::row::Rows),
}

impl KeyBytes {
    /// A row's key: a marker that tells a null key from an empty one, and bytes.
    fn get(&self, row: usize) -> (u8, &[u8]) {
        match self {
            KeyBytes::Rows(rows) => (1, rows.row(row).data()),
            KeyBytes::Raw(column) if column.is_null(row) => (0, &[]),
            KeyBytes::Raw(column) => (
                1,
                match column.data_type() {
                    DataType::Utf8 => column.as_string::<i32>().value(row).as_bytes(),
                    DataType::LargeUtf8 => column.as_string::<i64>().value(row).as_bytes(),
                    DataType::Binary => column.as_binary::<i32>().value(row),
                    _ => column.as_binary::<i64>().value(row),
                },
            ),
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

    fn all_rows(batch: &RecordBatch) -> Vec<(u32, u32)> {
        (0..batch.num_rows() as u32).map(|r| (0, r)).collect()
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
        assert_eq!(
            kept.admit(std::slice::from_ref(&first), &all_rows(&first))
                .unwrap(),
            vec![true; 4]
        );

        // "a" loses (older), "" wins with a longer value, null wins (tie, later), "c" is new
        let second = piece(
            &[Some("a"), Some(""), None, Some("c")],
            &["l", "zz", "m", "a"],
            10,
        );
        let stays = kept
            .admit(std::slice::from_ref(&second), &all_rows(&second))
            .unwrap();
        assert_eq!(stays, vec![false, true, true, true]);
        assert_eq!(
            kept.lost,
            HashSet::from([1, 2]),
            "rows of the first piece beaten"
        );

        // the moved key compares with its new value: "zz" beats "zy"; an empty key is
        // not a null key, and "b" keeps its first row against an older one
        let third = piece(&[Some(""), Some("b"), None], &["zy", "a", "n"], 20);
        let stays = kept
            .admit(std::slice::from_ref(&third), &all_rows(&third))
            .unwrap();
        assert_eq!(stays, vec![false, false, true]);
        assert_eq!(kept.lost, HashSet::from([1, 2, 12]));
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
        assert_eq!(
            kept.admit(std::slice::from_ref(&first), &all_rows(&first))
                .unwrap(),
            vec![true, true]
        );
        let second = piece(&[Some("a"), Some("b")], &["y", "y"], 5);
        assert_eq!(
            kept.admit(std::slice::from_ref(&second), &all_rows(&second))
                .unwrap(),
            vec![false, true]
        );
        assert!(kept.lost.is_empty(), "keep first: earlier rows never lose");
        assert!(kept.memory() > 0);
        let estimate = kept.estimate(&second, 1_000).unwrap();
        assert!(estimate >= 1_000 * SLOT_BYTES as u64, "{estimate}");
    }
}
