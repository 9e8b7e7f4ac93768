//! Dispatch: one function per command, each turning flags into plain settings, calling
//! the operation, and handing the result to the printer.

use super::args::{Cli, Command, SelectArgs};
use super::{generate, signals};
use crate::ddl::Mode;
use crate::error::{Error, Result, exit};
use crate::manifest;
use crate::ops::compact::{self, CompactOptions};
use crate::ops::ddl::{self, DdlOptions};
use crate::ops::inventory::OnBadInput;
use crate::ops::maintain::{self, VacuumOptions};
use crate::ops::{Table, log};
use crate::output::{Printer, text};
use crate::plan::Selection;
use crate::stop::Stop;

pub async fn run(cli: Cli, printer: &Printer) -> Result<u8> {
    let manifest = cli.global.manifest.as_deref();
    match cli.command {
        Command::Init => {
            let url = manifest.ok_or_else(|| {
                Error::Usage("init needs --manifest URL (or LAKETIDY_MANIFEST), e.g. --manifest file:///var/lake/_laketidy".into())
            })?;
            let store = manifest::open(&manifest::parse_url(url)?).await?;
            store.init().await?;
            printer.document(
                "init",
                &serde_json::json!({"manifest": store.describe(), "status": "ready"}),
                |_| format!("manifest {} is ready\n", store.describe()),
            )?;
            Ok(exit::SUCCESS)
        }
        Command::Plan(args) => {
            let table = Table::open(&args.table.table, manifest).await?;
            let (selection, jobs) = selection(&args.select)?;
            let progress = printer.progress();
            let (plan, _) = compact::plan(
                &table,
                &selection,
                jobs,
                on_bad(&args.select),
                &Default::default(),
                progress.as_ref(),
            )
            .await?;
            printer.document("plan", &plan, |p| text::plan(p, printer.verbose()))?;
            Ok(exit::SUCCESS)
        }
        Command::Compact(args) => {
            let table = Table::open(&args.table.table, manifest).await?;
            let (selection, jobs) = selection(&args.select)?;
            let options = CompactOptions {
                selection,
                dry_run: args.dry_run,
                jobs,
                memory_limit: args.memory_limit,
                sort_buffer: args.sort_buffer,
                spill_dir: args.spill_dir.clone().unwrap_or_else(std::env::temp_dir),
                on_bad: on_bad(&args.select),
                stop: Stop::default(),
            };
            let progress = printer.progress();
            let work = compact::compact(&table, &options, progress.as_ref());
            let report = signals::stoppable(&options.stop, cli.global.quiet, work).await?;
            printer.document("compact", &report, |r| text::compact(r, printer.verbose()))?;
            Ok(exit::SUCCESS)
        }
        Command::Files(args) => {
            let table = Table::open(&args.table.table, manifest).await?;
            let list = log::files(&table, args.version).await?;
            printer.document("files", &list, text::files)?;
            Ok(exit::SUCCESS)
        }
        Command::History(args) => {
            let table = Table::open(&args.table.table, manifest).await?;
            let entries = log::history(&table, args.limit).await?;
            let doc = serde_json::json!({"table": table.definition.name, "versions": entries});
            printer.document("history", &doc, |_| text::history(&entries))?;
            Ok(exit::SUCCESS)
        }
        Command::Rollback(args) => {
            let table = Table::open(&args.table.table, manifest).await?;
            let report = maintain::rollback(&table, args.to_version).await?;
            printer.document("rollback", &report, text::rollback)?;
            Ok(exit::SUCCESS)
        }
        Command::Vacuum(args) => {
            let table = Table::open(&args.table.table, manifest).await?;
            let options = VacuumOptions {
                retain: args.retain,
                dry_run: args.dry_run,
                sources: args.sources,
            };
            let report = maintain::vacuum(&table, &options).await?;
            printer.document("vacuum", &report, |r| text::vacuum(r, printer.verbose()))?;
            Ok(exit::SUCCESS)
        }
        Command::Verify(args) => {
            let table = Table::open(&args.table.table, manifest).await?;
            let report = maintain::verify(&table).await?;
            printer.document("verify", &report, text::verify)?;
            Ok(if report.damaged.is_empty() {
                exit::SUCCESS
            } else {
                exit::DAMAGE
            })
        }
        Command::Ddl(args) => {
            let table = Table::open(&args.table.table, manifest).await?;
            let mode = match (args.partitions, args.since_version) {
                (_, Some(_)) => Mode::Since,
                (true, None) => Mode::Partitions,
                (false, None) => Mode::Create,
            };
            let options = DdlOptions {
                dialect: args.dialect,
                mode,
                since_version: args.since_version,
                version: args.version,
                database: args.database,
                name: args.name,
                stage: args.stage,
            };
            let report = ddl::ddl(&table, &options).await?;
            printer.document("ddl", &report, text::ddl)?;
            Ok(exit::SUCCESS)
        }
        Command::Inspect(args) => {
            let report = crate::ops::inspect::inspect(&args.path, &args.sorted_by).await?;
            printer.document("inspect", &report, |r| text::inspect(r, printer.verbose()))?;
            let unsorted = report
                .files
                .iter()
                .any(|f| f.sorted.as_ref().is_some_and(|s| !s.sorted));
            Ok(if unsorted {
                exit::DAMAGE
            } else {
                exit::SUCCESS
            })
        }
        Command::Completions { shell } => {
            printer.raw(&generate::completion(shell))?;
            Ok(exit::SUCCESS)
        }
        Command::Man { out_dir } => {
            let names = generate::write_man_pages(&out_dir).map_err(|e| {
                Error::io(
                    format!("cannot write man pages to {}", out_dir.display()),
                    e,
                )
            })?;
            printer.document(
                "man",
                &serde_json::json!({"dir": out_dir, "pages": names}),
                |_| format!("wrote {} man pages to {}\n", names.len(), out_dir.display()),
            )?;
            Ok(exit::SUCCESS)
        }
    }
}

fn selection(args: &SelectArgs) -> Result<(Selection, usize)> {
    let jobs = args
        .jobs
        .map(|j| j as usize)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let selection = Selection::new(
        args.partition.as_deref(),
        args.shard,
        args.max_partitions.map(|m| m as usize),
    )?;
    Ok((selection, jobs))
}

fn on_bad(args: &SelectArgs) -> OnBadInput {
    if args.quarantine {
        OnBadInput::Quarantine
    } else {
        OnBadInput::Stop
    }
}
