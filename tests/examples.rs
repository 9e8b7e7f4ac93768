//! The examples under `examples/` work as written: the Airflow DAG compiles and every
//! command it runs is accepted by the binary and succeeds; the cron lines and the CI
//! smoke check run.

use crate::support::venv_python;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A copy of the fixture lake whose target is inside the copy.
fn fixture() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let status = Command::new("cp")
        .arg("-r")
        .arg(repo().join("fixtures/events"))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    let definition = dir.path().join("events/events.json");
    let text = std::fs::read_to_string(&definition)
        .unwrap()
        .replace("../../out/events", "lake");
    std::fs::write(&definition, text).unwrap();
    (dir, definition)
}

#[test]
fn the_airflow_dag_compiles_and_its_commands_succeed() {
    let dag = repo().join("examples/airflow/laketidy_dag.py");
    let compiled = Command::new(venv_python())
        .args(["-m", "py_compile"])
        .arg(&dag)
        .status()
        .unwrap();
    assert!(compiled.success(), "the DAG does not compile");
    let extract = Command::new(venv_python())
        .args([
            "-c",
            "import ast, json, sys\n\
             tree = ast.parse(open(sys.argv[1]).read())\n\
             node = next(n for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == 'TASKS')\n\
             print(json.dumps(ast.literal_eval(node.value)))",
        ])
        .arg(&dag)
        .output()
        .unwrap();
    assert!(
        extract.status.success(),
        "{}",
        String::from_utf8_lossy(&extract.stderr)
    );
    let tasks: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&extract.stdout).unwrap();
    assert!(tasks.len() >= 4);
    let (_dir, definition) = fixture();
    for (name, args) in &tasks {
        let args: Vec<String> = args
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                a.as_str()
                    .unwrap()
                    .replace("{table}", definition.to_str().unwrap())
            })
            .collect();
        let out = Command::new(env!("CARGO_BIN_EXE_laketidy"))
            .args(&args)
            .env_remove("LAKETIDY_MANIFEST")
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "task {name}: {args:?}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("task {name}: not JSON: {e}"));
        assert_eq!(doc["schema_version"], 1, "task {name}");
    }
}

#[test]
fn the_cron_lines_run() {
    let (dir, definition) = fixture();
    let crontab = std::fs::read_to_string(repo().join("examples/cron/laketidy.crontab")).unwrap();
    let bin_dir = dir.path().join("bin");
    std::fs::create_dir_all(&bin_dir).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_laketidy"), bin_dir.join("laketidy")).unwrap();
    let mut lines = 0;
    for line in crontab
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let command: Vec<&str> = line.split_whitespace().skip(5).collect();
        let command = command
            .join(" ")
            .replace("/etc/laketidy/events.json", definition.to_str().unwrap())
            .replace(
                "/tmp/laketidy-events.lock",
                dir.path().join("lock").to_str().unwrap(),
            );
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = Command::new("sh")
            .args(["-c", &command])
            .env("PATH", path)
            .env_remove("LAKETIDY_MANIFEST")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{command}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        lines += 1;
    }
    assert_eq!(lines, 3);
}

#[test]
fn the_ci_smoke_check_passes_on_the_fixture_lake() {
    let (_dir, definition) = fixture();
    let out = Command::new(repo().join("examples/ci/smoke-check.sh"))
        .env("LAKETIDY", env!("CARGO_BIN_EXE_laketidy"))
        .env("TABLE", &definition)
        .env_remove("LAKETIDY_MANIFEST")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("smoke check passed"));
}
