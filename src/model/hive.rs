//! Hive-style partition paths (`key=value/key=value`): escaping so that no value can
//! leave its folder, decoding of source folders, and the canonical partition key.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Hive's folder name for a null (or empty) partition value.
pub const DEFAULT_PARTITION: &str = "__HIVE_DEFAULT_PARTITION__";

/// Characters Hive's `FileUtils.escapePathName` escapes, besides control characters.
fn needs_escape(c: char) -> bool {
    matches!(
        c,
        '"' | '#'
            | '%'
            | '\''
            | '*'
            | '/'
            | ':'
            | '='
            | '?'
            | '\\'
            | '\u{7f}'
            | '{'
            | '['
            | ']'
            | '^'
    ) || (c as u32) < 0x20
}

/// Escapes a key or value for use as one path segment, as Hive does (`%XX`).
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if needs_escape(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Decodes `%XX` sequences; anything that is not a valid escape is kept literally.
pub fn unescape(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The values of one partition, in the order of the partition spec. `None` is null.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PartitionValues(pub Vec<(String, Option<String>)>);

impl PartitionValues {
    /// The escaped relative folder, e.g. `dt=2024-03-01/hour=05`; empty when unpartitioned.
    pub fn path(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| {
                let value = match v.as_deref() {
                    None | Some("") => DEFAULT_PARTITION.to_string(),
                    Some(v) => escape(v),
                };
                format!("{}={}", escape(k), value)
            })
            .collect::<Vec<_>>()
            .join("/")
    }

    /// Parses a canonical partition path back into values.
    pub fn parse(path: &str) -> Option<Self> {
        if path.is_empty() {
            return Some(Self::default());
        }
        path.split('/')
            .map(|seg| {
                let (k, v) = seg.split_once('=')?;
                let value = (v != DEFAULT_PARTITION).then(|| unescape(v));
                Some((unescape(k), value))
            })
            .collect::<Option<Vec<_>>>()
            .map(PartitionValues)
    }
}

impl fmt::Display for PartitionValues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("(unpartitioned)")
        } else {
            f.write_str(&self.path())
        }
    }
}

/// The decoded `key=value` folders of a source-relative file path (the file name excluded).
pub fn folder_keys(relative_path: &str) -> Vec<(String, String)> {
    let mut segments: Vec<&str> = relative_path.split('/').collect();
    segments.pop();
    segments
        .into_iter()
        .filter_map(|seg| {
            let (k, v) = seg.split_once('=')?;
            (!k.is_empty()).then(|| (unescape(k), unescape(v)))
        })
        .collect()
}

/// Hive convention: a file or folder whose name starts with `_` or `.` is not data
/// (`_SUCCESS`, `_temporary/`, `.crc`, `_laketidy/`).
pub fn is_hidden(relative_path: &str) -> bool {
    relative_path
        .split('/')
        .any(|seg| seg.starts_with('_') || seg.starts_with('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_keeps_values_inside_their_folder() {
        let nasty = "a/b=c%d:e..\"'\n#";
        let escaped = escape(nasty);
        assert!(!escaped.contains('/'));
        assert!(!escaped.contains('='));
        assert_eq!(escaped, "a%2Fb%3Dc%25d%3Ae..%22%27%0A%23");
        assert_eq!(unescape(&escaped), nasty);
    }

    #[test]
    fn unicode_and_spaces_are_kept_as_is() {
        assert_eq!(escape("São Paulo ☃"), "São Paulo ☃");
    }

    #[test]
    fn broken_escapes_stay_literal() {
        assert_eq!(unescape("100%"), "100%");
        assert_eq!(unescape("%zz%4"), "%zz%4");
        assert_eq!(unescape("%41"), "A");
    }

    #[test]
    fn partition_paths_round_trip_with_nulls() {
        let values = PartitionValues(vec![
            ("dt".into(), Some("2024-03-01".into())),
            ("city".into(), Some("a/b".into())),
            ("x".into(), None),
        ]);
        let path = values.path();
        assert_eq!(
            path,
            "dt=2024-03-01/city=a%2Fb/x=__HIVE_DEFAULT_PARTITION__"
        );
        assert_eq!(PartitionValues::parse(&path), Some(values));
    }

    #[test]
    fn folder_keys_are_decoded_and_skip_plain_folders() {
        let keys = folder_keys("2024/03/dt=2024-03-01/hour=05/city=a%2Fb/file.parquet");
        assert_eq!(
            keys,
            vec![
                ("dt".to_string(), "2024-03-01".to_string()),
                ("hour".to_string(), "05".to_string()),
                ("city".to_string(), "a/b".to_string())
            ]
        );
    }

    #[test]
    fn hidden_names() {
        assert!(is_hidden("_SUCCESS"));
        assert!(is_hidden("dt=1/_temporary/0/part.parquet"));
        assert!(is_hidden("dt=1/.part.parquet.crc"));
        assert!(!is_hidden("dt=1/part_0.parquet"));
    }
}
