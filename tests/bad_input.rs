//! Bad input stops the run before anything is committed, names the file (and column),
//! exits 3, and deletes nothing.

use crate::support::lakegen::{Lake, Params};
use crate::support::{Workspace, laketidy, parquet_files, tree};
use arrow::array::{ArrayRef, RecordBatch, StringArray, TimestampMicrosecondArray};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A workspace whose first two arrival hours are compacted (version 1).
fn compacted_workspace() -> (Workspace, Lake) {
    let ws = Workspace::new("128MiB");
    let lake = Lake::generate(Params {
        rows: 1_000,
        ..Params::default()
    });
    lake.write(&ws.raw, 0..2);
    laketidy(&["compact", ws.def()]).ok();
    (ws, lake)
}

fn bad_folder(ws: &Workspace) -> PathBuf {
    let dir = ws.raw.join("dt=2024-03-01/hour=09");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes a one-row source file with the reference columns a definition needs, plus `extra`.
fn write_one_row(path: &Path, event_id: &str, extra: (&str, ArrayRef)) {
    let ts = || {
        Arc::new(TimestampMicrosecondArray::from(vec![1_709_251_200_000_000]).with_timezone("UTC"))
            as ArrayRef
    };
    let batch = RecordBatch::try_from_iter(vec![
        (
            "event_id",
            Arc::new(StringArray::from(vec![event_id])) as ArrayRef,
        ),
        ("event_time", ts()),
        ("received_at", ts()),
        extra,
    ])
    .unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(
        std::fs::File::create(path).unwrap(),
        batch.schema(),
        None,
    )
    .unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
}

/// Runs compact (and plan) on the broken lake and checks everything guarantee 7 says.
fn assert_refused(ws: &Workspace, bad: &Path, column: Option<&str>) -> String {
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
    assert_eq!(
        laketidy(&["plan", ws.def()]).code,
        3,
        "plan refuses the file too"
    );
    run.stderr
}

#[test]
fn truncated_parquet_file() {
    let (ws, _) = compacted_workspace();
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
}

#[test]
fn zero_byte_file() {
    let (ws, _) = compacted_workspace();
    let bad = bad_folder(&ws).join("events+0+empty.parquet");
    std::fs::write(&bad, b"").unwrap();
    let stderr = assert_refused(&ws, &bad, None);
    assert!(stderr.contains("0 bytes"), "{stderr}");
}

#[test]
fn non_parquet_file_named_parquet() {
    let (ws, _) = compacted_workspace();
    let bad = bad_folder(&ws).join("events.parquet");
    std::fs::write(&bad, b"event_id,user_id\nabc,1\n".repeat(20)).unwrap();
    let stderr = assert_refused(&ws, &bad, None);
    assert!(stderr.contains("cannot be read as Parquet"), "{stderr}");
}

#[test]
fn incompatible_column_type() {
    let (ws, _) = compacted_workspace();
    let bad = bad_folder(&ws).join("events+1+strings.parquet");
    write_one_row(
        &bad,
        "x1",
        ("price", Arc::new(StringArray::from(vec!["12.50 EUR"]))),
    );
    let stderr = assert_refused(&ws, &bad, Some("price"));
    assert!(
        stderr.contains("Utf8") && stderr.contains("Float32"),
        "both types are named: {stderr}"
    );
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
    let (ws, _) = compacted_workspace();
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
}

#[test]
fn columns_that_differ_only_in_case_are_refused() {
    let (ws, _) = compacted_workspace();
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
}

/// A footer whose row count disagrees with its row groups. Planning trusts the
/// footer's count (a file would be skipped as empty, or counted wrong), so the file
/// is refused before anything is read. The file is made here: a good one-row file
/// whose footer is patched to say two rows.
#[test]
fn footer_row_count_that_disagrees_with_the_row_groups() {
    let (ws, _) = compacted_workspace();
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
}
