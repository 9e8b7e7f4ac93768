//! verify, rollback, vacuum; and crash safety (kill -9 at any moment).

use crate::support::check::check_lake;
use crate::support::lakegen::{Lake, Params};
use crate::support::{Workspace, laketidy, parquet_files, tree};
use std::path::PathBuf;

/// `vacuum --retain 0s --output json` plus `extra` flags; must succeed.
fn vacuum_now(ws: &Workspace, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["vacuum", ws.def(), "--retain", "0s", "--output", "json"];
    args.extend_from_slice(extra);
    laketidy(&args).ok().json()
}

fn compacted(rows: usize) -> (Workspace, Lake) {
    Workspace::compacted(Params {
        rows,
        ..Params::default()
    })
}

#[test]
fn verify_reports_missing_and_changed_files_with_exit_4_and_lists_orphans() {
    let (ws, _) = compacted(1_500);
    let ok = laketidy(&["verify", ws.def()]).ok();
    assert!(ok.stdout.contains("are intact"), "{}", ok.stdout);
    let live = ws.live_files();
    let orphan = ws.lake.join("dt=2024-03-01/hour=01/stray.parquet");
    std::fs::write(&orphan, b"left by a crashed writer").unwrap();
    let with_orphan = laketidy(&["verify", ws.def(), "--output", "json"])
        .ok()
        .json();
    assert_eq!(with_orphan["damaged"].as_array().unwrap().len(), 0);
    assert_eq!(
        with_orphan["orphans"][0],
        orphan.display().to_string(),
        "orphans are listed, not damage"
    );

    std::fs::remove_file(&live[0]).unwrap();
    std::fs::write(&live[1], b"PAR1 overwritten PAR1").unwrap();
    let damaged = laketidy(&["verify", ws.def(), "--output", "json"]);
    assert_eq!(damaged.code, 4, "{}", damaged.stderr);
    let doc = damaged.json();
    let problems: Vec<(String, String)> = doc["damaged"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["location"].as_str().unwrap().to_string(),
                d["problem"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert!(
        problems
            .iter()
            .any(|(l, p)| *l == live[0] && p == "missing")
    );
    assert!(
        problems
            .iter()
            .any(|(l, p)| *l == live[1] && p.contains("bytes"))
    );
}

#[test]
fn rollback_restores_partitions_and_the_next_compact_brings_the_newer_rows_back_once() {
    let ws = Workspace::new("128MiB");
    let lake = Lake::generate(Params {
        rows: 2_000,
        ..Params::default()
    });
    lake.write(&ws.raw, 0..3);
    laketidy(&["compact", ws.def()]).ok();
    let v1_files = {
        let mut f = ws.live_files();
        f.sort();
        f
    };
    lake.write(&ws.raw, 3..lake.params.hours);
    laketidy(&["compact", ws.def()]).ok();
    let report = laketidy(&[
        "rollback",
        ws.def(),
        "--to-version",
        "1",
        "--output",
        "json",
    ])
    .ok()
    .json();
    assert_eq!(report["version"], 3);
    let mut now = ws.live_files();
    now.sort();
    assert_eq!(now, v1_files, "the live files are version 1's again");
    check_lake(&now, &lake, &lake.expected(3));
    let history = laketidy(&["history", ws.def(), "--output", "json"])
        .ok()
        .json();
    assert_eq!(history["versions"][0]["operation"], "rollback");
    laketidy(&["compact", ws.def()]).ok();
    check_lake(&ws.live_files(), &lake, &lake.expected(lake.params.hours));
    let missing = laketidy(&["rollback", ws.def(), "--to-version", "99"]);
    assert_eq!(missing.code, 2);
}

#[test]
fn vacuum_keeps_what_retained_snapshots_need_and_deletes_the_rest() {
    let (ws, lake) = Workspace::compacted_twice(2_000);
    let stray = ws
        .lake
        .join("dt=2024-03-01/hour=02/run-crashed/part-00000.parquet");
    std::fs::create_dir_all(stray.parent().unwrap()).unwrap();
    std::fs::write(&stray, b"from a run that died").unwrap();
    let all_before = parquet_files(&ws.lake);
    let sources_before = tree(&ws.raw);

    // default retention: everything is younger than 7 days, nothing goes
    let kept = laketidy(&["vacuum", ws.def(), "--output", "json"])
        .ok()
        .json();
    assert_eq!(kept["files_deleted"].as_array().unwrap().len(), 0);
    assert_eq!(kept["versions_expired"], 0);
    assert_eq!(parquet_files(&ws.lake), all_before);

    let dry = vacuum_now(&ws, &["--dry-run"]);
    assert!(dry["files_deleted"].as_array().unwrap().len() > 1);
    assert_eq!(
        parquet_files(&ws.lake),
        all_before,
        "a dry run deletes nothing"
    );
    assert_eq!(ws.versions(), 2);

    let done = vacuum_now(&ws, &[]);
    assert_eq!(done["versions_expired"], 1);
    assert_eq!(done["files_deleted"], dry["files_deleted"]);
    let mut live: Vec<PathBuf> = ws.live_files().iter().map(PathBuf::from).collect();
    live.sort();
    assert_eq!(parquet_files(&ws.lake), live, "only the live files remain");
    check_lake(&ws.live_files(), &lake, &lake.expected(lake.params.hours));
    let history = laketidy(&["history", ws.def(), "--output", "json"])
        .ok()
        .json();
    assert_eq!(
        history["versions"].as_array().unwrap().len(),
        1,
        "version 1 expired"
    );
    laketidy(&["verify", ws.def()]).ok();
    assert_eq!(laketidy(&["files", ws.def(), "--version", "1"]).code, 2);
    // source files are never touched without --sources
    assert_eq!(tree(&ws.raw), sources_before);
}

#[test]
fn vacuum_sources_deletes_only_fully_consumed_source_files() {
    let (ws, _) = Workspace::with_lake(
        "128MiB",
        Params {
            rows: 2_000,
            ..Params::default()
        },
    );
    laketidy(&[
        "compact",
        ws.def(),
        "--partition",
        "dt=2024-03-01/hour=0[0-3]",
    ])
    .ok();
    let before: Vec<PathBuf> = parquet_files(&ws.raw)
        .into_iter()
        .filter(|p| !p.to_str().unwrap().contains("_temporary"))
        .collect();
    let report = vacuum_now(&ws, &["--sources"]);
    let deleted = report["source_files_deleted"].as_array().unwrap().len();
    let after: Vec<PathBuf> = parquet_files(&ws.raw)
        .into_iter()
        .filter(|p| !p.to_str().unwrap().contains("_temporary"))
        .collect();
    assert_eq!(before.len() - after.len(), deleted);
    assert!(
        !after.is_empty(),
        "files still feeding uncompacted partitions stay"
    );
    // what is left still completes the table exactly
    laketidy(&["compact", ws.def()]).ok();
    let plan = laketidy(&["plan", ws.def(), "--output", "json"])
        .ok()
        .json();
    assert_eq!(plan["partitions"].as_array().unwrap().len(), 0);
}

#[test]
fn killed_at_any_moment_the_table_stays_committed_and_the_next_run_finishes() {
    for (round, delay_ms) in [5u64, 40, 120, 250].into_iter().enumerate() {
        let ws = Workspace::new("64KiB");
        let lake = Lake::generate(Params {
            rows: 12_000,
            seed: round as u64,
            ..Params::default()
        });
        lake.write(&ws.raw, 0..3);
        laketidy(&["compact", ws.def()]).ok();
        let v1: Vec<String> = ws.live_files();
        lake.write(&ws.raw, 3..lake.params.hours);
        let source_before = tree(&ws.raw);
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_laketidy"))
            .args(["compact", ws.def(), "--no-progress"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        assert_eq!(
            tree(&ws.raw),
            source_before,
            "round {round}: no source file touched"
        );
        let versions = ws.versions();
        assert!(
            versions == 1 || versions == 2,
            "round {round}: {versions} versions"
        );
        if versions == 1 {
            assert_eq!(
                ws.live_files(),
                v1,
                "round {round}: still the last committed snapshot"
            );
        }
        laketidy(&["verify", ws.def()]).ok();
        laketidy(&["compact", ws.def()]).ok();
        check_lake(&ws.live_files(), &lake, &lake.expected(lake.params.hours));
        laketidy(&["vacuum", ws.def(), "--retain", "0s"]).ok();
        let mut live: Vec<PathBuf> = ws.live_files().iter().map(PathBuf::from).collect();
        live.sort();
        assert_eq!(
            parquet_files(&ws.lake),
            live,
            "round {round}: leftovers were only unreferenced files"
        );
    }
}

#[test]
fn vacuum_removes_staging_files_of_writers_that_died() {
    let (ws, _) = compacted(500);
    let staging = ws
        .lake
        .join("dt=2024-03-01/hour=01/run-dead/part-00000.parquet#1");
    std::fs::create_dir_all(staging.parent().unwrap()).unwrap();
    std::fs::write(&staging, b"half a file").unwrap();
    let dry = vacuum_now(&ws, &["--dry-run"]);
    assert_eq!(dry["stale_uploads_aborted"], 1);
    assert!(staging.exists());
    let kept = laketidy(&["vacuum", ws.def(), "--output", "json"])
        .ok()
        .json();
    assert_eq!(
        kept["stale_uploads_aborted"], 0,
        "younger than --retain: maybe still being written"
    );
    let done = vacuum_now(&ws, &[]);
    assert_eq!(done["stale_uploads_aborted"], 1);
    assert!(!staging.exists());
}
