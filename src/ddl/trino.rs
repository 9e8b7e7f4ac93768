//! Trino and Presto, through their Hive connectors.
//!
//! Trino registers each partition at its committed folder with
//! `system.register_partition` (needs `hive.allow-register-partition-procedure=true`).
//! It has no way to move a partition, so a rewritten one is unregistered and
//! registered again.
//!
//! PrestoDB has no procedure that registers a partition at a chosen location. It gets
//! a base table `<name>__files` over the whole target (partitions found by
//! `sync_partition_metadata`, run folders read with `hive.recursive-directories=true`)
//! and a view `<name>` that keeps exactly the committed files by `"$path"`. Replacing
//! the view is one statement, so a Presto reader moves to a new snapshot atomically.

use super::quote::{double_quoted, string_doubled};
use super::{
    Changes, DdlError, DdlResult, PartitionEntry, SqlDialect, TableShape, column_list, list_item,
    map_entries, qualified, qualified_with_suffix, single_folder, unsupported,
};
use crate::model::hive::DEFAULT_PARTITION;
use arrow::datatypes::DataType;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Engine {
    Trino,
    Presto,
}

pub struct TrinoFamily(Engine);

pub static TRINO: TrinoFamily = TrinoFamily(Engine::Trino);
pub static PRESTO: TrinoFamily = TrinoFamily(Engine::Presto);

/// Suffix of Presto's base table; the view carries the table's own name.
const FILES_SUFFIX: &str = "__files";

impl TrinoFamily {
    fn name(&self) -> &'static str {
        match self.0 {
            Engine::Trino => "trino",
            Engine::Presto => "presto",
        }
    }

    /// The procedures take the schema as a string, so it cannot be left implicit.
    fn database<'a>(&self, table: &'a TableShape) -> DdlResult<&'a str> {
        table.database.as_deref().ok_or_else(|| {
            DdlError(format!(
                "{} registers partitions by schema name: pass --database SCHEMA",
                self.name()
            ))
        })
    }

    fn string_array<'a>(&self, items: impl Iterator<Item = &'a str>) -> String {
        let items: Vec<String> = items.map(|s| self.string(s)).collect();
        format!("ARRAY[{}]", items.join(", "))
    }

    fn create_table(&self, table: &TableShape, name: &str, location: &str) -> DdlResult<String> {
        let mut columns = column_list(self, &table.columns, " ")?;
        // the Hive connector wants partition columns last, and declared in partitioned_by
        columns.extend(
            table
                .partition_columns
                .iter()
                .map(|p| format!("{} VARCHAR", self.ident(p))),
        );
        let mut properties = vec![
            "format = 'PARQUET'".to_string(),
            format!("external_location = {}", self.string(location)),
        ];
        if table.is_partitioned() {
            properties.push(format!(
                "partitioned_by = {}",
                self.string_array(table.partition_columns.iter().map(String::as_str))
            ));
        }
        Ok(format!(
            "CREATE TABLE IF NOT EXISTS {name} (\n  {}\n)\nWITH (\n  {}\n)",
            columns.join(",\n  "),
            properties.join(",\n  ")
        ))
    }

    fn partition_values<'a>(
        &self,
        partition: &'a PartitionEntry,
    ) -> impl Iterator<Item = &'a str> + 'a {
        partition
            .values
            .iter()
            .map(|v| v.as_deref().unwrap_or(DEFAULT_PARTITION))
    }

    fn register_partition(
        &self,
        table: &TableShape,
        partition: &PartitionEntry,
    ) -> DdlResult<String> {
        single_folder(partition)?;
        Ok(format!(
            "CALL system.register_partition({}, {}, {}, {}, {})",
            self.string(self.database(table)?),
            self.string(&table.table),
            self.string_array(table.partition_columns.iter().map(String::as_str)),
            self.string_array(self.partition_values(partition)),
            self.string(&table.folder_location(partition))
        ))
    }

    fn unregister_partition(
        &self,
        table: &TableShape,
        partition: &PartitionEntry,
    ) -> DdlResult<String> {
        Ok(format!(
            "CALL system.unregister_partition({}, {}, {}, {})",
            self.string(self.database(table)?),
            self.string(&table.table),
            self.string_array(table.partition_columns.iter().map(String::as_str)),
            self.string_array(self.partition_values(partition))
        ))
    }

    /// Presto: the base table's name, qualified.
    fn files_table(&self, table: &TableShape) -> String {
        qualified_with_suffix(self, table, FILES_SUFFIX)
    }

    /// Presto: the view that keeps exactly the snapshot's files.
    fn presto_view(&self, table: &TableShape) -> DdlResult<String> {
        let columns: Vec<String> = table
            .columns
            .iter()
            .map(|c| c.name())
            .chain(&table.partition_columns)
            .map(|c| self.ident(c))
            .collect();
        let files: Vec<String> = table.files()?.iter().map(|(f, _)| self.string(f)).collect();
        Ok(format!(
            "CREATE OR REPLACE VIEW {} AS\nSELECT {}\nFROM {}\nWHERE \"$path\" IN (\n  {}\n)",
            qualified(self, table),
            columns.join(", "),
            self.files_table(table),
            files.join(",\n  ")
        ))
    }

    fn presto_sync(&self, table: &TableShape) -> DdlResult<Option<String>> {
        if !table.is_partitioned() {
            return Ok(None);
        }
        Ok(Some(format!(
            "CALL system.sync_partition_metadata({}, {}, 'FULL')",
            self.string(self.database(table)?),
            self.string(&format!("{}{FILES_SUFFIX}", table.table))
        )))
    }
}

impl SqlDialect for TrinoFamily {
    fn ident(&self, name: &str) -> String {
        double_quoted(name)
    }

    fn string(&self, value: &str) -> String {
        string_doubled(value)
    }

    fn data_type(&self, ty: &DataType) -> DdlResult<String> {
        Ok(match ty {
            DataType::Boolean => "BOOLEAN".into(),
            DataType::Int8 => "TINYINT".into(),
            DataType::Int16 | DataType::UInt8 => "SMALLINT".into(),
            DataType::Int32 | DataType::UInt16 => "INTEGER".into(),
            DataType::Int64 | DataType::UInt32 => "BIGINT".into(),
            DataType::UInt64 => "DECIMAL(20, 0)".into(),
            DataType::Float16 | DataType::Float32 => "REAL".into(),
            DataType::Float64 => "DOUBLE".into(),
            DataType::Decimal32(p, s)
            | DataType::Decimal64(p, s)
            | DataType::Decimal128(p, s)
            | DataType::Decimal256(p, s)
                if *p <= 38 && *s >= 0 =>
            {
                format!("DECIMAL({p}, {s})")
            }
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "VARCHAR".into(),
            DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_) => "VARBINARY".into(),
            DataType::Date32 | DataType::Date64 => "DATE".into(),
            // the Hive connector declares one timestamp type; its precision is the
            // catalog's hive.timestamp-precision, and UTC-adjusted values read as UTC
            DataType::Timestamp(_, _) => "TIMESTAMP".into(),
            DataType::Struct(fields) => {
                format!("ROW({})", column_list(self, fields, " ")?.join(", "))
            }
            DataType::Map(_, _) => {
                let (key, value) =
                    map_entries(ty).ok_or_else(|| unsupported(self.name(), ty, ""))?;
                format!(
                    "MAP({}, {})",
                    self.data_type(key.data_type())?,
                    self.data_type(value.data_type())?
                )
            }
            DataType::Dictionary(_, value) => self.data_type(value)?,
            other => match list_item(other) {
                Some(item) => format!("ARRAY({})", self.data_type(item.data_type())?),
                None => return Err(unsupported(self.name(), other, "")),
            },
        })
    }

    fn create(&self, table: &TableShape) -> DdlResult<Vec<String>> {
        match self.0 {
            Engine::Trino => {
                let location = match (table.is_partitioned(), table.partitions.first()) {
                    (false, Some(only)) => {
                        single_folder(only)?;
                        table.folder_location(only)
                    }
                    _ => format!("{}/", table.absolute("")),
                };
                Ok(vec![self.create_table(
                    table,
                    &qualified(self, table),
                    &location,
                )?])
            }
            Engine::Presto => {
                let mut out = vec![self.create_table(
                    table,
                    &self.files_table(table),
                    &format!("{}/", table.absolute("")),
                )?];
                out.extend(self.presto_sync(table)?);
                out.push(self.presto_view(table)?);
                Ok(out)
            }
        }
    }

    fn register(&self, table: &TableShape) -> DdlResult<Vec<String>> {
        match self.0 {
            Engine::Trino if table.is_partitioned() => table
                .partitions
                .iter()
                .map(|p| self.register_partition(table, p))
                .collect(),
            Engine::Trino => Ok(Vec::new()),
            Engine::Presto => {
                let mut out: Vec<String> = self.presto_sync(table)?.into_iter().collect();
                out.push(self.presto_view(table)?);
                Ok(out)
            }
        }
    }

    fn apply(
        &self,
        _before: &TableShape,
        after: &TableShape,
        changes: &Changes,
    ) -> DdlResult<Vec<String>> {
        let base = match self.0 {
            Engine::Trino => qualified(self, after),
            Engine::Presto => self.files_table(after),
        };
        let mut out: Vec<String> = column_list(self, &changes.new_columns, " ")?
            .into_iter()
            .map(|c| format!("ALTER TABLE {base} ADD COLUMN {c}"))
            .collect();
        if self.0 == Engine::Presto {
            if !(changes.added.is_empty() && changes.dropped.is_empty()) {
                out.extend(self.presto_sync(after)?);
            }
            out.push(self.presto_view(after)?);
            return Ok(out);
        }
        if !after.is_partitioned() {
            if !changes.moved.is_empty() {
                // Trino cannot re-point a table: drop the (external) definition, create it anew
                out.push(format!("DROP TABLE IF EXISTS {base}"));
                out.extend(self.create(after)?);
            }
            return Ok(out);
        }
        for partition in &changes.added {
            out.push(self.register_partition(after, partition)?);
        }
        for (was, now) in &changes.moved {
            out.push(self.unregister_partition(after, was)?);
            out.push(self.register_partition(after, now)?);
        }
        for gone in &changes.dropped {
            out.push(self.unregister_partition(after, gone)?);
        }
        Ok(out)
    }
}
