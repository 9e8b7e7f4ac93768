//! Writing a partition's file again without some of its rows. Row groups that keep
//! every row are copied as they are encoded, with their statistics and page indexes;
//! only the row groups that lose rows are decoded and encoded again.
//!
//! Why: an hour of late redeliveries supersedes a few rows in almost every partition
//! it reaches, and encoding (zstd above all) is most of what rewriting a partition
//! costs. The copy is a new object written once under a fresh name, never an S3 COPY.

use super::read::OpenFile;
use super::write::{WriteRequest, upload, writer_properties};
use crate::error::{Error, Result};
use crate::model::snapshot::DataFile;
use arrow::datatypes::SchemaRef;
use bytes::{Buf, Bytes};
use object_store::buffered::BufWriter;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{ArrowColumnWriter, compute_leaves};
use parquet::column::writer::ColumnCloseResult;
use parquet::file::metadata::ColumnChunkMetaData;
use parquet::file::reader::{ChunkReader, Length};
use parquet::file::writer::SerializedFileWriter;
use std::ops::Range;
use tokio::io::AsyncWriteExt;

/// What a splice did.
#[derive(Debug, Default)]
pub struct Spliced {
    /// The file written; none when every row was dropped.
    pub file: Option<DataFile>,
    pub row_groups_copied: usize,
    pub row_groups_reencoded: usize,
}

/// Writes `source` (a file of the partition, `listed` in the snapshot) as `name` in
/// the request's folder, without the rows at `drop` (ascending positions in the
/// file). `source` must hold `schema` exactly, encoded as the request encodes it.
pub async fn splice(
    request: &WriteRequest<'_>,
    schema: &SchemaRef,
    source: OpenFile,
    listed: &DataFile,
    name: &str,
    drop: &[u64],
) -> Result<Spliced> {
    let metadata = source.metadata().clone();
    let props = writer_properties(schema, request);
    let (mut file, columns) =
        ArrowWriter::try_new(Vec::new(), schema.clone(), Some(props))?.into_serialized_writer()?;
    let relative = format!("{}/{name}", request.folder);
    let mut sink = upload(request.target, &relative);
    let mut spliced = Spliced::default();
    let (mut rows_kept, mut sent) = (0u64, 0u64);
    let group_rows: Vec<u64> = metadata
        .row_groups()
        .iter()
        .map(|g| g.num_rows().max(0) as u64)
        .collect();
    let total: u64 = group_rows.iter().sum();
    if total != listed.rows {
        return Err(Error::bad_input(
            &source.display,
            format!("holds {total} rows, the manifest says {}", listed.rows),
        ));
    }
    let drops = by_row_group(drop, &group_rows);
    let ranges: Vec<Range<u64>> = metadata
        .row_groups()
        .iter()
        .map(|g| group_range(&source.display, g.columns()))
        .collect::<Result<_>>()?;
    let mut span: Option<GroupBytes> = None;
    for (index, group) in metadata.row_groups().iter().enumerate() {
        let (rows, gone) = (group_rows[index], &drops[index]);
        if gone.len() as u64 == rows {
            continue;
        }
        let written = file.flushed_row_groups().len();
        let mut out = file.next_row_group()?;
        if gone.is_empty() {
            if !span.as_ref().is_some_and(|s| s.covers(&ranges[index])) {
                let range = copy_span(&ranges, &drops, index, COPY_SPAN_MAX_BYTES);
                span = Some(GroupBytes {
                    start: range.start,
                    bytes: source.fetch(range).await?,
                });
            }
            let chunks = span
                .as_ref()
                .ok_or_else(|| Error::Other("no span".into()))?;
            let page_index = metadata.page_index_for_row_group(index);
            for (c, chunk) in group.columns().iter().enumerate() {
                let close = ColumnCloseResult {
                    bytes_written: chunk.compressed_size().max(0) as u64,
                    rows_written: rows,
                    metadata: chunk.clone(),
                    bloom_filter: None,
                    column_index: page_index.column_index(c).cloned(),
                    offset_index: page_index.offset_index(c).cloned(),
                };
                out.append_column(chunks, close)?;
            }
            spliced.row_groups_copied += 1;
        } else {
            let mut writers = columns.create_column_writers(written)?;
            source
                .again()?
                .row_group_without(index, gone)
                .read_each(None, |batch| encode(schema, &batch, &mut writers))
                .await?;
            for writer in writers {
                writer.close()?.append_to_row_group(&mut out)?;
            }
            spliced.row_groups_reencoded += 1;
        }
        out.close()?;
        rows_kept += rows - gone.len() as u64;
        sent += send(&mut file, &mut sink).await?;
    }
    if rows_kept == 0 {
        // nothing was sent: without a row group the sink holds no bytes
        sink.abort().await?;
        return Ok(spliced);
    }
    let footer = file.into_inner()?;
    sent += footer.len() as u64;
    sink.put(Bytes::from(footer)).await?;
    sink.shutdown()
        .await
        .map_err(|e| Error::Other(e.to_string()))?;
    spliced.file = Some(DataFile {
        path: relative,
        bytes: sent,
        rows: rows_kept,
        // the first and last rows may be gone: the old bounds still hold every row
        sort_min: listed.sort_min.clone(),
        sort_max: listed.sort_max.clone(),
    });
    Ok(spliced)
}

/// Bytes fetched at once for row groups copied one after another: one request on S3
/// instead of one per row group, within a bound on what is held.
const COPY_SPAN_MAX_BYTES: u64 = 64 << 20;

/// `drop` (ascending positions in a file) split by row group, as positions within
/// each group; positions past the last group are left out.
fn by_row_group(drop: &[u64], group_rows: &[u64]) -> Vec<Vec<u64>> {
    let mut drop = drop.iter().copied().peekable();
    let mut first = 0;
    group_rows
        .iter()
        .map(|&rows| {
            let end = first + rows;
            let gone = std::iter::from_fn(|| drop.next_if(|&p| p < end))
                .map(|p| p - first)
                .collect();
            first = end;
            gone
        })
        .collect()
}

/// The bytes to fetch for copying row group `first`: its own, and those of the row
/// groups right after it that are copied too and lie next to it, within `max` bytes.
fn copy_span(ranges: &[Range<u64>], drops: &[Vec<u64>], first: usize, max: u64) -> Range<u64> {
    let start = ranges[first].start;
    let mut end = ranges[first].end;
    for (range, gone) in ranges.iter().zip(drops).skip(first + 1) {
        if !gone.is_empty() || range.start != end || range.end - start > max {
            break;
        }
        end = range.end;
    }
    start..end
}

/// Encodes one batch into a row group's column writers, leaf by leaf.
fn encode(
    schema: &SchemaRef,
    batch: &arrow::array::RecordBatch,
    writers: &mut [ArrowColumnWriter],
) -> Result<()> {
    let mut writers = writers.iter_mut();
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        for leaf in compute_leaves(field, column)? {
            let writer = writers
                .next()
                .ok_or_else(|| Error::Other(format!("no column writer for {}", field.name())))?;
            writer.write(&leaf)?;
        }
    }
    Ok(())
}

/// Hands the bytes of the row groups closed so far to the store; returns how many.
async fn send(file: &mut SerializedFileWriter<Vec<u8>>, sink: &mut BufWriter) -> Result<u64> {
    file.flush().map_err(|e| Error::Other(e.to_string()))?;
    let bytes = std::mem::take(file.inner_mut());
    let sent = bytes.len() as u64;
    if sent > 0 {
        sink.put(Bytes::from(bytes)).await?;
    }
    Ok(sent)
}

/// One row group's column chunks, fetched as one range and read back at the file
/// offsets their metadata records.
struct GroupBytes {
    start: u64,
    bytes: Bytes,
}

/// The bytes a row group's column chunks span.
fn group_range(display: &str, chunks: &[ColumnChunkMetaData]) -> Result<Range<u64>> {
    let (mut start, mut end) = (u64::MAX, 0);
    for chunk in chunks {
        let offset = chunk
            .dictionary_page_offset()
            .unwrap_or_else(|| chunk.data_page_offset());
        let (Ok(offset), Ok(length)) = (
            u64::try_from(offset),
            u64::try_from(chunk.compressed_size()),
        ) else {
            return Err(Error::bad_input(
                display,
                "its footer records a negative column chunk offset or size",
            ));
        };
        start = start.min(offset);
        end = end.max(offset.saturating_add(length));
    }
    Ok(start.min(end)..end)
}

impl GroupBytes {
    fn covers(&self, range: &Range<u64>) -> bool {
        range.start >= self.start && range.end <= self.start + self.bytes.len() as u64
    }
}

impl Length for GroupBytes {
    fn len(&self) -> u64 {
        self.start + self.bytes.len() as u64
    }
}

impl ChunkReader for GroupBytes {
    type T = bytes::buf::Reader<Bytes>;

    fn get_read(&self, start: u64) -> parquet::errors::Result<Self::T> {
        let length = self.len().saturating_sub(start) as usize;
        Ok(self.get_bytes(start, length)?.reader())
    }

    fn get_bytes(&self, start: u64, length: usize) -> parquet::errors::Result<Bytes> {
        let from = start
            .checked_sub(self.start)
            .map(|f| f as usize)
            .filter(|&f| f + length <= self.bytes.len())
            .ok_or_else(|| {
                parquet::errors::ParquetError::General(format!(
                    "bytes {start}+{length} lie outside the row group fetched"
                ))
            })?;
        Ok(self.bytes.slice(from..from + length))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::read::open_indexed;
    use crate::storage::Location;
    use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray};
    use arrow::datatypes::Int64Type;
    use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData};
    use parquet::file::properties::{EnabledStatistics, WriterProperties};
    use std::sync::Arc;

    const GROUP_ROWS: usize = 100;

    /// 350 sorted rows in four row groups (100, 100, 100, 50), pages of 20 rows.
    fn source_rows() -> RecordBatch {
        let n = 350;
        let columns: Vec<(&str, ArrayRef)> = vec![
            (
                "id",
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|i| format!("e{i:04}")),
                )),
            ),
            ("n", Arc::new(Int64Array::from_iter_values(0..n as i64))),
        ];
        RecordBatch::try_from_iter(columns).unwrap()
    }

    fn request<'a>(target: &'a Location, sort_by: &'a [String]) -> WriteRequest<'a> {
        WriteRequest {
            target,
            folder: "p/run-2".into(),
            compression: Compression::ZSTD(ZstdLevel::default()),
            sort_by,
            plain_columns: Vec::new(),
            sizing: crate::exec::write::FileSizing {
                target_file_size: 1 << 30,
                bytes_per_row: 10.0,
            },
            name_prefix: "part",
            first_number: 0,
        }
    }

    #[test]
    fn dropped_rows_are_split_by_row_group() {
        assert_eq!(
            by_row_group(&[0, 99, 100, 250, 349], &[100, 100, 100, 50]),
            vec![vec![0, 99], vec![0], vec![50], vec![49]]
        );
        assert_eq!(
            by_row_group(&[], &[10, 10]),
            vec![Vec::<u64>::new(), vec![]]
        );
    }

    #[test]
    fn consecutive_copied_row_groups_are_fetched_in_one_span() {
        let ranges = [4..10, 10..20, 20..30, 30..40, 40..50, 55..60];
        let none = Vec::new();
        let drops = [
            none.clone(),
            none.clone(),
            vec![3],
            none.clone(),
            none.clone(),
            none,
        ];
        // groups 0 and 1, up to the group that loses a row
        assert_eq!(copy_span(&ranges, &drops, 0, 100), 4..20);
        // groups 3 and 4, not 5, which does not follow on
        assert_eq!(copy_span(&ranges, &drops, 3, 100), 30..50);
        // within the bound; a group larger than the bound alone
        assert_eq!(copy_span(&ranges, &drops, 3, 15), 30..40);
        assert_eq!(copy_span(&ranges, &drops, 3, 5), 30..40);
        assert_eq!(copy_span(&ranges, &drops, 5, 100), 55..60);
    }

    /// A written file's rows and its footer, page index required.
    fn read_back(bytes: &[u8]) -> (RecordBatch, Arc<ParquetMetaData>) {
        let options = ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Required);
        let bytes = bytes::Bytes::copy_from_slice(bytes);
        let reader = ParquetRecordBatchReaderBuilder::try_new_with_options(bytes, options).unwrap();
        let metadata = reader.metadata().clone();
        let batches: Vec<RecordBatch> = reader.build().unwrap().map(|b| b.unwrap()).collect();
        let batch = arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap();
        (batch, metadata)
    }

    /// The `n` column of rows read back.
    fn values(batch: &RecordBatch) -> Vec<i64> {
        batch
            .column(1)
            .as_primitive::<Int64Type>()
            .values()
            .to_vec()
    }

    /// Splices the listed file in `target` as `name`, without the rows at `drop`.
    async fn splice_listed(
        target: &Location,
        listed: &DataFile,
        schema: &SchemaRef,
        name: &str,
        drop: &[u64],
    ) -> Spliced {
        let sort_by = vec!["id".to_string()];
        let source = open_indexed(target, &listed.path, listed.bytes)
            .await
            .unwrap();
        splice(
            &request(target, &sort_by),
            schema,
            source,
            listed,
            name,
            drop,
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn untouched_row_groups_are_copied_as_encoded_and_the_others_lose_their_rows() {
        let dir = tempfile::tempdir().unwrap();
        let target = Location::open(&url::Url::from_directory_path(dir.path()).unwrap()).unwrap();
        let rows = source_rows();
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_row_count(Some(GROUP_ROWS))
            .set_data_page_row_count_limit(20)
            .set_write_batch_size(20)
            .set_statistics_enabled(EnabledStatistics::Page)
            .build();
        let mut written = Vec::new();
        let mut writer = ArrowWriter::try_new(&mut written, rows.schema(), Some(props)).unwrap();
        writer.write(&rows).unwrap();
        writer.close().unwrap();
        std::fs::create_dir_all(dir.path().join("p/run-1")).unwrap();
        std::fs::write(dir.path().join("p/run-1/part-00000.parquet"), &written).unwrap();
        let listed = DataFile {
            path: "p/run-1/part-00000.parquet".into(),
            bytes: written.len() as u64,
            rows: 350,
            sort_min: Some(vec![Some("e0000".into())]),
            sort_max: Some(vec![Some("e0349".into())]),
        };
        let (_, before) = read_back(&written);
        assert_eq!(before.num_row_groups(), 4);

        // rows 0 and 349 (first and last), 150..=151 in the second group, and the
        // whole third group go; the fourth group's first row too
        let mut drop: Vec<u64> = vec![0, 150, 151];
        drop.extend(200..300);
        drop.extend([300, 349]);
        let schema = rows.schema();
        let spliced = splice_listed(&target, &listed, &schema, "part-00000.parquet", &drop).await;
        assert_eq!(spliced.row_groups_copied, 0);
        assert_eq!(spliced.row_groups_reencoded, 3);
        let file = spliced.file.unwrap();
        let (got, metadata) = read_back(&std::fs::read(dir.path().join(&file.path)).unwrap());
        let kept: Vec<i64> = (0..350).filter(|n| !drop.contains(&(*n as u64))).collect();
        assert_eq!(values(&got), kept);
        let groups: Vec<i64> = metadata.row_groups().iter().map(|g| g.num_rows()).collect();
        assert_eq!(groups, vec![99, 98, 48], "the emptied group is gone");
        assert_eq!(file.rows, kept.len() as u64);

        // a file that loses every row is not written at all
        let all: Vec<u64> = (0..350).collect();
        let spliced = splice_listed(&target, &listed, &schema, "part-00009.parquet", &all).await;
        assert!(spliced.file.is_none());
        assert!(!dir.path().join("p/run-2/part-00009.parquet").exists());

        // only the second group's rows 150 and 151 go: the first group is copied
        let spliced =
            splice_listed(&target, &listed, &schema, "part-00001.parquet", &[150, 151]).await;
        assert_eq!(
            (spliced.row_groups_copied, spliced.row_groups_reencoded),
            (3, 1)
        );
        let file = spliced.file.unwrap();
        assert_eq!(file.rows, 348);
        assert_eq!(file.sort_min, listed.sort_min, "the old bounds still hold");
        let bytes = std::fs::read(dir.path().join(&file.path)).unwrap();
        assert_eq!(bytes.len() as u64, file.bytes);

        // the rows are the source's without the dropped ones, in order
        let (got, metadata) = read_back(&bytes);
        let expected: Vec<i64> = (0..350).filter(|n| ![150, 151].contains(n)).collect();
        assert_eq!(values(&got), expected);
        assert_eq!(got.column(0).null_count(), 0);

        // a copied group's column chunks are the source's bytes, and its page index
        // points at its pages in the new file
        for group in [0, 2, 3] {
            for column in 0..2 {
                let (from, len) = before.row_group(group).column(column).byte_range();
                let (to, len_now) = metadata.row_group(group).column(column).byte_range();
                assert_eq!(len, len_now);
                assert_eq!(
                    written[from as usize..(from + len) as usize],
                    bytes[to as usize..(to + len) as usize],
                    "group {group} column {column} copied byte for byte"
                );
                let pages = metadata
                    .page_index_for_row_group(group)
                    .offset_index(column)
                    .unwrap()
                    .page_locations
                    .clone();
                let pages_before = before
                    .page_index_for_row_group(group)
                    .offset_index(column)
                    .unwrap()
                    .page_locations
                    .len();
                assert!(pages.len() > 1 && pages.len() == pages_before, "{pages:?}");
                assert!(
                    pages
                        .iter()
                        .all(|p| p.offset as u64 >= to && (p.offset as u64) < to + len)
                );
                assert!(
                    metadata
                        .page_index_for_row_group(group)
                        .column_index(column)
                        .is_some(),
                    "group {group} column {column} keeps its column index"
                );
            }
        }
        assert_eq!(metadata.row_group(1).num_rows(), 98);
    }
}
