//! `ddl`: the manifest's snapshot seen as a query engine table, rendered for a dialect.

use super::Table;
use crate::ddl::{self, Dialect, Mode, PartitionEntry, TableShape};
use crate::error::{Error, Result};
use crate::manifest::load_snapshot;
use crate::model::hive::PartitionValues;
use crate::model::schema::decode_schema;
use crate::model::snapshot::Snapshot;
use serde::Serialize;

#[derive(Clone, Debug)]
pub struct DdlOptions {
    pub dialect: Dialect,
    pub mode: Mode,
    /// With [`Mode::Since`]: the version the reader is registered at now.
    pub since_version: Option<u64>,
    /// The version to describe; the newest when absent.
    pub version: Option<u64>,
    pub database: Option<String>,
    /// The table's name in the engine; the definition's name when absent.
    pub name: Option<String>,
    pub stage: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct DdlReport {
    pub table: String,
    pub dialect: Dialect,
    pub mode: Mode,
    pub version: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since_version: Option<u64>,
    /// Each a complete statement, without the terminating `;`.
    pub statements: Vec<String>,
}

pub async fn ddl(table: &Table, options: &DdlOptions) -> Result<DdlReport> {
    let snapshot = snapshot_at(table, options.version).await?;
    let shape = shape(table, &snapshot, options)?;
    let before = match (options.mode, options.since_version) {
        (Mode::Since, Some(since)) => {
            if since > snapshot.version {
                return Err(Error::Usage(format!(
                    "--since-version {since} is newer than version {} being described",
                    snapshot.version
                )));
            }
            let old = snapshot_at(table, Some(since)).await?;
            Some(self::shape(table, &old, options)?)
        }
        (Mode::Since, None) => {
            return Err(Error::Usage("--since-version needs a version".into()));
        }
        _ => None,
    };
    let statements = ddl::render(options.dialect, &shape, options.mode, before.as_ref())
        .map_err(|e| Error::Usage(format!("{} DDL for {}: {e}", options.dialect, shape.table)))?;
    Ok(DdlReport {
        table: snapshot.table,
        dialect: options.dialect,
        mode: options.mode,
        version: snapshot.version,
        since_version: options
            .since_version
            .filter(|_| options.mode == Mode::Since),
        statements,
    })
}

async fn snapshot_at(table: &Table, version: Option<u64>) -> Result<Snapshot> {
    let name = &table.definition.name;
    let found = match version {
        None => table.snapshot.clone(),
        Some(v) => load_snapshot(table.manifest.as_ref(), name, v).await?,
    };
    found.ok_or_else(|| match (version, table.base_version()) {
        (_, None) => Error::Usage(format!(
            "{name} has no committed version yet: run compact first"
        )),
        (Some(v), Some(newest)) => Error::Usage(format!(
            "{name} has no version {v} (expired by vacuum, or not yet written); the newest is {newest}"
        )),
        (None, Some(_)) => Error::Usage(format!("{name} has no snapshot")),
    })
}

/// The snapshot as an engine sees it: data columns, string partition columns, and each
/// partition's committed folder and files.
pub fn shape(table: &Table, snapshot: &Snapshot, options: &DdlOptions) -> Result<TableShape> {
    let schema = match &snapshot.schema {
        Some(encoded) => decode_schema(encoded).map_err(Error::Manifest)?,
        None => {
            return Err(Error::Manifest(format!(
                "version {} of {} records no schema",
                snapshot.version, snapshot.table
            )));
        }
    };
    let mut partitions = Vec::with_capacity(snapshot.partitions.len());
    let mut keys: Option<Vec<String>> = None;
    for (path, state) in &snapshot.partitions {
        let values = PartitionValues::parse(path).ok_or_else(|| {
            Error::Manifest(format!("partition {path:?} is not a key=value path"))
        })?;
        let these: Vec<String> = values.0.iter().map(|(k, _)| k.clone()).collect();
        match &keys {
            Some(first) if *first != these => {
                return Err(Error::Manifest(format!(
                    "partition {path:?} has the keys [{}], others [{}]",
                    these.join(", "),
                    first.join(", ")
                )));
            }
            Some(_) => {}
            None => keys = Some(these),
        }
        let Some(first) = state.files.first() else {
            continue;
        };
        partitions.push(PartitionEntry {
            values: values.0.into_iter().map(|(_, v)| v).collect(),
            folder: first
                .path
                .rsplit_once('/')
                .map_or("", |(p, _)| p)
                .to_string(),
            files: state.files.iter().map(|f| f.path.clone()).collect(),
        });
    }
    let partition_columns: Vec<String> = match &snapshot.definition.partition_by {
        Some(fields) => fields.iter().map(|f| f.name.clone()).collect(),
        None => keys.unwrap_or_default(),
    };
    let columns = schema
        .fields()
        .iter()
        .filter(|f| !partition_columns.contains(f.name()))
        .cloned()
        .collect();
    Ok(TableShape {
        database: options.database.clone(),
        table: options
            .name
            .clone()
            .unwrap_or_else(|| snapshot.table.clone()),
        root: table.target.display(""),
        columns,
        partition_columns,
        partitions,
        stage: options.stage.clone(),
    })
}
