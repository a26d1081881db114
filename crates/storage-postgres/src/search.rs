//! Finding plans in PostgreSQL: the `plan_tickers` rows, the `words` column with its GIN index (see [`crate::words`]),
//! lists bound as arrays; and, at open, the extraction of the tickers and words of stored plans that lack them or
//! were extracted with other rules.

use core_model::{
    CoachId, MentionQuery, Plan, RepoError, SearchPage, SearchQuery, Ticker, TickerMention, TickerRules, TradingDate,
    sort_mentions,
};
use jiff::civil::Date;

use crate::error::{BadStoredValue, PgOpenError, repo_error};
use crate::rows::{self, plan_columns};
use crate::store::Tx;
use crate::words;

/// The plans a search may return, newest date first: one static statement, every filter a parameter (an empty array
/// or NULL filters nothing). The order within a date and the cursor within its date are applied as the rows are
/// read (see [`search`]).
const SEARCH: &str = concat!(
    "SELECT ",
    plan_columns!(),
    " FROM plans WHERE deleted_at IS NULL AND trading_date BETWEEN $1 AND $2 ",
    "AND ($3::bigint IS NULL OR author_id = $3) ",
    "AND (cardinality($4::text[]) = 0 OR coach = ANY($4)) ",
    "AND (cardinality($5::text[]) = 0 OR EXISTS (SELECT 1 FROM plan_tickers ",
    "WHERE plan_tickers.plan_id = plans.id AND plan_tickers.ticker = ANY($5))) ",
    "AND ($6::text IS NULL OR words @@ $6::text::tsquery) ",
    "ORDER BY trading_date DESC"
);

const MENTIONS: &str = "SELECT plan_tickers.ticker, COUNT(*), array_agg(DISTINCT plans.coach), MAX(plans.trading_date) \
     FROM plan_tickers JOIN plans ON plans.id = plan_tickers.plan_id \
     WHERE plans.deleted_at IS NULL AND plans.trading_date BETWEEN $1 AND $2 \
     AND (cardinality($3::text[]) = 0 OR plans.coach = ANY($3)) \
     GROUP BY plan_tickers.ticker";

/// A page of the plans `query` finds, with their charts.
pub(crate) fn search(tx: &mut Tx<'_>, query: &SearchQuery) -> Result<SearchPage, RepoError> {
    let words = match &query.words {
        Some(words) => match words::tsquery(words) {
            Some(tsquery) => Some(tsquery),
            None => return Ok(SearchPage::default()),
        },
        None => None,
    };
    let author = match query.author.map(|a| i64::try_from(a.0)) {
        // No stored author has an id past the signed range.
        Some(Err(_)) => return Ok(SearchPage::default()),
        Some(Ok(id)) => Some(id),
        None => None,
    };
    let last = query.after.map_or(query.to, |after| after.date.min(query.to));
    let coaches: Vec<&str> = query.coaches.iter().map(CoachId::as_str).collect();
    let tickers: Vec<&str> = query.tickers.iter().map(Ticker::as_str).collect();
    let (from, last): (Date, Date) = (query.from.date(), last.date());
    // Rows come newest date first; each date's plans (a few: one per coach) are put in roster order as a group.
    let mut plans: Vec<Plan> = Vec::new();
    let mut group: Vec<Plan> = Vec::new();
    let full = |plans: &[Plan]| plans.len() > query.limit;
    let after = query.after.map(|a| (std::cmp::Reverse(a.date), a.rank, a.id));
    let close_group = |group: &mut Vec<Plan>, plans: &mut Vec<Plan>| {
        group.sort_by_key(|p| query.sort_key(p));
        plans.extend(group.drain(..).filter(|p| after.is_none_or(|a| query.sort_key(p) > a)));
    };
    let batch = i32::try_from(query.limit.saturating_mul(2).saturating_add(8)).unwrap_or(i32::MAX);
    tx.query_batches(SEARCH, &[&from, &last, &author, &coaches, &tickers, &words], batch, |rows| {
        for row in &rows {
            let plan = rows::plan_from_row(row)?;
            // The index finds candidates; the rule decides (see `crate::words`).
            if query.words.as_ref().is_some_and(|w| !w.matches(&plan.text)) {
                continue;
            }
            if group.first().is_some_and(|g| g.date != plan.date) {
                close_group(&mut group, &mut plans);
                if full(&plans) {
                    return Ok(false);
                }
            }
            group.push(plan);
        }
        Ok(true)
    })?;
    if !full(&plans) {
        close_group(&mut group, &mut plans);
    }
    let next = if full(&plans) {
        plans.truncate(query.limit);
        plans.last().map(|p| query.cursor_after(p))
    } else {
        None
    };
    rows::add_charts(tx, &mut plans)?;
    Ok(SearchPage { plans, next })
}

/// How often each ticker was mentioned in the plans of the range.
pub(crate) fn ticker_mentions(tx: &mut Tx<'_>, query: &MentionQuery) -> Result<Vec<TickerMention>, RepoError> {
    let coaches: Vec<&str> = query.coaches.iter().map(CoachId::as_str).collect();
    let rows = tx.query(MENTIONS, &[&query.from.date(), &query.to.date(), &coaches]).map_err(repo_error)?;
    let mut mentions = rows
        .iter()
        .map(|row| {
            let ticker: String = row.try_get(0).map_err(repo_error)?;
            let plans: i64 = row.try_get(1).map_err(repo_error)?;
            let coaches: Vec<String> = row.try_get(2).map_err(repo_error)?;
            let last: Date = row.try_get(3).map_err(repo_error)?;
            let mut coaches: Vec<CoachId> = coaches
                .iter()
                .map(|c| CoachId::new(c).map_err(|_| BadStoredValue { column: "coach", value: c.clone() }))
                .collect::<Result<_, _>>()?;
            coaches.sort();
            Ok(TickerMention {
                ticker: Ticker::parse(&ticker)
                    .map_err(|_| BadStoredValue { column: "ticker", value: ticker.clone() })?,
                plans: u64::try_from(plans).unwrap_or(0),
                coaches,
                last_date: TradingDate::from_date(last),
            })
        })
        .collect::<Result<Vec<_>, RepoError>>()?;
    sort_mentions(&mut mentions);
    Ok(mentions)
}

/// The names of the derived indexes in `derived_indexes`.
const TICKER_INDEX: &str = "tickers";
const WORDS_INDEX: &str = "words";
/// The fingerprint of the words index: the rule of [`core_model::words_of`] and the literal form of
/// [`crate::words`]. Change it when either changes, and every store rebuilds the index when it opens.
const WORDS_FINGERPRINT: &str = "words v1: runs of letters and digits, lower case, positions from 1";

/// The advisory lock key under which stores build derived indexes (and migrate: see `crate::migrations`).
pub(crate) const SETUP_LOCK: i64 = 0x636f_6163_6870_6c61; // "coachpla"

/// Extracts the tickers of stored plans with `rules`, and the words of stored plans, when the indexes were built
/// with other rules (or never): once per change of the rules, at open, under an advisory lock so that stores
/// opening together do it once. A role that may only read keeps the indexes as they are, with a warning.
pub(crate) fn index_derived(client: &mut postgres::Client, url: &str, rules: &TickerRules) -> Result<(), PgOpenError> {
    let setup = |source| PgOpenError::Setup { url: url.to_owned(), source };
    let fingerprint = |client: &mut postgres::Client, name: &str| -> Result<Option<String>, postgres::Error> {
        Ok(client.query_opt("SELECT fingerprint FROM derived_indexes WHERE name = $1", &[&name])?.map(|r| r.get(0)))
    };
    let tickers_current = fingerprint(client, TICKER_INDEX).map_err(setup)? == Some(rules.fingerprint());
    let words_current = fingerprint(client, WORDS_INDEX).map_err(setup)?.as_deref() == Some(WORDS_FINGERPRINT);
    if tickers_current && words_current {
        return Ok(());
    }
    match rebuild(client, rules) {
        Ok((0, 0)) => Ok(()),
        Ok((tickers, words)) => {
            tracing::info!(database = %url, tickers, words, "extracted the tickers and words of stored plans");
            Ok(())
        }
        Err(error) if cannot_write(&error) => {
            tracing::warn!(
                database = %url,
                error = %error,
                "the tickers or words of stored plans were extracted with other rules, and this role cannot write \
                 them again: searches follow the old rules"
            );
            Ok(())
        }
        Err(error) => Err(setup(error)),
    }
}

/// Whether the error says this role or server may not write.
fn cannot_write(error: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    error
        .code()
        .is_some_and(|code| [SqlState::READ_ONLY_SQL_TRANSACTION, SqlState::INSUFFICIENT_PRIVILEGE].contains(code))
}

/// Rebuilds what is out of date, in one transaction; returns how many plans' tickers and words were written.
fn rebuild(client: &mut postgres::Client, rules: &TickerRules) -> Result<(u64, u64), postgres::Error> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&SETUP_LOCK])?;
    let fingerprint = |tx: &mut postgres::Transaction<'_>, name: &str| -> Result<Option<String>, postgres::Error> {
        Ok(tx.query_opt("SELECT fingerprint FROM derived_indexes WHERE name = $1", &[&name])?.map(|r| r.get(0)))
    };
    // Another store may have rebuilt them while this one waited for the lock.
    let rebuild_tickers = fingerprint(&mut tx, TICKER_INDEX)? != Some(rules.fingerprint());
    let rebuild_words = fingerprint(&mut tx, WORDS_INDEX)?.as_deref() != Some(WORDS_FINGERPRINT);
    let stored: Vec<(i64, String, String)> = tx
        .query("SELECT id, text, tickers FROM plans ORDER BY id", &[])?
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    let (mut tickers_written, mut words_written) = (0, 0);
    let record = "INSERT INTO derived_indexes (name, fingerprint, built_at) VALUES ($1, $2, now()) \
                  ON CONFLICT (name) DO UPDATE SET fingerprint = excluded.fingerprint, built_at = excluded.built_at";
    if rebuild_tickers {
        for (id, text, before) in &stored {
            let tickers = rules.extract(text);
            let after: Vec<&str> = tickers.iter().map(Ticker::as_str).collect();
            if after.join(" ") != *before {
                tx.execute("UPDATE plans SET tickers = $2 WHERE id = $1", &[id, &after.join(" ")])?;
                tx.execute("DELETE FROM plan_tickers WHERE plan_id = $1", &[id])?;
                tx.execute(
                    "INSERT INTO plan_tickers (plan_id, ticker) SELECT $1, t FROM unnest($2::text[]) AS t \
                     ON CONFLICT DO NOTHING",
                    &[id, &after],
                )?;
                tickers_written += 1;
            }
        }
        tx.execute(record, &[&TICKER_INDEX, &rules.fingerprint()])?;
    }
    if rebuild_words {
        for (id, text, _) in &stored {
            tx.execute("UPDATE plans SET words = $2::text::tsvector WHERE id = $1", &[id, &words::tsvector(text)])?;
            words_written += 1;
        }
        tx.execute(record, &[&WORDS_INDEX, &WORDS_FINGERPRINT])?;
    }
    tx.commit()?;
    Ok((tickers_written, words_written))
}
