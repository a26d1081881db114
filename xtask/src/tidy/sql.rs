//! The SQL rule of tidy: SQL text handed to rusqlite or postgres is a constant; values travel as bound parameters.
//!
//! A source scan, not a proof: it finds calls of the SQL-taking methods of rusqlite and postgres (`execute`,
//! `execute_batch`, `batch_execute`, `simple_query`, `query`, `query_opt`, `query_row`, `query_map`, `query_one`,
//! `query_and_then`, `prepare`, `prepare_cached`) whose first argument is text
//! built at run time: `format!`, string concatenation (`+`, `.concat()`, `.join(`), or a variable of the same file
//! bound to such text or appended to (`push_str`, `+=`, `write!`). `concat!` of literals is a constant and passes,
//! as does anything inside `params![...]` (those are bound values).

/// Methods whose first argument is SQL text (on a connection or transaction; on a statement the first argument is
/// the parameters, which the rule leaves alone unless they build text outside `params!`, which they do not).
const SQL_METHODS: &[&str] = &[
    "execute",
    "execute_batch",
    "batch_execute",
    "simple_query",
    "query_opt",
    "query",
    "query_row",
    "query_map",
    "query_one",
    "query_and_then",
    "prepare",
    "prepare_cached",
];

/// The problems in one source file, as `LINE: message`.
pub fn check_source(text: &str) -> Vec<(usize, String)> {
    let code = blank_comments_and_literals(text);
    let mut problems = Vec::new();
    for method in SQL_METHODS {
        let needle = format!(".{method}(");
        let mut from = 0;
        while let Some(found) = code[from..].find(&needle) {
            let open = from + found + needle.len() - 1;
            from = open + 1;
            let Some(argument) = first_argument(&code, open) else { continue };
            let shown = text[argument.clone()].split_whitespace().collect::<Vec<_>>().join(" ");
            let why = built_text(&code[argument.clone()])
                .or_else(|| identifier(&code[argument.clone()]).and_then(|name| built_variable(&code, name)));
            if let Some(why) = why {
                let line = text[..open].lines().count().max(1);
                problems.push((
                    line,
                    format!(
                        "`.{method}({shown}` passes SQL built with {why}; write the SQL as a constant and bind \
                         values as parameters (`?1`, `params![...]`)"
                    ),
                ));
            }
        }
    }
    problems.sort();
    problems
}

/// `text` with comments replaced by spaces and the contents of string and character literals by `_` (quotes kept),
/// so that brackets and keywords inside them do not count, while every byte keeps its position.
fn blank_comments_and_literals(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = bytes.to_vec();
    let mut i = 0;
    let blank = |out: &mut Vec<u8>, range: std::ops::Range<usize>, with: u8| {
        for b in &mut out[range] {
            if *b != b'\n' && b.is_ascii() {
                *b = with;
            } else if !b.is_ascii() {
                *b = b'_';
            }
        }
    };
    while i < bytes.len() {
        match bytes[i] {
            b'/' if bytes.get(i + 1) == Some(&b'/') => {
                let end = text[i..].find('\n').map_or(bytes.len(), |n| i + n);
                blank(&mut out, i..end, b' ');
                i = end;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = text[i + 2..].find("*/").map_or(bytes.len(), |n| i + 2 + n + 2);
                blank(&mut out, i..end, b' ');
                i = end;
            }
            b'r' if matches!(bytes.get(i + 1), Some(b'"' | b'#')) && !ident_byte(bytes, i.wrapping_sub(1)) => {
                let hashes = bytes[i + 1..].iter().take_while(|b| **b == b'#').count();
                if bytes.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let body = i + 2 + hashes;
                let close = format!("\"{}", "#".repeat(hashes));
                let end = text[body..].find(&close).map_or(bytes.len(), |n| body + n);
                blank(&mut out, body..end, b'_');
                i = end + close.len();
            }
            b'"' => {
                let mut j = i + 1;
                while j < bytes.len() && bytes[j] != b'"' {
                    j += if bytes[j] == b'\\' { 2 } else { 1 };
                }
                blank(&mut out, i + 1..j.min(bytes.len()), b'_');
                i = j + 1;
            }
            b'\'' => {
                // A character literal ('x', '\n', '\u{..}'), not a lifetime ('a).
                let end = if bytes.get(i + 1) == Some(&b'\\') {
                    text.get(i + 3..).and_then(|rest| rest.find('\'')).map(|n| i + 3 + n)
                } else {
                    let width = text[i + 1..].chars().next().map_or(1, char::len_utf8);
                    (bytes.get(i + 1 + width) == Some(&b'\'')).then_some(i + 1 + width)
                };
                match end {
                    Some(end) => {
                        blank(&mut out, i + 1..end, b'_');
                        i = end + 1;
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    String::from_utf8(out).expect("only ASCII bytes were written over")
}

fn ident_byte(bytes: &[u8], at: usize) -> bool {
    bytes.get(at).is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
}

/// The byte range of the first argument of the call whose `(` is at `open`: up to the first `,` or the closing `)`
/// at the call's own depth. `None` for a call without arguments.
fn first_argument(code: &str, open: usize) -> Option<std::ops::Range<usize>> {
    let mut depth = 0usize;
    for (at, c) in code[open + 1..].char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth > 0 => depth -= 1,
            ')' | ',' if depth == 0 => {
                let range = open + 1..open + 1 + at;
                return (!code[range.clone()].trim().is_empty()).then_some(range);
            }
            _ => {}
        }
    }
    None
}

/// How an expression builds text at run time, if it does (outside `params!`).
fn built_text(expression: &str) -> Option<&'static str> {
    let expression = expression.trim();
    if expression.starts_with("params!") || expression.starts_with("rusqlite::params!") {
        return None;
    }
    if expression.contains("format!") {
        Some("`format!`")
    } else if expression.contains(".concat()") || expression.contains(".join(") {
        Some("`.concat()`/`.join()`")
    } else if expression.contains(" + ") || expression.contains("+=") {
        Some("string concatenation")
    } else if expression.contains("String::from") || expression.contains(".to_string()") {
        Some("a `String` made at run time")
    } else {
        None
    }
}

/// The variable an argument names (`sql`, `&sql`, `sql.as_str()`), if it is one.
fn identifier(argument: &str) -> Option<&str> {
    let argument = argument.trim().trim_start_matches('&');
    let name = argument.strip_suffix(".as_str()").unwrap_or(argument);
    let valid = !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit() || c.is_ascii_uppercase());
    valid.then_some(name)
}

/// How the variable `name` is built in the file, when at run time: bound with `let` to built text, or appended to.
fn built_variable(code: &str, name: &str) -> Option<&'static str> {
    let bounded = |at: usize, len: usize| {
        !ident_byte(code.as_bytes(), at.wrapping_sub(1)) && !ident_byte(code.as_bytes(), at + len)
    };
    for (at, _) in code.match_indices(name).filter(|(at, _)| bounded(*at, name.len())) {
        let after = code[at + name.len()..].trim_start();
        if after.starts_with(".push_str(") || after.starts_with(".push(") || after.starts_with("+=") {
            return Some("appends to a `String`");
        }
        let before = code[..at].trim_end();
        if before.ends_with("write!(") || before.ends_with("write!(&mut") || before.ends_with("writeln!(&mut") {
            return Some("`write!`");
        }
        let is_binding = before.ends_with("let") || before.ends_with("let mut");
        if is_binding {
            let Some(rest) = after.split_once('=').map(|(_, r)| r) else { continue };
            let value = rest.split(';').next().unwrap_or("");
            if let Some(why) = built_text(value) {
                return Some(why);
            }
            if value.trim().starts_with("String::new()") {
                return Some("a `String` made at run time");
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const BAD: &str = r#"//! Storage written the wrong way.
use rusqlite::{Connection, params};

pub fn delete(conn: &Connection, coach: &str) {
    conn.execute(&format!("DELETE FROM plans WHERE coach = '{coach}'"), []).unwrap();
}

pub fn find(conn: &Connection, coach: &str) {
    let sql = format!("SELECT id FROM plans WHERE coach = '{coach}'");
    let mut stmt = conn.prepare(&sql).unwrap();
    let _ = stmt.query([]);
}

pub fn count(conn: &Connection, table: &str) {
    let mut query = String::from("SELECT COUNT(*) FROM ");
    query.push_str(table);
    let _: i64 = conn
        .query_row(
            query.as_str(),
            [],
            |row| row.get(0),
        )
        .unwrap();
}

pub fn drop_table(conn: &Connection, table: &str) {
    conn.execute_batch(&["DROP TABLE ", table].concat()).unwrap();
    conn.prepare_cached(&("SELECT * FROM ".to_owned() + table)).unwrap();
}
"#;

    const GOOD: &str = r#"//! Storage written the right way.
use rusqlite::{Connection, params};

const COUNT_SQL: &str = "SELECT COUNT(*) FROM plans WHERE coach = ?1";

macro_rules! select_plans {
    ($rest:literal) => { concat!("SELECT id FROM plans ", $rest) };
}

pub fn delete(conn: &Connection, coach: &str, key: &str) {
    // conn.execute(&format!("not code: a comment"), [])
    conn.execute("DELETE FROM plans WHERE coach = ?1", [coach]).unwrap();
    conn.execute("INSERT INTO notes (key) VALUES (?1)", params![format!("{coach}:{key}")]).unwrap();
    let mut stmt = conn.prepare_cached(select_plans!("WHERE coach = ?1")).unwrap();
    let _ = stmt.query([coach]);
    let _: i64 = conn.query_row(COUNT_SQL, [coach], |row| row.get(0)).unwrap();
    let message = format!("deleted {coach}; use .execute( with care, ')'");
    let paren = ')';
    let _ = (message, paren);
}
"#;

    #[test]
    fn sql_built_at_run_time_is_caught_with_its_line() {
        let problems = check_source(BAD);
        let lines: Vec<usize> = problems.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, [5, 10, 18, 27, 28], "{problems:#?}");
        assert!(
            problems[0].1.starts_with(
                "`.execute(&format!(\"DELETE FROM plans WHERE coach = '{coach}'\")` passes SQL built with `format!`"
            ),
            "{}",
            problems[0].1
        );
        assert!(problems[1].1.contains("`.prepare(&sql` passes SQL built with `format!`"), "{}", problems[1].1);
        assert!(
            problems[2].1.contains("`.query_row(query.as_str()` passes SQL built with a `String` made at run time"),
            "{}",
            problems[2].1
        );
        assert!(problems[3].1.contains("`.concat()`"), "{}", problems[3].1);
        assert!(problems[4].1.contains("string concatenation"), "{}", problems[4].1);
        assert!(problems[0].1.ends_with("bind values as parameters (`?1`, `params![...]`)"), "{}", problems[0].1);
    }

    #[test]
    fn constant_sql_with_bound_parameters_passes() {
        assert_eq!(check_source(GOOD), Vec::<(usize, String)>::new());
    }
}
