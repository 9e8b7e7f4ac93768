//! Every command's `--output json` document validates against its schema in
//! `schemas/` (checked by Python's jsonschema from the test venv, an independent
//! validator).

use crate::support::lakegen::{Lake, Params};
use crate::support::{Run, Workspace, laketidy, venv_python};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

pub fn validate(run: &Run, schema: &str) {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new(venv_python())
        .args([
            "-c",
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[1]))\n\
             doc = json.load(sys.stdin)\n\
             jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(doc)",
        ])
        .arg(repo.join("schemas").join(format!("{schema}.schema.json")))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(run.stdout.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{schema}: the document does not match its schema:\n{}\n{}",
        run.stdout,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn every_command_document_matches_its_schema() {
    let ws = Workspace::new("128MiB");
    let lake = Lake::generate(Params {
        rows: 1_500,
        ..Params::default()
    });
    lake.write(&ws.raw, 0..3);
    let d = ws.def();
    let manifest_dir = ws.root.join("m");
    let manifest = format!("file://{}/", manifest_dir.display());
    validate(
        &laketidy(&["init", "--manifest", &manifest, "--output", "json"]).ok(),
        "init",
    );
    validate(&laketidy(&["plan", d, "--output", "json"]).ok(), "plan");
    validate(
        &laketidy(&["compact", d, "--dry-run", "--output", "json"]).ok(),
        "compact",
    );
    validate(
        &laketidy(&["compact", d, "--output", "json"]).ok(),
        "compact",
    );
    validate(
        &laketidy(&["compact", d, "--output", "json"]).ok(),
        "compact",
    );
    lake.write(&ws.raw, 3..lake.params.hours);
    validate(&laketidy(&["plan", d, "--output", "json"]).ok(), "plan");
    validate(
        &laketidy(&[
            "compact",
            d,
            "--output",
            "json",
            "--partition",
            "dt=2024-03-01/*",
        ])
        .ok(),
        "compact",
    );
    validate(&laketidy(&["files", d, "--output", "json"]).ok(), "files");
    for mode in [&[][..], &["--partitions"], &["--since-version", "1"]] {
        let args = [
            &["ddl", d, "--dialect", "hive", "--output", "json"][..],
            mode,
        ]
        .concat();
        validate(&laketidy(&args).ok(), "ddl");
    }
    validate(
        &laketidy(&["rollback", d, "--to-version", "1", "--output", "json"]).ok(),
        "rollback",
    );
    validate(
        &laketidy(&["history", d, "--output", "json"]).ok(),
        "history",
    );
    validate(&laketidy(&["verify", d, "--output", "json"]).ok(), "verify");
    validate(
        &laketidy(&["vacuum", d, "--retain", "0s", "--output", "json"]).ok(),
        "vacuum",
    );
    let live = ws.live_files();
    validate(
        &laketidy(&[
            "inspect",
            &live[0],
            "--sorted-by",
            "user_id,event_time",
            "--output",
            "json",
        ])
        .ok(),
        "inspect",
    );
    validate(
        &laketidy(&["inspect", ws.lake.to_str().unwrap(), "--output", "json"]).ok(),
        "inspect",
    );
    let man = ws.root.join("man");
    validate(
        &laketidy(&[
            "man",
            "--out-dir",
            man.to_str().unwrap(),
            "--output",
            "json",
        ])
        .ok(),
        "man",
    );

    std::fs::remove_file(&live[0]).unwrap();
    let damaged = laketidy(&["verify", d, "--output", "json"]);
    assert_eq!(damaged.code, 4);
    validate(&damaged, "verify");

    // errors are documents too
    let usage = laketidy(&["files", "nope", "--output", "json"]);
    assert_eq!(usage.code, 2);
    validate(&usage, "error");
    std::fs::write(
        ws.raw.join("dt=2024-03-01/hour=00/broken.parquet"),
        b"not parquet",
    )
    .unwrap();
    let bad = laketidy(&["compact", d, "--output", "json"]);
    assert_eq!(bad.code, 3);
    validate(&bad, "error");
    std::fs::write(
        &ws.definition,
        r#"{"name":"events","source":"raw","target":"lake","compression":"zip"}"#,
    )
    .unwrap();
    let invalid = laketidy(&["plan", d, "--output", "json"]);
    assert_eq!(invalid.code, 2);
    validate(&invalid, "error");
}
