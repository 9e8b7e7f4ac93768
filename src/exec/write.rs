//! Writing one partition's sorted rows as Parquet files close to the target size.
//! Files go to a fresh folder inside the partition's own `key=value` folders, under
//! names no other run can produce, and are never overwritten or renamed.

use super::merge::without_delivery;
use crate::error::Result;
use crate::model::snapshot::DataFile;
use crate::storage::Location;
use arrow::array::{Array, RecordBatch};
use arrow::datatypes::{DataType, Schema, SchemaRef};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use object_store::buffered::BufWriter;
use parquet::arrow::AsyncArrowWriter;
use parquet::basic::{Compression, Encoding, PageType};
use parquet::file::metadata::{ParquetMetaData, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

/// Rows per row group. Smaller than a partition, so that an incremental run that
/// drops a few superseded rows re-encodes only the row groups holding them and
/// copies the others as they are (see `splice`); large enough that readers still
/// get long column chunks.
const MAX_ROW_GROUP_ROWS: usize = 1 << 14;
const MAX_ROW_GROUP_BYTES: usize = 128 << 20;

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
    /// Leaf columns whose values are (nearly) all distinct, like a dedup key: a
    /// dictionary for them would be built only to be thrown away.
    pub plain_columns: Vec<ColumnPath>,
    pub sizing: FileSizing,
    /// Names of the files written: `part` for a partition's sorted files, `delta`
    /// for new rows written beside them; numbered from `first_number`.
    pub name_prefix: &'static str,
    pub first_number: usize,
}

/// The name of a data file inside its run folder, e.g. `part-00003.parquet`.
pub fn file_name(prefix: &str, number: usize) -> String {
    format!("{prefix}-{number:05}.parquet")
}

/// A file being written.
struct OpenFile {
    writer: AsyncArrowWriter<BufWriter>,
    relative: String,
    rows: usize,
    /// Rows this file takes before the next one starts.
    capacity: usize,
    sort_min: Option<Vec<Option<String>>>,
    last_row: Option<RecordBatch>,
}

/// Writes sorted batches (`total_rows` rows in all, the delivery column dropped) as
/// files close to the target size, each file taking an even share of what is left.
/// After a failure (a stop, a bad batch) the file being written is aborted: the files
/// already finished are the caller's to remove, but an upload that went multipart is
/// listed nowhere and would stay on S3, billed, until `vacuum` found it.
pub async fn write_sorted(
    request: WriteRequest<'_>,
    schema: &SchemaRef,
    total_rows: u64,
    batches: impl Iterator<Item = Result<RecordBatch>>,
) -> Result<Vec<DataFile>> {
    let mut open = None;
    let written = write_files(request, schema, total_rows, batches, &mut open).await;
    if written.is_err()
        && let Some(file) = open.take()
    {
        abort(file.writer).await;
    }
    written
}

async fn write_files(
    request: WriteRequest<'_>,
    schema: &SchemaRef,
    total_rows: u64,
    batches: impl Iterator<Item = Result<RecordBatch>>,
    open: &mut Option<OpenFile>,
) -> Result<Vec<DataFile>> {
    let props = writer_properties(schema, &request);
    let mut files = Vec::new();
    let mut done_rows = 0u64;
    let mut bytes_per_row = request.sizing.bytes_per_row.max(1.0);
    for batch in batches {
        let mut batch = without_delivery(&batch?);
        while batch.num_rows() > 0 {
            let file = match &mut *open {
                Some(f) => f,
                slot => {
                    let remaining = total_rows.saturating_sub(done_rows).max(1);
                    let files_left = ((remaining as f64 * bytes_per_row)
                        / request.sizing.target_file_size as f64)
                        .ceil()
                        .max(1.0);
                    let name = file_name(request.name_prefix, request.first_number + files.len());
                    let relative = format!("{}/{name}", request.folder);
                    let sink = upload(request.target, &relative);
                    slot.insert(OpenFile {
                        writer: AsyncArrowWriter::try_new(
                            sink,
                            schema.clone(),
                            Some(props.clone()),
                        )?,
                        relative,
                        rows: 0,
                        capacity: (remaining as f64 / files_left).ceil().max(1.0) as usize,
                        sort_min: sort_values(&batch, request.sort_by, 0),
                        last_row: None,
                    })
                }
            };
            let take = (file.capacity - file.rows).min(batch.num_rows());
            let (head, tail) = (
                batch.slice(0, take),
                batch.slice(take, batch.num_rows() - take),
            );
            file.writer.write(&head).await?;
            file.rows += take;
            file.last_row = Some(head.slice(take - 1, 1));
            batch = tail;
            if file.rows == file.capacity
                && let Some(full) = open.take()
            {
                let done = finish(full, request.sort_by).await?;
                done_rows += done.rows;
                bytes_per_row = done.bytes as f64 / done.rows.max(1) as f64;
                files.push(done);
            }
        }
    }
    if let Some(last) = open.take() {
        files.push(finish(last, request.sort_by).await?);
    }
    Ok(files)
}

async fn finish(file: OpenFile, sort_by: &[String]) -> Result<DataFile> {
    let mut writer = file.writer;
    if let Err(error) = writer.finish().await {
        abort(writer).await;
        return Err(error.into());
    }
    Ok(DataFile {
        path: file.relative,
        bytes: writer.bytes_written() as u64,
        rows: file.rows as u64,
        sort_min: file.sort_min,
        sort_max: file
            .last_row
            .as_ref()
            .and_then(|r| sort_values(r, sort_by, 0)),
    })
}

/// Ends an unfinished file's upload. Its own failure is not the run's error: the
/// upload is then left for `vacuum` to abort.
async fn abort(writer: AsyncArrowWriter<BufWriter>) {
    let _ = writer.into_inner().abort().await;
}

/// Bytes an upload buffers before it goes multipart, and the size of each part: S3's
/// smallest part. Each job holds this and at most [`UPLOAD_PARTS_IN_FLIGHT`] parts,
/// whatever the size of the file (object_store's defaults hold up to 90 MiB).
const UPLOAD_PART_BYTES: usize = 5 << 20;
const UPLOAD_PARTS_IN_FLIGHT: usize = 2;

/// A streaming upload of the file at `relative` under `target`.
pub(super) fn upload(target: &Location, relative: &str) -> BufWriter {
    BufWriter::with_capacity(
        target.store.clone(),
        target.to_store(relative),
        UPLOAD_PART_BYTES,
    )
    .with_max_concurrency(UPLOAD_PARTS_IN_FLIGHT)
}

/// How every data file of a request is encoded (also row groups spliced into a copy).
pub(super) fn writer_properties(schema: &Schema, request: &WriteRequest) -> WriterProperties {
    let sorting = request
        .sort_by
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
    let mut builder = WriterProperties::builder();
    for column in &request.plain_columns {
        builder = builder.set_column_dictionary_enabled(column.clone(), false);
    }
    builder
        .set_compression(request.compression)
        .set_max_row_group_row_count(Some(MAX_ROW_GROUP_ROWS))
        .set_max_row_group_bytes(Some(MAX_ROW_GROUP_BYTES))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_sorting_columns(sorting.filter(|s| !s.is_empty()))
        .set_created_by(format!("laketidy version {}", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Leaf columns that a file of this partition wrote without a dictionary, or whose
/// dictionary overflowed part-way (its data pages fell back to plain values). A
/// rewrite of the partition would build such a dictionary only to throw it away:
/// interning most of a column's values before giving up cost a tenth of a rewrite.
pub fn undictionaried_columns(metadata: &ParquetMetaData) -> Vec<ColumnPath> {
    let mut columns: Vec<ColumnPath> = Vec::new();
    for group in metadata.row_groups() {
        for chunk in group.columns() {
            // the footer's stats come as a mask by default, in full when a file is
            // opened to copy its row groups (a copy keeps only the full form)
            let plain = chunk
                .page_encoding_stats_mask()
                .is_some_and(|mask| mask.is_set(Encoding::PLAIN))
                || chunk.page_encoding_stats().is_some_and(|stats| {
                    stats.iter().any(|s| {
                        s.encoding == Encoding::PLAIN && s.page_type != PageType::DICTIONARY_PAGE
                    })
                });
            if plain && !columns.contains(chunk.column_path()) {
                columns.push(chunk.column_path().clone());
            }
        }
    }
    columns
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

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use bytes::Bytes;
    use parquet::arrow::ArrowWriter;
    use parquet::file::metadata::{ParquetMetaDataOptions, ParquetMetaDataReader};
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_write_that_fails_after_its_upload_went_multipart_aborts_the_upload() {
        let dir = tempfile::tempdir().unwrap();
        let target = Location::open(&url::Url::from_directory_path(dir.path()).unwrap()).unwrap();
        // one row group of 8 MiB, stored plain: more than a part, so it goes multipart
        let rows = MAX_ROW_GROUP_ROWS;
        let payload = StringArray::from_iter_values((0..rows).map(|i| format!("{i:0>512}")));
        let batch =
            RecordBatch::try_from_iter([("payload", Arc::new(payload) as ArrayRef)]).unwrap();
        let request = WriteRequest {
            target: &target,
            folder: "run-stopped".into(),
            compression: Compression::UNCOMPRESSED,
            sort_by: &[],
            plain_columns: vec![ColumnPath::from("payload")],
            sizing: FileSizing {
                target_file_size: 1 << 30,
                bytes_per_row: 512.0,
            },
            name_prefix: "part",
            first_number: 0,
        };
        let stopped = Err(crate::Error::Interrupted(crate::stop::Signal::Terminate));
        let batches = [Ok(batch.clone()), Ok(batch.clone()), stopped].into_iter();
        let error = write_sorted(request, &batch.schema(), 3 * rows as u64, batches)
            .await
            .unwrap_err();
        assert!(matches!(error, crate::Error::Interrupted(_)), "{error}");
        let requests = target.requests.snapshot();
        assert!(requests.put >= 1, "a part was uploaded: {requests:?}");
        assert_eq!(requests.delete, 1, "the upload was aborted: {requests:?}");
        let left: Vec<_> = std::fs::read_dir(dir.path().join("run-stopped"))
            .map(|d| d.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "nothing of the file is left: {left:?}");
    }

    #[test]
    fn columns_written_plain_or_whose_dictionary_fell_back_are_named() {
        // `id` is all distinct and overflows a 1 KiB dictionary; `kind` has three
        // values and keeps its dictionary; `n` is written without one
        let n = 10_000;
        let columns: Vec<(&str, ArrayRef)> = vec![
            (
                "id",
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("id-{i:08}")),
                )),
            ),
            (
                "kind",
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| ["a", "b", "c"][i % 3]),
                )),
            ),
            ("n", Arc::new(Int64Array::from_iter_values(0..n as i64))),
        ];
        let batch = RecordBatch::try_from_iter(columns).unwrap();
        let props = WriterProperties::builder()
            .set_dictionary_page_size_limit(1024)
            .set_column_dictionary_enabled(ColumnPath::from("n"), false)
            .build();
        let mut buffer = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut buffer, batch.schema(), Some(props)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        // the footer's page encoding stats read as a mask (the default), and in full
        // (as files opened for splicing read them)
        let bytes = Bytes::from(buffer);
        for as_mask in [true, false] {
            let options = ParquetMetaDataOptions::new().with_encoding_stats_as_mask(as_mask);
            let metadata = ParquetMetaDataReader::new()
                .with_metadata_options(Some(options))
                .parse_and_finish(&bytes)
                .unwrap();
            let named: Vec<String> = undictionaried_columns(&metadata)
                .iter()
                .map(|c| c.string())
                .collect();
            assert_eq!(named, vec!["id", "n"], "as mask: {as_mask}");
        }
    }
}
