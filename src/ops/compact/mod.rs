//! `plan` and `compact`: bring dirty partitions up to date and commit them at once.
//!
//! A run reads each needed source file once, routes its rows to the selected
//! partitions, merges each partition's new rows with its current files (dedup across
//! both), sorts, writes fresh files into a new folder of the partition, and commits
//! all partitions in one manifest version. Nothing is visible before that commit, and
//! a run that fails or loses a conflict deletes the files it wrote.

mod partition;

use super::inventory::{self, Inventory, OnBadInput};
use super::{Progress, Table};
use crate::error::{Error, Result};
use crate::exec::tasks::run_all;
use crate::manifest::transaction::{self, Changes};
use crate::model::schema::{encode_schema, merge_encoded};
use crate::model::snapshot::{PartitionState, QuarantinedFile, SourceRecord};
use crate::plan::{self, PartitionPlan, Plan, QuarantinedSource, Selection};
use crate::stop::Stop;
use crate::storage::counted::Requests;
use arrow::datatypes::Schema;
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use partition::{Run, prepare, rewrite_partition, route_files};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

pub struct CompactOptions {
    pub selection: Selection,
    pub dry_run: bool,
    /// Files read and partitions rewritten at once.
    pub jobs: usize,
    /// Bytes of rows held in memory at once, all steps together; past it rows spill.
    pub memory_limit: u64,
    /// Bytes one job sorts in memory, at most its share of `memory_limit`.
    pub sort_buffer: u64,
    /// Where spill files go (a private folder inside it, removed after the run).
    pub spill_dir: PathBuf,
    /// Stop at a source file that cannot be used, or quarantine it and go on.
    pub on_bad: OnBadInput,
    /// A signal's request to stop: the run removes what it wrote and commits nothing.
    pub stop: Stop,
}

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
    /// Source files set aside as unreadable, by this run (`new`) or earlier.
    pub quarantined: Vec<QuarantinedSource>,
    /// Files quarantined earlier that were replaced or deleted, so read again.
    pub released: Vec<String>,
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
    /// Partitions whose new rows went into a delta file beside their current files,
    /// which were written again without the rows the new ones superseded.
    pub partitions_patched: usize,
    /// Patched partitions whose delta files were merged into one, with the new rows.
    pub partitions_deltas_merged: usize,
    /// Row groups of patched partitions copied as they were encoded.
    pub row_groups_copied: usize,
    /// Row groups of patched partitions decoded and encoded again, because they lost
    /// superseded rows.
    pub row_groups_reencoded: usize,
    /// Source files this run set aside as unreadable (`--quarantine`).
    pub files_quarantined: usize,
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

/// The plan for the table as it stands, and the inventory it came from. `set_aside`:
/// files this run already refused while reading them (see [`compact`]).
pub async fn plan(
    table: &Table,
    selection: &Selection,
    jobs: usize,
    on_bad: OnBadInput,
    set_aside: &BTreeMap<String, QuarantinedFile>,
    progress: &dyn Progress,
) -> Result<(Plan, Inventory)> {
    let mut inventory = inventory::take(table, jobs, on_bad, set_aside, progress).await?;
    if !inventory.schema.fields().is_empty() {
        table.definition.check_columns(&inventory.schema)?;
    }
    let plan = plan::plan(
        &table.definition,
        table.snapshot.as_ref(),
        &inventory.listing,
        std::mem::take(&mut inventory.scans),
        &inventory.quarantine,
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
    // Most damage shows when a file is scanned; damage in columns the scan does not
    // read shows only when the file is read whole. Such files are quarantined and the
    // run starts over without them: routing comes before any write, and each round
    // sets at least one more file aside, so this ends.
    let mut set_aside = BTreeMap::new();
    loop {
        match attempt(
            table,
            options,
            &set_aside,
            started,
            &requests_before,
            progress,
        )
        .await?
        {
            Attempt::Done(report) => return Ok(*report),
            Attempt::SetAside(files) => set_aside.extend(files),
        }
    }
}

enum Attempt {
    Done(Box<CompactReport>),
    /// Source files failed while being read in full; quarantine them and try again.
    SetAside(BTreeMap<String, QuarantinedFile>),
}

async fn attempt(
    table: &Table,
    options: &CompactOptions,
    set_aside: &BTreeMap<String, QuarantinedFile>,
    started: Instant,
    requests_before: &(Requests, Requests),
    progress: &dyn Progress,
) -> Result<Attempt> {
    let run_id = uuid::Uuid::now_v7().simple().to_string();
    let planning = plan(
        table,
        &options.selection,
        options.jobs,
        options.on_bad,
        set_aside,
        progress,
    );
    // planning writes nothing, so a stop asked for while it runs drops it at once
    let (mut plan, inventory) = tokio::select! {
        planned = planning => planned?,
        signal = options.stop.wait() => return Err(Error::Interrupted(signal)),
    };
    let skipped = plan.partitions.iter().filter(|p| !p.selected).count();
    let mut report = CompactReport {
        table: table.definition.name.clone(),
        status: Status::NothingToDo,
        base_version: plan.base_version,
        version: None,
        run_id: run_id.clone(),
        partitions: Vec::new(),
        metrics: Metrics {
            files_quarantined: plan.quarantine.added.len(),
            ..Default::default()
        },
        partitions_skipped: skipped,
        quarantined: plan.quarantined.clone(),
        released: plan.released.clone(),
    };
    if plan.is_noop() && !plan.quarantine.changed() {
        return Ok(Attempt::Done(Box::new(report)));
    }
    if options.dry_run {
        report.status = Status::DryRun;
        report.partitions = plan.selected().map(planned_report).collect();
        return Ok(Attempt::Done(Box::new(report)));
    }
    // a stop asked for just as planning ended (select! may take either) ends it here
    options.stop.check()?;
    let table_schema = inventory.schema.clone();
    let run = Arc::new(prepare(table, options, &inventory, &run_id)?);
    let result = execute(table, options, &plan, &inventory, run.clone(), progress)
        .await
        // asked after the last batch: stop before the commit, not after it
        .and_then(|done| options.stop.check().map(|()| done));
    let written = run.written.lock().map(|w| w.clone()).unwrap_or_default();
    let unreadable = run
        .unreadable
        .lock()
        .map(|mut u| std::mem::take(&mut *u))
        .unwrap_or_default();
    // the spill folder goes now, whatever happened
    drop(run);
    let (mut outcomes, metrics) = match result {
        Ok(done) => done,
        Err(error) => {
            discard(table, &written).await;
            if options.on_bad == OnBadInput::Quarantine
                && matches!(error, Error::BadInput { .. })
                && let Some(files) = quarantinable(table, &inventory, unreadable)
            {
                return Ok(Attempt::SetAside(files));
            }
            return Err(error);
        }
    };
    report.metrics = Metrics {
        files_quarantined: report.metrics.files_quarantined,
        ..metrics
    };
    report.metrics.duration_ms = started.elapsed().as_millis() as u64;
    report.metrics.requests =
        StoreRequests::since(table, requests_before, report.metrics.source_files_read);
    let changes = changes(
        table,
        &mut plan,
        &mut outcomes,
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
        StoreRequests::since(table, requests_before, report.metrics.source_files_read);
    Ok(Attempt::Done(Box::new(report)))
}

/// The records for files found unreadable while reading them whole, or `None` when
/// one cannot be quarantined: a file an earlier run already took rows from (for other
/// partitions) would then look deleted or changed to every later run. It stops the
/// run as without `--quarantine`, and the file must be restored.
fn quarantinable(
    table: &Table,
    inventory: &Inventory,
    unreadable: BTreeMap<String, Error>,
) -> Option<BTreeMap<String, QuarantinedFile>> {
    if unreadable.is_empty() {
        return None;
    }
    let recorded = |path: &str| {
        table
            .snapshot
            .as_ref()
            .is_some_and(|s| s.sources.contains_key(path))
    };
    unreadable
        .into_iter()
        .map(|(path, error)| {
            let file = inventory.listing.iter().find(|f| f.path == path)?;
            (!recorded(&path)).then(|| {
                let record = plan::Quarantine::record(file, &error);
                (path, record)
            })
        })
        .collect()
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
    // a file feeds many partitions: its path is copied once, after dedup
    let mut inputs: Vec<(usize, &str, u64)> = selected
        .iter()
        .flat_map(|p| p.inputs.iter())
        .map(|i| {
            (
                ordinal.get(&*i.path).copied().unwrap_or(usize::MAX),
                &*i.path,
                i.size,
            )
        })
        .collect();
    inputs.sort_unstable();
    inputs.dedup();
    let inputs: Vec<(usize, String, u64)> = inputs
        .into_iter()
        .map(|(ordinal, path, size)| (ordinal, path.to_string(), size))
        .collect();

    // 1. read every needed source file once and route its rows to their buckets
    progress.start(
        "reading source files",
        inputs.iter().map(|i| i.2).sum(),
        super::Unit::Bytes,
    );
    let reads = route_files(&run, &wanted, &inputs, options.jobs);
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
    metrics.partitions_patched = run.patched.load(Ordering::Relaxed);
    metrics.partitions_deltas_merged = run.deltas_merged.load(Ordering::Relaxed);
    metrics.row_groups_copied = run.row_groups_copied.load(Ordering::Relaxed);
    metrics.row_groups_reencoded = run.row_groups_reencoded.load(Ordering::Relaxed);
    Ok((outcomes, metrics))
}

/// What this run commits. The partitions' new states are moved out of `outcomes`,
/// and the new sources' feeds out of `plan`, rather than copied: together they hold
/// every source path consumed and every partition each source feeds.
fn changes(
    table: &Table,
    plan: &mut Plan,
    outcomes: &mut [Outcome],
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
            .iter_mut()
            .map(|o| {
                let before = base
                    .and_then(|s| s.partitions.get(&o.report.partition))
                    .cloned();
                let state = std::mem::take(&mut o.state);
                (o.report.partition.clone(), (before, Some(state)))
            })
            .collect(),
        sources: plan
            .new_sources
            .iter_mut()
            .map(|(file, scan)| {
                let record = SourceRecord {
                    size: file.size,
                    e_tag: file.e_tag.clone(),
                    rows: scan.rows,
                    feeds: std::mem::take(&mut scan.feeds),
                };
                (file.path.clone(), record)
            })
            .collect::<BTreeMap<_, _>>(),
        quarantined: plan.quarantine.added.clone(),
        released: plan.quarantine.released.clone(),
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
