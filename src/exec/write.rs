//! Writing one partition's sorted rows as Parquet files close to the target size.
//! Files go to a fresh folder inside the partition's own `key=value` folders, under
//! names no other run can produce, and are never overwritten or renamed.

use crate::error::Result;
use crate::model::snapshot::DataFile;
use crate::storage::Location;
use arrow::array::{Array, RecordBatch};
use arrow::datatypes::{DataType, Schema};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use object_store::buffered::BufWriter;
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::Compression;
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties};

const MAX_ROW_GROUP_ROWS: usize = 1 << 20;
const MAX_ROW_GROUP_BYTES: usize = 128 << 20;
const WRITE_CHUNK_ROWS: usize = 64 * 1024;

pub struct FileSizing {
    pub target_file_size: u64,
    /// Estimated bytes per row once written (refined from each file written).
    pub bytes_per_row: f64,
}

pub struct WriteRequest<'a> {
    pub target: &'a Location,
    /// Target-relative folder, e.g. `dt=2024-03-01/hour=05/run-0190…`.
    pub folder: String,
    pub compression: Compression,
    pub sort_by: &'a [String],
    pub sizing: FileSizing,
}

/// Writes `batch` (already deduplicated and sorted) as one or more files.
pub async fn write_files(request: WriteRequest<'_>, batch: &RecordBatch) -> Result<Vec<DataFile>> {
    let props = writer_properties(&batch.schema(), request.compression, request.sort_by);
    let mut files = Vec::new();
    let mut start = 0usize;
    let total = batch.num_rows();
    let mut bytes_per_row = request.sizing.bytes_per_row.max(1.0);
    while start < total {
        let remaining = total - start;
        let files_left = ((remaining as f64 * bytes_per_row)
            / request.sizing.target_file_size as f64)
            .ceil()
            .max(1.0);
        let rows = (remaining as f64 / files_left).ceil() as usize;
        let slice = batch.slice(start, rows.min(remaining));
        let relative = format!("{}/part-{:05}.parquet", request.folder, files.len());
        let bytes = write_one(request.target, &relative, &slice, props.clone()).await?;
        bytes_per_row = bytes as f64 / slice.num_rows() as f64;
        files.push(DataFile {
            path: relative,
            bytes,
            rows: slice.num_rows() as u64,
            sort_min: sort_values(&slice, request.sort_by, 0),
            sort_max: sort_values(&slice, request.sort_by, slice.num_rows() - 1),
        });
        start += slice.num_rows();
    }
    Ok(files)
}

async fn write_one(
    target: &Location,
    relative: &str,
    batch: &RecordBatch,
    props: WriterProperties,
) -> Result<u64> {
    let sink = BufWriter::new(target.store.clone(), target.to_store(relative));
    let mut writer = AsyncArrowWriter::try_new(sink, batch.schema(), Some(props))?;
    let mut offset = 0;
    while offset < batch.num_rows() {
        let len = WRITE_CHUNK_ROWS.min(batch.num_rows() - offset);
        writer.write(&batch.slice(offset, len)).await?;
        offset += len;
    }
    writer.finish().await?;
    Ok(writer.bytes_written() as u64)
}

fn writer_properties(
    schema: &Schema,
    compression: Compression,
    sort_by: &[String],
) -> WriterProperties {
    let sorting = sort_by
        .iter()
        .map(|name| {
            let index = schema.index_of(name).ok()?;
            let leaf: usize = schema.fields()[..index]
                .iter()
                .map(|f| leaves(f.data_type()))
                .sum();
            (leaves(schema.field(index).data_type()) == 1).then_some(SortingColumn {
                column_idx: leaf as i32,
                descending: false,
                nulls_first: false,
            })
        })
        .collect::<Option<Vec<_>>>();
    WriterProperties::builder()
        .set_compression(compression)
        .set_max_row_group_row_count(Some(MAX_ROW_GROUP_ROWS))
        .set_max_row_group_bytes(Some(MAX_ROW_GROUP_BYTES))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_sorting_columns(sorting.filter(|s| !s.is_empty()))
        .set_created_by(format!("laketidy version {}", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Parquet leaf columns a field occupies (sorting metadata names leaves).
fn leaves(t: &DataType) -> usize {
    match t {
        DataType::Struct(fields) => fields.iter().map(|f| leaves(f.data_type())).sum(),
        DataType::List(f)
        | DataType::LargeList(f)
        | DataType::FixedSizeList(f, _)
        | DataType::Map(f, _) => leaves(f.data_type()),
        _ => 1,
    }
}

fn sort_values(batch: &RecordBatch, sort_by: &[String], row: usize) -> Option<Vec<Option<String>>> {
    if sort_by.is_empty() {
        return None;
    }
    let options = FormatOptions::default();
    sort_by
        .iter()
        .map(|name| {
            let column = batch.column_by_name(name)?;
            if column.is_null(row) {
                return Some(None);
            }
            let formatter = ArrayFormatter::try_new(column.as_ref(), &options).ok()?;
            Some(Some(formatter.value(row).to_string()))
        })
        .collect()
}
