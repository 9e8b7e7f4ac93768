use super::*;
use crate::model::snapshot::{CommitInfo, PartitionState, SourceRecord};
use std::path::Path;

fn definition() -> TableDefinition {
    TableDefinition::parse(
        r#"{"name":"t","source":"/raw","target":"/lake","sort_by":["k"],"target_file_size":"1000"}"#,
        Path::new("/"),
    )
    .unwrap()
}

/// The plan with no quarantine and every partition selected.
fn plan_all(
    def: &TableDefinition,
    snapshot: Option<&Snapshot>,
    listing: &[ListedFile],
    scans: &HashMap<String, ScannedFile>,
) -> Result<Plan> {
    plan(
        def,
        snapshot,
        listing,
        scans.clone(),
        &Quarantine::default(),
        &Selection::default(),
    )
}

fn listed(path: &str, size: u64, at: i64) -> ListedFile {
    ListedFile {
        path: path.into(),
        size,
        e_tag: None,
        last_modified: at,
    }
}

fn scan(feeds: &[(&str, u64)]) -> ScannedFile {
    ScannedFile {
        rows: feeds.iter().map(|f| f.1).sum(),
        feeds: feeds.iter().map(|(p, r)| (Arc::from(*p), *r)).collect(),
    }
}

type Sources<'a> = &'a [(&'a str, u64, &'a [(&'a str, u64)])];

fn snapshot_with(
    definition: &TableDefinition,
    sources: Sources<'_>,
    consumed: &[(&str, &[&str])],
) -> Snapshot {
    let mut s = Snapshot {
        format_version: 1,
        table: "t".into(),
        version: 3,
        definition: definition.doc.clone(),
        schema: None,
        partitions: Default::default(),
        sources: Default::default(),
        quarantined: Default::default(),
        commit: CommitInfo {
            timestamp: String::new(),
            operation: "compact".into(),
            writer: String::new(),
            run_id: String::new(),
            metrics: Default::default(),
        },
    };
    for (path, size, feeds) in sources {
        let sc = scan(feeds);
        s.sources.insert(
            path.to_string(),
            SourceRecord {
                size: *size,
                e_tag: None,
                rows: sc.rows,
                feeds: sc.feeds,
            },
        );
    }
    for (partition, files) in consumed {
        s.partitions.insert(
            partition.to_string(),
            PartitionState {
                files: vec![DataFile {
                    path: format!("{partition}/run-1/part-0.parquet"),
                    bytes: 500,
                    rows: 10,
                    sort_min: None,
                    sort_max: None,
                }],
                consumed: files.iter().map(|&f| Arc::from(f)).collect(),
                sort_by: vec!["k".into()],
                dedup: None,
            },
        );
    }
    s
}

#[test]
fn first_run_makes_every_fed_partition_dirty_in_path_order() {
    let def = definition();
    let listing = delivery_order(vec![
        listed("h=2/b.parquet", 100, 2),
        listed("h=1/a.parquet", 100, 1),
    ]);
    assert_eq!(listing[0].path, "h=1/a.parquet");
    let scans = HashMap::from([
        (
            "h=1/a.parquet".to_string(),
            scan(&[("dt=1", 3), ("dt=2", 1)]),
        ),
        ("h=2/b.parquet".to_string(), scan(&[("dt=2", 4)])),
    ]);
    assert_eq!(files_to_scan(&listing, None).len(), 2);
    let p = plan_all(&def, None, &listing, &scans).unwrap();
    let parts: Vec<_> = p
        .partitions
        .iter()
        .map(|p| (p.partition.as_str(), p.new_rows, p.is_new, p.selected))
        .collect();
    assert_eq!(
        parts,
        vec![("dt=1", 3, true, true), ("dt=2", 5, true, true)]
    );
    let inputs: Vec<_> = p.partitions[1].inputs.iter().map(|i| &*i.path).collect();
    assert_eq!(
        inputs,
        vec!["h=1/a.parquet", "h=2/b.parquet"],
        "inputs keep delivery order"
    );
    assert_eq!(p.new_source_files, 2);
}

#[test]
fn late_rows_dirty_only_the_partitions_they_feed() {
    let def = definition();
    let snap = snapshot_with(
        &def,
        &[("h=1/a.parquet", 100, &[("dt=1", 3)])],
        &[("dt=1", &["h=1/a.parquet"]), ("dt=2", &[])],
    );
    let listing = vec![
        listed("h=1/a.parquet", 100, 1),
        listed("h=3/late.parquet", 50, 3),
    ];
    assert_eq!(files_to_scan(&listing, Some(&snap)).len(), 1);
    let scans = HashMap::from([(
        "h=3/late.parquet".to_string(),
        scan(&[("dt=1", 2), ("dt=3", 5)]),
    )]);
    let p = plan_all(&def, Some(&snap), &listing, &scans).unwrap();
    let parts: Vec<_> = p
        .partitions
        .iter()
        .map(|p| (p.partition.as_str(), p.new_rows, p.is_new))
        .collect();
    assert_eq!(parts, vec![("dt=1", 2, false), ("dt=3", 5, true)]);
    assert_eq!(p.partitions[0].current_rows, 10);
    assert_eq!(p.base_version, Some(3));
}

#[test]
fn partly_consumed_files_stay_pending_where_not_consumed() {
    let def = definition();
    let snap = snapshot_with(
        &def,
        &[("a.parquet", 100, &[("dt=1", 3), ("dt=2", 4)])],
        &[("dt=1", &["a.parquet"])],
    );
    let listing = vec![listed("a.parquet", 100, 1)];
    let p = plan_all(&def, Some(&snap), &listing, &HashMap::new()).unwrap();
    assert_eq!(p.partitions.len(), 1);
    assert_eq!(p.partitions[0].partition, "dt=2");
    assert_eq!(p.partitions[0].new_rows, 4);
    assert_eq!(p.new_source_files, 0);
}

#[test]
fn nothing_pending_is_a_noop() {
    let def = definition();
    let snap = snapshot_with(
        &def,
        &[("a.parquet", 100, &[("dt=1", 3)])],
        &[("dt=1", &["a.parquet"])],
    );
    let p = plan_all(
        &def,
        Some(&snap),
        &[listed("a.parquet", 100, 1)],
        &HashMap::new(),
    )
    .unwrap();
    assert!(p.is_noop());
    assert!(p.partitions.is_empty());
}

#[test]
fn a_changed_or_deleted_source_file_is_refused() {
    let def = definition();
    let snap = snapshot_with(
        &def,
        &[("a.parquet", 100, &[("dt=1", 3), ("dt=2", 1)])],
        &[("dt=1", &["a.parquet"])],
    );
    let err = plan_all(
        &def,
        Some(&snap),
        &[listed("a.parquet", 120, 1)],
        &HashMap::new(),
    )
    .unwrap_err();
    assert!(
        matches!(&err, Error::BadInput { file, reason, .. } if file == "a.parquet" && reason.contains("100 bytes then, 120 now")),
        "{err}"
    );
    let err = plan_all(&def, Some(&snap), &[], &HashMap::new()).unwrap_err();
    assert!(
        matches!(&err, Error::BadInput { reason, .. } if reason.contains("dt=2")),
        "{err}"
    );
    // a file set aside by an earlier --quarantine is listed, and makes nothing dirty
    let mut quarantine = Quarantine::default();
    quarantine.kept.insert(
        "b.parquet".into(),
        QuarantinedFile {
            size: 100,
            e_tag: None,
            column: None,
            reason: "a damaged page".into(),
            since: String::new(),
        },
    );
    let p = plan(
        &def,
        Some(&snap),
        &[listed("a.parquet", 100, 1)],
        HashMap::new(),
        &quarantine,
        &Selection::default(),
    )
    .unwrap();
    assert_eq!(p.partitions.len(), 1, "a.parquet still feeds dt=2");
    assert_eq!(p.quarantined.len(), 1);
    assert_eq!(p.quarantined[0].path, "b.parquet");
    assert!(!p.quarantined[0].new);
}

#[test]
fn selection_by_glob_shard_and_count() {
    let def = definition();
    let listing = vec![listed("a.parquet", 100, 1)];
    let feeds: Vec<(String, u64)> = (0..10)
        .map(|h| (format!("dt=2024-03-0{}/hour={h:02}", 1 + h % 2), 1))
        .collect();
    let scans = HashMap::from([(
        "a.parquet".to_string(),
        ScannedFile {
            rows: 10,
            feeds: feeds
                .iter()
                .map(|(p, r)| (Arc::from(p.as_str()), *r))
                .collect(),
        },
    )]);
    // the plan of this listing under a selection (plan takes the scans)
    let select = |selection: &Selection| {
        plan(
            &def,
            None,
            &listing,
            scans.clone(),
            &Quarantine::default(),
            selection,
        )
        .unwrap()
    };
    let glob = Selection::new(Some("dt=2024-03-01/hour=0?"), None, None).unwrap();
    let p = select(&glob);
    let chosen: Vec<_> = p.selected().map(|p| p.partition.as_str()).collect();
    assert_eq!(
        chosen,
        vec![
            "dt=2024-03-01/hour=00",
            "dt=2024-03-01/hour=02",
            "dt=2024-03-01/hour=04",
            "dt=2024-03-01/hour=06",
            "dt=2024-03-01/hour=08"
        ]
    );
    assert!(
        p.partitions
            .iter()
            .find(|p| !p.selected)
            .unwrap()
            .reason
            .contains("does not match --partition")
    );
    // `*` does not cross a folder boundary
    let star = Selection::new(Some("dt=*"), None, None).unwrap();
    assert!(select(&star).is_noop());

    let mut owners = vec![0; 10];
    for k in 0..3 {
        let shard = Selection::new(None, Some(Shard { index: k, count: 3 }), None).unwrap();
        for (i, part) in select(&shard).partitions.iter().enumerate() {
            if part.selected {
                owners[i] += 1;
            }
        }
    }
    assert_eq!(
        owners,
        vec![1; 10],
        "every partition belongs to exactly one shard"
    );

    let max = Selection::new(None, None, Some(4)).unwrap();
    assert_eq!(select(&max).selected().count(), 4);
}

#[test]
fn shard_syntax() {
    assert_eq!("1/4".parse::<Shard>(), Ok(Shard { index: 1, count: 4 }));
    assert!("4/4".parse::<Shard>().is_err());
    assert!("1".parse::<Shard>().is_err());
    assert!("0/0".parse::<Shard>().is_err());
}

#[test]
fn output_estimate_follows_the_target_size() {
    let def = definition(); // 1000-byte target
    let listing = vec![listed("a.parquet", 3000, 1)];
    let scans = HashMap::from([("a.parquet".to_string(), scan(&[("x=1", 30), ("x=2", 10)]))]);
    let p = plan_all(&def, None, &listing, &scans).unwrap();
    assert_eq!(p.partitions[0].estimated_output_bytes, 2250);
    assert_eq!(p.partitions[0].estimated_output_files, 3);
    assert_eq!(p.partitions[1].estimated_output_files, 1);
}

#[test]
fn stale_partitions_are_reported_after_a_sort_key_change() {
    let def = definition();
    let mut snap = snapshot_with(&def, &[], &[("dt=1", &[])]);
    snap.partitions.get_mut("dt=1").unwrap().sort_by = vec!["other".into()];
    let p = plan_all(&def, Some(&snap), &[], &HashMap::new()).unwrap();
    assert_eq!(p.stale_partitions.len(), 1);
    assert!(p.stale_partitions[0].reason.contains("[other]"));
}

#[test]
fn few_new_rows_for_files_under_todays_rules_are_planned_as_a_patch() {
    let def = definition();
    let mut snap = snapshot_with(
        &def,
        &[],
        &[("dt=1", &[]), ("dt=2", &[]), ("dt=3", &[]), ("dt=4", &[])],
    );
    // dt=2 already holds four delta files; dt=3 was sorted by another key
    let deltas = (0..4).map(|n| DataFile {
        path: format!("dt=2/run-1/delta-0000{n}.parquet"),
        bytes: 50,
        rows: 1,
        sort_min: None,
        sort_max: None,
    });
    let dt2 = snap.partitions.get_mut("dt=2").unwrap();
    dt2.files[0].rows = 100;
    dt2.files.extend(deltas);
    snap.partitions.get_mut("dt=3").unwrap().sort_by = vec!["other".into()];
    let listing = vec![listed("h=9/late.parquet", 50, 9)];
    let feeds = [
        ("dt=1", 2),
        ("dt=2", 1),
        ("dt=3", 2),
        ("dt=4", 9),
        ("dt=5", 2),
    ];
    let scans = HashMap::from([("h=9/late.parquet".to_string(), scan(&feeds))]);
    let p = plan_all(&def, Some(&snap), &listing, &scans).unwrap();
    let planned: Vec<_> = p
        .partitions
        .iter()
        .map(|p| (p.partition.as_str(), p.patch, p.estimated_output_files))
        .collect();
    assert_eq!(
        planned,
        vec![
            ("dt=1", Some(Patch::AddDelta), 2),
            ("dt=2", Some(Patch::MergeDeltas), 2),
            // stale files, too many new rows (9 of 19), a new partition: whole
            ("dt=3", None, 1),
            ("dt=4", None, 1),
            ("dt=5", None, 1),
        ]
    );
    assert!(p.partitions[0].reason.contains("as a delta file"));
    assert!(p.partitions[1].reason.contains("merging its 4 delta files"));

    // a definition without deltas never patches
    let mut off = def.clone();
    off.max_delta_files = 0;
    let p = plan_all(&off, Some(&snap), &listing, &scans).unwrap();
    assert!(p.partitions.iter().all(|p| p.patch.is_none()));
}
