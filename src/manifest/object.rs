//! A manifest over any object store with create-only puts: on a local file system
//! object_store creates the document under a temporary name and links it into place
//! without replacing (atomic, exactly one winner); on S3 the same call is a PUT with
//! `If-None-Match: *`.

use super::{ManifestStore, PutOutcome};
use crate::error::{Error, Result};
use crate::storage::Location;
use async_trait::async_trait;
use futures::TryStreamExt;
use object_store::{ObjectStoreExt, PutMode, PutOptions};

#[derive(Debug)]
pub struct ObjectStoreManifest {
    root: Location,
}

impl ObjectStoreManifest {
    pub fn new(root: Location) -> Self {
        ObjectStoreManifest { root }
    }

    fn versions_dir(table: &str) -> String {
        format!("tables/{table}/versions")
    }

    fn version_path(table: &str, version: u64) -> String {
        // zero-padded so that listing order is version order
        format!("{}/{version:020}.json", Self::versions_dir(table))
    }
}

#[async_trait]
impl ManifestStore for ObjectStoreManifest {
    fn describe(&self) -> String {
        self.root.url.to_string()
    }

    async fn init(&self) -> Result<()> {
        if self.root.is_local() {
            let dir = self
                .root
                .url
                .to_file_path()
                .unwrap_or_default()
                .join("tables");
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
        }
        Ok(())
    }

    async fn latest_version(&self, table: &str) -> Result<Option<u64>> {
        let dir = self.root.to_store(&Self::versions_dir(table));
        let listed: Vec<_> = match self.root.store.list(Some(&dir)).try_collect().await {
            Ok(listed) => listed,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        Ok(listed
            .iter()
            .filter_map(|meta| {
                meta.location
                    .filename()?
                    .strip_suffix(".json")?
                    .parse::<u64>()
                    .ok()
            })
            .max())
    }

    async fn get_version(&self, table: &str, version: u64) -> Result<Option<Vec<u8>>> {
        let path = self.root.to_store(&Self::version_path(table, version));
        match self.root.store.get(&path).await {
            Ok(got) => Ok(Some(got.bytes().await?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn put_version(
        &self,
        table: &str,
        version: u64,
        document: Vec<u8>,
    ) -> Result<PutOutcome> {
        let path = self.root.to_store(&Self::version_path(table, version));
        let options = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .root
            .store
            .put_opts(&path, document.into(), options)
            .await
        {
            Ok(_) => Ok(PutOutcome::Committed),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => Ok(PutOutcome::AlreadyExists),
            Err(e) => Err(e.into()),
        }
    }

    async fn list_tables(&self) -> Result<Vec<String>> {
        let dir = self.root.to_store("tables");
        let listing = match self.root.store.list_with_delimiter(Some(&dir)).await {
            Ok(listing) => listing,
            Err(object_store::Error::NotFound { .. }) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        let mut names: Vec<String> = listing
            .common_prefixes
            .iter()
            .filter_map(|p| {
                self.root
                    .relative(p)?
                    .strip_prefix("tables/")
                    .map(str::to_string)
            })
            .collect();
        names.sort();
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::conformance;
    use url::Url;

    fn local_store(dir: &std::path::Path) -> ObjectStoreManifest {
        ObjectStoreManifest::new(Location::open(&Url::from_directory_path(dir).unwrap()).unwrap())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn file_backend_passes_the_conformance_suite() {
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(local_store(dir.path()));
        conformance::run_all(store).await;
    }
}
