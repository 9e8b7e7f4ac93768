//! The command line: clap definitions (the one source of `--help`, the man pages and
//! the completions), resolution into plain settings, and dispatch.

mod args;
pub mod generate;
mod run;

pub use args::{Cli, GlobalArgs, OutputFormat};

use crate::error::exit;
use crate::output::Printer;
use clap::Parser;

/// Parses the command line, runs the command and returns the process exit code.
pub fn main() -> u8 {
    let cli = Cli::parse();
    let printer = Printer::new(&cli.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
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
