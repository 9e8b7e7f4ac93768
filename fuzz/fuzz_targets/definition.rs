//! The table-definition parser takes any text: it either accepts it or says which
//! field is wrong, never panics, and what it accepts reads back as the same table
//! once stored (the manifest keeps the document, not the text).
#![no_main]

use laketidy::model::definition::TableDefinition;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let base = Path::new("/fuzz/tables");
    let Ok(definition) = TableDefinition::parse(text, base) else {
        return;
    };
    let stored = serde_json::to_string(&definition.doc).expect("a definition serializes");
    let again = TableDefinition::parse(&stored, base)
        .unwrap_or_else(|e| panic!("{stored} was accepted once, then refused: {e}"));
    assert_eq!(definition, again, "{stored}");
});
