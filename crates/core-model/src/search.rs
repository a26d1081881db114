//! Finding plans: by ticker, coach, author, date range and words ([`SearchQuery`]), a page at a time
//! ([`SearchCursor`]), and the tickers mentioned over a range ([`TickerMention`]). The query types say what to find;
//! each storage adapter finds it its own way (the [`PlanSearch`](crate::PlanSearch) port).

use std::fmt;

use jiff::civil::Date;
use jiff::{Span, ToSpan as _, Unit};

use crate::{CoachId, Plan, PlanId, Ticker, TradingDate, UserId};

/// The words to look for in plan texts: every term must occur (terms are joined by AND).
///
/// Written as users write a search box: words (`fade open`), phrases in double quotes (`"gap fill"`), and prefixes
/// (`semi*`). Matching ignores case; a word is a run of letters and digits (any script), so punctuation inside a word
/// splits it into a phrase (`don't` is the phrase `don t`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TextQuery {
    terms: Vec<TextTerm>,
}

/// One term of a [`TextQuery`]: a word, or words that must follow one another; the last may be a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextTerm {
    /// The words, in lower case, each a run of letters and digits.
    pub words: Vec<String>,
    /// Whether the last word matches as a prefix (`semi*` matches `semis`, `semiconductor`).
    pub prefix: bool,
}

impl TextQuery {
    /// Reads a search box's text. Never fails: text without any word gives a query without terms, which matches
    /// nothing.
    pub fn parse(input: &str) -> Self {
        let mut terms = Vec::new();
        let mut rest = input;
        while let Some(start) = rest.find(|c: char| !c.is_whitespace()) {
            rest = &rest[start..];
            let (chunk, quoted) = match rest.strip_prefix('"') {
                Some(inside) => {
                    let end = inside.find('"').unwrap_or(inside.len());
                    let chunk = &inside[..end];
                    rest = inside.get(end + 1..).unwrap_or("");
                    (chunk, true)
                }
                None => {
                    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
                    let chunk = &rest[..end];
                    rest = &rest[end..];
                    (chunk, false)
                }
            };
            let after_quote_star = quoted && rest.starts_with('*');
            if after_quote_star {
                rest = &rest[1..];
            }
            let prefix = after_quote_star || (!quoted && chunk.ends_with('*'));
            let words = words_of(chunk);
            if !words.is_empty() {
                terms.push(TextTerm { words, prefix });
            }
        }
        Self { terms }
    }

    /// The terms, in the order written.
    pub fn terms(&self) -> &[TextTerm] {
        &self.terms
    }

    /// Whether the query has no term (it matches nothing).
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Whether `text` matches: every term occurs in it, its words in a row (case ignored).
    ///
    /// This is the meaning every storage adapter implements; adapters with a full-text index use it, and the
    /// in-memory adapter calls this.
    pub fn matches(&self, text: &str) -> bool {
        if self.terms.is_empty() {
            return false;
        }
        let words = words_of(text);
        self.terms.iter().all(|term| {
            let n = term.words.len();
            words.windows(n).any(|window| {
                window.iter().zip(&term.words).enumerate().all(|(i, (word, wanted))| {
                    if term.prefix && i + 1 == n { word.starts_with(wanted.as_str()) } else { word == wanted }
                })
            })
        })
    }
}

/// The words of `text`: runs of letters and digits, in lower case.
pub fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

impl fmt::Display for TextQuery {
    /// The query as it could be typed again: `"gap fill" semi*`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, term) in self.terms.iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "\"{}\"{}", term.words.join(" "), if term.prefix { "*" } else { "" })?;
        }
        Ok(())
    }
}

/// Where a page of search results ends, so that the next page starts after it: results are ordered by trading date
/// (newest first), then by the coach's place in the roster, then by plan id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchCursor {
    /// The trading date of the last plan returned.
    pub date: TradingDate,
    /// Its coach's place in [`SearchQuery::coach_order`] (coaches not listed come after every listed one).
    pub rank: u32,
    /// Its id.
    pub id: PlanId,
}

/// Days between 0001-01-01 and the latest trading date.
const MAX_DAY_NUMBER: i64 = 3_652_058;

/// A cursor written in a form no one can mistake for anything else: this is what callers receive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a cursor this server gave; repeat the search without `cursor` to start again")]
pub struct BadCursor(pub String);

impl SearchCursor {
    /// The form [`decode`](Self::decode) accepts, as a regular expression (for input schemas).
    pub const PATTERN: &str = "^[0-9]{1,7}\\.[0-9]{1,7}\\.[0-9]{1,19}$";

    /// The cursor as text: three numbers (`738800.1.4711`), to be passed back as is.
    pub fn encode(&self) -> String {
        let days = self.date.date().since((Unit::Day, epoch())).map_or(0, |span| span.get_days());
        format!("{days}.{}.{}", self.rank, self.id.0)
    }

    /// Reads a cursor written by [`encode`](Self::encode): three numbers (`D.R.I`, at most 7, 7 and 19 digits).
    /// Numbers past the largest date or id stand for the largest.
    ///
    /// # Errors
    /// [`BadCursor`] for any other text.
    pub fn decode(text: &str) -> Result<Self, BadCursor> {
        let bad = || BadCursor(text.chars().take(60).collect());
        let mut parts = text.split('.');
        let (Some(days), Some(rank), Some(id), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        let number = |s: &str, max_digits: usize| -> Option<u64> {
            if s.is_empty() || s.len() > max_digits || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse::<u64>().ok()
        };
        let days = number(days, 7).ok_or_else(bad)?.min(MAX_DAY_NUMBER as u64);
        let rank = number(rank, 7).ok_or_else(bad)?;
        let id = number(id, 19).ok_or_else(bad)?.min(i64::MAX as u64);
        let date = epoch().checked_add((days as i64).days()).map_err(|_| bad())?;
        Ok(Self {
            date: TradingDate::from_date(date),
            rank: u32::try_from(rank).unwrap_or(u32::MAX),
            id: PlanId(id as i64),
        })
    }
}

fn epoch() -> Date {
    Date::constant(1, 1, 1)
}

/// What to find. Every filter given must hold; a list filter holds when any of its values does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// Plans that mention any of these tickers (none: no ticker filter).
    pub tickers: Vec<Ticker>,
    /// Plans of any of these coaches (none: every coach).
    pub coaches: Vec<CoachId>,
    /// Plans by this author (user id).
    pub author: Option<UserId>,
    /// First trading date, included.
    pub from: TradingDate,
    /// Last trading date, included.
    pub to: TradingDate,
    /// Words the text must contain.
    pub words: Option<TextQuery>,
    /// Most plans returned.
    pub limit: usize,
    /// Start after this plan (the previous page's last).
    pub after: Option<SearchCursor>,
    /// The roster's coaches in order, which orders plans of one date.
    pub coach_order: Vec<CoachId>,
}

impl SearchQuery {
    /// The rank of `coach` in [`coach_order`](Self::coach_order): its index, or past every listed coach.
    pub fn rank_of(&self, coach: &CoachId) -> u32 {
        self.coach_order.iter().position(|c| c == coach).map_or(UNLISTED_RANK, |i| u32::try_from(i).unwrap_or(u32::MAX))
    }

    /// Whether `plan` (active) passes every filter, cursor included. Adapters with indexes answer the same; the
    /// in-memory adapter calls this.
    pub fn admits(&self, plan: &Plan) -> bool {
        !plan.is_deleted()
            && (self.from..=self.to).contains(&plan.date)
            && (self.tickers.is_empty() || plan.tickers.iter().any(|t| self.tickers.contains(t)))
            && (self.coaches.is_empty() || self.coaches.contains(&plan.coach))
            && self.author.is_none_or(|a| plan.author.user_id == Some(a))
            && self.words.as_ref().is_none_or(|w| w.matches(&plan.text))
            && self
                .after
                .is_none_or(|after| self.sort_key(plan) > (std::cmp::Reverse(after.date), after.rank, after.id))
    }

    /// The key plans are ordered by: newest date first, then roster order, then id.
    pub fn sort_key(&self, plan: &Plan) -> (std::cmp::Reverse<TradingDate>, u32, PlanId) {
        (std::cmp::Reverse(plan.date), self.rank_of(&plan.coach), plan.id)
    }

    /// The cursor that continues after `plan`.
    pub fn cursor_after(&self, plan: &Plan) -> SearchCursor {
        SearchCursor { date: plan.date, rank: self.rank_of(&plan.coach), id: plan.id }
    }
}

/// The rank of a coach that is not on the roster (an imported plan of a retired coach): after every listed one.
pub const UNLISTED_RANK: u32 = 1_000_000;

/// A page of search results.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchPage {
    /// The plans, in order.
    pub plans: Vec<Plan>,
    /// Where the next page starts, when there are more plans.
    pub next: Option<SearchCursor>,
}

/// Which ticker mentions to count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MentionQuery {
    /// First trading date, included.
    pub from: TradingDate,
    /// Last trading date, included.
    pub to: TradingDate,
    /// Only these coaches' plans (none: every coach).
    pub coaches: Vec<CoachId>,
}

/// How often a ticker was mentioned over a range: the "consensus" view.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TickerMention {
    /// The ticker.
    pub ticker: Ticker,
    /// Active plans that mention it.
    pub plans: u64,
    /// The coaches of those plans, by id.
    pub coaches: Vec<CoachId>,
    /// The latest trading date of those plans.
    pub last_date: TradingDate,
}

/// Sorts mentions as every adapter returns them: most plans first, then by ticker.
pub fn sort_mentions(mentions: &mut [TickerMention]) {
    mentions.sort_by(|a, b| b.plans.cmp(&a.plans).then_with(|| a.ticker.cmp(&b.ticker)));
}

/// The number of days from `from` to `to`, both included (0 when `to` is before `from`).
pub fn days_in_range(from: TradingDate, to: TradingDate) -> i64 {
    to.date().since((Unit::Day, from.date())).map_or(0, |span: Span| i64::from(span.get_days()) + 1).max(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expected: &[(&[&str], bool)]) {
        let query = TextQuery::parse(input);
        let terms: Vec<(Vec<&str>, bool)> =
            query.terms().iter().map(|t| (t.words.iter().map(String::as_str).collect(), t.prefix)).collect();
        let expected: Vec<(Vec<&str>, bool)> = expected.iter().map(|(w, p)| (w.to_vec(), *p)).collect();
        assert_eq!(terms, expected, "{input:?}");
    }

    #[test]
    fn search_boxes_are_read_into_words_phrases_and_prefixes() {
        check("fade open", &[(&["fade"], false), (&["open"], false)]);
        check("\"gap fill\" semi*", &[(&["gap", "fill"], false), (&["semi"], true)]);
        check("\"gap fi\"* NVDA", &[(&["gap", "fi"], true), (&["nvda"], false)]);
        check("don't", &[(&["don", "t"], false)]);
        check("Ünïcode ÉTÉ", &[(&["ünïcode"], false), (&["été"], false)]);
        check("\"unclosed phrase", &[(&["unclosed", "phrase"], false)]);
        check("!!! \"\" * ---", &[]);
        check("", &[]);
    }

    #[test]
    fn a_query_matches_texts_with_every_term() {
        let q = TextQuery::parse("\"gap fill\" semi*");
        assert!(q.matches("Watching the GAP FILL on semiconductors"));
        assert!(!q.matches("gap then fill on semis"), "a phrase is words in a row");
        assert!(!q.matches("gap fill only"), "every term");
        assert!(!TextQuery::parse("!!!").matches("!!!"), "no term matches nothing");
        assert!(TextQuery::parse("été").matches("L'ÉTÉ arrive"), "case is ignored in any script");
    }

    #[test]
    fn cursors_round_trip_and_refuse_other_text() {
        let cursor = SearchCursor { date: TradingDate::parse("2025-11-10").unwrap(), rank: 3, id: PlanId(4711) };
        assert_eq!(SearchCursor::decode(&cursor.encode()).unwrap(), cursor);
        let first = SearchCursor { date: TradingDate::parse("0001-01-01").unwrap(), rank: 0, id: PlanId(1) };
        assert_eq!(first.encode(), "0.0.1");
        let last = SearchCursor::decode("9999999.9999999.9999999999999999999").unwrap();
        assert_eq!(last.date.to_string(), "9999-12-31", "past the largest date is the largest");
        assert_eq!(last.id, PlanId(i64::MAX));
        for bad in ["", "1.2", "1.2.3.4", "a.b.c", "1.2.-3", "12345678.1.1", " 1.2.3", "1.2.3 "] {
            assert!(SearchCursor::decode(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ranges_count_days_inclusively() {
        let d = |s: &str| TradingDate::parse(s).unwrap();
        assert_eq!(days_in_range(d("2025-11-10"), d("2025-11-10")), 1);
        assert_eq!(days_in_range(d("2025-01-01"), d("2025-12-31")), 365);
        assert_eq!(days_in_range(d("2024-01-01"), d("2024-12-31")), 366);
        assert_eq!(days_in_range(d("2025-11-10"), d("2025-11-09")), 0);
    }
}
