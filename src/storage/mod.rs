//! object_store wiring: a table location URL becomes a store plus a prefix, and a
//! listing becomes the plain inventory the planner takes.
//!
//! Paths inside laketidy are plain `/`-separated strings relative to a location, with
//! Hive escapes (`%3A`) kept as the characters they are on disk. object_store encodes
//! some characters (`%` among them) inside its `Path`; [`Location::to_store`] and
//! [`Location::relative`] are the only places that cross between the two.

pub mod counted;
pub mod uploads;

use crate::error::{Error, Result};
use crate::model::hive;
use crate::plan::ListedFile;
use counted::{Counted, RequestCounter};
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt};
use percent_encoding::percent_decode_str;
use std::sync::Arc;
use url::Url;

/// A folder in a store: where a table's source or target lives, or a manifest root.
#[derive(Clone, Debug)]
pub struct Location {
    pub url: Url,
    /// Counts the requests made through it.
    pub store: Arc<dyn ObjectStore>,
    pub requests: Arc<RequestCounter>,
    prefix: Path,
}

impl Location {
    /// Opens `file://` and `s3://` URLs; S3 settings come from the standard `AWS_*` variables.
    pub fn open(url: &Url) -> Result<Self> {
        match url.scheme() {
            "file" => {
                let fs_path = url
                    .to_file_path()
                    .map_err(|_| Error::Usage(format!("{url} is not a local path")))?;
                let prefix = Path::from_absolute_path(&fs_path)
                    .map_err(|e| Error::Usage(format!("{}: {e}", fs_path.display())))?;
                Ok(Location::counted(
                    url,
                    Arc::new(LocalFileSystem::new()),
                    prefix,
                ))
            }
            "s3" => {
                let bucket = url.host_str().unwrap_or_default();
                let store = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()
                    .map_err(|e| Error::Usage(format!("cannot use {url}: {e}")))?;
                let key = percent_decode_str(url.path()).decode_utf8_lossy();
                let prefix = Path::parse(key.as_ref())
                    .map_err(|e| Error::Usage(format!("{url}: not a usable S3 prefix: {e}")))?;
                Ok(Location::counted(url, Arc::new(store), prefix))
            }
            other => Err(Error::Usage(format!(
                "{url}: scheme {other:?} is not supported; use a local path, file:// or s3://"
            ))),
        }
    }

    fn counted(url: &Url, store: Arc<dyn ObjectStore>, prefix: Path) -> Self {
        let requests = Arc::new(RequestCounter::default());
        Location {
            url: url.clone(),
            store: Arc::new(Counted::new(store, requests.clone())),
            requests,
            prefix,
        }
    }

    pub fn is_local(&self) -> bool {
        self.url.scheme() == "file"
    }

    /// The store path of a location-relative path. A `Path`'s raw text is the name the
    /// object has on disk or in the bucket, so it is parsed, never re-encoded.
    pub fn to_store(&self, relative: &str) -> Path {
        let relative = relative.trim_matches('/');
        let joined = match (self.prefix.as_ref(), relative) {
            (p, "") => p.to_string(),
            ("", r) => r.to_string(),
            (p, r) => format!("{p}/{r}"),
        };
        // only names with control characters or `.`/`..` segments fail to parse; those
        // are encoded instead so that they can never address another folder
        Path::parse(&joined)
            .unwrap_or_else(|_| Path::from_iter(joined.split('/').filter(|s| !s.is_empty())))
    }

    /// The location-relative path of a store path inside this location.
    pub fn relative(&self, path: &Path) -> Option<String> {
        let parts = path.prefix_match(&self.prefix)?;
        Some(
            parts
                .map(|p| p.as_ref().to_string())
                .collect::<Vec<_>>()
                .join("/"),
        )
    }

    /// The absolute location users see: a local path, or an `s3://bucket/key` URL.
    pub fn display(&self, relative: &str) -> String {
        let full = self.to_store(relative);
        match self.url.scheme() {
            "file" => format!("/{full}"),
            _ => format!("s3://{}/{full}", self.url.host_str().unwrap_or_default()),
        }
    }

    /// Every data file below the location (Hive-hidden names skipped), not yet in delivery order.
    pub async fn list_files(&self) -> Result<Vec<ListedFile>> {
        if self.is_local() {
            let dir = self.url.to_file_path().unwrap_or_default();
            if !dir.is_dir() {
                return Err(Error::Usage(format!(
                    "the source folder {} does not exist",
                    dir.display()
                )));
            }
        }
        let metas: Vec<ObjectMeta> = self.store.list(Some(&self.prefix)).try_collect().await?;
        Ok(metas
            .into_iter()
            .filter_map(|meta| {
                let path = self.relative(&meta.location)?;
                (!path.is_empty() && !hive::is_hidden(&path)).then(|| ListedFile {
                    path,
                    size: meta.size,
                    e_tag: meta.e_tag,
                    last_modified: meta.last_modified.timestamp_micros(),
                })
            })
            .collect())
    }

    pub async fn delete(&self, relative: &str) -> Result<()> {
        match self.store.delete(&self.to_store(relative)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hive_escaped_names_round_trip_through_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let url = Url::from_directory_path(dir.path()).unwrap();
        let loc = Location::open(&url).unwrap();
        let rel = "city=a%2Fb%3Ac/x=50%25 off/_hidden/f.parquet";
        let visible = "city=a%2Fb%3Ac/x=50%25 off/data #1.parquet";
        for p in [rel, visible] {
            loc.store
                .put(&loc.to_store(p), b"x".to_vec().into())
                .await
                .unwrap();
        }
        let on_disk = dir
            .path()
            .join("city=a%2Fb%3Ac")
            .join("x=50%25 off")
            .join("data #1.parquet");
        assert!(on_disk.is_file(), "the file keeps its escaped name on disk");
        let listed = loc.list_files().await.unwrap();
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].path, visible);
        assert_eq!(loc.display(visible), on_disk.display().to_string());
        // a name another tool wrote is read back under the same name
        std::fs::write(dir.path().join("y=%41.parquet"), b"z").unwrap();
        let got = loc
            .store
            .get(&loc.to_store("y=%41.parquet"))
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
        assert_eq!(&got[..], b"z");
        assert!(
            loc.list_files()
                .await
                .unwrap()
                .iter()
                .any(|f| f.path == "y=%41.parquet")
        );
        assert_eq!(hive::folder_keys(&listed[0].path)[0].1, "a/b:c");
    }

    #[test]
    fn s3_urls_parse() {
        let loc = Location::open(&Url::parse("s3://bucket/raw/topics/").unwrap()).unwrap();
        assert_eq!(
            loc.display("dt=1/a.parquet"),
            "s3://bucket/raw/topics/dt=1/a.parquet"
        );
        assert!(!loc.is_local());
    }
}
