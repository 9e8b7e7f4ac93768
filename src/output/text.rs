//! Human renderings of the command results.

use crate::ops::compact::{CompactReport, Status};
use crate::ops::ddl::DdlReport;
use crate::ops::inspect::InspectReport;
use crate::ops::log::{FileList, HistoryEntry};
use crate::ops::maintain::{RollbackReport, VacuumReport, VerifyReport};
use crate::plan::{Plan, QuarantinedSource};
use std::fmt::Write;

pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn version(v: Option<u64>) -> String {
    v.map_or("no version yet".to_string(), |v| format!("version {v}"))
}

pub fn plan(p: &Plan, verbose: u8) -> String {
    let mut out = String::new();
    let selected = p.selected().count();
    let _ = writeln!(
        out,
        "table {} at {}: {} source files, {} new",
        p.table,
        version(p.base_version),
        p.source_files,
        p.new_source_files
    );
    for w in &p.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    if p.partitions.is_empty() {
        let _ = writeln!(out, "nothing to do: every partition is up to date");
    } else {
        let _ = writeln!(
            out,
            "{} dirty partitions, {} selected",
            p.partitions.len(),
            selected
        );
        let _ = writeln!(
            out,
            "{:<40} {:>4} {:>10} {:>7} {:>12} {:>11}  REASON",
            "PARTITION", "RUN", "NEW ROWS", "INPUTS", "CURRENT ROWS", "FILES"
        );
        for part in &p.partitions {
            let _ = writeln!(
                out,
                "{:<40} {:>4} {:>10} {:>7} {:>12} {:>11}  {}",
                part.partition,
                if part.selected { "yes" } else { "no" },
                part.new_rows,
                part.inputs.len(),
                part.current_rows,
                format!(
                    "{} -> {}",
                    part.current_files.len(),
                    part.estimated_output_files
                ),
                part.reason
            );
            if verbose > 0 {
                for input in &part.inputs {
                    let _ = writeln!(out, "    {} ({} rows)", input.path, input.rows);
                }
            }
        }
    }
    for stale in &p.stale_partitions {
        let _ = writeln!(
            out,
            "needs a rewrite: {}: {}",
            stale.partition, stale.reason
        );
    }
    quarantined(&mut out, &p.quarantined, &p.released);
    out
}

/// Source files set aside by `--quarantine`: what they are and how to clear them.
fn quarantined(out: &mut String, files: &[QuarantinedSource], released: &[String]) {
    if !files.is_empty() {
        let _ = writeln!(
            out,
            "{} source {} quarantined, rows not read (replace or delete a file to clear it):",
            files.len(),
            if files.len() == 1 { "file" } else { "files" }
        );
        for f in files {
            let column = f
                .column
                .as_ref()
                .map(|c| format!(", column {c}"))
                .unwrap_or_default();
            let when = if f.new {
                "now".to_string()
            } else {
                format!("since {}", f.since)
            };
            let _ = writeln!(out, "  {} ({when}{column}): {}", f.path, f.reason);
        }
    }
    for path in released {
        let _ = writeln!(
            out,
            "released from quarantine (replaced or deleted): {path}"
        );
    }
}

pub fn compact(r: &CompactReport, verbose: u8) -> String {
    let mut out = String::new();
    let m = &r.metrics;
    match r.status {
        Status::NothingToDo => {
            let _ = writeln!(
                out,
                "nothing to do: {} is up to date at {}",
                r.table,
                version(r.base_version)
            );
            if r.partitions_skipped > 0 {
                let _ = writeln!(
                    out,
                    "({} dirty partitions were not selected)",
                    r.partitions_skipped
                );
            }
        }
        Status::DryRun => {
            let _ = writeln!(
                out,
                "dry run: would rewrite {} partitions of {} (nothing written)",
                r.partitions.len(),
                r.table
            );
            for p in &r.partitions {
                let _ = writeln!(
                    out,
                    "  {}: {} + {} new rows from {} source files",
                    p.partition, p.rows_before, p.rows_new, p.source_files
                );
            }
        }
        Status::Committed => {
            let _ = writeln!(
                out,
                "committed {} {}: rewrote {} partitions from {} source files ({}), {} rows written, {} duplicates removed, {} files added, {} files replaced, {} written in {:.1} s",
                r.table,
                version(r.version),
                m.partitions_rewritten,
                m.source_files_read,
                bytes(m.source_bytes_read),
                m.rows_written,
                m.duplicates_removed,
                m.files_added,
                m.files_removed,
                bytes(m.bytes_written),
                m.duration_ms as f64 / 1000.0
            );
            if r.partitions_skipped > 0 {
                let _ = writeln!(
                    out,
                    "{} dirty partitions were left for another run",
                    r.partitions_skipped
                );
            }
            if verbose > 0 {
                let q = &m.requests;
                let _ = writeln!(
                    out,
                    "requests: source {} GET + {} HEAD ({:.1} per file read), {} LIST; target {} GET, {} PUT, {} POST, {} LIST, {} DELETE, {} COPY",
                    q.source.get,
                    q.source.head,
                    q.source_reads_per_file,
                    q.source.list,
                    q.target.get,
                    q.target.put,
                    q.target.post,
                    q.target.list,
                    q.target.delete,
                    q.target.copy
                );
                for p in &r.partitions {
                    let _ = writeln!(
                        out,
                        "  {}: {} + {} rows -> {} ({} duplicates), {} -> {} files",
                        p.partition,
                        p.rows_before,
                        p.rows_new,
                        p.rows_after,
                        p.duplicates_removed,
                        p.files_removed,
                        p.files_added
                    );
                }
            }
        }
    }
    quarantined(&mut out, &r.quarantined, &r.released);
    out
}

pub fn files(list: &FileList) -> String {
    let mut out = String::with_capacity(list.files.len() * 96);
    for f in &list.files {
        out.push_str(&f.location);
        out.push('\n');
    }
    out
}

/// Statements ready to pipe into an engine: each ends with `;`, a blank line between.
pub fn ddl(report: &DdlReport) -> String {
    report
        .statements
        .iter()
        .map(|s| format!("{s};\n"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn history(entries: &[HistoryEntry]) -> String {
    let mut out = String::new();
    if entries.is_empty() {
        out.push_str("no versions yet\n");
        return out;
    }
    let _ = writeln!(
        out,
        "{:>7}  {:<24}  {:<10} {:>10} {:>11}  RUN",
        "VERSION", "TIME", "OPERATION", "PARTITIONS", "FILES ADDED"
    );
    for e in entries {
        let _ = writeln!(
            out,
            "{:>7}  {:<24}  {:<10} {:>10} {:>11}  {}",
            e.version, e.timestamp, e.operation, e.partitions_changed, e.files_added, e.run_id
        );
    }
    out
}

pub fn rollback(r: &RollbackReport) -> String {
    match r.version {
        None => format!(
            "nothing to do: {} already has the partitions of version {}\n",
            r.table, r.to_version
        ),
        Some(v) => format!(
            "committed {} version {v}: {} partitions back to version {}; source files consumed after it are pending again\n",
            r.table, r.partitions_changed, r.to_version
        ),
    }
}

pub fn vacuum(r: &VacuumReport, verbose: u8) -> String {
    let mut out = String::new();
    let verb = if r.dry_run { "would delete" } else { "deleted" };
    let _ = writeln!(
        out,
        "{}: {verb} {} files ({}), expired {} versions (oldest kept: {}), kept {} recent unreferenced files, aborted {} stale uploads{}",
        r.table,
        r.files_deleted.len(),
        bytes(r.bytes_deleted),
        r.versions_expired,
        r.oldest_retained_version,
        r.recent_unreferenced_kept,
        r.stale_uploads_aborted,
        if r.source_files_deleted.is_empty() {
            String::new()
        } else {
            format!(", {} source files", r.source_files_deleted.len())
        }
    );
    if verbose > 0 || r.dry_run {
        for f in r.files_deleted.iter().chain(&r.source_files_deleted) {
            let _ = writeln!(out, "  {f}");
        }
    }
    out
}

pub fn verify(r: &VerifyReport) -> String {
    let mut out = String::new();
    if r.damaged.is_empty() {
        let _ = writeln!(
            out,
            "{} version {}: all {} files are intact",
            r.table, r.version, r.files_checked
        );
    } else {
        let _ = writeln!(
            out,
            "{} version {}: {} of {} files are damaged",
            r.table,
            r.version,
            r.damaged.len(),
            r.files_checked
        );
        for d in &r.damaged {
            let _ = writeln!(out, "  DAMAGED {}: {}", d.location, d.problem);
        }
    }
    if !r.orphans.is_empty() {
        let _ = writeln!(
            out,
            "{} orphan files (referenced by no retained snapshot; `vacuum` removes them):",
            r.orphans.len()
        );
        for o in &r.orphans {
            let _ = writeln!(out, "  {o}");
        }
    }
    quarantined(&mut out, &r.quarantined, &[]);
    out
}

pub fn inspect(r: &InspectReport, verbose: u8) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {} files, {} rows, {}",
        r.path,
        r.total_files,
        r.total_rows,
        bytes(r.total_bytes)
    );
    for f in &r.files {
        let _ = writeln!(
            out,
            "\n{}\n  {} rows, {}, {} row groups, compression {}, written by {}",
            f.location,
            f.rows,
            bytes(f.bytes),
            f.row_groups.len(),
            f.compression.join("+"),
            f.created_by.as_deref().unwrap_or("unknown")
        );
        if let Some(s) = &f.sorted {
            let verdict = match s.first_unsorted_row {
                None => "yes".to_string(),
                Some(row) => format!("NO (row {row} sorts after row {})", row + 1),
            };
            let _ = writeln!(out, "  sorted by {}: {verdict}", s.by.join(", "));
        }
        let _ = writeln!(
            out,
            "  {:<28} {:<36} {:>10}  {:<24} {:<24}",
            "COLUMN", "TYPE", "NULLS", "MIN", "MAX"
        );
        for column in &f.schema {
            let stats = f.statistics.iter().find(|s| s.column == column.name);
            let cut = |v: Option<&String>| {
                let v = v.map(String::as_str).unwrap_or("");
                if v.chars().count() > 24 {
                    format!("{}…", v.chars().take(23).collect::<String>())
                } else {
                    v.to_string()
                }
            };
            let _ = writeln!(
                out,
                "  {:<28} {:<36} {:>10}  {:<24} {:<24}",
                column.name,
                format!(
                    "{}{}",
                    column.data_type,
                    if column.nullable { "" } else { " NOT NULL" }
                ),
                stats
                    .and_then(|s| s.null_count)
                    .map_or(String::new(), |n| n.to_string()),
                cut(stats.and_then(|s| s.min.as_ref())),
                cut(stats.and_then(|s| s.max.as_ref())),
            );
        }
        if verbose > 0 {
            for (i, rg) in f.row_groups.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "  row group {i}: {} rows, {} compressed, {} uncompressed",
                    rg.rows,
                    bytes(rg.compressed_bytes),
                    bytes(rg.uncompressed_bytes)
                );
            }
        }
    }
    out
}
