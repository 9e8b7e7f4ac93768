//! Bad input stops the run before anything is committed, names the file (and column),
//! exits 3, and deletes nothing. With `--quarantine` the file is recorded in the
//! manifest, left where it is, and the rest of the rows commit.

use crate::support::check::check_lake;
use crate::support::lakegen::{Lake, Params};
use crate::support::{Workspace, corrupt_column, corrupt_column_at, laketidy, parquet_files, tree};
use arrow::array::{ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Arrival hours compacted before the bad file comes, and the one that comes with it.
const COMPACTED_HOURS: u32 = 2;

/// A workspace whose first two arrival hours are compacted (version 1), with the third
/// arrival hour waiting: good rows that must still reach the lake beside a bad file.
fn compacted_workspace() -> (Workspace, Lake) {
    let ws = Workspace::new("128MiB");
    // every file has the table's final types, so that `check_lake` holds after any hour
    let lake = Lake::generate(Params {
        rows: 1_000,
        evolve_hour: 0,
        ..Params::default()
    });
    lake.write(&ws.raw, 0..COMPACTED_HOURS);
    laketidy(&["compact", ws.def()]).ok();
    lake.write(&ws.raw, COMPACTED_HOURS..COMPACTED_HOURS + 1);
    (ws, lake)
}

/// The refused file again, with `--quarantine`: recorded and left in place, the good
/// rows commit; `plan` and `verify` list it, and later runs skip it.
fn assert_quarantined(ws: &Workspace, lake: &Lake, bad: &Path) {
    assert_quarantined_when(ws, lake, bad, Found::ByScanning);
}

/// When the damage shows: planning scans only the columns routing needs, so damage
/// elsewhere shows only when `compact` reads the file whole.
#[derive(PartialEq)]
enum Found {
    ByScanning,
    ByReadingWhole,
}

fn assert_quarantined_when(ws: &Workspace, lake: &Lake, bad: &Path, found: Found) {
    let name = bad.file_name().unwrap().to_str().unwrap();
    let source_before = tree(&ws.raw);
    if found == Found::ByScanning {
        let planned = laketidy(&["plan", ws.def(), "--quarantine", "--output", "json"]).ok();
        assert_listed(&planned.json(), name, true);
        assert_eq!(ws.versions(), 1, "plan --quarantine records nothing");
    }

    let run = laketidy(&["compact", ws.def(), "--quarantine", "--output", "json"]).ok();
    let doc = run.json();
    assert_eq!(doc["status"], "committed", "{doc}");
    assert_eq!(doc["metrics"]["files_quarantined"], 1);
    assert_listed(&doc, name, true);
    assert_eq!(
        tree(&ws.raw),
        source_before,
        "no source file deleted or changed"
    );
    assert_eq!(ws.versions(), 2);
    check_lake(&ws.live_files(), lake, &lake.expected(COMPACTED_HOURS + 1));

    for command in ["plan", "verify"] {
        let listed = laketidy(&[command, ws.def(), "--output", "json"]).ok();
        assert_listed(&listed.json(), name, false);
    }
    let plain = laketidy(&["compact", ws.def(), "--output", "json"]).ok();
    assert_eq!(
        plain.json()["status"],
        "nothing_to_do",
        "the file stays set aside"
    );
    let text = laketidy(&["verify", ws.def()]).ok();
    assert!(
        text.stdout.contains("1 source file quarantined") && text.stdout.contains(name),
        "{}",
        text.stdout
    );
}

/// `doc` lists exactly one quarantined file, `name`, with a reason.
fn assert_listed(doc: &serde_json::Value, name: &str, new: bool) {
    let listed = doc["quarantined"].as_array().expect("a quarantined list");
    assert_eq!(listed.len(), 1, "{doc}");
    assert!(listed[0]["path"].as_str().unwrap().ends_with(name), "{doc}");
    assert_eq!(listed[0]["new"], new, "{doc}");
    assert!(!listed[0]["reason"].as_str().unwrap().is_empty());
}

fn bad_folder(ws: &Workspace) -> PathBuf {
    let dir = ws.raw.join("dt=2024-03-01/hour=09");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes a source file with the reference columns a definition needs, one row per
/// id, plus `extra` (a column of as many values).
fn write_rows(path: &Path, event_ids: &[&str], extra: Option<(&str, ArrayRef)>) {
    let ts = || {
        Arc::new(
            TimestampMicrosecondArray::from(vec![1_709_251_200_000_000; event_ids.len()])
                .with_timezone("UTC"),
        ) as ArrayRef
    };
    let mut columns = vec![
        (
            "event_id",
            Arc::new(StringArray::from(event_ids.to_vec())) as ArrayRef,
        ),
        ("event_time", ts()),
        ("received_at", ts()),
    ];
    columns.extend(extra);
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(path).unwrap(),
        batch.schema(),
        None,
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

/// Writes a one-row source file with the reference columns, plus `extra`.
fn write_one_row(path: &Path, event_id: &str, extra: (&str, ArrayRef)) {
    write_rows(path, &[event_id], Some(extra));
}

/// Runs compact (and plan) on the broken lake and checks everything guarantee 7 says.
fn assert_refused(ws: &Workspace, bad: &Path, column: Option<&str>) -> String {
    assert_refused_when(ws, bad, column, Found::ByScanning)
}

fn assert_refused_when(ws: &Workspace, bad: &Path, column: Option<&str>, found: Found) -> String {
    let source_before = tree(&ws.raw);
    let lake_before = tree(&ws.lake);
    let run = laketidy(&["compact", ws.def()]);
    assert_eq!(
        run.code, 3,
        "stdout:\n{}\nstderr:\n{}",
        run.stdout, run.stderr
    );
    let name = bad.file_name().unwrap().to_str().unwrap();
    assert!(
        run.stderr.contains(name),
        "the error names the file: {}",
        run.stderr
    );
    if let Some(column) = column {
        assert!(
            run.stderr.contains(column),
            "the error names the column: {}",
            run.stderr
        );
    }
    assert_eq!(
        tree(&ws.raw),
        source_before,
        "no source file was deleted or changed"
    );
    assert_eq!(
        tree(&ws.lake),
        lake_before,
        "nothing was written or committed"
    );
    assert_eq!(ws.versions(), 1);

    let json = laketidy(&["compact", ws.def(), "--output", "json"]);
    assert_eq!(json.code, 3);
    let doc = json.json();
    assert_eq!(doc["error"]["kind"], "bad_input");
    assert_eq!(doc["error"]["exit_code"], 3);
    assert!(doc["error"]["file"].as_str().unwrap().ends_with(name));
    if found == Found::ByScanning {
        assert_eq!(
            laketidy(&["plan", ws.def()]).code,
            3,
            "plan refuses the file too"
        );
    }
    run.stderr
}

#[test]
fn truncated_parquet_file() {
    let (ws, lake) = compacted_workspace();
    let good = std::fs::read(
        crate::support::tree(&ws.raw)
            .into_keys()
            .find(|p| p.extension().is_some_and(|e| e == "parquet"))
            .unwrap(),
    )
    .unwrap();
    let bad = bad_folder(&ws).join("events+0+truncated.snappy.parquet");
    std::fs::write(&bad, &good[..good.len() / 2]).unwrap();
    assert_refused(&ws, &bad, None);
    assert_quarantined(&ws, &lake, &bad);
}

#[test]
fn zero_byte_file() {
    let (ws, lake) = compacted_workspace();
    let bad = bad_folder(&ws).join("events+0+empty.parquet");
    std::fs::write(&bad, b"").unwrap();
    let stderr = assert_refused(&ws, &bad, None);
    assert!(stderr.contains("0 bytes"), "{stderr}");
    assert_quarantined(&ws, &lake, &bad);
}

#[test]
fn non_parquet_file_named_parquet() {
    let (ws, lake) = compacted_workspace();
    let bad = bad_folder(&ws).join("events.parquet");
    std::fs::write(&bad, b"event_id,user_id\nabc,1\n".repeat(20)).unwrap();
    let stderr = assert_refused(&ws, &bad, None);
    assert!(stderr.contains("cannot be read as Parquet"), "{stderr}");
    assert_quarantined(&ws, &lake, &bad);
}

#[test]
fn incompatible_column_type() {
    let (ws, lake) = compacted_workspace();
    let bad = bad_folder(&ws).join("events+1+strings.parquet");
    write_one_row(
        &bad,
        "x1",
        ("price", Arc::new(StringArray::from(vec!["12.50 EUR"]))),
    );
    let stderr = assert_refused(&ws, &bad, Some("price"));
    assert!(
        stderr.contains("Utf8") && stderr.contains("Float64"),
        "both types are named: {stderr}"
    );
    assert_quarantined(&ws, &lake, &bad);
}

#[test]
fn bad_file_on_the_first_run_commits_nothing() {
    let ws = Workspace::new("128MiB");
    let lake = Lake::generate(Params {
        rows: 500,
        ..Params::default()
    });
    lake.write(&ws.raw, 0..2);
    let bad = ws.raw.join("dt=2024-03-01/hour=01/zzz.parquet");
    std::fs::write(&bad, b"PAR1 not really").unwrap();
    let source_before = tree(&ws.raw);
    let run = laketidy(&["compact", ws.def()]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(tree(&ws.raw), source_before);
    assert!(parquet_files(&ws.lake).is_empty());
    assert_eq!(ws.versions(), 0);
}

/// Regression (parquet-testing bad_data/ARROW-RS-GH-6229-DICTHEADER.parquet was
/// reported as a storage failure, exit 1): a footer whose offsets point past the end
/// of the file is bad input.
#[test]
fn footer_pointing_past_the_end_of_the_file() {
    let (ws, lake) = compacted_workspace();
    let good = std::fs::read(
        crate::support::tree(&ws.raw)
            .into_keys()
            .find(|p| {
                p.extension().is_some_and(|e| e == "parquet")
                    && !p.to_string_lossy().contains("_temporary")
            })
            .unwrap(),
    )
    .unwrap();
    // keep the footer, drop the middle: every offset in the footer now points too far
    let footer_len =
        u32::from_le_bytes(good[good.len() - 8..good.len() - 4].try_into().unwrap()) as usize;
    let mut cut = good[..4].to_vec();
    cut.extend_from_slice(&good[good.len() - footer_len - 8..]);
    let bad = bad_folder(&ws).join("events+2+hollow.parquet");
    std::fs::write(&bad, cut).unwrap();
    let stderr = assert_refused(&ws, &bad, None);
    assert!(stderr.contains("past its end"), "{stderr}");
    assert_quarantined(&ws, &lake, &bad);
}

#[test]
fn columns_that_differ_only_in_case_are_refused() {
    let (ws, lake) = compacted_workspace();
    let bad = bad_folder(&ws).join("events+0+shouting.parquet");
    write_one_row(
        &bad,
        "x2",
        ("User_Id", Arc::new(arrow::array::Int64Array::from(vec![7]))),
    );
    let stderr = assert_refused(&ws, &bad, Some("User_Id"));
    assert!(
        stderr.contains("\"user_id\"") && stderr.contains("differ only in case"),
        "{stderr}"
    );
    assert_quarantined(&ws, &lake, &bad);
}

/// A footer whose row count disagrees with its row groups. Planning trusts the
/// footer's count (a file would be skipped as empty, or counted wrong), so the file
/// is refused before anything is read. The file is made here: a good one-row file
/// whose footer is patched to say two rows.
#[test]
fn footer_row_count_that_disagrees_with_the_row_groups() {
    let (ws, lake) = compacted_workspace();
    let bad = bad_folder(&ws).join("events+3+miscounted.parquet");
    write_one_row(
        &bad,
        "miscounted",
        ("platform", Arc::new(StringArray::from(vec!["ios"]))),
    );
    let mut bytes = std::fs::read(&bad).unwrap();
    let end = bytes.len() - 8;
    let footer_len = u32::from_le_bytes(bytes[end..end + 4].try_into().unwrap()) as usize;
    let footer = end - footer_len;
    // FileMetaData's num_rows (field 3, i64) follows the schema: in the compact
    // protocol its header is 0x16 and the value 1 is the zigzag varint 0x02
    let at = footer
        + bytes[footer..end]
            .windows(2)
            .position(|w| w == [0x16, 0x02])
            .expect("the footer's row count");
    bytes[at + 1] = 0x04;
    std::fs::write(&bad, &bytes).unwrap();
    let metadata = parquet::file::metadata::ParquetMetaDataReader::new()
        .parse_and_finish(&bytes::Bytes::from(bytes))
        .unwrap();
    assert_eq!(metadata.file_metadata().num_rows(), 2, "the patch took");
    assert_eq!(metadata.row_group(0).num_rows(), 1);
    let stderr = assert_refused(&ws, &bad, None);
    assert!(
        stderr.contains("footer says 2 rows but its row groups hold 1"),
        "{stderr}"
    );
    assert_quarantined(&ws, &lake, &bad);
}

/// A damaged page in a column that scanning does not read: the damage shows only
/// when the file is read whole, after planning. `--quarantine` sets it aside then and
/// starts over without it.
#[test]
fn corrupt_page_in_a_column_routing_does_not_read() {
    let (ws, lake) = compacted_workspace();
    let good = ws.source_files().into_iter().next().unwrap();
    let bad = bad_folder(&ws).join("events+4+damaged.snappy.parquet");
    std::fs::copy(&good, &bad).unwrap();
    corrupt_column(&bad, "price");
    assert_refused_when(&ws, &bad, None, Found::ByReadingWhole);
    assert_quarantined_when(&ws, &lake, &bad, Found::ByReadingWhole);
}

/// The same damage in a file whose rows all go to one partition: those rows are read
/// whole only when that partition is rewritten, after other partitions were written.
/// Without `--quarantine` that work is deleted; with it, the file is set aside and the
/// run starts over.
#[test]
fn corrupt_page_in_a_file_read_only_when_its_partition_is_rewritten() {
    let (ws, lake) = compacted_workspace();
    let ids: Vec<String> = (0..2_000).map(|i| format!("solo-{i}")).collect();
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    let prices: Vec<f64> = (0..2_000).map(|i| f64::from(i) * 1.5).collect();
    let bad = bad_folder(&ws).join("events+8+one-hour.parquet");
    write_rows(
        &bad,
        &ids,
        Some(("price", Arc::new(arrow::array::Float64Array::from(prices)))),
    );
    corrupt_column_at(&bad, "price", 0.0);
    assert_refused_when(&ws, &bad, None, Found::ByReadingWhole);
    assert_quarantined_when(&ws, &lake, &bad, Found::ByReadingWhole);
}

/// A file with a schema and no rows is not damage: Spark writes one when a job's output
/// is empty. It adds nothing, is recorded as read (never scanned again), and is not
/// quarantined, with or without `--quarantine`.
#[test]
fn zero_row_file_is_read_as_empty() {
    for flags in [&[][..], &["--quarantine"][..]] {
        let (ws, lake) = compacted_workspace();
        let empty = bad_folder(&ws).join("part-00001-0f1e-c000.snappy.parquet");
        write_rows(&empty, &[], None);
        assert_eq!(
            parquet::file::reader::FileReader::metadata(
                &parquet::file::reader::SerializedFileReader::new(
                    std::fs::File::open(&empty).unwrap()
                )
                .unwrap()
            )
            .file_metadata()
            .num_rows(),
            0
        );
        let source_before = tree(&ws.raw);
        let mut args = vec!["compact", ws.def(), "--output", "json"];
        args.extend_from_slice(flags);
        let doc = laketidy(&args).ok().json();
        assert_eq!(doc["status"], "committed", "{doc}");
        assert_eq!(doc["metrics"]["files_quarantined"], 0);
        assert_eq!(doc["quarantined"], serde_json::json!([]));
        assert_eq!(tree(&ws.raw), source_before);
        check_lake(&ws.live_files(), &lake, &lake.expected(COMPACTED_HOURS + 1));
        let plan = laketidy(&["plan", ws.def(), "--output", "json"])
            .ok()
            .json();
        assert_eq!(plan["new_source_files"], 0, "recorded as read: {plan}");
        assert_eq!(plan["partitions"], serde_json::json!([]));
    }
}

/// A quarantined file that is delivered again whole is read on the next run, with or
/// without `--quarantine`; one that is deleted is forgotten. Both leave the quarantine.
#[test]
fn a_quarantined_file_replaced_or_deleted_leaves_the_quarantine() {
    let (ws, lake) = compacted_workspace();
    let dir = bad_folder(&ws);
    let fixed = dir.join("events+5+late.parquet");
    let dropped = dir.join("events+6+junk.parquet");
    std::fs::write(&fixed, b"PAR1 half a file").unwrap();
    std::fs::write(&dropped, b"not parquet at all").unwrap();
    let first = laketidy(&["compact", ws.def(), "--quarantine", "--output", "json"])
        .ok()
        .json();
    assert_eq!(first["metrics"]["files_quarantined"], 2, "{first}");

    std::thread::sleep(std::time::Duration::from_millis(20));
    write_rows(
        &fixed,
        &["redelivered"],
        Some(("platform", Arc::new(StringArray::from(vec!["ios"])))),
    );
    std::fs::remove_file(&dropped).unwrap();
    let second = laketidy(&["compact", ws.def(), "--output", "json"])
        .ok()
        .json();
    assert_eq!(second["status"], "committed", "{second}");
    assert_eq!(
        second["released"],
        serde_json::json!([
            "dt=2024-03-01/hour=09/events+5+late.parquet",
            "dt=2024-03-01/hour=09/events+6+junk.parquet"
        ])
    );
    assert_eq!(second["quarantined"], serde_json::json!([]));
    let verify = laketidy(&["verify", ws.def(), "--output", "json"])
        .ok()
        .json();
    assert_eq!(verify["quarantined"], serde_json::json!([]));

    let expected_rows: usize = lake
        .expected(COMPACTED_HOURS + 1)
        .per_partition
        .values()
        .sum();
    let (mut rows, mut found) = (0, false);
    for file in ws.live_files() {
        let batch = crate::support::check::read_file(Path::new(&file));
        rows += batch.num_rows();
        let ids = batch.column_by_name("event_id").unwrap();
        let ids = arrow::array::AsArray::as_string::<i32>(ids);
        found |= ids.iter().any(|id| id == Some("redelivered"));
    }
    assert!(found, "the file delivered again was read");
    assert_eq!(rows, expected_rows + 1);
}
