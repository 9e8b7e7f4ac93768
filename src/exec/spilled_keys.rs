//! Deduplication across sorted runs when not even the keys fit in memory.
//!
//! Every row's dedup key, `order_by` value and delivery number (its "key row", a
//! small projection of the row) goes to one of a few spill files by a hash of the
//! key, so all copies of a key meet in one file. The rows themselves are cut into
//! runs once, without dedup. At the end each file is read back alone and the rule
//! picks a winner per key; the deliveries of all the others are the rows the merge
//! leaves out. Rows are written once, and only their key rows a second time.

use super::kept::Deliveries;
use super::merge::{DELIVERY, dedup_pairs, deliveries, key_rows};
use super::spill::{SpillDir, SpillWriter, batch_bytes};
use crate::error::Result;
use crate::model::definition::DedupRule;
use arrow::array::{RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use std::hash::BuildHasher;

pub struct SpilledKeys {
    rule: DedupRule,
    /// Columns of a key row: the key, `order_by`, the delivery.
    projection: Vec<usize>,
    files: Vec<Option<SpillWriter>>,
    hasher: foldhash::fast::FixedState,
}

impl SpilledKeys {
    /// `files` spill files, each to be read back alone at the end.
    pub fn new(rule: &DedupRule, sample: &RecordBatch, files: usize) -> Result<Self> {
        let schema = sample.schema();
        let mut names: Vec<&str> = rule.key.iter().map(String::as_str).collect();
        names.extend(rule.order_by.as_deref());
        names.push(DELIVERY);
        let mut projection = Vec::with_capacity(names.len());
        for name in names {
            let index = schema.index_of(name)?;
            if !projection.contains(&index) {
                projection.push(index);
            }
        }
        Ok(SpilledKeys {
            rule: rule.clone(),
            projection,
            files: (0..files.max(1)).map(|_| None).collect(),
            hasher: foldhash::fast::FixedState::with_seed(0x6c61_6b65),
        })
    }

    /// Bytes of key rows per row of `sample`, for sizing the files.
    pub fn bytes_per_row(rule: &DedupRule, sample: &RecordBatch) -> Result<f64> {
        let keys = SpilledKeys::new(rule, sample, 1)?;
        let projected = sample.project(&keys.projection)?;
        Ok(batch_bytes(&projected) as f64 / sample.num_rows().max(1) as f64)
    }

    /// Sends the key row of every row of `batch` to the file its key hashes to.
    pub fn add(&mut self, batch: &RecordBatch, spill: &SpillDir) -> Result<()> {
        let projected = batch.project(&self.projection)?;
        let fan_out = self.files.len();
        let keys = key_rows(&projected, &self.rule.key)?;
        let mut rows_of: Vec<Vec<u32>> = vec![Vec::new(); fan_out];
        for (i, row) in keys.iter().enumerate() {
            let file = (self.hasher.hash_one(row.as_ref()) % fan_out as u64) as usize;
            rows_of[file].push(i as u32);
        }
        for (file, rows) in rows_of.into_iter().enumerate() {
            if rows.is_empty() {
                continue;
            }
            let part = if rows.len() == projected.num_rows() {
                projected.clone()
            } else {
                take_record_batch(&projected, &UInt32Array::from(rows))?
            };
            let writer = match &mut self.files[file] {
                Some(w) => w,
                slot => slot.insert(spill.create(&part.schema())?),
            };
            writer.write(&part, spill)?;
        }
        Ok(())
    }

    /// The deliveries of every row that a copy of its key beats, one file at a time
    /// (the files are gone after it).
    pub fn losers(&mut self) -> Result<Deliveries> {
        let mut lost = Deliveries::default();
        for writer in std::mem::take(&mut self.files).into_iter().flatten() {
            let batches = writer.finish()?.read()?.collect::<Result<Vec<_>>>()?;
            let delivery: Vec<_> = batches.iter().map(deliveries).collect();
            let mut won: Vec<Vec<bool>> =
                batches.iter().map(|b| vec![false; b.num_rows()]).collect();
            for (b, r) in dedup_pairs(&batches, &self.rule, &delivery)? {
                won[b as usize][r as usize] = true;
            }
            for (b, won) in won.iter().enumerate() {
                let lost_here = won.iter().zip(delivery[b].iter()).filter(|(w, _)| !**w);
                lost.extend(lost_here.map(|(_, &d)| d));
            }
        }
        Ok(lost)
    }
}
