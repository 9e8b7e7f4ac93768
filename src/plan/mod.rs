//! Pure planning: inventory + definition + snapshot → plan. Nothing here touches
//! storage; the caller lists and scans the source and hands over plain values, so the
//! rules about what is dirty and what a run selects are unit-tested on made-up inputs.

pub mod patch;
mod select;

pub use select::{Selection, Shard};

use crate::error::{Error, Result};
use crate::model::definition::TableDefinition;
use crate::model::snapshot::{DataFile, QuarantinedFile, Snapshot};
use patch::{Patch, choose_patch, is_delta};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A source file as listed, before its content is read.
#[derive(Clone, Debug, PartialEq)]
pub struct ListedFile {
    /// Relative to the source location, `/`-separated, still Hive-escaped.
    pub path: String,
    pub size: u64,
    pub e_tag: Option<String>,
    /// Microseconds since the epoch; orders deliveries (ties by path).
    pub last_modified: i64,
}

/// What scanning a not-yet-recorded source file found.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ScannedFile {
    pub rows: u64,
    /// Partition path → rows of the file that belong there.
    pub feeds: BTreeMap<Arc<str>, u64>,
}

/// The listing in delivery order: by modification time, then path.
pub fn delivery_order(mut listing: Vec<ListedFile>) -> Vec<ListedFile> {
    listing.sort_by(|a, b| {
        a.last_modified
            .cmp(&b.last_modified)
            .then_with(|| a.path.cmp(&b.path))
    });
    listing
}

/// The listed files the snapshot knows nothing of: they must be scanned before planning.
pub fn files_to_scan<'a>(
    listing: &'a [ListedFile],
    snapshot: Option<&Snapshot>,
) -> Vec<&'a ListedFile> {
    listing
        .iter()
        .filter(|f| snapshot.is_none_or(|s| !s.sources.contains_key(&f.path)))
        .collect()
}

/// The quarantine as this run leaves it.
#[derive(Clone, Debug, Default)]
pub struct Quarantine {
    /// Set aside by this run, keyed by path relative to the source.
    pub added: BTreeMap<String, QuarantinedFile>,
    /// Set aside by an earlier run and still as then: skipped.
    pub kept: BTreeMap<String, QuarantinedFile>,
    /// Set aside by an earlier run but replaced or deleted since: read again.
    pub released: Vec<String>,
}

impl Quarantine {
    /// Whether committing would change the quarantine recorded in the manifest.
    pub fn changed(&self) -> bool {
        !self.added.is_empty() || !self.released.is_empty()
    }

    /// The record of a refused file, for the manifest.
    pub fn record(file: &ListedFile, error: &Error) -> QuarantinedFile {
        let (column, reason) = match error {
            Error::BadInput { column, reason, .. } => (column.clone(), reason.clone()),
            other => (None, other.to_string()),
        };
        QuarantinedFile {
            size: file.size,
            e_tag: file.e_tag.clone(),
            column,
            reason,
            since: crate::model::snapshot::timestamp_now(),
        }
    }
}

/// A quarantined source file as `plan`, `compact` and `verify` show it.
#[derive(Clone, Debug, Serialize)]
pub struct QuarantinedSource {
    /// Relative to the source location.
    pub path: String,
    pub size: u64,
    pub column: Option<String>,
    pub reason: String,
    /// When it was set aside (for one set aside by this run: now).
    pub since: String,
    /// Set aside by this run rather than an earlier one.
    pub new: bool,
}

impl QuarantinedSource {
    pub fn list<'a>(
        records: impl IntoIterator<Item = (&'a String, &'a QuarantinedFile)>,
        new: bool,
    ) -> Vec<Self> {
        records
            .into_iter()
            .map(|(path, r)| QuarantinedSource {
                path: path.clone(),
                size: r.size,
                column: r.column.clone(),
                reason: r.reason.clone(),
                since: r.since.clone(),
                new,
            })
            .collect()
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub table: String,
    pub base_version: Option<u64>,
    pub source_files: usize,
    pub new_source_files: usize,
    /// Partitions with rows not yet consumed, in path order, selected or not.
    pub partitions: Vec<PartitionPlan>,
    /// Partitions whose files were written with other sort keys or dedup rule.
    pub stale_partitions: Vec<StalePartition>,
    /// New source files (relative path) with their scan, to be recorded on commit.
    #[serde(skip)]
    pub new_sources: Vec<(ListedFile, ScannedFile)>,
    /// Source files set aside as unreadable: earlier, or by this run with `--quarantine`.
    pub quarantined: Vec<QuarantinedSource>,
    /// Files quarantined earlier that were replaced or deleted since, so read again.
    pub released: Vec<String>,
    #[serde(skip)]
    pub quarantine: Quarantine,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PartitionPlan {
    pub partition: String,
    pub is_new: bool,
    pub selected: bool,
    /// Why the partition is dirty and why it is (not) selected, in words.
    pub reason: String,
    pub inputs: Vec<PlannedInput>,
    pub new_rows: u64,
    pub current_files: Vec<DataFile>,
    pub current_rows: u64,
    pub current_bytes: u64,
    pub estimated_output_bytes: u64,
    pub estimated_output_files: u64,
    /// How the new rows go in when they are patched in rather than the partition
    /// rewritten whole (none: rewritten whole). `compact` still rewrites it whole
    /// when its files cannot be copied or the patch does not fit its memory share.
    pub patch: Option<patch::Patch>,
}

#[derive(Clone, Debug, Serialize)]
pub struct PlannedInput {
    pub path: Arc<str>,
    pub size: u64,
    pub rows: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct StalePartition {
    pub partition: String,
    pub reason: String,
}

impl Plan {
    pub fn selected(&self) -> impl Iterator<Item = &PartitionPlan> {
        self.partitions.iter().filter(|p| p.selected)
    }

    pub fn is_noop(&self) -> bool {
        self.selected().next().is_none()
    }
}

/// Builds the plan. `listing` must be in [`delivery_order`], without the files in
/// `quarantine`; `scans` holds a scan for every file of [`files_to_scan`] (they move
/// into the plan's `new_sources`).
pub fn plan(
    definition: &TableDefinition,
    snapshot: Option<&Snapshot>,
    listing: &[ListedFile],
    mut scans: HashMap<String, ScannedFile>,
    quarantine: &Quarantine,
    selection: &Selection,
) -> Result<Plan> {
    let mut warnings = Vec::new();
    let mut new_sources = Vec::new();
    // partition → pending inputs, in delivery order
    let mut pending: BTreeMap<String, Vec<PlannedInput>> = BTreeMap::new();
    let listed: HashMap<&str, &ListedFile> = listing.iter().map(|f| (f.path.as_str(), f)).collect();

    for file in listing {
        let recorded = snapshot.and_then(|s| s.sources.get(&file.path));
        let feeds = match recorded {
            Some(record) => {
                if record.size != file.size {
                    return Err(Error::bad_input(
                        &file.path,
                        format!(
                            "changed after it was consumed ({} bytes then, {} now); laketidy cannot tell which rows are new. Restore it, or write changes as new files",
                            record.size, file.size
                        ),
                    ));
                }
                if record.e_tag.is_some() && file.e_tag.is_some() && record.e_tag != file.e_tag {
                    warnings.push(format!(
                        "{}: its ETag changed but not its size; treated as the same file",
                        file.path
                    ));
                }
                &record.feeds
            }
            None => {
                // moved, not copied: a scan holds every partition the file feeds
                let scan = scans.remove(&file.path).ok_or_else(|| {
                    Error::Other(format!(
                        "internal: source file {} was not scanned",
                        file.path
                    ))
                })?;
                new_sources.push((file.clone(), scan));
                &new_sources[new_sources.len() - 1].1.feeds
            }
        };
        // one shared path for the many partitions a file feeds
        let path: Arc<str> = Arc::from(file.path.as_str());
        for (partition, rows) in feeds {
            let consumed = snapshot
                .and_then(|s| s.partitions.get(&**partition))
                .is_some_and(|p| p.consumed.contains(file.path.as_str()));
            if !consumed {
                pending
                    .entry(partition.to_string())
                    .or_default()
                    .push(PlannedInput {
                        path: path.clone(),
                        size: file.size,
                        rows: *rows,
                    });
            }
        }
    }
    if let Some(snapshot) = snapshot {
        // (a quarantined file is never among them: only files no run has recorded are
        // quarantined, see `compact::quarantinable`)
        for (partition, paths) in snapshot.pending_sources() {
            if let Some(path) = paths.iter().find(|p| !listed.contains_key(**p)) {
                return Err(Error::bad_input(
                    path,
                    format!(
                        "was deleted before its rows reached partition {partition}; restore it or drop it on purpose"
                    ),
                ));
            }
        }
    }

    let scan_rows: HashMap<&str, u64> = new_sources
        .iter()
        .map(|(f, s)| (f.path.as_str(), s.rows))
        .collect();
    let total_rows_of = |input: &PlannedInput| -> u64 {
        scan_rows
            .get(&*input.path)
            .copied()
            .or_else(|| {
                snapshot
                    .and_then(|s| s.sources.get(&*input.path))
                    .map(|r| r.rows)
            })
            .unwrap_or(input.rows)
            .max(1)
    };

    let mut partitions = Vec::with_capacity(pending.len());
    let mut chosen = 0usize;
    for (partition, inputs) in pending {
        let current = snapshot.and_then(|s| s.partitions.get(&partition));
        let current_files = current.map(|p| p.files.clone()).unwrap_or_default();
        let current_rows: u64 = current_files.iter().map(|f| f.rows).sum();
        let current_bytes: u64 = current_files.iter().map(|f| f.bytes).sum();
        let new_rows: u64 = inputs.iter().map(|i| i.rows).sum();
        let input_bytes: u64 = inputs
            .iter()
            .map(|i| (i.size as u128 * i.rows as u128 / total_rows_of(i) as u128) as u64)
            .sum();
        let estimated_output_bytes = current_bytes + input_bytes;
        // files written under today's rules are sorted and deduplicated: a patch may do
        let rules_hold = current.is_some_and(|c| c.stale_reasons(definition).is_empty());
        let patch = rules_hold
            .then(|| choose_patch(&current_files, new_rows, definition.max_delta_files))
            .flatten();
        let deltas = current_files.iter().filter(|f| is_delta(&f.path)).count() as u64;
        let estimated_output_files = match patch {
            None => estimated_output_bytes
                .div_ceil(definition.target_file_size)
                .max(1),
            Some(Patch::AddDelta) => current_files.len() as u64 + 1,
            Some(Patch::MergeDeltas) => current_files.len() as u64 - deltas + 1,
        };
        let is_new = current_files.is_empty();
        let sources = inputs.len();
        let dirty_reason = match patch {
            _ if is_new => format!("new partition: {new_rows} rows from {sources} source files"),
            None => format!(
                "{new_rows} new rows from {sources} source files to merge into {current_rows} rows"
            ),
            Some(Patch::AddDelta) => format!(
                "{new_rows} new rows from {sources} source files to patch into {current_rows} rows as a delta file"
            ),
            Some(Patch::MergeDeltas) => format!(
                "{new_rows} new rows from {sources} source files to patch into {current_rows} rows, merging its {deltas} delta files into one"
            ),
        };
        let (selected, why) = selection.decide(&partition, chosen)?;
        if selected {
            chosen += 1;
        }
        partitions.push(PartitionPlan {
            reason: match why {
                None => dirty_reason,
                Some(why) => format!("{dirty_reason}; not selected: {why}"),
            },
            partition,
            is_new,
            selected,
            inputs,
            new_rows,
            current_files,
            current_rows,
            current_bytes,
            estimated_output_bytes,
            estimated_output_files,
            patch,
        });
    }

    let stale_partitions = snapshot
        .map(|s| {
            s.partitions
                .iter()
                .filter_map(|(path, state)| {
                    let why = state.stale_reasons(definition);
                    (!why.is_empty()).then(|| StalePartition {
                        partition: path.clone(),
                        reason: why.join("; "),
                    })
                })
                .collect()
        })
        .unwrap_or_default();

    Ok(Plan {
        table: definition.name.clone(),
        base_version: snapshot.map(|s| s.version),
        source_files: listing.len(),
        new_source_files: new_sources.len(),
        partitions,
        stale_partitions,
        new_sources,
        quarantined: QuarantinedSource::list(&quarantine.kept, false)
            .into_iter()
            .chain(QuarantinedSource::list(&quarantine.added, true))
            .collect(),
        released: quarantine.released.clone(),
        quarantine: quarantine.clone(),
        warnings,
    })
}

#[cfg(test)]
mod tests;
