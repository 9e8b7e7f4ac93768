//! Every identifier and literal laketidy puts in DDL reads back, by the dialect's own
//! rules, as exactly the text it came from: a quote inside can never end the
//! literal early and let the rest run as SQL. Each rule is decoded here by a small
//! reader written from the dialect's documentation, independent of the quoting code.
#![no_main]

use laketidy::ddl::quote;
use libfuzzer_sys::fuzz_target;

/// The text between a token's opening and closing quote.
fn inside(token: &str, quote: char) -> Result<&str, String> {
    token
        .strip_prefix(quote)
        .and_then(|t| t.strip_suffix(quote))
        .ok_or_else(|| format!("{token:?} is not wrapped in {quote:?}"))
}

/// Reads a quoted token where the quote is escaped by doubling it (and, with
/// `backslash_doubles`, a backslash by doubling it); returns the text, or why not.
fn read_doubled(token: &str, quote: char, backslash_doubles: bool) -> Result<String, String> {
    let inner = inside(token, quote)?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == quote || (backslash_doubles && c == '\\') {
            if chars.next() != Some(c) {
                return Err(format!("a lone {c:?} ends the token early"));
            }
        }
        out.push(c);
    }
    Ok(out)
}

/// Reads a C-style quoted token (Hive, Spark and BigQuery strings).
fn read_c_escaped(token: &str, quote: char) -> Result<String, String> {
    let inner = inside(token, quote)?;
    let mut out = String::new();
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some('t') => out.push('\t'),
                Some('u') => {
                    let hex: String = chars.by_ref().take(4).collect();
                    let code = u32::from_str_radix(&hex, 16).map_err(|e| format!("\\u{hex}: {e}"))?;
                    out.push(char::from_u32(code).ok_or("not a character")?);
                }
                Some(e @ ('\\' | '\'' | '"' | '`')) => out.push(e),
                other => return Err(format!("unknown escape {other:?}")),
            },
            c if c == quote => return Err("an unescaped quote ends the token early".into()),
            c if (c as u32) < 0x20 => return Err(format!("raw control character {c:?}")),
            c => out.push(c),
        }
    }
    Ok(out)
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let check = |style: &str, token: String, read: Result<String, String>| {
        assert_eq!(read.as_deref(), Ok(text), "{style} made {token:?} of {text:?}");
    };
    let t = quote::backtick_doubled(text);
    check("backtick_doubled", t.clone(), read_doubled(&t, '`', false));
    let t = quote::double_quoted(text);
    check("double_quoted", t.clone(), read_doubled(&t, '"', false));
    let t = quote::string_doubled(text);
    check("string_doubled", t.clone(), read_doubled(&t, '\'', false));
    let t = quote::string_doubled_backslash(text);
    check("string_doubled_backslash", t.clone(), read_doubled(&t, '\'', true));
    for q in ['\'', '"', '`'] {
        let t = quote::c_escaped(text, q);
        check("c_escaped", t.clone(), read_c_escaped(&t, q));
    }
});
