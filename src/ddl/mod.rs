//! Table DDL for the query layer. Pure: a [`TableShape`] (the snapshot seen as a query
//! engine needs it) goes in, SQL statements come out. Each dialect implements
//! [`SqlDialect`]; `ops::ddl` builds the shapes from the manifest.
//!
//! Every identifier and literal that comes from a user (column names, partition
//! values, locations, table names) goes through the dialect's `ident`/`string`
//! quoting, so generated SQL cannot be broken out of.

mod bigquery;
mod duckdb;
mod hive;
pub mod quote;
mod snowflake;
mod trino;

#[cfg(test)]
mod conformance;

use arrow::datatypes::{DataType, FieldRef};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// The query engines laketidy writes DDL for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    Hive,
    Spark,
    Athena,
    Trino,
    Presto,
    Redshift,
    Snowflake,
    Bigquery,
    Duckdb,
}

impl Dialect {
    pub const ALL: [Dialect; 9] = [
        Dialect::Hive,
        Dialect::Spark,
        Dialect::Athena,
        Dialect::Trino,
        Dialect::Presto,
        Dialect::Redshift,
        Dialect::Snowflake,
        Dialect::Bigquery,
        Dialect::Duckdb,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Dialect::Hive => "hive",
            Dialect::Spark => "spark",
            Dialect::Athena => "athena",
            Dialect::Trino => "trino",
            Dialect::Presto => "presto",
            Dialect::Redshift => "redshift",
            Dialect::Snowflake => "snowflake",
            Dialect::Bigquery => "bigquery",
            Dialect::Duckdb => "duckdb",
        }
    }

    pub fn sql(self) -> &'static dyn SqlDialect {
        match self {
            Dialect::Hive => &hive::HIVE,
            Dialect::Spark => &hive::SPARK,
            Dialect::Athena => &hive::ATHENA,
            Dialect::Redshift => &hive::REDSHIFT,
            Dialect::Trino => &trino::TRINO,
            Dialect::Presto => &trino::PRESTO,
            Dialect::Snowflake => &snowflake::SNOWFLAKE,
            Dialect::Bigquery => &bigquery::BIGQUERY,
            Dialect::Duckdb => &duckdb::DUCKDB,
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a dialect cannot express something; becomes a usage error naming the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DdlError(pub String);

impl fmt::Display for DdlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub type DdlResult<T> = std::result::Result<T, DdlError>;

/// The table as a query engine sees it at one version.
#[derive(Clone, Debug)]
pub struct TableShape {
    /// `--database` (schema, dataset), when given.
    pub database: Option<String>,
    pub table: String,
    /// The target root as engines address it (`s3://bucket/prefix`, `file:///path`).
    pub root: String,
    /// Data columns, in file order; partition columns are not among them.
    pub columns: Vec<FieldRef>,
    /// Partition column names, outermost folder first; their values are strings.
    pub partition_columns: Vec<String>,
    /// Partitions with at least one file, in path order.
    pub partitions: Vec<PartitionEntry>,
    /// Snowflake: the external stage whose URL is `root`.
    pub stage: Option<String>,
}

/// One partition of the snapshot and where its committed files are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionEntry {
    /// One per partition column; `None` is null (Hive's default partition).
    pub values: Vec<Option<String>>,
    /// The committed folder, relative to the root, without trailing slash (`""` for the root).
    pub folder: String,
    /// Every file, relative to the root.
    pub files: Vec<String>,
}

impl TableShape {
    /// `root/relative`, never with a doubled or trailing slash.
    pub fn absolute(&self, relative: &str) -> String {
        let root = self.root.trim_end_matches('/');
        if relative.is_empty() {
            root.to_string()
        } else {
            format!("{root}/{relative}")
        }
    }

    /// The partition folder as a location, with a trailing slash (engines treat it as a prefix).
    pub fn folder_location(&self, partition: &PartitionEntry) -> String {
        format!("{}/", self.absolute(&partition.folder))
    }

    /// Every file of the snapshot as an absolute location, with its partition; for the
    /// dialects that list files instead of registering folders.
    pub fn files(&self) -> DdlResult<Vec<(String, &PartitionEntry)>> {
        let files: Vec<(String, &PartitionEntry)> = self
            .partitions
            .iter()
            .flat_map(|p| p.files.iter().map(move |f| (self.absolute(f), p)))
            .collect();
        if files.is_empty() {
            return Err(DdlError(
                "the snapshot has no files yet: run compact first".into(),
            ));
        }
        Ok(files)
    }

    pub fn is_partitioned(&self) -> bool {
        !self.partition_columns.is_empty()
    }

    /// Whether a column name is also a partition column (case-insensitively, as Hive compares).
    fn check_distinct_columns(&self) -> DdlResult<()> {
        for p in &self.partition_columns {
            if let Some(c) = self
                .columns
                .iter()
                .find(|c| c.name().eq_ignore_ascii_case(p))
            {
                return Err(DdlError(format!(
                    "partition column {p:?} is also the data column {:?}; query engines would see two columns of that name",
                    c.name()
                )));
            }
        }
        Ok(())
    }
}

/// What changed between two versions, as registration statements need it.
#[derive(Clone, Debug, Default)]
pub struct Changes<'a> {
    pub added: Vec<&'a PartitionEntry>,
    /// (before, after): same values, new folder.
    pub moved: Vec<(&'a PartitionEntry, &'a PartitionEntry)>,
    pub dropped: Vec<&'a PartitionEntry>,
    /// Top-level data columns that are new since the older version.
    pub new_columns: Vec<FieldRef>,
}

impl Changes<'_> {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.moved.is_empty()
            && self.dropped.is_empty()
            && self.new_columns.is_empty()
    }
}

/// The registration changes from `before` to `after`. A partition whose folder stayed
/// but whose files changed counts as moved: Hive readers list folders, so laketidy
/// never changes a committed folder, and this only happens for hand-edited manifests.
pub fn diff<'a>(before: &'a TableShape, after: &'a TableShape) -> DdlResult<Changes<'a>> {
    if before.partition_columns != after.partition_columns {
        return Err(DdlError(format!(
            "the partition columns changed from [{}] to [{}]; recreate the table",
            before.partition_columns.join(", "),
            after.partition_columns.join(", ")
        )));
    }
    let old: BTreeMap<&[Option<String>], &PartitionEntry> = before
        .partitions
        .iter()
        .map(|p| (p.values.as_slice(), p))
        .collect();
    let new: BTreeMap<&[Option<String>], &PartitionEntry> = after
        .partitions
        .iter()
        .map(|p| (p.values.as_slice(), p))
        .collect();
    let mut changes = Changes::default();
    for (values, entry) in &new {
        match old.get(values) {
            None => changes.added.push(entry),
            Some(was) if was.folder != entry.folder || was.files != entry.files => {
                changes.moved.push((was, entry))
            }
            Some(_) => {}
        }
    }
    changes.dropped = old
        .iter()
        .filter(|(values, _)| !new.contains_key(*values))
        .map(|(_, entry)| *entry)
        .collect();
    for column in &after.columns {
        match before.columns.iter().find(|c| c.name() == column.name()) {
            None => changes.new_columns.push(column.clone()),
            Some(was) if was.data_type() != column.data_type() => {
                return Err(DdlError(format!(
                    "column {:?} changed type from {} to {}; recreate the table (ddl without --since-version)",
                    column.name(),
                    was.data_type(),
                    column.data_type()
                )));
            }
            Some(_) => {}
        }
    }
    Ok(changes)
}

/// What to emit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The CREATE statement(s).
    Create,
    /// Statements registering every partition of the snapshot at its committed location.
    Partitions,
    /// Only the changes since an older version.
    Since,
}

/// One dialect: how it quotes, which types it has, and how it points a reader at the
/// committed folders or files.
pub trait SqlDialect: Sync {
    /// A quoted identifier: any name, including quotes, spaces and reserved words.
    fn ident(&self, name: &str) -> String;
    /// A quoted string literal holding exactly `value`.
    fn string(&self, value: &str) -> String;
    /// The dialect's type for an Arrow type; `Err` says why there is none.
    fn data_type(&self, ty: &DataType) -> DdlResult<String>;
    fn create(&self, table: &TableShape) -> DdlResult<Vec<String>>;
    /// Registers every partition of `table` at its committed location.
    fn register(&self, table: &TableShape) -> DdlResult<Vec<String>>;
    /// Moves readers from `before` to `after`, given what changed.
    fn apply(
        &self,
        before: &TableShape,
        after: &TableShape,
        changes: &Changes,
    ) -> DdlResult<Vec<String>>;
}

/// The statements for `mode`. `before` is required for [`Mode::Since`].
pub fn render(
    dialect: Dialect,
    table: &TableShape,
    mode: Mode,
    before: Option<&TableShape>,
) -> DdlResult<Vec<String>> {
    table.check_distinct_columns()?;
    let sql = dialect.sql();
    match mode {
        Mode::Create => sql.create(table),
        Mode::Partitions => sql.register(table),
        Mode::Since => {
            let before = before.ok_or_else(|| DdlError("--since-version needs a base".into()))?;
            let changes = diff(before, table)?;
            if changes.is_empty() {
                Ok(Vec::new())
            } else {
                sql.apply(before, table, &changes)
            }
        }
    }
}

/// The table name, qualified by the database when one was given.
fn qualified(sql: &dyn SqlDialect, table: &TableShape) -> String {
    qualified_with_suffix(sql, table, "")
}

/// The name of a companion object (`<name>__files`), qualified like the table.
fn qualified_with_suffix(sql: &dyn SqlDialect, table: &TableShape, suffix: &str) -> String {
    let name = sql.ident(&format!("{}{suffix}", table.table));
    match &table.database {
        Some(db) => format!("{}.{name}", sql.ident(db)),
        None => name,
    }
}

/// `name type, ...` for the data columns, naming the column on failure.
fn column_list(
    sql: &dyn SqlDialect,
    columns: &[FieldRef],
    separator: &str,
) -> DdlResult<Vec<String>> {
    columns
        .iter()
        .map(|c| {
            let ty = sql.data_type(c.data_type()).map_err(|e| in_column(c, e))?;
            Ok(format!("{}{separator}{ty}", sql.ident(c.name())))
        })
        .collect()
}

fn in_column(column: &FieldRef, error: DdlError) -> DdlError {
    DdlError(format!("column {:?}: {error}", column.name()))
}

/// The element type of a list, whatever its offsets.
fn list_item(ty: &DataType) -> Option<&FieldRef> {
    match ty {
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::ListView(f)
        | DataType::LargeListView(f)
        | DataType::FixedSizeList(f, _) => Some(f),
        _ => None,
    }
}

/// Key and value fields of a map.
fn map_entries(ty: &DataType) -> Option<(&FieldRef, &FieldRef)> {
    match ty {
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(fields) if fields.len() == 2 => Some((&fields[0], &fields[1])),
            _ => None,
        },
        _ => None,
    }
}

fn unsupported(dialect: &str, ty: &DataType, hint: &str) -> DdlError {
    DdlError(format!("{dialect} has no type for Arrow {ty}{hint}"))
}

/// Every partition must live in one folder for engines that register folders.
fn single_folder(partition: &PartitionEntry) -> DdlResult<()> {
    let outside = partition.files.iter().find(|f| {
        let parent = f.rsplit_once('/').map_or("", |(p, _)| p);
        parent != partition.folder
    });
    match outside {
        Some(file) => Err(DdlError(format!(
            "partition folder {:?} does not hold its file {file:?}; a folder-based dialect cannot point at it (use duckdb or bigquery)",
            partition.folder
        ))),
        None => Ok(()),
    }
}
