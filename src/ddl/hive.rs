//! The Hive family: Hive, Spark, Athena and Redshift Spectrum. All four keep
//! partitions in a metastore, each at its own location, so a rewrite is one atomic
//! `ALTER TABLE … PARTITION (…) SET LOCATION` to the fresh folder.

use super::quote::{backtick_doubled, c_escaped, double_quoted, string_doubled_backslash};
use super::{
    Changes, DdlError, DdlResult, PartitionEntry, SqlDialect, TableShape, column_list, list_item,
    map_entries, qualified, single_folder, unsupported,
};
use crate::model::hive::DEFAULT_PARTITION;
use arrow::datatypes::{DataType, TimeUnit};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    Hive,
    Spark,
    Athena,
    Redshift,
}

pub struct HiveFamily(Flavor);

pub static HIVE: HiveFamily = HiveFamily(Flavor::Hive);
pub static SPARK: HiveFamily = HiveFamily(Flavor::Spark);
pub static ATHENA: HiveFamily = HiveFamily(Flavor::Athena);
pub static REDSHIFT: HiveFamily = HiveFamily(Flavor::Redshift);

/// Redshift's longest VARCHAR, in bytes.
const REDSHIFT_VARCHAR: &str = "VARCHAR(65535)";

impl HiveFamily {
    fn name(&self) -> &'static str {
        match self.0 {
            Flavor::Hive => "hive",
            Flavor::Spark => "spark",
            Flavor::Athena => "athena",
            Flavor::Redshift => "redshift",
        }
    }

    fn string_type(&self) -> &'static str {
        if self.0 == Flavor::Redshift {
            REDSHIFT_VARCHAR
        } else {
            "STRING"
        }
    }

    /// `(`dt` = '2024-03-01', `hour` = '05')`; a null is Hive's default partition name.
    fn partition_spec(&self, table: &TableShape, partition: &PartitionEntry) -> String {
        let pairs: Vec<String> = table
            .partition_columns
            .iter()
            .zip(&partition.values)
            .map(|(column, value)| {
                let value = value.as_deref().unwrap_or(DEFAULT_PARTITION);
                format!("{} = {}", self.ident(column), self.string(value))
            })
            .collect();
        format!("({})", pairs.join(", "))
    }

    fn add_partition(&self, table: &TableShape, partition: &PartitionEntry) -> DdlResult<String> {
        single_folder(partition)?;
        Ok(format!(
            "ALTER TABLE {} ADD IF NOT EXISTS PARTITION {} LOCATION {}",
            qualified(self, table),
            self.partition_spec(table, partition),
            self.string(&table.folder_location(partition))
        ))
    }

    /// Where the table itself points: the root, or for an unpartitioned table its one folder.
    fn table_location(&self, table: &TableShape) -> DdlResult<String> {
        match (table.is_partitioned(), table.partitions.first()) {
            (false, Some(only)) => {
                single_folder(only)?;
                Ok(table.folder_location(only))
            }
            _ => Ok(format!("{}/", table.absolute(""))),
        }
    }

    fn check_database(&self, table: &TableShape) -> DdlResult<()> {
        if self.0 == Flavor::Redshift && table.database.is_none() {
            return Err(DdlError(
                "redshift external tables live in an external schema: pass --database SCHEMA"
                    .into(),
            ));
        }
        Ok(())
    }
}

impl SqlDialect for HiveFamily {
    fn ident(&self, name: &str) -> String {
        match self.0 {
            Flavor::Redshift => double_quoted(name),
            _ => backtick_doubled(name),
        }
    }

    fn string(&self, value: &str) -> String {
        match self.0 {
            Flavor::Redshift => string_doubled_backslash(value),
            _ => c_escaped(value, '\''),
        }
    }

    fn data_type(&self, ty: &DataType) -> DdlResult<String> {
        let redshift = self.0 == Flavor::Redshift;
        let pick = |hive: &str, rs: &str| if redshift { rs } else { hive }.to_string();
        Ok(match ty {
            DataType::Boolean => "BOOLEAN".into(),
            DataType::Int8 => pick("TINYINT", "SMALLINT"),
            DataType::Int16 | DataType::UInt8 => "SMALLINT".into(),
            DataType::Int32 | DataType::UInt16 => pick("INT", "INTEGER"),
            DataType::Int64 | DataType::UInt32 => "BIGINT".into(),
            DataType::UInt64 if self.0 == Flavor::Spark => "DECIMAL(20, 0)".into(),
            DataType::Float16 | DataType::Float32 => pick("FLOAT", "REAL"),
            DataType::Float64 => pick("DOUBLE", "DOUBLE PRECISION"),
            DataType::Decimal32(p, s)
            | DataType::Decimal64(p, s)
            | DataType::Decimal128(p, s)
            | DataType::Decimal256(p, s)
                if *p <= 38 && *s >= 0 =>
            {
                format!("DECIMAL({p}, {s})")
            }
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => self.string_type().into(),
            DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_) => pick("BINARY", "VARBYTE"),
            DataType::Date32 | DataType::Date64 => "DATE".into(),
            DataType::Timestamp(TimeUnit::Nanosecond, _)
                if matches!(self.0, Flavor::Spark | Flavor::Hive) =>
            {
                return Err(unsupported(
                    self.name(),
                    ty,
                    ": its Parquet reader cannot read nanosecond timestamps (write micro- or milliseconds)",
                ));
            }
            DataType::Timestamp(_, None) if self.0 == Flavor::Spark => "TIMESTAMP_NTZ".into(),
            // Hive, Athena and Spectrum have one timestamp type; UTC-adjusted values read as UTC
            DataType::Timestamp(_, _) => "TIMESTAMP".into(),
            DataType::Struct(fields) => {
                format!("STRUCT<{}>", column_list(self, fields, ": ")?.join(", "))
            }
            DataType::Map(_, _) => {
                let (key, value) =
                    map_entries(ty).ok_or_else(|| unsupported(self.name(), ty, ""))?;
                format!(
                    "MAP<{}, {}>",
                    self.data_type(key.data_type())?,
                    self.data_type(value.data_type())?
                )
            }
            DataType::Dictionary(_, value) => self.data_type(value)?,
            other => match list_item(other) {
                Some(item) => format!("ARRAY<{}>", self.data_type(item.data_type())?),
                None => return Err(unsupported(self.name(), other, "")),
            },
        })
    }

    fn create(&self, table: &TableShape) -> DdlResult<Vec<String>> {
        self.check_database(table)?;
        let mut columns = column_list(self, &table.columns, " ")?;
        if columns.is_empty() {
            return Err(DdlError("the table has no data columns".into()));
        }
        let partitions: Vec<String> = table
            .partition_columns
            .iter()
            .map(|p| format!("{} {}", self.ident(p), self.string_type()))
            .collect();
        let location = self.string(&self.table_location(table)?);
        let name = qualified(self, table);
        let sql = match self.0 {
            Flavor::Spark => {
                // a Spark data source table lists its partition columns last and names them
                columns.extend(partitions);
                let partitioned = if table.is_partitioned() {
                    let names: Vec<String> = table
                        .partition_columns
                        .iter()
                        .map(|p| self.ident(p))
                        .collect();
                    format!("\nPARTITIONED BY ({})", names.join(", "))
                } else {
                    String::new()
                };
                format!(
                    "CREATE TABLE IF NOT EXISTS {name} (\n  {}\n)\nUSING PARQUET{partitioned}\nLOCATION {location}",
                    columns.join(",\n  ")
                )
            }
            _ => {
                let partitioned = if table.is_partitioned() {
                    format!("\nPARTITIONED BY ({})", partitions.join(", "))
                } else {
                    String::new()
                };
                // Redshift has no IF NOT EXISTS for external tables
                let if_not_exists = if self.0 == Flavor::Redshift {
                    ""
                } else {
                    "IF NOT EXISTS "
                };
                format!(
                    "CREATE EXTERNAL TABLE {if_not_exists}{name} (\n  {}\n){partitioned}\nSTORED AS PARQUET\nLOCATION {location}",
                    columns.join(",\n  ")
                )
            }
        };
        Ok(vec![sql])
    }

    fn register(&self, table: &TableShape) -> DdlResult<Vec<String>> {
        self.check_database(table)?;
        if !table.is_partitioned() {
            // the CREATE statement already points at the one folder
            return Ok(Vec::new());
        }
        table
            .partitions
            .iter()
            .map(|p| self.add_partition(table, p))
            .collect()
    }

    fn apply(
        &self,
        _before: &TableShape,
        after: &TableShape,
        changes: &Changes,
    ) -> DdlResult<Vec<String>> {
        self.check_database(after)?;
        let name = qualified(self, after);
        let mut out = Vec::new();
        if !changes.new_columns.is_empty() {
            let columns = column_list(self, &changes.new_columns, " ")?;
            if self.0 == Flavor::Redshift {
                // Redshift adds one column per statement
                out.extend(
                    columns
                        .iter()
                        .map(|c| format!("ALTER TABLE {name} ADD COLUMN {c}")),
                );
            } else {
                out.push(format!(
                    "ALTER TABLE {name} ADD COLUMNS ({})",
                    columns.join(", ")
                ));
            }
        }
        if !after.is_partitioned() {
            if let Some((_, now)) = changes.moved.first() {
                single_folder(now)?;
                out.push(format!(
                    "ALTER TABLE {name} SET LOCATION {}",
                    self.string(&after.folder_location(now))
                ));
            }
            return Ok(out);
        }
        for partition in &changes.added {
            out.push(self.add_partition(after, partition)?);
        }
        for (_, now) in &changes.moved {
            single_folder(now)?;
            out.push(format!(
                "ALTER TABLE {name} PARTITION {} SET LOCATION {}",
                self.partition_spec(after, now),
                self.string(&after.folder_location(now))
            ));
        }
        for gone in &changes.dropped {
            let if_exists = if self.0 == Flavor::Redshift {
                ""
            } else {
                "IF EXISTS "
            };
            out.push(format!(
                "ALTER TABLE {name} DROP {if_exists}PARTITION {}",
                self.partition_spec(after, gone)
            ));
        }
        Ok(out)
    }
}
