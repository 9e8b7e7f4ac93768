//! One error type for the library layers; the CLI maps each kind to an exit code
//! (see [`Error::exit_code`]) so that schedulers can tell "retry later" from "fix the input".

use std::fmt;

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Exit codes are a contract with Airflow/cron users (PRODUCT.md): keep them stable.
pub mod exit {
    pub const SUCCESS: u8 = 0;
    pub const FAILURE: u8 = 1;
    pub const USAGE: u8 = 2;
    pub const BAD_INPUT: u8 = 3;
    pub const DAMAGE: u8 = 4;
    pub const CONFLICT: u8 = 75;
    // a run stopped by SIGINT or SIGTERM exits 128 + the signal's number: 130, 143
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The table definition is invalid; `field` is a JSON path such as `dedup.keep`.
    #[error("invalid table definition{}: {field}: {message}", in_file(.file))]
    Definition {
        file: Option<String>,
        field: String,
        message: String,
    },
    /// Wrong arguments or a request that cannot be served as asked.
    #[error("{0}")]
    Usage(String),
    /// A source file that cannot be used: unreadable, not Parquet, or an incompatible schema.
    #[error("bad input file {file}{}: {reason}", column_part(.column))]
    BadInput {
        file: String,
        column: Option<String>,
        reason: String,
    },
    /// Another run changed what this run rewrote; nothing of ours is visible.
    #[error("conflict, retry later: {0}")]
    Conflict(String),
    /// A commit may or may not have landed; its files must be kept.
    #[error("{0}")]
    CommitUnknown(String),
    /// The manifest is missing, unreadable or inconsistent.
    #[error("manifest: {0}")]
    Manifest(String),
    #[error("storage: {0}")]
    Storage(#[from] object_store::Error),
    #[error("parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    #[error("arrow: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// A signal stopped the run before it committed; what it wrote was removed.
    #[error("stopped by {0}: nothing was committed, and the files this run wrote were removed")]
    Interrupted(crate::stop::Signal),
    #[error("{0}")]
    Other(String),
}

fn in_file(file: &Option<String>) -> String {
    file.as_ref().map(|f| format!(" ({f})")).unwrap_or_default()
}

fn column_part(column: &Option<String>) -> String {
    column
        .as_ref()
        .map(|c| format!(", column {c}"))
        .unwrap_or_default()
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Definition { .. } | Error::Usage(_) => exit::USAGE,
            Error::BadInput { .. } => exit::BAD_INPUT,
            Error::Conflict(_) => exit::CONFLICT,
            Error::Interrupted(signal) => signal.exit_code(),
            _ => exit::FAILURE,
        }
    }

    /// A short machine-readable kind for JSON error documents.
    pub fn kind(&self) -> &'static str {
        match self {
            Error::Definition { .. } => "invalid_definition",
            Error::Usage(_) => "usage",
            Error::BadInput { .. } => "bad_input",
            Error::Conflict(_) => "conflict",
            Error::Manifest(_) => "manifest",
            Error::CommitUnknown(_) => "commit_unknown",
            Error::Storage(_) => "storage",
            Error::Parquet(_) | Error::Arrow(_) => "data",
            Error::Io { .. } => "io",
            Error::Interrupted(_) => "interrupted",
            Error::Other(_) => "other",
        }
    }

    pub fn definition(field: impl fmt::Display, message: impl fmt::Display) -> Self {
        Error::Definition {
            file: None,
            field: field.to_string(),
            message: message.to_string(),
        }
    }

    pub fn bad_input(file: impl fmt::Display, reason: impl fmt::Display) -> Self {
        Error::BadInput {
            file: file.to_string(),
            column: None,
            reason: reason.to_string(),
        }
    }

    pub fn io(context: impl fmt::Display, source: std::io::Error) -> Self {
        Error::Io {
            context: context.to_string(),
            source,
        }
    }
}
