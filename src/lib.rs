//! laketidy keeps a Parquet data lake healthy: it compacts the small files that
//! streaming sinks leave into sorted, partitioned, target-sized files, deduplicates
//! redeliveries, rewrites the partitions that late events land in, and commits every
//! rewrite atomically through a manifest.
//!
//! The crate is layered so that each layer only looks downwards:
//!
//! * [`model`] — pure types: table definition, partition spec and Hive paths, snapshot.
//! * [`plan`] — pure: source inventory + definition + snapshot → plan. No I/O.
//! * [`storage`] — object_store wiring: URL → store, listing → inventory scan.
//! * [`exec`] — reads, routes, deduplicates, sorts and writes Parquet.
//! * [`ddl`] — pure: a snapshot seen as an engine's table → SQL for each dialect.
//! * [`manifest`] — the `ManifestStore` seam, its backends and the commit loop.
//! * [`ops`] — one function per command, gluing the layers above together.
//! * [`output`] and [`cli`] — the edges: flags, printing, exit codes, signals.
//! * [`stop`] — a signal's request that a run stop, seen by all of its tasks.

pub mod cli;
pub mod ddl;
pub mod error;
pub mod exec;
pub mod manifest;
pub mod model;
pub mod ops;
pub mod output;
pub mod plan;
pub mod stop;
pub mod storage;

pub use error::{Error, Result};
