//! Partition transforms: how a column value becomes a partition folder value.
//! Temporal transforms work on the UTC instant (a timestamp without a time zone is
//! read as UTC wall-clock time), so that routing never depends on the machine's zone.

use arrow::array::{Array, ArrayRef, AsArray, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, TimeUnit, TimestampMicrosecondType};
use chrono::{DateTime, Datelike, Timelike};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

const MICROS_PER_HOUR: i64 = 3_600_000_000;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transform {
    Identity,
    Day,
    Hour,
    Month,
    Year,
}

impl Transform {
    pub const NAMES: &'static [&'static str] = &["identity", "day", "hour", "month", "year"];

    pub fn name(self) -> &'static str {
        match self {
            Transform::Identity => "identity",
            Transform::Day => "day",
            Transform::Hour => "hour",
            Transform::Month => "month",
            Transform::Year => "year",
        }
    }

    /// Whether the transform can be applied to a column of this type.
    pub fn accepts(self, data_type: &DataType) -> bool {
        match self {
            Transform::Identity => !data_type.is_nested(),
            _ => matches!(
                data_type,
                DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64
            ),
        }
    }

    /// The partition value of every row, as a code per row into the distinct values
    /// (`None` for nulls), in order of first appearance. Routing groups rows by these
    /// codes, so nothing is hashed or allocated per row.
    pub fn apply(self, array: &ArrayRef) -> Result<Coded, String> {
        if !self.accepts(array.data_type()) {
            return Err(format!(
                "transform {} cannot be applied to a column of type {}",
                self.name(),
                array.data_type()
            ));
        }
        match self {
            Transform::Identity => identity_values(array),
            _ => self.temporal_values(array),
        }
    }

    fn temporal_values(self, array: &ArrayRef) -> Result<Coded, String> {
        let utc = cast(
            array,
            &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        )
        .map_err(|e| e.to_string())?;
        let micros = utc.as_primitive::<TimestampMicrosecondType>();
        // neighbouring rows mostly share an hour: only a change of hour looks it up,
        // and only a new hour is formatted (several hours can give one value: a day)
        let mut hours: HashMap<Option<i64>, u32, foldhash::fast::RandomState> = HashMap::default();
        let mut values = Values::default();
        let mut last: Option<(Option<i64>, u32)> = None;
        let mut codes = Vec::with_capacity(micros.len());
        for i in 0..micros.len() {
            let bucket = (!micros.is_null(i)).then(|| micros.value(i).div_euclid(MICROS_PER_HOUR));
            let code = match last {
                Some((b, code)) if b == bucket => code,
                _ => {
                    let code = match hours.get(&bucket) {
                        Some(&code) => code,
                        None => {
                            let value = match bucket {
                                Some(b) => Some(Arc::from(self.format_hour_bucket(b)?)),
                                None => None,
                            };
                            let code = values.code(value);
                            hours.insert(bucket, code);
                            code
                        }
                    };
                    last = Some((bucket, code));
                    code
                }
            };
            codes.push(code);
        }
        Ok(values.coded(codes))
    }

    fn format_hour_bucket(self, hour_bucket: i64) -> Result<String, String> {
        let t = DateTime::from_timestamp(hour_bucket * 3600, 0)
            .ok_or_else(|| format!("timestamp out of range (hour {hour_bucket} since 1970)"))?;
        Ok(match self {
            Transform::Day => format!("{:04}-{:02}-{:02}", t.year(), t.month(), t.day()),
            Transform::Hour => format!("{:02}", t.hour()),
            Transform::Month => format!("{:04}-{:02}", t.year(), t.month()),
            Transform::Year => format!("{:04}", t.year()),
            Transform::Identity => unreachable!("identity is not temporal"),
        })
    }
}

fn identity_values(array: &ArrayRef) -> Result<Coded, String> {
    let strings = cast(array, &DataType::Utf8).map_err(|e| e.to_string())?;
    let strings: &StringArray = strings.as_string::<i32>();
    // by the row's own string, so that a value is copied only when first seen
    let mut seen: HashMap<Option<&str>, u32, foldhash::fast::RandomState> = HashMap::default();
    let mut values = Values::default();
    let codes = strings
        .iter()
        .map(|v| {
            *seen
                .entry(v)
                .or_insert_with(|| values.code(v.map(Arc::from)))
        })
        .collect();
    Ok(values.coded(codes))
}

/// A partition field over a batch: a code per row, and the values the codes stand for.
#[derive(Debug, Default)]
pub struct Coded {
    pub codes: Vec<u32>,
    pub dictionary: Vec<Option<Arc<str>>>,
}

impl Coded {
    /// The value of row `row`.
    pub fn value(&self, row: usize) -> Option<&Arc<str>> {
        self.dictionary[self.codes[row] as usize].as_ref()
    }
}

/// Distinct partition values in order of first appearance, one code each.
#[derive(Default)]
struct Values {
    index: HashMap<Option<Arc<str>>, u32, foldhash::fast::RandomState>,
    dictionary: Vec<Option<Arc<str>>>,
}

impl Values {
    fn code(&mut self, value: Option<Arc<str>>) -> u32 {
        let dictionary = &mut self.dictionary;
        *self.index.entry(value.clone()).or_insert_with(|| {
            dictionary.push(value);
            dictionary.len() as u32 - 1
        })
    }

    fn coded(self, codes: Vec<u32>) -> Coded {
        Coded {
            codes,
            dictionary: self.dictionary,
        }
    }
}

impl fmt::Display for Transform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Transform {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "identity" => Transform::Identity,
            "day" => Transform::Day,
            "hour" => Transform::Hour,
            "month" => Transform::Month,
            "year" => Transform::Year,
            other => {
                return Err(format!(
                    "unknown transform {other:?}; valid transforms: {}",
                    Transform::NAMES.join(", ")
                ));
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Date32Array, Int64Array, TimestampNanosecondArray, TimestampSecondArray};

    fn values(t: Transform, a: ArrayRef) -> Vec<Option<String>> {
        let coded = t.apply(&a).unwrap();
        (0..a.len())
            .map(|row| coded.value(row).map(|s| s.to_string()))
            .collect()
    }

    #[test]
    fn temporal_transforms_use_utc() {
        // 2024-03-01T23:30:00Z, and the same instant written with a +02:00 zone
        let ts = Arc::new(TimestampSecondArray::from(vec![Some(1_709_335_800), None])) as ArrayRef;
        let zoned = Arc::new(
            TimestampNanosecondArray::from(vec![1_709_335_800_000_000_000]).with_timezone("+02:00"),
        ) as ArrayRef;
        assert_eq!(
            values(Transform::Day, ts.clone()),
            [Some("2024-03-01".into()), None]
        );
        assert_eq!(
            values(Transform::Hour, ts.clone()),
            [Some("23".into()), None]
        );
        assert_eq!(
            values(Transform::Month, ts.clone()),
            [Some("2024-03".into()), None]
        );
        assert_eq!(values(Transform::Year, ts), [Some("2024".into()), None]);
        assert_eq!(values(Transform::Hour, zoned.clone()), [Some("23".into())]);
        assert_eq!(values(Transform::Day, zoned), [Some("2024-03-01".into())]);
    }

    #[test]
    fn times_before_1970_round_down() {
        let ts = Arc::new(TimestampSecondArray::from(vec![-1])) as ArrayRef;
        assert_eq!(
            values(Transform::Day, ts.clone()),
            [Some("1969-12-31".into())]
        );
        assert_eq!(values(Transform::Hour, ts), [Some("23".into())]);
    }

    #[test]
    fn dates_and_identity() {
        let d = Arc::new(Date32Array::from(vec![19_783])) as ArrayRef; // 2024-03-01
        assert_eq!(
            values(Transform::Day, d.clone()),
            [Some("2024-03-01".into())]
        );
        assert_eq!(values(Transform::Identity, d), [Some("2024-03-01".into())]);
        let n = Arc::new(Int64Array::from(vec![Some(7), None])) as ArrayRef;
        assert_eq!(
            values(Transform::Identity, n.clone()),
            [Some("7".into()), None]
        );
        assert!(Transform::Day.apply(&n).is_err());
    }

    #[test]
    fn unknown_transform_lists_the_valid_ones() {
        let err = "days".parse::<Transform>().unwrap_err();
        assert!(err.contains("identity, day, hour, month, year"), "{err}");
    }
}
