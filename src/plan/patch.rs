//! Planning when a partition's new rows are patched in instead of rewriting it.
//!
//! An hour of late events adds a few rows to many partitions and supersedes a few of
//! their current rows. Rewriting those partitions whole re-encodes two thirds of the
//! table every hour. A patch writes the winning new rows as a sorted `delta` file and
//! copies the current files without their superseded rows (see `exec::splice`). Every
//! file stays sorted and the partition keeps one row per dedup key, but the partition
//! is no longer one sorted sequence; so deltas are bounded. Past the definition's
//! `max_delta_files` the deltas and the new rows are merged into one delta (they are
//! small); past [`MAX_DELTA_ROWS_PERCENT`] of the rows the partition is rewritten
//! whole again.

use crate::model::snapshot::DataFile;
use serde::Serialize;

/// Name prefix of a partition's sorted files.
pub const PART_PREFIX: &str = "part";
/// Name prefix of the files a patch adds beside them.
pub const DELTA_PREFIX: &str = "delta";

/// Share of a partition's rows its delta files may hold after a patch, in percent.
pub const MAX_DELTA_ROWS_PERCENT: u64 = 25;

/// Whether a data file (by its path) is a delta file.
pub fn is_delta(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.strip_prefix(DELTA_PREFIX)
        .is_some_and(|rest| rest.starts_with('-'))
}

/// How new rows are patched into a partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Patch {
    /// The new rows become one more delta file.
    AddDelta,
    /// The delta files and the new rows are merged into one delta file.
    MergeDeltas,
}

/// Whether and how `new_rows` should be patched into a partition with these current
/// files (written under today's rules) rather than rewriting it whole: only while its
/// delta rows stay within their share, counting the new rows as if none were
/// duplicates, and at most `max_delta_files` delta files remain (0: never patch).
pub fn choose_patch(current: &[DataFile], new_rows: u64, max_delta_files: usize) -> Option<Patch> {
    if current.is_empty() || new_rows == 0 || max_delta_files == 0 {
        return None;
    }
    let deltas = current.iter().filter(|f| is_delta(&f.path));
    let delta_files = deltas.clone().count() + 1;
    let delta_rows = deltas.map(|f| f.rows).sum::<u64>() + new_rows;
    let rows = current.iter().map(|f| f.rows).sum::<u64>() + new_rows;
    if delta_rows * 100 > rows * MAX_DELTA_ROWS_PERCENT {
        None
    } else if delta_files > max_delta_files {
        Some(Patch::MergeDeltas)
    } else {
        Some(Patch::AddDelta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, rows: u64) -> DataFile {
        DataFile {
            path: path.into(),
            bytes: rows * 10,
            rows,
            sort_min: None,
            sort_max: None,
        }
    }

    #[test]
    fn delta_files_are_told_by_name() {
        assert!(is_delta("dt=2024-03-01/run-1/delta-00000.parquet"));
        assert!(is_delta("delta-00012.parquet"));
        assert!(!is_delta("dt=2024-03-01/run-1/part-00000.parquet"));
        assert!(!is_delta("delta=1/run-1/part-00000.parquet"));
        assert!(!is_delta("run-1/deltas.parquet"));
    }

    #[test]
    fn patches_stay_within_four_deltas_and_a_quarter_of_the_rows() {
        let base = file("p/run-1/part-00000.parquet", 1_000);
        let add = Some(Patch::AddDelta);
        assert_eq!(choose_patch(std::slice::from_ref(&base), 10, 4), add);
        // a quarter of the rows after the patch, and no more
        assert_eq!(choose_patch(std::slice::from_ref(&base), 333, 4), add);
        assert_eq!(choose_patch(std::slice::from_ref(&base), 334, 4), None);
        // nothing to patch into, or nothing to patch in
        assert_eq!(choose_patch(&[], 10, 4), None);
        assert_eq!(choose_patch(std::slice::from_ref(&base), 0, 4), None);

        let mut current = vec![base];
        for n in 0..3 {
            current.push(file(&format!("p/run-2/delta-{n:05}.parquet"), 10));
        }
        // the fourth delta is added; a fifth would be one too many: all are merged
        assert_eq!(choose_patch(&current, 10, 4), add);
        current.push(file("p/run-3/delta-00003.parquet", 10));
        assert_eq!(choose_patch(&current, 10, 4), Some(Patch::MergeDeltas));
        // a definition may allow more, or turn patching off
        assert_eq!(choose_patch(&current, 10, 5), add);
        assert_eq!(choose_patch(&current, 10, 1), Some(Patch::MergeDeltas));
        assert_eq!(choose_patch(&current[..1], 10, 0), None);
        // earlier deltas count towards the share
        let current = vec![
            file("p/run-1/part-00000.parquet", 1_000),
            file("p/run-2/delta-00000.parquet", 300),
        ];
        assert_eq!(choose_patch(&current, 25, 4), add);
        assert_eq!(choose_patch(&current, 200, 4), None);
    }
}
