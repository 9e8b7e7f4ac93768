//! Pure types shared by every layer: the table definition users write, the Hive
//! partition paths it produces, the schema rules, and the snapshot the manifest keeps.
//! Nothing here performs I/O.

pub mod definition;
pub mod hive;
pub mod schema;
pub mod shared_names;
pub mod snapshot;
pub mod transform;

pub use definition::{DedupRule, Keep, PartitionField, TableDefinition};
pub use hive::PartitionValues;
pub use snapshot::{DataFile, PartitionState, Snapshot, SourceRecord};
pub use transform::Transform;
