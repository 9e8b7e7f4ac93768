//! The data path of one compaction run: the state its tasks share, routing each
//! source file's rows to their partitions, and rewriting each partition (fold, sort
//! in memory, or sort on disk) into a fresh folder. `compact` plans, runs these as
//! tasks and commits.

use super::{CompactOptions, Outcome, PartitionReport};
use crate::error::{Error, Result};
use crate::exec::buckets::{Buckets, Reread, Routed};
use crate::exec::external::RunBuilder;
use crate::exec::fold::fold;
use crate::exec::merge::{
    add_deliveries, add_delivery, current_delivery, new_delivery, sort_batches, with_delivery_field,
};
use crate::exec::route::locate_rows;
use crate::exec::spill::{SpillDir, batch_bytes};
use crate::exec::write::{FileSizing, WriteRequest, undictionaried_columns, write_sorted};
use crate::exec::{Router, read};
use crate::model::definition::{DedupRule, TableDefinition};
use crate::model::schema::conform_batch;
use crate::model::snapshot::PartitionState;
use crate::ops::Table;
use crate::ops::inventory::Inventory;
use crate::plan::PartitionPlan;
use crate::plan::patch::{PART_PREFIX, is_delta};
use crate::stop::Stop;
use crate::storage::Location;
use arrow::array::{RecordBatch, UInt32Array, UInt64Array};
use arrow::compute::{concat_batches, take_record_batch};
use arrow::datatypes::{Schema, SchemaRef};
use parquet::schema::types::ColumnPath;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Semaphore;

mod patch;
use patch::{memory_needed, patch, splicable};

/// Shares of the memory limit: routed rows waiting for their partition, and
/// partitions being merged. The rest is headroom for decoding, encoding and the
/// allocator, which the accounting does not see.
const ROUTING_SHARE_PERCENT: usize = 25;
const MERGE_SHARE_PERCENT: usize = 30;

/// Routed rows held at most, whatever the limit: past it the largest buckets spill.
/// Like the sort buffer, a fixed size keeps memory from growing with the table
/// (spilling a bucket costs one sequential write and read).
const ROUTING_BUFFER: usize = 64 << 20;

/// Rows handed to the Parquet writer at a time. Each chunk is copied out of the
/// sorted rows twice (see `SortedBatches::chunks`), so it is held twice over; 32Ki
/// rows (about 11 MB on the bench lake) kept peak memory 10% under 64Ki rows, for
/// the same time, and 8Ki rows cost 2% more time.
const WRITE_CHUNK_ROWS: usize = 32 * 1024;

/// Everything the run's tasks share, from the table and the options.
pub(super) fn prepare(
    table: &Table,
    options: &CompactOptions,
    inventory: &Inventory,
    run_id: &str,
) -> Result<Run> {
    let path_only = table.definition.path_only_columns();
    let data_schema: SchemaRef = Arc::new(Schema::new(
        inventory
            .schema
            .fields()
            .iter()
            .filter(|f| !path_only.contains(&f.name().as_str()))
            .cloned()
            .collect::<Vec<_>>(),
    ));
    let flow_schema = with_delivery_field(&data_schema);
    let spill = Arc::new(SpillDir::new(options.spill_dir.clone()));
    let limit = options.memory_limit as usize;
    let merge_budget = limit / 100 * MERGE_SHARE_PERCENT;
    let merge_share = merge_budget / options.jobs.max(1);
    Ok(Run {
        source: table.source.clone(),
        target: table.target.clone(),
        router: inventory.router.clone(),
        buckets: Buckets::new(
            flow_schema.clone(),
            (limit / 100 * ROUTING_SHARE_PERCENT).min(ROUTING_BUFFER),
            spill.clone(),
        ),
        data_schema,
        flow_schema,
        rules: Rules::new(&table.definition, &path_only)?,
        definition: table.definition.clone(),
        run_id: run_id.to_string(),
        stop: options.stop.clone(),
        spill,
        merge_memory: Arc::new(Semaphore::new((merge_budget / 1024).max(1))),
        merge_share,
        sort_buffer: merge_share.min(options.sort_buffer as usize),
        written: Mutex::new(Vec::new()),
        unreadable: Mutex::new(BTreeMap::new()),
        sorted_externally: AtomicUsize::new(0),
        folded: AtomicUsize::new(0),
        patched: AtomicUsize::new(0),
        deltas_merged: AtomicUsize::new(0),
        row_groups_copied: AtomicUsize::new(0),
        row_groups_reencoded: AtomicUsize::new(0),
        decoded_rows: AtomicU64::new(0),
        decoded_bytes: AtomicU64::new(0),
    })
}

/// What every task of a run shares.
pub(super) struct Run {
    source: Location,
    target: Location,
    router: Router,
    /// The table schema without path-only columns: what data files hold.
    data_schema: SchemaRef,
    /// `data_schema` with the delivery column: what flows between the steps.
    flow_schema: SchemaRef,
    rules: Rules,
    definition: TableDefinition,
    run_id: String,
    /// Checked at every batch read or written, so a signal stops the run in moments.
    stop: Stop,
    pub(super) buckets: Buckets,
    pub(super) spill: Arc<SpillDir>,
    /// Memory for merging partitions, in KiB permits.
    merge_memory: Arc<Semaphore>,
    /// What one partition rewrite may hold: the merge budget over `--jobs`.
    merge_share: usize,
    /// What one partition sort holds before it goes to runs on disk: `--sort-buffer`
    /// within `merge_share`. (Patching and folding need far less work per row than
    /// sorting, so they may take the whole share.)
    sort_buffer: usize,
    /// Folders this run may have written into, for cleanup after a failure.
    pub(super) written: Mutex<Vec<String>>,
    /// Source files found unreadable while reading them whole, by relative path.
    pub(super) unreadable: Mutex<BTreeMap<String, Error>>,
    pub(super) sorted_externally: AtomicUsize,
    pub(super) folded: AtomicUsize,
    pub(super) patched: AtomicUsize,
    pub(super) deltas_merged: AtomicUsize,
    pub(super) row_groups_copied: AtomicUsize,
    pub(super) row_groups_reencoded: AtomicUsize,
    /// Rows and bytes of whole batches as decoded, for estimating rows not yet read.
    decoded_rows: AtomicU64,
    decoded_bytes: AtomicU64,
}

impl Run {
    fn count_decoded(&self, batch: &RecordBatch) {
        self.decoded_rows
            .fetch_add(batch.num_rows() as u64, Ordering::Relaxed);
        self.decoded_bytes
            .fetch_add(batch_bytes(batch) as u64, Ordering::Relaxed);
    }

    /// Remembers that the source file at `path` could not be read (for `--quarantine`).
    pub(super) fn note_unreadable(&self, path: &str, error: &Error) {
        if let Error::BadInput {
            file,
            column,
            reason,
        } = error
            && let Ok(mut unreadable) = self.unreadable.lock()
        {
            unreadable
                .entry(path.to_string())
                .or_insert_with(|| Error::BadInput {
                    file: file.clone(),
                    column: column.clone(),
                    reason: reason.clone(),
                });
        }
    }

    /// `batches`, ending in [`Error::Interrupted`] once a stop is requested.
    fn stoppable<E>(
        &self,
        batches: impl Iterator<Item = std::result::Result<RecordBatch, E>>,
    ) -> impl Iterator<Item = Result<RecordBatch>>
    where
        Error: From<E>,
    {
        batches.map(|batch| {
            self.stop.check()?;
            Ok(batch?)
        })
    }

    /// In-memory bytes per row of the rows decoded so far.
    pub(super) fn bytes_per_row(&self) -> Option<f64> {
        let rows = self.decoded_rows.load(Ordering::Relaxed);
        (rows > 0).then(|| self.decoded_bytes.load(Ordering::Relaxed) as f64 / rows as f64)
    }
}

/// Source files fetched ahead of those being read, per job. A job that fetches its
/// next file only when it starts leaves its core idle for the read: routing the 2×
/// bench lake from local disk kept 1.2–1.7 cores busy that way, 1.6–1.9 with two
/// files a job ahead (on S3 each wait is a round trip).
const FILES_AHEAD: usize = 2;

/// [`route_file`] for each input, in order, with the files fetched ahead.
pub(super) fn route_files(
    run: &Arc<Run>,
    wanted: &Arc<HashSet<String>>,
    inputs: &[(usize, String, u64)],
    jobs: usize,
) -> impl Iterator<Item = impl Future<Output = Result<u64>> + Send + 'static> {
    let (run, wanted) = (run.clone(), wanted.clone());
    let files = read::fetch_ahead(
        &run.source,
        inputs.iter().cloned(),
        |(_, path, size)| (path.as_str(), *size),
        FILES_AHEAD * jobs.max(1),
    );
    files.map(move |((ordinal, path, size), fetched)| {
        let (run, wanted) = (run.clone(), wanted.clone());
        async move {
            route_file(&run, &wanted, ordinal, &path, size, fetched)
                .await
                .inspect_err(|e| run.note_unreadable(&path, e))
        }
    })
}

/// Routes one source file. Its routing columns are read first, to see where each row
/// goes. When more than half of its rows go to one partition (a sink's files mostly
/// hold one hour), those rows are left in the file and read again when that
/// partition is rewritten: holding them until then would fill memory and spill most
/// of the run to disk. The other rows are read now and wait in their buckets. Every
/// row is numbered by its position in the file, so both reads number it alike.
/// Returns the file's size (for progress).
async fn route_file(
    run: &Run,
    wanted: &HashSet<String>,
    ordinal: usize,
    path: &str,
    size: u64,
    fetched: read::Prefetch,
) -> Result<u64> {
    let opened = read::open_prefetched(&run.source, path, size, fetched).await?;
    let total = opened.num_rows();
    let mut positions: HashMap<String, Vec<u64>> = HashMap::new();
    locate_rows(
        &run.router,
        opened.again()?,
        path,
        |partition, offset, rows| {
            let at = positions.entry(partition).or_default();
            at.extend(rows.iter().map(|&r| offset + u64::from(r)));
        },
    )
    .await?;
    positions.retain(|partition, _| wanted.contains(partition));
    let major = positions
        .iter()
        .max_by_key(|(_, rows)| rows.len())
        .filter(|(_, rows)| rows.len() as u64 * 2 > total)
        .map(|(partition, _)| partition.clone());
    if let Some(major) = &major {
        let rows = positions.remove(major).map_or(0, |r| r.len() as u64);
        let file = Reread {
            ordinal,
            path: path.to_string(),
            size,
            rows,
        };
        run.buckets.reread(major, file)?;
    }
    let mut minor: Vec<u64> = positions.into_values().flatten().collect();
    if minor.is_empty() {
        return Ok(size);
    }
    minor.sort_unstable();
    let reader = opened.only_rows(&minor);
    let mut next = 0usize;
    reader
        .read_each(None, |batch| {
            run.stop.check()?;
            run.count_decoded(&batch);
            let positions = &minor[next..next + batch.num_rows()];
            next += batch.num_rows();
            let numbers = positions.iter().map(|&p| new_delivery(ordinal, p));
            let numbered = number_rows(run, &batch, numbers, path)?;
            for (partition, rows) in run.router.route(&batch, path)? {
                if Some(&partition) != major.as_ref() && wanted.contains(&partition) {
                    let piece = take_record_batch(&numbered, &UInt32Array::from(rows))?;
                    run.buckets.add(&partition, piece)?;
                }
            }
            Ok(())
        })
        .await?;
    Ok(size)
}

/// `batch`, read from the source file at `path`, conformed to the table schema and
/// given its rows' delivery numbers.
fn number_rows(
    run: &Run,
    batch: &RecordBatch,
    numbers: impl Iterator<Item = u64>,
    path: &str,
) -> Result<RecordBatch> {
    let conformed = conform_batch(batch, &run.data_schema).map_err(|e| {
        Error::bad_input(
            run.source.display(path),
            format!("does not fit the table schema: {e}"),
        )
    })?;
    let numbers = UInt64Array::from_iter_values(numbers);
    Ok(add_deliveries(&conformed, &run.flow_schema, numbers)?)
}

/// The files a partition reads again, each fetched ahead of its read.
fn reread_ahead<'a>(
    run: &Run,
    rereads: &'a [Reread],
) -> impl Iterator<Item = (&'a Reread, read::Prefetch)> + use<'a> {
    read::fetch_ahead(
        &run.source,
        rereads,
        |file| (file.path.as_str(), file.size),
        FILES_AHEAD,
    )
}

/// Reads again a source file most of whose rows go to `partition`, handing over
/// those rows, numbered as on the first read.
async fn read_again(
    run: &Run,
    partition: &str,
    file: &Reread,
    fetched: read::Prefetch,
    mut each: impl FnMut(RecordBatch) -> Result<()>,
) -> Result<()> {
    let (mut offset, mut found) = (0u64, 0u64);
    let read = async {
        let opened = read::open_prefetched(&run.source, &file.path, file.size, fetched).await?;
        opened
            .read_each(None, |batch| {
                run.stop.check()?;
                let first = offset;
                offset += batch.num_rows() as u64;
                for (to, rows) in run.router.route(&batch, &file.path)? {
                    if to == partition {
                        let numbers = (first..offset).map(|p| new_delivery(file.ordinal, p));
                        let numbered = number_rows(run, &batch, numbers, &file.path)?;
                        found += rows.len() as u64;
                        each(take_record_batch(&numbered, &UInt32Array::from(rows))?)?;
                    }
                }
                Ok(())
            })
            .await
    };
    // the rows of a file's main partition are read whole only here
    read.await
        .inspect_err(|e| run.note_unreadable(&file.path, e))?;
    if found != file.rows {
        return Err(Error::bad_input(
            run.source.display(&file.path),
            format!(
                "changed while this run read it: {} rows for {partition} at first, {found} now; run again",
                file.rows
            ),
        ));
    }
    Ok(())
}

/// The dedup rule and sort keys as they apply inside one partition: columns that live
/// only in the path are constant there, so they drop out.
struct Rules {
    dedup: Option<DedupRule>,
    sort_by: Vec<String>,
}

impl Rules {
    fn new(definition: &TableDefinition, path_only: &[&str]) -> Result<Self> {
        let keep = |c: &String| !path_only.contains(&c.as_str());
        let dedup = match &definition.dedup {
            None => None,
            Some(rule) => {
                let key: Vec<String> = rule.key.iter().filter(|c| keep(c)).cloned().collect();
                if key.is_empty() {
                    return Err(Error::definition(
                        "dedup.key",
                        "every key column is also an identity partition column, so each partition would keep one row; add a key column",
                    ));
                }
                Some(DedupRule {
                    key,
                    keep: rule.keep,
                    order_by: rule.order_by.clone().filter(keep),
                })
            }
        };
        Ok(Rules {
            dedup,
            sort_by: definition
                .sort_by
                .iter()
                .filter(|c| keep(c))
                .cloned()
                .collect(),
        })
    }
}

/// Rewrites one partition: its current rows and its routed new rows, deduplicated,
/// sorted and written to a fresh folder. In memory when they fit the partition's
/// share of the memory limit, else through sorted runs on disk; or, when a few new
/// rows meet current files written under today's rules, patched in (see
/// `plan::patch`).
pub(super) async fn rewrite_partition(
    run: &Run,
    partition: PartitionPlan,
    before: Option<PartitionState>,
    bytes_per_row: Option<f64>,
) -> Result<Outcome> {
    let routed = run.buckets.take(&partition.partition)?;
    let rereads = routed.rereads.clone();
    // decoded size of rows not yet read: as routed rows weigh, else ~4× on disk
    let unread = |rows: u64, on_disk: u64| match bytes_per_row {
        Some(per_row) => (rows as f64 * per_row) as u64,
        None => on_disk * 4,
    };
    let reread_bytes = unread(
        rereads.iter().map(|r| r.rows).sum(),
        rereads.iter().map(|r| r.size).sum(),
    );
    let new_bytes = routed.bytes + reread_bytes;
    let total_bytes = new_bytes + unread(partition.current_rows, partition.current_bytes);
    // current files written under today's rules are sorted and deduplicated already
    let rules_hold = !partition.current_files.is_empty()
        && before
            .as_ref()
            .is_some_and(|b| b.stale_reasons(&run.definition).is_empty());
    // after a patch a partition is no longer one sorted sequence, which folding needs
    let foldable = rules_hold && !partition.current_files.iter().any(|f| is_delta(&f.path));
    // rows are sorted or folded where they lie and copied out a chunk at a time:
    // the rows once, plus keys, a chunk and the writer's pages
    let needed = total_bytes.saturating_mul(3) as usize / 2;
    let choice = partition.patch;
    let patch_needed = choice.map_or(0, |how| memory_needed(&partition, how, new_bytes, &unread));
    let may_patch = choice.filter(|_| patch_needed <= run.merge_share);

    let folder = if partition.partition.is_empty() {
        format!("run-{}", run.run_id)
    } else {
        format!("{}/run-{}", partition.partition, run.run_id)
    };
    // remember the folder before the first byte goes there
    run.written
        .lock()
        .map_err(|_| Error::Other("poisoned lock".into()))?
        .push(folder.clone());
    let mut current_files = Vec::with_capacity(partition.current_files.len());
    for file in &partition.current_files {
        current_files.push(if may_patch.is_some() {
            read::open_indexed(&run.target, &file.path, file.bytes).await?
        } else {
            read::open(&run.target, &file.path, file.bytes).await?
        });
    }
    let patching = may_patch.filter(|_| {
        current_files
            .iter()
            .all(|f| splicable(f, &run.data_schema, run.definition.compression))
    });
    let needed = if patching.is_some() {
        patch_needed
    } else {
        needed
    };
    // each of the `--jobs` rewrites at once gets an equal share: a partition that
    // took the whole budget would leave the other cores idle while it sorts
    // patching and folding only merge rows already sorted, so they may take the
    // whole share; a sort takes the sort buffer
    let budget = if foldable || patching.is_some() {
        run.merge_share
    } else {
        run.sort_buffer
    };
    let in_memory = needed <= budget;
    let permits = (needed.min(budget) / 1024).clamp(1, u32::MAX as usize) as u32;
    let _memory = run
        .merge_memory
        .acquire_many(permits)
        .await
        .map_err(|_| Error::Other("memory semaphore closed".into()))?;

    let mut plain_columns: Vec<ColumnPath> = run.rules.dedup.as_ref().map_or(Vec::new(), |d| {
        d.key.iter().map(|k| ColumnPath::from(k.as_str())).collect()
    });
    for file in &current_files {
        for column in undictionaried_columns(file.builder.metadata()) {
            if !plain_columns.contains(&column) {
                plain_columns.push(column);
            }
        }
    }
    let rows_in = partition.current_rows + partition.new_rows;
    let request = WriteRequest {
        target: &run.target,
        folder,
        compression: run.definition.compression,
        sort_by: &run.rules.sort_by,
        plain_columns,
        sizing: FileSizing {
            target_file_size: run.definition.target_file_size,
            bytes_per_row: partition.estimated_output_bytes.max(1) as f64 / rows_in.max(1) as f64,
        },
        name_prefix: PART_PREFIX,
        first_number: 0,
    };
    let (files, rows_after, duplicates_removed) = if let Some(how) = patching {
        let new = new_rows(run, &partition.partition, &rereads, routed).await?;
        let listed = &partition.current_files;
        let patched = patch(run, how, current_files, listed, new, request).await?;
        (patched.files, patched.rows, patched.duplicates_removed)
    } else if in_memory {
        let mut current = Vec::new();
        for (i, file) in current_files.into_iter().enumerate() {
            read_current(run, i, file, |b| {
                current.push(b);
                Ok(())
            })
            .await?;
        }
        let new = new_rows(run, &partition.partition, &rereads, routed).await?;
        let dedup = run.rules.dedup.as_ref();
        if foldable {
            run.folded.fetch_add(1, Ordering::Relaxed);
            let new = concat_batches(&run.flow_schema, &new)?;
            let folded = fold(current, &new, dedup, &run.rules.sort_by)?;
            drop(new);
            let (rows, duplicates) = (folded.rows, folded.duplicates_removed);
            let chunks = run.stoppable(folded.chunks(WRITE_CHUNK_ROWS));
            let files = write_sorted(request, &run.data_schema, rows, chunks).await?;
            (files, rows, duplicates)
        } else {
            current.extend(new);
            let sorted = sort_batches(current, dedup, &run.rules.sort_by)?;
            let (rows, duplicates) = (sorted.rows(), sorted.duplicates_removed);
            let chunks = run.stoppable(sorted.chunks(WRITE_CHUNK_ROWS));
            let files = write_sorted(request, &run.data_schema, rows, chunks).await?;
            (files, rows, duplicates)
        }
    } else {
        run.sorted_externally.fetch_add(1, Ordering::Relaxed);
        let mut builder = RunBuilder::new(
            run.flow_schema.clone(),
            run.rules.dedup.as_ref(),
            &run.rules.sort_by,
            run.sort_buffer,
            (rows_in, total_bytes),
            &run.spill,
        );
        for (i, file) in current_files.into_iter().enumerate() {
            read_current(run, i, file, |b| builder.push(b)).await?;
        }
        for (file, fetched) in reread_ahead(run, &rereads) {
            read_again(run, &partition.partition, file, fetched, |b| {
                builder.push(b)
            })
            .await?;
        }
        for batch in routed.stream()? {
            builder.push(batch?)?;
        }
        let runs = builder.finish()?;
        let (rows, duplicates) = (runs.rows, runs.duplicates_removed);
        let merged = run.stoppable(runs.merge()?);
        let files = write_sorted(request, &run.data_schema, rows, merged).await?;
        (files, rows, duplicates)
    };

    let mut consumed = before.map(|b| b.consumed).unwrap_or_default();
    consumed.extend(partition.inputs.iter().map(|i| i.path.clone()));
    let report = PartitionReport {
        partition: partition.partition.clone(),
        rows_before: partition.current_rows,
        rows_new: partition.new_rows,
        rows_after,
        duplicates_removed,
        files_removed: partition.current_files.len(),
        files_added: files.len(),
        bytes_written: files.iter().map(|f| f.bytes).sum(),
        source_files: partition.inputs.len(),
    };
    Ok(Outcome {
        report,
        state: PartitionState {
            files,
            consumed,
            sort_by: run.definition.sort_by.clone(),
            dedup: run.definition.doc.dedup.clone(),
        },
    })
}

/// A partition's new rows, in memory: those read again from the files mostly routed
/// to it, then those routed to it while scanning.
async fn new_rows(
    run: &Run,
    partition: &str,
    rereads: &[Reread],
    routed: Routed,
) -> Result<Vec<RecordBatch>> {
    let mut new = Vec::new();
    for (file, fetched) in reread_ahead(run, rereads) {
        read_again(run, partition, file, fetched, |b| {
            new.push(b);
            Ok(())
        })
        .await?;
    }
    new.extend(routed.batches()?);
    Ok(new)
}

/// Reads the `index`-th current file of a partition, numbering its rows as deliveries
/// older than any new row.
async fn read_current(
    run: &Run,
    index: usize,
    opened: read::OpenFile,
    mut each: impl FnMut(RecordBatch) -> Result<()>,
) -> Result<()> {
    let mut next_row = 0u64;
    opened
        .read_each(None, |batch| {
            run.stop.check()?;
            let conformed = conform_batch(&batch, &run.data_schema)?;
            let numbered = add_delivery(
                &conformed,
                &run.flow_schema,
                current_delivery(index, next_row),
            )?;
            next_row += batch.num_rows() as u64;
            each(numbered)
        })
        .await?;
    Ok(())
}
