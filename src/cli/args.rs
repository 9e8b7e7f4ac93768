//! Flags and subcommands. Only validation of what was typed happens here; anything
//! that needs the environment happens in `run`.

use crate::ddl::Dialect;
use crate::plan::Shard;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "laketidy",
    version,
    about = "Keep a Parquet data lake healthy: compact small files into sorted, partitioned, \
             deduplicated files and commit every rewrite atomically through a manifest.",
    after_help = "Exit codes: 0 success (also \"nothing to do\"), 1 unexpected failure, \
                  2 usage or invalid table definition, 3 bad input data refused, \
                  4 verify found damage, 75 lost a commit race or conflicting run (retry later), \
                  130/143 compact stopped by SIGINT/SIGTERM (nothing committed, its files removed)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Manifest store: dynamodb://TABLE[?region=R&endpoint=URL], s3://bucket/prefix or file:///path
    /// [default for a local target: TARGET/_laketidy/].
    #[arg(long, global = true, env = "LAKETIDY_MANIFEST", value_name = "URL")]
    pub manifest: Option<String>,
    /// Output format: human text, or one JSON document on stdout.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    pub output: OutputFormat,
    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more detail (per partition).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Never draw progress bars (they are drawn on stderr only when it is a terminal).
    #[arg(long, global = true)]
    pub no_progress: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the manifest store if it is missing (idempotent).
    Init,
    /// Show what compact would do: dirty partitions, their inputs, and why each is (not) selected. Writes nothing.
    Plan(PlanArgs),
    /// Bring dirty partitions up to date: merge new rows, dedup, sort, write target-sized files, commit.
    Compact(CompactArgs),
    /// List the live files of a snapshot, one absolute location per line.
    Files(FilesArgs),
    /// Show the commit log, newest first.
    History(HistoryArgs),
    /// Make a new commit whose partitions are those of an earlier version.
    Rollback(RollbackArgs),
    /// Expire old snapshots and delete files no retained snapshot references.
    Vacuum(VacuumArgs),
    /// Check that every referenced file exists with its recorded size and row count (exit 4 if not).
    Verify(VerifyArgs),
    /// Print table DDL for a query engine: CREATE, partition registration, or the changes since a version.
    Ddl(DdlArgs),
    /// Show what is inside Parquet files: schema, row groups, sizes, compression, statistics, sort order.
    Inspect(InspectArgs),
    /// Print a shell completion script.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write the man pages (one per subcommand).
    Man {
        /// Folder to write the pages into.
        #[arg(long, value_name = "DIR", default_value = "man")]
        out_dir: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct TableArg {
    /// A table definition file, or the name of a table registered in the --manifest store.
    #[arg(value_name = "TABLE")]
    pub table: String,
}

#[derive(Debug, Args)]
pub struct SelectArgs {
    /// Only partitions whose path matches this glob, e.g. 'dt=2024-03-*/hour=0?' (`*` stays within a folder).
    #[arg(long, value_name = "FILTER")]
    pub partition: Option<String>,
    /// Take at most N dirty partitions (in path order).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_partitions: Option<u64>,
    /// This worker's deterministic share K of N of the dirty partitions (0-based K).
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Source files read and partitions rewritten at once [default: the number of cores].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=256))]
    pub jobs: Option<u64>,
    /// Set aside source files that cannot be used (damaged, not Parquet, incompatible schema): record them in the manifest and go on with the rest, instead of stopping with exit 3. They stay out until replaced or deleted.
    #[arg(long)]
    pub quarantine: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub table: TableArg,
    #[command(flatten)]
    pub select: SelectArgs,
}

#[derive(Debug, Args)]
pub struct CompactArgs {
    #[command(flatten)]
    pub table: TableArg,
    #[command(flatten)]
    pub select: SelectArgs,
    /// Plan and report, but write and commit nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Memory for rows in flight, e.g. 256MiB or 4GiB; past it rows spill to local disk.
    #[arg(long, value_name = "SIZE", env = "LAKETIDY_MEMORY_LIMIT", default_value = "1GiB", value_parser = memory_size)]
    pub memory_limit: u64,
    /// Memory each job sorts a partition in; a larger partition is sorted in runs on local disk and merged. At most the job's share of --memory-limit. A fixed buffer keeps memory flat however large the table grows.
    #[arg(long, value_name = "SIZE", env = "LAKETIDY_SORT_BUFFER", default_value = "64MiB", value_parser = buffer_size)]
    pub sort_buffer: u64,
    /// Folder for spill files; each run uses a private folder inside it and removes it [default: the system temp folder].
    #[arg(long, value_name = "DIR", env = "LAKETIDY_SPILL_DIR")]
    pub spill_dir: Option<PathBuf>,
}

/// Sizes for --memory-limit: at least 16 MiB, below which nothing useful fits.
fn memory_size(text: &str) -> Result<u64, String> {
    let bytes = crate::model::definition::parse_size(text)?;
    if bytes < 16 << 20 {
        return Err(format!("{text:?} is too small; give at least 16MiB"));
    }
    Ok(bytes)
}

/// Sizes for --sort-buffer: at least 1 MiB, so that runs on disk stay few.
fn buffer_size(text: &str) -> Result<u64, String> {
    let bytes = crate::model::definition::parse_size(text)?;
    if bytes < 1 << 20 {
        return Err(format!("{text:?} is too small; give at least 1MiB"));
    }
    Ok(bytes)
}

#[derive(Debug, Args)]
pub struct FilesArgs {
    #[command(flatten)]
    pub table: TableArg,
    /// A past version instead of the newest.
    #[arg(long, value_name = "N")]
    pub version: Option<u64>,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[command(flatten)]
    pub table: TableArg,
    /// Show at most N versions.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub table: TableArg,
    /// The version whose partitions become current again.
    #[arg(long, value_name = "N")]
    pub to_version: u64,
}

#[derive(Debug, Args)]
pub struct VacuumArgs {
    #[command(flatten)]
    pub table: TableArg,
    /// Keep snapshots and unreferenced files younger than this (e.g. 7d, 36h, 0s); make it longer than any job.
    #[arg(long, value_name = "DURATION", default_value = "7d", value_parser = crate::ops::maintain::parse_duration)]
    pub retain: chrono::Duration,
    /// Report what would be deleted, delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also delete source files whose rows every partition has consumed (never done otherwise).
    #[arg(long)]
    pub sources: bool,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub table: TableArg,
}

#[derive(Debug, Args)]
#[command(
    after_help = "Without --partitions or --since-version: the CREATE statement(s). \
    Apply CREATE and --partitions once; after each compact, apply --since-version N \
    (N: the version the engine was last pointed at) to move readers to the new files."
)]
pub struct DdlArgs {
    #[command(flatten)]
    pub table: TableArg,
    /// The query engine to write SQL for.
    #[arg(long, value_enum, value_name = "DIALECT")]
    pub dialect: Dialect,
    /// Statements registering every partition of the snapshot at its committed location.
    #[arg(long, conflicts_with = "since_version")]
    pub partitions: bool,
    /// Only what changed since version N: added, moved and dropped partitions, new columns.
    #[arg(long, value_name = "N")]
    pub since_version: Option<u64>,
    /// Describe this version instead of the newest.
    #[arg(long, value_name = "N")]
    pub version: Option<u64>,
    /// Database, schema or dataset to qualify the table with (required by trino, presto, redshift, bigquery).
    #[arg(long, value_name = "NAME")]
    pub database: Option<String>,
    /// The table's name in the engine [default: the definition's name].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Snowflake: the external stage whose URL is the table's target (may be qualified: db.schema.stage).
    #[arg(long, value_name = "STAGE")]
    pub stage: Option<String>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A Parquet file, or a folder of them; a local path, file:// or s3:// URL.
    #[arg(value_name = "PATH")]
    pub path: String,
    /// Check that each file's rows are sorted by these columns (comma-separated; ascending, nulls last).
    #[arg(long, value_name = "COLUMNS", value_delimiter = ',')]
    pub sorted_by: Vec<String>,
}
