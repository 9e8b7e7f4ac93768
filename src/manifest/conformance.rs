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
