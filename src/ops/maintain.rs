//! `verify`, `rollback` and `vacuum`: keeping the manifest and the files in step.

use super::Table;
use crate::error::{Error, Result};
use crate::exec::read;
use crate::manifest::transaction::{self, Changes};
use crate::manifest::{load_commit, load_snapshot};
use crate::model::schema::merge_encoded;
use crate::model::snapshot::{CommitInfo, Snapshot};
use crate::plan::QuarantinedSource;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Serialize)]
pub struct Damage {
    pub location: String,
    pub problem: String,
}

#[derive(Debug, Serialize)]
pub struct VerifyReport {
    pub table: String,
    pub version: u64,
    pub files_checked: usize,
    pub damaged: Vec<Damage>,
    /// Files in the target that no retained snapshot references (not damage).
    pub orphans: Vec<String>,
    /// Source files set aside by `--quarantine` (not damage: their rows wait for a fix).
    pub quarantined: Vec<QuarantinedSource>,
}

fn current(table: &Table) -> Result<&Snapshot> {
    table.snapshot.as_ref().ok_or_else(|| {
        Error::Usage(format!(
            "{} has no committed version yet: run compact first",
            table.definition.name
        ))
    })
}

/// The oldest version whose document is still in the manifest.
async fn oldest_retained(table: &Table, latest: u64) -> Result<u64> {
    let mut oldest = latest;
    while oldest > 1
        && load_commit(table.manifest.as_ref(), &table.definition.name, oldest - 1)
            .await?
            .is_some()
    {
        oldest -= 1;
    }
    Ok(oldest)
}

/// Every data file (target-relative) that a version from `from` to the newest references.
async fn referenced_since(table: &Table, from: u64) -> Result<BTreeSet<String>> {
    let (name, store) = (&table.definition.name, table.manifest.as_ref());
    let base = load_snapshot(store, name, from)
        .await?
        .ok_or_else(|| Error::Manifest(format!("version {from} of {name} cannot be read")))?;
    let mut referenced: BTreeSet<String> = base
        .partitions
        .values()
        .flat_map(|p| p.files.iter().map(|f| f.path.clone()))
        .collect();
    let latest = table.base_version().unwrap_or(from);
    for v in from + 1..=latest {
        if let Some(commit) = load_commit(store, name, v).await? {
            referenced.extend(
                commit
                    .partitions
                    .values()
                    .flat_map(|p| p.files.iter().map(|f| f.path.clone())),
            );
        }
    }
    Ok(referenced)
}

/// Every data object under the target, with its size and age. Hidden names
/// (`_laketidy/`, `_SUCCESS`, `.crc`) are not data and never vacuumed.
async fn target_objects(table: &Table) -> Result<Vec<(String, u64, DateTime<Utc>)>> {
    let prefix = table.target.to_store("");
    let listed: Vec<_> = match table.target.store.list(Some(&prefix)).try_collect().await {
        Ok(listed) => listed,
        Err(object_store::Error::NotFound { .. }) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    Ok(listed
        .into_iter()
        .filter_map(|meta| {
            let relative = table.target.relative(&meta.location)?;
            (!crate::model::hive::is_hidden(&relative)).then_some((
                relative,
                meta.size,
                meta.last_modified,
            ))
        })
        .collect())
}

pub async fn verify(table: &Table) -> Result<VerifyReport> {
    let snapshot = current(table)?;
    let mut damaged = Vec::new();
    let mut files_checked = 0;
    for file in snapshot.partitions.values().flat_map(|p| &p.files) {
        files_checked += 1;
        let location = table.target.display(&file.path);
        let problem = match table
            .target
            .store
            .head(&table.target.to_store(&file.path))
            .await
        {
            Err(object_store::Error::NotFound { .. }) => Some("missing".to_string()),
            Err(e) => return Err(e.into()),
            Ok(meta) if meta.size != file.bytes => Some(format!(
                "{} bytes, the manifest recorded {}",
                meta.size, file.bytes
            )),
            Ok(_) => match read::open(&table.target, &file.path, file.bytes).await {
                Ok(opened) if opened.num_rows() != file.rows => Some(format!(
                    "{} rows, the manifest recorded {}",
                    opened.num_rows(),
                    file.rows
                )),
                Ok(_) => None,
                Err(Error::BadInput { reason, .. }) => Some(reason),
                Err(e) => return Err(e),
            },
        };
        if let Some(problem) = problem {
            damaged.push(Damage { location, problem });
        }
    }
    let oldest = oldest_retained(table, snapshot.version).await?;
    let referenced = referenced_since(table, oldest).await?;
    let orphans = target_objects(table)
        .await?
        .into_iter()
        .filter(|(path, _, _)| !referenced.contains(path))
        .map(|(path, _, _)| table.target.display(&path))
        .collect();
    Ok(VerifyReport {
        table: snapshot.table.clone(),
        version: snapshot.version,
        files_checked,
        damaged,
        orphans,
        quarantined: QuarantinedSource::list(&snapshot.quarantined, false),
    })
}

#[derive(Debug, Serialize)]
pub struct RollbackReport {
    pub table: String,
    pub to_version: u64,
    pub version: Option<u64>,
    pub partitions_changed: usize,
}

/// A new commit whose partitions are those of `to_version`. The source files consumed
/// after it become pending again, so the next compact brings their rows back in
/// exactly once (after, say, a fixed definition).
pub async fn rollback(table: &Table, to_version: u64) -> Result<RollbackReport> {
    let latest = current(table)?;
    let (name, store) = (&table.definition.name, table.manifest.as_ref());
    let target = load_snapshot(store, name, to_version).await?.ok_or_else(|| {
        Error::Usage(format!("{name} has no version {to_version} (expired by vacuum, or never written); see `laketidy history`"))
    })?;
    let names: BTreeSet<&String> = latest
        .partitions
        .keys()
        .chain(target.partitions.keys())
        .collect();
    let partitions: BTreeMap<_, _> = names
        .into_iter()
        .filter(|p| latest.partitions.get(*p) != target.partitions.get(*p))
        .map(|p| {
            (
                p.clone(),
                (
                    latest.partitions.get(p).cloned(),
                    target.partitions.get(p).cloned(),
                ),
            )
        })
        .collect();
    let mut report = RollbackReport {
        table: name.clone(),
        to_version,
        version: None,
        partitions_changed: partitions.len(),
    };
    if partitions.is_empty() {
        return Ok(report);
    }
    let changes = Changes {
        table: name.clone(),
        definition: latest.definition.clone(),
        schema: latest.schema.clone(),
        base_version: Some(latest.version),
        partitions,
        sources: BTreeMap::new(),
        quarantined: BTreeMap::new(),
        released: Vec::new(),
        commit: commit_info(
            "rollback",
            &uuid::Uuid::now_v7().simple().to_string(),
            serde_json::json!({"to_version": to_version}),
        ),
    };
    report.version = Some(
        transaction::commit(store, &changes, merge_encoded)
            .await?
            .version,
    );
    Ok(report)
}

/// Commit metadata: when, what, which laketidy on which host, which run.
pub fn commit_info(operation: &str, run_id: &str, metrics: serde_json::Value) -> CommitInfo {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".into());
    CommitInfo {
        timestamp: crate::model::snapshot::timestamp_now(),
        operation: operation.to_string(),
        writer: format!("laketidy/{}@{host}", env!("CARGO_PKG_VERSION")),
        run_id: run_id.to_string(),
        metrics,
    }
}

pub struct VacuumOptions {
    pub retain: chrono::Duration,
    pub dry_run: bool,
    /// Also delete source files whose rows every partition has consumed.
    pub sources: bool,
}

#[derive(Debug, Default, Serialize)]
pub struct VacuumReport {
    pub table: String,
    pub dry_run: bool,
    /// Snapshots older than this version were expired.
    pub oldest_retained_version: u64,
    pub versions_expired: usize,
    pub files_deleted: Vec<String>,
    pub bytes_deleted: u64,
    /// Unreferenced files kept because they are younger than `--retain` (maybe in flight).
    pub recent_unreferenced_kept: usize,
    pub source_files_deleted: Vec<String>,
    /// Multipart uploads (S3) or staging files (local) of writers that died.
    pub stale_uploads_aborted: usize,
}

pub async fn vacuum(table: &Table, options: &VacuumOptions) -> Result<VacuumReport> {
    let latest = current(table)?;
    let (name, store) = (&table.definition.name, table.manifest.as_ref());
    let cutoff = Utc::now() - options.retain;
    let oldest = oldest_retained(table, latest.version).await?;
    // keep the snapshot that was current at the cutoff, and everything after it
    let mut keep_from = latest.version;
    for v in (oldest..latest.version).rev() {
        let newer = load_commit(store, name, v + 1).await?;
        let superseded_at =
            newer.and_then(|c| DateTime::parse_from_rfc3339(&c.commit.timestamp).ok());
        if superseded_at.is_some_and(|t| t.with_timezone(&Utc) <= cutoff) {
            break;
        }
        keep_from = v;
    }
    let mut report = VacuumReport {
        table: name.clone(),
        dry_run: options.dry_run,
        oldest_retained_version: keep_from,
        ..Default::default()
    };
    let referenced = referenced_since(table, keep_from).await?;
    for (path, size, modified) in target_objects(table).await? {
        if referenced.contains(&path) {
            continue;
        }
        if modified > cutoff {
            report.recent_unreferenced_kept += 1;
            continue;
        }
        if !options.dry_run {
            table.target.delete(&path).await?;
        }
        report.bytes_deleted += size;
        report.files_deleted.push(table.target.display(&path));
    }
    if keep_from > oldest {
        report.versions_expired = (keep_from - oldest) as usize;
        if !options.dry_run {
            // the oldest kept version must be readable without the expired ones
            let kept = load_snapshot(store, name, keep_from)
                .await?
                .ok_or_else(|| {
                    Error::Manifest(format!("version {keep_from} of {name} cannot be read"))
                })?;
            let body = serde_json::to_vec(&kept).map_err(|e| Error::Other(e.to_string()))?;
            store.put_checkpoint(name, keep_from, body).await?;
            store.delete_before(name, keep_from).await?;
        }
    }
    report.stale_uploads_aborted =
        crate::storage::uploads::abort_stale(&table.target, cutoff, options.dry_run).await?;
    if options.sources {
        let listed = table.source.list_files().await?;
        for file in listed {
            let Some(record) = latest.sources.get(&file.path) else {
                continue;
            };
            let done = record.feeds.keys().all(|p| {
                latest
                    .partitions
                    .get(&**p)
                    .is_some_and(|s| s.consumed.contains(file.path.as_str()))
            });
            let old =
                DateTime::from_timestamp_micros(file.last_modified).is_some_and(|t| t <= cutoff);
            if done && old && record.size == file.size {
                if !options.dry_run {
                    table.source.delete(&file.path).await?;
                }
                report
                    .source_files_deleted
                    .push(table.source.display(&file.path));
            }
        }
    }
    Ok(report)
}

/// Parses `7d`, `36h`, `90m`, `45s`, `2w`, `0s`.
pub fn parse_duration(text: &str) -> std::result::Result<chrono::Duration, String> {
    let bad = || format!("{text:?} is not a duration; write e.g. 7d, 36h, 90m, 0s");
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
    let (number, unit) = t.split_at(split);
    let n: i64 = number.parse().map_err(|_| bad())?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return Err(bad()),
    };
    n.checked_mul(seconds)
        .and_then(chrono::Duration::try_seconds)
        .ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("7d").unwrap(), chrono::Duration::days(7));
        assert_eq!(parse_duration("36h").unwrap(), chrono::Duration::hours(36));
        assert_eq!(parse_duration("0s").unwrap(), chrono::Duration::zero());
        for bad in ["", "7", "d", "7 days", "-1d", "1.5h"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
