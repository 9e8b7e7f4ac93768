//! A snapshot is version N of a table: for every partition its live files and the
//! source files already consumed into it, plus the definition in force and the commit
//! metadata. The manifest stores each version as a [`Commit`] (what changed) and, every
//! few versions, a checkpoint (the whole [`Snapshot`]), so that a read applies at
//! most a few commits to a checkpoint however long the history grows.

use crate::model::definition::{DedupDoc, DefinitionDoc, TableDefinition};
use crate::model::shared_names;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// Bumped on any change that an older laketidy could misread: the newest format this
/// laketidy reads and writes.
pub const FORMAT_VERSION: u32 = 3;

/// Documents without quarantined files are still written in format 2, which older
/// laketidy reads: only a quarantine would be lost on it (it would drop the records
/// and read the files again), so only documents that hold one say format 3.
pub const FORMAT_WITHOUT_QUARANTINE: u32 = 2;

/// The format a document holding `quarantined` files must say.
pub fn format_for(quarantined: &BTreeMap<String, QuarantinedFile>) -> u32 {
    if quarantined.is_empty() {
        FORMAT_WITHOUT_QUARANTINE
    } else {
        FORMAT_VERSION
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub format_version: u32,
    pub table: String,
    pub version: u64,
    pub definition: DefinitionDoc,
    /// The table's Arrow schema (IPC-encoded, base64), the union of everything written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Keyed by the canonical partition path (`dt=2024-03-01/hour=05`; `""` when unpartitioned).
    pub partitions: BTreeMap<String, PartitionState>,
    /// Every source file seen by a commit, keyed by its path relative to the source.
    pub sources: BTreeMap<String, SourceRecord>,
    /// Source files set aside by `--quarantine` as unreadable, keyed like `sources`.
    /// Runs skip them while they stay as recorded; changed or deleted, they leave.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub quarantined: BTreeMap<String, QuarantinedFile>,
    pub commit: CommitInfo,
}

/// A source file that could not be used, and why, as `--quarantine` recorded it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QuarantinedFile {
    /// The file as it was when refused: a different size or ETag means it was replaced.
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e_tag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    pub reason: String,
    /// RFC 3339 UTC time of the run that set it aside.
    pub since: String,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PartitionState {
    pub files: Vec<DataFile>,
    /// Source files whose rows for this partition are in `files`. Shared paths: a
    /// source file feeds ~30 partitions, and a run holds every partition's list.
    #[serde(deserialize_with = "shared_names::set")]
    pub consumed: BTreeSet<Arc<str>>,
    /// The sort keys and dedup rule the files were written with (to spot stale partitions).
    pub sort_by: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup: Option<DedupDoc>,
}

impl PartitionState {
    pub fn rows(&self) -> u64 {
        self.files.iter().map(|f| f.rows).sum()
    }
    pub fn bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }

    /// How the files differ from what `definition` would write: another sort order or
    /// another dedup rule. Empty when they follow it, so that they are sorted and hold
    /// one row per key exactly as a rewrite today would leave them.
    pub fn stale_reasons(&self, definition: &TableDefinition) -> Vec<String> {
        let mut why = Vec::new();
        if self.sort_by != definition.sort_by {
            why.push(format!(
                "sorted by [{}], definition says [{}]",
                self.sort_by.join(", "),
                definition.sort_by.join(", ")
            ));
        }
        if self.dedup != definition.doc.dedup {
            why.push("written with another dedup rule".to_string());
        }
        why
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DataFile {
    /// Relative to the table's target location.
    pub path: String,
    pub bytes: u64,
    pub rows: u64,
    /// Sort-key values of the first and last row, as displayed text (absent without sort keys).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_min: Option<Vec<Option<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_max: Option<Vec<Option<String>>>,
}

/// What identifies a source file version, and which partitions its rows feed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceRecord {
    pub size: u64,
    /// ETag (object stores) or a modification stamp (local files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e_tag: Option<String>,
    pub rows: u64,
    /// Partition path → rows of this file that belong there (names shared between
    /// files).
    #[serde(deserialize_with = "shared_names::map")]
    pub feeds: BTreeMap<Arc<str>, u64>,
}

/// Now, as the manifest writes times: RFC 3339 UTC with milliseconds.
pub fn timestamp_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommitInfo {
    /// RFC 3339 UTC.
    pub timestamp: String,
    pub operation: String,
    /// `laketidy/<version>@<host>`.
    pub writer: String,
    pub run_id: String,
    #[serde(default)]
    pub metrics: serde_json::Value,
}

/// One version document: the partitions a commit changed, in full, and the source
/// files it recorded. Immutable once written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Commit {
    pub format_version: u32,
    pub table: String,
    pub version: u64,
    pub definition: DefinitionDoc,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// New state of every partition this commit changed.
    pub partitions: BTreeMap<String, PartitionState>,
    /// Partitions this commit removed (a rollback to a version that lacked them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed_partitions: Vec<String>,
    /// Source files recorded by this commit.
    #[serde(default)]
    pub sources: BTreeMap<String, SourceRecord>,
    /// Source files this commit set aside as unreadable.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub quarantined: BTreeMap<String, QuarantinedFile>,
    /// Quarantined source files this commit let go: replaced or deleted since.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub released: Vec<String>,
    pub commit: CommitInfo,
}

impl Snapshot {
    /// The empty table before its first commit.
    pub fn empty(table: &str, definition: DefinitionDoc, commit: CommitInfo) -> Self {
        Snapshot {
            format_version: FORMAT_WITHOUT_QUARANTINE,
            table: table.to_string(),
            version: 0,
            definition,
            schema: None,
            partitions: BTreeMap::new(),
            sources: BTreeMap::new(),
            quarantined: BTreeMap::new(),
            commit,
        }
    }

    /// The snapshot after `commit` (which must be the next version).
    pub fn apply(&mut self, commit: Commit) {
        // taken by value: a large table's commit holds hundreds of thousands of paths
        self.partitions.extend(commit.partitions);
        for partition in &commit.removed_partitions {
            self.partitions.remove(partition);
        }
        for (path, record) in commit.sources {
            self.sources.entry(path).or_insert(record);
        }
        for path in &commit.released {
            self.quarantined.remove(path);
        }
        self.quarantined.extend(commit.quarantined);
        self.format_version = format_for(&self.quarantined);
        self.version = commit.version;
        self.definition = commit.definition;
        if commit.schema.is_some() {
            self.schema = commit.schema;
        }
        self.commit = commit.commit;
    }

    /// Partitions that some known source file has rows for but that have not consumed it.
    pub fn pending_sources(&self) -> BTreeMap<&str, Vec<&str>> {
        let mut pending: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (path, record) in &self.sources {
            for partition in record.feeds.keys() {
                let consumed = self
                    .partitions
                    .get(&**partition)
                    .is_some_and(|p| p.consumed.contains(path.as_str()));
                if !consumed {
                    pending.entry(&**partition).or_default().push(path.as_str());
                }
            }
        }
        pending
    }

    pub fn total_rows(&self) -> u64 {
        self.partitions.values().map(PartitionState::rows).sum()
    }
}
