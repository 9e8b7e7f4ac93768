//! The quoting rules the dialects share. An identifier or literal is always quoted,
//! even when it would not need to be: reserved words, case and unicode then never
//! matter, and there is one code path to get right.

/// `` `name` `` with the backtick doubled (Hive, Spark, Athena).
pub fn backtick_doubled(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `"name"` with the quote doubled (SQL standard: Trino, Presto, Redshift, Snowflake, DuckDB).
pub fn double_quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// `'value'` with the quote doubled and nothing else special (Trino, Presto, DuckDB).
pub fn string_doubled(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// `'value'` where a backslash starts an escape (Redshift, Snowflake): both the quote and
/// the backslash are doubled, which each of them reads back as one character.
pub fn string_doubled_backslash(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

/// C-style: `\\`, `\'`, `\"` and control characters as `\n`, `\t`, `\r` or `\uXXXX`
/// (Hive, Spark and BigQuery strings; BigQuery identifiers with `` ` `` as the quote).
pub fn c_escaped(value: &str, quote: char) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push(quote);
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' | '"' | '`' if c == quote || c != '`' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_style_escapes_its_own_quote() {
        assert_eq!(backtick_doubled("a`b"), "`a``b`");
        assert_eq!(double_quoted("a\"b"), "\"a\"\"b\"");
        assert_eq!(string_doubled("it's"), "'it''s'");
        assert_eq!(string_doubled_backslash("a\\'"), "'a\\\\'''");
        assert_eq!(c_escaped("a'b\\c\nd", '\''), "'a\\'b\\\\c\\nd'");
        assert_eq!(c_escaped("a`b", '`'), "`a\\`b`");
        // a backtick inside a single-quoted C-style string needs no escape
        assert_eq!(c_escaped("a`b", '\''), "'a`b'");
        assert_eq!(c_escaped("\u{1}", '\''), "'\\u0001'");
    }
}
