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
use crate::exec::merge::dedup_and_sort;
use crate::exec::read;
use crate::exec::write::{FileSizing, WriteRequest, write_files};
use crate::manifest::transaction::{self, Changes};
use crate::model::definition::DedupRule;
use crate::model::schema::{conform_batch, encode_schema, merge_encoded};
use crate::model::snapshot::{PartitionState, SourceRecord};
use crate::plan::{self, PartitionPlan, Plan, Selection};
use arrow::array::RecordBatch;
use arrow::compute::{concat_batches, take_record_batch};
use arrow::datatypes::{Schema, SchemaRef};
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStoreExt;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;

pub struct CompactOptions {
    pub selection: Selection,
    pub dry_run: bool,
    /// Files read and partitions rewritten at once.
    pub jobs: usize,
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
    pub duration_ms: u64,
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
    let written = Mutex::new(Vec::<String>::new());
    let result = execute(
        table, options, &plan, &inventory, &run_id, &written, progress,
    )
    .await;
    let (outcomes, metrics, table_schema) = match result {
        Ok(done) => done,
        Err(error) => {
            discard(table, &written).await;
            return Err(error);
        }
    };
    report.metrics = metrics;
    report.metrics.duration_ms = started.elapsed().as_millis() as u64;
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

/// A source file's rows, split by the selected partitions they belong to.
struct RoutedFile {
    schema: Schema,
    pieces: Vec<(String, RecordBatch)>,
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
    run_id: &str,
    written: &Mutex<Vec<String>>,
    progress: &dyn Progress,
) -> Result<(Vec<Outcome>, Metrics, Schema)> {
    let selected: Vec<&PartitionPlan> = plan.selected().collect();
    let wanted: HashSet<&str> = selected.iter().map(|p| p.partition.as_str()).collect();
    let ordinal: HashMap<&str, usize> = inventory
        .listing
        .iter()
        .enumerate()
        .map(|(i, f)| (f.path.as_str(), i))
        .collect();
    let mut inputs: Vec<(usize, &str, u64)> = selected
        .iter()
        .flat_map(|p| p.inputs.iter())
        .map(|i| {
            (
                ordinal.get(i.path.as_str()).copied().unwrap_or(usize::MAX),
                i.path.as_str(),
                i.size,
            )
        })
        .collect();
    inputs.sort_unstable();
    inputs.dedup();

    // 1. read every needed source file once and route its rows
    progress.start(
        "reading source files",
        inputs.iter().map(|i| i.2).sum(),
        super::Unit::Bytes,
    );
    let router = &inventory.router;
    let wanted = &wanted;
    let routed: Vec<RoutedFile> = futures::stream::iter(inputs.iter().copied())
        .map(|(_, path, size)| async move {
            let opened = read::open(&table.source, path, size).await?;
            let schema = opened.schema().as_ref().clone();
            let mut pieces = Vec::new();
            for batch in opened.read(None).await? {
                for (partition, rows) in router.route(&batch, path)? {
                    if wanted.contains(partition.as_str()) {
                        let rows = arrow::array::UInt32Array::from(rows);
                        pieces.push((partition, take_record_batch(&batch, &rows)?));
                    }
                }
            }
            progress.advance(size);
            Ok::<_, Error>(RoutedFile { schema, pieces })
        })
        .buffered(options.jobs.max(1))
        .try_collect()
        .await?;
    progress.finish();

    let mut table_schema = inventory.schema.clone();
    for ((_, path, _), file) in inputs.iter().zip(&routed) {
        table_schema =
            inventory::merge_into(&table_schema, &file.schema, &table.source.display(path))?;
    }
    let path_only = table.definition.path_only_columns();
    let data_schema: SchemaRef = Arc::new(Schema::new(
        table_schema
            .fields()
            .iter()
            .filter(|f| !path_only.contains(&f.name().as_str()))
            .cloned()
            .collect::<Vec<_>>(),
    ));
    let mut buckets: HashMap<String, Vec<RecordBatch>> = HashMap::new();
    let mut metrics = Metrics {
        source_files_read: inputs.len(),
        source_bytes_read: inputs.iter().map(|i| i.2).sum(),
        ..Default::default()
    };
    for file in routed {
        for (partition, batch) in file.pieces {
            metrics.rows_read += batch.num_rows() as u64;
            buckets.entry(partition).or_default().push(batch);
        }
    }

    // 2. merge, dedup, sort and write each partition
    let rules = Rules::new(&table.definition, &path_only)?;
    progress.start(
        "rewriting partitions",
        selected.len() as u64,
        super::Unit::Partitions,
    );
    let work: Vec<(&PartitionPlan, Vec<RecordBatch>)> = selected
        .iter()
        .map(|p| (*p, buckets.remove(&p.partition).unwrap_or_default()))
        .collect();
    let outcomes: Vec<Outcome> = futures::stream::iter(work)
        .map(|(partition, new_rows)| {
            let (data_schema, rules) = (data_schema.clone(), &rules);
            async move {
                let outcome = rewrite_partition(
                    table,
                    partition,
                    new_rows,
                    data_schema,
                    rules,
                    run_id,
                    written,
                )
                .await?;
                progress.advance(1);
                Ok::<_, Error>(outcome)
            }
        })
        .buffered(options.jobs.max(1))
        .try_collect()
        .await?;
    progress.finish();
    for o in &outcomes {
        metrics.partitions_rewritten += 1;
        metrics.rows_written += o.report.rows_after;
        metrics.duplicates_removed += o.report.duplicates_removed;
        metrics.files_removed += o.report.files_removed;
        metrics.files_added += o.report.files_added;
        metrics.bytes_written += o.report.bytes_written;
    }
    Ok((outcomes, metrics, table_schema))
}

/// The dedup rule and sort keys as they apply inside one partition: columns that live
/// only in the path are constant there, so they drop out.
struct Rules {
    dedup: Option<DedupRule>,
    sort_by: Vec<String>,
}

impl Rules {
    fn new(definition: &crate::model::TableDefinition, path_only: &[&str]) -> Result<Self> {
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

async fn rewrite_partition(
    table: &Table,
    partition: &PartitionPlan,
    new_rows: Vec<RecordBatch>,
    data_schema: SchemaRef,
    rules: &Rules,
    run_id: &str,
    written: &Mutex<Vec<String>>,
) -> Result<Outcome> {
    let mut batches = Vec::new();
    for file in &partition.current_files {
        let opened = read::open(&table.target, &file.path, file.bytes).await?;
        for batch in opened.read(None).await? {
            batches.push(conform_batch(&batch, &data_schema)?);
        }
    }
    for batch in &new_rows {
        batches.push(conform_batch(batch, &data_schema)?);
    }
    let combined = concat_batches(&data_schema, &batches)?;
    drop(batches);
    let rows_in = combined.num_rows() as u64;
    let (dedup, sort_by) = (rules.dedup.clone(), rules.sort_by.clone());
    let merged =
        tokio::task::spawn_blocking(move || dedup_and_sort(&combined, dedup.as_ref(), &sort_by))
            .await
            .map_err(|e| Error::Other(format!("merge task failed: {e}")))??;

    let estimate_bytes = partition.estimated_output_bytes.max(1) as f64;
    let sizing = FileSizing {
        target_file_size: table.definition.target_file_size,
        bytes_per_row: estimate_bytes / rows_in.max(1) as f64,
    };
    let folder = if partition.partition.is_empty() {
        format!("run-{run_id}")
    } else {
        format!("{}/run-{run_id}", partition.partition)
    };
    let files = write_files(
        WriteRequest {
            target: &table.target,
            folder: folder.clone(),
            compression: table.definition.compression,
            sort_by: &rules.sort_by,
            sizing,
        },
        &merged.batch,
    )
    .await;
    // remember what may have been written, even on failure
    written
        .lock()
        .map_err(|_| Error::Other("poisoned lock".into()))?
        .push(folder);
    let files = files?;

    let base = table
        .snapshot
        .as_ref()
        .and_then(|s| s.partitions.get(&partition.partition));
    let mut consumed = base.map(|b| b.consumed.clone()).unwrap_or_default();
    consumed.extend(partition.inputs.iter().map(|i| i.path.clone()));
    let report = PartitionReport {
        partition: partition.partition.clone(),
        rows_before: partition.current_rows,
        rows_new: partition.new_rows,
        rows_after: merged.batch.num_rows() as u64,
        duplicates_removed: merged.duplicates_removed,
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
            sort_by: table.definition.sort_by.clone(),
            dedup: table.definition.doc.dedup.clone(),
        },
    })
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
async fn discard(table: &Table, folders: &Mutex<Vec<String>>) {
    let folders = folders.lock().map(|f| f.clone()).unwrap_or_default();
    for folder in folders {
        let prefix = table.target.to_store(&folder);
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
            let _ = std::fs::remove_dir(dir.join(&folder));
        }
    }
}
