//! Running independent pieces of work on every core.
//!
//! `futures::stream::buffered` polls all its futures from one task, so decoding and
//! encoding there use one core whatever `--jobs` says. Here each future is its own
//! task on the runtime's worker threads.

use crate::error::{Error, Result};
use std::future::Future;
use tokio::task::JoinSet;

/// Runs `work` with at most `jobs` futures at once and returns their results in
/// order. `done` sees each result in the caller's task as it finishes (for progress).
/// After the first error nothing new starts, and the futures already running are
/// awaited, not dropped: they may be writing files the caller must then clean up.
pub async fn run_all<T, F>(
    jobs: usize,
    work: impl IntoIterator<Item = F>,
    mut done: impl FnMut(&T),
) -> Result<Vec<T>>
where
    F: Future<Output = Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let mut running = JoinSet::new();
    let mut results: Vec<Option<T>> = Vec::new();
    let mut pending = work.into_iter();
    let mut first_error: Option<Error> = None;
    loop {
        while first_error.is_none() && running.len() < jobs.max(1) {
            let Some(future) = pending.next() else { break };
            let index = results.len();
            results.push(None);
            running.spawn(async move { (index, future.await) });
        }
        match running.join_next().await {
            None => break,
            Some(Ok((index, Ok(value)))) => {
                done(&value);
                results[index] = Some(value);
            }
            Some(Ok((_, Err(error)))) => {
                first_error.get_or_insert(error);
            }
            Some(Err(failed)) => {
                first_error.get_or_insert(Error::Other(format!(
                    "internal error: a task failed: {failed}"
                )));
            }
        }
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(results.into_iter().flatten().collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn results_keep_their_order_and_an_error_lets_running_work_finish() {
        let out = run_all(3, (0..20u64).map(|i| async move { Ok(i * 2) }), |_| {})
            .await
            .unwrap();
        assert_eq!(out, (0..20).map(|i| i * 2).collect::<Vec<_>>());

        let finished = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let work = (0..10).map(|i| {
            let finished = finished.clone();
            async move {
                if i == 0 {
                    return Err(Error::Other("boom".into()));
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                finished.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                Ok(i)
            }
        });
        let err = run_all(4, work, |_| {}).await.unwrap_err();
        assert!(err.to_string().contains("boom"), "{err}");
        // the three started beside the failing one ran to the end; nothing new started
        assert_eq!(finished.load(std::sync::atomic::Ordering::SeqCst), 3);
    }
}
