//! Taking stock of the source: list it, scan the files the manifest does not know yet
//! (only the columns routing needs), and merge their schemas into the table's.

use super::{Progress, Table};
use crate::error::{Error, Result};
use crate::exec::route::locate_rows;
use crate::exec::tasks::run_all;
use crate::exec::{Router, read};
use crate::model::schema::{self, merge_schemas, normalize_schema};
use crate::model::shared_names::Names;
use crate::model::snapshot::QuarantinedFile;
use crate::plan::{self, ListedFile, Quarantine, ScannedFile};
use crate::storage::Location;
use arrow::datatypes::Schema;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

pub struct Inventory {
    /// In delivery order, without the quarantined files.
    pub listing: Vec<ListedFile>,
    pub scans: HashMap<String, ScannedFile>,
    pub router: Router,
    /// The table schema with every scanned file merged in.
    pub schema: Schema,
    pub quarantine: Quarantine,
}

/// What a run does with a source file it cannot use (guarantee 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnBadInput {
    /// Refuse the whole run (exit 3): nothing is committed.
    Stop,
    /// Record the file in the manifest, leave it unconsumed, go on with the rest.
    Quarantine,
}

/// Lists and scans the source. `on_bad` decides what a file that cannot be used does to
/// the run; `set_aside` holds files this run already refused in a later step (they are
/// quarantined again without being read).
pub async fn take(
    table: &Table,
    jobs: usize,
    on_bad: OnBadInput,
    set_aside: &BTreeMap<String, QuarantinedFile>,
    progress: &dyn Progress,
) -> Result<Inventory> {
    let listed = plan::delivery_order(table.source.list_files().await?);
    let recorded = table
        .snapshot
        .as_ref()
        .map(|s| s.quarantined.clone())
        .unwrap_or_default();
    let (mut listing, mut quarantine) = sort_out(listed, &recorded, set_aside);
    let router = Router::new(&table.definition, &listing)?;
    let to_scan = plan::files_to_scan(&listing, table.snapshot.as_ref());
    progress.start(
        "scanning new source files",
        to_scan.len() as u64,
        super::Unit::Files,
    );
    let scans = to_scan.into_iter().map(|file| {
        let (source, router) = (table.source.clone(), router.clone());
        let (path, size) = (file.path.clone(), file.size);
        async move {
            match scan(&source, &router, &path, size).await {
                Ok(found) => Ok((path, Ok(found))),
                // set aside; anything else (storage, say) still stops the run
                Err(error @ Error::BadInput { .. }) if on_bad == OnBadInput::Quarantine => {
                    Ok((path, Err(error)))
                }
                Err(error) => Err(error),
            }
        }
    });
    let scanned = run_all(jobs.max(1) * 2, scans, |_| progress.advance(1)).await?;
    progress.finish();

    let mut table_schema = match table.snapshot.as_ref().and_then(|s| s.schema.as_deref()) {
        Some(encoded) => schema::decode_schema(encoded).map_err(Error::Manifest)?,
        None => Schema::empty(),
    };
    let mut scans = HashMap::new();
    let mut names = Names::default();
    // in delivery order, so that the earliest file's column types win
    for (path, outcome) in scanned {
        let merged = outcome.and_then(|(found, file_schema)| {
            let merged = merge_into(&table_schema, &file_schema, &table.source.display(&path))?;
            Ok((found, merged))
        });
        match merged {
            Ok((mut found, merged)) => {
                table_schema = merged;
                found.feeds = share_names(&mut names, std::mem::take(&mut found.feeds));
                scans.insert(path, found);
            }
            Err(error) if on_bad == OnBadInput::Quarantine => {
                if let Some(file) = listing.iter().find(|f| f.path == path) {
                    quarantine
                        .added
                        .insert(path.clone(), Quarantine::record(file, &error));
                }
            }
            Err(error) => return Err(error),
        }
    }
    listing.retain(|f| !quarantine.added.contains_key(&f.path));
    // replaced by another bad file: quarantined again, not released
    quarantine
        .released
        .retain(|path| !quarantine.added.contains_key(path));
    Ok(Inventory {
        listing,
        scans,
        router,
        schema: table_schema,
        quarantine,
    })
}

/// Splits the listing into the files to use and the quarantine: files quarantined
/// earlier stay out while they are unchanged; a replaced or deleted one is released.
fn sort_out(
    listed: Vec<ListedFile>,
    recorded: &BTreeMap<String, QuarantinedFile>,
    set_aside: &BTreeMap<String, QuarantinedFile>,
) -> (Vec<ListedFile>, Quarantine) {
    let mut quarantine = Quarantine::default();
    let mut listing = Vec::with_capacity(listed.len());
    let mut seen = HashSet::new();
    for file in listed {
        seen.insert(file.path.clone());
        if let Some(record) = set_aside.get(&file.path) {
            quarantine.added.insert(file.path.clone(), record.clone());
            continue;
        }
        match recorded.get(&file.path) {
            Some(record) if record.size == file.size && record.e_tag == file.e_tag => {
                quarantine.kept.insert(file.path.clone(), record.clone());
                continue;
            }
            Some(_) => quarantine.released.push(file.path.clone()),
            None => {}
        }
        listing.push(file);
    }
    quarantine.released.extend(
        recorded
            .keys()
            .filter(|path| !seen.contains(*path))
            .cloned(),
    );
    quarantine.released.sort();
    (listing, quarantine)
}

/// The feeds with each partition name replaced by the one copy in `names`: a run
/// scans thousands of files that feed the same few hundred partitions.
fn share_names(names: &mut Names, feeds: BTreeMap<Arc<str>, u64>) -> BTreeMap<Arc<str>, u64> {
    feeds
        .into_iter()
        .map(|(name, rows)| (names.share(&name), rows))
        .collect()
}

/// Reads the routing columns of a new source file: how many of its rows go to each
/// partition, and its schema.
async fn scan(
    source: &Location,
    router: &Router,
    path: &str,
    size: u64,
) -> Result<(ScannedFile, Schema)> {
    let opened = read::open(source, path, size).await?;
    let file_schema = opened.schema().as_ref().clone();
    let rows = opened.num_rows();
    let mut feeds: BTreeMap<String, u64> = BTreeMap::new();
    locate_rows(router, opened, path, |partition, _, r| {
        *feeds.entry(partition).or_default() += r.len() as u64;
    })
    .await?;
    let feeds = feeds.into_iter().map(|(p, r)| (Arc::from(p), r)).collect();
    Ok((ScannedFile { rows, feeds }, file_schema))
}

/// Merges one file's schema into the table's, or says which column of which file broke it.
pub fn merge_into(table_schema: &Schema, file_schema: &Schema, file: &str) -> Result<Schema> {
    let merged = merge_schemas(table_schema, &normalize_schema(file_schema)).map_err(|e| Error::BadInput {
        file: file.to_string(),
        column: Some(e.column.clone()),
        reason: format!(
            "has type {} here, but earlier files and the table have {}; fix the writer, or rewrite the file with a compatible type",
            e.incoming, e.existing
        ),
    })?;
    // Hive, Athena and Spark resolve column names without case: two such columns would
    // read as one, so the table cannot have both.
    let mut seen: std::collections::HashMap<String, &str> = std::collections::HashMap::new();
    for field in merged.fields() {
        if let Some(other) = seen.insert(field.name().to_lowercase(), field.name()) {
            return Err(Error::BadInput {
                file: file.to_string(),
                column: Some(field.name().clone()),
                reason: format!(
                    "columns {other:?} and {:?} differ only in case; Hive, Athena and Spark would read them as one column. Rename one in the writer",
                    field.name()
                ),
            });
        }
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_feeding_one_partition_share_its_name() {
        let feeds = |names: &[&str]| -> BTreeMap<Arc<str>, u64> {
            names.iter().map(|&n| (Arc::from(n), 1)).collect()
        };
        let mut names = Names::default();
        let first = share_names(&mut names, feeds(&["dt=1/hour=0", "dt=1/hour=1"]));
        let second = share_names(&mut names, feeds(&["dt=1/hour=1", "dt=1/hour=2"]));
        let key = |map: &BTreeMap<Arc<str>, u64>, name: &str| {
            map.keys().find(|k| &***k == name).cloned().unwrap()
        };
        assert!(Arc::ptr_eq(
            &key(&first, "dt=1/hour=1"),
            &key(&second, "dt=1/hour=1")
        ));
        assert_eq!(names.len(), 3);
        assert_eq!(second.values().sum::<u64>(), 2, "rows are kept");
    }
}
