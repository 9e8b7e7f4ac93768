//! Schema evolution across the files of a table: the union of their schemas with the
//! promotions users expect, and conforming each batch to that union.
//!
//! Promotions: a column missing from some files becomes nullable (nulls there);
//! integers widen (int32 → int64), floats widen (float → double), timestamps take the
//! finest unit seen and UTC when any file has a zone, string/binary flavours (large,
//! view, dictionary) become plain, decimals widen to hold both, and structs, lists and
//! maps merge member by member. Anything else is an incompatible change.

use arrow::array::{
    Array, ArrayRef, AsArray, ListArray, MapArray, RecordBatch, StructArray, new_null_array,
};
use arrow::compute::{CastOptions, cast, cast_with_options};
use arrow::datatypes::{DataType, Field, FieldRef, Fields, Schema, SchemaRef, TimeUnit};
use arrow::error::ArrowError;
use std::sync::Arc;

/// Why two schemas cannot be merged: the column (a dotted path for nested members) and types.
#[derive(Debug, Clone, PartialEq)]
pub struct Incompatible {
    pub column: String,
    pub existing: DataType,
    pub incoming: DataType,
}

/// Merges `incoming` into `existing`, keeping the existing column order and appending
/// new columns in the order `incoming` has them.
pub fn merge_schemas(existing: &Schema, incoming: &Schema) -> Result<Schema, Incompatible> {
    let fields = merge_fields(existing.fields(), incoming.fields(), "")?;
    let mut metadata = existing.metadata().clone();
    for (k, v) in incoming.metadata() {
        if !metadata.contains_key(k) {
            metadata.insert(k.clone(), v.clone());
        }
    }
    metadata.remove("ARROW:schema");
    Ok(Schema::new_with_metadata(fields, metadata))
}

fn merge_fields(
    existing: &Fields,
    incoming: &Fields,
    prefix: &str,
) -> Result<Fields, Incompatible> {
    let mut out: Vec<FieldRef> = Vec::with_capacity(existing.len());
    for field in existing.iter() {
        match incoming.iter().find(|f| f.name() == field.name()) {
            Some(other) => out.push(Arc::new(merge_field(field, other, prefix)?)),
            None => out.push(Arc::new(field.as_ref().clone().with_nullable(true))),
        }
    }
    for field in incoming.iter() {
        if !existing.iter().any(|f| f.name() == field.name()) {
            let normalized = Field::new(field.name(), normalize_type(field.data_type()), true)
                .with_metadata(field.metadata().clone());
            out.push(Arc::new(normalized));
        }
    }
    Ok(out.into())
}

fn merge_field(existing: &Field, incoming: &Field, prefix: &str) -> Result<Field, Incompatible> {
    let path = format!("{prefix}{}", existing.name());
    let data_type = merge_type(existing.data_type(), incoming.data_type(), &path)?;
    Ok(Field::new(
        existing.name(),
        data_type,
        existing.is_nullable() || incoming.is_nullable(),
    )
    .with_metadata(existing.metadata().clone()))
}

/// The type a lone file's column gets in the table (string flavours unified, etc.).
pub fn normalize_type(t: &DataType) -> DataType {
    merge_type(t, t, "").unwrap_or_else(|_| t.clone())
}

/// Normalizes every column of a file's schema, as if merged with itself.
pub fn normalize_schema(schema: &Schema) -> Schema {
    merge_schemas(&Schema::empty(), schema).unwrap_or_else(|_| schema.clone())
}

fn int_rank(t: &DataType) -> Option<(bool, u8)> {
    Some(match t {
        DataType::Int8 => (true, 8),
        DataType::Int16 => (true, 16),
        DataType::Int32 => (true, 32),
        DataType::Int64 => (true, 64),
        DataType::UInt8 => (false, 8),
        DataType::UInt16 => (false, 16),
        DataType::UInt32 => (false, 32),
        DataType::UInt64 => (false, 64),
        _ => return None,
    })
}

fn int_type(signed: bool, bits: u8) -> DataType {
    match (signed, bits) {
        (true, 8) => DataType::Int8,
        (true, 16) => DataType::Int16,
        (true, 32) => DataType::Int32,
        (true, _) => DataType::Int64,
        (false, 8) => DataType::UInt8,
        (false, 16) => DataType::UInt16,
        (false, 32) => DataType::UInt32,
        (false, _) => DataType::UInt64,
    }
}

fn unit_rank(u: &TimeUnit) -> u8 {
    match u {
        TimeUnit::Second => 0,
        TimeUnit::Millisecond => 1,
        TimeUnit::Microsecond => 2,
        TimeUnit::Nanosecond => 3,
    }
}

fn decimal_parts(t: &DataType) -> Option<(u8, i8)> {
    match t {
        DataType::Decimal32(p, s) | DataType::Decimal64(p, s) | DataType::Decimal128(p, s) => {
            Some((*p, *s))
        }
        _ => None,
    }
}

fn merge_type(a: &DataType, b: &DataType, path: &str) -> Result<DataType, Incompatible> {
    use DataType::*;
    let incompatible = || Incompatible {
        column: path.to_string(),
        existing: a.clone(),
        incoming: b.clone(),
    };
    let merged = match (a, b) {
        (Dictionary(_, v), other) | (other, Dictionary(_, v)) => {
            return merge_type(v, other, path).map_err(|_| incompatible());
        }
        (Null, other) | (other, Null) => normalize_type_shallow(other),
        (Utf8 | LargeUtf8 | Utf8View, Utf8 | LargeUtf8 | Utf8View) => Utf8,
        (Binary | LargeBinary | BinaryView, Binary | LargeBinary | BinaryView) => Binary,
        (Float16 | Float32 | Float64, Float16 | Float32 | Float64) => {
            if a == b {
                a.clone()
            } else {
                Float64
            }
        }
        (Date32 | Date64, Date32 | Date64) => Date32,
        (Timestamp(ua, za), Timestamp(ub, zb)) => {
            let unit = if unit_rank(ua) >= unit_rank(ub) {
                *ua
            } else {
                *ub
            };
            let zone = match (za, zb) {
                (None, None) => None,
                (Some(x), Some(y)) if x == y => Some(x.clone()),
                _ => Some("UTC".into()),
            };
            Timestamp(unit, zone)
        }
        (Struct(fa), Struct(fb)) => Struct(merge_fields(fa, fb, &format!("{path}."))?),
        (List(fa) | LargeList(fa), List(fb) | LargeList(fb)) => {
            List(Arc::new(merge_field(fa, fb, &format!("{path}."))?))
        }
        (Map(fa, sa), Map(fb, _)) => Map(Arc::new(merge_field(fa, fb, &format!("{path}."))?), *sa),
        _ => {
            if let (Some((sa, ba)), Some((sb, bb))) = (int_rank(a), int_rank(b)) {
                match (sa, sb) {
                    (x, y) if x == y => int_type(x, ba.max(bb)),
                    _ => {
                        let (unsigned_bits, signed_bits) = if sa { (bb, ba) } else { (ba, bb) };
                        if unsigned_bits >= 64 {
                            return Err(incompatible());
                        }
                        int_type(true, signed_bits.max(unsigned_bits * 2))
                    }
                }
            } else if let (Some((pa, sa)), Some((pb, sb))) = (decimal_parts(a), decimal_parts(b)) {
                let scale = sa.max(sb);
                let digits = (pa as i16 - sa as i16).max(pb as i16 - sb as i16);
                let precision = digits + scale as i16;
                if precision > 38 {
                    return Err(incompatible());
                }
                if a == b {
                    a.clone()
                } else {
                    Decimal128(precision as u8, scale)
                }
            } else if a == b {
                a.clone()
            } else {
                return Err(incompatible());
            }
        }
    };
    Ok(merged)
}

fn normalize_type_shallow(t: &DataType) -> DataType {
    match t {
        DataType::Null => DataType::Null,
        other => merge_type(other, other, "").unwrap_or_else(|_| other.clone()),
    }
}

/// Casts and reorders a batch to the table schema: missing columns become nulls,
/// nested members are matched by name, and promotions are applied.
pub fn conform_batch(batch: &RecordBatch, target: &SchemaRef) -> Result<RecordBatch, ArrowError> {
    if batch.schema().as_ref() == target.as_ref() {
        return Ok(batch.clone());
    }
    let columns = target
        .fields()
        .iter()
        .map(|field| match batch.column_by_name(field.name()) {
            Some(column) => conform_array(column, field.data_type()),
            None => Ok(new_null_array(field.data_type(), batch.num_rows())),
        })
        .collect::<Result<Vec<_>, _>>()?;
    RecordBatch::try_new_with_options(
        target.clone(),
        columns,
        &arrow::array::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
    )
}

/// Conforms one array to a target type, recursing into structs, lists and maps.
pub fn conform_array(array: &ArrayRef, target: &DataType) -> Result<ArrayRef, ArrowError> {
    if array.data_type() == target {
        return Ok(array.clone());
    }
    match (array.data_type(), target) {
        (DataType::Dictionary(_, _), _) => {
            conform_array(&cast(array, &dictionary_value_type(array))?, target)
        }
        (DataType::Struct(_), DataType::Struct(fields)) => {
            let source = array.as_struct();
            let children = fields
                .iter()
                .map(|f| match source.column_by_name(f.name()) {
                    Some(child) => conform_array(child, f.data_type()),
                    None => Ok(new_null_array(f.data_type(), source.len())),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(Arc::new(StructArray::try_new(
                fields.clone(),
                children,
                source.nulls().cloned(),
            )?))
        }
        (DataType::LargeList(_), DataType::List(_)) => {
            let as_list = cast(array, &DataType::List(large_list_field(array)))?;
            conform_array(&as_list, target)
        }
        (DataType::List(_), DataType::List(field)) => {
            let list = array.as_list::<i32>();
            let values = conform_array(list.values(), field.data_type())?;
            Ok(Arc::new(ListArray::try_new(
                field.clone(),
                list.offsets().clone(),
                values,
                list.nulls().cloned(),
            )?))
        }
        (DataType::Map(_, _), DataType::Map(field, sorted)) => {
            let map = array.as_map();
            let entries: ArrayRef = Arc::new(map.entries().clone());
            let entries = conform_array(&entries, field.data_type())?;
            Ok(Arc::new(MapArray::try_new(
                field.clone(),
                map.offsets().clone(),
                entries.as_struct().clone(),
                map.nulls().cloned(),
                *sorted,
            )?))
        }
        // a value the target cannot hold (an INT96 year 9999 in a nanosecond column,
        // say) is an error, not a silent null
        _ => cast_with_options(
            array,
            target,
            &CastOptions {
                safe: false,
                ..Default::default()
            },
        ),
    }
}

fn dictionary_value_type(array: &ArrayRef) -> DataType {
    match array.data_type() {
        DataType::Dictionary(_, v) => v.as_ref().clone(),
        other => other.clone(),
    }
}

fn large_list_field(array: &ArrayRef) -> FieldRef {
    match array.data_type() {
        DataType::LargeList(f) => f.clone(),
        _ => Arc::new(Field::new("item", DataType::Null, true)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{
        Float32Array, Int32Array, Int64Array, StringArray, TimestampMillisecondArray,
    };

    fn schema(fields: Vec<Field>) -> Schema {
        Schema::new(fields)
    }

    #[test]
    fn promotions_users_expect() {
        let old = schema(vec![
            Field::new("a", DataType::Int32, false),
            Field::new("b", DataType::Float32, true),
            Field::new("t", DataType::Timestamp(TimeUnit::Millisecond, None), true),
            Field::new("s", DataType::LargeUtf8, true),
        ]);
        let new = schema(vec![
            Field::new("s", DataType::Utf8View, true),
            Field::new("a", DataType::Int64, false),
            Field::new("b", DataType::Float64, true),
            Field::new(
                "t",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("added", DataType::Utf8, false),
        ]);
        let merged = merge_schemas(&old, &new).unwrap();
        let types: Vec<_> = merged
            .fields()
            .iter()
            .map(|f| (f.name().as_str(), f.data_type().clone(), f.is_nullable()))
            .collect();
        assert_eq!(
            types,
            vec![
                ("a", DataType::Int64, false),
                ("b", DataType::Float64, true),
                (
                    "t",
                    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                    true
                ),
                ("s", DataType::Utf8, true),
                ("added", DataType::Utf8, true),
            ]
        );
    }

    #[test]
    fn incompatible_change_names_the_column_and_both_types() {
        let old = schema(vec![Field::new(
            "geo",
            DataType::Struct(vec![Field::new("lat", DataType::Float64, true)].into()),
            true,
        )]);
        let new = schema(vec![Field::new(
            "geo",
            DataType::Struct(vec![Field::new("lat", DataType::Utf8, true)].into()),
            true,
        )]);
        let err = merge_schemas(&old, &new).unwrap_err();
        assert_eq!(err.column, "geo.lat");
        assert_eq!(err.existing, DataType::Float64);
        assert_eq!(err.incoming, DataType::Utf8);
        let err = merge_schemas(
            &schema(vec![Field::new("price", DataType::Float64, true)]),
            &schema(vec![Field::new("price", DataType::Utf8, true)]),
        )
        .unwrap_err();
        assert_eq!(err.column, "price");
    }

    #[test]
    fn unsigned_and_signed_widen_to_hold_both() {
        let m = merge_type(&DataType::UInt32, &DataType::Int16, "x").unwrap();
        assert_eq!(m, DataType::Int64);
        assert!(merge_type(&DataType::UInt64, &DataType::Int64, "x").is_err());
        assert_eq!(
            merge_type(
                &DataType::Decimal128(10, 2),
                &DataType::Decimal128(12, 4),
                "x"
            )
            .unwrap(),
            DataType::Decimal128(12, 4)
        );
    }

    #[test]
    fn conforming_fills_missing_columns_and_casts() {
        let target: SchemaRef = Arc::new(schema(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("b", DataType::Float64, true),
            Field::new(
                "t",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            Field::new("new", DataType::Utf8, true),
        ]));
        let batch = RecordBatch::try_from_iter(vec![
            ("b", Arc::new(Float32Array::from(vec![1.5])) as ArrayRef),
            ("a", Arc::new(Int32Array::from(vec![7])) as ArrayRef),
            (
                "t",
                Arc::new(TimestampMillisecondArray::from(vec![1_000])) as ArrayRef,
            ),
        ])
        .unwrap();
        let out = conform_batch(&batch, &target).unwrap();
        assert_eq!(out.schema(), target);
        assert_eq!(
            out.column(0)
                .as_primitive::<arrow::datatypes::Int64Type>()
                .value(0),
            7
        );
        assert_eq!(
            out.column(2)
                .as_primitive::<arrow::datatypes::TimestampMicrosecondType>()
                .value(0),
            1_000_000
        );
        assert_eq!(out.column(3).null_count(), 1);
        let _ = (Int64Array::from(vec![1]), StringArray::from(vec!["x"]));
    }

    #[test]
    fn structs_gain_members_by_name() {
        let old_fields: Fields = vec![Field::new("lat", DataType::Float64, true)].into();
        let new_fields: Fields = vec![
            Field::new("lon", DataType::Float64, true),
            Field::new("lat", DataType::Float64, true),
        ]
        .into();
        let merged = merge_type(
            &DataType::Struct(old_fields.clone()),
            &DataType::Struct(new_fields),
            "geo",
        )
        .unwrap();
        let old = StructArray::try_new(
            old_fields,
            vec![Arc::new(arrow::array::Float64Array::from(vec![1.0]))],
            None,
        )
        .unwrap();
        let out = conform_array(&(Arc::new(old) as ArrayRef), &merged).unwrap();
        let s = out.as_struct();
        assert_eq!(
            s.column_by_name("lat")
                .unwrap()
                .as_primitive::<arrow::datatypes::Float64Type>()
                .value(0),
            1.0
        );
        assert_eq!(s.column_by_name("lon").unwrap().null_count(), 1);
    }
}

/// Encodes a schema for the manifest: Arrow IPC (a stable format) in base64.
pub fn encode_schema(schema: &Schema) -> String {
    use base64::Engine;
    let mut bytes = Vec::new();
    // writing a schema message to memory cannot fail
    if let Ok(mut writer) = arrow::ipc::writer::StreamWriter::try_new(&mut bytes, schema) {
        let _ = writer.finish();
    }
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

pub fn decode_schema(text: &str) -> Result<Schema, String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("schema is not base64: {e}"))?;
    let reader = arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)
        .map_err(|e| format!("schema is not Arrow IPC: {e}"))?;
    Ok(reader.schema().as_ref().clone())
}

/// Merges two encoded schemas (used when a commit rebases onto a newer snapshot).
pub fn merge_encoded(a: Option<&str>, b: Option<&str>) -> Result<Option<String>, String> {
    match (a, b) {
        (None, None) => Ok(None),
        (Some(x), None) | (None, Some(x)) => Ok(Some(x.to_string())),
        (Some(x), Some(y)) => {
            let merged = merge_schemas(&decode_schema(x)?, &decode_schema(y)?).map_err(|e| {
                format!(
                    "column {} is {} in one and {} in the other",
                    e.column, e.existing, e.incoming
                )
            })?;
            Ok(Some(encode_schema(&merged)))
        }
    }
}

#[cfg(test)]
mod encoding_tests {
    use super::*;

    #[test]
    fn schemas_round_trip_through_the_manifest_encoding() {
        let s = Schema::new(vec![
            Field::new("a", DataType::Int64, false),
            Field::new(
                "l",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                true,
            ),
        ]);
        assert_eq!(decode_schema(&encode_schema(&s)).unwrap(), s);
        assert!(decode_schema("not base64!").is_err());
    }

    /// A value the table's type cannot hold stops the run instead of turning null: a
    /// Spark INT96 year 9999 (exact in microseconds) in a table whose column became
    /// nanoseconds from other files.
    #[test]
    fn a_value_the_table_type_cannot_hold_is_an_error_not_a_null() {
        use arrow::array::TimestampMicrosecondArray;
        let year_9999 = 253_402_225_200_000_000i64;
        let batch = RecordBatch::try_from_iter(vec![(
            "ts",
            Arc::new(TimestampMicrosecondArray::from(vec![year_9999])) as ArrayRef,
        )])
        .unwrap();
        let nanos = Arc::new(Schema::new(vec![Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            true,
        )]));
        assert!(conform_batch(&batch, &nanos).is_err());
        let same_unit_other_zone = Arc::new(Schema::new(vec![Field::new(
            "ts",
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            true,
        )]));
        assert!(conform_batch(&batch, &same_unit_other_zone).is_ok());
    }
}
