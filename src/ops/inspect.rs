//! `inspect PATH`: what is inside Parquet files — schema, row groups, sizes,
//! compression, statistics, and whether rows are sorted by given keys — for one file
//! or every data file of a folder, local or on S3.

use crate::error::{Error, Result};
use crate::exec::merge::first_unsorted_row;
use crate::exec::read;
use crate::model::hive;
use crate::storage::Location;
use arrow::array::{Array, ArrayRef};
use arrow::compute::{SortOptions, concat_batches, sort};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use parquet::arrow::arrow_reader::statistics::StatisticsConverter;
use serde::Serialize;
use std::collections::BTreeSet;
use url::Url;

#[derive(Debug, Serialize)]
pub struct InspectReport {
    pub path: String,
    pub total_files: usize,
    pub total_rows: u64,
    pub total_bytes: u64,
    pub files: Vec<FileReport>,
}

#[derive(Debug, Serialize)]
pub struct FileReport {
    pub location: String,
    pub bytes: u64,
    pub rows: u64,
    pub created_by: Option<String>,
    pub compression: Vec<String>,
    pub schema: Vec<ColumnType>,
    pub row_groups: Vec<RowGroup>,
    /// Statistics of the top-level scalar columns, over all row groups.
    pub statistics: Vec<ColumnStatistics>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sorted: Option<SortCheck>,
}

#[derive(Debug, Serialize)]
pub struct ColumnType {
    pub name: String,
    pub data_type: String,
    pub nullable: bool,
}

#[derive(Debug, Serialize)]
pub struct RowGroup {
    pub rows: u64,
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
}

#[derive(Debug, Serialize)]
pub struct ColumnStatistics {
    pub column: String,
    pub min: Option<String>,
    pub max: Option<String>,
    pub null_count: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct SortCheck {
    pub by: Vec<String>,
    pub sorted: bool,
    /// The first row that is greater than the row after it.
    pub first_unsorted_row: Option<u64>,
}

/// Resolves PATH (a local path, `file://` or `s3://` URL) to a folder and the files in it.
async fn resolve(path: &str) -> Result<(Location, Vec<(String, u64)>)> {
    let url = match Url::parse(path) {
        Ok(url) if url.scheme().len() > 1 => url,
        _ => {
            let abs = std::path::absolute(path)
                .map_err(|e| Error::io(format!("cannot resolve {path}"), e))?;
            if !abs.exists() {
                return Err(Error::Usage(format!("{path}: no such file or folder")));
            }
            Url::from_file_path(&abs)
                .map_err(|_| Error::Usage(format!("{path}: not a usable path")))?
        }
    };
    // a single object: open its folder, list just it
    let (dir, name) = match url.path().rsplit_once('/') {
        Some((dir, name)) if !name.is_empty() => (dir.to_string(), name.to_string()),
        _ => (url.path().trim_end_matches('/').to_string(), String::new()),
    };
    if !name.is_empty() {
        let mut folder = url.clone();
        folder.set_path(&format!("{dir}/"));
        let location = Location::open(&folder)?;
        let decoded = percent_encoding::percent_decode_str(&name)
            .decode_utf8_lossy()
            .into_owned();
        if let Ok(meta) = location.store.head(&location.to_store(&decoded)).await {
            return Ok((location, vec![(decoded, meta.size)]));
        }
    }
    let mut folder = url.clone();
    if !folder.path().ends_with('/') {
        let p = format!("{}/", folder.path());
        folder.set_path(&p);
    }
    let location = Location::open(&folder)?;
    let listed: Vec<_> = location
        .store
        .list(Some(&location.to_store("")))
        .try_collect()
        .await?;
    let mut files: Vec<(String, u64)> = listed
        .into_iter()
        .filter_map(|m| {
            let rel = location.relative(&m.location)?;
            (!hive::is_hidden(&rel) && rel.ends_with(".parquet")).then_some((rel, m.size))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Error::Usage(format!(
            "{path}: no Parquet files there (names ending in .parquet, not hidden)"
        )));
    }
    Ok((location, files))
}

pub async fn inspect(path: &str, sorted_by: &[String]) -> Result<InspectReport> {
    let (location, files) = resolve(path).await?;
    let mut reports = Vec::with_capacity(files.len());
    for (relative, size) in files {
        reports.push(inspect_file(&location, &relative, size, sorted_by).await?);
    }
    Ok(InspectReport {
        path: path.to_string(),
        total_files: reports.len(),
        total_rows: reports.iter().map(|r| r.rows).sum(),
        total_bytes: reports.iter().map(|r| r.bytes).sum(),
        files: reports,
    })
}

async fn inspect_file(
    location: &Location,
    relative: &str,
    size: u64,
    sorted_by: &[String],
) -> Result<FileReport> {
    let opened = read::open(location, relative, size).await?;
    let metadata = opened.builder.metadata().clone();
    let arrow_schema = opened.schema();
    let parquet_schema = opened.builder.parquet_schema();
    let row_groups: Vec<RowGroup> = metadata
        .row_groups()
        .iter()
        .map(|rg| RowGroup {
            rows: rg.num_rows().max(0) as u64,
            compressed_bytes: rg.compressed_size().max(0) as u64,
            uncompressed_bytes: rg.total_byte_size().max(0) as u64,
        })
        .collect();
    let compression: BTreeSet<String> = metadata
        .row_groups()
        .iter()
        .flat_map(|rg| rg.columns().iter().map(|c| codec_name(c.compression())))
        .collect();
    let format = FormatOptions::default();
    let mut statistics = Vec::new();
    for field in arrow_schema
        .fields()
        .iter()
        .filter(|f| !f.data_type().is_nested())
    {
        let Ok(converter) =
            StatisticsConverter::try_new(field.name(), &arrow_schema, parquet_schema)
        else {
            continue;
        };
        let extreme = |values: parquet::errors::Result<ArrayRef>, last: bool| -> Option<String> {
            let values = values.ok()?;
            let sorted = sort(
                &values,
                Some(SortOptions {
                    descending: last,
                    nulls_first: false,
                }),
            )
            .ok()?;
            if sorted.is_empty() || sorted.is_null(0) {
                return None;
            }
            Some(
                ArrayFormatter::try_new(sorted.as_ref(), &format)
                    .ok()?
                    .value(0)
                    .to_string(),
            )
        };
        let null_count = converter
            .row_group_null_counts(metadata.row_groups().iter())
            .ok()
            .filter(|c| c.null_count() == 0)
            .map(|c| c.values().iter().sum());
        statistics.push(ColumnStatistics {
            column: field.name().clone(),
            min: extreme(
                converter.row_group_mins(metadata.row_groups().iter()),
                false,
            ),
            max: extreme(
                converter.row_group_maxes(metadata.row_groups().iter()),
                true,
            ),
            null_count,
        });
    }
    let schema = arrow_schema
        .fields()
        .iter()
        .map(|f| ColumnType {
            name: f.name().clone(),
            data_type: f.data_type().to_string(),
            nullable: f.is_nullable(),
        })
        .collect();
    let rows = opened.num_rows();
    let created_by = metadata.file_metadata().created_by().map(str::to_string);
    let sorted = if sorted_by.is_empty() {
        None
    } else {
        let display = opened.display.clone();
        for column in sorted_by {
            if arrow_schema.field_with_name(column).is_err() {
                return Err(Error::Usage(format!(
                    "--sorted-by {column}: {display} has no such column"
                )));
            }
        }
        let names: Vec<&str> = sorted_by.iter().map(String::as_str).collect();
        let batches = opened.read(Some(&names)).await?;
        let batch = match batches.first() {
            Some(first) => concat_batches(&first.schema(), &batches)?,
            None => arrow::array::RecordBatch::new_empty(arrow_schema.clone()),
        };
        let first_unsorted = first_unsorted_row(&batch, sorted_by)?;
        Some(SortCheck {
            by: sorted_by.to_vec(),
            sorted: first_unsorted.is_none(),
            first_unsorted_row: first_unsorted.map(|r| r as u64),
        })
    };
    Ok(FileReport {
        location: location.display(relative),
        bytes: size,
        rows,
        created_by,
        compression: compression.into_iter().collect(),
        schema,
        row_groups,
        statistics,
        sorted,
    })
}

/// `ZSTD`, `SNAPPY`, …: files do not record the level they were written with.
fn codec_name(codec: parquet::basic::Compression) -> String {
    let text = codec.to_string();
    text.split('(').next().unwrap_or(&text).to_string()
}
