//! Stopping a run early, and cleanly.
//!
//! A scheduler's timeout (SIGTERM) or a Ctrl-C (SIGINT) that killed laketidy outright
//! would leave its spill folder and the data files it wrote but never committed. The
//! command line turns those signals into a request on a [`Stop`] instead: the run's
//! tasks see it at their next batch and fail with [`Error::Interrupted`], and the
//! cleanup that follows any failure removes what the run wrote.

use crate::error::{Error, Result};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use tokio::sync::Notify;

/// The signals that ask a run to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT: Ctrl-C at a terminal.
    Interrupt,
    /// SIGTERM: a scheduler's timeout, `kill`, a container being stopped.
    Terminate,
}

impl Signal {
    /// The exit code of a process that this signal killed (128 + its number), which
    /// is what shells and schedulers expect of a process that stopped because of it.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }

    fn code(self) -> u8 {
        match self {
            Signal::Interrupt => 1,
            Signal::Terminate => 2,
        }
    }

    fn from_code(code: u8) -> Option<Signal> {
        match code {
            1 => Some(Signal::Interrupt),
            2 => Some(Signal::Terminate),
            _ => None,
        }
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        })
    }
}

/// A request to stop, shared by everything a run does. The first signal is the one
/// reported; checking costs one atomic load, so tasks check at every batch.
#[derive(Clone, Debug, Default)]
pub struct Stop(Arc<Shared>);

#[derive(Debug, Default)]
struct Shared {
    /// 0 until a signal asks to stop, then that signal's code.
    signal: AtomicU8,
    /// Wakes the steps that wait for a request rather than check for one.
    requested: Notify,
}

impl Stop {
    /// Asks the run to stop; returns whether this is the first request.
    pub fn request(&self, signal: Signal) -> bool {
        let first = self
            .0
            .signal
            .compare_exchange(0, signal.code(), Ordering::SeqCst, Ordering::SeqCst)
            .is_ok();
        if first {
            self.0.requested.notify_waiters();
        }
        first
    }

    /// The signal that asked the run to stop, if one did.
    pub fn requested(&self) -> Option<Signal> {
        Signal::from_code(self.0.signal.load(Ordering::SeqCst))
    }

    /// Resolves with the signal once a stop is requested. For a step that writes
    /// nothing, such as planning: it can be dropped at once instead of checked at
    /// its end, which on a large S3 table may be minutes of listing and footers.
    pub async fn wait(&self) -> Signal {
        loop {
            let notified = self.0.requested.notified();
            tokio::pin!(notified);
            // registered before looking, so a request between the two still wakes it
            notified.as_mut().enable();
            if let Some(signal) = self.requested() {
                return signal;
            }
            notified.await;
        }
    }

    /// `Err(Error::Interrupted)` once a stop was requested.
    pub fn check(&self) -> Result<()> {
        match self.requested() {
            Some(signal) => Err(Error::Interrupted(signal)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_request_is_the_one_reported_by_every_copy() {
        let stop = Stop::default();
        let seen_by_a_task = stop.clone();
        assert!(seen_by_a_task.check().is_ok());
        assert!(stop.request(Signal::Terminate));
        assert!(
            !stop.request(Signal::Interrupt),
            "a second request is not the first"
        );
        assert_eq!(seen_by_a_task.requested(), Some(Signal::Terminate));
        let error = seen_by_a_task.check().unwrap_err();
        assert!(matches!(error, Error::Interrupted(Signal::Terminate)));
        assert_eq!(error.exit_code(), 143);
    }

    #[tokio::test]
    async fn a_waiting_step_wakes_at_the_request_and_a_later_one_sees_it_at_once() {
        let stop = Stop::default();
        let waiting = tokio::spawn({
            let stop = stop.clone();
            async move { stop.wait().await }
        });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "nothing was requested yet");
        stop.request(Signal::Interrupt);
        let woken = tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("the request wakes the waiting step")
            .unwrap();
        assert_eq!(woken, Signal::Interrupt);
        assert_eq!(
            stop.wait().await,
            Signal::Interrupt,
            "a step that waits after the request"
        );
    }
}
