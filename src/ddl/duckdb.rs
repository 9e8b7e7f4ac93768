//! DuckDB: a view over the snapshot's explicit file list. A directory glob would also
//! read the files of older versions; the list never does, and replacing the view is
//! one statement. Partition values come from a file → values table joined on the
//! file name, so no value is ever parsed back out of a path.

use super::quote::{double_quoted, string_doubled};
use super::{Changes, DdlResult, SqlDialect, TableShape, list_item, map_entries, unsupported};
use arrow::datatypes::DataType;

pub struct DuckDb;

pub static DUCKDB: DuckDb = DuckDb;

impl DuckDb {
    fn view(&self, table: &TableShape) -> DdlResult<String> {
        let files = table.files()?;
        let list: Vec<String> = files.iter().map(|(f, _)| self.string(f)).collect();
        let name = super::qualified(self, table);
        // union_by_name: partitions written before a column was added lack it
        if !table.is_partitioned() {
            return Ok(format!(
                "CREATE OR REPLACE VIEW {name} AS\nSELECT *\nFROM read_parquet([\n  {}\n], union_by_name = true)",
                list.join(",\n  ")
            ));
        }
        let file_column = self.file_column(table);
        let rows: Vec<String> = files
            .iter()
            .map(|(file, partition)| {
                let values: Vec<String> = partition
                    .values
                    .iter()
                    .map(|v| {
                        v.as_deref()
                            .map_or("CAST(NULL AS VARCHAR)".to_string(), |v| self.string(v))
                    })
                    .collect();
                format!("({}, {})", self.string(file), values.join(", "))
            })
            .collect();
        let partition_columns: Vec<String> = table
            .partition_columns
            .iter()
            .map(|p| self.ident(p))
            .collect();
        let selected: Vec<String> = partition_columns.iter().map(|p| format!("p.{p}")).collect();
        Ok(format!(
            "CREATE OR REPLACE VIEW {name} AS\nSELECT d.* EXCLUDE ({file}), {}\nFROM read_parquet([\n  {}\n], filename = {}, union_by_name = true) AS d\nJOIN (VALUES\n  {}\n) AS p({file}, {}) USING ({file})",
            selected.join(", "),
            list.join(",\n  "),
            self.string(&file_column),
            rows.join(",\n  "),
            partition_columns.join(", "),
            file = self.ident(&file_column),
        ))
    }

    /// A name for the file-name column that no data or partition column has.
    fn file_column(&self, table: &TableShape) -> String {
        let mut name = "__laketidy_file".to_string();
        let taken = |n: &str| {
            table
                .columns
                .iter()
                .any(|c| c.name().eq_ignore_ascii_case(n))
                || table
                    .partition_columns
                    .iter()
                    .any(|p| p.eq_ignore_ascii_case(n))
        };
        while taken(&name) {
            name.push('_');
        }
        name
    }
}

impl SqlDialect for DuckDb {
    fn ident(&self, name: &str) -> String {
        double_quoted(name)
    }

    fn string(&self, value: &str) -> String {
        string_doubled(value)
    }

    /// The view reads the Parquet types as they are; this is what they read as.
    fn data_type(&self, ty: &DataType) -> DdlResult<String> {
        Ok(match ty {
            DataType::Boolean => "BOOLEAN".into(),
            DataType::Int8 => "TINYINT".into(),
            DataType::Int16 => "SMALLINT".into(),
            DataType::Int32 => "INTEGER".into(),
            DataType::Int64 => "BIGINT".into(),
            DataType::UInt8 => "UTINYINT".into(),
            DataType::UInt16 => "USMALLINT".into(),
            DataType::UInt32 => "UINTEGER".into(),
            DataType::UInt64 => "UBIGINT".into(),
            DataType::Float16 | DataType::Float32 => "FLOAT".into(),
            DataType::Float64 => "DOUBLE".into(),
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "VARCHAR".into(),
            DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_) => "BLOB".into(),
            DataType::Decimal32(p, s)
            | DataType::Decimal64(p, s)
            | DataType::Decimal128(p, s)
            | DataType::Decimal256(p, s)
                if *p <= 38 && *s >= 0 =>
            {
                format!("DECIMAL({p}, {s})")
            }
            DataType::Time32(_) | DataType::Time64(_) => "TIME".into(),
            DataType::Date32 | DataType::Date64 => "DATE".into(),
            DataType::Timestamp(_, None) => "TIMESTAMP".into(),
            DataType::Timestamp(_, Some(_)) => "TIMESTAMPTZ".into(),
            DataType::Struct(fields) => {
                format!(
                    "STRUCT({})",
                    super::column_list(self, fields, " ")?.join(", ")
                )
            }
            DataType::Map(_, _) => {
                let (key, value) = map_entries(ty).ok_or_else(|| unsupported("duckdb", ty, ""))?;
                format!(
                    "MAP({}, {})",
                    self.data_type(key.data_type())?,
                    self.data_type(value.data_type())?
                )
            }
            DataType::Dictionary(_, value) => self.data_type(value)?,
            other => match list_item(other) {
                Some(item) => format!("{}[]", self.data_type(item.data_type())?),
                None => return Err(unsupported("duckdb", other, "")),
            },
        })
    }

    fn create(&self, table: &TableShape) -> DdlResult<Vec<String>> {
        Ok(vec![self.view(table)?])
    }

    fn register(&self, table: &TableShape) -> DdlResult<Vec<String>> {
        self.create(table)
    }

    fn apply(
        &self,
        _before: &TableShape,
        after: &TableShape,
        _changes: &Changes,
    ) -> DdlResult<Vec<String>> {
        self.create(after)
    }
}
