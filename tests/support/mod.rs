//! Shared helpers: run the real binary, build a workspace with a generated lake.

#![allow(dead_code)]

pub mod check;
pub mod lakegen;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    pub fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "exit code {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// The test venv's Python (pyarrow, DuckDB, Spark, Polars), made by scripts/test.sh.
pub fn venv_python() -> PathBuf {
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test.sh, which creates the venv",
        python.display()
    );
    python
}

/// Runs the laketidy binary with no manifest from the environment.
pub fn laketidy(args: &[&str]) -> Run {
    finish(spawn_laketidy(args))
}

/// The laketidy binary with `args` as [`laketidy`] runs it: output captured, and
/// none of the caller's own settings from the environment.
pub fn laketidy_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_laketidy"));
    command
        .args(args)
        .env_remove("LAKETIDY_MANIFEST")
        .env_remove("LAKETIDY_MEMORY_LIMIT")
        .env_remove("LAKETIDY_SPILL_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Starts laketidy, for tests that act while it runs (a second run, a signal);
/// [`finish`] waits for it.
pub fn spawn_laketidy(args: &[&str]) -> Child {
    laketidy_command(args).spawn().expect("run laketidy")
}

/// Waits until `ready` holds, failing the test if the run ends first.
pub fn wait_until(child: &mut Child, what: &str, ready: impl Fn() -> bool) {
    let started = Instant::now();
    while !ready() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the run ended ({status}) before {what}");
        }
        assert!(started.elapsed() < Duration::from_secs(120), "never {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Sends `signal` (as `kill` takes it: -TERM, -INT) to a started laketidy.
pub fn send(child: &Child, signal: &str) {
    let sent = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(sent.success(), "kill {signal}");
}

/// Waits for a started laketidy; a process that a signal killed has code -1.
pub fn finish(child: Child) -> Run {
    let out = child.wait_with_output().expect("wait for laketidy");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A temp folder with `raw/` (the source), `lake/` (the target) and `events.json`.
pub struct Workspace {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub raw: PathBuf,
    pub lake: PathBuf,
    pub definition: PathBuf,
}

impl Workspace {
    pub fn new(target_file_size: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let (raw, lake) = (root.join("raw"), root.join("lake"));
        std::fs::create_dir_all(&raw).unwrap();
        let definition = root.join("events.json");
        std::fs::write(
            &definition,
            lakegen::definition_json(Path::new("raw"), Path::new("lake"), target_file_size),
        )
        .unwrap();
        Workspace {
            _dir: dir,
            root,
            raw,
            lake,
            definition,
        }
    }

    /// A workspace whose whole generated lake (`params`) arrived in `raw/`.
    pub fn with_lake(target_file_size: &str, params: lakegen::Params) -> (Self, lakegen::Lake) {
        let ws = Workspace::new(target_file_size);
        let lake = lakegen::Lake::generate(params);
        lake.write(&ws.raw, 0..lake.params.hours);
        (ws, lake)
    }

    /// A workspace whose whole generated lake (`params`) arrived and was compacted
    /// once: version 1.
    pub fn compacted(params: lakegen::Params) -> (Self, lakegen::Lake) {
        let (ws, lake) = Workspace::with_lake("128MiB", params);
        laketidy(&["compact", ws.def()]).ok();
        (ws, lake)
    }

    /// A workspace whose lake arrived in two halves (hours 0..3, then the rest), each
    /// compacted: versions 1 and 2.
    pub fn compacted_twice(rows: usize) -> (Self, lakegen::Lake) {
        let ws = Workspace::new("128MiB");
        let lake = lakegen::Lake::generate(lakegen::Params {
            rows,
            ..lakegen::Params::default()
        });
        lake.write(&ws.raw, 0..3);
        laketidy(&["compact", ws.def()]).ok();
        lake.write(&ws.raw, 3..lake.params.hours);
        laketidy(&["compact", ws.def()]).ok();
        (ws, lake)
    }

    /// Sets one key of the table definition.
    pub fn set_in_definition(&self, key: &str, value: serde_json::Value) {
        let text = std::fs::read_to_string(&self.definition).unwrap();
        let mut doc: serde_json::Value = serde_json::from_str(&text).unwrap();
        doc[key] = value;
        std::fs::write(&self.definition, doc.to_string()).unwrap();
    }

    pub fn def(&self) -> &str {
        self.definition.to_str().unwrap()
    }

    /// The live files, as `files` prints them.
    pub fn live_files(&self) -> Vec<String> {
        laketidy(&["files", self.def()])
            .ok()
            .stdout
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The source's Parquet files that laketidy reads: not a writer's leftovers under
    /// `_temporary/` or other `_`/`.` folders (the generated lake has some).
    pub fn source_files(&self) -> Vec<PathBuf> {
        let mut files = parquet_files(&self.raw);
        files.retain(|f| {
            !f.strip_prefix(&self.raw).unwrap().components().any(|c| {
                let c = c.as_os_str().to_string_lossy();
                c.starts_with('_') || c.starts_with('.')
            })
        });
        files
    }

    pub fn versions(&self) -> usize {
        let dir = self.lake.join("_laketidy/tables/events/versions");
        std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
    }
}

/// Files by path, with their size and modification time.
pub type Tree = BTreeMap<PathBuf, (u64, std::time::SystemTime)>;

/// Every file below `dir` with its size and modification time, to show nothing changed.
pub fn tree(dir: &Path) -> Tree {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            // a file a running laketidy renames or removes between the two calls
            let Ok(meta) = entry.metadata() else {
                continue;
            };
            if meta.is_dir() {
                stack.push(entry.path());
            } else {
                out.insert(entry.path(), (meta.len(), meta.modified().unwrap()));
            }
        }
    }
    out
}

/// Parquet files below `dir` outside `_laketidy`.
pub fn parquet_files(dir: &Path) -> Vec<PathBuf> {
    tree(dir)
        .into_keys()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect()
}

/// Overwrites bytes in the middle of `column`'s data in row group 0: the footer and
/// the other columns stay readable, so the damage shows only when that column is read.
pub fn corrupt_column(path: &Path, column: &str) {
    corrupt_column_at(path, column, 0.5);
}

/// Overwrites 16 bytes of `column`'s chunk in row group 0 at `at` (0: its first page
/// header, 0.5: the middle of its data).
pub fn corrupt_column_at(path: &Path, column: &str, at: f64) {
    use parquet::file::reader::FileReader;
    let reader =
        parquet::file::reader::SerializedFileReader::new(std::fs::File::open(path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let group = reader.metadata().row_group(0);
    let chunk = group
        .columns()
        .iter()
        .find(|c| c.column_path().string() == column)
        .unwrap_or_else(|| panic!("no column {column}"));
    let (start, len) = chunk.byte_range();
    let mut bytes = std::fs::read(path).unwrap();
    let from = start as usize + (len as f64 * at) as usize;
    for b in &mut bytes[from..from + 16.min(len as usize / 2)] {
        *b = 0xA5;
    }
    std::fs::write(path, bytes).unwrap();
}
