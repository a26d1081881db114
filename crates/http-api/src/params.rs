//! The parameters of every route: how each kind of value is read from a request (exactly: no trimming, no guessing)
//! and the JSON Schema the OpenAPI document states for it, side by side, so that a request the document calls valid
//! is accepted and one it calls invalid is refused with a 400.
//!
//! [`PARAMETERS`] is the one list of which route takes which parameter; the OpenAPI document's parameters are
//! generated from it ([`document_parameters`]), and a test holds it against the route table.

use std::collections::BTreeMap;

use core_model::{CoachId, Roster, SearchCursor, Ticker, TradingDate, UserId};
use serde_json::{Value, json};
use service::{MAX_HISTORY_LIMIT, MAX_SEARCH_LIMIT};

/// Where a parameter is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum In {
    /// A segment of the path.
    Path,
    /// The query string. A parameter given must have a value: `?date=` is refused (leave the parameter out
    /// instead), except that a required one given empty counts as missing.
    Query,
}

/// What a parameter's value may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A coach of the configured roster: `d`, `coach_d`, `d:` or `coach_d:`, in any ASCII case.
    Coach,
    /// A trading date, `YYYY-MM-DD`.
    Date,
    /// A trading date, `YYYY-MM-DD`, or `today` in the market time zone.
    DateOrToday,
    /// A whole number from 1 to the maximum, in decimal digits.
    Count {
        /// The largest value accepted.
        max: u64,
    },
    /// A Discord user id: up to 19 decimal digits.
    UserId,
    /// A SHA-256 digest: 64 lowercase hexadecimal digits.
    Digest,
    /// One of a few words, exactly as written.
    OneOf(&'static [&'static str]),
    /// A ticker: an optional `$`, 1 to 5 letters with an optional class (`BRK.B`), or a crypto pair (`BTC-USD`), in
    /// any case.
    Ticker,
    /// Words to search for: any text.
    Text,
    /// A search cursor, as a page's `next_cursor` gives it.
    Cursor,
}

/// One parameter of one route.
#[derive(Debug)]
pub(crate) struct Param {
    /// The route's path, as in the route table.
    pub path: &'static str,
    /// The parameter's name.
    pub name: &'static str,
    /// Where it is given.
    pub location: In,
    /// Whether a request without it is refused.
    pub required: bool,
    /// Whether it may be given more than once (`?ticker=NVDA&ticker=AMD`: any of them).
    pub repeatable: bool,
    /// What it may be.
    pub kind: Kind,
    /// What it means, for the document.
    pub description: &'static str,
}

const fn query(path: &'static str, name: &'static str, kind: Kind, description: &'static str) -> Param {
    Param { path, name, location: In::Query, required: false, repeatable: false, kind, description }
}

const fn repeated_query(path: &'static str, name: &'static str, kind: Kind, description: &'static str) -> Param {
    Param { path, name, location: In::Query, required: false, repeatable: true, kind, description }
}

const fn required_query(path: &'static str, name: &'static str, kind: Kind, description: &'static str) -> Param {
    Param { path, name, location: In::Query, required: true, repeatable: false, kind, description }
}

const fn path_segment(path: &'static str, name: &'static str, kind: Kind, description: &'static str) -> Param {
    Param { path, name, location: In::Path, required: true, repeatable: false, kind, description }
}

const COACH: &str = "Coach: its id (`d`), its legacy name (`coach_d`), either with a trailing colon (`d:`), in any \
                     case; the roster's ids are listed by `/api/v1/coaches`";
const LEGACY_DATE: &str = "Trading date `YYYY-MM-DD`; today in the market time zone when absent";
const V1_DATE: &str = "Trading date `YYYY-MM-DD`, or `today` in the market time zone";
const HISTORY_LIMIT: &str = "Most entries returned, 1 to 1000 (default 100)";
const FROM: &str = "First trading date searched, `YYYY-MM-DD` or `today`, included (default: 29 days before `to`). \
                    The range from `from` to `to` covers at most 366 days, and `from` is not after `to`";
const TO: &str = "Last trading date searched, `YYYY-MM-DD` or `today`, included (default: today)";
const SEARCH_COACH: &str = "Only plans of this coach (any form `coach` takes elsewhere); repeat it for several \
                            (`coach=d&coach=s`: either); every coach when absent";

/// The largest id a path accepts (the largest integer a JSON number holds exactly).
pub(crate) const MAX_ID: u64 = 9_007_199_254_740_991;

const SUBSCRIPTION: &str = "The subscription's id, as listed by `GET /api/v1/webhooks`";

/// The formats `/metrics` answers in.
pub(crate) const METRICS_FORMATS: &[&str] = &["json", "prometheus"];

/// Every parameter of every route.
pub(crate) const PARAMETERS: &[Param] = &[
    required_query("/api/coach-plans/", "coach", Kind::Coach, COACH),
    query("/api/coach-plans/", "date", Kind::Date, LEGACY_DATE),
    query("/api/coach-plans/all", "date", Kind::Date, LEGACY_DATE),
    required_query("/api/coach-plans/history", "coach", Kind::Coach, COACH),
    query("/api/coach-plans/history", "date", Kind::Date, "Trading date `YYYY-MM-DD`; every date when absent"),
    query(
        "/api/v1/plans",
        "date",
        Kind::DateOrToday,
        "One trading date, `YYYY-MM-DD` or `today`, instead of `from` and `to` (not with them). Without `date`, \
         `from` and `to`, the 30 days ending today",
    ),
    query("/api/v1/plans", "from", Kind::DateOrToday, FROM),
    query("/api/v1/plans", "to", Kind::DateOrToday, TO),
    repeated_query("/api/v1/plans", "coach", Kind::Coach, SEARCH_COACH),
    repeated_query(
        "/api/v1/plans",
        "ticker",
        Kind::Ticker,
        "Only plans mentioning this ticker (`NVDA`, `$nvda`, `BRK.B`, `BTC-USD`; any case); repeat it for several \
         (either)",
    ),
    query("/api/v1/plans", "author", Kind::UserId, "Only plans by this Discord user id"),
    query(
        "/api/v1/plans",
        "q",
        Kind::Text,
        "Words the plan's text contains, all of them: words, phrases in double quotes (`\"gap fill\"`), prefixes \
         (`semi*`); case and accents are ignored. Text without any letter or digit finds nothing",
    ),
    query(
        "/api/v1/plans",
        "limit",
        Kind::Count { max: MAX_SEARCH_LIMIT as u64 },
        "Most plans per page, 1 to 200 (default 50)",
    ),
    query(
        "/api/v1/plans",
        "cursor",
        Kind::Cursor,
        "The `next_cursor` of the previous page, to get the next one (with the same other parameters)",
    ),
    query("/api/v1/tickers", "from", Kind::DateOrToday, FROM),
    query("/api/v1/tickers", "to", Kind::DateOrToday, TO),
    repeated_query("/api/v1/tickers", "coach", Kind::Coach, SEARCH_COACH),
    path_segment("/api/v1/plans/{coach}/{date}", "coach", Kind::Coach, COACH),
    path_segment("/api/v1/plans/{coach}/{date}", "date", Kind::DateOrToday, V1_DATE),
    path_segment("/api/v1/plans/{coach}/{date}/history", "coach", Kind::Coach, COACH),
    path_segment("/api/v1/plans/{coach}/{date}/history", "date", Kind::DateOrToday, V1_DATE),
    query(
        "/api/v1/plans/{coach}/{date}/history",
        "limit",
        Kind::Count { max: MAX_HISTORY_LIMIT as u64 },
        HISTORY_LIMIT,
    ),
    path_segment("/api/v1/coaches/{coach}/history", "coach", Kind::Coach, COACH),
    query("/api/v1/coaches/{coach}/history", "limit", Kind::Count { max: MAX_HISTORY_LIMIT as u64 }, HISTORY_LIMIT),
    path_segment(
        "/api/v1/charts/{digest}",
        "digest",
        Kind::Digest,
        "SHA-256 of the image, 64 lowercase hexadecimal digits, as in a chart's `image_url`",
    ),
    path_segment("/api/v1/webhooks/{id}", "id", Kind::Count { max: MAX_ID }, SUBSCRIPTION),
    path_segment("/api/v1/webhooks/{id}/test", "id", Kind::Count { max: MAX_ID }, SUBSCRIPTION),
    path_segment("/api/v1/webhooks/{id}/deliveries", "id", Kind::Count { max: MAX_ID }, SUBSCRIPTION),
    query(
        "/api/v1/webhooks/{id}/deliveries",
        "limit",
        Kind::Count { max: service::webhooks::MAX_DELIVERY_LIST as u64 },
        "Most deliveries returned, 1 to 500 (default 50)",
    ),
    query(
        "/metrics",
        "format",
        Kind::OneOf(METRICS_FORMATS),
        "`json` or `prometheus`; when absent, the `Accept` header decides (JSON unless a Prometheus scraper asks \
         for text)",
    ),
];

/// Why a parameter's value was refused: the message says what to send instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadParam(pub String);

/// A coach in one of the forms [`Kind::Coach`] names, exactly (no spaces around it).
///
/// # Errors
/// When the text is not one of those forms of a coach of `roster`; the message lists the valid coaches.
pub(crate) fn coach(roster: &Roster, input: &str) -> Result<CoachId, BadParam> {
    let unknown = || {
        let valid: Vec<String> = roster.coaches().iter().map(|c| c.id.to_string()).collect();
        let shown: String = input.chars().take(40).collect();
        BadParam(format!("unknown coach `{shown}`; valid coaches are: {}", valid.join(", ")))
    };
    let lower = input.to_ascii_lowercase();
    let bare = lower.strip_suffix(':').unwrap_or(&lower);
    let bare = bare.strip_prefix("coach_").unwrap_or(bare);
    let id = CoachId::new(bare).map_err(|_| unknown())?;
    if id.as_str() != bare || roster.get(&id).is_none() {
        return Err(unknown());
    }
    Ok(id)
}

/// A `YYYY-MM-DD` date, exactly.
///
/// # Errors
/// For any other text; the message shows the form.
pub(crate) fn date(input: &str) -> Result<TradingDate, BadParam> {
    TradingDate::parse(input).map_err(|e| BadParam(e.to_string()))
}

/// A `YYYY-MM-DD` date or `today` (lower case), exactly; `today` is `today`'s value.
///
/// # Errors
/// For any other text; the message shows the forms.
pub(crate) fn date_or_today(input: &str, today: TradingDate) -> Result<TradingDate, BadParam> {
    if input == "today" {
        return Ok(today);
    }
    TradingDate::parse(input).map_err(|_| {
        let shown: String = input.chars().take(40).collect();
        BadParam(format!("`{shown}` is not a date; write it as YYYY-MM-DD (e.g. 2025-11-09) or `today`"))
    })
}

/// A whole number from 1 to `max`, in decimal digits only.
///
/// # Errors
/// For anything else; the message names the parameter and the range.
pub(crate) fn count(name: &str, input: &str, max: u64) -> Result<u64, BadParam> {
    let bad = || {
        let shown: String = input.chars().take(40).collect();
        BadParam(format!("`{name}` must be a whole number from 1 to {max}, not `{shown}`"))
    };
    if input.is_empty() || !input.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    input.parse::<u64>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(bad)
}

/// A Discord user id: 1 to 19 decimal digits.
///
/// # Errors
/// For anything else; the message names the parameter.
pub(crate) fn user_id(name: &str, input: &str) -> Result<UserId, BadParam> {
    let digits = !input.is_empty() && input.len() <= 19 && input.bytes().all(|b| b.is_ascii_digit());
    match input.parse::<u64>() {
        Ok(id) if digits => Ok(UserId(id)),
        _ => {
            let shown: String = input.chars().take(40).collect();
            Err(BadParam(format!("`{name}` must be a Discord user id (up to 19 digits), not `{shown}`")))
        }
    }
}

/// One of `words`, exactly.
///
/// # Errors
/// For anything else; the message lists the words.
pub(crate) fn one_of<'w>(name: &str, input: &str, words: &'w [&'w str]) -> Result<&'w str, BadParam> {
    words.iter().copied().find(|w| *w == input).ok_or_else(|| {
        let shown: String = input.chars().take(40).collect();
        BadParam(format!("unknown {name} `{shown}`; use {}", words.join(" or ")))
    })
}

/// A ticker as [`Kind::Ticker`] says.
///
/// # Errors
/// For anything else; the message shows the forms.
pub(crate) fn ticker(input: &str) -> Result<Ticker, BadParam> {
    Ticker::parse(input).map_err(|e| BadParam(e.to_string()))
}

/// A cursor as [`Kind::Cursor`] says.
///
/// # Errors
/// For anything else; the message says to start again.
pub(crate) fn cursor(input: &str) -> Result<SearchCursor, BadParam> {
    SearchCursor::decode(input).map_err(|e| BadParam(e.to_string()))
}

/// The values of a route's query parameters, read from the query string as [`PARAMETERS`] declares them: an
/// optional parameter given empty is refused, a required one given empty is missing; one that is not repeatable may
/// be given once; parameters the route does not take are ignored.
#[derive(Debug, Default)]
pub(crate) struct QueryValues(BTreeMap<&'static str, Vec<String>>);

impl QueryValues {
    /// Reads `query` (the raw query string) for the route at `path`.
    ///
    /// # Errors
    /// When an optional parameter is given empty, or one that is not repeatable is given twice.
    pub(crate) fn parse(path: &str, query: &str) -> Result<Self, BadParam> {
        let mut values: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let Some(param) = PARAMETERS.iter().find(|p| p.path == path && p.location == In::Query && p.name == name)
            else {
                continue;
            };
            if value.is_empty() {
                if param.required {
                    continue;
                }
                return Err(BadParam(format!("`{}` is empty; give it a value or leave it out", param.name)));
            }
            let given = values.entry(param.name).or_default();
            if !param.repeatable && !given.is_empty() {
                return Err(BadParam(format!("`{}` is given twice; give it once", param.name)));
            }
            given.push(value.into_owned());
        }
        Ok(Self(values))
    }

    /// The value of a parameter given once, if given.
    pub(crate) fn one(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(|v| v.first()).map(String::as_str)
    }

    /// Every value of a repeatable parameter, in the order given.
    pub(crate) fn all(&self, name: &str) -> impl Iterator<Item = &str> {
        self.0.get(name).into_iter().flatten().map(String::as_str)
    }
}

/// The regular expression (ECMA-262, as JSON Schema reads it) of the forms [`coach`] accepts for `roster`.
pub(crate) fn coach_pattern(roster: &Roster) -> String {
    let any_case = |word: &str| -> String {
        word.chars()
            .map(|c| {
                if c.is_ascii_alphabetic() {
                    format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
                } else if c == '-' {
                    "\\-".to_owned()
                } else {
                    c.to_string()
                }
            })
            .collect()
    };
    let ids: Vec<String> = roster.coaches().iter().map(|c| any_case(c.id.as_str())).collect();
    format!("^(?:{}_)?(?:{}):?$", any_case("coach"), ids.join("|"))
}

const DATE_PATTERN: &str = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$";

/// The JSON Schema of a value of `kind`.
fn schema_of(kind: Kind, roster: &Roster) -> Value {
    match kind {
        Kind::Coach => {
            let examples: Vec<String> = roster.coaches().iter().map(|c| c.id.to_string()).collect();
            json!({ "type": "string", "pattern": coach_pattern(roster), "examples": examples })
        }
        Kind::Date => {
            json!({ "type": "string", "format": "date", "pattern": DATE_PATTERN, "examples": ["2025-11-10"] })
        }
        Kind::DateOrToday => json!({
            "anyOf": [
                { "type": "string", "format": "date", "pattern": DATE_PATTERN },
                { "type": "string", "const": "today" },
            ],
            "examples": ["today", "2025-11-10"],
        }),
        Kind::Count { max } => json!({ "type": "integer", "minimum": 1, "maximum": max }),
        Kind::UserId => json!({ "type": "string", "pattern": "^[0-9]{1,19}$", "examples": ["412345678901234567"] }),
        Kind::Digest => json!({ "type": "string", "pattern": "^[0-9a-f]{64}$" }),
        Kind::OneOf(words) => json!({ "type": "string", "enum": words }),
        Kind::Ticker => {
            json!({ "type": "string", "pattern": Ticker::pattern(), "examples": ["NVDA", "$amd", "BRK.B"] })
        }
        Kind::Text => json!({ "type": "string", "minLength": 1, "examples": ["\"gap fill\" semi*"] }),
        Kind::Cursor => json!({ "type": "string", "pattern": SearchCursor::PATTERN }),
    }
}

/// The OpenAPI parameter objects of the route at `path`, for the configured roster.
pub(crate) fn document_parameters(path: &str, roster: &Roster) -> Vec<Value> {
    PARAMETERS
        .iter()
        .filter(|p| p.path == path)
        .map(|p| {
            let mut schema = schema_of(p.kind, roster);
            if p.repeatable {
                schema = json!({ "type": "array", "items": schema });
            }
            let mut parameter = json!({
                "name": p.name,
                "in": match p.location { In::Path => "path", In::Query => "query" },
                "required": p.required,
                "description": p.description,
                "schema": schema,
            });
            if p.repeatable {
                parameter["style"] = json!("form");
                parameter["explode"] = json!(true);
            }
            parameter
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use core_model::Coach;
    use proptest::prelude::*;

    use super::*;

    fn roster() -> Roster {
        let coach = |id: &str, name: &str| Coach { id: CoachId::new(id).unwrap(), name: name.to_owned() };
        Roster::new(vec![coach("d", "Day"), coach("i", "Intraday"), coach("swing-2", "Swing"), coach("n_x", "News")])
            .unwrap()
    }

    #[track_caller]
    fn check_coach(input: &str, expected: Option<&str>) {
        let roster = roster();
        let parsed = coach(&roster, input).ok().map(|c| c.to_string());
        assert_eq!(parsed.as_deref(), expected, "{input:?}");
        let pattern = regex::Regex::new(&coach_pattern(&roster)).unwrap();
        assert_eq!(pattern.is_match(input), expected.is_some(), "the document's pattern agrees on {input:?}");
    }

    #[test]
    fn coaches_are_read_in_the_documented_forms_only() {
        check_coach("d", Some("d"));
        check_coach("D", Some("d"));
        check_coach("d:", Some("d"));
        check_coach("coach_d", Some("d"));
        check_coach("COACH_D:", Some("d"));
        check_coach("Coach_I", Some("i"));
        check_coach("swing-2", Some("swing-2"));
        check_coach("SWING-2:", Some("swing-2"));
        check_coach("n_x", Some("n_x"));
        check_coach("coach_n_x", Some("n_x"));
        check_coach("", None);
        check_coach(" d", None);
        check_coach("d ", None);
        check_coach("d::", None);
        check_coach(":d", None);
        check_coach("coach_", None);
        check_coach("coach_coach_d", None);
        check_coach("x", None);
        check_coach("dd", None);
        check_coach("swing", None);
        check_coach("coach-d", None);
        check_coach("\u{212a}", None);
    }

    proptest! {
        #[test]
        fn the_coach_pattern_and_the_parser_agree(input in "(?:[cC][oO][aA][cC][hH]_)?[a-zA-Z0-9_:\\- \u{e9}]{0,9}") {
            let roster = roster();
            let pattern = regex::Regex::new(&coach_pattern(&roster)).unwrap();
            prop_assert_eq!(pattern.is_match(&input), coach(&roster, &input).is_ok(), "{:?}", input);
        }
    }

    #[test]
    fn dates_counts_ids_and_words_are_read_exactly() {
        let today = TradingDate::parse("2025-11-10").unwrap();
        assert_eq!(date("2025-11-09").unwrap().to_string(), "2025-11-09");
        for bad in ["", " 2025-11-09", "2025-11-09 ", "2025-1-09", "2025-02-30", "today", "20251109"] {
            assert!(date(bad).is_err(), "{bad:?}");
        }
        assert_eq!(date_or_today("today", today).unwrap(), today);
        assert_eq!(date_or_today("2025-11-09", today).unwrap().to_string(), "2025-11-09");
        for bad in ["", "Today", " today", "yesterday", "2025-13-01"] {
            assert!(date_or_today(bad, today).is_err(), "{bad:?}");
        }
        assert_eq!(count("limit", "1", 10).unwrap(), 1);
        assert_eq!(count("limit", "010", 10).unwrap(), 10);
        for bad in ["", "0", "11", "+5", "-1", " 5", "5 ", "1.0", "1e1", "99999999999999999999999"] {
            assert!(count("limit", bad, 10).is_err(), "{bad:?}");
        }
        assert_eq!(user_id("author", "412345678901234567").unwrap(), UserId(412_345_678_901_234_567));
        for bad in ["", "+1", " 1", "12345678901234567890", "abc", "1.5"] {
            assert!(user_id("author", bad).is_err(), "{bad:?}");
        }
        assert_eq!(one_of("format", "json", METRICS_FORMATS).unwrap(), "json");
        assert!(one_of("format", "JSON", METRICS_FORMATS).is_err());
    }

    #[test]
    fn every_parameter_is_declared_once_per_route() {
        for (i, p) in PARAMETERS.iter().enumerate() {
            assert!(
                !PARAMETERS[..i].iter().any(|q| q.path == p.path && q.name == p.name),
                "{} {} declared twice",
                p.path,
                p.name
            );
            if p.location == In::Path {
                assert!(p.path.contains(&format!("{{{}}}", p.name)), "{} is a segment of {}", p.name, p.path);
            }
        }
    }
}
