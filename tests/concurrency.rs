//! Concurrent runs, as Airflow fans them out: disjoint shares both commit; runs on the
//! same partitions never both commit, and the loser leaves nothing behind.

use crate::support::check::check_lake;
use crate::support::lakegen::Params;
use crate::support::{Workspace, finish, parquet_files, spawn_laketidy as spawn};

#[test]
fn runs_on_the_same_partitions_never_both_commit() {
    for round in 0..3 {
        let (ws, lake) = Workspace::with_lake(
            "128MiB",
            Params {
                seed: round,
                ..Params::default()
            },
        );
        let a = spawn(&["compact", ws.def(), "--output", "json"]);
        let b = spawn(&["compact", ws.def(), "--output", "json"]);
        let (a, b) = (finish(a), finish(b));
        let mut outcomes = Vec::new();
        for run in [&a, &b] {
            match run.code {
                0 => outcomes.push(run.json()["status"].as_str().unwrap().to_string()),
                75 => {
                    assert!(
                        run.stderr.contains("conflict, retry later"),
                        "{}",
                        run.stderr
                    );
                    outcomes.push("conflict".to_string());
                }
                other => panic!("round {round}: exit {other}: {}", run.stderr),
            }
        }
        outcomes.sort();
        eprintln!("round {round}: {outcomes:?}");
        assert!(
            outcomes == ["committed", "conflict"] || outcomes == ["committed", "nothing_to_do"],
            "round {round}: exactly one run commits, got {outcomes:?}"
        );
        assert_eq!(ws.versions(), 1);
        let live = ws.live_files();
        check_lake(&live, &lake, &lake.expected(lake.params.hours));
        let mut on_disk: Vec<String> = parquet_files(&ws.lake)
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let mut live_sorted = live.clone();
        on_disk.sort();
        live_sorted.sort();
        assert_eq!(
            on_disk, live_sorted,
            "round {round}: the losing run removed the files it wrote"
        );
    }
}

#[test]
fn shards_on_disjoint_partitions_both_commit() {
    let (ws, lake) = Workspace::with_lake("128MiB", Params::default());
    let a = spawn(&["compact", ws.def(), "--shard", "0/2", "--output", "json"]);
    let b = spawn(&["compact", ws.def(), "--shard", "1/2", "--output", "json"]);
    let (a, b) = (finish(a).ok(), finish(b).ok());
    let (a, b) = (a.json(), b.json());
    assert_eq!(a["status"], "committed");
    assert_eq!(b["status"], "committed");
    let mut versions = vec![
        a["version"].as_u64().unwrap(),
        b["version"].as_u64().unwrap(),
    ];
    versions.sort();
    assert_eq!(
        versions,
        vec![1, 2],
        "the second run rebased onto the first"
    );
    check_lake(&ws.live_files(), &lake, &lake.expected(lake.params.hours));
}
