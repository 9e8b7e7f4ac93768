//! Where commits happen.
//!
//! A table's history is a sequence of immutable version documents (1, 2, 3, …), each a
//! [`Commit`] holding what changed, plus checkpoints (complete [`Snapshot`]s) every
//! [`CHECKPOINT_INTERVAL`] versions. Committing version N+1 is one conditional create: the store
//! guarantees that of all writers racing for N+1 exactly one wins. Everything above
//! that primitive — rebasing onto a newer version, per-partition conflict detection,
//! backoff, resolving unknown outcomes — lives in [`transaction`], once, for every
//! backend.
//!
//! ```text
//!  run ──read latest N──► plan/write data files ──put N+1 (create-only)──► committed
//!                                   ▲                    │ already exists
//!                                   └── rebase onto N+1 ◄┘ (conflict if our partitions moved)
//! ```

mod dynamodb;
mod object;
pub mod transaction;

#[cfg(test)]
mod conformance;
#[cfg(test)]
mod faults;

pub use dynamodb::DynamoManifest;
pub use object::ObjectStoreManifest;

use crate::error::{Error, Result};
use crate::model::shared_names;
use crate::model::snapshot::{Commit, FORMAT_VERSION, Snapshot};
use crate::storage::Location;
use async_trait::async_trait;
use url::Url;

/// The outcome of a conditional create of a version document.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    Committed,
    /// Another writer holds this version; nothing of ours is visible.
    AlreadyExists,
}

/// A store of version documents. Every backend guarantees, and the shared conformance
/// suite checks:
///
/// 1. **Atomic visibility** — a version document is visible whole or not at all; no
///    reader ever sees a partial document.
/// 2. **Exactly one winner per version** — of any number of concurrent
///    [`put_version`](Self::put_version) calls for the same table and version, exactly
///    one returns [`PutOutcome::Committed`]; the rest return
///    [`PutOutcome::AlreadyExists`]. A document, once written, never changes.
/// 3. **Consistent reads** — once `put_version(n)` has returned `Committed`, every
///    later [`latest_version`](Self::latest_version) returns at least `n` and
///    [`get_version`](Self::get_version)`(n)` returns that document.
///
/// An `Err` from `put_version` means the outcome is unknown (the document may or may
/// not have landed); callers resolve it by reading the version back, never by assuming.
#[async_trait]
pub trait ManifestStore: Send + Sync + std::fmt::Debug {
    /// Human-readable identity, e.g. `file:///lake/_laketidy/`.
    fn describe(&self) -> String;

    /// Creates the store if missing; idempotent.
    async fn init(&self) -> Result<()>;

    /// The newest committed version of a table; `None` if it has none.
    async fn latest_version(&self, table: &str) -> Result<Option<u64>>;

    /// One version document; `None` if that version does not exist.
    async fn get_version(&self, table: &str, version: u64) -> Result<Option<Vec<u8>>>;

    /// Creates a version document if, and only if, that version does not exist yet.
    async fn put_version(&self, table: &str, version: u64, document: Vec<u8>)
    -> Result<PutOutcome>;

    /// Stores the complete snapshot at `version`. Checkpoints are derived data: any
    /// writer may write one, and writing an existing one again is not an error.
    async fn put_checkpoint(&self, table: &str, version: u64, document: Vec<u8>) -> Result<()>;

    /// The newest checkpoint at or below `at_most`, with its version.
    async fn latest_checkpoint(&self, table: &str, at_most: u64) -> Result<Option<(u64, Vec<u8>)>>;

    /// Deletes version documents and checkpoints older than `version` (snapshot expiry).
    /// Callers make sure a checkpoint at `version` exists first.
    async fn delete_before(&self, table: &str, version: u64) -> Result<usize>;

    /// Names of the tables that have at least one version.
    async fn list_tables(&self) -> Result<Vec<String>>;
}

/// A checkpoint is written after every this many versions.
pub const CHECKPOINT_INTERVAL: u64 = 10;

/// Opens a manifest store from its URL: `file:///path`, `s3://bucket/prefix` (S3
/// conditional writes) or `dynamodb://TABLE`.
pub async fn open(url: &Url) -> Result<Box<dyn ManifestStore>> {
    match url.scheme() {
        "file" | "s3" => Ok(Box::new(ObjectStoreManifest::new(Location::open(url)?))),
        "dynamodb" => Ok(Box::new(DynamoManifest::connect(url).await?)),
        other => Err(Error::Usage(format!(
            "manifest {url}: unknown scheme {other:?}; use dynamodb://TABLE, s3://bucket/prefix or file:///path"
        ))),
    }
}

/// Parses a `--manifest` value: a URL, or a plain local path.
pub fn parse_url(text: &str) -> Result<Url> {
    let parsed = crate::model::definition::parse_url_strictly(text)
        .map_err(|why| Error::Usage(format!("--manifest: {why}")))?;
    if let Some(url) = parsed {
        if let Some(why) = crate::model::definition::unsafe_url(text, &url) {
            return Err(Error::Usage(format!("--manifest: {why}")));
        }
        let mut url = url;
        if url.scheme() != "dynamodb" && !url.path().ends_with('/') {
            let p = format!("{}/", url.path());
            url.set_path(&p);
        }
        return Ok(url);
    }
    let abs = std::path::absolute(text).map_err(|e| Error::io(format!("--manifest {text}"), e))?;
    Url::from_directory_path(&abs)
        .map_err(|_| Error::Usage(format!("--manifest {text}: not a usable path")))
}

/// The default manifest of a local target: `<target>/_laketidy/`, hidden from Hive readers.
pub fn default_url_for(target: &Url) -> Result<Url> {
    if target.scheme() != "file" {
        return Err(Error::Usage(format!(
            "the target {target} is not local, so there is no embedded default manifest: pass \
             --manifest dynamodb://TABLE (DynamoDB) or --manifest s3://bucket/prefix (S3 conditional writes), \
             or set LAKETIDY_MANIFEST"
        )));
    }
    target
        .join("_laketidy/")
        .map_err(|e| Error::Usage(format!("{target}: {e}")))
}

fn check_format(found: u32, what: &str) -> Result<()> {
    if found > FORMAT_VERSION {
        return Err(Error::Manifest(format!(
            "{what} has manifest format {found}; this laketidy reads up to {FORMAT_VERSION}: upgrade laketidy"
        )));
    }
    Ok(())
}

/// Reads and decodes one version document (what that commit changed).
pub async fn load_commit(
    store: &dyn ManifestStore,
    table: &str,
    version: u64,
) -> Result<Option<Commit>> {
    let Some(bytes) = store.get_version(table, version).await? else {
        return Ok(None);
    };
    let what = format!("{}: version {version} of {table}", store.describe());
    let commit: Commit = shared_names::decode(&bytes)
        .map_err(|e| Error::Manifest(format!("{what} is unreadable: {e}")))?;
    check_format(commit.format_version, &what)?;
    Ok(Some(commit))
}

/// The complete snapshot at `version`: the newest checkpoint at or below it, plus the
/// commits after that checkpoint.
pub async fn load_snapshot(
    store: &dyn ManifestStore,
    table: &str,
    version: u64,
) -> Result<Option<Snapshot>> {
    if version == 0 || store.get_version(table, version).await?.is_none() {
        return Ok(None);
    }
    let mut snapshot: Option<Snapshot> = match store.latest_checkpoint(table, version).await? {
        Some((v, bytes)) => {
            let what = format!("{}: checkpoint {v} of {table}", store.describe());
            let s: Snapshot = shared_names::decode(&bytes)
                .map_err(|e| Error::Manifest(format!("{what} is unreadable: {e}")))?;
            check_format(s.format_version, &what)?;
            Some(s)
        }
        None => None,
    };
    let from = snapshot.as_ref().map_or(1, |s| s.version + 1);
    for v in from..=version {
        let Some(commit) = load_commit(store, table, v).await? else {
            if v == version {
                return Ok(None);
            }
            return Err(Error::Manifest(format!(
                "{}: version {v} of {table} is missing but version {version} needs it",
                store.describe()
            )));
        };
        let base = snapshot.get_or_insert_with(|| {
            Snapshot::empty(table, commit.definition.clone(), commit.commit.clone())
        });
        base.apply(commit);
    }
    Ok(snapshot.filter(|s| s.version == version))
}

/// Writes the checkpoint of `snapshot` when its version is due one; failures only
/// make later reads slower, so they are not errors.
pub async fn checkpoint_if_due(store: &dyn ManifestStore, snapshot: &Snapshot) {
    if snapshot.version.is_multiple_of(CHECKPOINT_INTERVAL)
        && let Ok(body) = serde_json::to_vec(snapshot)
    {
        let _ = store
            .put_checkpoint(&snapshot.table, snapshot.version, body)
            .await;
    }
}
/// The newest snapshot of a table, if it has one.
pub async fn load_latest(store: &dyn ManifestStore, table: &str) -> Result<Option<Snapshot>> {
    match store.latest_version(table).await? {
        None => Ok(None),
        Some(v) => load_snapshot(store, table, v)
            .await?
            .map(Some)
            .ok_or_else(|| {
                Error::Manifest(format!(
                    "version {v} of {table} vanished from {}",
                    store.describe()
                ))
            }),
    }
}
