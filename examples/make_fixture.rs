//! Writes the small fixture lake under `fixtures/events/` with the same generator the
//! test suite uses. Run `cargo run --example make_fixture` after changing the generator.

#[allow(dead_code)] // the tests use more of the generator than the fixture does
#[path = "../tests/support/lakegen.rs"]
mod lakegen;

use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/events");
    let raw = root.join("raw");
    if raw.exists() {
        std::fs::remove_dir_all(&raw).expect("remove the old fixture");
    }
    let lake = lakegen::Lake::generate(lakegen::Params {
        rows: 4_000,
        rows_per_file: 100,
        hours: 6,
        ..Default::default()
    });
    let files = lake.write(&raw, 0..lake.params.hours);
    let definition =
        lakegen::definition_json(Path::new("raw"), Path::new("../../out/events"), "128MiB");
    let pretty: serde_json::Value = serde_json::from_str(&definition).expect("valid JSON");
    std::fs::write(
        root.join("events.json"),
        format!("{}\n", serde_json::to_string_pretty(&pretty).expect("JSON")),
    )
    .expect("write definition");
    let expected = lake.expected(lake.params.hours);
    println!(
        "{files} files, {} deliveries, {} distinct events in {} partitions",
        lake.deliveries.len(),
        expected.kept.len(),
        expected.per_partition.len()
    );
}
