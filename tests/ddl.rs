//! `ddl` executed by real engines: DuckDB and Spark (local mode, Hive support with its
//! embedded metastore) run the statements through a rewrite and must count exactly
//! the rows of each partition; sqlglot parses every dialect's statements; a table with
//! hostile column names and partition values survives all of it; and the fixture
//! lake's statements match the reviewed golden files.

use crate::support::lakegen::{Lake, Params};
use crate::support::{Workspace, laketidy};
use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `tests/engines/run_sql.py ENGINE` on `spec` with the test venv's Python.
fn engine(name: &str, spec: &Value) -> Value {
    let python = crate::support::venv_python();
    let dir = tempfile::tempdir().unwrap();
    let spec_path = dir.path().join("spec.json");
    std::fs::write(&spec_path, spec.to_string()).unwrap();
    let out = Command::new(python)
        .arg(repo().join("tests/engines/run_sql.py"))
        .arg(name)
        .arg(&spec_path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// `laketidy ddl` as a list of statements.
fn ddl(def: &str, dialect: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["ddl", def, "--dialect", dialect, "--output", "json"];
    args.extend(extra);
    let doc = laketidy(&args).ok().json();
    doc["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

/// Rows per partition path according to the manifest (`files --output json`).
fn manifest_counts(def: &str) -> BTreeMap<String, u64> {
    let doc = laketidy(&["files", def, "--output", "json"]).ok().json();
    let mut counts = BTreeMap::new();
    for f in doc["files"].as_array().unwrap() {
        *counts
            .entry(f["partition"].as_str().unwrap().to_string())
            .or_default() += f["rows"].as_u64().unwrap();
    }
    counts
}

/// Engine rows `[dt, hour, count]` as partition path → count.
fn engine_counts(rows: &Value) -> BTreeMap<String, u64> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let r = r.as_array().unwrap();
            let path = format!(
                "dt={}/hour={}",
                r[0].as_str().unwrap(),
                r[1].as_str().unwrap()
            );
            (path, r[2].as_str().unwrap().parse().unwrap())
        })
        .collect()
}

/// A lake that arrives in two halves, with the DDL taken after each compaction:
/// CREATE + partitions at version 1, then the changes since version 1.
struct TwoVersions {
    ws: Workspace,
    lake: Lake,
    counts: [BTreeMap<String, u64>; 2],
}

fn two_versions(
    ddl_after_first: &mut dyn FnMut(&str),
    ddl_after_second: &mut dyn FnMut(&str),
) -> TwoVersions {
    let ws = Workspace::new("128MiB");
    let lake = Lake::generate(Params {
        rows: 4000,
        ..Params::default()
    });
    lake.write(&ws.raw, 0..3);
    laketidy(&["compact", ws.def()]).ok();
    let first = manifest_counts(ws.def());
    ddl_after_first(ws.def());
    lake.write(&ws.raw, 3..lake.params.hours);
    laketidy(&["compact", ws.def()]).ok();
    let second = manifest_counts(ws.def());
    ddl_after_second(ws.def());
    TwoVersions {
        ws,
        lake,
        counts: [first, second],
    }
}

fn per_partition_query(table: &str) -> String {
    format!("SELECT dt, hour, count(*) FROM {table} GROUP BY dt, hour")
}

#[test]
fn duckdb_view_reads_exactly_each_committed_version() {
    let (mut first, mut second) = (Vec::new(), Vec::new());
    let run = two_versions(&mut |def| first = ddl(def, "duckdb", &[]), &mut |def| {
        second = ddl(def, "duckdb", &["--since-version", "1"])
    });
    let query = per_partition_query("\"events\"");
    let result = engine(
        "duckdb",
        &json!({"steps": [
            {"statements": first, "queries": {"counts": query}},
            {"statements": second, "queries": {"counts": query}},
        ]}),
    );
    for (step, counts) in run.counts.iter().enumerate() {
        assert_eq!(
            &engine_counts(&result["steps"][step]["counts"]),
            counts,
            "step {step}"
        );
    }
    // and independently of the manifest: what the generator says survives dedup
    let expected = run.lake.expected(run.lake.params.hours);
    let wanted: BTreeMap<String, u64> = expected
        .per_partition
        .iter()
        .map(|(p, n)| (p.clone(), *n as u64))
        .collect();
    assert_eq!(engine_counts(&result["steps"][1]["counts"]), wanted);
    drop(run.ws);
}

#[test]
fn spark_runs_hive_and_spark_ddl_through_a_rewrite() {
    let db = ["--database", "laketidy_test"];
    let mut first = vec!["CREATE DATABASE IF NOT EXISTS laketidy_test".to_string()];
    let mut second = Vec::new();
    let mut since_hive = Vec::new();
    let run = two_versions(
        &mut |def| {
            for dialect in ["hive", "spark"] {
                let name = format!("events_{dialect}");
                let args = [&db[..], &["--name", &name]].concat();
                first.extend(ddl(def, dialect, &args));
                first.extend(ddl(def, dialect, &[&args[..], &["--partitions"]].concat()));
            }
        },
        &mut |def| {
            for dialect in ["hive", "spark"] {
                let name = format!("events_{dialect}");
                let args = [&db[..], &["--name", &name, "--since-version", "1"]].concat();
                let since = ddl(def, dialect, &args);
                if dialect == "hive" {
                    since_hive = since.clone();
                }
                second.extend(since);
            }
        },
    );
    // the second compaction both rewrote partitions and added new ones
    assert!(
        since_hive.iter().any(|s| s.contains("SET LOCATION")),
        "{since_hive:#?}"
    );
    assert!(
        since_hive
            .iter()
            .any(|s| s.contains("ADD IF NOT EXISTS PARTITION"))
    );
    let queries = json!({
        "hive": per_partition_query("laketidy_test.events_hive"),
        "spark": per_partition_query("laketidy_test.events_spark"),
    });
    let result = engine(
        "spark",
        &json!({"steps": [
            {"statements": first, "queries": queries},
            {"statements": second, "queries": queries},
        ]}),
    );
    for (step, counts) in run.counts.iter().enumerate() {
        for table in ["hive", "spark"] {
            assert_eq!(
                &engine_counts(&result["steps"][step][table]),
                counts,
                "step {step}, {table} table"
            );
        }
    }
}

/// Column names and partition values a user can have, written by a test of its own.
const HOSTILE_COLUMNS: [&str; 4] = ["select", "it's \"quoted\"", "a b;c`d", "ünï ☃"];
const PARTITION: &str = "city's key";

fn hostile_values() -> Vec<Option<&'static str>> {
    vec![
        Some("a/b=c"),
        Some("it's"),
        Some("back\\slash'"),
        Some(".."),
        Some("100%"),
        Some("São Paulo ☃"),
        Some("x'); DROP TABLE t; --"),
        Some("`\"`"),
        Some(""),
        None,
    ]
}

/// A lake whose rows are partitioned by a hostile identity column; returns the
/// definition path and the rows each value should have (empty and null are one
/// partition, Hive's default).
fn hostile_lake(dir: &Path) -> (PathBuf, BTreeMap<Option<String>, u64>) {
    let raw = dir.join("raw");
    std::fs::create_dir_all(&raw).unwrap();
    let values = hostile_values();
    let mut expected: BTreeMap<Option<String>, u64> = BTreeMap::new();
    for file in 0..3 {
        let rows: Vec<usize> = (0..values.len() * 2).collect();
        let city: Vec<Option<&str>> = rows
            .iter()
            .map(|i| values[(i + file) % values.len()])
            .collect();
        for c in &city {
            let key = c.filter(|c| !c.is_empty()).map(String::from);
            *expected.entry(key).or_default() += 1;
        }
        let n = rows.len();
        let batch = RecordBatch::try_from_iter(vec![
            (
                "id",
                Arc::new(Int64Array::from_iter_values(
                    (0..n as i64).map(|i| i + 100 * file as i64),
                )) as ArrayRef,
            ),
            (
                HOSTILE_COLUMNS[0],
                Arc::new(StringArray::from(vec!["v"; n])) as ArrayRef,
            ),
            (
                HOSTILE_COLUMNS[1],
                Arc::new(Int64Array::from(vec![7; n])) as ArrayRef,
            ),
            (
                HOSTILE_COLUMNS[2],
                Arc::new(StringArray::from(vec!["w"; n])) as ArrayRef,
            ),
            (
                HOSTILE_COLUMNS[3],
                Arc::new(Float64Array::from(vec![1.5; n])) as ArrayRef,
            ),
            (PARTITION, Arc::new(StringArray::from(city)) as ArrayRef),
        ])
        .unwrap();
        let f = std::fs::File::create(raw.join(format!("part-{file}.parquet"))).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(f, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
    }
    let def = dir.join("hostile.json");
    std::fs::write(
        &def,
        json!({
            "name": "hostile",
            "source": "raw",
            "target": "lake it's",
            "partition_by": [{"name": PARTITION, "from": PARTITION}],
            "sort_by": ["id"],
        })
        .to_string(),
    )
    .unwrap();
    (def, expected)
}

fn value_counts(rows: &Value) -> BTreeMap<Option<String>, u64> {
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let r = r.as_array().unwrap();
            (
                r[0].as_str().map(String::from),
                r[1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

#[test]
fn hostile_names_and_values_survive_duckdb_and_spark() {
    let dir = tempfile::tempdir().unwrap();
    let (def, expected) = hostile_lake(dir.path());
    let def = def.to_str().unwrap();
    laketidy(&["compact", def]).ok();
    // every hostile column reads back whole, and each partition value has its rows
    let column_list = |quote: fn(&str) -> String| {
        HOSTILE_COLUMNS
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let by_value = |table: &str, quote: fn(&str) -> String| {
        format!(
            "SELECT {p}, count(*) FROM {table} GROUP BY {p}",
            p = quote(PARTITION)
        )
    };
    let columns = |table: &str, quote: fn(&str) -> String| {
        format!("SELECT DISTINCT {} FROM {table}", column_list(quote))
    };
    let double = |c: &str| format!("\"{}\"", c.replace('"', "\"\""));
    let backtick = |c: &str| format!("`{}`", c.replace('`', "``"));

    let duck = [
        ddl(def, "duckdb", &[]),
        ddl(def, "duckdb", &["--partitions"]),
    ]
    .concat();
    let result = engine(
        "duckdb",
        &json!({"steps": [{"statements": duck, "queries": {
            "values": by_value("\"hostile\"", double),
            "columns": columns("\"hostile\"", double),
        }}]}),
    );
    assert_eq!(
        value_counts(&result["steps"][0]["values"]),
        expected,
        "duckdb"
    );
    assert_eq!(
        result["steps"][0]["columns"],
        json!([["v", "7", "w", "1.5"]]),
        "duckdb"
    );

    // the Hive metastore itself only takes [A-Za-z0-9_] database and table names
    let mut spark = vec!["CREATE DATABASE IF NOT EXISTS hostile_db".to_string()];
    let mut queries = serde_json::Map::new();
    for dialect in ["hive", "spark"] {
        let args = [
            "--database",
            "hostile_db",
            "--name",
            &format!("hostile_{dialect}"),
        ]
        .map(String::from);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        spark.extend(ddl(def, dialect, &args));
        spark.extend(ddl(def, dialect, &[&args[..], &["--partitions"]].concat()));
        let table = format!("hostile_db.`hostile_{dialect}`");
        queries.insert(
            format!("{dialect} values"),
            by_value(&table, backtick).into(),
        );
        queries.insert(
            format!("{dialect} columns"),
            columns(&table, backtick).into(),
        );
    }
    let result = engine(
        "spark",
        &json!({"steps": [{"statements": spark, "queries": queries}]}),
    );
    for dialect in ["hive", "spark"] {
        let step = &result["steps"][0];
        assert_eq!(
            value_counts(&step[format!("{dialect} values")]),
            expected,
            "{dialect}"
        );
        assert_eq!(
            step[format!("{dialect} columns")],
            json!([["v", "7", "w", "1.5"]]),
            "{dialect}"
        );
    }
}

/// Every statement of every mode, for every dialect.
fn every_dialect(def: &str, since: Option<&str>) -> BTreeMap<&'static str, Vec<String>> {
    let namespace = ["--database", "analytics", "--stage", "lake_stage"];
    let mut out = BTreeMap::new();
    for dialect in [
        "hive",
        "spark",
        "athena",
        "trino",
        "presto",
        "redshift",
        "snowflake",
        "bigquery",
        "duckdb",
    ] {
        let mut statements = ddl(def, dialect, &namespace);
        statements.extend(ddl(
            def,
            dialect,
            &[&namespace[..], &["--partitions"]].concat(),
        ));
        if let Some(v) = since {
            statements.extend(ddl(
                def,
                dialect,
                &[&namespace[..], &["--since-version", v]].concat(),
            ));
        }
        out.insert(dialect, statements);
    }
    out
}

/// sqlglot models no CALL (Trino, Presto), no ALTER EXTERNAL TABLE (Snowflake) and no
/// Redshift `PARTITION (…) SET LOCATION`; every other statement must parse into a real node.
fn sqlglot_models(dialect: &str, sql: &str) -> bool {
    let unmodelled = sql.starts_with("CALL ")
        || sql.starts_with("ALTER EXTERNAL TABLE")
        || (dialect == "redshift"
            && sql.contains(" PARTITION (")
            && sql.contains(" SET LOCATION "));
    !unmodelled
}

#[test]
fn every_dialect_parses_in_sqlglot_including_hostile_names() {
    let (mut statements, mut modelled, mut checked) = (BTreeMap::new(), 0, 0);
    let run = two_versions(&mut |_| {}, &mut |_| {});
    for (dialect, s) in every_dialect(run.ws.def(), Some("1")) {
        statements.insert(dialect.to_string(), s);
    }
    let dir = tempfile::tempdir().unwrap();
    let (hostile, _) = hostile_lake(dir.path());
    laketidy(&["compact", hostile.to_str().unwrap()]).ok();
    for (dialect, s) in every_dialect(hostile.to_str().unwrap(), None) {
        statements.get_mut(dialect).unwrap().extend(s);
    }
    let result = engine("sqlglot", &json!({"dialects": statements}));
    for (dialect, parsed) in result.as_object().unwrap() {
        for p in parsed.as_array().unwrap() {
            let (sql, node) = (p["sql"].as_str().unwrap(), p["node"].as_str().unwrap());
            assert!(!node.starts_with("ParseError"), "{dialect}: {node}\n{sql}");
            if sql.starts_with("CREATE") {
                assert_ne!(
                    node, "Command",
                    "{dialect} CREATE fell back to Command:\n{sql}"
                );
            }
            if sqlglot_models(dialect, sql) {
                modelled += 1;
                assert_ne!(node, "Command", "{dialect} fell back to Command:\n{sql}");
            }
            checked += 1;
        }
    }
    // the partition statements of the Hive family were among them
    assert!(
        modelled > 200 && checked > modelled,
        "{modelled} of {checked}"
    );
}

/// Makes a statement independent of where the test ran and of run ids.
fn normalize(sql: &str, root: &str) -> String {
    let mut out = sql.replace(root, "<ROOT>");
    while let Some(at) = out.find("run-0") {
        let end = at
            + 4
            + out[at + 4..]
                .find(|c: char| !c.is_ascii_hexdigit())
                .unwrap_or(0);
        out.replace_range(at..end, "run-<RUN>");
    }
    out
}

#[test]
fn fixture_ddl_matches_the_reviewed_golden_files() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = dir.path().join("fixtures/events");
    std::fs::create_dir_all(fixture.join("raw")).unwrap();
    let source = repo().join("fixtures/events");
    for entry in crate::support::tree(&source.join("raw")).into_keys() {
        let to = fixture.join(entry.strip_prefix(&source).unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&entry, &to).unwrap();
    }
    std::fs::copy(source.join("events.json"), fixture.join("events.json")).unwrap();
    let def = fixture.join("events.json");
    laketidy(&["compact", def.to_str().unwrap()]).ok();
    let root = dir.path().join("out/events");
    let root = root.to_str().unwrap();
    let bless = std::env::var_os("LAKETIDY_BLESS").is_some();
    let mut stale = Vec::new();
    for (dialect, statements) in every_dialect(def.to_str().unwrap(), None) {
        let text: String = statements
            .iter()
            .map(|s| format!("{};\n\n", normalize(s, root)))
            .collect();
        let golden = repo().join(format!("fixtures/events/ddl/{dialect}.sql"));
        if bless {
            std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
            std::fs::write(&golden, &text).unwrap();
        } else if std::fs::read_to_string(&golden).ok().as_deref() != Some(text.as_str()) {
            stale.push(dialect);
        }
    }
    assert!(
        stale.is_empty(),
        "DDL differs from fixtures/events/ddl/ for {stale:?}: review the change, then rerun with LAKETIDY_BLESS=1"
    );
}

#[test]
fn ddl_errors_are_clear_and_exit_2() {
    let run = two_versions(&mut |_| {}, &mut |_| {});
    let def = run.ws.def();
    let cases: [(&[&str], &str); 4] = [
        (&["--dialect", "trino", "--partitions"], "--database"),
        (&["--dialect", "snowflake"], "--stage"),
        (
            &["--dialect", "hive", "--since-version", "9"],
            "newer than version 2",
        ),
        (&["--dialect", "oracle"], "possible values"),
    ];
    for (args, message) in cases {
        let out = laketidy(&[&["ddl", def][..], args].concat());
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains(message), "{args:?}: {}", out.stderr);
    }
    // before the first commit there is nothing to describe
    let ws = Workspace::new("128MiB");
    let out = laketidy(&["ddl", ws.def(), "--dialect", "duckdb"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("run compact first"), "{}", out.stderr);
}
