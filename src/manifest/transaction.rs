//! The commit loop shared by every backend: build version N+1 from the newest snapshot
//! plus this run's changes, create it conditionally, and on losing the race rebase onto
//! the winner — unless the winner touched a partition we rewrote, which is a conflict.
//!
//! Conflicts are per partition, so runs on disjoint partitions never block each other,
//! and a source file can only be consumed into a partition by the run whose base still
//! matches that partition's committed state (exactly once).

use super::{
    ManifestStore, PutOutcome, checkpoint_if_due, load_commit, load_latest, load_snapshot,
};
use crate::error::{Error, Result};
use crate::model::definition::DefinitionDoc;
use crate::model::snapshot::{
    Commit, CommitInfo, PartitionState, QuarantinedFile, Snapshot, SourceRecord, format_for,
};
use std::collections::BTreeMap;
use std::time::Duration;

/// How many times a run rebases before giving up with a conflict.
const MAX_ATTEMPTS: u32 = 12;

/// A partition's state as the run found it, and as the run leaves it (`None`: removed).
pub type PartitionChange = (Option<PartitionState>, Option<PartitionState>);

/// What one run wants to commit.
#[derive(Clone, Debug)]
pub struct Changes {
    pub table: String,
    pub definition: DefinitionDoc,
    /// The table schema including this run's data (see `model::schema`), encoded.
    pub schema: Option<String>,
    /// The version the run read; `None` for a table's first commit.
    pub base_version: Option<u64>,
    pub partitions: BTreeMap<String, PartitionChange>,
    /// Source files recorded by this run.
    pub sources: BTreeMap<String, SourceRecord>,
    /// Source files this run set aside as unreadable (`--quarantine`).
    pub quarantined: BTreeMap<String, QuarantinedFile>,
    /// Quarantined source files this run found replaced or deleted.
    pub released: Vec<String>,
    pub commit: CommitInfo,
}

/// Merges two encoded schemas (the newest snapshot's and this run's).
pub type SchemaMerge =
    fn(Option<&str>, Option<&str>) -> std::result::Result<Option<String>, String>;

/// Commits `changes`, rebasing as needed. Returns the committed snapshot.
pub async fn commit(
    store: &dyn ManifestStore,
    changes: &Changes,
    merge_schema: SchemaMerge,
) -> Result<Snapshot> {
    let table = changes.table.as_str();
    let mut latest =
        match changes.base_version {
            None => None,
            Some(v) => Some(load_snapshot(store, table, v).await?.ok_or_else(|| {
                Error::Manifest(format!("base version {v} of {table} is missing"))
            })?),
        };
    for attempt in 0..MAX_ATTEMPTS {
        let document = build(latest.as_ref(), changes, merge_schema)?;
        let version = document.version;
        let body = serde_json::to_vec(&document).map_err(|e| Error::Other(e.to_string()))?;
        let outcome = match store.put_version(table, version, body).await {
            Ok(PutOutcome::Committed) => PutOutcome::Committed,
            // A retried request may have found our own first attempt: read it back.
            Ok(PutOutcome::AlreadyExists) => {
                whose(store, table, version, &changes.commit.run_id).await?
            }
            Err(error) => {
                resolve_unknown(store, table, version, &changes.commit.run_id, error).await?
            }
        };
        if outcome == PutOutcome::Committed {
            let mut next = latest.unwrap_or_else(|| {
                Snapshot::empty(
                    &changes.table,
                    changes.definition.clone(),
                    changes.commit.clone(),
                )
            });
            next.apply(document);
            checkpoint_if_due(store, &next).await;
            return Ok(next);
        }
        // Lost the race for this version: rebase onto whatever is newest now.
        tokio::time::sleep(backoff(attempt)).await;
        latest = load_latest(store, table).await?;
    }
    Err(Error::Conflict(format!(
        "{table}: lost the commit race {MAX_ATTEMPTS} times in a row; other runs are committing continuously"
    )))
}

/// Whether an existing version is this run's own commit.
async fn whose(
    store: &dyn ManifestStore,
    table: &str,
    version: u64,
    run_id: &str,
) -> Result<PutOutcome> {
    Ok(match load_commit(store, table, version).await? {
        Some(found) if found.commit.run_id == run_id => PutOutcome::Committed,
        _ => PutOutcome::AlreadyExists,
    })
}

/// Reads back a version whose put failed ambiguously: ours landed, another did, or none.
async fn resolve_unknown(
    store: &dyn ManifestStore,
    table: &str,
    version: u64,
    run_id: &str,
    error: Error,
) -> Result<PutOutcome> {
    match load_commit(store, table, version).await {
        Ok(Some(found)) if found.commit.run_id == run_id => Ok(PutOutcome::Committed),
        Ok(Some(_)) => Ok(PutOutcome::AlreadyExists),
        // Nothing landed: trying the same version again is a plain race.
        Ok(None) => Ok(PutOutcome::AlreadyExists),
        Err(read_error) => Err(Error::CommitUnknown(format!(
            "the outcome of committing version {version} of {table} is unknown ({error}; reading it back failed: \
             {read_error}). This run's files are kept; run `laketidy history` to see whether it landed"
        ))),
    }
}

/// Exponential backoff with jitter, 50 ms doubling up to 3.2 s.
fn backoff(attempt: u32) -> Duration {
    let base = 50u64 << attempt.min(6);
    let jitter = uuid::Uuid::new_v4().as_u128() as u64 % (base / 2 + 1);
    Duration::from_millis(base / 2 + jitter)
}

/// The version document this run would commit on top of `latest`; or a conflict if
/// `latest` changed what this run rewrote.
fn build(
    latest: Option<&Snapshot>,
    changes: &Changes,
    merge_schema: SchemaMerge,
) -> Result<Commit> {
    let who = |s: &Snapshot| {
        format!(
            "version {} (run {}, {})",
            s.version, s.commit.run_id, s.commit.operation
        )
    };
    if let Some(latest) = latest {
        if latest.definition.partition_by != changes.definition.partition_by
            || latest.definition.target != changes.definition.target
        {
            return Err(Error::Conflict(format!(
                "the table's partitioning or target was changed by {}",
                who(latest)
            )));
        }
        for (partition, (base, _)) in &changes.partitions {
            if latest.partitions.get(partition) != base.as_ref() {
                return Err(Error::Conflict(format!(
                    "partition {partition} was rewritten by {} while this run worked on it",
                    who(latest)
                )));
            }
        }
        for (path, record) in &changes.sources {
            if latest
                .sources
                .get(path)
                .is_some_and(|known| known.size != record.size)
            {
                return Err(Error::Conflict(format!(
                    "source file {path} was recorded with another size by {}",
                    who(latest)
                )));
            }
        }
    } else if changes.base_version.is_some() {
        return Err(Error::Manifest(format!(
            "{}: the table's versions are gone",
            changes.table
        )));
    }
    let version = latest.map_or(1, |s| s.version + 1);
    let schema = merge_schema(
        latest.and_then(|s| s.schema.as_deref()),
        changes.schema.as_deref(),
    )
    .map_err(|e| Error::Conflict(format!("the table schema changed meanwhile: {e}")))?;
    Ok(Commit {
        format_version: format_for(&changes.quarantined),
        table: changes.table.clone(),
        version,
        definition: changes.definition.clone(),
        schema,
        partitions: changes
            .partitions
            .iter()
            .filter_map(|(p, (_, new))| Some((p.clone(), new.clone()?)))
            .collect(),
        removed_partitions: changes
            .partitions
            .iter()
            .filter(|(_, (_, new))| new.is_none())
            .map(|(p, _)| p.clone())
            .collect(),
        sources: changes
            .sources
            .iter()
            .filter(|(path, _)| latest.is_none_or(|s| !s.sources.contains_key(*path)))
            .map(|(p, r)| (p.clone(), r.clone()))
            .collect(),
        quarantined: changes.quarantined.clone(),
        released: changes.released.clone(),
        commit: changes.commit.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::ObjectStoreManifest;
    use crate::manifest::conformance::commits::{definition, keep_schema};
    use crate::model::snapshot::DataFile;
    use crate::storage::Location;
    use std::sync::Arc;

    fn changes(base: Option<u64>, run: &str, parts: &[(&str, Option<PartitionState>)]) -> Changes {
        Changes {
            table: "t".into(),
            definition: definition("t"),
            schema: None,
            base_version: base,
            partitions: parts
                .iter()
                .map(|(p, base)| {
                    let state = PartitionState {
                        files: vec![DataFile {
                            path: format!("{p}/{run}/part-0.parquet"),
                            bytes: 1,
                            rows: 1,
                            sort_min: None,
                            sort_max: None,
                        }],
                        consumed: [format!("{run}.parquet").into()].into(),
                        ..Default::default()
                    };
                    (p.to_string(), (base.clone(), Some(state)))
                })
                .collect(),
            sources: BTreeMap::new(),
            quarantined: BTreeMap::new(),
            released: Vec::new(),
            commit: CommitInfo {
                timestamp: String::new(),
                operation: "compact".into(),
                writer: "test".into(),
                run_id: run.into(),
                metrics: Default::default(),
            },
        }
    }

    fn store() -> (tempfile::TempDir, Arc<ObjectStoreManifest>) {
        let dir = tempfile::tempdir().unwrap();
        let url = url::Url::from_directory_path(dir.path()).unwrap();
        let store = Arc::new(ObjectStoreManifest::new(Location::open(&url).unwrap()));
        (dir, store)
    }

    #[tokio::test]
    async fn disjoint_partitions_rebase_and_both_commit() {
        let (_dir, store) = store();
        let v1 = commit(
            store.as_ref(),
            &changes(None, "r1", &[("p=1", None)]),
            keep_schema,
        )
        .await
        .unwrap();
        // two runs start from version 1 and rewrite different partitions
        let a = changes(Some(1), "ra", &[("p=2", None)]);
        let b = changes(Some(1), "rb", &[("p=1", v1.partitions.get("p=1").cloned())]);
        let va = commit(store.as_ref(), &a, keep_schema).await.unwrap();
        let vb = commit(store.as_ref(), &b, keep_schema).await.unwrap();
        assert_eq!((va.version, vb.version), (2, 3));
        let latest = load_latest(store.as_ref(), "t").await.unwrap().unwrap();
        assert_eq!(latest.partitions.len(), 2);
        assert_eq!(
            latest.partitions["p=2"].files[0].path,
            "p=2/ra/part-0.parquet"
        );
        assert_eq!(
            latest.partitions["p=1"].files[0].path,
            "p=1/rb/part-0.parquet"
        );
    }

    fn quarantined(reason: &str) -> QuarantinedFile {
        QuarantinedFile {
            size: 7,
            e_tag: None,
            column: None,
            reason: reason.into(),
            since: String::new(),
        }
    }

    /// A quarantine survives rebases and checkpoints until a commit releases it.
    #[tokio::test]
    async fn quarantined_files_are_kept_until_released() {
        let (_dir, store) = store();
        let mut first = changes(None, "r1", &[("p=1", None)]);
        first.quarantined = [("bad.parquet".to_string(), quarantined("truncated"))].into();
        commit(store.as_ref(), &first, keep_schema).await.unwrap();
        // a run that started from version 1 loses the race to another and rebases
        let a = changes(Some(1), "ra", &[("p=2", None)]);
        let mut b = changes(Some(1), "rb", &[("p=3", None)]);
        b.quarantined = [("worse.parquet".to_string(), quarantined("bad magic"))].into();
        commit(store.as_ref(), &a, keep_schema).await.unwrap();
        commit(store.as_ref(), &b, keep_schema).await.unwrap();
        let latest = load_latest(store.as_ref(), "t").await.unwrap().unwrap();
        assert_eq!(
            latest.quarantined.keys().collect::<Vec<_>>(),
            ["bad.parquet", "worse.parquet"]
        );
        // enough versions for a checkpoint, then a release
        for v in 3..12 {
            let run = format!("r{v}");
            let step = changes(Some(v), &run, &[(&format!("q={v}"), None)]);
            commit(store.as_ref(), &step, keep_schema).await.unwrap();
        }
        let mut release = changes(Some(12), "rr", &[]);
        release.released = vec!["bad.parquet".into()];
        commit(store.as_ref(), &release, keep_schema).await.unwrap();
        let latest = load_latest(store.as_ref(), "t").await.unwrap().unwrap();
        assert_eq!(latest.version, 13);
        assert_eq!(
            latest.quarantined.keys().collect::<Vec<_>>(),
            ["worse.parquet"]
        );
        assert_eq!(latest.quarantined["worse.parquet"].reason, "bad magic");
        // what an older laketidy would misread says a format it refuses; the rest not
        assert_eq!(latest.format_version, 3, "a snapshot holding a quarantine");
        let plain = load_commit(store.as_ref(), "t", 2).await.unwrap().unwrap();
        let holding = load_commit(store.as_ref(), "t", 3).await.unwrap().unwrap();
        assert_eq!((plain.format_version, holding.format_version), (2, 3));
    }

    #[tokio::test]
    async fn the_same_partition_conflicts_and_leaves_nothing_visible() {
        let (_dir, store) = store();
        commit(
            store.as_ref(),
            &changes(None, "r1", &[("p=1", None)]),
            keep_schema,
        )
        .await
        .unwrap();
        let base = load_latest(store.as_ref(), "t")
            .await
            .unwrap()
            .unwrap()
            .partitions
            .get("p=1")
            .cloned();
        let a = changes(Some(1), "ra", &[("p=1", base.clone())]);
        let b = changes(Some(1), "rb", &[("p=1", base), ("p=9", None)]);
        commit(store.as_ref(), &a, keep_schema).await.unwrap();
        let err = commit(store.as_ref(), &b, keep_schema).await.unwrap_err();
        assert!(
            matches!(err, Error::Conflict(ref m) if m.contains("p=1") && m.contains("ra")),
            "{err}"
        );
        assert_eq!(err.exit_code(), crate::error::exit::CONFLICT);
        let latest = load_latest(store.as_ref(), "t").await.unwrap().unwrap();
        assert_eq!(latest.version, 2);
        assert!(
            !latest.partitions.contains_key("p=9"),
            "nothing of the losing run is visible"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_first_commits_of_one_partition_have_one_winner() {
        let (_dir, store) = store();
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let store = store.clone();
                tokio::spawn(async move {
                    commit(
                        store.as_ref(),
                        &changes(None, &format!("r{i}"), &[("p=1", None)]),
                        keep_schema,
                    )
                    .await
                })
            })
            .collect();
        let mut wins = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => wins += 1,
                Err(Error::Conflict(_)) => {}
                Err(e) => panic!("unexpected {e}"),
            }
        }
        assert_eq!(wins, 1);
        assert_eq!(store.latest_version("t").await.unwrap(), Some(1));
    }
}
