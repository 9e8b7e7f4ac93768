//! The command-line contract: definition errors, usage errors, generated docs.

use crate::support::lakegen::{Lake, Params};
use crate::support::{Workspace, laketidy};
use std::path::Path;

#[test]
fn unknown_definition_key_is_named_with_exit_2() {
    let ws = Workspace::new("128MiB");
    std::fs::write(
        &ws.definition,
        r#"{"name":"events","source":"raw","target":"lake","sortby":["user_id"]}"#,
    )
    .unwrap();
    let run = laketidy(&["plan", ws.def()]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("sortby") && run.stderr.contains("sort_by"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("events.json"),
        "the file is named: {}",
        run.stderr
    );
    let json = laketidy(&["plan", ws.def(), "--output", "json"]);
    assert_eq!(json.code, 2);
    assert_eq!(json.json()["error"]["field"], "sortby");
}

#[test]
fn sort_column_missing_from_the_data_is_named() {
    let ws = Workspace::new("128MiB");
    Lake::generate(Params {
        rows: 300,
        ..Params::default()
    })
    .write(&ws.raw, 0..1);
    let text = std::fs::read_to_string(&ws.definition)
        .unwrap()
        .replace("\"user_id\",", "\"usr_id\",");
    std::fs::write(&ws.definition, text).unwrap();
    let run = laketidy(&["compact", ws.def()]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("sort_by[0]")
            && run.stderr.contains("usr_id")
            && run.stderr.contains("user_id"),
        "{}",
        run.stderr
    );
    assert!(crate::support::parquet_files(&ws.lake).is_empty());
}

#[test]
fn usage_errors_exit_2() {
    let ws = Workspace::new("128MiB");
    assert_eq!(laketidy(&["compact", "no/such/table.json"]).code, 2);
    let unregistered = laketidy(&["files", "events"]);
    assert_eq!(unregistered.code, 2);
    assert!(
        unregistered.stderr.contains("--manifest"),
        "{}",
        unregistered.stderr
    );
    assert_eq!(laketidy(&["compact", ws.def(), "--shard", "3/3"]).code, 2);
    assert_eq!(laketidy(&["compact", ws.def(), "--jobs", "0"]).code, 2);
    assert_eq!(laketidy(&["frobnicate"]).code, 2);
}

#[test]
fn an_s3_target_needs_a_manifest_and_says_which() {
    let ws = Workspace::new("128MiB");
    std::fs::write(
        &ws.definition,
        r#"{"name":"events","source":"s3://raw/events/","target":"s3://lake/events/"}"#,
    )
    .unwrap();
    let run = laketidy(&["plan", ws.def()]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("dynamodb://") && run.stderr.contains("s3://bucket/prefix"),
        "{}",
        run.stderr
    );
}

#[test]
fn committed_completions_and_man_pages_are_current() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    for (shell, file) in [
        ("bash", "laketidy.bash"),
        ("zsh", "_laketidy"),
        ("fish", "laketidy.fish"),
        ("powershell", "_laketidy.ps1"),
        ("elvish", "laketidy.elv"),
    ] {
        let generated = laketidy(&["completions", shell]).ok().stdout;
        let committed =
            std::fs::read_to_string(repo.join("completions").join(file)).unwrap_or_default();
        assert!(
            generated == committed,
            "completions/{file} is stale: run scripts/generate-docs.sh"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    laketidy(&["man", "--out-dir", dir.path().to_str().unwrap()]).ok();
    let mut pages = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let entry = entry.unwrap();
        let committed = std::fs::read(repo.join("man").join(entry.file_name())).unwrap_or_default();
        assert!(
            std::fs::read(entry.path()).unwrap() == committed,
            "man/{:?} is stale: run scripts/generate-docs.sh",
            entry.file_name()
        );
        pages += 1;
    }
    assert_eq!(
        pages,
        std::fs::read_dir(repo.join("man")).unwrap().count(),
        "man/ has pages for commands that no longer exist"
    );
}
