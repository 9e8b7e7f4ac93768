//! Lakes written by foreign writers, with those writers (from PyPI, in the test venv):
//! Spark, pyarrow, DuckDB, Polars, and the file naming of Kafka Connect's S3 sink and
//! of Amazon Data Firehose. `tests/writers/foreign_lakes.py` writes each lake and, after
//! `compact`, compares the live files with the rows it reads from the source itself
//! (routed, deduplicated and sorted as the definition says).

use crate::support::{laketidy, venv_python};
use parquet::basic::{Compression, Type as PhysicalType};
use parquet::file::reader::{FileReader, SerializedFileReader};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn writers_script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/writers/foreign_lakes.py")
}

fn python(args: &[&str]) {
    let out = Command::new(venv_python())
        .arg(writers_script())
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "foreign_lakes.py {args:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What the writer put in the source files, so each test shows it exercised what it
/// claims: physical types and codecs of every column, and the file names.
struct Written {
    names: BTreeSet<String>,
    physical: BTreeSet<PhysicalType>,
    /// Codec names without levels: `LZ4_RAW`, `GZIP`, ...
    codecs: BTreeSet<String>,
}

fn written(raw: &Path) -> Written {
    let mut found = Written {
        names: BTreeSet::new(),
        physical: BTreeSet::new(),
        codecs: BTreeSet::new(),
    };
    for entry in crate::support::tree(raw).into_keys() {
        let relative = entry
            .strip_prefix(raw)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        found.names.insert(relative.clone());
        if relative
            .split('/')
            .any(|c| c.starts_with('_') || c.starts_with('.'))
        {
            continue;
        }
        let Ok(reader) = SerializedFileReader::new(std::fs::File::open(&entry).unwrap()) else {
            continue;
        };
        for group in reader.metadata().row_groups() {
            for column in group.columns() {
                found.physical.insert(column.column_type());
                found.codecs.insert(codec_name(column.compression()));
            }
        }
    }
    found
}

fn codec_name(codec: Compression) -> String {
    let name = format!("{codec:?}");
    name.split('(').next().unwrap_or_default().to_string()
}

/// Writes the lake, compacts it, checks the rows, and that a second run has nothing to do.
fn compact_foreign_lake(writer: &str) -> Written {
    compact_foreign_lake_then(writer, |_| {})
}

/// The same, then `more` on the definition file.
fn compact_foreign_lake_then(writer: &str, more: impl FnOnce(&str)) -> Written {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    python(&["write", writer, out]);
    let def = dir.path().join("table.json");
    let def = def.to_str().unwrap();
    let source = written(&dir.path().join("raw"));

    let doc = laketidy(&["compact", def, "--output", "json"]).ok().json();
    assert_eq!(doc["status"], "committed", "{doc}");
    let files = laketidy(&["files", def]).ok().stdout;
    let list = dir.path().join("files.txt");
    std::fs::write(&list, files).unwrap();
    python(&["check", writer, out, list.to_str().unwrap()]);

    let again = laketidy(&["compact", def, "--output", "json"]).ok().json();
    assert_eq!(again["status"], "nothing_to_do", "{again}");
    laketidy(&["verify", def]).ok();
    more(def);
    source
}

/// INT96 is read as UTC microseconds, so the compacted table is a TIMESTAMP that
/// Spark can read back (in nanoseconds it could not, and would be a local time).
fn spark_reads_event_time_as_timestamp(def: &str) {
    let doc = laketidy(&["ddl", def, "--dialect", "spark", "--output", "json"])
        .ok()
        .json();
    let create = doc["statements"][0].as_str().unwrap();
    assert!(create.contains("`event_time` TIMESTAMP,"), "{create}");
}

fn any_name(w: &Written, what: impl Fn(&str) -> bool) -> bool {
    w.names.iter().any(|n| what(n))
}

#[test]
fn spark_with_int96_success_markers_crc_files_and_temporary_leftovers() {
    let w = compact_foreign_lake_then("spark", spark_reads_event_time_as_timestamp);
    assert!(w.physical.contains(&PhysicalType::INT96));
    assert!(any_name(&w, |n| n.ends_with(".c000.snappy.parquet")));
    assert!(any_name(&w, |n| n.ends_with("_SUCCESS")));
    assert!(any_name(&w, |n| n.ends_with(".crc")));
    assert!(any_name(&w, |n| n.starts_with("_temporary/")));
}

#[test]
fn pyarrow_with_dictionaries_large_strings_nanoseconds_v2_pages_and_codecs() {
    let w = compact_foreign_lake("pyarrow");
    for codec in ["LZ4_RAW", "BROTLI", "GZIP"] {
        assert!(w.codecs.contains(codec), "{codec} in {:?}", w.codecs);
    }
}

#[test]
fn duckdb_partitioned_copy() {
    let w = compact_foreign_lake("duckdb");
    assert!(any_name(&w, |n| n.ends_with("/data_0.parquet")));
}

#[test]
fn polars_partitioned_sink() {
    let w = compact_foreign_lake("polars");
    assert!(any_name(&w, |n| n.contains("region=")));
}

#[test]
fn kafka_connect_s3_sink_naming_with_redeliveries() {
    let w = compact_foreign_lake("kafka_connect");
    assert!(any_name(&w, |n| {
        n.starts_with("topics/events/year=")
            && n.contains("/events+0+")
            && n.ends_with(".snappy.parquet")
    }));
}

#[test]
fn firehose_date_folders_without_keys() {
    let w = compact_foreign_lake_then("firehose", spark_reads_event_time_as_timestamp);
    assert!(any_name(&w, |n| {
        let parts: Vec<&str> = n.split('/').collect();
        parts.len() == 5 && parts[0].len() == 4 && parts[4].starts_with("events-stream-1-")
    }));
    assert!(w.physical.contains(&PhysicalType::INT96));
}
