//! Partition values of any text become one folder each (`key=value`), read back as
//! the same values, and a folder is never `.`, `..`, empty or hidden from readers.
//!
//! Input: lines of `key<TAB>value`; a value of a single NUL stands for null.
#![no_main]

use laketidy::model::hive::{self, DEFAULT_PARTITION, PartitionValues};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let pairs: Vec<(String, Option<String>)> = text
        .split('\n')
        .filter_map(|line| {
            let (key, value) = line.split_once('\t')?;
            Some((key.to_string(), (value != "\0").then(|| value.to_string())))
        })
        .collect();
    for (key, value) in &pairs {
        assert_eq!(&hive::unescape(&hive::escape(key)), key);
        if let Some(value) = value {
            assert_eq!(&hive::unescape(&hive::escape(value)), value);
        }
    }
    // definitions refuse empty partition names and names readers would hide
    if pairs.is_empty() || pairs.iter().any(|(k, _)| k.is_empty() || k.starts_with(['_', '.'])) {
        return;
    }
    let values = PartitionValues(pairs.clone());
    let path = values.path();
    let folders: Vec<&str> = path.split('/').collect();
    assert_eq!(folders.len(), pairs.len(), "a value left its folder: {path:?}");
    for folder in &folders {
        assert!(!matches!(*folder, "" | "." | ".."), "{path:?}");
    }
    assert!(!hive::is_hidden(&path), "readers would skip {path:?}");
    // empty strings and Hive's null marker are null, as in Hive
    let expected: Vec<(String, Option<String>)> = pairs
        .iter()
        .map(|(k, v)| {
            let v = v.clone().filter(|v| !v.is_empty() && v != DEFAULT_PARTITION);
            (k.clone(), v)
        })
        .collect();
    let back = PartitionValues::parse(&path).unwrap_or_else(|| panic!("{path:?} does not parse"));
    assert_eq!(back.0, expected, "{path:?}");
    let keys = hive::folder_keys(&format!("{path}/part-00000.parquet"));
    let expected_keys: Vec<(String, String)> = expected
        .iter()
        .map(|(k, v)| (k.clone(), v.clone().unwrap_or_else(|| DEFAULT_PARTITION.to_string())))
        .collect();
    assert_eq!(keys, expected_keys, "{path:?}");
});
