//! The contract every dialect keeps, checked for all of them: hostile names stay
//! inside their quotes (read back by an independent tokenizer per quoting style),
//! every partition is pointed at its committed folder or files, types map or fail
//! naming the column, and `--since-version` emits only what changed.

use super::*;
use arrow::datatypes::{Field, Fields, TimeUnit};
use std::sync::Arc;

/// How a dialect's tokenizer reads quoted text.
struct Lexer {
    ident_quote: char,
    /// Identifier quote escaped by a backslash (BigQuery) instead of doubling.
    ident_backslash: bool,
    /// `\` starts an escape inside strings.
    string_backslash: bool,
    /// `''` is a quote inside strings.
    string_doubling: bool,
}

fn lexer(dialect: Dialect) -> Lexer {
    use Dialect::*;
    let (ident_quote, ident_backslash, string_backslash, string_doubling) = match dialect {
        Hive | Spark | Athena => ('`', false, true, false),
        Bigquery => ('`', true, true, false),
        Redshift | Snowflake => ('"', false, true, true),
        Trino | Presto | Duckdb => ('"', false, false, true),
    };
    Lexer {
        ident_quote,
        ident_backslash,
        string_backslash,
        string_doubling,
    }
}

/// Splits SQL into the text outside quotes and the decoded quoted tokens.
fn tokenize(sql: &str, lexer: &Lexer) -> (String, Vec<String>) {
    let mut outside = String::new();
    let mut tokens = Vec::new();
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        let is_string = c == '\'';
        if !is_string && c != lexer.ident_quote {
            outside.push(c);
            continue;
        }
        let backslash = if is_string {
            lexer.string_backslash
        } else {
            lexer.ident_backslash
        };
        let doubling = if is_string {
            lexer.string_doubling
        } else {
            !lexer.ident_backslash
        };
        let mut token = String::new();
        let mut closed = false;
        while let Some(d) = chars.next() {
            if backslash && d == '\\' {
                match chars.next() {
                    Some('n') => token.push('\n'),
                    Some('t') => token.push('\t'),
                    Some('r') => token.push('\r'),
                    Some('u') => {
                        let hex: String = chars.by_ref().take(4).collect();
                        let code = u32::from_str_radix(&hex, 16).expect("\\u escape");
                        token.push(char::from_u32(code).expect("code point"));
                    }
                    Some(e) => token.push(e),
                    None => panic!("dangling escape in {sql}"),
                }
            } else if d == c {
                if doubling && chars.peek() == Some(&c) {
                    chars.next();
                    token.push(c);
                } else {
                    closed = true;
                    break;
                }
            } else {
                token.push(d);
            }
        }
        assert!(closed, "unterminated quote in {sql}");
        outside.push('?');
        tokens.push(token);
    }
    (outside, tokens)
}

const PAYLOAD: &str = "x'); PWNED t; --";

/// Column and partition names and values a user can have.
fn hostile_names() -> (
    Vec<&'static str>,
    Vec<&'static str>,
    Vec<Option<&'static str>>,
) {
    let columns = vec![
        "select",
        "user id",
        "it's",
        "dq\"col",
        "back`tick",
        "ünïcödé ☃",
        "x'); PWNED t; --",
        "back\\slash",
        "tab\tnew\nline",
    ];
    let partition_columns = vec!["dt", "we'ird `key\""];
    let values = vec![
        Some("a/b=c"),
        Some("it's"),
        Some("back\\slash'"),
        Some(".."),
        Some("100%"),
        Some("São Paulo ☃"),
        Some(PAYLOAD),
        Some("`\"`"),
        None,
    ];
    (columns, partition_columns, values)
}

fn hostile_table(version: u8) -> TableShape {
    let (columns, partition_columns, values) = hostile_names();
    let partitions = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let values = vec![Some(format!("2024-03-0{}", i % 3 + 1)), v.map(String::from)];
            let path = crate::model::hive::PartitionValues(
                partition_columns
                    .iter()
                    .map(|c| c.to_string())
                    .zip(values.iter().cloned())
                    .collect(),
            )
            .path();
            let folder = format!("{path}/run-{version}");
            PartitionEntry {
                values,
                files: vec![
                    format!("{folder}/part-0.parquet"),
                    format!("{folder}/part-1.parquet"),
                ],
                folder,
            }
        })
        .collect();
    TableShape {
        database: Some("lake db".into()),
        table: "events; drop".into(),
        root: "s3://bucket/my lake/it's".into(),
        columns: columns
            .iter()
            .map(|c| Arc::new(Field::new(*c, DataType::Utf8, true)))
            .collect(),
        partition_columns: partition_columns.iter().map(|c| c.to_string()).collect(),
        partitions,
        stage: Some("db.my stage".into()),
    }
}

fn all_statements(dialect: Dialect, table: &TableShape, before: &TableShape) -> Vec<String> {
    let mut out = Vec::new();
    for mode in [Mode::Create, Mode::Partitions] {
        out.extend(render(dialect, table, mode, None).expect("renders"));
    }
    out.extend(render(dialect, table, Mode::Since, Some(before)).expect("renders"));
    out
}

#[test]
fn hostile_names_stay_inside_their_quotes() {
    let before = hostile_table(1);
    let mut after = hostile_table(2);
    after.partitions.remove(0);
    for dialect in Dialect::ALL {
        let lexer = lexer(dialect);
        for sql in all_statements(dialect, &after, &before) {
            let (outside, _) = tokenize(&sql, &lexer);
            assert!(
                !outside.contains("PWNED") && !outside.contains(';') && !outside.contains("--"),
                "{dialect}: payload outside quotes in {outside}\nfrom {sql}"
            );
        }
    }
}

#[test]
fn every_partition_value_and_column_is_emitted_exactly() {
    let table = hostile_table(1);
    for dialect in Dialect::ALL {
        let lexer = lexer(dialect);
        let tokens: Vec<String> = all_statements(dialect, &table, &hostile_table(0))
            .iter()
            .flat_map(|s| tokenize(s, &lexer).1)
            .collect();
        let has = |s: &str| tokens.iter().any(|t| t == s);
        // the view reads data columns from the files, and BigQuery reads values from paths
        if dialect != Dialect::Duckdb {
            for column in &table.columns {
                assert!(has(column.name()), "{dialect}: column {:?}", column.name());
            }
        }
        if dialect != Dialect::Bigquery && dialect != Dialect::Presto {
            for value in table
                .partitions
                .iter()
                .flat_map(|p| p.values.iter().flatten())
            {
                assert!(has(value), "{dialect}: value {value:?} in {tokens:?}");
            }
        }
        for column in &table.partition_columns {
            assert!(has(column), "{dialect}: partition column {column:?}");
        }
    }
}

#[test]
fn readers_are_pointed_at_committed_folders_or_files() {
    let table = hostile_table(1);
    for dialect in Dialect::ALL {
        let lexer = lexer(dialect);
        let tokens: Vec<String> = render(dialect, &table, Mode::Partitions, None)
            .expect("renders")
            .iter()
            .flat_map(|s| tokenize(s, &lexer).1)
            .collect();
        for partition in &table.partitions {
            let wanted: Vec<String> = match dialect {
                Dialect::Snowflake => vec![format!("{}/", partition.folder)],
                Dialect::Duckdb | Dialect::Bigquery | Dialect::Presto => {
                    partition.files.iter().map(|f| table.absolute(f)).collect()
                }
                _ => vec![table.folder_location(partition)],
            };
            for w in wanted {
                assert!(tokens.contains(&w), "{dialect}: {w} not registered");
            }
        }
        // and never at the table root, which also holds older versions
        if dialect != Dialect::Presto {
            assert!(!tokens.contains(&format!("{}/", table.root)), "{dialect}");
        }
    }
}

#[test]
fn since_version_emits_only_what_changed() {
    let before = hostile_table(1);
    let mut after = before.clone();
    for dialect in Dialect::ALL {
        let none = render(dialect, &after, Mode::Since, Some(&before)).expect("renders");
        assert!(none.is_empty(), "{dialect}: {none:?}");
    }
    // one partition rewritten into a fresh folder, one dropped, one added
    let moved = &mut after.partitions[1];
    moved.folder = moved.folder.replace("run-1", "run-2");
    moved.files = moved
        .files
        .iter()
        .map(|f| f.replace("run-1", "run-2"))
        .collect();
    after.partitions.remove(0);
    let mut added = before.partitions[2].clone();
    added.values[0] = Some("2030-01-01".into());
    added.folder = "dt=2030-01-01/run-2".into();
    added.files = vec!["dt=2030-01-01/run-2/part-0.parquet".into()];
    after.partitions.push(added);
    let changes = diff(&before, &after).expect("diff");
    assert_eq!(changes.added.len(), 1);
    assert_eq!(changes.moved.len(), 1);
    assert_eq!(changes.dropped.len(), 1);
    assert_eq!(changes.moved[0].1.folder, after.partitions[0].folder);
    let hive = render(Dialect::Hive, &after, Mode::Since, Some(&before)).expect("renders");
    assert_eq!(hive.len(), 3, "{hive:#?}");
    assert!(hive[0].contains("ADD IF NOT EXISTS PARTITION"));
    assert!(hive[1].contains("SET LOCATION") && hive[1].contains("run-2"));
    assert!(hive[2].contains("DROP IF EXISTS PARTITION"));
}

#[test]
fn a_type_change_or_new_partitioning_asks_for_a_new_table() {
    let before = hostile_table(1);
    let mut after = before.clone();
    after.columns[0] = Arc::new(Field::new("select", DataType::Int64, true));
    let error = diff(&before, &after).expect_err("type change");
    assert!(
        error.0.contains("\"select\"") && error.0.contains("recreate"),
        "{error}"
    );
    let mut after = before.clone();
    after.partition_columns.pop();
    assert!(diff(&before, &after).is_err());
}

#[test]
fn new_columns_are_added_where_the_engine_keeps_a_schema() {
    let before = hostile_table(1);
    let mut after = before.clone();
    after
        .columns
        .push(Arc::new(Field::new("added later", DataType::Int64, true)));
    for dialect in Dialect::ALL {
        let sql = render(dialect, &after, Mode::Since, Some(&before)).expect("renders");
        assert!(!sql.is_empty(), "{dialect}");
        let lexer = lexer(dialect);
        let tokens: Vec<String> = sql.iter().flat_map(|s| tokenize(s, &lexer).1).collect();
        // duckdb's view reads the files' own columns
        if dialect != Dialect::Duckdb {
            assert!(
                tokens.iter().any(|t| t == "added later"),
                "{dialect}: {sql:?}"
            );
        }
    }
}

#[test]
fn a_partition_column_is_never_also_a_data_column() {
    let mut table = hostile_table(1);
    table
        .columns
        .push(Arc::new(Field::new("DT", DataType::Utf8, true)));
    for dialect in Dialect::ALL {
        let error = render(dialect, &table, Mode::Create, None).expect_err("collision");
        assert!(error.0.contains("\"dt\""), "{dialect}: {error}");
    }
}

fn every_type() -> Vec<DataType> {
    let item = Arc::new(Field::new("item", DataType::Int32, true));
    let entries = Arc::new(Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("key", DataType::Utf8, false),
            Field::new("value", DataType::Float64, true),
        ])),
        false,
    ));
    vec![
        DataType::Boolean,
        DataType::Int8,
        DataType::Int16,
        DataType::Int32,
        DataType::Int64,
        DataType::UInt8,
        DataType::UInt16,
        DataType::UInt32,
        DataType::UInt64,
        DataType::Float32,
        DataType::Float64,
        DataType::Decimal128(10, 2),
        DataType::Decimal128(38, 10),
        DataType::Decimal256(60, 10),
        DataType::Utf8,
        DataType::LargeUtf8,
        DataType::Binary,
        DataType::FixedSizeBinary(16),
        DataType::Date32,
        DataType::Timestamp(TimeUnit::Millisecond, None),
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
        DataType::Time64(TimeUnit::Microsecond),
        DataType::Duration(TimeUnit::Second),
        DataType::Null,
        DataType::List(item.clone()),
        DataType::LargeList(Arc::new(Field::new("item", DataType::List(item), true))),
        DataType::Struct(Fields::from(vec![Field::new("a b", DataType::Utf8, true)])),
        DataType::Map(entries, false),
    ]
}

#[test]
fn every_type_maps_or_fails_naming_its_column() {
    for dialect in Dialect::ALL {
        let sql = dialect.sql();
        let mut mapped = 0;
        for ty in every_type() {
            let column: FieldRef = Arc::new(Field::new("the column", ty.clone(), true));
            match column_list(sql, &[column], " ") {
                Ok(list) => {
                    mapped += 1;
                    assert!(list[0].len() > "the column".len() + 3, "{dialect}: {ty}");
                }
                Err(e) => {
                    assert!(e.0.contains("\"the column\""), "{dialect}: {e}");
                    assert!(e.0.contains(dialect.name()), "{dialect}: {e}");
                }
            }
        }
        // the common types map everywhere
        assert!(mapped >= 20, "{dialect}: only {mapped} types map");
    }
}

#[test]
fn nested_types_keep_their_structure() {
    let ty = DataType::Struct(Fields::from(vec![
        Field::new("a b", DataType::Int64, true),
        Field::new(
            "tags",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            true,
        ),
    ]));
    let expect = [
        (
            Dialect::Hive,
            "STRUCT<`a b`: BIGINT, `tags`: ARRAY<STRING>>",
        ),
        (
            Dialect::Spark,
            "STRUCT<`a b`: BIGINT, `tags`: ARRAY<STRING>>",
        ),
        (
            Dialect::Redshift,
            "STRUCT<\"a b\": BIGINT, \"tags\": ARRAY<VARCHAR(65535)>>",
        ),
        (
            Dialect::Trino,
            "ROW(\"a b\" BIGINT, \"tags\" ARRAY(VARCHAR))",
        ),
        (
            Dialect::Bigquery,
            "STRUCT<`a b` INT64, `tags` ARRAY<STRING>>",
        ),
        (Dialect::Snowflake, "OBJECT"),
        (
            Dialect::Duckdb,
            "STRUCT(\"a b\" BIGINT, \"tags\" VARCHAR[])",
        ),
    ];
    for (dialect, wanted) in expect {
        assert_eq!(
            dialect.sql().data_type(&ty).expect("maps"),
            wanted,
            "{dialect}"
        );
    }
}

#[test]
fn dialects_that_need_a_namespace_say_so() {
    let mut table = hostile_table(1);
    table.database = None;
    table.stage = None;
    for (dialect, mode, flag) in [
        (Dialect::Trino, Mode::Partitions, "--database"),
        (Dialect::Presto, Mode::Partitions, "--database"),
        (Dialect::Redshift, Mode::Create, "--database"),
        (Dialect::Bigquery, Mode::Create, "--database"),
        (Dialect::Snowflake, Mode::Create, "--stage"),
    ] {
        let error = render(dialect, &table, mode, None).expect_err("needs a namespace");
        assert!(error.0.contains(flag), "{dialect}: {error}");
    }
}

#[test]
fn unpartitioned_tables_point_at_their_one_folder() {
    let table = TableShape {
        database: Some("db".into()),
        table: "flat".into(),
        root: "s3://b/flat".into(),
        columns: vec![Arc::new(Field::new("a", DataType::Int64, true))],
        partition_columns: vec![],
        partitions: vec![PartitionEntry {
            values: vec![],
            folder: "run-7".into(),
            files: vec!["run-7/part-0.parquet".into()],
        }],
        stage: Some("st".into()),
    };
    let mut moved = table.clone();
    moved.partitions[0].folder = "run-8".into();
    moved.partitions[0].files = vec!["run-8/part-0.parquet".into()];
    for dialect in Dialect::ALL {
        let create = render(dialect, &table, Mode::Create, None)
            .expect("create")
            .join("\n");
        assert!(create.contains("run-7"), "{dialect}: {create}");
        let since = render(dialect, &moved, Mode::Since, Some(&table))
            .expect("since")
            .join("\n");
        assert!(
            since.contains("run-8") && !since.contains("run-7"),
            "{dialect}: {since}"
        );
    }
}
