//! A fault-injecting wrapper that implements the same trait (after object_store's
//! `throttle.rs`): it makes puts time out after landing, fail before landing, or
//! reads fail, so the commit loop's handling of unknown outcomes is tested for real.

use super::{ManifestStore, PutOutcome};
use crate::error::{Error, Result};
use async_trait::async_trait;
use std::sync::Mutex;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// The put lands, then the caller sees an error (a timeout after the write).
    LandThenFail,
    /// The put is refused before anything lands (throttling, a dropped connection).
    FailBeforeLanding,
    /// The put lands, then the caller sees an error, and reads fail too.
    LandThenBlind,
}

#[derive(Debug)]
pub struct Faulty<S> {
    pub inner: S,
    /// Faults for the next puts of versions, in order; then puts pass through.
    pub faults: Mutex<Vec<Fault>>,
    blind: Mutex<bool>,
}

impl<S> Faulty<S> {
    pub fn new(inner: S, faults: Vec<Fault>) -> Self {
        Faulty {
            inner,
            faults: Mutex::new(faults),
            blind: Mutex::new(false),
        }
    }

    fn next_fault(&self) -> Option<Fault> {
        let mut faults = self.faults.lock().ok()?;
        (!faults.is_empty()).then(|| faults.remove(0))
    }

    fn check_sight(&self) -> Result<()> {
        if self.blind.lock().map(|b| *b).unwrap_or(true) {
            return Err(Error::Manifest("injected: read timed out".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl<S: ManifestStore> ManifestStore for Faulty<S> {
    fn describe(&self) -> String {
        format!("faulty({})", self.inner.describe())
    }
    async fn init(&self) -> Result<()> {
        self.inner.init().await
    }
    async fn latest_version(&self, table: &str) -> Result<Option<u64>> {
        self.check_sight()?;
        self.inner.latest_version(table).await
    }
    async fn get_version(&self, table: &str, version: u64) -> Result<Option<Vec<u8>>> {
        self.check_sight()?;
        self.inner.get_version(table, version).await
    }
    async fn put_version(
        &self,
        table: &str,
        version: u64,
        document: Vec<u8>,
    ) -> Result<PutOutcome> {
        match self.next_fault() {
            None => self.inner.put_version(table, version, document).await,
            Some(Fault::FailBeforeLanding) => {
                Err(Error::Manifest("injected: throttled before landing".into()))
            }
            Some(fault) => {
                self.inner.put_version(table, version, document).await?;
                if fault == Fault::LandThenBlind
                    && let Ok(mut blind) = self.blind.lock()
                {
                    *blind = true;
                }
                Err(Error::Manifest("injected: timed out after landing".into()))
            }
        }
    }
    async fn put_checkpoint(&self, table: &str, version: u64, document: Vec<u8>) -> Result<()> {
        self.inner.put_checkpoint(table, version, document).await
    }
    async fn latest_checkpoint(&self, table: &str, at_most: u64) -> Result<Option<(u64, Vec<u8>)>> {
        self.check_sight()?;
        self.inner.latest_checkpoint(table, at_most).await
    }
    async fn delete_before(&self, table: &str, version: u64) -> Result<usize> {
        self.inner.delete_before(table, version).await
    }
    async fn list_tables(&self) -> Result<Vec<String>> {
        self.inner.list_tables().await
    }
}
