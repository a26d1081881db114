//! Finding plans in SQLite: the `plan_tickers` rows and the `plans_fts` full-text index (FTS5, `unicode61` with
//! diacritics removed), queried with bound parameters only (lists as JSON arrays through `json_each`), and the
//! rebuild of the ticker index when the extraction rules change.

use core_model::{
    CoachId, MentionQuery, Plan, PlanId, SearchPage, SearchQuery, TextQuery, Ticker, TickerMention, TickerRules,
    TradingDate, sort_mentions,
};
use jiff::Timestamp;
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension as _, Transaction, params};

use crate::rows::{self, plan_columns};
use crate::timestamp;

/// The plans a search may return, newest date first, with the words clause given: each variant is one static
/// statement. Bounded by the cursor's date (`?2` is the earlier of `to` and that date); the order within a date and the
/// cursor within its date are applied as the rows are read (see [`search`]), so that no row needs a computed rank
/// and the reading stops once the page is full.
macro_rules! search_sql {
    ($words:literal) => {
        concat!(
            "SELECT ",
            plan_columns!(),
            " FROM plans WHERE deleted_at IS NULL AND trading_date BETWEEN ?1 AND ?2 ",
            "AND (?3 IS NULL OR author_id = ?3) ",
            "AND (json_array_length(?4) = 0 OR coach IN (SELECT value FROM json_each(?4))) ",
            "AND (json_array_length(?5) = 0 OR EXISTS (SELECT 1 FROM plan_tickers ",
            "WHERE plan_tickers.plan_id = plans.id AND plan_tickers.ticker IN (SELECT value FROM json_each(?5)))) ",
            $words,
            " ORDER BY trading_date DESC"
        )
    };
}

const SEARCH: &str = search_sql!("AND ?6 IS NULL");
const SEARCH_WORDS: &str = search_sql!("AND id IN (SELECT rowid FROM plans_fts WHERE plans_fts MATCH ?6)");

/// Applies the queued changes of plan texts to the full-text index, in order, and empties the queue (see
/// `migrations/sqlite/0008_search_batches.sql`): run in every write transaction just before its commit, so that the
/// index gets one new segment per commit rather than one per plan.
pub(crate) fn apply_pending_words(tx: &Connection) -> rusqlite::Result<()> {
    let queued = tx.prepare_cached("SELECT 1 FROM plans_fts_pending LIMIT 1")?.exists([])?;
    if queued {
        tx.prepare_cached(
            "INSERT INTO plans_fts (plans_fts, rowid, text) \
             SELECT command, plan_id, text FROM plans_fts_pending ORDER BY seq",
        )?
        .execute([])?;
        tx.prepare_cached("DELETE FROM plans_fts_pending")?.execute([])?;
    }
    Ok(())
}

const MENTIONS: &str = "SELECT plan_tickers.ticker, COUNT(*), group_concat(DISTINCT plans.coach), MAX(plans.trading_date) \
     FROM plan_tickers JOIN plans ON plans.id = plan_tickers.plan_id \
     WHERE plans.deleted_at IS NULL AND plans.trading_date BETWEEN ?1 AND ?2 \
     AND (json_array_length(?3) = 0 OR plans.coach IN (SELECT value FROM json_each(?3))) \
     GROUP BY plan_tickers.ticker";

/// A list of coach ids or tickers as the JSON array the statements read with `json_each`. Both are validated domain
/// values (letters, digits, `-`, `_`, `.`), which need no escaping in a JSON string.
fn json_list<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let quoted: Vec<String> = items.map(|item| format!("\"{item}\"")).collect();
    format!("[{}]", quoted.join(","))
}

/// The words of `query` in FTS5's syntax: each term a quoted phrase (a prefix term followed by `*`), all required.
/// Words are runs of letters and digits, so nothing in them can be read as FTS5 syntax.
fn fts_query(query: &TextQuery) -> String {
    let terms: Vec<String> = query
        .terms()
        .iter()
        .map(|term| format!("\"{}\"{}", term.words.join(" "), if term.prefix { "*" } else { "" }))
        .collect();
    terms.join(" ")
}

/// A page of the plans `query` finds, with their charts.
pub(crate) fn search(conn: &Connection, query: &SearchQuery) -> rusqlite::Result<SearchPage> {
    let words = match &query.words {
        Some(words) if words.is_empty() => return Ok(SearchPage::default()),
        Some(words) => Some(fts_query(words)),
        None => None,
    };
    let author = match query.author.map(|a| i64::try_from(a.0)) {
        // SQLite keeps ids as signed 64-bit integers: no stored author has a larger one.
        Some(Err(_)) => return Ok(SearchPage::default()),
        Some(Ok(id)) => Some(id),
        None => None,
    };
    let last = query.after.map_or(query.to, |after| after.date.min(query.to));
    let coaches = json_list(query.coaches.iter().map(CoachId::as_str));
    let tickers = json_list(query.tickers.iter().map(Ticker::as_str));
    let sql = if words.is_some() { SEARCH_WORDS } else { SEARCH };
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params![query.from.to_string(), last.to_string(), author, coaches, tickers, words])?;
    // Rows come newest date first; each date's plans (a few: one per coach) are put in roster order as a group.
    let mut plans: Vec<Plan> = Vec::new();
    let mut group: Vec<Plan> = Vec::new();
    let full = |plans: &[Plan]| plans.len() > query.limit;
    loop {
        let row = rows.next()?;
        let plan = row.map(rows::plan_from_row).transpose()?;
        let same_date = matches!((&plan, group.first()), (Some(p), Some(g)) if p.date == g.date);
        if !same_date && !group.is_empty() {
            group.sort_by_key(|p| query.sort_key(p));
            let after = query.after.map(|a| (std::cmp::Reverse(a.date), a.rank, a.id));
            plans.extend(group.drain(..).filter(|p| after.is_none_or(|a| query.sort_key(p) > a)));
            if full(&plans) {
                break;
            }
        }
        match plan {
            Some(plan) => group.push(plan),
            None => break,
        }
    }
    let next = if full(&plans) {
        plans.truncate(query.limit);
        plans.last().map(|p| query.cursor_after(p))
    } else {
        None
    };
    rows::add_charts(conn, &mut plans)?;
    Ok(SearchPage { plans, next })
}

/// How often each ticker was mentioned in the plans of the range.
pub(crate) fn ticker_mentions(conn: &Connection, query: &MentionQuery) -> rusqlite::Result<Vec<TickerMention>> {
    let coaches = json_list(query.coaches.iter().map(CoachId::as_str));
    let mut stmt = conn.prepare_cached(MENTIONS)?;
    let mut mentions = stmt
        .query_map(params![query.from.to_string(), query.to.to_string(), coaches], |row| {
            let bad = |column: usize, e: Box<dyn std::error::Error + Send + Sync>| {
                rusqlite::Error::FromSqlConversionFailure(column, Type::Text, e)
            };
            let ticker: String = row.get(0)?;
            let plans: i64 = row.get(1)?;
            let coaches: String = row.get(2)?;
            let last: String = row.get(3)?;
            let mut coaches: Vec<CoachId> = coaches
                .split(',')
                .map(|c| CoachId::new(c).map_err(|e| bad(2, Box::new(e))))
                .collect::<Result<_, _>>()?;
            coaches.sort();
            Ok(TickerMention {
                ticker: Ticker::parse(&ticker).map_err(|e| bad(0, Box::new(e)))?,
                plans: u64::try_from(plans).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(1, plans))?,
                coaches,
                last_date: TradingDate::parse(&last).map_err(|e| bad(3, Box::new(e)))?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    sort_mentions(&mut mentions);
    Ok(mentions)
}

/// The name of the ticker index in `derived_indexes`.
const TICKER_INDEX: &str = "tickers";

/// Whether the ticker index was built with `rules`.
pub(crate) fn tickers_indexed_with(conn: &Connection, rules: &TickerRules) -> rusqlite::Result<bool> {
    let fingerprint: Option<String> = conn
        .prepare_cached("SELECT fingerprint FROM derived_indexes WHERE name = ?1")?
        .query_row([TICKER_INDEX], |row| row.get(0))
        .optional()?;
    Ok(fingerprint.as_deref() == Some(rules.fingerprint().as_str()))
}

/// Extracts the tickers of every stored plan (deleted ones too) again with `rules` and records that the index was
/// built with them; returns how many plans' tickers changed.
pub(crate) fn rebuild_ticker_index(tx: &Transaction<'_>, rules: &TickerRules, now: Timestamp) -> rusqlite::Result<u64> {
    let stored: Vec<(PlanId, String, String)> = tx
        .prepare("SELECT id, text, tickers FROM plans")?
        .query_map([], |row| Ok((PlanId(row.get(0)?), row.get(1)?, row.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut changed = 0;
    for (id, text, before) in stored {
        let tickers = rules.extract(&text);
        let after: Vec<&str> = tickers.iter().map(Ticker::as_str).collect();
        if after.join(" ") != before {
            rows::set_tickers(tx, id, &tickers)?;
            changed += 1;
        }
    }
    tx.execute(
        "INSERT INTO derived_indexes (name, fingerprint, built_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (name) DO UPDATE SET fingerprint = excluded.fingerprint, built_at = excluded.built_at",
        params![TICKER_INDEX, rules.fingerprint(), timestamp::to_text(now)],
    )?;
    Ok(changed)
}
