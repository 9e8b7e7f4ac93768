//! `files` and `history`: reading what the manifest recorded.

use super::Table;
use crate::error::{Error, Result};
use crate::manifest::{load_commit, load_snapshot};
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct LiveFile {
    /// Absolute: a local path or an `s3://` URL.
    pub location: String,
    pub partition: String,
    pub bytes: u64,
    pub rows: u64,
}

#[derive(Debug, Serialize)]
pub struct FileList {
    pub table: String,
    pub version: u64,
    pub files: Vec<LiveFile>,
}

/// The live files of the newest snapshot, or of `version`.
pub async fn files(table: &Table, version: Option<u64>) -> Result<FileList> {
    let snapshot = match version {
        None => table.snapshot.clone(),
        Some(v) => {
            let found = load_snapshot(table.manifest.as_ref(), &table.definition.name, v).await?;
            if found.is_none() {
                return Err(Error::Usage(format!(
                    "{} has no version {v}; the newest is {}",
                    table.definition.name,
                    table
                        .base_version()
                        .map_or("none".to_string(), |v| v.to_string())
                )));
            }
            found
        }
    };
    let Some(snapshot) = snapshot else {
        return Err(Error::Usage(format!(
            "{} has no committed version yet: run compact first",
            table.definition.name
        )));
    };
    let files = snapshot
        .partitions
        .iter()
        .flat_map(|(partition, state)| {
            state.files.iter().map(move |f| LiveFile {
                location: table.target.display(&f.path),
                partition: partition.clone(),
                bytes: f.bytes,
                rows: f.rows,
            })
        })
        .collect();
    Ok(FileList {
        table: snapshot.table,
        version: snapshot.version,
        files,
    })
}

#[derive(Debug, Serialize)]
pub struct HistoryEntry {
    pub version: u64,
    pub timestamp: String,
    pub operation: String,
    pub run_id: String,
    pub writer: String,
    pub partitions_changed: usize,
    pub files_added: usize,
    pub metrics: serde_json::Value,
}

/// Every version still in the manifest, newest first (at most `limit`).
pub async fn history(table: &Table, limit: Option<usize>) -> Result<Vec<HistoryEntry>> {
    let Some(latest) = table.base_version() else {
        return Ok(Vec::new());
    };
    let mut entries = Vec::new();
    for version in (1..=latest).rev().take(limit.unwrap_or(usize::MAX)) {
        // versions before the oldest retained one were expired by vacuum
        let Some(c) = load_commit(table.manifest.as_ref(), &table.definition.name, version).await?
        else {
            break;
        };
        entries.push(HistoryEntry {
            version,
            partitions_changed: c.partitions.len() + c.removed_partitions.len(),
            files_added: c.partitions.values().map(|p| p.files.len()).sum(),
            timestamp: c.commit.timestamp,
            operation: c.commit.operation,
            run_id: c.commit.run_id,
            writer: c.commit.writer,
            metrics: c.commit.metrics,
        });
    }
    Ok(entries)
}
