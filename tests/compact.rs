//! Compaction end to end: correctness, incremental runs, re-runs, selection.

use crate::support::check::check_lake;
use crate::support::lakegen::{Lake, Params};
use crate::support::{Workspace, laketidy, parquet_files, tree};
use arrow::array::{AsArray, RecordBatch, TimestampMicrosecondArray};
use arrow::datatypes::TimestampMicrosecondType;
use parquet::arrow::ArrowWriter;

#[test]
fn compaction_of_a_raw_lake_is_correct() {
    let (ws, lake) = Workspace::with_lake("48KiB", Params::default());
    let run = laketidy(&["compact", ws.def(), "--output", "json"]).ok();
    let report = run.json();
    assert_eq!(report["schema_version"], 1);
    assert_eq!(report["status"], "committed");
    assert_eq!(report["version"], 1);
    let expected = lake.expected(lake.params.hours);
    assert_eq!(
        report["metrics"]["rows_written"],
        expected.kept.len() as u64
    );
    assert_eq!(
        report["metrics"]["duplicates_removed"],
        (lake.deliveries.len() - expected.kept.len()) as u64,
        "every redelivery is dropped"
    );
    assert_eq!(
        report["partitions"].as_array().unwrap().len(),
        expected.per_partition.len()
    );
    let files = ws.live_files();
    check_lake(&files, &lake, &expected);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(ws.lake.join("_laketidy"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "the manifest folder is private: {mode:o}");
    }
    // small target size: the big partitions are split into several sorted files
    let multi = expected
        .per_partition
        .values()
        .filter(|n| **n > 800)
        .count();
    assert!(
        multi > 0,
        "the lake should have partitions over 800 rows: {:?}",
        expected.per_partition
    );
    assert!(
        files.len() > expected.per_partition.len(),
        "{} files for {} partitions",
        files.len(),
        expected.per_partition.len()
    );
    for f in &files {
        let size = std::fs::metadata(f).unwrap().len();
        assert!(
            size < 96 * 1024,
            "{f} is {size} bytes, far over the 48 KiB target"
        );
        assert!(
            f.contains("/run-"),
            "{f}: files live in a run folder inside their partition"
        );
    }
}

#[test]
fn incremental_runs_rewrite_only_partitions_that_received_rows() {
    let ws = Workspace::new("128MiB");
    let lake = Lake::generate(Params {
        hours: 8,
        evolve_hour: 3,
        ..Params::default()
    });
    let half = lake.params.hours / 2;
    lake.write(&ws.raw, 0..half);
    laketidy(&["compact", ws.def()]).ok();
    check_lake(&ws.live_files(), &lake, &lake.expected(half));
    let first_files = parquet_files(&ws.lake);

    lake.write(&ws.raw, half..lake.params.hours);
    let report = laketidy(&["compact", ws.def(), "--output", "json"])
        .ok()
        .json();
    assert_eq!(report["version"], 2);
    let rewritten: std::collections::BTreeSet<String> = report["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["partition"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        rewritten,
        lake.partitions_fed_by(half..lake.params.hours),
        "exactly the partitions that received rows"
    );
    let all = lake.expected(lake.params.hours);
    assert!(
        rewritten.len() < all.per_partition.len(),
        "some partitions received nothing new"
    );
    check_lake(&ws.live_files(), &lake, &all);
    // old files were neither overwritten nor moved: directory readers are never torn
    for f in &first_files {
        assert!(f.is_file(), "{} disappeared", f.display());
    }
}

#[test]
fn rerunning_a_finished_job_commits_nothing() {
    let (ws, _) = Workspace::compacted(Params {
        rows: 2_000,
        ..Params::default()
    });
    let before = tree(&ws.lake);
    let run = laketidy(&["compact", ws.def()]).ok();
    assert!(run.stdout.contains("nothing to do"), "{}", run.stdout);
    let json = laketidy(&["compact", ws.def(), "--output", "json"])
        .ok()
        .json();
    assert_eq!(json["status"], "nothing_to_do");
    assert_eq!(json["base_version"], 1);
    assert!(json["version"].is_null());
    assert_eq!(tree(&ws.lake), before, "a re-run writes nothing at all");
    assert_eq!(ws.versions(), 1);
    let plan = laketidy(&["plan", ws.def(), "--output", "json"])
        .ok()
        .json();
    assert_eq!(plan["partitions"].as_array().unwrap().len(), 0);
}

#[test]
fn dry_run_and_partition_filter_consume_files_partly_and_lose_nothing() {
    let (ws, lake) = Workspace::with_lake(
        "128MiB",
        Params {
            rows: 3_000,
            ..Params::default()
        },
    );
    let dry = laketidy(&["compact", ws.def(), "--dry-run", "--output", "json"])
        .ok()
        .json();
    assert_eq!(dry["status"], "dry_run");
    assert!(
        parquet_files(&ws.lake).is_empty(),
        "a dry run writes no data"
    );
    assert_eq!(ws.versions(), 0, "a dry run commits nothing");

    let filter = "dt=2024-03-01/hour=0[0-2]";
    let first = laketidy(&[
        "compact",
        ws.def(),
        "--partition",
        filter,
        "--output",
        "json",
    ])
    .ok()
    .json();
    let done: Vec<&str> = first["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["partition"].as_str().unwrap())
        .collect();
    assert!(!done.is_empty());
    assert!(
        done.iter().all(|p| [
            "dt=2024-03-01/hour=00",
            "dt=2024-03-01/hour=01",
            "dt=2024-03-01/hour=02"
        ]
        .contains(p)),
        "{done:?}"
    );
    assert!(first["partitions_skipped"].as_u64().unwrap() > 0);

    let plan = laketidy(&["plan", ws.def(), "--output", "json"])
        .ok()
        .json();
    let pending: Vec<&str> = plan["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["partition"].as_str().unwrap())
        .collect();
    assert!(
        pending.iter().all(|p| !done.contains(p)),
        "filtered partitions are no longer dirty"
    );
    assert_eq!(
        plan["new_source_files"], 0,
        "source files were recorded, with the partitions they feed"
    );

    laketidy(&["compact", ws.def()]).ok();
    check_lake(&ws.live_files(), &lake, &lake.expected(lake.params.hours));
}

#[test]
fn history_and_files_by_version() {
    let (ws, lake) = Workspace::compacted_twice(2_000);
    let history = laketidy(&["history", ws.def(), "--output", "json"])
        .ok()
        .json();
    let versions = history["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["version"], 2, "newest first");
    assert_eq!(versions[0]["operation"], "compact");
    assert!(versions[1]["metrics"]["rows_written"].as_u64().unwrap() > 0);
    let text = laketidy(&["history", ws.def()]).ok().stdout;
    assert!(
        text.lines().count() == 3 && text.contains("VERSION"),
        "{text}"
    );

    let v1 = laketidy(&["files", ws.def(), "--version", "1", "--output", "json"])
        .ok()
        .json();
    let v1_rows: u64 = v1["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rows"].as_u64().unwrap())
        .sum();
    assert_eq!(v1_rows as usize, lake.expected(3).kept.len());
    let missing = laketidy(&["files", ws.def(), "--version", "9"]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("no version 9"),
        "{}",
        missing.stderr
    );

    // a registered table is found by name in its manifest
    let manifest = format!("file://{}/_laketidy/", ws.lake.display());
    let by_name = laketidy(&["files", "events", "--manifest", &manifest]).ok();
    assert_eq!(by_name.stdout.lines().count(), ws.live_files().len());
}

/// Delta files of each partition among the live files.
fn deltas_per_partition(live: &[String]) -> std::collections::BTreeMap<String, usize> {
    let mut deltas = std::collections::BTreeMap::new();
    for file in live {
        let path = std::path::Path::new(file);
        let name = path.file_name().unwrap().to_string_lossy();
        if name.starts_with("delta-") {
            *deltas
                .entry(crate::support::check::partition_in_path(path))
                .or_insert(0) += 1;
        }
    }
    deltas
}

#[test]
fn late_hours_are_patched_in_as_bounded_deltas_and_the_lake_stays_correct() {
    let ws = Workspace::new("128MiB");
    // 40,000 rows per hour: a partition's file holds three row groups
    let lake = Lake::generate(Params {
        rows: 360_000,
        rows_per_file: 2_000,
        hours: 9,
        evolve_hour: 0,
        ..Params::default()
    });
    let compact = |ws: &Workspace| {
        let report = laketidy(&["compact", ws.def(), "--output", "json"])
            .ok()
            .json();
        report["metrics"].clone()
    };
    // arrival hour 4 arrives in three parts: 12 files, one more, then the rest
    lake.write(&ws.raw, 0..5);
    let last = ws.raw.join(crate::support::lakegen::partition_of(
        crate::support::lakegen::START_US + 4 * crate::support::lakegen::HOUR_US,
    ));
    let held = ws.root.join("held");
    std::fs::create_dir_all(&held).unwrap();
    let mut hour_4: Vec<_> = parquet_files(&last)
        .into_iter()
        .filter(|f| !f.to_string_lossy().contains("_temporary"))
        .collect();
    hour_4.sort();
    for file in &hour_4[12..] {
        std::fs::rename(file, held.join(file.file_name().unwrap())).unwrap();
    }
    compact(&ws);
    let restore = |files: &[std::path::PathBuf]| {
        for file in files {
            std::fs::rename(held.join(file.file_name().unwrap()), file).unwrap();
        }
    };

    // a few new rows for a partition written under today's rules: patched in
    restore(&hour_4[12..13]);
    let metrics = compact(&ws);
    assert!(
        metrics["partitions_patched"].as_u64().unwrap() >= 1,
        "{metrics}"
    );
    let patched = deltas_per_partition(&ws.live_files());
    assert!(
        !patched.is_empty(),
        "a delta file beside the partition's files"
    );

    // many new rows for a partition that holds a delta: rewritten whole, sorting
    // its current files with the new rows, and without deltas afterwards
    restore(&hour_4[13..]);
    let metrics = compact(&ws);
    assert_eq!(metrics["partitions_folded"], 0, "{metrics}");
    let hour_4_partition = crate::support::check::partition_in_path(&hour_4[0]);
    let deltas = deltas_per_partition(&ws.live_files());
    assert!(!deltas.contains_key(&hour_4_partition), "{deltas:?}");
    check_lake(&ws.live_files(), &lake, &lake.expected(5));

    // then one arrival hour at a time: late events reach back into every earlier
    // partition, which gets a delta each hour until the fifth merges them
    let (mut copied, mut reencoded, mut merged) = (0, 0, 0);
    for hour in 5..lake.params.hours {
        lake.write(&ws.raw, hour..hour + 1);
        let metrics = compact(&ws);
        copied += metrics["row_groups_copied"].as_u64().unwrap();
        reencoded += metrics["row_groups_reencoded"].as_u64().unwrap();
        merged += metrics["partitions_deltas_merged"].as_u64().unwrap();
        let live = ws.live_files();
        let deltas = deltas_per_partition(&live);
        assert!(deltas.values().all(|&n| n <= 4), "hour {hour}: {deltas:?}");
        check_lake(&live, &lake, &lake.expected(hour + 1));
    }
    assert!(
        copied > 0 && reencoded > 0,
        "copied {copied}, reencoded {reencoded}"
    );
    assert!(
        merged > 0,
        "five deltas for one partition are merged into one"
    );
    laketidy(&["verify", ws.def()]).ok();
    // nothing left to do
    let metrics = compact(&ws);
    assert_eq!(metrics["partitions_rewritten"], 0, "{metrics}");
}

#[test]
fn a_redelivery_older_than_the_kept_row_loses_when_patched_in() {
    let (ws, lake) = Workspace::compacted(Params {
        evolve_hour: 0,
        ..Params::default()
    });
    // five events delivered again, each with a received_at an hour before the
    // delivery that was kept: the kept rows must stay, the old copies must not appear
    let kept = lake.expected(lake.params.hours);
    let source = ws.source_files().into_iter().min().unwrap();
    let batch = crate::support::check::read_file(&source).slice(0, 5);
    let ids = batch.column_by_name("event_id").unwrap().as_string::<i32>();
    let received = batch
        .column_by_name("received_at")
        .unwrap()
        .as_primitive::<TimestampMicrosecondType>();
    let older: TimestampMicrosecondArray = (0..5)
        .map(|i| Some(kept.kept[ids.value(i)].1 - crate::support::lakegen::HOUR_US))
        .collect::<TimestampMicrosecondArray>()
        .with_timezone_opt(received.timezone());
    let index = batch.schema().index_of("received_at").unwrap();
    let mut columns = batch.columns().to_vec();
    columns[index] = std::sync::Arc::new(older);
    let redelivered = RecordBatch::try_new(batch.schema(), columns).unwrap();
    let folder = ws.raw.join("late-redeliveries");
    std::fs::create_dir_all(&folder).unwrap();
    let file = std::fs::File::create(folder.join("again.parquet")).unwrap();
    let mut writer = ArrowWriter::try_new(file, redelivered.schema(), None).unwrap();
    writer.write(&redelivered).unwrap();
    writer.close().unwrap();

    let report = laketidy(&["compact", ws.def(), "--output", "json"])
        .ok()
        .json();
    let metrics = &report["metrics"];
    assert!(
        metrics["partitions_patched"].as_u64().unwrap() >= 1,
        "{metrics}"
    );
    assert_eq!(metrics["duplicates_removed"], 5, "{metrics}");
    assert_eq!(metrics["rows_written"].as_u64().unwrap() as usize, {
        let touched: std::collections::BTreeSet<_> = report["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["partition"].as_str().unwrap().to_string())
            .collect();
        kept.per_partition
            .iter()
            .filter(|(p, _)| touched.contains(*p))
            .map(|(_, n)| n)
            .sum::<usize>()
    });
    // no event twice, every kept delivery as it was
    check_lake(&ws.live_files(), &lake, &kept);
}
