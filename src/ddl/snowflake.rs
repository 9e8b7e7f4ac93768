//! Snowflake external tables with user-specified partitions: each partition is added
//! with its values and its committed folder, relative to the external stage whose URL
//! is the table's target (`--stage`). Columns are typed views of the Parquet `VALUE`.

use super::quote::{double_quoted, string_doubled_backslash};
use super::{
    Changes, DdlError, DdlResult, PartitionEntry, SqlDialect, TableShape, single_folder,
    unsupported,
};
use arrow::datatypes::{DataType, FieldRef};

pub struct Snowflake;

pub static SNOWFLAKE: Snowflake = Snowflake;

/// Snowflake's limit on the name of a user-specified partition column.
const MAX_PARTITION_COLUMN: usize = 32;

impl Snowflake {
    fn name(&self, table: &TableShape) -> String {
        super::qualified(self, table)
    }

    /// `@"db"."stage"/folder/`: the stage name may be qualified with dots.
    fn stage_location(&self, table: &TableShape, folder: &str) -> DdlResult<String> {
        let stage = table.stage.as_deref().ok_or_else(|| {
            DdlError(
                "snowflake reads through an external stage: pass --stage NAME, a stage whose URL is the table's target"
                    .into(),
            )
        })?;
        let stage: Vec<String> = stage.split('.').map(|p| self.ident(p)).collect();
        // a stage path is not a literal: keep it to the characters a path can hold unquoted
        if let Some(bad) = folder
            .chars()
            .find(|c| c.is_whitespace() || matches!(c, '\'' | '"' | ';' | '(' | ')' | '\\'))
        {
            return Err(DdlError(format!(
                "the folder {folder:?} holds {bad:?}, which a snowflake stage path cannot quote; register the table on its parent folder"
            )));
        }
        let folder = if folder.is_empty() {
            String::new()
        } else {
            format!("{folder}/")
        };
        Ok(format!("@{}/{folder}", stage.join(".")))
    }

    fn column(&self, column: &FieldRef) -> DdlResult<String> {
        let ty = self
            .data_type(column.data_type())
            .map_err(|e| super::in_column(column, e))?;
        Ok(format!(
            "{} {ty} AS (GET(VALUE, {})::{ty})",
            self.ident(column.name()),
            self.string(column.name())
        ))
    }

    fn create_sql(&self, table: &TableShape, replace: bool) -> DdlResult<String> {
        let mut columns = table
            .columns
            .iter()
            .map(|c| self.column(c))
            .collect::<DdlResult<Vec<_>>>()?;
        for p in &table.partition_columns {
            if p.chars().count() > MAX_PARTITION_COLUMN {
                return Err(DdlError(format!(
                    "partition column {p:?} is longer than the {MAX_PARTITION_COLUMN} characters snowflake allows"
                )));
            }
            columns.push(format!(
                "{} VARCHAR AS (GET(PARSE_JSON(METADATA$EXTERNAL_TABLE_PARTITION), {})::VARCHAR)",
                self.ident(p),
                self.string(p)
            ));
        }
        let head = if replace {
            "CREATE OR REPLACE EXTERNAL TABLE"
        } else {
            "CREATE EXTERNAL TABLE IF NOT EXISTS"
        };
        let tail = if table.is_partitioned() {
            let names: Vec<String> = table
                .partition_columns
                .iter()
                .map(|p| self.ident(p))
                .collect();
            format!(
                "PARTITION BY ({})\nLOCATION = {}\nPARTITION_TYPE = USER_SPECIFIED",
                names.join(", "),
                self.stage_location(table, "")?
            )
        } else {
            let folder = match table.partitions.first() {
                Some(only) => {
                    single_folder(only)?;
                    only.folder.as_str()
                }
                None => "",
            };
            format!(
                "LOCATION = {}\nAUTO_REFRESH = FALSE",
                self.stage_location(table, folder)?
            )
        };
        Ok(format!(
            "{head} {} (\n  {}\n)\n{tail}\nFILE_FORMAT = (TYPE = PARQUET)",
            self.name(table),
            columns.join(",\n  ")
        ))
    }

    fn add_partition(&self, table: &TableShape, partition: &PartitionEntry) -> DdlResult<String> {
        single_folder(partition)?;
        let pairs: Vec<String> = table
            .partition_columns
            .iter()
            .zip(&partition.values)
            .map(|(c, v)| {
                let value = v.as_deref().map_or("NULL".to_string(), |v| self.string(v));
                format!("{} = {value}", self.ident(c))
            })
            .collect();
        Ok(format!(
            "ALTER EXTERNAL TABLE {} ADD PARTITION ({}) LOCATION {}",
            self.name(table),
            pairs.join(", "),
            self.string(&format!("{}/", partition.folder))
        ))
    }

    fn drop_partition(&self, table: &TableShape, partition: &PartitionEntry) -> String {
        format!(
            "ALTER EXTERNAL TABLE {} DROP PARTITION LOCATION {}",
            self.name(table),
            self.string(&format!("{}/", partition.folder))
        )
    }

    fn refresh(&self, table: &TableShape) -> String {
        format!("ALTER EXTERNAL TABLE {} REFRESH", self.name(table))
    }
}

impl SqlDialect for Snowflake {
    fn ident(&self, name: &str) -> String {
        double_quoted(name)
    }

    fn string(&self, value: &str) -> String {
        string_doubled_backslash(value)
    }

    fn data_type(&self, ty: &DataType) -> DdlResult<String> {
        Ok(match ty {
            DataType::Boolean => "BOOLEAN".into(),
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32 => "NUMBER(38, 0)".into(),
            DataType::UInt64 => "NUMBER(20, 0)".into(),
            DataType::Float16 | DataType::Float32 | DataType::Float64 => "FLOAT".into(),
            DataType::Decimal32(p, s)
            | DataType::Decimal64(p, s)
            | DataType::Decimal128(p, s)
            | DataType::Decimal256(p, s)
                if *p <= 38 && *s >= 0 =>
            {
                format!("NUMBER({p}, {s})")
            }
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "VARCHAR".into(),
            DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_) => "BINARY".into(),
            DataType::Date32 | DataType::Date64 => "DATE".into(),
            DataType::Timestamp(_, None) => "TIMESTAMP_NTZ".into(),
            DataType::Timestamp(_, Some(_)) => "TIMESTAMP_TZ".into(),
            DataType::Time32(_) | DataType::Time64(_) => "TIME".into(),
            // nested values stay semi-structured; a map is an object keyed by its keys
            DataType::Struct(_) => "OBJECT".into(),
            DataType::Map(_, _) => "VARIANT".into(),
            DataType::List(_)
            | DataType::LargeList(_)
            | DataType::ListView(_)
            | DataType::LargeListView(_)
            | DataType::FixedSizeList(_, _) => "ARRAY".into(),
            DataType::Dictionary(_, value) => self.data_type(value)?,
            other => return Err(unsupported("snowflake", other, "")),
        })
    }

    fn create(&self, table: &TableShape) -> DdlResult<Vec<String>> {
        Ok(vec![self.create_sql(table, false)?])
    }

    fn register(&self, table: &TableShape) -> DdlResult<Vec<String>> {
        if !table.is_partitioned() {
            return Ok(vec![self.refresh(table)]);
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
        if !after.is_partitioned() {
            // re-pointing an unpartitioned external table is replacing it
            return Ok(vec![self.create_sql(after, true)?, self.refresh(after)]);
        }
        let mut out = changes
            .new_columns
            .iter()
            .map(|c| {
                Ok(format!(
                    "ALTER EXTERNAL TABLE {} ADD COLUMN {}",
                    self.name(after),
                    self.column(c)?
                ))
            })
            .collect::<DdlResult<Vec<_>>>()?;
        for partition in &changes.added {
            out.push(self.add_partition(after, partition)?);
        }
        // dropped before added: a reader may miss the partition for a moment, but never
        // counts its rows twice
        for (was, now) in &changes.moved {
            out.push(self.drop_partition(after, was));
            out.push(self.add_partition(after, now)?);
        }
        for gone in &changes.dropped {
            out.push(self.drop_partition(after, gone));
        }
        Ok(out)
    }
}
