//! Where commits happen.
//!
//! A table's history is a sequence of immutable version documents (1, 2, 3, …), each a
//! complete [`Snapshot`]. Committing version N+1 is one conditional create: the store
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

mod object;
pub mod transaction;

#[cfg(test)]
mod conformance;

pub use object::ObjectStoreManifest;

use crate::error::{Error, Result};
use crate::model::snapshot::Snapshot;
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

    /// Names of the tables that have at least one version.
    async fn list_tables(&self) -> Result<Vec<String>>;
}

/// Opens a manifest store from its URL (`file:///path`).
pub fn open(url: &Url) -> Result<Box<dyn ManifestStore>> {
    match url.scheme() {
        "file" => Ok(Box::new(ObjectStoreManifest::new(Location::open(url)?))),
        "dynamodb" | "s3" => Err(Error::Usage(format!(
            "manifest {url}: the {} manifest backend is not available in this build yet; use a file:// manifest",
            url.scheme()
        ))),
        other => Err(Error::Usage(format!(
            "manifest {url}: unknown scheme {other:?}; use file:///path (dynamodb:// and s3:// are planned)"
        ))),
    }
}

/// Parses a `--manifest` value: a URL, or a plain local path.
pub fn parse_url(text: &str) -> Result<Url> {
    if let Ok(url) = Url::parse(text)
        && url.scheme().len() > 1
    {
        let mut url = url;
        if !url.path().ends_with('/') {
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

/// Reads and decodes one version of a table.
pub async fn load_snapshot(
    store: &dyn ManifestStore,
    table: &str,
    version: u64,
) -> Result<Option<Snapshot>> {
    let Some(bytes) = store.get_version(table, version).await? else {
        return Ok(None);
    };
    let snapshot: Snapshot = serde_json::from_slice(&bytes).map_err(|e| {
        Error::Manifest(format!(
            "{}: version {version} of {table} is unreadable: {e}",
            store.describe()
        ))
    })?;
    if snapshot.format_version > crate::model::snapshot::FORMAT_VERSION {
        return Err(Error::Manifest(format!(
            "version {version} of {table} has manifest format {}; this laketidy reads up to {}: upgrade laketidy",
            snapshot.format_version,
            crate::model::snapshot::FORMAT_VERSION
        )));
    }
    Ok(Some(snapshot))
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
