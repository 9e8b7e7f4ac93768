//! Bounded memory: a tight --memory-limit spills to disk and sorts large partitions
//! through runs, and the lake it writes is the one an unbounded run writes.

use crate::support::check::{check_lake, partition_in_path, read_file};
use crate::support::lakegen::{Lake, Params};
use crate::support::{Workspace, corrupt_column, laketidy, parquet_files};
use arrow::array::RecordBatch;
use arrow::compute::concat_batches;
use std::collections::BTreeMap;
use std::path::Path;

/// Each partition's batches, file by file in path order.
fn partition_rows(files: &[String]) -> BTreeMap<String, Vec<RecordBatch>> {
    let mut out: BTreeMap<String, Vec<RecordBatch>> = BTreeMap::new();
    let mut sorted = files.to_vec();
    sorted.sort();
    for f in &sorted {
        let path = Path::new(f);
        out.entry(partition_in_path(path))
            .or_default()
            .push(read_file(path));
    }
    out
}

fn same_lake(a: &[String], b: &[String]) {
    let (a, b) = (partition_rows(a), partition_rows(b));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the same partitions"
    );
    for (partition, batches) in &a {
        let left = concat_batches(&batches[0].schema(), batches).unwrap();
        let right = &b[partition];
        let right = concat_batches(&right[0].schema(), right).unwrap();
        assert_eq!(
            left, right,
            "partition {partition}: same rows in the same order"
        );
    }
}

fn compact(ws: &Workspace, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["compact", ws.def(), "--output", "json"];
    args.extend_from_slice(extra);
    laketidy(&args).ok().json()
}

#[test]
fn a_tight_memory_limit_spills_and_writes_the_same_lake() {
    let params = Params {
        rows: 200_000,
        rows_per_file: 2_500,
        ..Params::default()
    };
    let lake = Lake::generate(params);
    // patching off: the roomy run folds where the tight run sorts on disk, and the
    // two must write the same rows in the same order
    let (roomy, tight) = (Workspace::new("1MiB"), Workspace::new("1MiB"));
    for ws in [&roomy, &tight] {
        ws.set_in_definition("max_delta_files", serde_json::json!(0));
    }
    let spill = tempfile::tempdir().unwrap();
    let spill_dir = spill.path().to_str().unwrap();
    let tight_args = [
        "--memory-limit",
        "16MiB",
        "--spill-dir",
        spill_dir,
        "--jobs",
        "2",
    ];
    // two arrivals: the second run merges new rows into current files, and its
    // redeliveries replace rows already written; with room, it folds them into the
    // sorted current rows, while the tight run sorts everything on disk
    for hours in [0..3, 3..lake.params.hours] {
        lake.write(&roomy.raw, hours.clone());
        lake.write(&tight.raw, hours.clone());
        let unbounded = compact(&roomy, &[]);
        assert_eq!(unbounded["metrics"]["bytes_spilled"], 0);
        let folded = unbounded["metrics"]["partitions_folded"].as_u64().unwrap();
        assert_eq!(folded > 0, hours.start > 0, "{}", unbounded["metrics"]);
        assert_eq!(unbounded["metrics"]["partitions_patched"], 0);
        let bounded = compact(&tight, &tight_args);
        let metrics = &bounded["metrics"];
        assert!(
            metrics["bytes_spilled"].as_u64().unwrap() > 1 << 20,
            "{metrics}"
        );
        assert!(
            metrics["partitions_sorted_externally"].as_u64().unwrap() > 0,
            "{metrics}"
        );
        for key in ["rows_written", "duplicates_removed", "files_added"] {
            assert_eq!(metrics[key], unbounded["metrics"][key], "{key}");
        }
        assert_eq!(
            std::fs::read_dir(spill.path()).unwrap().count(),
            0,
            "the run's spill folder is gone"
        );
        same_lake(&roomy.live_files(), &tight.live_files());
    }
    check_lake(
        &tight.live_files(),
        &lake,
        &lake.expected(lake.params.hours),
    );
}

#[test]
fn a_small_sort_buffer_sorts_on_disk_under_a_roomy_limit_and_writes_the_same_lake() {
    let lake = Lake::generate(Params {
        rows: 100_000,
        rows_per_file: 2_000,
        ..Params::default()
    });
    let (roomy, small) = (Workspace::new("1MiB"), Workspace::new("1MiB"));
    for ws in [&roomy, &small] {
        lake.write(&ws.raw, 0..lake.params.hours);
    }
    let unbounded = compact(&roomy, &[]);
    assert_eq!(unbounded["metrics"]["partitions_sorted_externally"], 0);
    let spill = tempfile::tempdir().unwrap();
    let bounded = compact(
        &small,
        &[
            "--sort-buffer",
            "1MiB",
            "--spill-dir",
            spill.path().to_str().unwrap(),
        ],
    );
    let metrics = &bounded["metrics"];
    assert!(
        metrics["partitions_sorted_externally"].as_u64().unwrap() > 0,
        "the default --memory-limit does not stop a small --sort-buffer: {metrics}"
    );
    assert!(metrics["bytes_spilled"].as_u64().unwrap() > 0, "{metrics}");
    for key in ["rows_written", "duplicates_removed", "files_added"] {
        assert_eq!(metrics[key], unbounded["metrics"][key], "{key}");
    }
    assert_eq!(std::fs::read_dir(spill.path()).unwrap().count(), 0);
    same_lake(&roomy.live_files(), &small.live_files());
    check_lake(
        &small.live_files(),
        &lake,
        &lake.expected(lake.params.hours),
    );
}

#[test]
fn a_run_that_fails_after_spilling_leaves_no_spill_files_and_commits_nothing() {
    let (ws, _) = Workspace::with_lake(
        "1MiB",
        Params {
            rows: 60_000,
            rows_per_file: 1_500,
            ..Params::default()
        },
    );
    // the newest delivery has a damaged page in a column routing does not read, so
    // the damage is found only after the files before it were routed and spilled
    let files = parquet_files(&ws.raw);
    let mut read = ws.source_files();
    read.sort_by_key(|f| std::fs::metadata(f).unwrap().modified().unwrap());
    let newest = read.last().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    corrupt_column(newest, "price");
    let spill = tempfile::tempdir().unwrap();
    let run = laketidy(&[
        "compact",
        ws.def(),
        "--memory-limit",
        "16MiB",
        "--spill-dir",
        spill.path().to_str().unwrap(),
        "--jobs",
        "1",
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let name = newest.file_name().unwrap().to_str().unwrap();
    assert!(
        run.stderr.contains(name),
        "the error names the file: {}",
        run.stderr
    );
    assert_eq!(
        std::fs::read_dir(spill.path()).unwrap().count(),
        0,
        "the spill folder is removed after a failure too"
    );
    assert_eq!(ws.versions(), 0, "nothing committed");
    assert!(
        parquet_files(&ws.lake).is_empty(),
        "nothing written is left behind"
    );
    assert_eq!(
        parquet_files(&ws.raw).len(),
        files.len(),
        "no source file touched"
    );
}

#[test]
fn memory_limits_too_small_or_malformed_are_usage_errors() {
    let ws = Workspace::new("1MiB");
    for (option, bad) in [
        ("--memory-limit", "1MiB"),
        ("--memory-limit", "lots"),
        ("--sort-buffer", "512KiB"),
        ("--sort-buffer", "fast"),
    ] {
        let run = laketidy(&["compact", ws.def(), option, bad]);
        assert_eq!(run.code, 2, "{option} {bad}: {}", run.stderr);
        assert!(run.stderr.contains(option), "{}", run.stderr);
    }
    assert_eq!(ws.versions(), 0, "nothing committed");
}
