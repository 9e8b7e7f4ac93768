//! Reading Parquet through object_store, with errors that name the file and say
//! whether the data is bad (exit 3) or the store failed (exit 1).

use crate::error::{Error, Result};
use crate::storage::Location;
use arrow::array::RecordBatch;
use arrow::datatypes::{DataType, FieldRef, Fields, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use futures::FutureExt;
use futures::TryStreamExt;
use futures::future::BoxFuture;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, RowSelection, RowSelector,
};
use parquet::arrow::async_reader::{AsyncFileReader, ParquetRecordBatchStreamBuilder};
use parquet::errors::ParquetError;
use parquet::file::metadata::{PageIndexPolicy, ParquetMetaData, ParquetMetaDataReader};
use std::collections::VecDeque;
use std::ops::Range;
use std::sync::Arc;
use tokio::sync::OnceCell;
use tokio::task::JoinHandle;

const BATCH_ROWS: usize = 64 * 1024;

/// An opened Parquet file: its footer has been read and checked.
pub struct OpenFile {
    pub display: String,
    pub builder: ParquetRecordBatchStreamBuilder<StoreReader>,
    /// The footer and the Arrow schema read from it (INT96 as microseconds).
    metadata: ArrowReaderMetadata,
    reader: StoreReader,
    /// Rows a read must return: the footer's count, or the rows selected.
    expected_rows: i64,
}

impl OpenFile {
    pub fn schema(&self) -> SchemaRef {
        self.builder.schema().clone()
    }

    pub fn num_rows(&self) -> u64 {
        self.builder.metadata().file_metadata().num_rows().max(0) as u64
    }

    /// A second reader of the same file, without fetching its footer again.
    pub fn again(&self) -> Result<OpenFile> {
        Ok(self.read_through(self.reader.clone()))
    }

    /// A second reader of the same file that fetches it whole with its first request
    /// when it is at most `max` bytes, and serves every later read from that copy (which
    /// goes with the reader): for a pass that reads most of a file in many ranges.
    pub fn again_whole(&self, max: u64) -> Result<OpenFile> {
        let mut reader = self.reader.clone();
        if reader.size > WHOLE_FILE_MAX {
            reader.whole = Arc::new(OnceCell::new());
            reader.whole_max = max;
        }
        Ok(self.read_through(reader))
    }

    /// A reader of all of this file through `reader`, with the footer already read.
    fn read_through(&self, reader: StoreReader) -> OpenFile {
        OpenFile {
            display: self.display.clone(),
            builder: ParquetRecordBatchStreamBuilder::new_with_metadata(
                reader.clone(),
                self.metadata.clone(),
            ),
            metadata: self.metadata.clone(),
            reader,
            expected_rows: self.num_rows() as i64,
        }
    }

    /// Reads only the rows at these positions (ascending, within the file).
    pub fn only_rows(mut self, positions: &[u64]) -> Self {
        let selection = selection(positions, self.num_rows(), true);
        self.builder = self.builder.with_row_selection(selection);
        self.expected_rows = positions.len() as i64;
        self
    }

    /// Reads only row group `group`, without the rows at these positions (ascending,
    /// within the group).
    pub fn row_group_without(mut self, group: usize, positions: &[u64]) -> Self {
        let rows = self.metadata().row_group(group).num_rows().max(0) as u64;
        let selection = selection(positions, rows, false);
        self.builder = self
            .builder
            .with_row_groups(vec![group])
            .with_row_selection(selection);
        self.expected_rows = (rows - positions.len() as u64) as i64;
        self
    }

    /// The file's footer.
    pub fn metadata(&self) -> &Arc<ParquetMetaData> {
        self.metadata.metadata()
    }

    /// Bytes `range` of the file, as read for its pages. The future holds no borrow
    /// of the file, which is not `Sync`.
    pub fn fetch(&self, range: Range<u64>) -> impl Future<Output = Result<Bytes>> + use<> {
        let (mut reader, display) = (self.reader.clone(), self.display.clone());
        async move {
            reader
                .get_bytes(range)
                .await
                .map_err(|e| classify(&display, e))
        }
    }

    /// Reads all rows, or only the named top-level columns that the file has.
    pub async fn read(self, columns: Option<&[&str]>) -> Result<Vec<RecordBatch>> {
        let mut batches = Vec::new();
        self.read_each(columns, |b| {
            batches.push(b);
            Ok(())
        })
        .await?;
        Ok(batches)
    }

    /// Hands each batch to `each` as it is decoded (so a large file is never held
    /// whole), then checks that the pages held as many rows as the footer says.
    pub async fn read_each(
        self,
        columns: Option<&[&str]>,
        mut each: impl FnMut(RecordBatch) -> Result<()>,
    ) -> Result<u64> {
        let display = self.display;
        let mut builder = self.builder.with_batch_size(BATCH_ROWS);
        if let Some(columns) = columns {
            let indices: Vec<usize> = builder
                .schema()
                .fields()
                .iter()
                .enumerate()
                .filter(|(_, f)| columns.contains(&f.name().as_str()))
                .map(|(i, _)| i)
                .collect();
            let mask = ProjectionMask::roots(builder.parquet_schema(), indices);
            builder = builder.with_projection(mask);
        }
        let expected = self.expected_rows;
        let mut stream = builder.build().map_err(|e| classify(&display, e))?;
        let mut rows = 0u64;
        while let Some(batch) = stream.try_next().await.map_err(|e| classify(&display, e))? {
            rows += batch.num_rows() as u64;
            each(batch)?;
        }
        if rows as i64 != expected {
            return Err(Error::bad_input(
                &display,
                format!("its footer says {expected} rows but its pages hold {rows}"),
            ));
        }
        Ok(rows)
    }
}

/// Rows `positions` (ascending, below `total`) picked out of `total`, or left out.
fn selection(positions: &[u64], total: u64, picked: bool) -> RowSelection {
    // `positions` are selected when picked, skipped when left out; the rest the other way
    let chosen = |rows| match picked {
        true => RowSelector::select(rows),
        false => RowSelector::skip(rows),
    };
    let others = |rows| match picked {
        true => RowSelector::skip(rows),
        false => RowSelector::select(rows),
    };
    let mut selectors = Vec::new();
    let mut at = 0u64;
    for &p in positions {
        if p > at {
            selectors.push(others((p - at) as usize));
        }
        selectors.push(chosen(1));
        at = p + 1;
    }
    if total > at {
        selectors.push(others((total - at) as usize));
    }
    RowSelection::from(selectors)
}

/// Opens a file of `size` bytes at a location-relative path.
pub async fn open(location: &Location, relative: &str, size: u64) -> Result<OpenFile> {
    open_with(location, relative, size, ArrowReaderOptions::new(), None).await
}

/// A small file being fetched whole in the background, ahead of its reader.
///
/// A reader that fetches its file only when it starts leaves its core idle for the
/// whole request (a disk read on a cold cache, a round trip on S3); fetched ahead,
/// the bytes are there when it starts. Dropped unused, the fetch is cancelled.
pub struct Prefetch {
    fetch: Option<JoinHandle<object_store::Result<Bytes>>>,
}

impl Drop for Prefetch {
    fn drop(&mut self) {
        if let Some(fetch) = &self.fetch {
            fetch.abort();
        }
    }
}

impl Prefetch {
    /// Bytes a prefetch of a file of `size` bytes holds: 0 for an empty one, and for
    /// one larger than [`WHOLE_FILE_MAX`] (read in ranges), which are not fetched.
    fn bytes(size: u64) -> u64 {
        if size <= WHOLE_FILE_MAX { size } else { 0 }
    }
}

/// Starts fetching a file that [`open`] would fetch whole (at most
/// [`WHOLE_FILE_MAX`] bytes); a larger one is read in ranges when it is opened.
pub fn prefetch(location: &Location, relative: &str, size: u64) -> Prefetch {
    if Prefetch::bytes(size) == 0 {
        return Prefetch { fetch: None };
    }
    let (store, path) = (location.store.clone(), location.to_store(relative));
    Prefetch {
        fetch: Some(tokio::spawn(async move { get_whole(&store, &path).await })),
    }
}

/// A whole file in one request.
async fn get_whole(
    store: &Arc<dyn ObjectStore>,
    path: &object_store::path::Path,
) -> object_store::Result<Bytes> {
    store.get(path).await?.bytes().await
}

/// Bytes of files fetched ahead of their readers, at most (see [`fetch_ahead`]).
const AHEAD_BYTES: u64 = 32 << 20;

/// `items` in order, each with a [`prefetch`] of its file (`file` names its path and
/// size), started `depth` items before it is handed out, holding at most
/// [`AHEAD_BYTES`] of them.
pub fn fetch_ahead<T, I, F>(
    location: &Location,
    items: I,
    file: F,
    depth: usize,
) -> impl Iterator<Item = (T, Prefetch)> + use<T, I, F>
where
    I: IntoIterator<Item = T>,
    F: Fn(&T) -> (&str, u64),
{
    let location = location.clone();
    let mut items = items.into_iter();
    let mut ahead = VecDeque::new();
    let mut ahead_bytes = 0u64;
    std::iter::from_fn(move || {
        while ahead.len() < depth.max(1) && ahead_bytes < AHEAD_BYTES {
            let Some(item) = items.next() else {
                break;
            };
            let (path, size) = file(&item);
            let fetched = prefetch(&location, path, size);
            let bytes = Prefetch::bytes(size);
            ahead_bytes += bytes;
            ahead.push_back((item, fetched, bytes));
        }
        let (item, fetched, bytes) = ahead.pop_front()?;
        ahead_bytes -= bytes;
        Some((item, fetched))
    })
}

/// [`open`], with the file's bytes from a [`prefetch`] of it.
pub async fn open_prefetched(
    location: &Location,
    relative: &str,
    size: u64,
    mut prefetched: Prefetch,
) -> Result<OpenFile> {
    let whole = match prefetched.fetch.take() {
        Some(fetch) => Some(
            fetch
                .await
                .map_err(|e| Error::Other(format!("fetching {relative} failed: {e}")))??,
        ),
        None => None,
    };
    open_with(location, relative, size, ArrowReaderOptions::new(), whole).await
}

/// Opens a file with its page index (column and offset indexes) and its pages'
/// encoding stats in full, so that row groups copied out of it keep both.
pub async fn open_indexed(location: &Location, relative: &str, size: u64) -> Result<OpenFile> {
    let options = ArrowReaderOptions::new()
        .with_page_index_policy(PageIndexPolicy::Optional)
        .with_encoding_stats_as_mask(false);
    open_with(location, relative, size, options, None).await
}

async fn open_with(
    location: &Location,
    relative: &str,
    size: u64,
    options: ArrowReaderOptions,
    whole: Option<Bytes>,
) -> Result<OpenFile> {
    let display = location.display(relative);
    if size == 0 {
        return Err(Error::bad_input(
            &display,
            "is empty (0 bytes): not a Parquet file",
        ));
    }
    let mut reader = StoreReader {
        store: location.store.clone(),
        path: location.to_store(relative),
        size,
        whole: Arc::new(OnceCell::new_with(whole)),
        whole_max: WHOLE_FILE_MAX,
    };
    let metadata = ArrowReaderMetadata::load_async(&mut reader, options)
        .await
        .and_then(int96_as_micros)
        .map_err(|e| classify(&display, e))?;
    let builder =
        ParquetRecordBatchStreamBuilder::new_with_metadata(reader.clone(), metadata.clone());
    // planning trusts the footer's count: a file whose row groups disagree with it
    // would be skipped as empty, or counted wrong
    let footer = metadata.metadata().file_metadata().num_rows();
    let in_groups: i64 = metadata
        .metadata()
        .row_groups()
        .iter()
        .map(|g| g.num_rows())
        .sum();
    if footer != in_groups {
        return Err(Error::bad_input(
            &display,
            format!("its footer says {footer} rows but its row groups hold {in_groups}"),
        ));
    }
    let expected_rows = footer;
    Ok(OpenFile {
        display,
        builder,
        metadata,
        reader,
        expected_rows,
    })
}

/// Reads INT96 timestamps as UTC microseconds instead of arrow's default nanoseconds.
/// Spark and Hive write INT96 with microsecond precision and for any year, and in
/// nanoseconds years before 1677 or after 2262 would wrap around into wrong dates;
/// in microseconds every value is exact. The Parquet schema says which leaves are
/// INT96; the Arrow schema lists the same leaves depth-first.
fn int96_as_micros(metadata: ArrowReaderMetadata) -> parquet::errors::Result<ArrowReaderMetadata> {
    let int96: Vec<bool> = metadata
        .parquet_schema()
        .columns()
        .iter()
        .map(|c| c.physical_type() == parquet::basic::Type::INT96)
        .collect();
    if !int96.contains(&true) {
        return Ok(metadata);
    }
    let mut leaf = 0;
    let schema = metadata.schema();
    let fields: Fields = schema
        .fields()
        .iter()
        .map(|f| int96_leaves_as_micros(f, &int96, &mut leaf))
        .collect();
    let hint = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    ArrowReaderMetadata::try_new(
        metadata.metadata().clone(),
        ArrowReaderOptions::new().with_schema(hint),
    )
}

/// `field` with each leaf that `int96` marks (counted through `leaf`) as microseconds.
fn int96_leaves_as_micros(field: &FieldRef, int96: &[bool], leaf: &mut usize) -> FieldRef {
    let mut child = |f: &FieldRef| int96_leaves_as_micros(f, int96, leaf);
    let data_type = match field.data_type() {
        DataType::Struct(children) => DataType::Struct(children.iter().map(child).collect()),
        DataType::List(item) => DataType::List(child(item)),
        DataType::LargeList(item) => DataType::LargeList(child(item)),
        DataType::FixedSizeList(item, n) => DataType::FixedSizeList(child(item), *n),
        DataType::ListView(item) => DataType::ListView(child(item)),
        DataType::LargeListView(item) => DataType::LargeListView(child(item)),
        DataType::Map(entries, sorted) => DataType::Map(child(entries), *sorted),
        other => {
            let is_int96 = int96.get(*leaf).copied().unwrap_or(false);
            *leaf += 1;
            // a dictionary hint would make the INT96 decoder panic: plain values only
            let timezone = match other {
                DataType::Timestamp(_, tz) if is_int96 => tz.clone(),
                DataType::Dictionary(_, value) if is_int96 => match value.as_ref() {
                    DataType::Timestamp(_, tz) => tz.clone(),
                    _ => return field.clone(),
                },
                _ => return field.clone(),
            };
            // Spark's INT96 is an instant, as its later INT64 timestamps say outright
            // (isAdjustedToUTC): read as UTC, a table that moved from one to the other
            // keeps one column type, and engines read a TIMESTAMP, not a local time
            let timezone = timezone.or_else(|| Some("UTC".into()));
            DataType::Timestamp(TimeUnit::Microsecond, timezone)
        }
    };
    Arc::new(field.as_ref().clone().with_data_type(data_type))
}

/// Store failures stay store failures; anything the decoder says is bad input.
fn classify(display: &str, error: ParquetError) -> Error {
    match error {
        ParquetError::External(inner) => match inner.downcast::<object_store::Error>() {
            Ok(store_error) => Error::Storage(*store_error),
            Err(other) => Error::bad_input(display, format!("cannot be read as Parquet: {other}")),
        },
        other => Error::bad_input(display, format!("cannot be read as Parquet: {other}")),
    }
}

/// Parquet's async reader over an object_store location of known size (the size comes
/// from the listing, so the footer is fetched without an extra HEAD request).
///
/// Requests, not bytes, are what small files cost on S3: a file of at most
/// [`WHOLE_FILE_MAX`] bytes is fetched whole by its first request and every later
/// read of it (footer, column ranges, a second pass) is served from that copy, which
/// readers of the same file share. A larger file's footer comes in one request
/// (with [`FOOTER_PREFETCH`] bytes), its column ranges in as few as object_store
/// coalesces them into.
#[derive(Clone)]
pub struct StoreReader {
    store: Arc<dyn ObjectStore>,
    path: object_store::path::Path,
    size: u64,
    whole: Arc<OnceCell<Bytes>>,
    /// Files up to this size are fetched whole.
    whole_max: u64,
}

/// Files up to this size are fetched in one request.
const WHOLE_FILE_MAX: u64 = 4 << 20;

/// Bytes fetched from the end of a larger file for its footer: enough for the
/// metadata of most files, so that one request suffices.
const FOOTER_PREFETCH: usize = 64 << 10;

impl StoreReader {
    /// The whole file, fetched by the first caller.
    async fn whole_file(&self) -> parquet::errors::Result<&Bytes> {
        self.whole
            .get_or_try_init(|| async {
                get_whole(&self.store, &self.path)
                    .await
                    .map_err(store_error)
            })
            .await
    }

    async fn slices(&self, ranges: &[Range<u64>]) -> parquet::errors::Result<Vec<Bytes>> {
        for range in ranges {
            self.check_range(range)?;
        }
        if self.size > self.whole_max {
            return self
                .store
                .get_ranges(&self.path, ranges)
                .await
                .map_err(store_error);
        }
        let whole = self.whole_file().await?;
        if whole.len() as u64 != self.size {
            return Err(ParquetError::General(format!(
                "it is {} bytes now, {} when listed: it changed while this run read it",
                whole.len(),
                self.size
            )));
        }
        Ok(ranges
            .iter()
            .map(|r| whole.slice(r.start as usize..r.end as usize))
            .collect())
    }

    /// A corrupt footer can point past the end of the file: that is bad data, not a
    /// storage failure, so it is caught before the store is asked.
    fn check_range(&self, range: &Range<u64>) -> parquet::errors::Result<()> {
        if range.end > self.size || range.start > range.end {
            return Err(ParquetError::General(format!(
                "its metadata points at bytes {}..{}, past its end ({} bytes)",
                range.start, range.end, self.size
            )));
        }
        Ok(())
    }
}

fn store_error(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileReader for StoreReader {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move {
            let mut slices = self.slices(std::slice::from_ref(&range)).await?;
            slices
                .pop()
                .ok_or_else(|| ParquetError::General("no bytes for a range".into()))
        }
        .boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move { self.slices(&ranges).await }.boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.size;
            let metadata = ParquetMetaDataReader::new()
                .with_arrow_reader_options(options)
                .with_prefetch_hint(Some(FOOTER_PREFETCH))
                .load_and_finish(self, size)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray, StructArray};
    use arrow::datatypes::TimestampMicrosecondType;
    use parquet::data_type::{Int96, Int96Type};
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::parser::parse_message_type;

    const JULIAN_DAY_OF_EPOCH: i64 = 2_440_588;
    const MICROS_PER_DAY: i64 = 86_400_000_000;

    /// INT96 as Spark writes it: nanoseconds of the day, then the Julian day.
    fn int96(day: u32, nanos_of_day: u64) -> Int96 {
        let mut value = Int96::new();
        value.set_data(nanos_of_day as u32, (nanos_of_day >> 32) as u32, day);
        value
    }

    /// Spark's range: year 1 to 9999, and one value from today. In nanoseconds the
    /// first two would wrap around.
    #[tokio::test]
    async fn int96_timestamps_read_as_exact_microseconds_at_any_depth() {
        let values = [
            int96(1_721_426, 0),                              // 0001-01-01 (proleptic)
            int96(5_373_484, 86_399_999_999_000),             // 9999-12-31 23:59:59.999999
            int96(2_460_371, 12 * 3_600_000_000_000 + 1_000), // 2024-03-01 12:00:00.000001
        ];
        let expected: Vec<i64> = values
            .iter()
            .map(|v| {
                let (day, nanos) = (
                    v.data()[2] as i64,
                    (v.data()[1] as i64) << 32 | v.data()[0] as i64,
                );
                (day - JULIAN_DAY_OF_EPOCH) * MICROS_PER_DAY + nanos / 1_000
            })
            .collect();
        let schema = parse_message_type(
            "message spark { required int96 ts; required group s { required int96 inner; } }",
        )
        .unwrap();
        let mut bytes = Vec::new();
        let mut writer =
            SerializedFileWriter::new(&mut bytes, Arc::new(schema), Default::default()).unwrap();
        let mut group = writer.next_row_group().unwrap();
        while let Some(mut column) = group.next_column().unwrap() {
            column
                .typed::<Int96Type>()
                .write_batch(&values, None, None)
                .unwrap();
            column.close().unwrap();
        }
        group.close().unwrap();
        writer.close().unwrap();

        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("spark.parquet"), &bytes).unwrap();
        let location = Location::open(&url::Url::from_directory_path(dir.path()).unwrap()).unwrap();
        let opened = open(&location, "spark.parquet", bytes.len() as u64)
            .await
            .unwrap();
        let micros = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        assert_eq!(opened.schema().field(0).data_type(), &micros);
        let again = opened.again().unwrap();
        for batches in [
            opened.read(None).await.unwrap(),
            again.read(None).await.unwrap(),
        ] {
            let batch = &batches[0];
            let top = batch.column(0).as_primitive::<TimestampMicrosecondType>();
            let nested = batch
                .column(1)
                .as_any()
                .downcast_ref::<StructArray>()
                .unwrap();
            let inner = nested.column(0).as_primitive::<TimestampMicrosecondType>();
            assert_eq!(top.values().to_vec(), expected);
            assert_eq!(inner.values().to_vec(), expected);
            assert_eq!(inner.data_type(), &micros);
        }
    }

    /// A Parquet file of one Int64 column holding `values`.
    fn int_file(values: &[i64]) -> Vec<u8> {
        let batch = RecordBatch::try_from_iter([(
            "n",
            Arc::new(arrow::array::Int64Array::from(values.to_vec())) as arrow::array::ArrayRef,
        )])
        .unwrap();
        let mut bytes = Vec::new();
        let mut writer =
            parquet::arrow::ArrowWriter::try_new(&mut bytes, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        bytes
    }

    fn ints(batches: &[RecordBatch]) -> Vec<i64> {
        batches
            .iter()
            .flat_map(|b| {
                b.column(0)
                    .as_primitive::<arrow::datatypes::Int64Type>()
                    .values()
                    .to_vec()
            })
            .collect()
    }

    #[tokio::test]
    async fn a_prefetched_file_reads_as_it_does_opened_plainly() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = int_file(&(0..1000).collect::<Vec<_>>());
        std::fs::write(dir.path().join("a.parquet"), &bytes).unwrap();
        let location = Location::open(&url::Url::from_directory_path(dir.path()).unwrap()).unwrap();
        let size = bytes.len() as u64;
        let fetched = prefetch(&location, "a.parquet", size);
        assert_eq!(Prefetch::bytes(size), size, "a small file is fetched whole");
        let prefetched = open_prefetched(&location, "a.parquet", size, fetched)
            .await
            .unwrap();
        let plain = open(&location, "a.parquet", size).await.unwrap();
        let expected: Vec<i64> = (0..1000).collect();
        assert_eq!(ints(&prefetched.read(None).await.unwrap()), expected);
        assert_eq!(ints(&plain.read(None).await.unwrap()), expected);
        // never awaited: dropping it cancels the fetch, and nothing else notices
        drop(prefetch(&location, "a.parquet", size));
    }

    #[tokio::test]
    async fn a_file_changed_or_gone_since_it_was_listed_is_refused_after_a_prefetch() {
        let dir = tempfile::tempdir().unwrap();
        let location = Location::open(&url::Url::from_directory_path(dir.path()).unwrap()).unwrap();
        let listed = int_file(&[1, 2, 3]);
        let size = listed.len() as u64;
        std::fs::write(
            dir.path().join("grew.parquet"),
            int_file(&(0..500).collect::<Vec<_>>()),
        )
        .unwrap();
        let fetched = prefetch(&location, "grew.parquet", size);
        let error = open_prefetched(&location, "grew.parquet", size, fetched)
            .await
            .err()
            .expect("a file of another size than listed");
        assert!(
            error.to_string().contains("changed while this run read it"),
            "{error}"
        );
        let fetched = prefetch(&location, "gone.parquet", size);
        let error = open_prefetched(&location, "gone.parquet", size, fetched)
            .await
            .err()
            .expect("a file deleted after listing");
        assert!(matches!(error, Error::Storage(_)), "{error:?}");
    }
}
