//! An independent checker of a compacted lake against the generator's books: reads the
//! live files with the parquet crate directly, not through laketidy.

use super::lakegen::{Expected, Lake, app_version, partition_of};
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Float64Type, Int64Type, TimestampMicrosecondType};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;

pub fn read_file(path: &Path) -> RecordBatch {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    let schema = batches
        .first()
        .map(|b| b.schema())
        .expect("a file with rows");
    arrow::compute::concat_batches(&schema, &batches).unwrap()
}

/// The `dt=…/hour=…` partition a live file's path puts it in.
pub fn partition_in_path(path: &Path) -> String {
    let text = path.to_string_lossy();
    let dt = text
        .split('/')
        .find(|s| s.starts_with("dt="))
        .expect("dt= in path");
    let hour = text
        .split('/')
        .find(|s| s.starts_with("hour="))
        .expect("hour= in path");
    format!("{dt}/{hour}")
}

/// Panics with a precise message on the first difference.
pub fn check_lake(files: &[String], lake: &Lake, expected: &Expected) {
    assert!(!files.is_empty(), "no live files");
    let mut seen = HashSet::new();
    let mut per_partition: BTreeMap<String, usize> = BTreeMap::new();
    for location in files {
        let path = Path::new(location);
        assert!(path.is_absolute(), "{location} is not absolute");
        let partition = partition_in_path(path);
        let batch = read_file(path);
        let schema = batch.schema();
        assert!(
            schema.field_with_name("dt").is_err() && schema.field_with_name("hour").is_err(),
            "{location}: partition columns inside the data"
        );
        assert_eq!(
            schema.field_with_name("user_id").unwrap().data_type(),
            &DataType::Int64,
            "{location}: user_id not promoted"
        );
        assert_eq!(
            schema.field_with_name("price").unwrap().data_type(),
            &DataType::Float64,
            "{location}: price not promoted"
        );
        let col = |n: &str| {
            batch
                .column_by_name(n)
                .unwrap_or_else(|| panic!("{location}: no column {n}"))
        };
        let ids = col("event_id").as_string::<i32>();
        let users = col("user_id").as_primitive::<Int64Type>();
        let times = col("event_time").as_primitive::<TimestampMicrosecondType>();
        let received = col("received_at").as_primitive::<TimestampMicrosecondType>();
        let prices = col("price").as_primitive::<Float64Type>();
        let geo = col("geo").as_struct();
        let lat = geo
            .column_by_name("lat")
            .unwrap()
            .as_primitive::<Float64Type>();
        let lon = geo
            .column_by_name("lon")
            .unwrap()
            .as_primitive::<Float64Type>();
        let tags = col("tags").as_list::<i32>();
        let attrs = col("attrs").as_map();
        let versions = col("app_version").as_string::<i32>();
        let mut previous: Option<(i64, i64)> = None;
        for row in 0..batch.num_rows() {
            let id = ids.value(row);
            assert!(
                seen.insert(id.to_string()),
                "{location}: event {id} appears twice"
            );
            let (event, kept_at, evolved) = expected
                .kept
                .get(id)
                .unwrap_or_else(|| panic!("{location}: unexpected event {id}"));
            let e = &lake.events[*event];
            assert_eq!(
                received.value(row),
                *kept_at,
                "{location}: event {id} is not its latest delivery"
            );
            assert_eq!(
                times.value(row),
                e.event_time,
                "{location}: event {id} event_time"
            );
            assert_eq!(
                partition,
                partition_of(e.event_time),
                "{location}: event {id} in the wrong partition"
            );
            assert_eq!(
                users.value(row),
                e.user_id,
                "{location}: event {id} user_id"
            );
            assert_eq!(
                prices.is_valid(row).then(|| prices.value(row)),
                e.price,
                "{location}: event {id} price"
            );
            let g = geo.is_valid(row).then(|| (lat.value(row), lon.value(row)));
            assert_eq!(g, e.geo, "{location}: event {id} geo");
            let t = tags.value(row);
            let t: Vec<&str> = t.as_string::<i32>().iter().map(|v| v.unwrap()).collect();
            assert_eq!(t, e.tags, "{location}: event {id} tags");
            let entries = attrs.value(row);
            assert_eq!(entries.column(0).as_string::<i32>().value(0), "screen");
            assert_eq!(
                entries.column(1).as_string::<i32>().value(0),
                e.screen,
                "{location}: event {id} attrs"
            );
            let want_version = evolved.then(|| app_version(e.user_id));
            assert_eq!(
                versions
                    .is_valid(row)
                    .then(|| versions.value(row).to_string()),
                want_version,
                "{location}: event {id} app_version"
            );
            let key = (users.value(row), times.value(row));
            if let Some(p) = previous {
                assert!(
                    p <= key,
                    "{location}: rows not sorted by user_id, event_time at row {row}"
                );
            }
            previous = Some(key);
        }
        *per_partition.entry(partition).or_insert(0) += batch.num_rows();
    }
    assert_eq!(seen.len(), expected.kept.len(), "distinct events");
    assert_eq!(per_partition, expected.per_partition, "rows per partition");
}
