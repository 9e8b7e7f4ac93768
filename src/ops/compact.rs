//! `plan` and `compact`: bring dirty partitions up to date and commit them at once.
//!
//! A run reads each needed source file once, routes its rows to the selected
//! partitions, merges each partition's new rows with its current files (dedup across
//! both), sorts, writes fresh files into a new folder of the partition, and commits
//! all partitions in one manifest version. Nothing is visible before that commit, and
//! a run that fails or loses a conflict deletes the files it wrote.

use super::inventory::{self, Inventory};
use super::{Progress, Table};
use crate::error::{Error, Result};
use crate::exec::buckets::{Buckets, Reread};
use crate::exec::external::RunBuilder;
use crate::exec::fold::fold;
use crate::exec::merge::{
    add_deliveries, add_delivery, current_delivery, new_delivery, sort_batches, with_delivery_field,
};
use crate::exec::route::locate_rows;
use crate::exec::spill::{SpillDir, batch_bytes};
use crate::exec::tasks::run_all;
use crate::exec::write::{FileSizing, WriteRequest, undictionaried_columns, write_sorted};
use crate::exec::{Router, read};
use crate::manifest::transaction::{self, Changes};
use crate::model::definition::{DedupRule, TableDefinition};
use crate::model::schema::{conform_batch, encode_schema, merge_encoded};
use crate::model::snapshot::{PartitionState, SourceRecord};
use crate::plan::{self, PartitionPlan, Plan, Selection};
use crate::storage::Location;
use crate::storage::counted::Requests;
use arrow::array::{RecordBatch, UInt32Array, UInt64Array};
use arrow::compute::{concat_batches, take_record_batch};
use arrow::datatypes::{Schema, SchemaRef};
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use parquet::schema::types::ColumnPath;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::Semaphore;

pub struct CompactOptions {
    pub selection: Selection,
    pub dry_run: bool,
    /// Files read and partitions rewritten at once.
    pub jobs: usize,
    /// Bytes of rows held in memory at once, all steps together; past it rows spill.
    pub memory_limit: u64,
    /// Where spill files go (a private folder inside it, removed after the run).
    pub spill_dir: PathBuf,
}

/// Shares of the memory limit: routed rows waiting for their partition, and
/// partitions being merged. The rest is headroom for decoding, encoding and the
/// allocator, which the accounting does not see.
const ROUTING_SHARE_PERCENT: usize = 25;
const MERGE_SHARE_PERCENT: usize = 30;

/// Rows handed to the Parquet writer at a time.
const WRITE_CHUNK_ROWS: usize = 64 * 1024;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// A new version was committed.
    Committed,
    /// No selected partition had new rows.
    NothingToDo,
    /// `--dry-run`: the plan only.
    DryRun,
}

#[derive(Clone, Debug, Serialize)]
pub struct CompactReport {
    pub table: String,
    pub status: Status,
    pub base_version: Option<u64>,
    pub version: Option<u64>,
    pub run_id: String,
    pub partitions: Vec<PartitionReport>,
    pub metrics: Metrics,
    /// Dirty partitions this run left for another (filter, shard, limit).
    pub partitions_skipped: usize,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Metrics {
    pub partitions_rewritten: usize,
    pub source_files_read: usize,
    pub source_bytes_read: u64,
    pub rows_read: u64,
    pub rows_written: u64,
    pub duplicates_removed: u64,
    pub files_removed: usize,
    pub files_added: usize,
    pub bytes_written: u64,
    /// Bytes of rows that went to local disk because they did not fit the memory limit.
    pub bytes_spilled: u64,
    /// Partitions too large for memory, sorted through runs on disk.
    pub partitions_sorted_externally: usize,
    /// Partitions whose new rows were merged into their sorted current rows, instead
    /// of sorting all of them again.
    pub partitions_folded: usize,
    /// Requests this run made to the source and target stores.
    pub requests: StoreRequests,
    pub duration_ms: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct StoreRequests {
    pub source: Requests,
    pub target: Requests,
    /// Source GET and HEAD requests per source file read (listing excluded): what
    /// reading a file costs on S3, footer and column ranges together.
    pub source_reads_per_file: f64,
}

impl StoreRequests {
    fn since(table: &Table, start: &(Requests, Requests), files_read: usize) -> Self {
        let source = table.source.requests.snapshot().since(&start.0);
        let target = table.target.requests.snapshot().since(&start.1);
        StoreRequests {
            source,
            target,
            source_reads_per_file: (source.get + source.head) as f64 / files_read.max(1) as f64,
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct PartitionReport {
    pub partition: String,
    pub rows_before: u64,
    pub rows_new: u64,
    pub rows_after: u64,
    pub duplicates_removed: u64,
    pub files_removed: usize,
    pub files_added: usize,
    pub bytes_written: u64,
    pub source_files: usize,
}

/// The plan for the table as it stands, and the inventory it came from.
pub async fn plan(
    table: &Table,
    selection: &Selection,
    jobs: usize,
    progress: &dyn Progress,
) -> Result<(Plan, Inventory)> {
    let inventory = inventory::take(table, jobs, progress).await?;
    if !inventory.schema.fields().is_empty() {
        table.definition.check_columns(&inventory.schema)?;
    }
    let plan = plan::plan(
        &table.definition,
        table.snapshot.as_ref(),
        &inventory.listing,
        &inventory.scans,
        selection,
    )?;
    Ok((plan, inventory))
}

pub async fn compact(
    table: &Table,
    options: &CompactOptions,
    progress: &dyn Progress,
) -> Result<CompactReport> {
    let started = Instant::now();
    let requests_before = (
        table.source.requests.snapshot(),
        table.target.requests.snapshot(),
    );
    let run_id = uuid::Uuid::now_v7().simple().to_string();
    let (plan, inventory) = plan(table, &options.selection, options.jobs, progress).await?;
    let skipped = plan.partitions.iter().filter(|p| !p.selected).count();
    let mut report = CompactReport {
        table: table.definition.name.clone(),
        status: Status::NothingToDo,
        base_version: plan.base_version,
        version: None,
        run_id: run_id.clone(),
        partitions: Vec::new(),
        metrics: Metrics::default(),
        partitions_skipped: skipped,
    };
    if plan.is_noop() {
        return Ok(report);
    }
    if options.dry_run {
        report.status = Status::DryRun;
        report.partitions = plan.selected().map(planned_report).collect();
        return Ok(report);
    }
    let table_schema = inventory.schema.clone();
    let run = Arc::new(prepare(table, options, &inventory, &run_id)?);
    let result = execute(table, options, &plan, &inventory, run.clone(), progress).await;
    let written = run.written.lock().map(|w| w.clone()).unwrap_or_default();
    // the spill folder goes now, whatever happened
    drop(run);
    let (outcomes, metrics) = match result {
        Ok(done) => done,
        Err(error) => {
            discard(table, &written).await;
            return Err(error);
        }
    };
    report.metrics = metrics;
    report.metrics.duration_ms = started.elapsed().as_millis() as u64;
    report.metrics.requests =
        StoreRequests::since(table, &requests_before, report.metrics.source_files_read);
    let changes = changes(
        table,
        &plan,
        &outcomes,
        &table_schema,
        &run_id,
        &report.metrics,
    );
    match transaction::commit(table.manifest.as_ref(), &changes, merge_encoded).await {
        Ok(snapshot) => {
            report.status = Status::Committed;
            report.version = Some(snapshot.version);
        }
        // the commit may have landed: keep the files, they may be referenced
        Err(error @ Error::CommitUnknown(_)) => return Err(error),
        Err(error) => {
            discard(table, &written).await;
            return Err(error);
        }
    }
    report.partitions = outcomes.into_iter().map(|o| o.report).collect();
    report.metrics.duration_ms = started.elapsed().as_millis() as u64;
    // the commit's own requests (a manifest under the target, say) count too
    report.metrics.requests =
        StoreRequests::since(table, &requests_before, report.metrics.source_files_read);
    Ok(report)
}

fn planned_report(p: &PartitionPlan) -> PartitionReport {
    PartitionReport {
        partition: p.partition.clone(),
        rows_before: p.current_rows,
        rows_new: p.new_rows,
        rows_after: p.current_rows + p.new_rows,
        duplicates_removed: 0,
        files_removed: p.current_files.len(),
        files_added: p.estimated_output_files as usize,
        bytes_written: p.estimated_output_bytes,
        source_files: p.inputs.len(),
    }
}

struct Outcome {
    report: PartitionReport,
    state: PartitionState,
}

/// Everything the run's tasks share, from the table and the options.
fn prepare(
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
    Ok(Run {
        source: table.source.clone(),
        target: table.target.clone(),
        router: inventory.router.clone(),
        buckets: Buckets::new(
            flow_schema.clone(),
            limit / 100 * ROUTING_SHARE_PERCENT,
            spill.clone(),
        ),
        data_schema,
        flow_schema,
        rules: Rules::new(&table.definition, &path_only)?,
        definition: table.definition.clone(),
        run_id: run_id.to_string(),
        spill,
        merge_memory: Arc::new(Semaphore::new((merge_budget / 1024).max(1))),
        merge_share: merge_budget / options.jobs.max(1),
        written: Mutex::new(Vec::new()),
        sorted_externally: AtomicUsize::new(0),
        folded: AtomicUsize::new(0),
        decoded_rows: AtomicU64::new(0),
        decoded_bytes: AtomicU64::new(0),
    })
}

/// What every task of a run shares.
struct Run {
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
    buckets: Buckets,
    spill: Arc<SpillDir>,
    /// Memory for merging partitions, in KiB permits.
    merge_memory: Arc<Semaphore>,
    /// What one partition rewrite may hold: the merge budget over `--jobs`.
    merge_share: usize,
    /// Folders this run may have written into, for cleanup after a failure.
    written: Mutex<Vec<String>>,
    sorted_externally: AtomicUsize,
    folded: AtomicUsize,
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

    /// In-memory bytes per row of the rows decoded so far.
    fn bytes_per_row(&self) -> Option<f64> {
        let rows = self.decoded_rows.load(Ordering::Relaxed);
        (rows > 0).then(|| self.decoded_bytes.load(Ordering::Relaxed) as f64 / rows as f64)
    }
}

/// Reads, routes, merges and writes every selected partition.
async fn execute(
    table: &Table,
    options: &CompactOptions,
    plan: &Plan,
    inventory: &Inventory,
    run: Arc<Run>,
    progress: &dyn Progress,
) -> Result<(Vec<Outcome>, Metrics)> {
    let selected: Vec<&PartitionPlan> = plan.selected().collect();
    let wanted: Arc<HashSet<String>> =
        Arc::new(selected.iter().map(|p| p.partition.clone()).collect());
    let ordinal: HashMap<&str, usize> = inventory
        .listing
        .iter()
        .enumerate()
        .map(|(i, f)| (f.path.as_str(), i))
        .collect();
    let mut inputs: Vec<(usize, String, u64)> = selected
        .iter()
        .flat_map(|p| p.inputs.iter())
        .map(|i| {
            (
                ordinal.get(i.path.as_str()).copied().unwrap_or(usize::MAX),
                i.path.clone(),
                i.size,
            )
        })
        .collect();
    inputs.sort_unstable();
    inputs.dedup();

    // 1. read every needed source file once and route its rows to their buckets
    progress.start(
        "reading source files",
        inputs.iter().map(|i| i.2).sum(),
        super::Unit::Bytes,
    );
    let reads = inputs.iter().cloned().map(|(ordinal, path, size)| {
        let (run, wanted) = (run.clone(), wanted.clone());
        async move { route_file(&run, &wanted, ordinal, &path, size).await }
    });
    run_all(options.jobs, reads, |size| progress.advance(*size)).await?;
    progress.finish();
    let rows_read = run.buckets.rows()?;
    let mut metrics = Metrics {
        source_files_read: inputs.len(),
        source_bytes_read: inputs.iter().map(|i| i.2).sum(),
        rows_read,
        ..Default::default()
    };

    // 2. merge, dedup, sort and write each partition
    progress.start(
        "rewriting partitions",
        selected.len() as u64,
        super::Unit::Partitions,
    );
    let bytes_per_row = run.bytes_per_row();
    let base = table.snapshot.as_ref();
    let rewrites = selected.iter().map(|p| {
        let (run, partition) = (run.clone(), (*p).clone());
        let before = base.and_then(|s| s.partitions.get(&p.partition)).cloned();
        async move { rewrite_partition(&run, partition, before, bytes_per_row).await }
    });
    let outcomes = run_all(options.jobs, rewrites, |_| progress.advance(1)).await?;
    progress.finish();
    for o in &outcomes {
        metrics.partitions_rewritten += 1;
        metrics.rows_written += o.report.rows_after;
        metrics.duplicates_removed += o.report.duplicates_removed;
        metrics.files_removed += o.report.files_removed;
        metrics.files_added += o.report.files_added;
        metrics.bytes_written += o.report.bytes_written;
    }
    metrics.bytes_spilled = run.spill.bytes_spilled();
    metrics.partitions_sorted_externally = run.sorted_externally.load(Ordering::Relaxed);
    metrics.partitions_folded = run.folded.load(Ordering::Relaxed);
    Ok((outcomes, metrics))
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
) -> Result<u64> {
    let opened = read::open(&run.source, path, size).await?;
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

/// Reads again a source file most of whose rows go to `partition`, handing over
/// those rows, numbered as on the first read.
async fn read_again(
    run: &Run,
    partition: &str,
    file: &Reread,
    mut each: impl FnMut(RecordBatch) -> Result<()>,
) -> Result<()> {
    let opened = read::open(&run.source, &file.path, file.size).await?;
    let (mut offset, mut found) = (0u64, 0u64);
    opened
        .read_each(None, |batch| {
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
        .await?;
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
/// share of the memory limit, else through sorted runs on disk.
async fn rewrite_partition(
    run: &Run,
    partition: PartitionPlan,
    before: Option<PartitionState>,
    bytes_per_row: Option<f64>,
) -> Result<Outcome> {
    let routed = run.buckets.take(&partition.partition)?;
    let rereads = routed.rereads.clone();
    // decoded size of rows not yet read: as routed rows weigh, else ~4× on disk
    let reread_rows: u64 = rereads.iter().map(|r| r.rows).sum();
    let unread_bytes = match bytes_per_row {
        Some(per_row) => ((partition.current_rows + reread_rows) as f64 * per_row) as u64,
        None => (partition.current_bytes + rereads.iter().map(|r| r.size).sum::<u64>()) * 4,
    };
    let total_bytes = routed.bytes + unread_bytes;
    // current files written under today's rules are sorted and deduplicated already
    let foldable = !partition.current_files.is_empty()
        && before.as_ref().is_some_and(|b| {
            b.sort_by == run.definition.sort_by && b.dedup == run.definition.doc.dedup
        });
    // rows are sorted or folded where they lie and copied out a chunk at a time:
    // the rows once, plus keys, a chunk and the writer's pages
    let needed = total_bytes.saturating_mul(3) as usize / 2;
    // each of the `--jobs` rewrites at once gets an equal share: a partition that
    // took the whole budget would leave the other cores idle while it sorts
    let in_memory = needed <= run.merge_share;
    let permits = (needed.min(run.merge_share) / 1024).clamp(1, u32::MAX as usize) as u32;
    let _memory = run
        .merge_memory
        .acquire_many(permits)
        .await
        .map_err(|_| Error::Other("memory semaphore closed".into()))?;

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
        current_files.push(read::open(&run.target, &file.path, file.bytes).await?);
    }
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
    };
    let (files, rows_after, duplicates_removed) = if in_memory {
        let mut current = Vec::new();
        for (i, file) in current_files.into_iter().enumerate() {
            read_current(run, i, file, |b| {
                current.push(b);
                Ok(())
            })
            .await?;
        }
        let mut new = Vec::new();
        for file in &rereads {
            read_again(run, &partition.partition, file, |b| {
                new.push(b);
                Ok(())
            })
            .await?;
        }
        new.extend(routed.batches()?);
        let dedup = run.rules.dedup.as_ref();
        if foldable {
            run.folded.fetch_add(1, Ordering::Relaxed);
            let new = concat_batches(&run.flow_schema, &new)?;
            let folded = fold(current, &new, dedup, &run.rules.sort_by)?;
            drop(new);
            let (rows, duplicates) = (folded.rows, folded.duplicates_removed);
            let chunks = folded.chunks(WRITE_CHUNK_ROWS).map(|c| Ok(c?));
            let files = write_sorted(request, &run.data_schema, rows, chunks).await?;
            (files, rows, duplicates)
        } else {
            current.extend(new);
            let sorted = sort_batches(current, dedup, &run.rules.sort_by)?;
            let (rows, duplicates) = (sorted.rows(), sorted.duplicates_removed);
            let chunks = sorted.chunks(WRITE_CHUNK_ROWS).map(|c| Ok(c?));
            let files = write_sorted(request, &run.data_schema, rows, chunks).await?;
            (files, rows, duplicates)
        }
    } else {
        run.sorted_externally.fetch_add(1, Ordering::Relaxed);
        let mut builder = RunBuilder::new(
            run.flow_schema.clone(),
            run.rules.dedup.as_ref(),
            &run.rules.sort_by,
            run.merge_share,
            total_bytes,
            &run.spill,
        );
        for (i, file) in current_files.into_iter().enumerate() {
            read_current(run, i, file, |b| builder.push(b)).await?;
        }
        for file in &rereads {
            read_again(run, &partition.partition, file, |b| builder.push(b)).await?;
        }
        for batch in routed.stream()? {
            builder.push(batch?)?;
        }
        let runs = builder.finish()?;
        let (rows, duplicates) = (runs.rows, runs.duplicates_removed);
        let files = write_sorted(request, &run.data_schema, rows, runs.merge()?).await?;
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

fn changes(
    table: &Table,
    plan: &Plan,
    outcomes: &[Outcome],
    schema: &Schema,
    run_id: &str,
    metrics: &Metrics,
) -> Changes {
    let base = table.snapshot.as_ref();
    Changes {
        table: table.definition.name.clone(),
        definition: table.definition.doc.clone(),
        schema: Some(encode_schema(schema)),
        base_version: plan.base_version,
        partitions: outcomes
            .iter()
            .map(|o| {
                let before = base
                    .and_then(|s| s.partitions.get(&o.report.partition))
                    .cloned();
                (o.report.partition.clone(), (before, Some(o.state.clone())))
            })
            .collect(),
        sources: plan
            .new_sources
            .iter()
            .map(|(file, scan)| {
                let record = SourceRecord {
                    size: file.size,
                    e_tag: file.e_tag.clone(),
                    rows: scan.rows,
                    feeds: scan.feeds.clone(),
                };
                (file.path.clone(), record)
            })
            .collect::<BTreeMap<_, _>>(),
        commit: super::maintain::commit_info(
            "compact",
            run_id,
            serde_json::to_value(metrics).unwrap_or_default(),
        ),
    }
}

/// Deletes the folders this run wrote; they are referenced by no snapshot.
async fn discard(table: &Table, folders: &[String]) {
    for folder in folders {
        let prefix = table.target.to_store(folder);
        let listed: Vec<_> = table
            .target
            .store
            .list(Some(&prefix))
            .try_collect()
            .await
            .unwrap_or_default();
        for meta in listed {
            let _ = table.target.store.delete(&meta.location).await;
        }
        if table.target.is_local()
            && let Ok(dir) = table.target.url.to_file_path()
        {
            let _ = std::fs::remove_dir(dir.join(folder));
        }
    }
}
