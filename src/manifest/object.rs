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

    fn checkpoints_dir(table: &str) -> String {
        format!("tables/{table}/checkpoints")
    }

    /// The versions of the `.json` documents in a folder.
    /// A local manifest folder is readable by its owner only (mode 0700): manifests name
    /// every file and its statistics, which can be as sensitive as the data.
    fn keep_private(&self) -> Result<()> {
        #[cfg(unix)]
        if self.root.is_local()
            && let Ok(dir) = self.root.url.to_file_path()
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::create_dir_all(&dir)
                .map_err(|e| Error::io(format!("cannot create {}", dir.display()), e))?;
            let private = std::fs::Permissions::from_mode(0o700);
            std::fs::set_permissions(&dir, private)
                .map_err(|e| Error::io(format!("cannot make {} private", dir.display()), e))?;
        }
        Ok(())
    }

    async fn versions_in(&self, dir: &str) -> Result<Vec<u64>> {
        let dir = self.root.to_store(dir);
        let listed: Vec<_> = match self.root.store.list(Some(&dir)).try_collect().await {
            Ok(listed) => listed,
            Err(object_store::Error::NotFound { .. }) => return Ok(Vec::new()),
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
            .collect())
    }

    async fn get(&self, relative: &str) -> Result<Option<Vec<u8>>> {
        match self.root.store.get(&self.root.to_store(relative)).await {
            Ok(got) => Ok(Some(got.bytes().await?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn create(&self, relative: &str, document: Vec<u8>) -> Result<PutOutcome> {
        self.keep_private()?;
        let options = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self
            .root
            .store
            .put_opts(&self.root.to_store(relative), document.into(), options)
            .await
        {
            Ok(_) => Ok(PutOutcome::Committed),
            Err(object_store::Error::AlreadyExists { .. })
            | Err(object_store::Error::Precondition { .. }) => Ok(PutOutcome::AlreadyExists),
            Err(e) => Err(e.into()),
        }
    }
}

#[async_trait]
impl ManifestStore for ObjectStoreManifest {
    fn describe(&self) -> String {
        self.root.url.to_string()
    }

    async fn init(&self) -> Result<()> {
        self.keep_private()?;
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
        Ok(self
            .versions_in(&Self::versions_dir(table))
            .await?
            .into_iter()
            .max())
    }

    async fn get_version(&self, table: &str, version: u64) -> Result<Option<Vec<u8>>> {
        self.get(&Self::version_path(table, version)).await
    }

    async fn put_version(
        &self,
        table: &str,
        version: u64,
        document: Vec<u8>,
    ) -> Result<PutOutcome> {
        self.create(&Self::version_path(table, version), document)
            .await
    }

    async fn put_checkpoint(&self, table: &str, version: u64, document: Vec<u8>) -> Result<()> {
        let path = format!("{}/{version:020}.json", Self::checkpoints_dir(table));
        self.create(&path, document).await.map(|_| ())
    }

    async fn latest_checkpoint(&self, table: &str, at_most: u64) -> Result<Option<(u64, Vec<u8>)>> {
        let dir = Self::checkpoints_dir(table);
        let Some(version) = self
            .versions_in(&dir)
            .await?
            .into_iter()
            .filter(|v| *v <= at_most)
            .max()
        else {
            return Ok(None);
        };
        Ok(self
            .get(&format!("{dir}/{version:020}.json"))
            .await?
            .map(|body| (version, body)))
    }

    async fn delete_before(&self, table: &str, version: u64) -> Result<usize> {
        let mut deleted = 0;
        for dir in [Self::versions_dir(table), Self::checkpoints_dir(table)] {
            for v in self
                .versions_in(&dir)
                .await?
                .into_iter()
                .filter(|v| *v < version)
            {
                self.root
                    .store
                    .delete(&self.root.to_store(&format!("{dir}/{v:020}.json")))
                    .await?;
                deleted += 1;
            }
        }
        Ok(deleted)
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
    use crate::manifest::conformance::{self, commits, moto_endpoint, unique};
    use std::sync::Arc;
    use url::Url;

    fn local_store(dir: &std::path::Path) -> ObjectStoreManifest {
        ObjectStoreManifest::new(Location::open(&Url::from_directory_path(dir).unwrap()).unwrap())
    }

    fn s3_store() -> ObjectStoreManifest {
        let _ = moto_endpoint();
        let url = Url::parse(&format!(
            "s3://laketidy-manifest/{}/",
            unique("conformance")
        ))
        .unwrap();
        ObjectStoreManifest::new(Location::open(&url).unwrap())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn file_backend_passes_the_conformance_suite() {
        let dir = tempfile::tempdir().unwrap();
        conformance::run_all(Arc::new(local_store(dir.path()))).await;
        commits::run_all(&local_store(dir.path())).await;
        commits::unknown_outcomes(|| local_store(dir.path())).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn s3_backend_passes_the_conformance_suite() {
        let store = Arc::new(s3_store());
        conformance::run_all(store.clone()).await;
        commits::run_all(store.as_ref()).await;
        let url = Url::parse(&format!("s3://laketidy-manifest/{}/", unique("unknown"))).unwrap();
        commits::unknown_outcomes(|| ObjectStoreManifest::new(Location::open(&url).unwrap())).await;
    }
}
