//! Taking stock of the source: list it, scan the files the manifest does not know yet
//! (only the columns routing needs), and merge their schemas into the table's.

use super::{Progress, Table};
use crate::error::{Error, Result};
use crate::exec::route::locate_rows;
use crate::exec::tasks::run_all;
use crate::exec::{Router, read};
use crate::model::schema::{self, merge_schemas, normalize_schema};
use crate::plan::{self, ListedFile, ScannedFile};
use crate::storage::Location;
use arrow::datatypes::Schema;
use std::collections::{BTreeMap, HashMap};

pub struct Inventory {
    /// In delivery order.
    pub listing: Vec<ListedFile>,
    pub scans: HashMap<String, ScannedFile>,
    pub router: Router,
    /// The table schema with every scanned file merged in.
    pub schema: Schema,
}

pub async fn take(table: &Table, jobs: usize, progress: &dyn Progress) -> Result<Inventory> {
    let listing = plan::delivery_order(table.source.list_files().await?);
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
        async move { scan(&source, &router, path, size).await }
    });
    let scanned = run_all(jobs.max(1) * 2, scans, |_| progress.advance(1)).await?;
    progress.finish();

    let mut table_schema = match table.snapshot.as_ref().and_then(|s| s.schema.as_deref()) {
        Some(encoded) => schema::decode_schema(encoded).map_err(Error::Manifest)?,
        None => Schema::empty(),
    };
    for (path, _, file_schema) in &scanned {
        table_schema = merge_into(&table_schema, file_schema, &table.source.display(path))?;
    }
    Ok(Inventory {
        listing,
        scans: scanned.into_iter().map(|(p, s, _)| (p, s)).collect(),
        router,
        schema: table_schema,
    })
}

/// Reads the routing columns of a new source file: how many of its rows go to each
/// partition, and its schema.
async fn scan(
    source: &Location,
    router: &Router,
    path: String,
    size: u64,
) -> Result<(String, ScannedFile, Schema)> {
    let opened = read::open(source, &path, size).await?;
    let file_schema = opened.schema().as_ref().clone();
    let rows = opened.num_rows();
    let mut feeds: BTreeMap<String, u64> = BTreeMap::new();
    locate_rows(router, opened, &path, |partition, _, r| {
        *feeds.entry(partition).or_default() += r.len() as u64;
    })
    .await?;
    Ok((path, ScannedFile { rows, feeds }, file_schema))
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
