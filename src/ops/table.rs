//! Opening a table from the TABLE argument: a definition file, or the name of a table
//! registered in a manifest store.

use crate::error::{Error, Result};
use crate::manifest::{self, ManifestStore};
use crate::model::definition::TableDefinition;
use crate::model::snapshot::Snapshot;
use crate::storage::Location;
use std::path::Path;

pub struct Table {
    pub definition: TableDefinition,
    pub source: Location,
    pub target: Location,
    pub manifest: Box<dyn ManifestStore>,
    /// The newest committed snapshot when the table was opened.
    pub snapshot: Option<Snapshot>,
}

impl Table {
    /// `table` is a definition file path, or a registered table name (then `manifest` is required).
    pub async fn open(table: &str, manifest_url: Option<&str>) -> Result<Self> {
        let path = Path::new(table);
        let from_file = path.is_file();
        if !from_file && (table.ends_with(".json") || table.contains('/')) {
            return Err(Error::Usage(format!(
                "{table}: no such table definition file (a registered table is named without a path, and needs --manifest)"
            )));
        }
        let (definition, manifest_url) = if from_file {
            let definition = TableDefinition::load(path)?;
            let url = match manifest_url {
                Some(u) => manifest::parse_url(u)?,
                None => manifest::default_url_for(&definition.target)?,
            };
            (Some(definition), url)
        } else {
            let url = manifest_url.ok_or_else(|| {
                Error::Usage(format!(
                    "{table}: not a definition file; to use a registered table of that name, pass --manifest URL (or set LAKETIDY_MANIFEST)"
                ))
            })?;
            (None, manifest::parse_url(url)?)
        };
        let manifest = manifest::open(&manifest_url).await?;
        let name = definition
            .as_ref()
            .map_or(table, |d| d.name.as_str())
            .to_string();
        let snapshot = manifest::load_latest(manifest.as_ref(), &name).await?;
        let definition = match (definition, &snapshot) {
            (Some(d), snapshot) => {
                if let Some(s) = snapshot {
                    check_compatible(&d, s)?;
                }
                d
            }
            (None, Some(s)) => TableDefinition::from_doc(s.definition.clone(), Path::new("/"))?,
            (None, None) => {
                let known = manifest.list_tables().await.unwrap_or_default();
                return Err(Error::Usage(format!(
                    "no table {table:?} in {}{}",
                    manifest.describe(),
                    if known.is_empty() {
                        String::new()
                    } else {
                        format!("; it has: {}", known.join(", "))
                    }
                )));
            }
        };
        Ok(Table {
            source: Location::open(&definition.source)?,
            target: Location::open(&definition.target)?,
            definition,
            manifest,
            snapshot,
        })
    }

    pub fn base_version(&self) -> Option<u64> {
        self.snapshot.as_ref().map(|s| s.version)
    }
}

/// Changes a definition may not make to a table that already has commits.
fn check_compatible(definition: &TableDefinition, snapshot: &Snapshot) -> Result<()> {
    let committed = &snapshot.definition;
    if committed.target != definition.doc.target {
        return Err(Error::definition(
            "target",
            format!(
                "is {} but version {} of {} lives in {}; laketidy does not move tables",
                definition.doc.target, snapshot.version, snapshot.table, committed.target
            ),
        ));
    }
    if committed.partition_by != definition.doc.partition_by {
        return Err(Error::definition(
            "partition_by",
            format!(
                "differs from the partitioning in force at version {}; repartitioning an existing table is not supported yet \
                 (restore the old partition_by, or compact into a new target)",
                snapshot.version
            ),
        ));
    }
    Ok(())
}
