//! A raw clickstream lake as a streaming sink leaves it, written by the project's own
//! code so that the test suite needs nothing outside the repository: small snappy
//! files under arrival-hour folders, ~3% redeliveries, ~5% events 1–30 h late, nested
//! columns (struct, list, map), a column added part-way, and older files that use
//! narrower types (int32 user ids, float prices). The generator keeps its own books, so
//! the expected result never comes from the code under test.

use arrow::array::{
    ArrayRef, Float32Array, Float64Array, Int32Array, Int64Array, ListBuilder, MapBuilder,
    RecordBatch, StringArray, StringBuilder, StructArray, TimestampMicrosecondArray,
};
use arrow::buffer::NullBuffer;
use arrow::datatypes::{DataType, Field};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;

pub const HOUR_US: i64 = 3_600_000_000;
/// 2024-03-01T00:00:00Z
pub const START_US: i64 = 1_709_251_200_000_000;

#[derive(Clone, Debug)]
pub struct Params {
    pub rows: usize,
    pub rows_per_file: usize,
    pub hours: u32,
    pub dup_rate: f64,
    pub late_rate: f64,
    /// Arrival hours from which files carry `app_version` and the wide types.
    pub evolve_hour: u32,
    pub seed: u64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            rows: 6_000,
            rows_per_file: 150,
            hours: 6,
            dup_rate: 0.03,
            late_rate: 0.05,
            evolve_hour: 2,
            seed: 7,
        }
    }
}

/// SplitMix64: small, deterministic, good enough for test data.
pub struct Rng(u64);
impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

/// One distinct event (what a correct compaction keeps one row of).
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub event_id: String,
    pub user_id: i64,
    pub event_time: i64,
    pub price: Option<f64>,
    pub geo: Option<(f64, f64)>,
    pub tags: Vec<String>,
    pub screen: String,
}

/// One delivery of an event.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub event: usize,
    pub received_at: i64,
}

pub struct Lake {
    pub params: Params,
    pub events: Vec<Event>,
    /// Sorted by `received_at`.
    pub deliveries: Vec<Delivery>,
}

/// What a correct compaction of some arrival hours contains.
pub struct Expected {
    /// event_id → (event index, kept received_at, kept delivery carries app_version)
    pub kept: HashMap<String, (usize, i64, bool)>,
    pub per_partition: BTreeMap<String, usize>,
}

pub fn partition_of(event_time: i64) -> String {
    let t = chrono::DateTime::from_timestamp_micros(event_time).expect("in range");
    t.format("dt=%Y-%m-%d/hour=%H").to_string()
}

pub fn app_version(user_id: i64) -> String {
    format!("7.{}.{}", user_id % 9, user_id % 4)
}

impl Lake {
    pub fn generate(params: Params) -> Lake {
        let mut rng = Rng::new(params.seed);
        let n_dup = (params.rows as f64 * params.dup_rate) as usize;
        let n_events = params.rows - n_dup;
        let span = params.hours as i64 * HOUR_US;
        let mut events = Vec::with_capacity(n_events);
        let mut deliveries = Vec::with_capacity(params.rows);
        for i in 0..n_events {
            let received_at = START_US + rng.below(span as u64) as i64;
            let lag = if rng.chance(params.late_rate) {
                HOUR_US + rng.below(29 * HOUR_US as u64) as i64
            } else {
                1_000_000 + rng.below(120_000_000) as i64
            };
            let user_id = (rng.below(400) * rng.below(400) / 37) as i64;
            let tags = (0..rng.below(4))
                .map(|_| format!("t{}", rng.below(12)))
                .collect();
            events.push(Event {
                event_id: format!("{:016x}{:08x}", rng.next(), i),
                user_id,
                event_time: received_at - lag,
                price: (!rng.chance(0.3)).then(|| rng.below(40_000) as f64 * 0.25),
                geo: (!rng.chance(0.2)).then(|| {
                    (
                        (rng.below(1000) as f64) / 8.0 - 60.0,
                        (rng.below(2000) as f64) / 8.0 - 120.0,
                    )
                }),
                tags,
                screen: format!("scr{}", rng.below(25)),
            });
            deliveries.push(Delivery {
                event: i,
                received_at,
            });
        }
        for _ in 0..n_dup {
            let original = deliveries[rng.below(n_events as u64) as usize].clone();
            let received_at =
                original.received_at + 1_000_000 + rng.below(2 * HOUR_US as u64) as i64;
            if received_at < START_US + span {
                deliveries.push(Delivery {
                    event: original.event,
                    received_at,
                });
            }
        }
        deliveries.sort_by_key(|d| d.received_at);
        Lake {
            params,
            events,
            deliveries,
        }
    }

    fn arrival_hour(&self, d: &Delivery) -> u32 {
        ((d.received_at - START_US) / HOUR_US) as u32
    }

    /// Writes the files of the arrival hours in `hours`; returns how many files.
    pub fn write(&self, dir: &Path, hours: std::ops::Range<u32>) -> usize {
        let mut files = 0;
        for hour in hours {
            let batch: Vec<&Delivery> = self
                .deliveries
                .iter()
                .filter(|d| self.arrival_hour(d) == hour)
                .collect();
            let folder = dir.join(partition_of(START_US + hour as i64 * HOUR_US));
            std::fs::create_dir_all(&folder).unwrap();
            for (n, chunk) in batch.chunks(self.params.rows_per_file).enumerate() {
                let evolved = hour >= self.params.evolve_hour;
                let table = self.to_batch(chunk, evolved);
                let name = format!(
                    "events+{}+{:010}.snappy.parquet",
                    n % 3,
                    hour as usize * 100_000 + n
                );
                let file = std::fs::File::create(folder.join(name)).unwrap();
                let props = WriterProperties::builder()
                    .set_compression(Compression::SNAPPY)
                    .build();
                let mut writer = ArrowWriter::try_new(file, table.schema(), Some(props)).unwrap();
                writer.write(&table).unwrap();
                writer.close().unwrap();
                files += 1;
            }
            // what sinks leave beside the data: none of it is data
            std::fs::write(folder.join("_SUCCESS"), b"").unwrap();
            std::fs::write(folder.join(".events+0+0.snappy.parquet.crc"), b"crc").unwrap();
            let temporary = folder.join("_temporary/0/_temporary/attempt_0");
            std::fs::create_dir_all(&temporary).unwrap();
            std::fs::write(
                temporary.join("part-00000.snappy.parquet"),
                b"half-written by a failed task",
            )
            .unwrap();
        }
        files
    }

    fn to_batch(&self, chunk: &[&Delivery], evolved: bool) -> RecordBatch {
        let ev: Vec<&Event> = chunk.iter().map(|d| &self.events[d.event]).collect();
        let ts = |v: Vec<i64>| {
            Arc::new(TimestampMicrosecondArray::from(v).with_timezone("UTC")) as ArrayRef
        };
        let user_id: ArrayRef = if evolved {
            Arc::new(Int64Array::from(
                ev.iter().map(|e| e.user_id).collect::<Vec<_>>(),
            ))
        } else {
            Arc::new(Int32Array::from(
                ev.iter().map(|e| e.user_id as i32).collect::<Vec<_>>(),
            ))
        };
        let price: ArrayRef = if evolved {
            Arc::new(Float64Array::from(
                ev.iter().map(|e| e.price).collect::<Vec<_>>(),
            ))
        } else {
            Arc::new(Float32Array::from(
                ev.iter()
                    .map(|e| e.price.map(|p| p as f32))
                    .collect::<Vec<_>>(),
            ))
        };
        let geo_fields = vec![
            Field::new("lat", DataType::Float64, true),
            Field::new("lon", DataType::Float64, true),
        ];
        let geo = StructArray::try_new(
            geo_fields.into(),
            vec![
                Arc::new(Float64Array::from(
                    ev.iter().map(|e| e.geo.map(|g| g.0)).collect::<Vec<_>>(),
                )),
                Arc::new(Float64Array::from(
                    ev.iter().map(|e| e.geo.map(|g| g.1)).collect::<Vec<_>>(),
                )),
            ],
            Some(NullBuffer::from(
                ev.iter().map(|e| e.geo.is_some()).collect::<Vec<_>>(),
            )),
        )
        .unwrap();
        let mut tags = ListBuilder::new(StringBuilder::new());
        for e in &ev {
            for t in &e.tags {
                tags.values().append_value(t);
            }
            tags.append(true);
        }
        let mut attrs = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
        for e in &ev {
            attrs.keys().append_value("screen");
            attrs.values().append_value(&e.screen);
            attrs.append(true).unwrap();
        }
        let mut columns: Vec<(&str, ArrayRef)> = vec![
            (
                "event_id",
                Arc::new(StringArray::from(
                    ev.iter().map(|e| e.event_id.as_str()).collect::<Vec<_>>(),
                )),
            ),
            ("user_id", user_id),
            ("event_time", ts(ev.iter().map(|e| e.event_time).collect())),
            (
                "received_at",
                ts(chunk.iter().map(|d| d.received_at).collect()),
            ),
            ("price", price),
            ("geo", Arc::new(geo)),
            ("tags", Arc::new(tags.finish())),
            ("attrs", Arc::new(attrs.finish())),
        ];
        if evolved {
            let versions: Vec<String> = ev.iter().map(|e| app_version(e.user_id)).collect();
            columns.push(("app_version", Arc::new(StringArray::from(versions))));
        }
        RecordBatch::try_from_iter(columns).unwrap()
    }

    /// The correct result of compacting every delivery of arrival hours `< up_to_hour`.
    pub fn expected(&self, up_to_hour: u32) -> Expected {
        let mut kept: HashMap<String, (usize, i64, bool)> = HashMap::new();
        for d in self
            .deliveries
            .iter()
            .filter(|d| self.arrival_hour(d) < up_to_hour)
        {
            let evolved = self.arrival_hour(d) >= self.params.evolve_hour;
            let id = self.events[d.event].event_id.clone();
            let entry = kept.entry(id).or_insert((d.event, d.received_at, evolved));
            if d.received_at >= entry.1 {
                *entry = (d.event, d.received_at, evolved);
            }
        }
        let mut per_partition = BTreeMap::new();
        for (event, _, _) in kept.values() {
            *per_partition
                .entry(partition_of(self.events[*event].event_time))
                .or_insert(0) += 1;
        }
        Expected {
            kept,
            per_partition,
        }
    }

    /// Partitions that deliveries of arrival hours in `hours` have rows for.
    pub fn partitions_fed_by(
        &self,
        hours: std::ops::Range<u32>,
    ) -> std::collections::BTreeSet<String> {
        self.deliveries
            .iter()
            .filter(|d| hours.contains(&self.arrival_hour(d)))
            .map(|d| partition_of(self.events[d.event].event_time))
            .collect()
    }
}

/// The reference job's table definition for a lake at `source`, compacted to `target`.
pub fn definition_json(source: &Path, target: &Path, target_file_size: &str) -> String {
    serde_json::json!({
        "name": "events",
        "source": source,
        "target": target,
        "partition_by": [
            {"name": "dt", "from": "event_time", "transform": "day"},
            {"name": "hour", "from": "event_time", "transform": "hour"}
        ],
        "sort_by": ["user_id", "event_time"],
        "dedup": {"key": ["event_id"], "keep": "latest", "order_by": "received_at"},
        "target_file_size": target_file_size,
        "compression": "zstd(3)"
    })
    .to_string()
}
