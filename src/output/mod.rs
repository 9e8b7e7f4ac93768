//! Where output goes: JSON documents or text on stdout, progress and diagnostics on
//! stderr. One `Printer` decides, from the global flags, so commands never check a
//! terminal or a verbosity themselves.

mod progress;
pub mod text;

use crate::cli::{GlobalArgs, OutputFormat};
use crate::error::{Error, Result};
use serde::Serialize;
use std::io::{IsTerminal, Write};

/// Bumped when a JSON document changes incompatibly.
pub const SCHEMA_VERSION: u32 = 1;

pub struct Printer {
    json: bool,
    quiet: bool,
    verbose: u8,
    progress: bool,
}

#[derive(Serialize)]
struct Document<'a, T: Serialize> {
    schema_version: u32,
    command: &'a str,
    #[serde(flatten)]
    body: &'a T,
}

impl Printer {
    pub fn new(global: &GlobalArgs) -> Self {
        let json = global.output == OutputFormat::Json;
        Printer {
            json,
            quiet: global.quiet,
            verbose: global.verbose,
            progress: !global.no_progress && !global.quiet && std::io::stderr().is_terminal(),
        }
    }

    pub fn verbose(&self) -> u8 {
        self.verbose
    }

    /// Prints a command's result: the JSON document, or the text `render` makes of it.
    pub fn document<T: Serialize>(
        &self,
        command: &str,
        body: &T,
        render: impl FnOnce(&T) -> String,
    ) -> Result<()> {
        if self.json {
            let doc = Document {
                schema_version: SCHEMA_VERSION,
                command,
                body,
            };
            let text =
                serde_json::to_string_pretty(&doc).map_err(|e| Error::Other(e.to_string()))?;
            self.raw(format!("{text}\n").as_bytes())
        } else if self.quiet {
            Ok(())
        } else {
            self.raw(render(body).as_bytes())
        }
    }

    /// Writes bytes to stdout; a closed pipe (`| head`) is not an error.
    pub fn raw(&self, bytes: &[u8]) -> Result<()> {
        let mut out = std::io::stdout().lock();
        match out.write_all(bytes).and_then(|_| out.flush()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(Error::io("cannot write to stdout", e))
            }
            _ => Ok(()),
        }
    }

    /// Reports an error (JSON on stdout when asked, always a line on stderr) and returns its exit code.
    pub fn error(&self, error: &Error) -> u8 {
        let code = error.exit_code();
        if self.json {
            let mut detail = serde_json::json!({"kind": error.kind(), "message": error.to_string(), "exit_code": code});
            if let Error::BadInput { file, column, .. } = error {
                detail["file"] = serde_json::json!(file);
                detail["column"] = serde_json::json!(column);
            }
            if let Error::Definition { field, .. } = error {
                detail["field"] = serde_json::json!(field);
            }
            let doc = serde_json::json!({"schema_version": SCHEMA_VERSION, "error": detail});
            let _ = self.raw(format!("{doc:#}\n").as_bytes());
        }
        let mut message = format!("error: {error}\n");
        let mut source = std::error::Error::source(error);
        while let Some(cause) = source {
            message.push_str(&format!("  caused by: {cause}\n"));
            source = cause.source();
        }
        if let Some(hint) = hint(error) {
            message.push_str(&format!("hint: {hint}\n"));
        }
        let _ = std::io::stderr().write_all(message.as_bytes());
        code
    }

    pub fn progress(&self) -> Box<dyn crate::ops::Progress> {
        if self.progress {
            Box::new(progress::Bars::default())
        } else {
            Box::new(crate::ops::NoProgress)
        }
    }
}

fn hint(error: &Error) -> Option<&'static str> {
    Some(match error {
        Error::BadInput { .. } => {
            "nothing was committed and no source file was changed or deleted; fix or move the file named above and run again, or run with --quarantine to set it aside and go on with the rest"
        }
        Error::Conflict(_) => {
            "another run committed first and nothing of this run is visible; run again later (exit code 75)"
        }
        Error::Definition { .. } => "the table definition keys are described in README.md",
        Error::Interrupted(_) => {
            "no source file was changed; the next run does this run's work from the start"
        }
        _ => return None,
    })
}
