//! The contract of [`ManifestStore`], as free functions every backend's tests call
//! (after object_store's `integration.rs`).

use super::{ManifestStore, PutOutcome};
use std::collections::BTreeSet;
use std::sync::Arc;

pub async fn run_all(store: Arc<dyn ManifestStore>) {
    store.init().await.unwrap();
    store.init().await.expect("init is idempotent");
    empty_table_has_no_versions(store.as_ref()).await;
    versions_are_create_only(store.as_ref()).await;
    racing_writers_have_one_winner_per_version(store.clone()).await;
    counter_race_loses_nothing(store.clone()).await;
    tables_are_listed(store.as_ref()).await;
    checkpoints_and_expiry(store.as_ref()).await;
    large_documents_round_trip(store.as_ref()).await;
}

async fn checkpoints_and_expiry(store: &dyn ManifestStore) {
    let t = "conf-checkpoint";
    assert_eq!(store.latest_checkpoint(t, 100).await.unwrap(), None);
    for v in 1..=25 {
        store
            .put_version(t, v, format!("commit {v}").into_bytes())
            .await
            .unwrap();
    }
    store
        .put_checkpoint(t, 10, b"at 10".to_vec())
        .await
        .unwrap();
    store
        .put_checkpoint(t, 10, b"again".to_vec())
        .await
        .expect("a checkpoint may be written twice");
    store
        .put_checkpoint(t, 20, b"at 20".to_vec())
        .await
        .unwrap();
    assert_eq!(
        store.latest_checkpoint(t, 19).await.unwrap(),
        Some((10, b"at 10".to_vec()))
    );
    assert_eq!(
        store.latest_checkpoint(t, 25).await.unwrap(),
        Some((20, b"at 20".to_vec()))
    );
    assert_eq!(store.latest_checkpoint(t, 9).await.unwrap(), None);
    // 19 versions and one checkpoint below 20
    assert_eq!(store.delete_before(t, 20).await.unwrap(), 20);
    assert_eq!(store.get_version(t, 19).await.unwrap(), None);
    assert!(store.get_version(t, 20).await.unwrap().is_some());
    assert_eq!(store.latest_version(t).await.unwrap(), Some(25));
    assert_eq!(
        store.latest_checkpoint(t, 25).await.unwrap(),
        Some((20, b"at 20".to_vec()))
    );
}

/// Far over DynamoDB's 400 KB item limit.
async fn large_documents_round_trip(store: &dyn ManifestStore) {
    let t = "conf-large";
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    assert_eq!(
        store.put_version(t, 1, big.clone()).await.unwrap(),
        PutOutcome::Committed
    );
    assert_eq!(
        store.put_version(t, 1, vec![1; 1_000_000]).await.unwrap(),
        PutOutcome::AlreadyExists
    );
    assert_eq!(store.get_version(t, 1).await.unwrap().unwrap(), big);
    store.put_checkpoint(t, 1, big.clone()).await.unwrap();
    assert_eq!(store.latest_checkpoint(t, 1).await.unwrap().unwrap().1, big);
}

async fn empty_table_has_no_versions(store: &dyn ManifestStore) {
    assert_eq!(store.latest_version("conf-empty").await.unwrap(), None);
    assert_eq!(store.get_version("conf-empty", 1).await.unwrap(), None);
}

async fn versions_are_create_only(store: &dyn ManifestStore) {
    let t = "conf-create";
    assert_eq!(
        store.put_version(t, 1, b"first".to_vec()).await.unwrap(),
        PutOutcome::Committed
    );
    assert_eq!(
        store.put_version(t, 1, b"second".to_vec()).await.unwrap(),
        PutOutcome::AlreadyExists
    );
    assert_eq!(
        store.get_version(t, 1).await.unwrap().as_deref(),
        Some(&b"first"[..])
    );
    assert_eq!(
        store.put_version(t, 2, b"two".to_vec()).await.unwrap(),
        PutOutcome::Committed
    );
    assert_eq!(store.latest_version(t).await.unwrap(), Some(2));
    // versions beyond 9 sort numerically, not as text
    for v in 3..=11 {
        store
            .put_version(t, v, format!("{v}").into_bytes())
            .await
            .unwrap();
    }
    assert_eq!(store.latest_version(t).await.unwrap(), Some(11));
}

async fn racing_writers_have_one_winner_per_version(store: Arc<dyn ManifestStore>) {
    let t = "conf-race";
    for version in 1..=5u64 {
        let tasks: Vec<_> = (0..16)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    (
                        w,
                        store
                            .put_version(t, version, format!("writer {w}").into_bytes())
                            .await
                            .unwrap(),
                    )
                })
            })
            .collect();
        let mut winners = Vec::new();
        for task in tasks {
            let (w, outcome) = task.await.unwrap();
            if outcome == PutOutcome::Committed {
                winners.push(w);
            }
        }
        assert_eq!(winners.len(), 1, "version {version}: winners {winners:?}");
        let body = store.get_version(t, version).await.unwrap().unwrap();
        assert_eq!(
            body,
            format!("writer {}", winners[0]).into_bytes(),
            "the winner's document is the one kept"
        );
    }
}

/// Workers each increment a counter by committing latest+1 until they succeed; the
/// final version must equal the number of increments, each recorded once.
async fn counter_race_loses_nothing(store: Arc<dyn ManifestStore>) {
    let t = "conf-counter";
    let (workers, increments) = (6, 5);
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let store = store.clone();
            tokio::spawn(async move {
                for i in 0..increments {
                    loop {
                        let next = store.latest_version(t).await.unwrap().unwrap_or(0) + 1;
                        let body = format!("{w}-{i}").into_bytes();
                        if store.put_version(t, next, body).await.unwrap() == PutOutcome::Committed
                        {
                            break;
                        }
                    }
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    let total = workers * increments;
    assert_eq!(store.latest_version(t).await.unwrap(), Some(total as u64));
    let mut seen = BTreeSet::new();
    for v in 1..=total as u64 {
        let body = String::from_utf8(store.get_version(t, v).await.unwrap().unwrap()).unwrap();
        assert!(seen.insert(body.clone()), "increment {body} recorded twice");
    }
    assert_eq!(seen.len(), total);
}

async fn tables_are_listed(store: &dyn ManifestStore) {
    let tables = store.list_tables().await.unwrap();
    for t in ["conf-create", "conf-race", "conf-counter"] {
        assert!(tables.iter().any(|x| x == t), "{t} missing from {tables:?}");
    }
}

/// The moto endpoint that `scripts/with-moto.sh` started; the S3 and DynamoDB tests
/// need it and say so rather than pass without testing anything.
pub fn moto_endpoint() -> String {
    std::env::var("LAKETIDY_TEST_MOTO").unwrap_or_else(|_| {
        panic!("LAKETIDY_TEST_MOTO is not set: run the suite with scripts/test.sh, which starts a local S3 + DynamoDB server")
    })
}

/// A fresh, unique name for a test's table or prefix.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", uuid::Uuid::new_v4().simple())
}

/// The commit loop over a backend: large atomic commits, rebases, unknown outcomes.
pub mod commits {
    use crate::error::Error;
    use crate::manifest::faults::{Fault, Faulty};
    use crate::manifest::transaction::{Changes, commit};
    use crate::manifest::{ManifestStore, load_latest, load_snapshot};
    use crate::model::definition::DefinitionDoc;
    use crate::model::snapshot::{CommitInfo, DataFile, PartitionState};
    use std::collections::BTreeMap;

    /// A schema merge for tests whose commits carry no schema.
    pub fn keep_schema(a: Option<&str>, b: Option<&str>) -> Result<Option<String>, String> {
        Ok(b.or(a).map(str::to_string))
    }

    /// A minimal definition for manifest tests (the manifest never reads its data).
    pub fn definition(table: &str) -> DefinitionDoc {
        DefinitionDoc {
            name: table.into(),
            source: "s3://raw/".into(),
            target: "s3://lake/".into(),
            partition_by: None,
            sort_by: None,
            dedup: None,
            target_file_size: None,
            compression: None,
            max_delta_files: None,
        }
    }

    pub fn changes(
        table: &str,
        base: Option<u64>,
        run: &str,
        partitions: usize,
        files: usize,
    ) -> Changes {
        let state = |p: usize| PartitionState {
            files: (0..files)
                .map(|f| DataFile {
                    path: format!(
                        "dt=2024-03-{:02}/hour={:02}/run-{run}/part-{f:05}.parquet",
                        p / 24 % 28 + 1,
                        p % 24
                    ),
                    bytes: 134_217_728,
                    rows: 1_000_000,
                    sort_min: None,
                    sort_max: None,
                })
                .collect(),
            consumed: [format!("raw/{run}-{p}.parquet").into()].into(),
            ..Default::default()
        };
        Changes {
            table: table.into(),
            definition: definition(table),
            schema: None,
            base_version: base,
            partitions: (0..partitions)
                .map(|p| (format!("p={p:05}"), (None, Some(state(p)))))
                .collect(),
            sources: BTreeMap::new(),
            quarantined: BTreeMap::new(),
            released: Vec::new(),
            commit: CommitInfo {
                timestamp: "2026-11-21T00:00:00Z".into(),
                operation: "compact".into(),
                writer: "conformance".into(),
                run_id: run.into(),
                metrics: Default::default(),
            },
        }
    }

    pub async fn run_all(store: &dyn ManifestStore) {
        a_large_commit_is_atomic(store).await;
        checkpoints_keep_reads_short(store).await;
    }

    /// 5,000 partitions of 20 files in one version, then a one-partition commit whose
    /// version document stays small.
    async fn a_large_commit_is_atomic(store: &dyn ManifestStore) {
        let t = "conf-large-commit";
        let big = changes(t, None, "big", 5_000, 20);
        let committed = commit(store, &big, keep_schema).await.unwrap();
        assert_eq!(committed.version, 1);
        let read = load_latest(store, t).await.unwrap().unwrap();
        assert_eq!(read.partitions.len(), 5_000);
        assert_eq!(
            read.partitions
                .values()
                .map(|p| p.files.len())
                .sum::<usize>(),
            100_000
        );
        let mut small = changes(t, Some(1), "small", 1, 1);
        small.partitions = BTreeMap::from([(
            "p=00007".to_string(),
            (
                read.partitions.get("p=00007").cloned(),
                Some(PartitionState::default()),
            ),
        )]);
        commit(store, &small, keep_schema).await.unwrap();
        let doc = store.get_version(t, 2).await.unwrap().unwrap();
        assert!(
            doc.len() < 10_000,
            "a version holds what changed, not the table ({} bytes)",
            doc.len()
        );
        let v2 = load_latest(store, t).await.unwrap().unwrap();
        assert_eq!(v2.partitions.len(), 5_000);
        assert!(v2.partitions["p=00007"].files.is_empty());
    }

    async fn checkpoints_keep_reads_short(store: &dyn ManifestStore) {
        let t = "conf-chain";
        let mut base = None;
        for i in 0..23u64 {
            let mut c = changes(t, base, &format!("r{i}"), 1, 1);
            let latest = load_latest(store, t).await.unwrap();
            let (name, (_, state)) = c.partitions.pop_first().unwrap();
            c.partitions = BTreeMap::from([(format!("{name}-{i}"), (None, state))]);
            base = Some(commit(store, &c, keep_schema).await.unwrap().version);
            assert_eq!(base, Some(latest.map_or(1, |s| s.version + 1)));
        }
        assert_eq!(
            store.latest_checkpoint(t, 23).await.unwrap().map(|c| c.0),
            Some(20)
        );
        let at_15 = load_snapshot(store, t, 15).await.unwrap().unwrap();
        assert_eq!(at_15.partitions.len(), 15);
        assert_eq!(
            load_latest(store, t)
                .await
                .unwrap()
                .unwrap()
                .partitions
                .len(),
            23
        );
    }

    /// Unknown outcomes are resolved by reading back, never by a blind retry.
    pub async fn unknown_outcomes<S: ManifestStore>(make: impl Fn() -> S) {
        // landed, then timed out: the read-back finds our commit; no second version
        let faulty = Faulty::new(make(), vec![Fault::LandThenFail]);
        let v = commit(
            &faulty,
            &changes("unknown-a", None, "ra", 2, 1),
            keep_schema,
        )
        .await
        .unwrap();
        assert_eq!(v.version, 1);
        assert_eq!(
            faulty.inner.latest_version("unknown-a").await.unwrap(),
            Some(1)
        );

        // throttled twice before landing: retried with backoff, then committed once
        let faulty = Faulty::new(
            make(),
            vec![Fault::FailBeforeLanding, Fault::FailBeforeLanding],
        );
        let v = commit(
            &faulty,
            &changes("unknown-b", None, "rb", 2, 1),
            keep_schema,
        )
        .await
        .unwrap();
        assert_eq!(v.version, 1);
        assert_eq!(
            faulty.inner.latest_version("unknown-b").await.unwrap(),
            Some(1)
        );

        // landed, and the store cannot be read: the outcome is reported as unknown
        let faulty = Faulty::new(make(), vec![Fault::LandThenBlind]);
        let err = commit(
            &faulty,
            &changes("unknown-c", None, "rc", 2, 1),
            keep_schema,
        )
        .await
        .unwrap_err();
        assert!(matches!(err, Error::CommitUnknown(_)), "{err}");
        assert_eq!(
            faulty.inner.latest_version("unknown-c").await.unwrap(),
            Some(1),
            "it had landed"
        );
    }
}
