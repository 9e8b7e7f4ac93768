//! Routing: which target partition each row belongs to, from the definition's
//! transforms over data columns or the source's own `key=value` folders.

use super::read::OpenFile;
use crate::error::{Error, Result};
use crate::model::definition::{PartitionField, TableDefinition};
use crate::model::hive::{self, PartitionValues};
use crate::model::transform::{Coded, Transform};
use crate::plan::ListedFile;
use arrow::array::{RecordBatch, RecordBatchOptions};
use arrow::datatypes::Schema;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Clone, Debug)]
enum Spec {
    /// `partition_by` as written.
    Fields(Vec<PartitionField>),
    /// No `partition_by`: the source's own folder keys, which every file must share.
    SourceFolders(Vec<String>),
}

#[derive(Clone, Debug)]
pub struct Router {
    spec: Spec,
}

/// Where each row of an opened source file goes. Only the routing columns the file
/// has are read (none when the path alone decides). `each` gets every group of rows
/// with its partition: the rows as `offset + row`, positions within the file.
pub async fn locate_rows(
    router: &Router,
    opened: OpenFile,
    path: &str,
    mut each: impl FnMut(String, u64, &[u32]),
) -> Result<()> {
    let schema = opened.schema();
    let columns: Vec<&str> = router
        .columns()
        .into_iter()
        .filter(|c| schema.field_with_name(c).is_ok())
        .collect();
    if columns.is_empty() {
        let probe = RecordBatch::try_new_with_options(
            Arc::new(Schema::empty()),
            vec![],
            &RecordBatchOptions::new().with_row_count(Some(opened.num_rows() as usize)),
        )?;
        for (partition, rows) in router.route(&probe, path)? {
            each(partition, 0, &rows);
        }
        return Ok(());
    }
    let mut offset = 0u64;
    opened
        .read_each(Some(&columns), |batch| {
            for (partition, rows) in router.route(&batch, path)? {
                each(partition, offset, &rows);
            }
            offset += batch.num_rows() as u64;
            Ok(())
        })
        .await?;
    Ok(())
}

impl Router {
    /// Checks, for a definition without `partition_by`, that every file has the same folder keys.
    pub fn new(definition: &TableDefinition, listing: &[ListedFile]) -> Result<Self> {
        let spec = match &definition.partition_by {
            Some(fields) => Spec::Fields(fields.clone()),
            None => {
                let mut keys: Option<(Vec<String>, &str)> = None;
                for file in listing {
                    let these: Vec<String> = hive::folder_keys(&file.path)
                        .into_iter()
                        .map(|(k, _)| k)
                        .collect();
                    match &keys {
                        None => keys = Some((these, &file.path)),
                        Some((first, first_path)) if *first != these => {
                            return Err(Error::bad_input(
                                &file.path,
                                format!(
                                    "its folders have the partition keys [{}] but {first_path} has [{}]; \
                                     add partition_by to the table definition to choose the partitions",
                                    these.join(", "),
                                    first.join(", ")
                                ),
                            ));
                        }
                        Some(_) => {}
                    }
                }
                Spec::SourceFolders(keys.map(|k| k.0).unwrap_or_default())
            }
        };
        Ok(Router { spec })
    }

    /// The data columns routing reads (a scan reads only these).
    pub fn columns(&self) -> Vec<&str> {
        match &self.spec {
            Spec::Fields(fields) => fields.iter().map(|f| f.from.as_str()).collect(),
            Spec::SourceFolders(_) => Vec::new(),
        }
    }

    /// The partition keys, in path order.
    pub fn keys(&self) -> Vec<String> {
        match &self.spec {
            Spec::Fields(fields) => fields.iter().map(|f| f.name.clone()).collect(),
            Spec::SourceFolders(keys) => keys.clone(),
        }
    }

    /// Groups the rows of `batch` (read from the source file `file`) by target partition.
    /// Row indices keep their order within each group.
    pub fn route(&self, batch: &RecordBatch, file: &str) -> Result<Vec<(String, Vec<u32>)>> {
        let rows = batch.num_rows();
        let folders = || hive::folder_keys(file);
        let fields = match &self.spec {
            Spec::SourceFolders(_) => {
                let values =
                    PartitionValues(folders().into_iter().map(|(k, v)| (k, Some(v))).collect());
                return Ok(if rows == 0 {
                    vec![]
                } else {
                    vec![(values.path(), (0..rows as u32).collect())]
                });
            }
            Spec::Fields(fields) => fields,
        };
        // per field: a code per row, and the distinct values the codes stand for
        let mut columns: Vec<Coded> = Vec::with_capacity(fields.len());
        for field in fields {
            let coded = match batch.column_by_name(&field.from) {
                Some(column) => {
                    field
                        .transform
                        .apply(column)
                        .map_err(|reason| Error::BadInput {
                            file: file.to_string(),
                            column: Some(field.from.clone()),
                            reason,
                        })?
                }
                None => {
                    let value = folders()
                        .into_iter()
                        .find(|(k, _)| *k == field.from)
                        .map(|(_, v)| v);
                    match (value, field.transform) {
                        (Some(v), Transform::Identity) => Coded {
                            codes: vec![0; rows],
                            dictionary: vec![Some(Arc::from(v.as_str()))],
                        },
                        (Some(_), t) => {
                            return Err(Error::definition(
                                "partition_by",
                                format!(
                                    "{:?} is a folder key of {file}, not a data column; transform {t} needs a timestamp or date column",
                                    field.from
                                ),
                            ));
                        }
                        (None, _) => {
                            return Err(Error::BadInput {
                                file: file.to_string(),
                                column: Some(field.from.clone()),
                                reason: format!(
                                    "has no column {:?} and no {}= folder to take the partition {:?} from",
                                    field.from, field.from, field.name
                                ),
                            });
                        }
                    }
                }
            };
            columns.push(coded);
        }
        // one number per combination of values: a mixed-radix code over the fields
        let combinations = columns.iter().try_fold(1u128, |acc, c| {
            acc.checked_mul(c.dictionary.len().max(1) as u128)
        });
        if combinations.is_none() {
            return Err(Error::bad_input(
                file,
                "has too many distinct partition value combinations in one batch",
            ));
        }
        // rows by combination, in order of first appearance
        let mut groups: HashMap<u128, usize, foldhash::fast::RandomState> = HashMap::default();
        let mut grouped: Vec<(usize, Vec<u32>)> = Vec::new();
        let mut last: Option<(u128, usize)> = None;
        for row in 0..rows {
            let mut key = 0u128;
            for c in &columns {
                key = key * c.dictionary.len() as u128 + c.codes[row] as u128;
            }
            let group = match last {
                Some((k, group)) if k == key => group,
                _ => {
                    let group = *groups.entry(key).or_insert_with(|| {
                        grouped.push((row, Vec::new()));
                        grouped.len() - 1
                    });
                    last = Some((key, group));
                    group
                }
            };
            grouped[group].1.push(row as u32);
        }
        Ok(grouped
            .into_iter()
            .map(|(first, rows)| {
                let values = fields
                    .iter()
                    .zip(&columns)
                    .map(|(f, c)| (f.name.clone(), c.value(first).map(|v| v.to_string())))
                    .collect();
                (PartitionValues(values).path(), rows)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array, StringArray, TimestampMicrosecondArray};
    use std::path::Path;

    fn def(extra: &str) -> TableDefinition {
        TableDefinition::parse(
            &format!(r#"{{"name":"t","source":"/raw","target":"/lake"{extra}}}"#),
            Path::new("/"),
        )
        .unwrap()
    }

    fn listed(path: &str) -> ListedFile {
        ListedFile {
            path: path.into(),
            size: 1,
            e_tag: None,
            last_modified: 0,
        }
    }

    #[test]
    fn rows_go_to_their_event_time_partition() {
        let d = def(
            r#","partition_by":[{"name":"dt","from":"ts","transform":"day"},{"name":"hour","from":"ts","transform":"hour"}]"#,
        );
        let r = Router::new(&d, &[]).unwrap();
        let h = 3_600_000_000i64;
        let batch = RecordBatch::try_from_iter(vec![(
            "ts",
            Arc::new(TimestampMicrosecondArray::from(vec![
                Some(h),
                Some(25 * h),
                Some(h + 5),
                None,
            ])) as ArrayRef,
        )])
        .unwrap();
        let groups = r.route(&batch, "dt=2024-01-01/hour=00/f.parquet").unwrap();
        assert_eq!(
            groups,
            vec![
                ("dt=1970-01-01/hour=01".to_string(), vec![0, 2]),
                ("dt=1970-01-02/hour=01".to_string(), vec![1]),
                (
                    "dt=__HIVE_DEFAULT_PARTITION__/hour=__HIVE_DEFAULT_PARTITION__".to_string(),
                    vec![3]
                ),
            ]
        );
    }

    #[test]
    fn identity_values_are_escaped_and_folder_keys_fill_in() {
        let d = def(
            r#","partition_by":[{"name":"region","from":"region"},{"name":"city","from":"city"}]"#,
        );
        let r = Router::new(&d, &[]).unwrap();
        let batch = RecordBatch::try_from_iter(vec![(
            "city",
            Arc::new(StringArray::from(vec!["a/b", "x=y"])) as ArrayRef,
        )])
        .unwrap();
        let groups = r.route(&batch, "region=eu%3Awest/f.parquet").unwrap();
        assert_eq!(groups[0].0, "region=eu%3Awest/city=a%2Fb");
        assert_eq!(groups[1].0, "region=eu%3Awest/city=x%3Dy");
        let err = r.route(&batch, "other=1/f.parquet").unwrap_err();
        assert!(
            matches!(&err, Error::BadInput { column: Some(c), .. } if c == "region"),
            "{err}"
        );
    }

    #[test]
    fn without_partition_by_the_source_folders_are_kept() {
        let d = def("");
        let listing = [
            listed("dt=1/hour=2/a.parquet"),
            listed("dt=1/hour=3/b.parquet"),
        ];
        let r = Router::new(&d, &listing).unwrap();
        assert_eq!(r.keys(), vec!["dt", "hour"]);
        let batch = RecordBatch::try_from_iter(vec![(
            "n",
            Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef,
        )])
        .unwrap();
        assert_eq!(
            r.route(&batch, "dt=1/hour=3/b.parquet").unwrap(),
            vec![("dt=1/hour=3".to_string(), vec![0, 1])]
        );
        let mixed = [listed("dt=1/a.parquet"), listed("dt=1/hour=3/b.parquet")];
        assert!(matches!(
            Router::new(&d, &mixed),
            Err(Error::BadInput { .. })
        ));
    }
}
