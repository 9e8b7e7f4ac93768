//! Man pages and completions, generated from the clap definitions so they never drift;
//! the committed copies under `man/` and `completions/` are checked by the test suite.

use super::Cli;
use clap::CommandFactory;
use clap_complete::Shell;
use std::path::Path;

pub fn completion(shell: Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "laketidy", &mut out);
    out
}

/// Writes `laketidy.1` and `laketidy-<subcommand>.1` into `dir`; returns the file names.
pub fn write_man_pages(dir: &Path) -> std::io::Result<Vec<String>> {
    std::fs::create_dir_all(dir)?;
    let command = Cli::command();
    let mut names = Vec::new();
    let mut page = |cmd: clap::Command, name: String| -> std::io::Result<()> {
        let mut out = Vec::new();
        clap_mangen::Man::new(cmd)
            .title(name.to_uppercase())
            .render(&mut out)?;
        let file = format!("{name}.1");
        std::fs::write(dir.join(&file), out)?;
        names.push(file);
        Ok(())
    };
    page(command.clone(), "laketidy".into())?;
    for sub in command.get_subcommands() {
        let name = format!("laketidy-{}", sub.get_name());
        page(sub.clone().name(name.clone()), name)?;
    }
    Ok(names)
}
