//! Source layouts (Hive, Firehose-style, flat) and partition values that need escaping.

use crate::support::check::{check_lake, read_file};
use crate::support::lakegen::{Lake, Params};
use crate::support::{Workspace, laketidy};
use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

fn write_parquet(path: &Path, batch: &RecordBatch) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(path).unwrap(),
        batch.schema(),
        None,
    )
    .unwrap();
    w.write(batch).unwrap();
    w.close().unwrap();
}

#[test]
fn firehose_style_folders_route_by_event_time() {
    let ws = Workspace::new("128MiB");
    let lake = Lake::generate(Params {
        rows: 2_000,
        ..Params::default()
    });
    let staging = ws.root.join("staging");
    lake.write(&staging, 0..lake.params.hours);
    // dt=2024-03-01/hour=05/x.parquet -> 2024/03/01/05/x.parquet
    for day in std::fs::read_dir(&staging).unwrap() {
        let day = day.unwrap().path();
        let date = day
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .trim_start_matches("dt=")
            .replace('-', "/");
        for hour in std::fs::read_dir(&day).unwrap() {
            let hour = hour.unwrap().path();
            let h = hour
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .trim_start_matches("hour=")
                .to_string();
            let dest = ws.raw.join(&date).join(h);
            std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
            std::fs::rename(&hour, &dest).unwrap();
        }
    }
    laketidy(&["compact", ws.def()]).ok();
    check_lake(&ws.live_files(), &lake, &lake.expected(lake.params.hours));
}

#[test]
fn without_partition_by_the_source_partitions_are_kept_and_no_row_is_dropped() {
    let (ws, lake) = Workspace::with_lake(
        "128MiB",
        Params {
            rows: 1_500,
            ..Params::default()
        },
    );
    std::fs::write(
        &ws.definition,
        r#"{"name":"events","source":"raw","target":"lake"}"#,
    )
    .unwrap();
    laketidy(&["compact", ws.def()]).ok();
    let files = ws.live_files();
    let mut rows: BTreeMap<String, usize> = BTreeMap::new();
    for f in &files {
        let partition = crate::support::check::partition_in_path(Path::new(f));
        *rows.entry(partition).or_default() += read_file(Path::new(f)).num_rows();
    }
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    for d in &lake.deliveries {
        let arrival = crate::support::lakegen::partition_of(
            d.received_at - d.received_at.rem_euclid(3_600_000_000),
        );
        *expected.entry(arrival).or_default() += 1;
    }
    assert_eq!(
        rows, expected,
        "arrival-hour partitions kept, no dedup without a rule"
    );
}

#[test]
fn a_flat_source_without_partition_by_becomes_one_unpartitioned_table() {
    let ws = Workspace::new("128MiB");
    for i in 0..3i64 {
        let batch = RecordBatch::try_from_iter(vec![(
            "n",
            Arc::new(Int64Array::from(vec![i * 10, i * 10 + 1])) as ArrayRef,
        )])
        .unwrap();
        write_parquet(&ws.raw.join(format!("part-{i}.parquet")), &batch);
    }
    std::fs::write(
        &ws.definition,
        r#"{"name":"events","source":"raw","target":"lake","sort_by":["n"]}"#,
    )
    .unwrap();
    laketidy(&["compact", ws.def()]).ok();
    let files = ws.live_files();
    assert_eq!(files.len(), 1);
    assert!(
        files[0].starts_with(&format!("{}/run-", ws.lake.display())),
        "{}",
        files[0]
    );
    let values: Vec<i64> = read_file(Path::new(&files[0]))
        .column(0)
        .as_primitive::<arrow::datatypes::Int64Type>()
        .values()
        .to_vec();
    assert_eq!(values, vec![0, 1, 10, 11, 20, 21]);
}

#[test]
fn identity_partition_values_are_escaped_and_stay_in_their_folder() {
    let ws = Workspace::new("128MiB");
    let cities = vec![
        Some("a/b"),
        Some("São Paulo"),
        Some("x=y:z"),
        Some(".."),
        None,
        Some("a/b"),
    ];
    let batch = RecordBatch::try_from_iter(vec![
        (
            "city",
            Arc::new(StringArray::from(cities.clone())) as ArrayRef,
        ),
        (
            "n",
            Arc::new(Int64Array::from(
                (0..cities.len() as i64).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
    ])
    .unwrap();
    write_parquet(&ws.raw.join("in.parquet"), &batch);
    std::fs::write(
        &ws.definition,
        r#"{"name":"events","source":"raw","target":"lake","partition_by":[{"name":"city","from":"city"}]}"#,
    )
    .unwrap();
    laketidy(&["compact", ws.def()]).ok();
    let mut seen = BTreeMap::new();
    for f in ws.live_files() {
        let path = Path::new(&f);
        assert!(path.starts_with(&ws.lake), "{f} left the target");
        let rel = path
            .strip_prefix(&ws.lake)
            .unwrap()
            .to_str()
            .unwrap()
            .to_string();
        let folder = rel.split('/').next().unwrap().to_string();
        let batch = read_file(path);
        assert!(
            batch.column_by_name("city").is_none(),
            "an identity partition column lives only in the path"
        );
        let n = batch
            .column_by_name("n")
            .unwrap()
            .as_primitive::<arrow::datatypes::Int64Type>();
        seen.insert(folder, n.values().to_vec());
        assert_eq!(n.null_count(), 0);
    }
    let expected: BTreeMap<String, Vec<i64>> = [
        ("city=a%2Fb", vec![0, 5]),
        ("city=São Paulo", vec![1]),
        ("city=x%3Dy%3Az", vec![2]),
        ("city=..", vec![3]),
        ("city=__HIVE_DEFAULT_PARTITION__", vec![4]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(seen, expected);
}
