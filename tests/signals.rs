//! A compaction stopped by SIGTERM (a scheduler's timeout) or SIGINT (Ctrl-C) removes
//! its spill folder and the files it wrote, commits nothing, and exits 128 + the
//! signal's number; the next run does the whole job.

use crate::json_output::validate;
use crate::support::check::check_lake;
use crate::support::lakegen::{Lake, Params};
use crate::support::{
    Run, Tree, Workspace, finish, laketidy, parquet_files, send, spawn_laketidy, tree, venv_python,
    wait_until,
};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Files below `dir`, recursively.
fn files_below(dir: &Path) -> Vec<String> {
    tree(dir)
        .into_keys()
        .map(|p| p.display().to_string())
        .collect()
}

/// A workspace whose lake is big enough that a run under a 16 MiB limit spills for
/// a while, its source files as they were, and a spill folder of its own.
struct Stoppable {
    ws: Workspace,
    lake: Lake,
    sources: Tree,
    spill: tempfile::TempDir,
}

impl Stoppable {
    fn new() -> Self {
        let (ws, lake) = Workspace::with_lake(
            "1MiB",
            Params {
                rows: 200_000,
                rows_per_file: 2_500,
                ..Params::default()
            },
        );
        let sources = tree(&ws.raw);
        Stoppable {
            ws,
            lake,
            sources,
            spill: tempfile::tempdir().unwrap(),
        }
    }

    /// The compaction's arguments after `compact TABLE`: the small limit, two jobs
    /// and the spill folder.
    fn limits(&self) -> [&str; 6] {
        let spill = self.spill.path().to_str().unwrap();
        [
            "--memory-limit",
            "16MiB",
            "--jobs",
            "2",
            "--spill-dir",
            spill,
        ]
    }

    fn start(&self, extra: &[&str]) -> Child {
        let mut args = vec!["compact", self.ws.def()];
        args.extend_from_slice(extra);
        args.extend(self.limits());
        spawn_laketidy(&args)
    }

    fn has_spilled(&self) -> bool {
        files_below(self.spill.path())
            .iter()
            .any(|f| std::fs::metadata(f).is_ok_and(|m| m.len() > 0))
    }

    /// What a stopped run leaves: no spill file, no commit, nothing but the manifest
    /// under the target, every source file as it was.
    fn assert_nothing_left(&self) {
        let ws = &self.ws;
        assert_eq!(
            files_below(self.spill.path()),
            Vec::<String>::new(),
            "the spill folder is gone"
        );
        assert_eq!(ws.versions(), 0, "nothing committed");
        let manifest = ws.lake.join("_laketidy");
        let left: Vec<_> = files_below(&ws.lake)
            .into_iter()
            .filter(|f| !Path::new(f).starts_with(&manifest))
            .collect();
        assert_eq!(left, Vec::<String>::new(), "no data file is left behind");
        assert_eq!(tree(&ws.raw), self.sources, "no source file touched");
    }

    /// After a run stopped by `signal`: its exit code and message, nothing left behind
    /// ([`Stoppable::assert_nothing_left`]); then a run without a signal compacts the
    /// whole lake.
    fn assert_stopped_cleanly(&self, child: Child, signal: &str, code: i32) -> Run {
        // code -1 if the signal killed the process instead of stopping the run
        let stopped = finish(child);
        assert_eq!(stopped.code, code, "{}", stopped.stderr);
        assert!(
            (stopped.stderr).contains(&format!("stopped by {signal}: nothing was committed")),
            "{}",
            stopped.stderr
        );
        self.assert_nothing_left();

        let (ws, lake) = (&self.ws, &self.lake);
        let again = laketidy(&["compact", ws.def()]);
        assert_eq!(again.code, 0, "{}", again.stderr);
        check_lake(&ws.live_files(), lake, &lake.expected(lake.params.hours));
        stopped
    }
}

#[test]
fn sigterm_while_spilling_removes_the_spill_folder_and_commits_nothing() {
    let run = Stoppable::new();
    let mut child = run.start(&[]);
    wait_until(&mut child, "it spilled", || run.has_spilled());
    // schedulers may send SIGTERM more than once: the second does not cut the cleanup short
    send(&child, "-TERM");
    send(&child, "-TERM");
    // routing spills before any partition is written, and a stopped run writes none
    while child.try_wait().unwrap().is_none() {
        let written = parquet_files(&run.ws.lake);
        assert!(written.is_empty(), "wrote after the signal: {written:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
    let stopped = run.assert_stopped_cleanly(child, "SIGTERM", 143);
    assert!(
        stopped.stderr.contains("SIGTERM: stopping"),
        "the signal is acknowledged at once: {}",
        stopped.stderr
    );
}

#[test]
fn sigint_while_writing_removes_the_files_written_and_commits_nothing() {
    let run = Stoppable::new();
    let mut child = run.start(&["--output", "json", "-q"]);
    wait_until(&mut child, "it wrote a data file", || {
        !parquet_files(&run.ws.lake).is_empty()
    });
    send(&child, "-INT");
    let stopped = run.assert_stopped_cleanly(child, "SIGINT", 130);
    validate(&stopped, "error");
    let error = &stopped.json()["error"];
    assert_eq!(error["kind"], "interrupted", "{error}");
    assert_eq!(error["exit_code"], 130, "{error}");
    assert!(
        !stopped.stderr.contains("stopping"),
        "-q keeps the notice quiet: {}",
        stopped.stderr
    );
}

#[test]
fn the_airflow_dags_task_timeout_lets_laketidy_remove_what_it_wrote() {
    let run = Stoppable::new();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut args = vec!["compact", "{table}"];
    args.extend(run.limits());
    let args = serde_json::json!(args);
    let mut task = Command::new(venv_python())
        .arg(repo.join("tests/scheduler/run_dag_task.py"))
        .arg(repo.join("examples/airflow/laketidy_dag.py"))
        .arg(args.to_string())
        .env("LAKETIDY_BIN", env!("CARGO_BIN_EXE_laketidy"))
        .env("LAKETIDY_TABLE", run.ws.def())
        .env_remove("LAKETIDY_MANIFEST")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the DAG's task");
    wait_until(&mut task, "laketidy spilled", || run.has_spilled());
    send(&task, "-USR1");
    let out = task.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("timed out"), "{stdout}");
    assert!(
        stdout.contains("laketidy stopped with exit code 143"),
        "SIGTERM, not SIGKILL: {stdout}"
    );
    run.assert_nothing_left();
}
