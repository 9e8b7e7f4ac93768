"""Writes small source lakes exactly as foreign writers leave them, and checks a compacted result.

usage:
  foreign_lakes.py write WRITER DIR
      Writes the source lake DIR/raw/... and the definition DIR/table.json
      ("source": "raw", "target": "lake"). DIR/raw and DIR/lake are removed first.
      Prints nothing on success.
  foreign_lakes.py check WRITER DIR FILES_LIST
      FILES_LIST holds one absolute path per line (`laketidy files DIR/table.json`).
      Compares the multiset of rows in those files, with the partition values of their
      `key=value` folders, with the rows the source lake holds as pyarrow reads them,
      routed, deduplicated and stripped of partition columns the way DIR/table.json
      says. Also checks that every output file is sorted by `sort_by`.
      Exit 0 and one summary line when equal; else a diff summary on stderr and exit 1.

WRITER: spark | pyarrow | duckdb | polars | kafka_connect | firehose

Values are compared as: timestamps -> integer microseconds since the epoch in UTC
(a timestamp without a zone counts as UTC); string, large_string, string_view and
dictionary-of-strings -> str; partition values -> Hive-unescaped str, with
__HIVE_DEFAULT_PARTITION__ and "" -> null. All data is seeded: the same WRITER writes
the same rows every time (DuckDB's APPEND file names and Spark's part-file names
carry random UUIDs, the rows do not).
"""

import argparse
import collections
import contextlib
import datetime as dt
import json
import os
import shutil
import sys
import tempfile
import urllib.parse
import uuid
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
SEC = 1_000_000  # microseconds
HOUR = 3600 * SEC
HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"

EVENT_TYPES = ["click", "view", "purchase", "café ☕", "日本語テスト", "emoji 🚀"]


# ---------------------------------------------------------------- shared data


def micros(text):
    """'2024-03-01T09:00:00' (UTC) -> microseconds since the epoch."""
    return (dt.datetime.fromisoformat(text).replace(tzinfo=UTC) - EPOCH) // dt.timedelta(microseconds=1)


def utc(us):
    return EPOCH + dt.timedelta(microseconds=int(us))


def events(rng, n, first_id, event_time_us, received_at_us=None, null_time=0.0):
    """The common event columns. event_time_us: int64 array of microseconds."""
    event_time_us = np.asarray(event_time_us, dtype=np.int64)
    if received_at_us is None:
        received_at_us = event_time_us + rng.integers(SEC // 1000, 300 * SEC, n)
    types = np.array(EVENT_TYPES, dtype=object)[rng.integers(0, len(EVENT_TYPES), n)]
    return pa.table(
        {
            "event_id": pa.array([f"e{first_id + i:06d}" for i in range(n)]),
            "user_id": pa.array(rng.integers(1, 60, n), pa.int64(), mask=rng.random(n) < 0.05),
            "event_type": pa.array(types.tolist(), pa.string(), mask=rng.random(n) < 0.05),
            "amount": pa.array(np.round(rng.random(n) * 100, 2), pa.float64(), mask=rng.random(n) < 0.1),
            "event_time": pa.array(event_time_us, pa.timestamp("us", tz="UTC"), mask=rng.random(n) < null_time),
            "received_at": pa.array(np.asarray(received_at_us, dtype=np.int64), pa.timestamp("us", tz="UTC")),
        }
    )


def uniform_times(rng, n, start, hours):
    return micros(start) + rng.integers(0, hours * HOUR, n)


def day_strings(ts_column):
    """timestamp column -> 'YYYY-MM-DD' (UTC) or None."""
    return [None if t is None else t.astimezone(UTC).strftime("%Y-%m-%d") for t in ts_column.to_pylist()]


def set_column(table, name, array):
    return table.set_column(table.schema.get_field_index(name), name, array)


def set_mtime(path, unix_seconds):
    os.utime(path, (unix_seconds, unix_seconds))


def write_definition(out, name, **keys):
    definition = {"name": name, "source": "raw", "target": "lake", **keys}
    (out / "table.json").write_text(json.dumps(definition, indent=2, ensure_ascii=False) + "\n")


@contextlib.contextmanager
def quiet_fds():
    """Sends this process's (and its children's) stdout and stderr to a log file; the
    log is replayed on stderr if the block fails. The JVM behind pyspark inherits it."""
    log = tempfile.TemporaryFile()
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    os.dup2(log.fileno(), 1)
    os.dup2(log.fileno(), 2)
    try:
        yield
    except BaseException:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        log.seek(0)
        sys.stderr.write(log.read().decode(errors="replace")[-20000:])
        raise
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
        log.close()


# ---------------------------------------------------------------- writers


def write_spark(out, rng):
    """pyspark local[1], INT96 timestamps, df.write.partitionBy("dt"): part-…-c000.snappy.parquet
    files, _SUCCESS and .crc files; null event_time -> dt=__HIVE_DEFAULT_PARTITION__; and a
    leftover _temporary/ attempt folder (a full copy and a half-written part file)."""
    from pyspark.sql import SparkSession
    from pyspark.sql import types as T

    n = 1500
    table = events(rng, n, 0, uniform_times(rng, n, "2024-03-01T00:00:00", 48), null_time=0.02)
    rows = [(*r.values(), d) for r, d in zip(table.to_pylist(), day_strings(table["event_time"]))]
    schema = T.StructType(
        [
            T.StructField("event_id", T.StringType()),
            T.StructField("user_id", T.LongType()),
            T.StructField("event_type", T.StringType()),
            T.StructField("amount", T.DoubleType()),
            T.StructField("event_time", T.TimestampType()),
            T.StructField("received_at", T.TimestampType()),
            T.StructField("dt", T.StringType()),
        ]
    )
    raw = out / "raw"
    with quiet_fds():
        spark = (
            SparkSession.builder.master("local[1]")
            .appName("laketidy-foreign-lakes")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.parquet.outputTimestampType", "INT96")
            .getOrCreate()
        )
        try:
            df = spark.createDataFrame(rows, schema)
            # three tasks, each writing one part file per dt it holds
            df.repartition(3).write.partitionBy("dt").parquet(str(raw))
        finally:
            spark.stop()

    # A task attempt that never committed: Spark's FileOutputCommitter leaves these
    # behind when a job dies. One is a full copy (would double rows), one is
    # half-written (would not parse). Readers must skip `_temporary/`.
    parts = sorted(raw.glob("dt=2024-03-0*/part-*.parquet"))
    for attempt, part, cut in [("attempt_202403011200_0003_m_000001_7", parts[0], False),
                               ("attempt_202403011200_0003_m_000002_8", parts[-1], True)]:
        dest = raw / "_temporary" / "0" / "_temporary" / attempt / part.parent.name / part.name
        dest.parent.mkdir(parents=True)
        data = part.read_bytes()
        dest.write_bytes(data[: len(data) // 2] if cut else data)

    write_definition(out, "spark_events", sort_by=["user_id", "event_time"])


def write_pyarrow(out, rng):
    """pyarrow.parquet.write_table into dt=YYYY-MM-DD/ folders: dictionary encoding, a
    dictionary<int32, string> and a large_string column, nanosecond timestamps, v2 data
    pages, one codec per file (LZ4_RAW, BROTLI, GZIP). Later files redeliver rows of the
    earlier file of the same day with earlier, later, equal and null received_at."""
    raw = out / "raw"
    mtime = 1709280000
    next_id = 0
    for day in ["2024-03-01", "2024-03-02", "2024-03-03"]:
        previous = None
        for codec in ["lz4", "brotli", "gzip"]:
            n = 220
            t = events(rng, n, next_id, uniform_times(rng, n, day + "T00:00:00", 24), null_time=0.01)
            next_id += n
            payload = [None if rng.random() < 0.05 else f"{codec} payload for {e} — ünïcødé ✓"
                       for e in t["event_id"].to_pylist()]
            t = t.append_column("payload", pa.array(payload, pa.large_string()))
            if previous is not None:
                t = pa.concat_tables([t, redeliveries_for_keep_first(rng, previous, codec)])
            previous = t
            t = set_column(t, "event_type", pc.dictionary_encode(t["event_type"]).cast(
                pa.dictionary(pa.int32(), pa.string())))
            t = set_column(t, "event_time", t["event_time"].cast(pa.timestamp("ns", tz="UTC")))
            t = set_column(t, "received_at", t["received_at"].cast(pa.timestamp("ns", tz="UTC")))
            path = raw / f"dt={day}" / f"{uuid.UUID(bytes=rng.bytes(16), version=4)}-0.parquet"
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(t, path, compression=codec, use_dictionary=True, data_page_version="2.0",
                           version="2.6", row_group_size=100)
            mtime += 60
            set_mtime(path, mtime)
    write_definition(
        out,
        "pyarrow_events",
        partition_by=[{"name": "dt", "from": "dt"}, {"name": "hour", "from": "event_time", "transform": "hour"}],
        sort_by=["event_type", "event_time"],
        dedup={"key": ["event_id"], "keep": "first", "order_by": "received_at"},
    )


def redeliveries_for_keep_first(rng, previous, codec):
    """Copies of 20 rows of `previous` (same event_id and event_time, so the same target
    partition): 8 with an earlier received_at (the copy wins), 6 later (the original wins),
    4 equal (a tie: the later delivery, the copy, wins), 2 null (nulls lose)."""
    pick = rng.choice(previous.num_rows, 20, replace=False)
    copies = previous.take(pa.array(pick))
    shift = np.array([-SEC] * 8 + [SEC] * 6 + [0] * 6, dtype=np.int64)
    received = np.array(copies["received_at"].cast(pa.int64()).to_pylist(), dtype=np.int64) + shift
    mask = np.array([False] * 18 + [True] * 2)
    copies = set_column(copies, "received_at", pa.array(received, pa.timestamp("us", tz="UTC"), mask=mask))
    return set_column(copies, "payload", pa.array([f"redelivered in {codec} file"] * 20, pa.large_string()))


def write_duckdb(out, rng):
    """DuckDB COPY ... (FORMAT parquet, PARTITION_BY (dt, region)): data_0.parquet for the
    first COPY, <uuid>.parquet for the APPEND ones; partition columns are not in the files;
    values are percent-encoded (space, non-ASCII, '/', '=', '%'); DECIMAL, TIMESTAMPTZ,
    naive TIMESTAMP."""
    import duckdb

    regions = np.array(["eu west", "São Paulo", "a/b", "x=y%z", None], dtype=object)
    con = duckdb.connect()
    con.execute("SET threads TO 1")
    next_id = 0
    for batch in range(3):
        n = 400
        t = events(rng, n, next_id, uniform_times(rng, n, "2024-03-01T00:00:00", 48), null_time=0.0)
        next_id += n
        t = t.append_column("region", pa.array(regions[rng.integers(0, len(regions), n)].tolist(), pa.string()))
        t = t.append_column("dt", pa.array(day_strings(t["event_time"]), pa.string()).cast(pa.date32()))
        t = set_column(t, "received_at", t["received_at"].cast(pa.timestamp("us")))  # naive: DuckDB TIMESTAMP
        con.register("batch", t)
        append = ", APPEND" if batch else ""
        con.execute(
            "COPY (SELECT event_id, user_id, event_type, CAST(amount AS DECIMAL(10, 2)) AS amount, "
            "event_time, received_at, region, dt FROM batch) "
            f"TO '{out / 'raw'}' (FORMAT parquet, PARTITION_BY (dt, region){append})"
        )
        con.unregister("batch")
    con.close()
    write_definition(out, "duckdb_events", sort_by=["event_time", "event_id"], compression="snappy",
                     target_file_size="2KiB")


def write_polars(out, rng):
    """polars LazyFrame.sink_parquet(pl.PartitionBy(key="region", max_rows_per_file=...)):
    region=<percent-encoded>/00000000.parquet, the key also inside the files, an empty
    value in `region=`, null in __HIVE_DEFAULT_PARTITION__; zstd; UInt32, Float32,
    Categorical, millisecond and microsecond timestamps."""
    import polars as pl

    n = 1200
    t = events(rng, n, 0, uniform_times(rng, n, "2024-03-01T00:00:00", 48), null_time=0.01)
    regions = np.array(["eu west", "São Paulo", "Zürich", "", None], dtype=object)
    df = pl.from_arrow(t).with_columns(
        pl.Series("region", regions[rng.integers(0, len(regions), n)].tolist(), dtype=pl.String),
        pl.col("user_id").cast(pl.UInt32),
        pl.col("amount").cast(pl.Float32),
        pl.col("event_type").cast(pl.Categorical),
        pl.col("received_at").dt.replace_time_zone(None).dt.cast_time_unit("ms"),
    )
    df.lazy().sink_parquet(pl.PartitionBy(str(out / "raw"), key="region", max_rows_per_file=100), mkdir=True)
    write_definition(
        out,
        "polars_events",
        partition_by=[{"name": "region", "from": "region"}, {"name": "dt", "from": "event_time", "transform": "day"}],
        sort_by=["user_id", "event_id"],
    )


AVRO_SCHEMA = json.dumps({
    "type": "record", "name": "Event", "namespace": "com.example",
    "fields": [
        {"name": "event_id", "type": ["null", "string"], "default": None},
        {"name": "user_id", "type": ["null", "long"], "default": None},
        {"name": "event_type", "type": ["null", "string"], "default": None},
        {"name": "amount", "type": ["null", "double"], "default": None},
        {"name": "event_time", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}], "default": None},
        {"name": "received_at", "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}], "default": None},
    ],
})


def write_kafka_connect(out, rng):
    """Confluent S3 sink (ParquetFormat, TimeBasedPartitioner on the record timestamp,
    flush.size=100): topics/events/year=YYYY/month=MM/day=dd/hour=HH/
    events+<kafka partition>+<start offset, 10 digits>.snappy.parquet, millisecond
    timestamps as parquet-avro writes them. Late events (up to 30 h, back into
    2024-02-29), producer retries (the same record again at a later offset) and updates
    (same event_id, later received_at, new amount)."""
    n = 1600
    received = np.sort(micros("2024-03-01T08:00:00") + rng.integers(0, 20 * HOUR, n)) // 1000 * 1000
    lag = np.where(rng.random(n) < 0.05, rng.integers(HOUR, 30 * HOUR, n), rng.integers(0, 60 * SEC, n))
    t = events(rng, n, 0, (received - lag) // 1000 * 1000, received)
    kafka_partition = np.array([0 if u is None else u % 2 for u in t["user_id"].to_pylist()])
    records = t.to_pylist()

    files = []  # (last received_at, kafka partition, start offset, folder, rows)
    for kp in (0, 1):
        log = [r for r, p in zip(records, kafka_partition) if p == kp]
        for i in rng.choice(len(log) - 300, 40, replace=False):
            later = int(i) + int(rng.integers(100, 300))
            original = log[int(i)]
            if rng.random() < 0.5:  # producer retry: the very same record
                log.insert(later, dict(original))
            else:  # an update: same event_id, received later, new amount
                log.insert(later, {**original, "received_at": log[later]["received_at"],
                                   "amount": round(float(rng.random() * 1000), 2)})
        start = 0
        while start < len(log):
            folder = log[start]["received_at"].strftime("year=%Y/month=%m/day=%d/hour=%H")
            end = start + 1
            while (end < len(log) and end - start < 100
                   and log[end]["received_at"].strftime("year=%Y/month=%m/day=%d/hour=%H") == folder):
                end += 1
            files.append((log[end - 1]["received_at"], kp, start, folder, log[start:end]))
            start = end

    schema = pa.schema([("event_id", pa.string()), ("user_id", pa.int64()), ("event_type", pa.string()),
                        ("amount", pa.float64()), ("event_time", pa.timestamp("ms", tz="UTC")),
                        ("received_at", pa.timestamp("ms", tz="UTC"))])
    topic = out / "raw" / "topics" / "events"
    for rank, (_, kp, offset, folder, rows) in enumerate(sorted(files, key=lambda f: f[:3])):
        path = topic / folder / f"events+{kp}+{offset:010d}.snappy.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        # parquet-avro stores the Avro schema, not an Arrow one
        with pq.ParquetWriter(path, schema, compression="snappy", version="1.0", store_schema=False) as writer:
            writer.write_table(pa.Table.from_pylist(rows, schema))
            writer.add_key_value_metadata({"parquet.avro.schema": AVRO_SCHEMA})
        set_mtime(path, 1709280000 + 60 * rank)
    write_definition(
        out,
        "kafka_events",
        partition_by=[{"name": "dt", "from": "event_time", "transform": "day"}],
        sort_by=["user_id", "event_time"],
        dedup={"key": ["event_id"], "keep": "latest", "order_by": "received_at"},
    )


def write_firehose(out, rng):
    """Amazon Data Firehose with record format conversion to Parquet: YYYY/MM/dd/HH/
    (arrival time, UTC) and <stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>.parquet (the
    default file extension for Parquet conversion); snappy, INT96 timestamps (Hive
    Parquet SerDe). One object is delivered twice (a retry), and later objects carry
    new versions of earlier events (status changes); dedup keeps the last delivered."""
    objects = []  # (arrival, records)
    arrival = micros("2024-03-01T23:02:00")
    next_id = 0
    for _ in range(14):  # a buffer of ~5 minutes per object, across midnight
        n = int(rng.integers(40, 90))
        received = np.sort(arrival - rng.integers(0, 300 * SEC, n))
        lag = np.where(rng.random(n) < 0.05, rng.integers(HOUR, 10 * HOUR, n), rng.integers(0, 30 * SEC, n))
        t = events(rng, n, next_id, received - lag, received, null_time=0.01)
        next_id += n
        t = t.append_column("status", pa.array(["created"] * n))
        objects.append((arrival, t.to_pylist()))
        arrival += 5 * 60 * SEC + int(rng.integers(0, 30 * SEC))
    # a retried delivery of object 3, a minute after it, under a new name
    objects.append((objects[3][0] + 60 * SEC, [dict(r) for r in objects[3][1]]))
    # later objects carry updates of earlier events
    for k in (8, 11, 13):
        earlier = [r for _, rows in objects[: k - 2] for r in rows]
        for j in rng.choice(len(earlier), 15, replace=False):
            objects[k][1].append({**earlier[int(j)], "status": f"updated in object {k}",
                                  "received_at": utc(objects[k][0])})

    schema = pa.schema([("event_id", pa.string()), ("user_id", pa.int64()), ("event_type", pa.string()),
                        ("amount", pa.float64()), ("event_time", pa.timestamp("us", tz="UTC")),
                        ("received_at", pa.timestamp("us", tz="UTC")), ("status", pa.string())])
    for arrival, rows in objects:
        # the prefix and the name's time are the arrival of the object's oldest record
        when = min(r["received_at"] for r in rows)
        name = f"events-stream-1-{when:%Y-%m-%d-%H-%M-%S}-{uuid.UUID(bytes=rng.bytes(16), version=4)}.parquet"
        path = out / "raw" / f"{when:%Y/%m/%d/%H}" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema), path, compression="snappy",
                       use_deprecated_int96_timestamps=True, store_schema=False)
        set_mtime(path, arrival // SEC)  # delivered at the end of its buffer
    write_definition(
        out,
        "firehose_events",
        partition_by=[{"name": "dt", "from": "event_time", "transform": "day"}],
        sort_by=["event_type", "event_time"],
        dedup={"key": ["event_id"], "keep": "latest"},
    )


WRITERS = {
    "spark": (write_spark, 1),
    "pyarrow": (write_pyarrow, 2),
    "duckdb": (write_duckdb, 3),
    "polars": (write_polars, 4),
    "kafka_connect": (write_kafka_connect, 5),
    "firehose": (write_firehose, 6),
}


def write(writer, out):
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    for old in ("raw", "lake"):
        shutil.rmtree(out / old, ignore_errors=True)
    function, seed = WRITERS[writer]
    function(out, np.random.default_rng(seed))


# ---------------------------------------------------------------- check


def hive_unescape(value):
    value = urllib.parse.unquote(value, errors="strict")
    return None if value in ("", HIVE_NULL) else value


def folder_keys(relative_dir):
    """{key: value} of the key=value folders of a relative path, Hive-unescaped."""
    keys = {}
    for segment in Path(relative_dir).parts:
        if "=" in segment:
            key, value = segment.split("=", 1)
            keys[hive_unescape(key)] = hive_unescape(value)
    return keys


def hashable(value):
    if isinstance(value, list):
        return tuple(hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple((k, hashable(v)) for k, v in value.items())
    return value


def canonical_column(column):
    """A pyarrow column -> Python values, compared as the brief says."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        return canonical_column(column.cast(kind.value_type))
    if pa.types.is_timestamp(kind):  # the stored integer is UTC whether or not a zone is set
        multiply, divide = {"s": (SEC, 1), "ms": (1000, 1), "us": (1, 1), "ns": (1, 1000)}[kind.unit]
        return [None if v is None else v * multiply // divide for v in column.cast(pa.int64()).to_pylist()]
    if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        return column.to_pylist()
    return [hashable(v) for v in column.to_pylist()]


def read_rows(path):
    """{column: value} for every row of one Parquet file."""
    table = pq.ParquetFile(path).read()
    columns = {name: canonical_column(table.column(name)) for name in table.column_names}
    return [dict(zip(columns, values)) for values in zip(*columns.values())] if columns else []


def is_data(relative):
    return not any(part.startswith(("_", ".")) for part in Path(relative).parts)


def transform(value, how):
    if value is None:
        return None
    if isinstance(value, int) and how in ("day", "hour", "month", "year"):  # timestamp micros
        value = utc(value)
    if isinstance(value, (dt.datetime, dt.date)):
        fmt = {"day": "%Y-%m-%d", "hour": "%H", "month": "%Y-%m", "year": "%Y", "identity": None}[how]
        text = value.strftime(fmt) if fmt else value.isoformat()
    elif how == "identity":
        text = str(value)
    else:
        raise SystemExit(f"check: cannot apply {how} to {value!r}")
    return text or None


def expected_rows(definition, source):
    """The rows the definition asks for, computed from the source lake independently."""
    files = [p for p in source.rglob("*") if p.is_file() and is_data(p.relative_to(source))]
    files.sort(key=lambda p: (p.stat().st_mtime_ns, p.relative_to(source).as_posix()))  # delivery order
    delivered = []  # (partition values, row) in delivery order
    data_columns = set()
    per_file = []
    for path in files:
        rows = read_rows(path)
        per_file.append((folder_keys(path.parent.relative_to(source)), rows))
        data_columns |= set(pq.ParquetFile(path).schema_arrow.names)
    spec = definition.get("partition_by")
    if spec is None:  # the source's own key=value folders
        names = list(dict.fromkeys(k for keys, _ in per_file for k in keys))
        spec = [{"name": k, "from": k} for k in names]
    partition_names = [p["name"] for p in spec]
    for keys, rows in per_file:
        for row in rows:
            values = []
            for p in spec:
                source_value = row.get(p["from"]) if p["from"] in data_columns else keys.get(p["from"])
                values.append(transform(source_value, p.get("transform", "identity")))
            data = {c: row.get(c) for c in data_columns if c not in partition_names}
            delivered.append((tuple(values), data))
    columns = sorted((data_columns - set(partition_names)) | set(partition_names))
    dedup = definition.get("dedup")
    if dedup:
        delivered = deduplicate(delivered, partition_names, dedup)
    return [full_row(columns, dict(zip(partition_names, values)), data) for values, data in delivered], columns


def deduplicate(delivered, partition_names, dedup):
    """One row per (target partition, key): README's rule, applied in delivery order."""
    keep, order_by = dedup.get("keep", "latest"), dedup.get("order_by")
    best = {}
    for values, data in delivered:
        row = {**data, **dict(zip(partition_names, values))}
        group = (values, tuple(row.get(k) for k in dedup["key"]))
        if group not in best:
            best[group] = (values, data)
            continue
        current = best[group][1]
        if order_by is None:
            replace = keep == "latest"
        else:  # nulls lose; a tie goes to the later delivery, i.e. this one
            new, old = data.get(order_by), current.get(order_by)
            replace = old is None or (new is not None and (new >= old if keep == "latest" else new <= old))
        if replace:
            best[group] = (values, data)
    return list(best.values())


def full_row(columns, partition, data):
    merged = {**data, **partition}
    return tuple((c, merged.get(c)) for c in columns)


def sort_key(row, sort_by):
    return tuple((row.get(c) is None, row.get(c)) for c in sort_by)  # ascending, nulls last


def actual_rows(target, listed):
    rows, columns = [], set()
    for path in listed:
        path = Path(path)
        try:
            relative = path.parent.relative_to(target)
        except ValueError:
            relative = path.parent
        partition = folder_keys(relative)
        file_rows = read_rows(path)
        columns |= set(pq.ParquetFile(path).schema_arrow.names) | set(partition)
        rows.extend((path, {**r, **partition}) for r in file_rows)
    return rows, columns


def check(writer, out, files_list):
    out = Path(out).resolve()
    definition = json.loads((out / "table.json").read_text())
    source = (out / definition["source"]).resolve()
    target = (out / definition["target"]).resolve()
    listed = [line.strip() for line in Path(files_list).read_text().splitlines() if line.strip()]
    problems = []

    expected, expected_columns = expected_rows(definition, source)
    got, got_columns = actual_rows(target, listed)
    if set(expected_columns) != got_columns:
        problems.append(f"columns differ: expected {sorted(expected_columns)}, got {sorted(got_columns)}")
    columns = sorted(set(expected_columns) | got_columns)
    want = collections.Counter(tuple((c, dict(r).get(c)) for c in columns) for r in expected)
    have = collections.Counter(tuple((c, r.get(c)) for c in columns) for _, r in got)
    missing, extra = want - have, have - want
    if missing or extra:
        problems.append(
            f"rows differ: expected {sum(want.values())} rows, got {sum(have.values())}; "
            f"{sum(missing.values())} expected rows missing, {sum(extra.values())} unexpected rows"
        )
        for label, diff in (("missing", missing), ("unexpected", extra)):
            for row in sorted(diff, key=repr)[:5]:
                problems.append(f"  {label} x{diff[row]}: {dict(row)}")

    sort_by = definition.get("sort_by") or []
    previous_path, previous = None, None
    for path, row in got:
        key = sort_key(row, sort_by)
        if path == previous_path and sort_by and key < previous:
            problems.append(f"{path}: not sorted by {sort_by}: {dict(row)} after a greater key")
            break
        previous_path, previous = path, key

    if problems:
        print(f"check {writer}: {len(listed)} files, FAILED", file=sys.stderr)
        print("\n".join(problems), file=sys.stderr)
        return 1
    print(f"check {writer}: {len(listed)} files, {sum(have.values())} rows, as expected")
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    w = commands.add_parser("write", help="write DIR/raw and DIR/table.json")
    w.add_argument("writer", choices=WRITERS)
    w.add_argument("dir")
    c = commands.add_parser("check", help="compare the files of FILES_LIST with the source lake")
    c.add_argument("writer", choices=WRITERS)
    c.add_argument("dir")
    c.add_argument("files_list")
    args = parser.parse_args()
    if args.command == "write":
        write(args.writer, args.dir)
        return 0
    return check(args.writer, args.dir, args.files_list)


if __name__ == "__main__":
    sys.exit(main())
