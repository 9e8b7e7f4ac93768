//! Lakes on S3 with DynamoDB and S3 manifests, against the local moto server that
//! scripts/with-moto.sh starts (the suite says so when it is missing).

use crate::support::check::check_lake;
use crate::support::lakegen::{Lake, Params};
use crate::support::{Run, finish, laketidy, laketidy_command, send, venv_python, wait_until};
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn moto() -> String {
    std::env::var("LAKETIDY_TEST_MOTO")
        .unwrap_or_else(|_| panic!("LAKETIDY_TEST_MOTO is not set: run the suite with scripts/test.sh, which starts a local S3 + DynamoDB server"))
}

fn bucket(name: &str) -> Arc<dyn ObjectStore> {
    let _ = moto();
    Arc::new(
        AmazonS3Builder::from_env()
            .with_bucket_name(name)
            .build()
            .unwrap(),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Uploads every file below `dir` to `bucket/prefix/`.
fn upload(dir: &Path, store: &Arc<dyn ObjectStore>, prefix: &str) {
    runtime().block_on(async {
        for (path, _) in crate::support::tree(dir) {
            let rel = path.strip_prefix(dir).unwrap().to_str().unwrap();
            let key = StorePath::parse(format!("{prefix}/{rel}")).unwrap();
            store
                .put(&key, std::fs::read(&path).unwrap().into())
                .await
                .unwrap();
        }
    });
}

/// Downloads `s3://bucket/key` URLs to `dir/key`, returning the local paths.
fn download(
    urls: &[String],
    store: &Arc<dyn ObjectStore>,
    bucket_name: &str,
    dir: &Path,
) -> Vec<String> {
    runtime().block_on(async {
        let mut out = Vec::new();
        for url in urls {
            let key = url
                .strip_prefix(&format!("s3://{bucket_name}/"))
                .unwrap_or_else(|| panic!("{url} is not in {bucket_name}"));
            let bytes = store
                .get(&StorePath::parse(key).unwrap())
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap();
            let local: PathBuf = dir.join(key);
            std::fs::create_dir_all(local.parent().unwrap()).unwrap();
            std::fs::write(&local, &bytes).unwrap();
            out.push(local.display().to_string());
        }
        out
    })
}

fn keys_under(store: &Arc<dyn ObjectStore>, prefix: &str) -> Vec<String> {
    runtime().block_on(async {
        let listed: Vec<_> = store
            .list(Some(&StorePath::parse(prefix).unwrap()))
            .try_collect()
            .await
            .unwrap();
        let mut keys: Vec<String> = listed.into_iter().map(|m| m.location.to_string()).collect();
        keys.sort();
        keys
    })
}

struct S3Table {
    _dir: tempfile::TempDir,
    local: PathBuf,
    definition: String,
    id: String,
    lake: Lake,
}

fn s3_table(rows: usize) -> S3Table {
    let params = Params {
        rows,
        ..Params::default()
    };
    let hours = params.hours;
    s3_table_with(params, hours)
}

/// A table whose source holds the first `hours` arrival hours of a lake.
fn s3_table_with(params: Params, hours: u32) -> S3Table {
    let dir = tempfile::tempdir().unwrap();
    let id = uuid::Uuid::new_v4().simple().to_string();
    let lake = Lake::generate(params);
    let raw = dir.path().join("raw");
    lake.write(&raw, 0..hours);
    upload(&raw, &bucket("laketidy-raw"), &id);
    let definition = dir.path().join("events.json");
    let json = crate::support::lakegen::definition_json(
        Path::new(&format!("s3://laketidy-raw/{id}/")),
        Path::new(&format!("s3://laketidy-lake/{id}/")),
        "128MiB",
    );
    std::fs::write(&definition, json).unwrap();
    S3Table {
        local: dir.path().to_path_buf(),
        definition: definition.display().to_string(),
        _dir: dir,
        id,
        lake,
    }
}

fn with_manifest(args: &[&str], manifest: &str) -> Run {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--manifest", manifest]);
    laketidy(&all)
}

/// Downloads the live files (`files`) and checks them against the generated lake;
/// returns their URLs.
fn check_live_files(t: &S3Table, manifest: &str) -> Vec<String> {
    let urls: Vec<String> = with_manifest(&["files", &t.definition], manifest)
        .ok()
        .stdout
        .lines()
        .map(str::to_string)
        .collect();
    let local = download(
        &urls,
        &bucket("laketidy-lake"),
        "laketidy-lake",
        &t.local.join("download"),
    );
    check_lake(&local, &t.lake, &t.lake.expected(t.lake.params.hours));
    urls
}

fn compact_and_check(t: &S3Table, manifest: &str) {
    let report = with_manifest(&["compact", &t.definition, "--output", "json"], manifest)
        .ok()
        .json();
    assert_eq!(report["status"], "committed");
    let urls = check_live_files(t, manifest);
    assert!(
        urls.iter()
            .all(|u| u.starts_with(&format!("s3://laketidy-lake/{}/dt=", t.id))),
        "{urls:?}"
    );
    with_manifest(&["verify", &t.definition], manifest).ok();
    let inspected = laketidy(&[
        "inspect",
        &format!("s3://laketidy-lake/{}/", t.id),
        "--sorted-by",
        "user_id,event_time",
        "--output",
        "json",
    ])
    .ok()
    .json();
    assert_eq!(inspected["total_files"], urls.len());
    assert_eq!(
        inspected["total_rows"],
        t.lake.expected(t.lake.params.hours).kept.len()
    );
    assert!(
        inspected["files"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["sorted"]["sorted"] == true)
    );
    let again = with_manifest(&["compact", &t.definition, "--output", "json"], manifest)
        .ok()
        .json();
    assert_eq!(again["status"], "nothing_to_do");
    // the table is registered: it is found by name
    let by_name = with_manifest(&["files", "events"], manifest).ok();
    assert_eq!(by_name.stdout.lines().count(), urls.len());
}

#[test]
fn s3_lake_with_a_dynamodb_manifest() {
    let t = s3_table(3_000);
    let manifest = format!("dynamodb://laketidy-{}", t.id);
    let init = laketidy(&["init", "--manifest", &manifest]).ok();
    assert!(init.stdout.contains("is ready"), "{}", init.stdout);
    laketidy(&["init", "--manifest", &manifest]).ok();
    compact_and_check(&t, &manifest);
}

#[test]
fn s3_lake_with_an_s3_conditional_write_manifest() {
    let t = s3_table(2_000);
    let manifest = format!("s3://laketidy-manifest/{}/", t.id);
    compact_and_check(&t, &manifest);
    // guarantee 8: credentials appear in no output, at any verbosity, nor in the manifest
    let secret = std::env::var("AWS_SECRET_ACCESS_KEY").unwrap();
    for args in [
        vec!["plan", t.definition.as_str(), "-vv"],
        vec!["history", t.definition.as_str(), "-v", "--output", "json"],
        vec!["verify", t.definition.as_str(), "-vv"],
    ] {
        let run = with_manifest(&args, &manifest).ok();
        assert!(
            !run.stdout.contains(&secret) && !run.stderr.contains(&secret),
            "{args:?}"
        );
    }
    let failing = with_manifest(
        &["compact", &t.definition, "-vv"],
        "s3://no-such-bucket-laketidy/x/",
    );
    assert_ne!(failing.code, 0);
    assert!(
        !failing.stderr.contains(&secret) && !failing.stdout.contains(&secret),
        "{}",
        failing.stderr
    );
    let store = bucket("laketidy-manifest");
    let documents = keys_under(&store, &t.id);
    for key in &documents {
        let body = runtime().block_on(async {
            store
                .get(&StorePath::parse(key).unwrap())
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
        });
        assert!(
            !String::from_utf8_lossy(&body).contains(&secret),
            "{key} holds a credential"
        );
    }
    assert_eq!(
        documents,
        vec![format!(
            "{}/tables/events/versions/00000000000000000001.json",
            t.id
        )]
    );
}

#[test]
fn concurrent_runs_on_s3_with_dynamodb_never_both_commit() {
    let t = s3_table(3_000);
    let manifest = format!("dynamodb://laketidy-{}", t.id);
    laketidy(&["init", "--manifest", &manifest]).ok();
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_laketidy"))
            .args([
                "compact",
                &t.definition,
                "--manifest",
                &manifest,
                "--output",
                "json",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let codes: Vec<i32> = [a, b]
        .into_iter()
        .map(|c| c.wait_with_output().unwrap().status.code().unwrap())
        .collect();
    let mut sorted = codes.clone();
    sorted.sort();
    assert!(sorted == [0, 0] || sorted == [0, 75], "{codes:?}");
    let history = with_manifest(&["history", &t.definition, "--output", "json"], &manifest)
        .ok()
        .json();
    assert_eq!(
        history["versions"].as_array().unwrap().len(),
        1,
        "one commit"
    );
    let live: Vec<String> = with_manifest(&["files", &t.definition], &manifest)
        .ok()
        .stdout
        .lines()
        .map(|u| u.replace("s3://laketidy-lake/", ""))
        .collect();
    let mut on_s3 = keys_under(&bucket("laketidy-lake"), &t.id);
    let mut live_sorted = live;
    live_sorted.sort();
    on_s3.sort();
    assert_eq!(on_s3, live_sorted, "the losing run removed its files");
}

#[test]
fn an_unreachable_dynamodb_table_is_a_clear_error() {
    let t = s3_table(200);
    let run = with_manifest(
        &["compact", &t.definition],
        &format!("dynamodb://laketidy-missing-{}", t.id),
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("DynamoDB") && run.stderr.to_lowercase().contains("not found"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("laketidy-test-secret"),
        "no secret in errors"
    );
}

#[test]
fn vacuum_aborts_stale_multipart_uploads_and_deletes_replaced_files() {
    let t = s3_table(1_500);
    let manifest = format!("s3://laketidy-manifest/{}/", t.id);
    with_manifest(&["compact", &t.definition], &manifest).ok();
    let lake = bucket("laketidy-lake");
    runtime().block_on(async {
        let key = StorePath::parse(format!(
            "{}/dt=2024-03-01/hour=01/run-dead/part-00000.parquet",
            t.id
        ))
        .unwrap();
        let mut upload = lake.put_multipart(&key).await.unwrap();
        upload.put_part(vec![7u8; 1024].into()).await.unwrap();
        // the writer dies here: the upload is neither completed nor aborted
    });
    let vacuum = |extra: &[&str]| {
        let mut args = vec![
            "vacuum",
            &t.definition,
            "--retain",
            "0s",
            "--output",
            "json",
        ];
        args.extend_from_slice(extra);
        with_manifest(&args, &manifest).ok().json()
    };
    assert_eq!(vacuum(&["--dry-run"])["stale_uploads_aborted"], 1);
    assert_eq!(vacuum(&[])["stale_uploads_aborted"], 1);
    assert_eq!(
        vacuum(&[])["stale_uploads_aborted"],
        0,
        "the upload is gone"
    );
    with_manifest(&["verify", &t.definition], &manifest).ok();
}

/// The test proxy in front of moto (scripts/flaky_proxy.py): it throttles every
/// `every`th request the way AWS does, and logs every request to `log`.
struct Proxy {
    port: u16,
    child: std::process::Child,
}

impl Proxy {
    fn start(every: u64, log: &Path) -> Proxy {
        Proxy::start_slow(every, log, 0.0)
    }

    /// A proxy that also holds each request `delay` seconds, as a slow link would.
    fn start_slow(every: u64, log: &Path, delay: f64) -> Proxy {
        let port = {
            let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            socket.local_addr().unwrap().port()
        };
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/flaky_proxy.py");
        let child = std::process::Command::new(venv_python())
            .arg(script)
            .arg(port.to_string())
            .arg(moto())
            .arg(every.to_string())
            .arg(log)
            .env("FLAKY_PROXY_DELAY", delay.to_string())
            .spawn()
            .unwrap();
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        Proxy { port, child }
    }

    /// Starts laketidy with S3 and DynamoDB behind the proxy.
    fn spawn(&self, args: &[&str], manifest: &str) -> std::process::Child {
        laketidy_command(args)
            .args(["--manifest", manifest])
            .env(
                "AWS_ENDPOINT_URL",
                format!("http://127.0.0.1:{}", self.port),
            )
            .spawn()
            .unwrap()
    }

    /// Runs laketidy with S3 and DynamoDB behind the proxy.
    fn run(&self, args: &[&str], manifest: &str) -> Run {
        finish(self.spawn(args, manifest))
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SIGTERM while a slow S3 source is planned (its listing and footers, over a link
/// that holds each request 0.3 s) stops the run at once: planning writes nothing, so
/// it is dropped rather than finished, and no request follows the signal.
#[test]
fn sigterm_while_planning_a_slow_s3_source_stops_at_once() {
    let t = s3_table(6_000); // 40 source files, planned 4 at a time on 2 cores
    let manifest = format!("dynamodb://laketidy-{}", t.id);
    laketidy(&["init", "--manifest", &manifest]).ok();
    let log = t.local.join("requests.log");
    let proxy = Proxy::start_slow(u64::from(u32::MAX), &log, 0.3);
    let requests = || std::fs::read_to_string(&log).unwrap_or_default();
    let footer = format!("GET /laketidy-raw/{}/", t.id);
    let mut child = proxy.spawn(&["compact", &t.definition], &manifest);
    wait_until(&mut child, "planning read footers", || {
        requests()
            .lines()
            .filter(|l| l.starts_with(&footer))
            .count()
            >= 4
    });
    send(&child, "-TERM");
    let at_signal = requests().lines().count();
    let stopped = finish(child);
    drop(proxy);
    let seen = requests();
    let after: Vec<&str> = seen.lines().skip(at_signal).collect();
    assert_eq!(stopped.code, 143, "{}", stopped.stderr);
    assert!(
        stopped
            .stderr
            .contains("stopped by SIGTERM: nothing was committed"),
        "{}",
        stopped.stderr
    );
    // a request sent just before the signal may be logged just after it; finishing
    // planning would have read the other ~36 footers
    assert!(after.len() <= 4, "requests after the signal: {after:?}");
    assert!(!seen.contains("PUT "), "nothing uploaded: {seen}");
    assert!(keys_under(&bucket("laketidy-lake"), &t.id).is_empty());
}

/// Every 4th request to S3 and DynamoDB is throttled (503 SlowDown, 400
/// ProvisionedThroughputExceededException) by a proxy in front of moto.
#[test]
fn throttled_requests_are_retried_with_backoff() {
    let t = s3_table(1_500);
    let manifest = format!("dynamodb://laketidy-{}", t.id);
    laketidy(&["init", "--manifest", &manifest]).ok();
    let requests = t.local.join("requests.log");
    let proxy = Proxy::start(4, &requests);
    let run = |args: &[&str]| proxy.run(args, &manifest);
    let compacted = run(&["compact", &t.definition, "--output", "json"]);
    let files = run(&["files", &t.definition]);
    drop(proxy);
    assert_eq!(compacted.ok().json()["status"], "committed");
    let urls: Vec<String> = files.ok().stdout.lines().map(str::to_string).collect();
    let local = download(
        &urls,
        &bucket("laketidy-lake"),
        "laketidy-lake",
        &t.local.join("download"),
    );
    check_lake(&local, &t.lake, &t.lake.expected(t.lake.params.hours)); // guarantee 2: data and manifest objects are written once, never copied
    let log = std::fs::read_to_string(&requests).unwrap();
    let puts = log.lines().filter(|l| l.starts_with("PUT ")).count();
    let copies = log.lines().filter(|l| l.ends_with(" 1")).count();
    assert!(puts > urls.len(), "the log saw the writes ({puts} PUTs)");
    assert_eq!(copies, 0, "S3 COPY requests in a compaction");
}

/// The requests `compact` reports are the requests S3 saw: the proxy in front of
/// moto logs each one, and the two counts must agree. A small source file is fetched
/// whole by one GET each time it is read: when planning, when routing, and when its
/// main partition is rewritten; never a GET per column or a HEAD.
#[test]
fn reported_s3_requests_match_what_the_server_saw() {
    let t = s3_table(3_000);
    let manifest = format!("dynamodb://laketidy-{}", t.id);
    laketidy(&["init", "--manifest", &manifest]).ok();
    let log = t.local.join("requests.log");
    let proxy = Proxy::start(u64::from(u32::MAX), &log);
    let compacted = proxy.run(&["compact", &t.definition, "--output", "json"], &manifest);
    drop(proxy);
    let report = compacted.ok().json();
    let requests = &report["metrics"]["requests"];
    eprintln!("requests: {requests}");
    let seen = std::fs::read_to_string(&log).unwrap();
    // METHOD PATH COPY; objects are /bucket/id/key, listings /bucket?list-type=2&prefix=id…
    let count = |method: &str, bucket: &str, objects: bool| {
        let object = format!("/{bucket}/{}/", t.id);
        let listing = format!("/{bucket}?");
        seen.lines()
            .filter(|l| {
                let mut parts = l.split(' ');
                let (m, path) = (parts.next().unwrap(), parts.next().unwrap());
                m == method
                    && if objects {
                        path.starts_with(&object)
                    } else {
                        path.starts_with(&listing) && path.contains(&t.id)
                    }
            })
            .count() as u64
    };
    let reported = |side: &str, kind: &str| requests[side][kind].as_u64().unwrap();
    for (side, kind, method, bucket, objects) in [
        ("source", "get", "GET", "laketidy-raw", true),
        ("source", "head", "HEAD", "laketidy-raw", true),
        ("source", "list", "GET", "laketidy-raw", false),
        ("target", "put", "PUT", "laketidy-lake", true),
        ("target", "post", "POST", "laketidy-lake", true),
    ] {
        assert_eq!(
            reported(side, kind),
            count(method, bucket, objects),
            "{side} {kind}: {requests}"
        );
    }
    assert_eq!(reported("target", "copy"), 0);
    assert!(reported("target", "put") >= report["metrics"]["files_added"].as_u64().unwrap());
    let files = report["metrics"]["source_files_read"].as_u64().unwrap();
    assert!(files > 10, "{report}");
    let per_file = requests["source_reads_per_file"].as_f64().unwrap();
    assert!(
        (1.0..=3.0).contains(&per_file),
        "{per_file} GET/HEAD requests per source file: {requests}"
    );
}

/// Guarantee 8 across the command surface: every command, at every verbosity, as text
/// and as JSON, succeeding and failing (a bucket and a manifest table that do not
/// exist, a password written into a URL), against S3 with a DynamoDB manifest. A
/// session token, when the environment has one, is held to the same rule.
#[test]
fn credentials_appear_in_no_output_at_any_verbosity() {
    let t = s3_table(300);
    let manifest = format!("dynamodb://laketidy-{}", t.id);
    let missing_manifest = format!("dynamodb://laketidy-missing-{}", t.id);
    let secrets: Vec<String> = ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"]
        .iter()
        .filter_map(|name| std::env::var(name).ok())
        .filter(|value| !value.is_empty())
        .collect();
    assert!(!secrets.is_empty(), "the suite runs with credentials set");
    let broken = t.local.join("broken.json");
    std::fs::write(
        &broken,
        crate::support::lakegen::definition_json(
            Path::new("s3://laketidy-no-such-bucket/raw/"),
            Path::new(&format!("s3://laketidy-lake/{}-broken/", t.id)),
            "128MiB",
        ),
    )
    .unwrap();
    // a credential written into a URL by mistake is refused without being echoed
    let in_url = "url-secret-3b7f";
    let leaky = t.local.join("leaky.json");
    std::fs::write(
        &leaky,
        crate::support::lakegen::definition_json(
            Path::new(&format!(
                "s3://laketidy-test:{in_url}@laketidy-raw/{}/",
                t.id
            )),
            Path::new(&format!("s3://laketidy-lake/{}-leaky/", t.id)),
            "128MiB",
        ),
    )
    .unwrap();
    let leaky_manifest = format!("dynamodb://t?endpoint=http://k:{in_url}@127.0.0.1:1");
    let mut secrets = secrets;
    secrets.push(in_url.to_string());
    let (def, broken) = (t.definition.as_str(), broken.to_str().unwrap());
    let leaky = leaky.to_str().unwrap();
    let lake = format!("s3://laketidy-lake/{}/", t.id);
    // (arguments, manifest, succeeds)
    let calls: Vec<(Vec<&str>, &str, bool)> = vec![
        (vec!["init"], &manifest, true),
        (vec!["plan", def], &manifest, true),
        (vec!["compact", def, "--dry-run"], &manifest, true),
        (vec!["compact", def], &manifest, true),
        (vec!["files", def], &manifest, true),
        (vec!["history", def], &manifest, true),
        (vec!["verify", def], &manifest, true),
        (
            vec!["ddl", def, "--dialect", "athena", "--partitions"],
            &manifest,
            true,
        ),
        (vec!["vacuum", def, "--dry-run"], &manifest, true),
        (vec!["inspect", &lake], &manifest, true),
        (vec!["compact", broken], &manifest, false),
        (vec!["compact", def], &missing_manifest, false),
        (vec!["plan", leaky], &manifest, false),
        (vec!["plan", def], &leaky_manifest, false),
    ];
    for verbosity in [&["-q"][..], &[], &["-v"], &["-vv"]] {
        for output in ["text", "json"] {
            for (args, manifest, succeeds) in &calls {
                let mut all = args.clone();
                all.extend_from_slice(verbosity);
                all.extend(["--output", output]);
                let run = with_manifest(&all, manifest);
                assert_eq!(run.code == 0, *succeeds, "{all:?}: {}", run.stderr);
                for secret in &secrets {
                    assert!(
                        !run.stdout.contains(secret.as_str())
                            && !run.stderr.contains(secret.as_str()),
                        "{all:?} printed a credential"
                    );
                }
            }
        }
    }
}

/// `--quarantine` on S3 with the production manifest: the broken object is recorded
/// in DynamoDB, the rest commits, and the next run (without the flag) skips it.
#[test]
fn a_broken_object_is_quarantined_in_the_dynamodb_manifest() {
    let t = s3_table(1_000);
    let manifest = format!("dynamodb://laketidy-{}", t.id);
    laketidy(&["init", "--manifest", &manifest]).ok();
    let key = format!("{}/dt=2024-03-01/hour=09/events+7+cut.parquet", t.id);
    runtime().block_on(async {
        bucket("laketidy-raw")
            .put(
                &StorePath::parse(&key).unwrap(),
                b"PAR1 cut short".to_vec().into(),
            )
            .await
            .unwrap();
    });
    let refused = with_manifest(&["compact", &t.definition], &manifest);
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("events+7+cut.parquet"),
        "{}",
        refused.stderr
    );

    let doc = with_manifest(
        &["compact", &t.definition, "--quarantine", "--output", "json"],
        &manifest,
    )
    .ok()
    .json();
    assert_eq!(doc["status"], "committed", "{doc}");
    assert_eq!(
        doc["quarantined"][0]["path"],
        "dt=2024-03-01/hour=09/events+7+cut.parquet"
    );
    check_live_files(&t, &manifest);

    for command in ["plan", "verify"] {
        let listed = with_manifest(&[command, &t.definition, "--output", "json"], &manifest)
            .ok()
            .json();
        assert_eq!(listed["quarantined"][0]["new"], false, "{listed}");
    }
    let again = with_manifest(&["compact", &t.definition, "--output", "json"], &manifest)
        .ok()
        .json();
    assert_eq!(again["status"], "nothing_to_do");
}

#[test]
fn a_late_hour_is_patched_in_on_s3_with_ranged_reads_and_no_copy_requests() {
    // 30,000 rows per hour: partitions of two row groups
    let params = Params {
        rows: 120_000,
        rows_per_file: 3_000,
        hours: 4,
        evolve_hour: 0,
        ..Params::default()
    };
    let t = s3_table_with(params, 3);
    let manifest = format!("s3://laketidy-manifest/{}/", t.id);
    with_manifest(&["compact", &t.definition], &manifest).ok();
    let raw = t.local.join("raw-last-hour");
    t.lake.write(&raw, 3..4);
    upload(&raw, &bucket("laketidy-raw"), &t.id);
    let report = with_manifest(&["compact", &t.definition, "--output", "json"], &manifest)
        .ok()
        .json();
    let metrics = &report["metrics"];
    assert!(
        metrics["partitions_patched"].as_u64().unwrap() > 0,
        "{metrics}"
    );
    assert!(
        metrics["row_groups_copied"].as_u64().unwrap() > 0,
        "{metrics}"
    );
    assert_eq!(metrics["requests"]["target"]["copy"], 0, "{metrics}");
    // at most three GETs per current file: footer, key probe, splice
    let current_files = metrics["files_removed"].as_u64().unwrap();
    let gets = metrics["requests"]["target"]["get"].as_u64().unwrap();
    assert!(
        gets <= 3 * current_files,
        "{gets} GETs for {current_files} files"
    );
    let urls = check_live_files(&t, &manifest);
    assert!(urls.iter().any(|u| u.contains("/delta-")), "{urls:?}");
    with_manifest(&["verify", &t.definition], &manifest).ok();
}
