//! What each command does, in terms of the layers below: open the table, take the
//! source inventory, plan, execute, commit. The CLI formats what these return.

pub mod compact;
pub mod ddl;
pub mod inspect;
pub mod inventory;
pub mod log;
pub mod maintain;
pub mod table;

pub use table::Table;

/// What a progress count counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Files,
    Bytes,
    Partitions,
}

/// Progress callbacks from long operations; only the CLI knows how to draw them.
pub trait Progress: Send + Sync {
    fn start(&self, _phase: &str, _total: u64, _unit: Unit) {}
    fn advance(&self, _n: u64) {}
    fn finish(&self) {}
}

/// Reports nothing (tests, `--no-progress`, not a terminal).
pub struct NoProgress;
impl Progress for NoProgress {}
