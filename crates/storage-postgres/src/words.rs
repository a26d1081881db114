//! The words of plan texts as PostgreSQL's full-text types: a `tsvector` built by the application from
//! [`core_model::words_of`] (runs of letters and digits, lower case, with their positions), and the `tsquery` of a
//! [`TextQuery`] (each term a phrase of `<->`-joined words, the last a `:*` prefix when asked, all terms required).
//! Both are written as text literals and cast by the statement, so the database's text search configuration plays
//! no part: words match as the application's rule says. The index narrows the candidates; the caller checks each
//! candidate with [`TextQuery::matches`], so the few words the index must shorten (longer than a lexeme may be) never
//! decide a match.

use std::collections::BTreeMap;

use core_model::{TextQuery, words_of};

/// The longest lexeme kept, in bytes (PostgreSQL's limit is 2047): longer words are cut at a character boundary.
const MAX_LEXEME_BYTES: usize = 1024;

/// The highest position a `tsvector` records; later words share it (plan texts are far shorter).
const MAX_POSITION: usize = 16_383;

/// A word as a lexeme: cut to [`MAX_LEXEME_BYTES`].
fn lexeme(word: &str) -> &str {
    if word.len() <= MAX_LEXEME_BYTES {
        return word;
    }
    let mut end = MAX_LEXEME_BYTES;
    while !word.is_char_boundary(end) {
        end -= 1;
    }
    &word[..end]
}

/// Writes `word` as a quoted lexeme. Words are letters and digits only, but quoting is cheap and keeps any text
/// literal-safe.
fn quoted(out: &mut String, word: &str) {
    out.push('\'');
    for c in lexeme(word).chars() {
        if c == '\'' || c == '\\' {
            out.push(c);
        }
        out.push(c);
    }
    out.push('\'');
}

/// The `tsvector` literal of `text`: each distinct word with the positions (from 1) where it occurs.
pub(crate) fn tsvector(text: &str) -> String {
    let mut positions: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, word) in words_of(text).into_iter().enumerate() {
        positions.entry(lexeme(&word).to_owned()).or_default().push((i + 1).min(MAX_POSITION));
    }
    let mut out = String::new();
    for (word, at) in positions {
        if !out.is_empty() {
            out.push(' ');
        }
        quoted(&mut out, &word);
        out.push(':');
        let mut at = at;
        at.dedup();
        let list: Vec<String> = at.iter().map(ToString::to_string).collect();
        out.push_str(&list.join(","));
    }
    out
}

/// The `tsquery` literal of `query`, or `None` for a query without terms (which matches nothing).
pub(crate) fn tsquery(query: &TextQuery) -> Option<String> {
    if query.is_empty() {
        return None;
    }
    let mut out = String::new();
    for (t, term) in query.terms().iter().enumerate() {
        if t > 0 {
            out.push_str(" & ");
        }
        out.push('(');
        for (w, word) in term.words.iter().enumerate() {
            if w > 0 {
                out.push_str(" <-> ");
            }
            quoted(&mut out, word);
            if term.prefix && w + 1 == term.words.len() {
                out.push_str(":*");
            }
        }
        out.push(')');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_becomes_its_words_with_positions() {
        assert_eq!(
            tsvector("Gap fill; then GAP again. Café 株価"),
            "'again':5 'café':6 'fill':2 'gap':1,4 'then':3 '株価':7"
        );
        assert_eq!(tsvector("!!! ..."), "");
        let long = "a".repeat(3000);
        assert_eq!(tsvector(&long), format!("'{}':1", "a".repeat(MAX_LEXEME_BYTES)));
        let wide = "é".repeat(1000);
        assert!(tsvector(&wide).len() <= MAX_LEXEME_BYTES + 4, "cut at a character boundary");
    }

    #[test]
    fn a_query_becomes_phrases_and_prefixes_all_required() {
        let query = TextQuery::parse("\"gap fill\" semi* NVDA");
        assert_eq!(tsquery(&query).unwrap(), "('gap' <-> 'fill') & ('semi':*) & ('nvda')");
        assert_eq!(tsquery(&TextQuery::parse("don't")).unwrap(), "('don' <-> 't')");
        assert_eq!(tsquery(&TextQuery::parse("  ")), None);
    }
}
