//! The command line: clap definitions (the one source of `--help`, the man pages and
//! the completions), resolution into plain settings, and dispatch.

mod args;
pub mod generate;
mod run;
mod signals;

pub use args::{Cli, GlobalArgs, OutputFormat};

use crate::error::exit;
use crate::output::Printer;
use clap::Parser;

/// Threads for blocking calls (local file reads): twice the cores keeps the disk
/// busy, while tokio's default of 512 lets reads spread over many threads, each
/// of which keeps its own allocator heap of freed buffers (~20 MB more peak RSS on
/// the bench lake, for no speed).
fn blocking_threads() -> usize {
    std::thread::available_parallelism().map_or(4, |n| (2 * n.get()).max(4))
}

/// Parses the command line, runs the command and returns the process exit code.
pub fn main() -> u8 {
    let cli = Cli::parse();
    let printer = Printer::new(&cli.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(blocking_threads())
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return exit::FAILURE;
        }
    };
    match runtime.block_on(run::run(cli, &printer)) {
        Ok(code) => code,
        Err(error) => printer.error(&error),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn clap_definitions_are_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
