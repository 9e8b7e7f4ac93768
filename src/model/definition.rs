//! The table definition: a small JSON document kept in the user's git repo.
//!
//! Its keys are a contract with tools outside the project (PRODUCT.md): keys may be
//! added, never renamed. Parsing happens in two steps: the JSON is checked on its own
//! ([`TableDefinition::parse`]), and the column names it mentions are checked against
//! the data once its schema is known ([`TableDefinition::check_columns`]).

use crate::error::{Error, Result};
use crate::model::transform::Transform;
use arrow::datatypes::{DataType, Schema};
use parquet::basic::{BrotliLevel, Compression, GzipLevel, ZstdLevel};
use serde::{Deserialize, Serialize};
use std::path::Path;
use url::Url;

/// The definition exactly as users write it; also what the manifest stores.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefinitionDoc {
    pub name: String,
    pub source: String,
    pub target: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_by: Option<Vec<PartitionFieldDoc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_by: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dedup: Option<DedupDoc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_file_size: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delta_files: Option<u32>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartitionFieldDoc {
    pub name: String,
    pub from: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transform: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DedupDoc {
    pub key: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order_by: Option<String>,
}

/// One partition column: its folder key, where its value comes from, and how.
#[derive(Clone, Debug, PartialEq)]
pub struct PartitionField {
    pub name: String,
    /// A data column, or a key of the source's own `key=value` folders.
    pub from: String,
    pub transform: Transform,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Keep {
    /// The row with the greatest `order_by` value (ties: the later delivery).
    Latest,
    /// The row with the smallest `order_by` value (ties: the later delivery).
    First,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DedupRule {
    pub key: Vec<String>,
    pub keep: Keep,
    /// Without it, deliveries are ordered by arrival: `latest` keeps the last, `first` the first.
    pub order_by: Option<String>,
}

/// A validated definition, with `source` and `target` resolved to absolute URLs.
#[derive(Clone, Debug, PartialEq)]
pub struct TableDefinition {
    /// What the user wrote, with resolved locations; stored in every snapshot.
    pub doc: DefinitionDoc,
    pub name: String,
    pub source: Url,
    pub target: Url,
    /// `None`: keep the source's own `key=value` folders as the partitions.
    pub partition_by: Option<Vec<PartitionField>>,
    pub sort_by: Vec<String>,
    pub dedup: Option<DedupRule>,
    pub target_file_size: u64,
    pub compression: Compression,
    /// Delta files a partition may hold beside its sorted files; 0 turns patching off
    /// (see `plan::patch`).
    pub max_delta_files: usize,
}

pub const DEFAULT_TARGET_FILE_SIZE: u64 = 128 * 1024 * 1024;
pub const DEFAULT_MAX_DELTA_FILES: u32 = 4;
/// Every delta file is one more file each reader opens per partition.
pub const MAX_MAX_DELTA_FILES: u32 = 64;
pub const DEFAULT_COMPRESSION: &str = "zstd(3)";

impl TableDefinition {
    /// Reads and validates a definition file; relative locations are relative to its folder.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::io(
                format!("cannot read table definition {}", path.display()),
                e,
            )
        })?;
        let base = path
            .parent()
            .map(|p| {
                if p.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    p
                }
            })
            .unwrap_or(Path::new("."));
        let base = std::path::absolute(base)
            .map_err(|e| Error::io(format!("cannot resolve {}", base.display()), e))?;
        Self::parse(&text, &base).map_err(|e| match e {
            Error::Definition { field, message, .. } => Error::Definition {
                file: Some(path.display().to_string()),
                field,
                message,
            },
            other => other,
        })
    }

    /// Parses JSON text; `base_dir` anchors relative `source`/`target` paths.
    pub fn parse(text: &str, base_dir: &Path) -> Result<Self> {
        let de = &mut serde_json::Deserializer::from_str(text);
        let doc: DefinitionDoc = serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            let field = if field == "." {
                "(document)".to_string()
            } else {
                field
            };
            Error::definition(field, e.into_inner())
        })?;
        Self::from_doc(doc, base_dir)
    }

    /// Validates a definition document (as written or as stored in a snapshot).
    pub fn from_doc(mut doc: DefinitionDoc, base_dir: &Path) -> Result<Self> {
        check_name(&doc.name)?;
        let source = resolve_location("source", &doc.source, base_dir)?;
        let target = resolve_location("target", &doc.target, base_dir)?;
        if source == target || target.as_str().starts_with(source.as_str()) {
            return Err(Error::definition(
                "target",
                format!(
                    "{target} is inside the source {source}; compacted files would be read back as new source files"
                ),
            ));
        }
        doc.source = source.to_string();
        doc.target = target.to_string();

        let partition_by = match &doc.partition_by {
            None => None,
            Some(fields) => Some(parse_partition_fields(fields)?),
        };
        let sort_by = doc.sort_by.clone().unwrap_or_default();
        for (i, column) in sort_by.iter().enumerate() {
            if column.is_empty() {
                return Err(Error::definition(
                    format!("sort_by[{i}]"),
                    "empty column name",
                ));
            }
            if sort_by[..i].contains(column) {
                return Err(Error::definition(
                    format!("sort_by[{i}]"),
                    format!("{column:?} is listed twice"),
                ));
            }
        }
        let dedup = doc.dedup.as_ref().map(parse_dedup).transpose()?;
        let target_file_size = match &doc.target_file_size {
            None => DEFAULT_TARGET_FILE_SIZE,
            Some(s) => parse_size(s).map_err(|m| Error::definition("target_file_size", m))?,
        };
        let compression =
            parse_compression(doc.compression.as_deref().unwrap_or(DEFAULT_COMPRESSION))
                .map_err(|m| Error::definition("compression", m))?;
        let max_delta_files = doc.max_delta_files.unwrap_or(DEFAULT_MAX_DELTA_FILES);
        if max_delta_files > MAX_MAX_DELTA_FILES {
            return Err(Error::definition(
                "max_delta_files",
                format!(
                    "{max_delta_files} is more than {MAX_MAX_DELTA_FILES}: every delta file is one more file each reader opens per partition"
                ),
            ));
        }
        Ok(TableDefinition {
            name: doc.name.clone(),
            source,
            target,
            partition_by,
            sort_by,
            dedup,
            target_file_size,
            compression,
            max_delta_files: max_delta_files as usize,
            doc,
        })
    }

    /// Columns that live only in the path: identity partitions of a data column of the
    /// same name are not repeated inside the data files (Hive convention).
    pub fn path_only_columns(&self) -> Vec<&str> {
        self.partition_by
            .iter()
            .flatten()
            .filter(|f| f.transform == Transform::Identity && f.name == f.from)
            .map(|f| f.name.as_str())
            .collect()
    }

    /// Checks every column the definition names against the data's (union) schema.
    pub fn check_columns(&self, schema: &Schema) -> Result<()> {
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        let listing = || names.join(", ");
        let find = |field: String, column: &str| -> Result<&DataType> {
            schema
                .field_with_name(column)
                .map(|f| f.data_type())
                .map_err(|_| {
                    Error::definition(
                        field,
                        format!(
                            "column {column:?} is not in the data; its columns are: {}",
                            listing()
                        ),
                    )
                })
        };
        for (i, column) in self.sort_by.iter().enumerate() {
            let ty = find(format!("sort_by[{i}]"), column)?;
            if matches!(ty, DataType::Map(_, _)) {
                return Err(Error::definition(
                    format!("sort_by[{i}]"),
                    format!("column {column:?} is a map, which has no order"),
                ));
            }
        }
        if let Some(dedup) = &self.dedup {
            for (i, column) in dedup.key.iter().enumerate() {
                find(format!("dedup.key[{i}]"), column)?;
            }
            if let Some(order_by) = &dedup.order_by {
                find("dedup.order_by".to_string(), order_by)?;
            }
        }
        let path_only = self.path_only_columns();
        for (i, field) in self.partition_by.iter().flatten().enumerate() {
            if let Ok(f) = schema.field_with_name(&field.from)
                && !field.transform.accepts(f.data_type())
            {
                return Err(Error::definition(
                    format!("partition_by[{i}].transform"),
                    format!(
                        "{} cannot be applied to column {:?} of type {}; {}",
                        field.transform,
                        field.from,
                        f.data_type(),
                        if field.transform == Transform::Identity {
                            "identity needs a column of a scalar type"
                        } else {
                            "day, hour, month and year need a timestamp or date column"
                        }
                    ),
                ));
            }
            if !path_only.contains(&field.name.as_str()) && names.contains(&field.name.as_str()) {
                return Err(Error::definition(
                    format!("partition_by[{i}].name"),
                    format!(
                        "{:?} is also a data column; Hive-style readers would see two columns of that name. Choose another name",
                        field.name
                    ),
                ));
            }
        }
        Ok(())
    }
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
    if ok {
        Ok(())
    } else {
        Err(Error::definition(
            "name",
            format!(
                "{name:?} is not a valid table name: use 1 to 128 letters, digits, '_', '-' or '.', starting with a letter or digit"
            ),
        ))
    }
}

/// Resolves `s3://…`, `file://…`, absolute and relative paths to a folder URL (trailing `/`).
pub fn resolve_location(field: &str, text: &str, base_dir: &Path) -> Result<Url> {
    if text.trim().is_empty() {
        return Err(Error::definition(field, "empty location"));
    }
    let parsed = parse_url_strictly(text).map_err(|why| Error::definition(field, why))?;
    let url = if let Some(url) = parsed {
        // before any message that quotes `text`: it may hold a password
        if let Some(why) = unsafe_url(text, &url) {
            return Err(Error::definition(field, why));
        }
        match url.scheme() {
            "file" => {
                if url
                    .host_str()
                    .is_some_and(|h| !h.is_empty() && h != "localhost")
                {
                    return Err(Error::definition(
                        field,
                        format!("{text}: file URLs cannot name a host"),
                    ));
                }
                url
            }
            "s3" | "s3a" => {
                if url.host_str().is_none_or(str::is_empty) {
                    return Err(Error::definition(
                        field,
                        "an S3 URL needs a bucket, e.g. s3://bucket/prefix/",
                    ));
                }
                let mut url = url;
                let _ = url.set_scheme("s3");
                url
            }
            other => {
                return Err(Error::definition(
                    field,
                    format!(
                        "{text}: scheme {other:?} is not supported; use a local path, file:// or s3://"
                    ),
                ));
            }
        }
    } else {
        let path = base_dir.join(text);
        let path = normalize(&path);
        Url::from_directory_path(&path)
            .map_err(|_| Error::definition(field, format!("{text}: not a usable path")))?
    };
    let mut url = url;
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    Ok(url)
}

/// `text` as a URL when it is one (a scheme longer than a drive letter), `None` when it
/// is a local path. What looks like a URL must be one, not quietly a local folder
/// named `s3:`; and no control character may hide a `..` (URL parsing drops tabs and
/// newlines). Errors never quote the text: it may hold a password.
pub fn parse_url_strictly(text: &str) -> std::result::Result<Option<Url>, String> {
    if text.chars().any(char::is_control) {
        return Err("a location cannot contain control characters (tabs, newlines)".into());
    }
    match Url::parse(text) {
        Ok(url) if url.scheme().len() > 1 => Ok(Some(url)),
        Err(error) if text.contains("://") => Err(format!("not a valid URL ({error})")),
        _ => Ok(None),
    }
}

/// Why a location URL (`text`, parsed as `url`) could place or read files somewhere
/// other than it seems to say, or leak a secret; `None` when it is safe. The reason
/// never quotes the URL.
pub fn unsafe_url(text: &str, url: &Url) -> Option<String> {
    if !url.username().is_empty() || url.password().is_some() {
        return Some(
            "a URL with a user name or password (credentials come from the standard AWS chain: environment, profile, instance role)".into(),
        );
    }
    // a `dynamodb://` manifest carries region and endpoint in its query
    if url.scheme() != "dynamodb" && (url.query().is_some() || url.fragment().is_some()) {
        return Some("a location cannot have a query (?…) or fragment (#…)".into());
    }
    for (_, value) in url.query_pairs() {
        if let Ok(inner) = Url::parse(&value)
            && (!inner.username().is_empty() || inner.password().is_some())
        {
            return Some("an endpoint with a user name or password".into());
        }
    }
    // `..` spelled out, percent-encoded in any case, or behind an encoded slash (which
    // object_store splits on). The text, not the parsed URL: parsing resolves `a/../b`
    // (and, in file URLs, `a/..\\b`) to `b` without a word. An encoded backslash is
    // an ordinary character in a name, so `..%5C` is not `..`.
    let escapes = text.split(['/', '\\', '?', '#']).any(|segment| {
        let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
        decoded.split('/').any(|part| part == "..")
    });
    escapes.then(|| "'..' segments are not allowed in URLs".into())
}

/// Lexically removes `.` and `..` from an absolute path (the folder need not exist yet).
fn normalize(path: &Path) -> std::path::PathBuf {
    let mut out = std::path::PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

fn parse_partition_fields(fields: &[PartitionFieldDoc]) -> Result<Vec<PartitionField>> {
    let mut out: Vec<PartitionField> = Vec::with_capacity(fields.len());
    for (i, f) in fields.iter().enumerate() {
        let at = |k: &str| format!("partition_by[{i}].{k}");
        if f.name.is_empty() {
            return Err(Error::definition(at("name"), "empty partition name"));
        }
        if f.from.is_empty() {
            return Err(Error::definition(at("from"), "empty column name"));
        }
        // the folder `_x=…` or `.x=…` would hold every file of the table, and Hive,
        // Spark, Trino and Athena skip such folders as not data
        if f.name.starts_with(['_', '.']) {
            return Err(Error::definition(
                at("name"),
                format!(
                    "{:?} starts with '{}': its folders would be hidden from Hive, Spark, Trino and Athena, which skip names starting with '_' or '.'",
                    f.name,
                    &f.name[..1]
                ),
            ));
        }
        if out.iter().any(|o| o.name.eq_ignore_ascii_case(&f.name)) {
            return Err(Error::definition(
                at("name"),
                format!(
                    "{:?} is used twice (partition names are compared without case, as Hive does)",
                    f.name
                ),
            ));
        }
        let transform = match &f.transform {
            None => Transform::Identity,
            Some(t) => t
                .parse()
                .map_err(|m| Error::definition(at("transform"), m))?,
        };
        out.push(PartitionField {
            name: f.name.clone(),
            from: f.from.clone(),
            transform,
        });
    }
    Ok(out)
}

fn parse_dedup(doc: &DedupDoc) -> Result<DedupRule> {
    if doc.key.is_empty() {
        return Err(Error::definition("dedup.key", "needs at least one column"));
    }
    for (i, k) in doc.key.iter().enumerate() {
        if k.is_empty() {
            return Err(Error::definition(
                format!("dedup.key[{i}]"),
                "empty column name",
            ));
        }
    }
    let keep = match doc.keep.as_deref() {
        None | Some("latest") => Keep::Latest,
        Some("first") => Keep::First,
        Some(other) => {
            return Err(Error::definition(
                "dedup.keep",
                format!(
                    "{other:?} is not a keep rule; valid: \"latest\" (greatest order_by) or \"first\" (smallest)"
                ),
            ));
        }
    };
    if doc.order_by.as_deref() == Some("") {
        return Err(Error::definition("dedup.order_by", "empty column name"));
    }
    Ok(DedupRule {
        key: doc.key.clone(),
        keep,
        order_by: doc.order_by.clone(),
    })
}

/// Parses `128MiB`, `512MB`, `1.5GiB`, `1000000` (bytes). KB/MB/GB are powers of 1000.
pub fn parse_size(text: &str) -> std::result::Result<u64, String> {
    let bad = || {
        format!(
            "{text:?} is not a size; write e.g. \"128MiB\", \"512MB\", \"1GiB\" or a number of bytes"
        )
    };
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number.parse().map_err(|_| bad())?;
    let factor: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return Err(bad()),
    };
    let bytes = (number * factor).round();
    if !(1.0..=1e15).contains(&bytes) {
        return Err(format!(
            "{text:?} is out of range: give at least 1 byte and at most 1 PB"
        ));
    }
    Ok(bytes as u64)
}

/// Parses `zstd(3)`, `zstd`, `snappy`, `gzip(6)`, `brotli(5)`, `lz4_raw`, `uncompressed`.
pub fn parse_compression(text: &str) -> std::result::Result<Compression, String> {
    let valid = "valid: zstd, zstd(1..22), snappy, gzip, gzip(0..9), brotli, brotli(0..11), lz4_raw, uncompressed";
    let lower = text.trim().to_ascii_lowercase();
    let (codec, level) = match lower.split_once('(') {
        Some((c, rest)) => {
            let level = rest
                .strip_suffix(')')
                .and_then(|l| l.trim().parse::<u32>().ok())
                .ok_or_else(|| {
                    format!("{text:?}: the level must be a whole number in parentheses; {valid}")
                })?;
            (c.trim().to_string(), Some(level))
        }
        None => (lower.clone(), None),
    };
    let level_error = |e: parquet::errors::ParquetError| format!("{text:?}: {e}; {valid}");
    Ok(match (codec.as_str(), level) {
        ("zstd", l) => {
            Compression::ZSTD(ZstdLevel::try_new(l.unwrap_or(3) as i32).map_err(level_error)?)
        }
        ("gzip", l) => Compression::GZIP(GzipLevel::try_new(l.unwrap_or(6)).map_err(level_error)?),
        ("brotli", l) => {
            Compression::BROTLI(BrotliLevel::try_new(l.unwrap_or(1)).map_err(level_error)?)
        }
        ("snappy", None) => Compression::SNAPPY,
        ("lz4_raw" | "lz4", None) => Compression::LZ4_RAW,
        ("uncompressed" | "none", None) => Compression::UNCOMPRESSED,
        _ => return Err(format!("{text:?} is not a compression; {valid}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<TableDefinition> {
        TableDefinition::parse(json, Path::new("/defs"))
    }

    fn field_of(err: Error) -> (String, String) {
        match err {
            Error::Definition { field, message, .. } => (field, message),
            other => panic!("not a definition error: {other}"),
        }
    }

    #[test]
    fn minimal_definition_gets_defaults_and_resolves_relative_paths() {
        let d = parse(r#"{"name":"events","source":"raw","target":"../lake/events"}"#).unwrap();
        assert_eq!(d.source.as_str(), "file:///defs/raw/");
        assert_eq!(d.target.as_str(), "file:///lake/events/");
        assert_eq!(d.partition_by, None);
        assert!(d.sort_by.is_empty());
        assert_eq!(d.dedup, None);
        assert_eq!(d.target_file_size, 128 * 1024 * 1024);
        assert_eq!(
            d.compression,
            Compression::ZSTD(ZstdLevel::try_new(3).unwrap())
        );
    }

    #[test]
    fn product_sketch_parses() {
        let d = parse(
            r#"{
            "name": "events",
            "source": "s3://raw/topics/events/",
            "target": "s3://lake/curated/events/",
            "partition_by": [
              {"name": "dt",   "from": "event_time", "transform": "day"},
              {"name": "hour", "from": "event_time", "transform": "hour"}
            ],
            "sort_by": ["user_id", "event_time"],
            "dedup": {"key": ["event_id"], "keep": "latest", "order_by": "received_at"},
            "target_file_size": "128MiB",
            "compression": "zstd(3)"
        }"#,
        )
        .unwrap();
        let parts = d.partition_by.unwrap();
        assert_eq!(parts[1].transform, Transform::Hour);
        assert_eq!(d.dedup.unwrap().keep, Keep::Latest);
        assert_eq!(d.source.as_str(), "s3://raw/topics/events/");
    }

    #[test]
    fn unknown_key_is_named_with_the_valid_ones() {
        let (field, msg) = field_of(
            parse(r#"{"name":"e","source":"a","target":"b","sortby":["x"]}"#).unwrap_err(),
        );
        assert_eq!(field, "sortby");
        assert!(
            msg.contains("unknown field `sortby`") && msg.contains("sort_by"),
            "{msg}"
        );
        let (field, msg) = field_of(
            parse(r#"{"name":"e","source":"a","target":"b","dedup":{"key":["id"],"order":"t"}}"#)
                .unwrap_err(),
        );
        assert_eq!(field, "dedup.order");
        assert!(msg.contains("order_by"), "{msg}");
    }

    #[test]
    fn bad_transform_names_its_field() {
        let (field, msg) = field_of(
            parse(r#"{"name":"e","source":"a","target":"b","partition_by":[{"name":"dt","from":"t","transform":"days"}]}"#)
                .unwrap_err(),
        );
        assert_eq!(field, "partition_by[0].transform");
        assert!(msg.contains("identity, day, hour, month, year"), "{msg}");
    }

    #[test]
    fn partition_names_that_readers_would_hide_are_refused() {
        for name in ["_dt", ".dt"] {
            let text = format!(
                r#"{{"name":"e","source":"a","target":"b","partition_by":[{{"name":"{name}","from":"t","transform":"day"}}]}}"#
            );
            let (field, msg) = field_of(parse(&text).unwrap_err());
            assert_eq!(field, "partition_by[0].name");
            assert!(msg.contains(name) && msg.contains("hidden"), "{msg}");
        }
        // a '_' or '.' inside the name is fine
        parse(r#"{"name":"e","source":"a","target":"b","partition_by":[{"name":"event_dt","from":"t","transform":"day"}]}"#)
            .unwrap();
    }

    #[test]
    fn malformed_size_and_compression() {
        let (field, msg) = field_of(
            parse(r#"{"name":"e","source":"a","target":"b","target_file_size":"12 parsecs"}"#)
                .unwrap_err(),
        );
        assert_eq!(field, "target_file_size");
        assert!(msg.contains("128MiB"), "{msg}");
        let (field, _) = field_of(
            parse(r#"{"name":"e","source":"a","target":"b","compression":"zstd(99)"}"#)
                .unwrap_err(),
        );
        assert_eq!(field, "compression");
        let (field, msg) = field_of(
            parse(r#"{"name":"e","source":"a","target":"b","dedup":{"key":["k"],"keep":"last"}}"#)
                .unwrap_err(),
        );
        assert_eq!(field, "dedup.keep");
        assert!(msg.contains("latest"), "{msg}");
    }

    #[test]
    fn delta_files_default_to_four_and_are_bounded() {
        let d = parse(r#"{"name":"e","source":"a","target":"b"}"#).unwrap();
        assert_eq!(d.max_delta_files, 4);
        let off = parse(r#"{"name":"e","source":"a","target":"b","max_delta_files":0}"#).unwrap();
        assert_eq!(off.max_delta_files, 0);
        let (field, msg) = field_of(
            parse(r#"{"name":"e","source":"a","target":"b","max_delta_files":65}"#).unwrap_err(),
        );
        assert_eq!(field, "max_delta_files");
        assert!(msg.contains("64"), "{msg}");
        let (field, _) = field_of(
            parse(r#"{"name":"e","source":"a","target":"b","max_delta_files":-1}"#).unwrap_err(),
        );
        assert_eq!(field, "max_delta_files");
    }

    #[test]
    fn missing_required_key_and_wrong_types() {
        let (field, msg) = field_of(parse(r#"{"name":"e","source":"a"}"#).unwrap_err());
        assert_eq!(field, "(document)");
        assert!(msg.contains("missing field `target`"), "{msg}");
        let (field, _) =
            field_of(parse(r#"{"name":"e","source":"a","target":"b","sort_by":"x"}"#).unwrap_err());
        assert_eq!(field, "sort_by");
    }

    #[test]
    fn locations_that_escape_or_nest_are_refused() {
        let (field, _) =
            field_of(parse(r#"{"name":"e","source":"a","target":"a/out"}"#).unwrap_err());
        assert_eq!(field, "target");
        let (field, _) =
            field_of(parse(r#"{"name":"e","source":"gs://x/a","target":"b"}"#).unwrap_err());
        assert_eq!(field, "source");
        let (field, _) =
            field_of(parse(r#"{"name":"../e","source":"a","target":"b"}"#).unwrap_err());
        assert_eq!(field, "name");
    }

    /// Regression (fuzz target `definition`): a relative folder named `..\` (an ordinary
    /// name on Unix) resolved to `..%5C` in the stored URL, which the `..` check then
    /// refused, so the stored definition no longer read back.
    #[test]
    fn a_stored_definition_with_an_encoded_backslash_reads_back() {
        let text = r#"{"name": "event.", "source": "file0X\/..\\/./.\\/", "target": "1//`)"}"#;
        let base = Path::new("/fuzz/tables");
        let first = TableDefinition::parse(text, base).unwrap();
        let stored = serde_json::to_string(&first.doc).unwrap();
        assert!(stored.contains("..%5C"), "{stored}");
        assert_eq!(TableDefinition::parse(&stored, base).unwrap(), first);
    }

    /// URL tricks that would write outside the target, or put a secret in messages.
    #[test]
    fn location_urls_that_escape_or_carry_credentials_are_refused() {
        for (target, why) in [
            ("s3://lake/a/../../other/", "'..'"),
            ("s3://lake/a/%2e%2E/other/", "'..'"),
            ("s3://lake/a/.%2e/other/", "'..'"),
            ("s3://lake/a/..%2Fother/", "'..'"),
            ("file:///srv/lake/..\\\\etc/", "'..'"),
            ("file:///srv/lake/%2e%2e/etc/", "'..'"),
            ("s3://lake/events?versionId=3", "query"),
            ("s3://lake/events#x", "fragment"),
            ("s3://AKIDEXAMPLE:wJalrXUtnFEMI@lake/events/", "password"),
            ("file://me:hunter2@localhost/srv/lake/", "not a valid URL"),
            ("s3://me:hunter2@lake:port/x/", "not a valid URL"),
            ("s3://lake/a/.\\t./other/", "control characters"),
            ("s3:me:hunter2@lake", "needs a bucket"),
        ] {
            let def = format!(r#"{{"name":"e","source":"s3://raw/e/","target":"{target}"}}"#);
            let (field, message) = field_of(parse(&def).unwrap_err());
            assert_eq!(field, "target", "{target}");
            assert!(message.contains(why), "{target}: {message}");
            for secret in ["wJalrXUtnFEMI", "hunter2"] {
                assert!(!message.contains(secret), "{message}");
            }
        }
        // what is fine: dots inside names, and a dynamodb manifest's query
        parse(r#"{"name":"e","source":"s3://raw/e.v1/","target":"s3://lake/a..b/"}"#).unwrap();
        parse(r#"{"name":"e","source":"s3://raw/e/","target":"s3://lake/..%5Cb/"}"#).unwrap();
        let check = |text: &str| unsafe_url(text, &Url::parse(text).unwrap());
        assert_eq!(
            check("dynamodb://t?region=eu-west-1&endpoint=http://localhost:5000"),
            None
        );
        let leaky = check("dynamodb://t?endpoint=http://k:hunter2@localhost:5000");
        assert!(leaky.is_some_and(|why| !why.contains("hunter2")));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("128MiB"), Ok(128 << 20));
        assert_eq!(parse_size("128 MB"), Ok(128_000_000));
        assert_eq!(parse_size("1.5GiB"), Ok(3 << 29));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("-1MB").is_err());
        assert!(parse_size("0").is_err());
        assert!(parse_size("MB").is_err());
    }

    #[test]
    fn columns_are_checked_against_the_data() {
        use arrow::datatypes::{Field, TimeUnit};
        let d = parse(
            r#"{"name":"e","source":"a","target":"b","sort_by":["user","ts"],
                "partition_by":[{"name":"dt","from":"ts","transform":"day"}],
                "dedup":{"key":["id"],"order_by":"ts"}}"#,
        )
        .unwrap();
        let schema = Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("user", DataType::Int64, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        ]);
        d.check_columns(&schema).unwrap();
        let no_user = Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
        ]);
        let (field, msg) = field_of(d.check_columns(&no_user).unwrap_err());
        assert_eq!(field, "sort_by[0]");
        assert!(msg.contains("\"user\"") && msg.contains("id, ts"), "{msg}");
        let string_ts = Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("user", DataType::Int64, true),
            Field::new("ts", DataType::Utf8, true),
        ]);
        let (field, _) = field_of(d.check_columns(&string_ts).unwrap_err());
        assert_eq!(field, "partition_by[0].transform");
        let clash = Schema::new(vec![
            Field::new("id", DataType::Utf8, false),
            Field::new("user", DataType::Int64, true),
            Field::new("ts", DataType::Timestamp(TimeUnit::Microsecond, None), true),
            Field::new("dt", DataType::Utf8, true),
        ]);
        let (field, _) = field_of(d.check_columns(&clash).unwrap_err());
        assert_eq!(field, "partition_by[0].name");
    }
}
