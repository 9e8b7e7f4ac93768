//! BigQuery: an external table `<name>__files` over the snapshot's explicit file list
//! (`uris`), and a view `<name>` that adds the partition columns, decoded from each
//! row's `_FILE_NAME`. Re-pointing readers is one `CREATE OR REPLACE EXTERNAL TABLE`
//! with the new list, so they move to a new snapshot atomically; the view never
//! changes. (A `WITH PARTITION COLUMNS` table would find partitions by listing
//! folders, and would see the files of older versions too.)

use super::quote::c_escaped;
use super::{
    Changes, DdlError, DdlResult, SqlDialect, TableShape, column_list, list_item, map_entries,
    qualified_with_suffix, unsupported,
};
use crate::model::hive::{DEFAULT_PARTITION, escape};
use arrow::datatypes::{DataType, TimeUnit};

pub struct BigQuery;

pub static BIGQUERY: BigQuery = BigQuery;

const FILES_SUFFIX: &str = "__files";

impl BigQuery {
    fn dataset<'a>(&self, table: &'a TableShape) -> DdlResult<&'a str> {
        table.database.as_deref().ok_or_else(|| {
            DdlError("bigquery tables live in a dataset: pass --database DATASET".into())
        })
    }

    fn table_name(&self, table: &TableShape, suffix: &str) -> DdlResult<String> {
        self.dataset(table)?;
        Ok(qualified_with_suffix(self, table, suffix))
    }

    fn external_table(&self, table: &TableShape) -> DdlResult<String> {
        let columns = column_list(self, &table.columns, " ")?;
        let uris: Vec<String> = table.files()?.iter().map(|(f, _)| self.string(f)).collect();
        Ok(format!(
            "CREATE OR REPLACE EXTERNAL TABLE {} (\n  {}\n)\nOPTIONS (\n  format = 'PARQUET',\n  uris = [\n    {}\n  ]\n)",
            self.table_name(table, FILES_SUFFIX)?,
            columns.join(",\n  "),
            uris.join(",\n    ")
        ))
    }

    /// The value of partition column `name` in `_FILE_NAME`: the text between `/name=`
    /// and the next `/`, with Hive's `%XX` escapes undone and the default partition null.
    fn partition_expression(&self, name: &str) -> String {
        let pattern = format!("/{}=([^/]*)/", regex_escape(&escape(name)));
        let raw = format!("REGEXP_EXTRACT(_FILE_NAME, {})", self.string(&pattern));
        // Hive escapes only ASCII characters, one byte each: split at '%', and each
        // piece after the first starts with two hex digits
        let decoded = format!(
            "ARRAY_TO_STRING(ARRAY(SELECT IF(o = 0, piece, CONCAT(CODE_POINTS_TO_STRING([CAST(CONCAT('0x', SUBSTR(piece, 1, 2)) AS INT64)]), SUBSTR(piece, 3))) FROM UNNEST(SPLIT({raw}, '%')) AS piece WITH OFFSET AS o ORDER BY o), '')"
        );
        format!(
            "NULLIF({decoded}, {}) AS {}",
            self.string(DEFAULT_PARTITION),
            self.ident(name)
        )
    }

    fn view(&self, table: &TableShape) -> DdlResult<String> {
        let mut select = vec!["*".to_string()];
        select.extend(
            table
                .partition_columns
                .iter()
                .map(|p| self.partition_expression(p)),
        );
        Ok(format!(
            "CREATE OR REPLACE VIEW {} AS\nSELECT\n  {}\nFROM {}",
            self.table_name(table, "")?,
            select.join(",\n  "),
            self.table_name(table, FILES_SUFFIX)?
        ))
    }
}

/// Escapes RE2 metacharacters.
fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl SqlDialect for BigQuery {
    fn ident(&self, name: &str) -> String {
        c_escaped(name, '`')
    }

    fn string(&self, value: &str) -> String {
        c_escaped(value, '\'')
    }

    fn data_type(&self, ty: &DataType) -> DdlResult<String> {
        Ok(match ty {
            DataType::Boolean => "BOOL".into(),
            DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32 => "INT64".into(),
            DataType::Float16 | DataType::Float32 | DataType::Float64 => "FLOAT64".into(),
            DataType::Decimal32(p, s)
            | DataType::Decimal64(p, s)
            | DataType::Decimal128(p, s)
            | DataType::Decimal256(p, s)
                if *s >= 0 && *p <= 76 =>
            {
                // NUMERIC holds 29 integer and 9 fractional digits, BIGNUMERIC 38 and 38
                let whole = i16::from(*p) - i16::from(*s);
                if whole <= 29 && *s <= 9 {
                    format!("NUMERIC({p}, {s})")
                } else if whole <= 38 && *s <= 38 {
                    format!("BIGNUMERIC({p}, {s})")
                } else {
                    return Err(unsupported(
                        "bigquery",
                        ty,
                        ": more digits than BIGNUMERIC holds",
                    ));
                }
            }
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "STRING".into(),
            DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_) => "BYTES".into(),
            DataType::Date32 | DataType::Date64 => "DATE".into(),
            DataType::Timestamp(TimeUnit::Nanosecond, _) => {
                return Err(unsupported(
                    "bigquery",
                    ty,
                    ": BigQuery keeps microseconds (write micro- or milliseconds)",
                ));
            }
            DataType::Timestamp(_, None) => "DATETIME".into(),
            DataType::Timestamp(_, Some(_)) => "TIMESTAMP".into(),
            DataType::Time32(_) | DataType::Time64(TimeUnit::Microsecond) => "TIME".into(),
            DataType::Struct(fields) => {
                format!("STRUCT<{}>", column_list(self, fields, " ")?.join(", "))
            }
            // BigQuery has no map type: a map is its repeated key/value entries
            DataType::Map(_, _) => {
                let (key, value) =
                    map_entries(ty).ok_or_else(|| unsupported("bigquery", ty, ""))?;
                format!(
                    "ARRAY<STRUCT<{} {}, {} {}>>",
                    self.ident(key.name()),
                    self.data_type(key.data_type())?,
                    self.ident(value.name()),
                    self.data_type(value.data_type())?
                )
            }
            DataType::Dictionary(_, value) => self.data_type(value)?,
            other => match list_item(other) {
                Some(item) if list_item(item.data_type()).is_some() => {
                    return Err(unsupported(
                        "bigquery",
                        other,
                        ": BigQuery has no arrays of arrays",
                    ));
                }
                Some(item) => format!("ARRAY<{}>", self.data_type(item.data_type())?),
                None => return Err(unsupported("bigquery", other, "")),
            },
        })
    }

    fn create(&self, table: &TableShape) -> DdlResult<Vec<String>> {
        Ok(vec![self.external_table(table)?, self.view(table)?])
    }

    fn register(&self, table: &TableShape) -> DdlResult<Vec<String>> {
        Ok(vec![self.external_table(table)?])
    }

    fn apply(
        &self,
        _before: &TableShape,
        after: &TableShape,
        _changes: &Changes,
    ) -> DdlResult<Vec<String>> {
        // the view selects `*`, so new columns reach it through the table
        self.register(after)
    }
}
