//! Patching a partition (see `plan::patch`): the new rows are deduplicated and
//! sorted, the current rows' keys are probed against them, each current file is
//! spliced without its superseded rows, and the winning new rows become a delta file.

use super::{Run, read_current};
use crate::error::Result;
use crate::exec::fold::probe;
use crate::exec::merge::{Merged, dedup_and_sort};
use crate::exec::read::OpenFile;
use crate::exec::splice::splice;
use crate::exec::write::{FileSizing, WriteRequest, file_name, write_sorted};
use crate::model::snapshot::DataFile;
use crate::plan::PartitionPlan;
use crate::plan::patch::{DELTA_PREFIX, PART_PREFIX, Patch, is_delta};
use arrow::array::{BooleanArray, RecordBatch};
use arrow::compute::{concat_batches, filter_record_batch};
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowSchemaConverter;
use parquet::basic::Compression;
use std::mem::discriminant;
use std::sync::atomic::Ordering;

/// Current files up to this size are fetched whole for the probe, and again for the
/// splice, instead of in a request per row group and column: a patch reads most of
/// every file. One such copy is held at a time.
const PATCH_WHOLE_FILE_MAX: u64 = 64 << 20;

/// A patched partition: its files, rows and the duplicates the patch removed.
pub(super) struct Patched {
    pub files: Vec<DataFile>,
    pub rows: u64,
    pub duplicates_removed: u64,
}

/// What the key and order columns of one current row weigh in memory, for the
/// probe (a UUID-sized key and a timestamp, with offsets).
const KEY_BYTES_PER_ROW: u64 = 64;

/// Memory a patch of `partition` needs: its new rows (`new_bytes` decoded), the
/// current rows' keys, the delta rows when it merges the deltas, and one current
/// file (or span of row groups) fetched whole. `unread` estimates the decoded size
/// of rows not read yet from their count and their bytes on disk.
pub(super) fn memory_needed(
    partition: &PartitionPlan,
    how: Patch,
    new_bytes: u64,
    unread: &dyn Fn(u64, u64) -> u64,
) -> usize {
    let deltas = partition.current_files.iter().filter(|f| is_delta(&f.path));
    let delta_bytes = match how {
        Patch::MergeDeltas => unread(
            deltas.clone().map(|f| f.rows).sum(),
            deltas.map(|f| f.bytes).sum(),
        ),
        Patch::AddDelta => 0,
    };
    let fetched = (partition.current_files.iter())
        .map(|f| f.bytes.min(PATCH_WHOLE_FILE_MAX))
        .max()
        .unwrap_or(0);
    let rows = new_bytes + delta_bytes + partition.current_rows * KEY_BYTES_PER_ROW;
    (rows.saturating_mul(3) / 2).saturating_add(fetched) as usize
}

/// Whether a current file can be spliced into a file of today's encoding: it holds
/// exactly the table's schema, compressed with the definition's codec. Files from
/// before a schema change or a codec change are rewritten whole instead.
pub(super) fn splicable(file: &OpenFile, schema: &SchemaRef, compression: Compression) -> bool {
    let Ok(wanted) = ArrowSchemaConverter::new().convert(schema) else {
        return false;
    };
    let metadata = file.metadata();
    file.schema().fields() == schema.fields()
        && metadata.file_metadata().schema_descr().columns() == wanted.columns()
        && metadata.row_groups().iter().all(|group| {
            group
                .columns()
                .iter()
                .all(|c| discriminant(&c.compression()) == discriminant(&compression))
        })
}

/// Patches `new` rows into the partition whose `current` files (opened, in the
/// snapshot's order, as `listed`) follow today's rules.
pub(super) async fn patch(
    run: &Run,
    how: Patch,
    current: Vec<OpenFile>,
    listed: &[DataFile],
    new: Vec<RecordBatch>,
    request: WriteRequest<'_>,
) -> Result<Patched> {
    let new = concat_batches(&run.flow_schema, &new)?;
    let Merged {
        batch: mut fresh,
        mut duplicates_removed,
    } = dedup_and_sort(&new, run.rules.dedup.as_ref(), &run.rules.sort_by)?;
    drop(new);
    let mut superseded = vec![Vec::new(); current.len()];
    if let Some(rule) = &run.rules.dedup {
        // only the key and order columns of the current rows are read
        let columns: Vec<&str> = rule
            .key
            .iter()
            .chain(&rule.order_by)
            .map(String::as_str)
            .collect();
        let (mut keys, mut origins) = (Vec::new(), Vec::new());
        // one request per file instead of one per row group, each copy dropped in turn
        let readers: Vec<OpenFile> = (current.iter())
            .map(|f| f.again_whole(PATCH_WHOLE_FILE_MAX))
            .collect::<Result<_>>()?;
        for (index, file) in readers.into_iter().enumerate() {
            let mut first = 0u64;
            file.read_each(Some(&columns), |batch| {
                origins.push((index, first));
                first += batch.num_rows() as u64;
                keys.push(batch);
                Ok(())
            })
            .await?;
        }
        let outcome = probe(&keys, &fresh, rule)?;
        drop(keys);
        duplicates_removed += outcome.duplicates;
        superseded = outcome.superseded_by_file(&origins, current.len());
        fresh = outcome.without_lost(fresh)?;
    }

    let mut files = Vec::new();
    let (mut parts, mut deltas) = (0, 0);
    let mut merged = vec![fresh];
    for (index, ((file, listed), gone)) in
        current.into_iter().zip(listed).zip(&superseded).enumerate()
    {
        if how == Patch::MergeDeltas && is_delta(&listed.path) {
            read_without(run, index, file, gone, |b| {
                merged.push(b);
                Ok(())
            })
            .await?;
            continue;
        }
        let name = if is_delta(&listed.path) {
            deltas += 1;
            file_name(DELTA_PREFIX, deltas - 1)
        } else {
            parts += 1;
            file_name(PART_PREFIX, parts - 1)
        };
        let whole = file.again_whole(PATCH_WHOLE_FILE_MAX)?;
        let spliced = splice(&request, &run.data_schema, whole, listed, &name, gone).await?;
        run.row_groups_copied
            .fetch_add(spliced.row_groups_copied, Ordering::Relaxed);
        run.row_groups_reencoded
            .fetch_add(spliced.row_groups_reencoded, Ordering::Relaxed);
        files.extend(spliced.file);
    }
    // merged deltas hold one row per key already: they only need sorting
    let delta = match merged.as_slice() {
        [fresh] => fresh.clone(),
        _ => {
            dedup_and_sort(
                &concat_batches(&run.flow_schema, &merged)?,
                None,
                &run.rules.sort_by,
            )?
            .batch
        }
    };
    drop(merged);
    if delta.num_rows() > 0 {
        let rows = delta.num_rows() as u64;
        // one file, whatever its size: the bound on deltas counts files, and a
        // delta holds at most a quarter of its partition
        let request = WriteRequest {
            name_prefix: DELTA_PREFIX,
            first_number: deltas,
            sizing: FileSizing {
                target_file_size: u64::MAX,
                bytes_per_row: request.sizing.bytes_per_row,
            },
            ..request
        };
        let written = write_sorted(request, &run.data_schema, rows, std::iter::once(Ok(delta)));
        files.extend(written.await?);
    }
    run.patched.fetch_add(1, Ordering::Relaxed);
    if how == Patch::MergeDeltas {
        run.deltas_merged.fetch_add(1, Ordering::Relaxed);
    }
    Ok(Patched {
        rows: files.iter().map(|f| f.rows).sum(),
        files,
        duplicates_removed,
    })
}

/// Reads the `index`-th current file whole, without the rows at `drop` (ascending),
/// numbering its rows as older deliveries than any new row.
async fn read_without(
    run: &Run,
    index: usize,
    file: OpenFile,
    drop: &[u64],
    mut each: impl FnMut(RecordBatch) -> Result<()>,
) -> Result<()> {
    let mut drop = drop.iter().copied().peekable();
    let mut first = 0u64;
    read_current(run, index, file, |numbered| {
        let rows = numbered.num_rows() as u64;
        let keep: BooleanArray = (first..first + rows)
            .map(|p| Some(drop.next_if_eq(&p).is_none()))
            .collect();
        first += rows;
        each(filter_record_batch(&numbered, &keep)?)
    })
    .await
}
