//! Rows of the `plans`, `charts` and `plan_history` tables: reading them into domain values and writing domain values
//! into them. Shared by the store and the legacy importer; every function runs on the caller's connection or
//! transaction.

use core_model::transition::NewHistoryEntry;
use core_model::{
    Author, Chart, ChartKind, CoachId, HistoryAction, HistoryEntry, HistoryQuery, Plan, PlanId, PlanSource, StoreStats,
    Ticker, TradingDate, UserId,
};
use jiff::Timestamp;
use rusqlite::types::Type;
use rusqlite::{Connection, OptionalExtension, Params, Row, params};

use crate::error::{id_to_sql, opt_id_to_sql};
use crate::timestamp;

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
    ($($rest:literal)?) => {
        concat!("SELECT ", plan_columns!(), " FROM plans ", $($rest)?)
    };
}

/// `SELECT` of every history column (with the plan's coach and date), followed by the given clauses.
macro_rules! select_history {
    ($($rest:literal)?) => {
        concat!(
            "SELECT id, plan_id, coach, trading_date, version, action, text_before, text_after, actor_id, actor_name, at, ",
            "message_id FROM plan_history ",
            $($rest)?
        )
    };
}

pub(crate) fn conversion_error(
    column: usize,
    error: impl std::error::Error + Send + Sync + 'static,
) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, Type::Text, Box::new(error))
}

pub(crate) fn get_timestamp(row: &Row<'_>, column: usize) -> rusqlite::Result<Timestamp> {
    let text: String = row.get(column)?;
    timestamp::from_text(&text).map_err(|e| conversion_error(column, e))
}

pub(crate) fn get_opt_timestamp(row: &Row<'_>, column: usize) -> rusqlite::Result<Option<Timestamp>> {
    let text: Option<String> = row.get(column)?;
    text.map(|t| timestamp::from_text(&t).map_err(|e| conversion_error(column, e))).transpose()
}

fn get_coach(row: &Row<'_>, column: usize) -> rusqlite::Result<CoachId> {
    let text: String = row.get(column)?;
    CoachId::new(&text).map_err(|e| conversion_error(column, e))
}

fn get_date(row: &Row<'_>, column: usize) -> rusqlite::Result<TradingDate> {
    let text: String = row.get(column)?;
    TradingDate::parse(&text).map_err(|e| conversion_error(column, e))
}

fn get_opt_id(row: &Row<'_>, column: usize) -> rusqlite::Result<Option<u64>> {
    let id: Option<i64> = row.get(column)?;
    id.map(|v| u64::try_from(v).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(column, v))).transpose()
}

fn get_count(row: &Row<'_>, column: usize) -> rusqlite::Result<u64> {
    let n: i64 = row.get(column)?;
    u64::try_from(n).map_err(|_| rusqlite::Error::IntegralValueOutOfRange(column, n))
}

/// A plan's tickers, as the `tickers` column holds them: separated by spaces.
fn get_tickers(row: &Row<'_>, column: usize) -> rusqlite::Result<Vec<Ticker>> {
    let text: String = row.get(column)?;
    text.split_whitespace().map(|t| Ticker::parse(t).map_err(|e| conversion_error(column, e))).collect()
}

/// A stored plan without its charts (the caller adds them).
pub(crate) fn plan_from_row(row: &Row<'_>) -> rusqlite::Result<Plan> {
    Ok(Plan {
        id: PlanId(row.get(0)?),
        coach: get_coach(row, 1)?,
        date: get_date(row, 2)?,
        text: row.get(3)?,
        author: Author { user_id: get_opt_id(row, 4)?.map(UserId), display_name: row.get(5)? },
        source: PlanSource {
            guild_id: get_opt_id(row, 6)?,
            channel_id: get_opt_id(row, 7)?,
            channel_name: row.get(8)?,
            message_id: get_opt_id(row, 9)?,
        },
        charts: Vec::new(),
        tickers: get_tickers(row, 14)?,
        version: row.get(10)?,
        created_at: get_timestamp(row, 11)?,
        updated_at: get_timestamp(row, 12)?,
        deleted_at: get_opt_timestamp(row, 13)?,
    })
}

pub(crate) fn chart_from_row(row: &Row<'_>) -> rusqlite::Result<Chart> {
    let kind: String = row.get(4)?;
    Ok(Chart {
        position: row.get(0)?,
        url: row.get(1)?,
        filename: row.get(2)?,
        content_type: row.get(3)?,
        kind: ChartKind::from_name(&kind).ok_or_else(|| conversion_error(4, UnknownName(kind)))?,
        added_at: get_timestamp(row, 5)?,
    })
}

pub(crate) fn history_from_row(row: &Row<'_>) -> rusqlite::Result<HistoryEntry> {
    let action: String = row.get(5)?;
    Ok(HistoryEntry {
        id: row.get(0)?,
        plan_id: PlanId(row.get(1)?),
        coach: get_coach(row, 2)?,
        date: get_date(row, 3)?,
        version: row.get(4)?,
        action: HistoryAction::from_name(&action).ok_or_else(|| conversion_error(5, UnknownName(action)))?,
        text_before: row.get(6)?,
        text_after: row.get(7)?,
        actor: Author { user_id: get_opt_id(row, 8)?.map(UserId), display_name: row.get(9)? },
        at: get_timestamp(row, 10)?,
        message_id: get_opt_id(row, 11)?,
    })
}

/// A stored name (chart kind, history action) that this build does not know.
#[derive(Debug, thiserror::Error)]
#[error("unknown stored name `{0}`")]
struct UnknownName(String);

/// The charts of a plan, in position order.
fn charts_of(conn: &Connection, plan_id: PlanId) -> rusqlite::Result<Vec<Chart>> {
    let mut stmt = conn.prepare_cached(
        "SELECT position, url, filename, content_type, kind, added_at FROM charts WHERE plan_id = ?1 ORDER BY position",
    )?;
    stmt.query_map([plan_id.0], chart_from_row)?.collect()
}

/// Plans selected by `sql` (a [`select_plans!`] query), each with its charts.
pub(crate) fn plans_where(conn: &Connection, sql: &str, params: impl Params) -> rusqlite::Result<Vec<Plan>> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut plans: Vec<Plan> = stmt.query_map(params, plan_from_row)?.collect::<rusqlite::Result<_>>()?;
    add_charts(conn, &mut plans)?;
    Ok(plans)
}

/// Reads the charts of plans read without them: one statement for one plan, one for several (their ids bound as a
/// JSON array).
pub(crate) fn add_charts(conn: &Connection, plans: &mut [Plan]) -> rusqlite::Result<()> {
    if let [plan] = plans {
        plan.charts = charts_of(conn, plan.id)?;
        return Ok(());
    }
    if plans.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = plans.iter().map(|p| p.id.0.to_string()).collect();
    let ids = format!("[{}]", ids.join(","));
    let mut stmt = conn.prepare_cached(
        "SELECT position, url, filename, content_type, kind, added_at, plan_id FROM charts \
         WHERE plan_id IN (SELECT value FROM json_each(?1)) ORDER BY plan_id, position",
    )?;
    let mut rows = stmt.query([ids])?;
    while let Some(row) = rows.next()? {
        let chart = chart_from_row(row)?;
        let plan_id = PlanId(row.get(6)?);
        if let Some(plan) = plans.iter_mut().find(|p| p.id == plan_id) {
            plan.charts.push(chart);
        }
    }
    Ok(())
}

/// The first plan selected by `sql`, with its charts.
fn plan_where(conn: &Connection, sql: &str, params: impl Params) -> rusqlite::Result<Option<Plan>> {
    let plan = conn.prepare_cached(sql)?.query_row(params, plan_from_row).optional()?;
    plan.map(|mut plan| {
        plan.charts = charts_of(conn, plan.id)?;
        Ok(plan)
    })
    .transpose()
}

/// A plan by id, deleted or not.
pub(crate) fn plan_by_id(conn: &Connection, id: PlanId) -> rusqlite::Result<Option<Plan>> {
    plan_where(conn, select_plans!("WHERE id = ?1"), [id.0])
}

/// The active plan of a coach on a date.
pub(crate) fn active_plan(conn: &Connection, coach: &CoachId, date: TradingDate) -> rusqlite::Result<Option<Plan>> {
    plan_where(
        conn,
        select_plans!("WHERE coach = ?1 AND trading_date = ?2 AND deleted_at IS NULL"),
        params![coach.as_str(), date.to_string()],
    )
}

/// The most recently deleted plan of a coach on a date.
pub(crate) fn latest_deleted_plan(
    conn: &Connection,
    coach: &CoachId,
    date: TradingDate,
) -> rusqlite::Result<Option<Plan>> {
    plan_where(
        conn,
        select_plans!(
            "WHERE coach = ?1 AND trading_date = ?2 AND deleted_at IS NOT NULL ORDER BY deleted_at DESC, id DESC LIMIT 1"
        ),
        params![coach.as_str(), date.to_string()],
    )
}

/// The newest plan posted by a chat message.
pub(crate) fn plan_by_message(conn: &Connection, message_id: u64) -> rusqlite::Result<Option<Plan>> {
    plan_where(conn, select_plans!("WHERE message_id = ?1 ORDER BY id DESC LIMIT 1"), [id_to_sql(message_id)?])
}

/// The newest plan that a chat message posted or re-posted, by the history entries that name the message.
pub(crate) fn plan_by_posting_message(conn: &Connection, message_id: u64) -> rusqlite::Result<Option<Plan>> {
    let plan_id: Option<i64> = conn
        .prepare_cached("SELECT plan_id FROM plan_history WHERE message_id = ?1 ORDER BY id DESC LIMIT 1")?
        .query_row([id_to_sql(message_id)?], |row| row.get(0))
        .optional()?;
    plan_id.map_or(Ok(None), |id| plan_by_id(conn, PlanId(id)))
}

/// The active plans of a date, by coach id.
pub(crate) fn active_plans_of_date(conn: &Connection, date: TradingDate) -> rusqlite::Result<Vec<Plan>> {
    plans_where(
        conn,
        select_plans!("WHERE trading_date = ?1 AND deleted_at IS NULL ORDER BY coach"),
        [date.to_string()],
    )
}

/// The active plans of an author, newest date first, then by coach id; one date when given.
pub(crate) fn active_plans_of_author(
    conn: &Connection,
    author: UserId,
    date: Option<TradingDate>,
) -> rusqlite::Result<Vec<Plan>> {
    let author = id_to_sql(author.0)?;
    match date {
        Some(date) => plans_where(
            conn,
            select_plans!("WHERE author_id = ?1 AND trading_date = ?2 AND deleted_at IS NULL ORDER BY coach"),
            params![author, date.to_string()],
        ),
        None => plans_where(
            conn,
            select_plans!("WHERE author_id = ?1 AND deleted_at IS NULL ORDER BY trading_date DESC, coach"),
            [author],
        ),
    }
}

/// History entries of a coach (on one date or all), newest first by time then id, at most `query.limit`.
pub(crate) fn history(conn: &Connection, query: &HistoryQuery) -> rusqlite::Result<Vec<HistoryEntry>> {
    let limit = i64::try_from(query.limit).unwrap_or(i64::MAX);
    match query.date {
        Some(date) => {
            let mut stmt = conn.prepare_cached(select_history!(
                "WHERE coach = ?1 AND trading_date = ?2 ORDER BY at DESC, id DESC LIMIT ?3"
            ))?;
            stmt.query_map(params![query.coach.as_str(), date.to_string(), limit], history_from_row)?.collect()
        }
        None => {
            let mut stmt =
                conn.prepare_cached(select_history!("WHERE coach = ?1 ORDER BY at DESC, id DESC LIMIT ?2"))?;
            stmt.query_map(params![query.coach.as_str(), limit], history_from_row)?.collect()
        }
    }
}

/// Writes a new plan row with every column of `plan` but its id (and its ticker rows), and returns the id the
/// database gave it.
pub(crate) fn insert_plan(conn: &Connection, plan: &Plan, import_key: Option<&str>) -> rusqlite::Result<PlanId> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO plans (coach, trading_date, text, author_id, author_name, guild_id, channel_id, channel_name, \
         message_id, version, created_at, updated_at, deleted_at, import_key, tickers) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
    )?;
    stmt.execute(params![
        plan.coach.as_str(),
        plan.date.to_string(),
        plan.text,
        opt_id_to_sql(plan.author.user_id.map(|u| u.0))?,
        plan.author.display_name,
        opt_id_to_sql(plan.source.guild_id)?,
        opt_id_to_sql(plan.source.channel_id)?,
        plan.source.channel_name,
        opt_id_to_sql(plan.source.message_id)?,
        plan.version,
        timestamp::to_text(plan.created_at),
        timestamp::to_text(plan.updated_at),
        plan.deleted_at.map(timestamp::to_text),
        import_key,
        tickers_text(&plan.tickers),
    ])?;
    let id = PlanId(conn.last_insert_rowid());
    write_ticker_rows(conn, id, &plan.tickers)?;
    Ok(id)
}

/// Tickers as the `tickers` column holds them.
pub(crate) fn tickers_text(tickers: &[Ticker]) -> String {
    tickers.iter().map(Ticker::as_str).collect::<Vec<_>>().join(" ")
}

/// Replaces the `plan_tickers` rows of a plan.
pub(crate) fn write_ticker_rows(conn: &Connection, plan_id: PlanId, tickers: &[Ticker]) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM plan_tickers WHERE plan_id = ?1")?.execute([plan_id.0])?;
    let mut insert = conn.prepare_cached("INSERT OR IGNORE INTO plan_tickers (plan_id, ticker) VALUES (?1, ?2)")?;
    for ticker in tickers {
        insert.execute(params![plan_id.0, ticker.as_str()])?;
    }
    Ok(())
}

/// Writes a plan's tickers (column and rows) as `tickers`.
pub(crate) fn set_tickers(conn: &Connection, plan_id: PlanId, tickers: &[Ticker]) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE plans SET tickers = ?2 WHERE id = ?1")?
        .execute(params![plan_id.0, tickers_text(tickers)])?;
    write_ticker_rows(conn, plan_id, tickers)
}

/// Writes every column of a stored plan that can change after its creation: text and its tickers, author, source (a
/// re-post moves it to a new message), version, updated and deleted times. Coach, date and creation time never change.
pub(crate) fn update_plan(conn: &Connection, plan: &Plan) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "UPDATE plans SET text = ?2, author_id = ?3, author_name = ?4, guild_id = ?5, channel_id = ?6, \
         channel_name = ?7, message_id = ?8, version = ?9, updated_at = ?10, deleted_at = ?11, tickers = ?12 \
         WHERE id = ?1",
    )?;
    let changed = stmt.execute(params![
        plan.id.0,
        plan.text,
        opt_id_to_sql(plan.author.user_id.map(|u| u.0))?,
        plan.author.display_name,
        opt_id_to_sql(plan.source.guild_id)?,
        opt_id_to_sql(plan.source.channel_id)?,
        plan.source.channel_name,
        opt_id_to_sql(plan.source.message_id)?,
        plan.version,
        timestamp::to_text(plan.updated_at),
        plan.deleted_at.map(timestamp::to_text),
        tickers_text(&plan.tickers),
    ])?;
    if changed != 1 {
        return Err(rusqlite::Error::StatementChangedRows(changed));
    }
    write_ticker_rows(conn, plan.id, &plan.tickers)
}

/// Writes one chart of a plan.
pub(crate) fn insert_chart(
    conn: &Connection,
    plan_id: PlanId,
    chart: &Chart,
    import_key: Option<&str>,
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO charts (plan_id, position, url, filename, content_type, kind, added_at, import_key) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    stmt.execute(params![
        plan_id.0,
        chart.position,
        chart.url,
        chart.filename,
        chart.content_type,
        chart.kind.as_str(),
        timestamp::to_text(chart.added_at),
        import_key,
    ])?;
    Ok(())
}

/// Replaces every chart of a plan by `plan.charts`.
pub(crate) fn replace_charts(conn: &Connection, plan: &Plan) -> rusqlite::Result<()> {
    conn.prepare_cached("DELETE FROM charts WHERE plan_id = ?1")?.execute([plan.id.0])?;
    plan.charts.iter().try_for_each(|chart| insert_chart(conn, plan.id, chart, None))
}

/// Records a history entry of `plan` and returns its id.
pub(crate) fn insert_history(
    conn: &Connection,
    plan: &Plan,
    entry: &NewHistoryEntry,
    import_key: Option<&str>,
) -> rusqlite::Result<i64> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO plan_history (plan_id, coach, trading_date, version, action, text_before, text_after, actor_id, \
         actor_name, at, import_key, message_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    stmt.execute(params![
        plan.id.0,
        plan.coach.as_str(),
        plan.date.to_string(),
        entry.version,
        entry.action.as_str(),
        entry.text_before,
        entry.text_after,
        opt_id_to_sql(entry.actor.user_id.map(|u| u.0))?,
        entry.actor.display_name,
        timestamp::to_text(entry.at),
        import_key,
        opt_id_to_sql(entry.message_id)?,
    ])?;
    Ok(conn.last_insert_rowid())
}

/// Counts over everything stored.
pub(crate) fn stats(conn: &Connection) -> rusqlite::Result<StoreStats> {
    let (active_plans, deleted_plans, first_date, last_date): (u64, u64, Option<String>, Option<String>) = conn
        .prepare_cached(
            "SELECT COUNT(*) FILTER (WHERE deleted_at IS NULL), COUNT(*) FILTER (WHERE deleted_at IS NOT NULL), \
             MIN(trading_date) FILTER (WHERE deleted_at IS NULL), MAX(trading_date) FILTER (WHERE deleted_at IS NULL) \
             FROM plans",
        )?
        .query_row([], |row| Ok((get_count(row, 0)?, get_count(row, 1)?, row.get(2)?, row.get(3)?)))?;
    let charts = conn.prepare_cached("SELECT COUNT(*) FROM charts")?.query_row([], |row| get_count(row, 0))?;
    let history_entries =
        conn.prepare_cached("SELECT COUNT(*) FROM plan_history")?.query_row([], |row| get_count(row, 0))?;
    let active_by_coach = conn
        .prepare_cached("SELECT coach, COUNT(*) FROM plans WHERE deleted_at IS NULL GROUP BY coach ORDER BY coach")?
        .query_map([], |row| Ok((get_coach(row, 0)?, get_count(row, 1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let date = |text: Option<String>, column: usize| {
        text.map(|t| TradingDate::parse(&t).map_err(|e| conversion_error(column, e))).transpose()
    };
    Ok(StoreStats {
        active_plans,
        deleted_plans,
        charts,
        history_entries,
        active_by_coach,
        first_date: date(first_date, 2)?,
        last_date: date(last_date, 3)?,
    })
}
