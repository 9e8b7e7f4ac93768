//! Progress bars appear in a real terminal (tmux drives a pseudo-terminal) and never
//! in a pipe.

use crate::support::lakegen::Params;
use crate::support::{Workspace, laketidy};
use std::process::Command;

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux")
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("tmux is needed for this test (scripts/test.sh installs it): {e}")
        });
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn workspace() -> Workspace {
    let (ws, _) = Workspace::with_lake(
        "128MiB",
        Params {
            rows: 6_000,
            rows_per_file: 60,
            ..Params::default()
        },
    );
    ws
}

#[test]
fn a_terminal_sees_progress_bars_and_a_pipe_does_not() {
    let ws = workspace();
    let session = format!("laketidy-{}", uuid::Uuid::new_v4().simple());
    let command = format!(
        "env -u LAKETIDY_MANIFEST {} compact {}; echo __EXIT=$?; sleep 60",
        env!("CARGO_BIN_EXE_laketidy"),
        ws.def()
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "200",
        "-y",
        "50",
        &command,
    ]);
    let mut screen = String::new();
    for _ in 0..300 {
        screen = tmux(&["capture-pane", "-p", "-t", &session]);
        if screen.contains("__EXIT=") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    tmux(&["kill-session", "-t", &session]);
    assert!(screen.contains("__EXIT=0"), "the run finished:\n{screen}");
    for bar in [
        "scanning new source files",
        "reading source files",
        "rewriting partitions",
    ] {
        assert!(
            screen.contains(bar),
            "no {bar:?} bar on the terminal:\n{screen}"
        );
    }
    assert!(screen.contains("[==="), "a drawn bar:\n{screen}");
    assert!(screen.contains("committed events version 1"), "{screen}");

    let piped = laketidy(&["compact", workspace().def()]).ok();
    assert!(
        !piped.stderr.contains("reading source files") && !piped.stderr.contains('\u{1b}'),
        "{}",
        piped.stderr
    );
    assert!(piped.stdout.contains("committed events version 1"));
}
