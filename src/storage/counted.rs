//! Counting the requests a run makes to a store, so that `compact` can report what
//! reading and writing cost on S3 (each call here is one HTTP request there; a
//! listing is one request per page of up to 1,000 keys).

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult, Result, UploadPart,
};
use serde::Serialize;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Keys an S3 listing returns per request.
const LIST_PAGE: u64 = 1000;

#[derive(Debug, Default)]
pub struct RequestCounter {
    get: AtomicU64,
    head: AtomicU64,
    put: AtomicU64,
    post: AtomicU64,
    list: AtomicU64,
    delete: AtomicU64,
    copy: AtomicU64,
}

/// Requests made so far, by HTTP kind: `put` counts whole objects and the parts of
/// multipart uploads, `post` the creation and completion of multipart uploads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Requests {
    pub get: u64,
    pub head: u64,
    pub put: u64,
    pub post: u64,
    pub list: u64,
    pub delete: u64,
    pub copy: u64,
}

impl RequestCounter {
    pub fn snapshot(&self) -> Requests {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        Requests {
            get: load(&self.get),
            head: load(&self.head),
            put: load(&self.put),
            post: load(&self.post),
            list: load(&self.list),
            delete: load(&self.delete),
            copy: load(&self.copy),
        }
    }
}

impl Requests {
    /// What was made between `earlier` and this.
    pub fn since(&self, earlier: &Requests) -> Requests {
        Requests {
            get: self.get - earlier.get,
            head: self.head - earlier.head,
            put: self.put - earlier.put,
            post: self.post - earlier.post,
            list: self.list - earlier.list,
            delete: self.delete - earlier.delete,
            copy: self.copy - earlier.copy,
        }
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// A store that counts the requests made through it.
#[derive(Debug)]
pub struct Counted {
    inner: Arc<dyn ObjectStore>,
    counter: Arc<RequestCounter>,
}

impl Counted {
    pub fn new(inner: Arc<dyn ObjectStore>, counter: Arc<RequestCounter>) -> Self {
        Counted { inner, counter }
    }
}

impl fmt::Display for Counted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.inner)
    }
}

/// Counts a listing's pages as its keys go by.
fn counted_listing(
    listing: BoxStream<'static, Result<ObjectMeta>>,
    counter: Arc<RequestCounter>,
) -> BoxStream<'static, Result<ObjectMeta>> {
    bump(&counter.list);
    listing
        .enumerate()
        .map(move |(i, item)| {
            if i > 0 && (i as u64).is_multiple_of(LIST_PAGE) {
                bump(&counter.list);
            }
            item
        })
        .boxed()
}

#[async_trait]
impl ObjectStore for Counted {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> Result<PutResult> {
        bump(&self.counter.put);
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> Result<Box<dyn MultipartUpload>> {
        bump(&self.counter.post);
        let upload = self.inner.put_multipart_opts(location, opts).await?;
        Ok(Box::new(CountedUpload {
            inner: upload,
            counter: self.counter.clone(),
        }))
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        if options.head {
            bump(&self.counter.head);
        } else {
            bump(&self.counter.get);
        }
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, Result<Path>>,
    ) -> BoxStream<'static, Result<Path>> {
        let counter = self.counter.clone();
        let counted = locations
            .map(move |l| {
                bump(&counter.delete);
                l
            })
            .boxed();
        self.inner.delete_stream(counted)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        counted_listing(self.inner.list(prefix), self.counter.clone())
    }

    fn list_with_offset(
        &self,
        prefix: Option<&Path>,
        offset: &Path,
    ) -> BoxStream<'static, Result<ObjectMeta>> {
        counted_listing(
            self.inner.list_with_offset(prefix, offset),
            self.counter.clone(),
        )
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let result = self.inner.list_with_delimiter(prefix).await?;
        let keys = (result.objects.len() + result.common_prefixes.len()) as u64;
        for _ in 0..keys.div_ceil(LIST_PAGE).max(1) {
            bump(&self.counter.list);
        }
        Ok(result)
    }

    async fn copy_opts(&self, from: &Path, to: &Path, options: CopyOptions) -> Result<()> {
        bump(&self.counter.copy);
        self.inner.copy_opts(from, to, options).await
    }
}

#[derive(Debug)]
struct CountedUpload {
    inner: Box<dyn MultipartUpload>,
    counter: Arc<RequestCounter>,
}

#[async_trait]
impl MultipartUpload for CountedUpload {
    fn put_part(&mut self, data: PutPayload) -> UploadPart {
        bump(&self.counter.put);
        self.inner.put_part(data)
    }

    async fn complete(&mut self) -> Result<PutResult> {
        bump(&self.counter.post);
        self.inner.complete().await
    }

    async fn abort(&mut self) -> Result<()> {
        bump(&self.counter.delete);
        self.inner.abort().await
    }
}
