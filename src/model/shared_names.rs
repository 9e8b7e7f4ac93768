//! One allocation per distinct source path or partition name in a decoded manifest
//! document.
//!
//! A document names every source file once per partition it feeds (~30 times on a
//! table of late events) and every partition once per source file that feeds it.
//! Decoded one string per mention, a table of 4,000 source files held ~125,000
//! copies of its 4,000 paths; decoded through [`decode`], equal names in one
//! document share one allocation, as they do in a run's own snapshot. (Names in
//! different documents, a checkpoint and the commits after it, are still apart.)

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer, Error, Visitor};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::sync::Arc;

/// Names met so far, one copy of each: what every holder of an equal name shares.
#[derive(Default)]
pub struct Names(HashSet<Arc<str>>);

impl Names {
    /// The copy of `name` met before, or a new one, kept for whoever meets it next.
    pub fn share(&mut self, name: &str) -> Arc<str> {
        match self.0.get(name) {
            Some(shared) => shared.clone(),
            None => {
                let new: Arc<str> = Arc::from(name);
                self.0.insert(new.clone());
                new
            }
        }
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

thread_local! {
    /// Names met by the [`decode`] running on this thread (decoding is synchronous,
    /// so a document is decoded on one thread from start to end).
    static MET: RefCell<Option<Names>> = const { RefCell::new(None) };
}

/// Decodes a JSON document, sharing equal names within it.
pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    MET.with(|met| *met.borrow_mut() = Some(Names::default()));
    let decoded = serde_json::from_slice(bytes);
    MET.with(|met| *met.borrow_mut() = None);
    decoded
}

/// `name` as the copy met before in this document (a new one outside [`decode`]).
fn share(name: &str) -> Arc<str> {
    MET.with(|met| match met.borrow_mut().as_mut() {
        None => Arc::from(name),
        Some(met) => met.share(name),
    })
}

/// A name decoded through [`share`].
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Shared(Arc<str>);

impl<'de> Deserialize<'de> for Shared {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name;
        impl Visitor<'_> for Name {
            type Value = Shared;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: Error>(self, name: &str) -> Result<Shared, E> {
                Ok(Shared(share(name)))
            }
        }
        deserializer.deserialize_str(Name)
    }
}

/// For `#[serde(deserialize_with)]` on a set of names.
pub fn set<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BTreeSet<Arc<str>>, D::Error> {
    let names = Vec::<Shared>::deserialize(deserializer)?;
    Ok(names.into_iter().map(|n| n.0).collect())
}

/// For `#[serde(deserialize_with)]` on a map keyed by names.
pub fn map<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<Arc<str>, u64>, D::Error> {
    let named = BTreeMap::<Shared, u64>::deserialize(deserializer)?;
    Ok(named.into_iter().map(|(n, v)| (n.0, v)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::snapshot::{PartitionState, SourceRecord};

    #[derive(Debug, PartialEq, Deserialize)]
    struct Document {
        partitions: BTreeMap<String, PartitionState>,
        sources: BTreeMap<String, SourceRecord>,
    }

    const DOCUMENT: &str = r#"{
        "partitions": {
            "hour=1": {"files": [], "consumed": ["in/a.parquet", "in/b.parquet"], "sort_by": []},
            "hour=2": {"files": [], "consumed": ["in/a.parquet"], "sort_by": []}
        },
        "sources": {
            "in/a.parquet": {"size": 10, "rows": 3, "feeds": {"hour=1": 2, "hour=2": 1}},
            "in/b.parquet": {"size": 20, "rows": 4, "feeds": {"hour=1": 4}}
        }
    }"#;

    fn first_consumed(doc: &Document, partition: &str) -> Arc<str> {
        doc.partitions[partition]
            .consumed
            .iter()
            .next()
            .cloned()
            .unwrap_or_else(|| "".into())
    }

    fn feed_name(doc: &Document, source: &str, partition: &str) -> Arc<str> {
        let feeds = &doc.sources[source].feeds;
        feeds
            .keys()
            .find(|k| &***k == partition)
            .cloned()
            .unwrap_or_else(|| "".into())
    }

    #[test]
    fn equal_names_in_one_document_share_one_copy() -> serde_json::Result<()> {
        let shared: Document = decode(DOCUMENT.as_bytes())?;
        let plain: Document = serde_json::from_slice(DOCUMENT.as_bytes())?;
        assert_eq!(shared, plain);
        // the same path consumed by two partitions, the same partition fed by two files
        let (one, two) = (
            first_consumed(&shared, "hour=1"),
            first_consumed(&shared, "hour=2"),
        );
        assert_eq!(&*one, "in/a.parquet");
        assert!(Arc::ptr_eq(&one, &two));
        let (a, b) = (
            feed_name(&shared, "in/a.parquet", "hour=1"),
            feed_name(&shared, "in/b.parquet", "hour=1"),
        );
        assert!(Arc::ptr_eq(&a, &b));
        // decoded outside `decode`, or by another call, nothing is shared
        let (one, two) = (
            first_consumed(&plain, "hour=1"),
            first_consumed(&plain, "hour=2"),
        );
        assert!(!Arc::ptr_eq(&one, &two));
        let again: Document = decode(DOCUMENT.as_bytes())?;
        let other = first_consumed(&again, "hour=1");
        assert!(!Arc::ptr_eq(&other, &first_consumed(&shared, "hour=1")));
        Ok(())
    }

    #[test]
    fn a_name_that_is_not_a_string_is_refused() {
        let bad = DOCUMENT.replace(r#"["in/a.parquet"]"#, "[7]");
        let refused = decode::<Document>(bad.as_bytes());
        assert!(refused.is_err_and(|e| e.to_string().contains("a string")));
    }
}
