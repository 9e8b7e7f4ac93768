//! The data path: scan source files for routing, read them, route rows to target
//! partitions, deduplicate and sort, write target-sized Parquet files. Each function
//! here does one step; `ops::compact` strings them together and commits.

pub mod buckets;
pub mod external;
pub mod fold;
pub mod kept;
pub mod merge;
pub mod read;
pub mod route;
pub mod spill;
pub mod spilled_keys;
pub mod splice;
pub mod tasks;
pub mod write;

pub use route::Router;
