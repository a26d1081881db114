//! New plans in one statement: their rows, tickers, charts, first history entries, the webhook outbox's deliveries
//! and the riders noted so far (see [`crate::riders`]), each in a data-modifying `WITH` over the plans' columns passed
//! as arrays, with the replay check (a message that posted a plan already) in the same statement.
//!
//! The statement runs on its own, without `BEGIN` and `COMMIT`: PostgreSQL commits a statement sent outside a
//! transaction as it ends, all of it or nothing. A batch of new plans (see [`crate::batches`]) costs one round trip
//! and one commit instead of one per row and two more per plan for its transaction.

use core_model::transition::NewHistoryEntry;
use core_model::{EventType, Plan, PlanId, RepoError, event_of};

use crate::error::{BadStoredValue, opt_id_to_sql};
use crate::riders::{self, Rider, upsert_riders};
use crate::rows::{WriteError, tickers_text, version_to_sql};
use crate::store::Autocommit;
use crate::words;

/// The statement. Each plan gets its id from the plans' sequence in `input` (so that its other rows can name it);
/// a plan whose `replay_of` message posted a plan already is left out of `input`, and so gets no row back and writes
/// nothing. Rows come back as (the plan's number in the batch, from 1; its id).
///
/// The plans' rows are written in the batch's order without sorting: `input` is materialized, and read back in the
/// order it was written, which is the arrays' (only the ids, taken in that order, say which plan is which).
///
/// The replay check is a lateral lookup with `LIMIT 1`, one probe of the history's message index per plan: written as
/// `NOT EXISTS`, the planner makes it an anti-join that reads the whole history into a hash for every statement.
const INSERT: &str = concat!(
    "WITH input AS MATERIALIZED (\
       SELECT nextval(pg_get_serial_sequence('plans', 'id')) AS id, i.* \
       FROM unnest($1::text[], $2::date[], $3::text[], $4::bigint[], $5::text[], $6::bigint[], $7::bigint[], \
         $8::text[], $9::bigint[], $10::integer[], $11::timestamptz[], $12::timestamptz[], $13::timestamptz[], \
         $14::text[], $15::text[], $16::bigint[], $17::integer[], $18::text[], $19::text[], $20::text[], \
         $21::bigint[], $22::text[], $23::timestamptz[], $24::bigint[], $25::text[], $26::text[], $27::integer[]) \
         WITH ORDINALITY AS i(coach, trading_date, text, author_id, author_name, guild_id, channel_id, channel_name, \
         message_id, version, created_at, updated_at, deleted_at, tickers, words, replay_of, entry_version, action, \
         text_before, text_after, actor_id, actor_name, at, entry_message_id, event, json_after_id, event_bit, n) \
       LEFT JOIN LATERAL (SELECT true AS posted FROM plan_history AS h WHERE h.message_id = i.replay_of LIMIT 1) \
         AS earlier ON true \
       WHERE earlier.posted IS NULL), \
     plan AS (\
       INSERT INTO plans (id, coach, trading_date, text, author_id, author_name, guild_id, channel_id, channel_name, \
       message_id, version, created_at, updated_at, deleted_at, tickers, words) \
       SELECT id, coach, trading_date, text, author_id, author_name, guild_id, channel_id, channel_name, message_id, \
       version, created_at, updated_at, deleted_at, tickers, words::tsvector FROM input), \
     tickers AS (\
       INSERT INTO plan_tickers (plan_id, ticker) \
       SELECT input.id, t FROM input, unnest(string_to_array(input.tickers, ' ')) AS t \
       ON CONFLICT DO NOTHING), \
     charts AS (\
       INSERT INTO charts (plan_id, position, url, filename, content_type, kind, added_at) \
       SELECT input.id, c.position, c.url, c.filename, c.content_type, c.kind, c.added_at \
       FROM unnest($28::bigint[], $29::integer[], $30::text[], $31::text[], $32::text[], $33::text[], \
         $34::timestamptz[]) AS c(n, position, url, filename, content_type, kind, added_at) \
       JOIN input ON input.n = c.n), \
     history AS (\
       INSERT INTO plan_history (plan_id, coach, trading_date, version, action, text_before, text_after, actor_id, \
       actor_name, at, message_id) \
       SELECT id, coach, trading_date, entry_version, action, text_before, text_after, actor_id, actor_name, at, \
       entry_message_id FROM input), \
     outbox AS (\
       INSERT INTO webhook_deliveries (message_id, subscription_id, event_type, occurred_at, plan, status, \
       next_attempt_at) \
       SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), s.id, input.event, input.at, \
       '{\"id\":' || input.id || input.json_after_id, 'pending', input.at \
       FROM input, webhook_subscriptions AS s WHERE s.disabled_at IS NULL AND (s.events & input.event_bit) <> 0 \
       ORDER BY input.n, s.id), \
     riders AS (",
    upsert_riders!(35, 36, 37),
    ") SELECT n, id FROM input"
);

/// A new plan (its id not known yet) with its first history entry, and the columns it is written with: a plan whose
/// values cannot be stored fails here, on its own, before it joins a batch.
pub(crate) struct NewRow {
    pub(crate) plan: Plan,
    entry: NewHistoryEntry,
    /// The chat message whose earlier plan makes this one a replay, as stored.
    replay_of: Option<i64>,
    /// The Discord ids, as stored.
    author_id: Option<i64>,
    guild_id: Option<i64>,
    channel_id: Option<i64>,
    message_id: Option<i64>,
    actor_id: Option<i64>,
    entry_message_id: Option<i64>,
    version: i32,
    entry_version: i32,
    tickers: String,
    words: String,
    json_after_id: String,
    event: EventType,
    positions: Vec<i32>,
}

impl NewRow {
    /// # Errors
    /// A value PostgreSQL cannot hold (an id beyond `bigint`, say).
    pub(crate) fn new(plan: Plan, entry: NewHistoryEntry, replay_of: Option<u64>) -> Result<Self, RepoError> {
        let positions = plan
            .charts
            .iter()
            .map(|c| {
                i32::try_from(c.position)
                    .map_err(|_| BadStoredValue { column: "position", value: c.position.to_string() }.into())
            })
            .collect::<Result<Vec<i32>, RepoError>>()?;
        Ok(Self {
            version: version_to_sql(plan.version)?,
            entry_version: version_to_sql(entry.version)?,
            tickers: tickers_text(&plan.tickers),
            words: words::tsvector(&plan.text),
            json_after_id: json_after_id(&plan)?,
            event: event_of(entry.action),
            // A message id beyond `bigint` names no stored message: no replay check.
            replay_of: replay_of.and_then(|id| i64::try_from(id).ok()),
            author_id: opt_id_to_sql(plan.author.user_id.map(|u| u.0))?,
            guild_id: opt_id_to_sql(plan.source.guild_id)?,
            channel_id: opt_id_to_sql(plan.source.channel_id)?,
            message_id: opt_id_to_sql(plan.source.message_id)?,
            actor_id: opt_id_to_sql(entry.actor.user_id.map(|u| u.0))?,
            entry_message_id: opt_id_to_sql(entry.message_id)?,
            positions,
            plan,
            entry,
        })
    }
}

/// The JSON of `plan` (as the outbox stores it) from just after its id's value: the statement puts `{"id":` and the
/// new id in front.
fn json_after_id(plan: &Plan) -> Result<String, RepoError> {
    let json = serde_json::to_string(plan).map_err(|e| RepoError::Failure(Box::new(e)))?;
    let head = format!("{{\"id\":{}", plan.id.0);
    json.strip_prefix(&head).map(str::to_owned).ok_or_else(|| {
        RepoError::Failure(Box::new(BadStoredValue { column: "webhook_deliveries.plan", value: "[plan]".to_owned() }))
    })
}

/// One array per column, over `rows`.
fn column<'r, T>(rows: &'r [NewRow], value: impl Fn(&'r NewRow) -> T) -> Vec<T> {
    rows.iter().map(value).collect()
}

/// Stores `rows` with the riders `riders`, in one statement; returns each row's new id in order, `None` for a
/// replay (nothing of it written).
pub(crate) fn insert(
    one: &mut Autocommit<'_>,
    rows: &[NewRow],
    riders: &[(String, Rider)],
) -> Result<Vec<Option<PlanId>>, WriteError> {
    let mut charts = (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (n, row) in (1_i64..).zip(rows) {
        for (chart, position) in row.plan.charts.iter().zip(&row.positions) {
            charts.0.push(n);
            charts.1.push(*position);
            charts.2.push(chart.url.as_str());
            charts.3.push(chart.filename.as_deref());
            charts.4.push(chart.content_type.as_deref());
            charts.5.push(chart.kind.as_str());
            charts.6.push(chart.added_at);
        }
    }
    let (keys, values, times) = riders::columns(riders);
    let found = one.query(
        INSERT,
        &[
            &column(rows, |r| r.plan.coach.as_str()),
            &column(rows, |r| r.plan.date.date()),
            &column(rows, |r| r.plan.text.as_str()),
            &column(rows, |r| r.author_id),
            &column(rows, |r| r.plan.author.display_name.as_str()),
            &column(rows, |r| r.guild_id),
            &column(rows, |r| r.channel_id),
            &column(rows, |r| r.plan.source.channel_name.as_deref()),
            &column(rows, |r| r.message_id),
            &column(rows, |r| r.version),
            &column(rows, |r| r.plan.created_at),
            &column(rows, |r| r.plan.updated_at),
            &column(rows, |r| r.plan.deleted_at),
            &column(rows, |r| r.tickers.as_str()),
            &column(rows, |r| r.words.as_str()),
            &column(rows, |r| r.replay_of),
            &column(rows, |r| r.entry_version),
            &column(rows, |r| r.entry.action.as_str()),
            &column(rows, |r| r.entry.text_before.as_deref()),
            &column(rows, |r| r.entry.text_after.as_deref()),
            &column(rows, |r| r.actor_id),
            &column(rows, |r| r.entry.actor.display_name.as_str()),
            &column(rows, |r| r.entry.at),
            &column(rows, |r| r.entry_message_id),
            &column(rows, |r| r.event.as_str()),
            &column(rows, |r| r.json_after_id.as_str()),
            &column(rows, |r| i32::try_from(r.event.bit()).unwrap_or(0)),
            &charts.0,
            &charts.1,
            &charts.2,
            &charts.3,
            &charts.4,
            &charts.5,
            &charts.6,
            &keys,
            &values,
            &times,
        ],
    )?;
    let mut ids = vec![None; rows.len()];
    for row in &found {
        let n: i64 = row.try_get(0)?;
        let slot = usize::try_from(n - 1).ok().and_then(|i| ids.get_mut(i)).ok_or_else(|| {
            WriteError::Repo(BadStoredValue { column: "the batch's plan number", value: n.to_string() }.into())
        })?;
        *slot = Some(PlanId(row.try_get(1)?));
    }
    Ok(ids)
}

#[cfg(test)]
mod tests {
    use super::json_after_id;
    use core_model::{Author, CoachId, Plan, PlanId, PlanSource, TradingDate};
    use jiff::Timestamp;

    #[test]
    fn the_outbox_json_is_the_plans_own_once_the_statement_puts_the_id_in_front() {
        let mut plan = Plan {
            id: PlanId(0),
            coach: CoachId::new("d").unwrap(),
            date: TradingDate::parse("2025-11-10").unwrap(),
            text: "Long {\"id\":0} above 950".to_owned(),
            author: Author { user_id: None, display_name: "Ann".to_owned() },
            source: PlanSource::default(),
            charts: Vec::new(),
            tickers: Vec::new(),
            version: 1,
            created_at: Timestamp::UNIX_EPOCH,
            updated_at: Timestamp::UNIX_EPOCH,
            deleted_at: None,
        };
        let rest = json_after_id(&plan).unwrap();
        plan.id = PlanId(4_711);
        assert_eq!(format!("{{\"id\":4711{rest}"), serde_json::to_string(&plan).unwrap());
    }
}
