//! Stale multipart uploads: the invisible halves of files whose writer died. S3 keeps
//! (and bills) them until they are aborted; object_store's local file system keeps
//! them as `name#N` staging files beside the final name. Neither shows in listings.

use super::Location;
use crate::error::{Error, Result};
use aws_sdk_s3::error::DisplayErrorContext;
use chrono::{DateTime, Utc};

/// Aborts uploads under `location` started before `cutoff`; returns how many.
pub async fn abort_stale(
    location: &Location,
    cutoff: DateTime<Utc>,
    dry_run: bool,
) -> Result<usize> {
    match location.url.scheme() {
        "s3" => abort_stale_s3(location, cutoff, dry_run).await,
        "file" => remove_stale_staging_files(location, cutoff, dry_run),
        _ => Ok(0),
    }
}

async fn abort_stale_s3(
    location: &Location,
    cutoff: DateTime<Utc>,
    dry_run: bool,
) -> Result<usize> {
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let mut config = aws_sdk_s3::config::Builder::from(&shared);
    // a custom endpoint (MinIO, a local test server) is addressed path-style, as object_store does
    if std::env::var_os("AWS_ENDPOINT_URL").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
    {
        config = config.force_path_style(true);
    }
    let client = aws_sdk_s3::Client::from_conf(config.build());
    let bucket = location.url.host_str().unwrap_or_default().to_string();
    let prefix = location.to_store("").to_string();
    let prefix = if prefix.is_empty() {
        prefix
    } else {
        format!("{prefix}/")
    };
    let s3_error = |e: &dyn std::fmt::Display| {
        Error::Other(format!(
            "S3 multipart uploads of s3://{bucket}/{prefix}: {e}"
        ))
    };
    let (mut key_marker, mut id_marker) = (None, None);
    let mut aborted = 0;
    loop {
        let page = client
            .list_multipart_uploads()
            .bucket(&bucket)
            .prefix(&prefix)
            .set_key_marker(key_marker.take())
            .set_upload_id_marker(id_marker.take())
            .send()
            .await
            .map_err(|e| s3_error(&DisplayErrorContext(&e)))?;
        for upload in page.uploads() {
            let started = upload
                .initiated()
                .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()));
            let (Some(key), Some(id)) = (upload.key(), upload.upload_id()) else {
                continue;
            };
            if started.is_none_or(|t| t > cutoff) {
                continue;
            }
            if !dry_run {
                client
                    .abort_multipart_upload()
                    .bucket(&bucket)
                    .key(key)
                    .upload_id(id)
                    .send()
                    .await
                    .map_err(|e| s3_error(&DisplayErrorContext(&e)))?;
            }
            aborted += 1;
        }
        if page.is_truncated() != Some(true) {
            return Ok(aborted);
        }
        key_marker = page.next_key_marker().map(str::to_string);
        id_marker = page.next_upload_id_marker().map(str::to_string);
    }
}

fn remove_stale_staging_files(
    location: &Location,
    cutoff: DateTime<Utc>,
    dry_run: bool,
) -> Result<usize> {
    let Ok(root) = location.url.to_file_path() else {
        return Ok(0);
    };
    let mut removed = 0;
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                stack.push(path);
                continue;
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let staging = name
                .rsplit_once('#')
                .is_some_and(|(_, n)| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
            let old = meta
                .modified()
                .ok()
                .map(DateTime::<Utc>::from)
                .is_some_and(|t| t <= cutoff);
            if staging && old {
                if !dry_run {
                    std::fs::remove_file(&path)
                        .map_err(|e| Error::io(format!("cannot remove {}", path.display()), e))?;
                }
                removed += 1;
            }
        }
    }
    Ok(removed)
}
