//! SIGINT and SIGTERM during a compaction: ask the run to stop, so that it removes
//! its spill folder and the files it wrote instead of leaving them behind.
//!
//! Only `compact` listens: every other command writes at most one manifest entry,
//! atomically, and dies as cleanly from a signal's default action.

use crate::error::{Error, Result};
use crate::stop::{Signal, Stop};
use std::future::Future;

/// Runs `work`, which watches `stop`, turning the signals into a request on `stop`.
/// A second Ctrl-C quits at once, for a user who will not wait for the cleanup; a
/// second SIGTERM does not, as schedulers may send it more than once and then expect
/// the process to finish its cleanup before their grace period ends.
pub async fn stoppable<T>(
    stop: &Stop,
    quiet: bool,
    work: impl Future<Output = Result<T>>,
) -> Result<T> {
    let mut signals = Signals::listen()?;
    tokio::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return done,
            signal = signals.next() => {
                if stop.request(signal) {
                    if !quiet {
                        eprintln!(
                            "{signal}: stopping, removing the files this run wrote (Ctrl-C again quits at once and leaves them)"
                        );
                    }
                } else if signal == Signal::Interrupt {
                    std::process::exit(signal.exit_code().into());
                }
            }
        }
    }
}

#[cfg(unix)]
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl Signals {
    fn listen() -> Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        let listen = |kind| signal(kind).map_err(|e| Error::io("cannot listen for signals", e));
        Ok(Signals {
            interrupt: listen(SignalKind::interrupt())?,
            terminate: listen(SignalKind::terminate())?,
        })
    }

    async fn next(&mut self) -> Signal {
        tokio::select! {
            _ = self.interrupt.recv() => Signal::Interrupt,
            _ = self.terminate.recv() => Signal::Terminate,
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn listen() -> Result<Self> {
        Ok(Signals)
    }

    async fn next(&mut self) -> Signal {
        match tokio::signal::ctrl_c().await {
            Ok(()) => Signal::Interrupt,
            Err(_) => std::future::pending().await,
        }
    }
}
