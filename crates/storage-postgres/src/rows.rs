//! Rows of the `plans`, `charts` and `plan_history` tables: reading them into domain values and writing domain values
//! into them, on the caller's transaction.

use core_model::transition::NewHistoryEntry;
use core_model::{
    Author, Chart, ChartKind, CoachId, HistoryAction, HistoryEntry, HistoryQuery, Plan, PlanId, PlanSource, RepoError,
    StoreStats, Ticker, TradingDate, UserId,
};
use jiff::Timestamp;
use jiff::civil::Date;
use postgres::Row;

use crate::error::{BadStoredValue, opt_id_to_sql, repo_error};
use crate::store::{Params, Tx};
use crate::words;

/// Every plan column, in the order [`plan_from_row`] reads them.
macro_rules! plan_columns {
    () => {
        "id, coach, trading_date, text, author_id, author_name, guild_id, channel_id, channel_name, message_id, \
         version, created_at, updated_at, deleted_at, tickers"
    };
}
pub(crate) use plan_columns;

/// `SELECT` of every plan column, followed by the given clauses.
macro_rules! select_plans {
    ($rest:literal) => {
        concat!("SELECT ", plan_columns!(), " FROM plans ", $rest)
    };
}

/// `SELECT` of every history column, followed by the given clauses.
macro_rules! select_history {
    ($rest:literal) => {
        concat!(
            "SELECT id, plan_id, coach, trading_date, version, action, text_before, text_after, actor_id, actor_name, at, ",
            "message_id FROM plan_history ",
            $rest
        )
    };
}

/// Why a write failed: the database's error (which the caller may read as a duplicate), or another.
pub(crate) enum WriteError {
    Db(postgres::Error),
    Repo(RepoError),
}

impl From<postgres::Error> for WriteError {
    fn from(error: postgres::Error) -> Self {
        Self::Db(error)
    }
}

impl From<RepoError> for WriteError {
    fn from(error: RepoError) -> Self {
        Self::Repo(error)
    }
}

/// Drops everything below the microsecond, the precision storage keeps, so that a value handed back to the caller
/// equals the value read back later.
pub(crate) fn to_micros(ts: Timestamp) -> Timestamp {
    Timestamp::from_microsecond(ts.as_microsecond()).unwrap_or(ts)
}

fn coach(row: &Row, column: usize) -> Result<CoachId, RepoError> {
    let text: String = row.try_get(column).map_err(repo_error)?;
    CoachId::new(&text).map_err(|_| BadStoredValue { column: "coach", value: text }.into())
}

fn date(row: &Row, column: usize) -> Result<TradingDate, RepoError> {
    let date: Date = row.try_get(column).map_err(repo_error)?;
    Ok(TradingDate::from_date(date))
}

fn opt_id(row: &Row, column: usize, name: &'static str) -> Result<Option<u64>, RepoError> {
    let id: Option<i64> = row.try_get(column).map_err(repo_error)?;
    id.map(|v| u64::try_from(v).map_err(|_| BadStoredValue { column: name, value: v.to_string() }.into())).transpose()
}

fn version(row: &Row, column: usize) -> Result<u32, RepoError> {
    let version: i32 = row.try_get(column).map_err(repo_error)?;
    u32::try_from(version).map_err(|_| BadStoredValue { column: "version", value: version.to_string() }.into())
}

pub(crate) fn get<'a, T: postgres::types::FromSql<'a>>(row: &'a Row, column: usize) -> Result<T, RepoError> {
    row.try_get(column).map_err(repo_error)
}

/// A plan's tickers, as the `tickers` column holds them: separated by spaces.
fn tickers(row: &Row, column: usize) -> Result<Vec<Ticker>, RepoError> {
    let text: String = get(row, column)?;
    text.split_whitespace()
        .map(|t| Ticker::parse(t).map_err(|_| BadStoredValue { column: "tickers", value: t.to_owned() }.into()))
        .collect()
}

/// A stored plan without its charts (the caller adds them).
pub(crate) fn plan_from_row(row: &Row) -> Result<Plan, RepoError> {
    Ok(Plan {
        id: PlanId(get(row, 0)?),
        coach: coach(row, 1)?,
        date: date(row, 2)?,
        text: get(row, 3)?,
        author: Author { user_id: opt_id(row, 4, "author_id")?.map(UserId), display_name: get(row, 5)? },
        source: PlanSource {
            guild_id: opt_id(row, 6, "guild_id")?,
            channel_id: opt_id(row, 7, "channel_id")?,
            channel_name: get(row, 8)?,
            message_id: opt_id(row, 9, "message_id")?,
        },
        charts: Vec::new(),
        tickers: tickers(row, 14)?,
        version: version(row, 10)?,
        created_at: get(row, 11)?,
        updated_at: get(row, 12)?,
        deleted_at: get(row, 13)?,
    })
}

pub(crate) fn chart_from_row(row: &Row) -> Result<Chart, RepoError> {
    let kind: String = get(row, 4)?;
    let position: i32 = get(row, 0)?;
    Ok(Chart {
        position: u32::try_from(position)
            .map_err(|_| BadStoredValue { column: "position", value: position.to_string() })?,
        url: get(row, 1)?,
        filename: get(row, 2)?,
        content_type: get(row, 3)?,
        kind: ChartKind::from_name(&kind).ok_or(BadStoredValue { column: "kind", value: kind.clone() })?,
        added_at: get(row, 5)?,
    })
}

pub(crate) fn history_from_row(row: &Row) -> Result<HistoryEntry, RepoError> {
    let action: String = get(row, 5)?;
    Ok(HistoryEntry {
        id: get(row, 0)?,
        plan_id: PlanId(get(row, 1)?),
        coach: coach(row, 2)?,
        date: date(row, 3)?,
        version: version(row, 4)?,
        action: HistoryAction::from_name(&action).ok_or(BadStoredValue { column: "action", value: action.clone() })?,
        text_before: get(row, 6)?,
        text_after: get(row, 7)?,
        actor: Author { user_id: opt_id(row, 8, "actor_id")?.map(UserId), display_name: get(row, 9)? },
        at: get(row, 10)?,
        message_id: opt_id(row, 11, "message_id")?,
    })
}

/// Reads the charts of plans read without them, with one statement.
pub(crate) fn add_charts(tx: &mut Tx<'_>, plans: &mut [Plan]) -> Result<(), RepoError> {
    if plans.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = plans.iter().map(|p| p.id.0).collect();
    let rows = tx
        .query(
            "SELECT position, url, filename, content_type, kind, added_at, plan_id FROM charts \
             WHERE plan_id = ANY($1) ORDER BY plan_id, position",
            &[&ids],
        )
        .map_err(repo_error)?;
    for row in &rows {
        let chart = chart_from_row(row)?;
        let plan_id = PlanId(get(row, 6)?);
        if let Some(plan) = plans.iter_mut().find(|p| p.id == plan_id) {
            plan.charts.push(chart);
        }
    }
    Ok(())
}

/// Plans selected by `sql` (a [`select_plans!`] query), each with its charts.
fn plans_where(tx: &mut Tx<'_>, sql: &'static str, params: Params<'_>) -> Result<Vec<Plan>, RepoError> {
    let rows = tx.query(sql, params).map_err(repo_error)?;
    let mut plans = rows.iter().map(plan_from_row).collect::<Result<Vec<_>, _>>()?;
    add_charts(tx, &mut plans)?;
    Ok(plans)
}

/// The first plan selected by `sql`, with its charts.
fn plan_where(tx: &mut Tx<'_>, sql: &'static str, params: Params<'_>) -> Result<Option<Plan>, RepoError> {
    let row = tx.query_opt(sql, params).map_err(repo_error)?;
    let Some(row) = row else { return Ok(None) };
    let mut plans = [plan_from_row(&row)?];
    add_charts(tx, &mut plans)?;
    let [plan] = plans;
    Ok(Some(plan))
}

/// A plan by id, deleted or not.
pub(crate) fn plan_by_id(tx: &mut Tx<'_>, id: PlanId) -> Result<Option<Plan>, RepoError> {
    plan_where(tx, select_plans!("WHERE id = $1"), &[&id.0])
}

/// A plan by id, its row locked until the transaction ends: changes of one plan take turns.
pub(crate) fn plan_for_update(tx: &mut Tx<'_>, id: PlanId) -> Result<Option<Plan>, RepoError> {
    plan_where(tx, select_plans!("WHERE id = $1 FOR UPDATE"), &[&id.0])
}

/// The active plan of a coach on a date.
pub(crate) fn active_plan(tx: &mut Tx<'_>, coach: &CoachId, date: TradingDate) -> Result<Option<Plan>, RepoError> {
    plan_where(
        tx,
        select_plans!("WHERE coach = $1 AND trading_date = $2 AND deleted_at IS NULL"),
        &[&coach.as_str(), &date.date()],
    )
}

/// The most recently deleted plan of a coach on a date.
pub(crate) fn latest_deleted_plan(
    tx: &mut Tx<'_>,
    coach: &CoachId,
    date: TradingDate,
) -> Result<Option<Plan>, RepoError> {
    plan_where(
        tx,
        select_plans!(
            "WHERE coach = $1 AND trading_date = $2 AND deleted_at IS NOT NULL ORDER BY deleted_at DESC, id DESC LIMIT 1"
        ),
        &[&coach.as_str(), &date.date()],
    )
}

/// The newest plan posted by a chat message.
pub(crate) fn plan_by_message(tx: &mut Tx<'_>, message_id: u64) -> Result<Option<Plan>, RepoError> {
    let Ok(message_id) = i64::try_from(message_id) else { return Ok(None) };
    plan_where(tx, select_plans!("WHERE message_id = $1 ORDER BY id DESC LIMIT 1"), &[&message_id])
}

/// The newest plan that a chat message posted or re-posted, by the history entries that name the message.
pub(crate) fn plan_by_posting_message(tx: &mut Tx<'_>, message_id: u64) -> Result<Option<Plan>, RepoError> {
    let Ok(message_id) = i64::try_from(message_id) else { return Ok(None) };
    let row = tx
        .query_opt("SELECT plan_id FROM plan_history WHERE message_id = $1 ORDER BY id DESC LIMIT 1", &[&message_id])
        .map_err(repo_error)?;
    match row {
        Some(row) => plan_by_id(tx, PlanId(get(&row, 0)?)),
        None => Ok(None),
    }
}

/// The active plans of a date, by coach id.
pub(crate) fn active_plans_of_date(tx: &mut Tx<'_>, date: TradingDate) -> Result<Vec<Plan>, RepoError> {
    plans_where(tx, select_plans!("WHERE trading_date = $1 AND deleted_at IS NULL ORDER BY coach"), &[&date.date()])
}

/// The active plans of an author, newest date first, then by coach id; one date when given.
pub(crate) fn active_plans_of_author(
    tx: &mut Tx<'_>,
    author: UserId,
    date: Option<TradingDate>,
) -> Result<Vec<Plan>, RepoError> {
    let Ok(author) = i64::try_from(author.0) else { return Ok(Vec::new()) };
    match date {
        Some(date) => plans_where(
            tx,
            select_plans!("WHERE author_id = $1 AND trading_date = $2 AND deleted_at IS NULL ORDER BY coach"),
            &[&author, &date.date()],
        ),
        None => plans_where(
            tx,
            select_plans!("WHERE author_id = $1 AND deleted_at IS NULL ORDER BY trading_date DESC, coach"),
            &[&author],
        ),
    }
}

/// History entries of a coach (on one date or all), newest first by time then id, at most `query.limit`.
pub(crate) fn history(tx: &mut Tx<'_>, query: &HistoryQuery) -> Result<Vec<HistoryEntry>, RepoError> {
    let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
    let rows = match query.date {
        Some(date) => tx.query(
            select_history!("WHERE coach = $1 AND trading_date = $2 ORDER BY at DESC, id DESC LIMIT $3"),
            &[&query.coach.as_str(), &date.date(), &limit],
        ),
        None => tx.query(
            select_history!("WHERE coach = $1 ORDER BY at DESC, id DESC LIMIT $2"),
            &[&query.coach.as_str(), &limit],
        ),
    }
    .map_err(repo_error)?;
    rows.iter().map(history_from_row).collect()
}

/// Tickers as the `tickers` column holds them.
pub(crate) fn tickers_text(tickers: &[Ticker]) -> String {
    tickers.iter().map(Ticker::as_str).collect::<Vec<_>>().join(" ")
}

pub(crate) fn version_to_sql(version: u32) -> Result<i32, RepoError> {
    i32::try_from(version)
        .map_err(|_| RepoError::Failure(Box::new(BadStoredValue { column: "version", value: version.to_string() })))
}

/// Replaces the `plan_tickers` rows of a plan.
fn write_ticker_rows(tx: &mut Tx<'_>, plan_id: PlanId, tickers: &[Ticker]) -> Result<(), RepoError> {
    tx.execute("DELETE FROM plan_tickers WHERE plan_id = $1", &[&plan_id.0]).map_err(repo_error)?;
    if tickers.is_empty() {
        return Ok(());
    }
    let tickers: Vec<&str> = tickers.iter().map(Ticker::as_str).collect();
    tx.execute(
        "INSERT INTO plan_tickers (plan_id, ticker) SELECT $1, t FROM unnest($2::text[]) AS t ON CONFLICT DO NOTHING",
        &[&plan_id.0, &tickers],
    )
    .map_err(repo_error)?;
    Ok(())
}

/// Writes every column of a stored plan that can change after its creation: text with its tickers and words, author,
/// source (a re-post moves it to a new message), version, updated and deleted times.
pub(crate) fn update_plan(tx: &mut Tx<'_>, plan: &Plan) -> Result<(), WriteError> {
    let changed = tx.execute(
        "UPDATE plans SET text = $2, author_id = $3, author_name = $4, guild_id = $5, channel_id = $6, \
         channel_name = $7, message_id = $8, version = $9, updated_at = $10, deleted_at = $11, tickers = $12, \
         words = $13::text::tsvector WHERE id = $1",
        &[
            &plan.id.0,
            &plan.text,
            &opt_id_to_sql(plan.author.user_id.map(|u| u.0))?,
            &plan.author.display_name,
            &opt_id_to_sql(plan.source.guild_id)?,
            &opt_id_to_sql(plan.source.channel_id)?,
            &plan.source.channel_name,
            &opt_id_to_sql(plan.source.message_id)?,
            &version_to_sql(plan.version)?,
            &plan.updated_at,
            &plan.deleted_at,
            &tickers_text(&plan.tickers),
            &words::tsvector(&plan.text),
        ],
    )?;
    if changed != 1 {
        return Err(WriteError::Repo(RepoError::NotFound(plan.id)));
    }
    write_ticker_rows(tx, plan.id, &plan.tickers).map_err(WriteError::Repo)
}

/// Writes one chart of a plan.
pub(crate) fn insert_chart(tx: &mut Tx<'_>, plan_id: PlanId, chart: &Chart) -> Result<(), RepoError> {
    let position = i32::try_from(chart.position).map_err(|_| {
        RepoError::Failure(Box::new(BadStoredValue { column: "position", value: chart.position.to_string() }))
    })?;
    tx.execute(
        "INSERT INTO charts (plan_id, position, url, filename, content_type, kind, added_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &plan_id.0,
            &position,
            &chart.url,
            &chart.filename,
            &chart.content_type,
            &chart.kind.as_str(),
            &chart.added_at,
        ],
    )
    .map_err(repo_error)?;
    Ok(())
}

/// Replaces every chart of a plan by `plan.charts`.
pub(crate) fn replace_charts(tx: &mut Tx<'_>, plan: &Plan) -> Result<(), RepoError> {
    tx.execute("DELETE FROM charts WHERE plan_id = $1", &[&plan.id.0]).map_err(repo_error)?;
    plan.charts.iter().try_for_each(|chart| insert_chart(tx, plan.id, chart))
}

/// Records a history entry of `plan`.
pub(crate) fn insert_history(tx: &mut Tx<'_>, plan: &Plan, entry: &NewHistoryEntry) -> Result<(), RepoError> {
    tx.execute(
        "INSERT INTO plan_history (plan_id, coach, trading_date, version, action, text_before, text_after, actor_id, \
         actor_name, at, message_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        &[
            &plan.id.0,
            &plan.coach.as_str(),
            &plan.date.date(),
            &version_to_sql(entry.version)?,
            &entry.action.as_str(),
            &entry.text_before,
            &entry.text_after,
            &opt_id_to_sql(entry.actor.user_id.map(|u| u.0))?,
            &entry.actor.display_name,
            &entry.at,
            &opt_id_to_sql(entry.message_id)?,
        ],
    )
    .map_err(repo_error)?;
    Ok(())
}

fn count(row: &Row, column: usize) -> Result<u64, RepoError> {
    let n: i64 = get(row, column)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Counts over everything stored.
pub(crate) fn stats(tx: &mut Tx<'_>) -> Result<StoreStats, RepoError> {
    let row = tx
        .query_one(
            "SELECT COUNT(*) FILTER (WHERE deleted_at IS NULL), COUNT(*) FILTER (WHERE deleted_at IS NOT NULL), \
             MIN(trading_date) FILTER (WHERE deleted_at IS NULL), MAX(trading_date) FILTER (WHERE deleted_at IS NULL), \
             (SELECT COUNT(*) FROM charts), (SELECT COUNT(*) FROM plan_history) FROM plans",
            &[],
        )
        .map_err(repo_error)?;
    let first: Option<Date> = get(&row, 2)?;
    let last: Option<Date> = get(&row, 3)?;
    let by_coach = tx
        .query("SELECT coach, COUNT(*) FROM plans WHERE deleted_at IS NULL GROUP BY coach ORDER BY coach", &[])
        .map_err(repo_error)?;
    Ok(StoreStats {
        active_plans: count(&row, 0)?,
        deleted_plans: count(&row, 1)?,
        charts: count(&row, 4)?,
        history_entries: count(&row, 5)?,
        active_by_coach: by_coach.iter().map(|r| Ok((coach(r, 0)?, count(r, 1)?))).collect::<Result<_, RepoError>>()?,
        first_date: first.map(TradingDate::from_date),
        last_date: last.map(TradingDate::from_date),
    })
}
