//! A new plan in one statement: its row, its tickers, its charts, its first history entry, the webhook outbox's
//! deliveries and the riders noted so far (see [`crate::riders`]), each in a data-modifying `WITH` on the plan's new
//! id, with the replay check (a message that posted a plan already) in the same statement.
//!
//! The statement runs on its own, without `BEGIN` and `COMMIT`: PostgreSQL commits a statement sent outside a
//! transaction as it ends, all of it or nothing, so a new plan costs one round trip to the server instead of one per
//! row and two for the transaction.

use core_model::transition::NewHistoryEntry;
use core_model::{EventType, Plan, PlanId, RepoError, Ticker};
use jiff::Timestamp;

use crate::error::{BadStoredValue, opt_id_to_sql};
use crate::riders::Rider;
use crate::rows::{WriteError, tickers_text, version_to_sql};
use crate::store::Autocommit;
use crate::words;

/// The statement. `$17` is the message whose earlier plan makes this one a replay (`NULL`: none); no row comes back
/// then, and nothing is written but the riders.
const INSERT: &str = "WITH plan AS (\
       INSERT INTO plans (coach, trading_date, text, author_id, author_name, guild_id, channel_id, channel_name, \
       message_id, version, created_at, updated_at, deleted_at, tickers, words) \
       SELECT $1::text, $2::date, $3::text, $4::bigint, $5::text, $6::bigint, $7::bigint, $8::text, $9::bigint, \
       $10::integer, $11::timestamptz, $12::timestamptz, $13::timestamptz, $14::text, $15::text::tsvector \
       WHERE NOT EXISTS (SELECT 1 FROM plan_history WHERE message_id = $17::bigint) \
       RETURNING id), \
     tickers AS (\
       INSERT INTO plan_tickers (plan_id, ticker) SELECT plan.id, t FROM plan, unnest($16::text[]) AS t \
       ON CONFLICT DO NOTHING), \
     charts AS (\
       INSERT INTO charts (plan_id, position, url, filename, content_type, kind, added_at) \
       SELECT plan.id, c.* FROM plan, \
       unnest($18::integer[], $19::text[], $20::text[], $21::text[], $22::text[], $23::timestamptz[]) AS c), \
     history AS (\
       INSERT INTO plan_history (plan_id, coach, trading_date, version, action, text_before, text_after, actor_id, \
       actor_name, at, message_id) \
       SELECT plan.id, $1::text, $2::date, $24::integer, $25::text, $26::text, $27::text, $28::bigint, $29::text, \
       $30::timestamptz, $31::bigint FROM plan), \
     outbox AS (\
       INSERT INTO webhook_deliveries (message_id, subscription_id, event_type, occurred_at, plan, status, \
       next_attempt_at) \
       SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), s.id, $32::text, $30::timestamptz, \
       '{\"id\":' || plan.id || $33::text, 'pending', $30::timestamptz \
       FROM plan, webhook_subscriptions AS s WHERE s.disabled_at IS NULL AND (s.events & $34::integer) <> 0 \
       ORDER BY s.id), \
     riders AS (\
       INSERT INTO runtime_status (key, value, updated_at) \
       SELECT * FROM unnest($35::text[], $36::text[], $37::timestamptz[]) \
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at \
       WHERE runtime_status.updated_at <= excluded.updated_at) \
     SELECT id FROM plan";

/// The JSON of `plan` (as the outbox stores it) from just after its id's value: the statement puts `{"id":` and the
/// new id in front.
fn json_after_id(plan: &Plan) -> Result<String, RepoError> {
    let json = serde_json::to_string(plan).map_err(|e| RepoError::Failure(Box::new(e)))?;
    let head = format!("{{\"id\":{}", plan.id.0);
    json.strip_prefix(&head).map(str::to_owned).ok_or_else(|| {
        RepoError::Failure(Box::new(BadStoredValue { column: "webhook_deliveries.plan", value: "[plan]".to_owned() }))
    })
}

/// Stores `plan` (its id not known yet) with its history entry `entry`, the outbox's deliveries of `event` and
/// `riders`, unless `replay_of` (a chat message) posted or re-posted a plan already. Returns the new plan's id, or
/// `None` for a replay.
pub(crate) fn insert(
    one: &mut Autocommit<'_>,
    plan: &Plan,
    entry: &NewHistoryEntry,
    event: EventType,
    replay_of: Option<u64>,
    riders: &[(String, Rider)],
) -> Result<Option<PlanId>, WriteError> {
    let tickers: Vec<&str> = plan.tickers.iter().map(Ticker::as_str).collect();
    let positions = plan
        .charts
        .iter()
        .map(|c| {
            i32::try_from(c.position).map_err(|_| BadStoredValue { column: "position", value: c.position.to_string() })
        })
        .collect::<Result<Vec<i32>, _>>()
        .map_err(|e| WriteError::Repo(e.into()))?;
    let urls: Vec<&str> = plan.charts.iter().map(|c| c.url.as_str()).collect();
    let filenames: Vec<Option<&str>> = plan.charts.iter().map(|c| c.filename.as_deref()).collect();
    let content_types: Vec<Option<&str>> = plan.charts.iter().map(|c| c.content_type.as_deref()).collect();
    let kinds: Vec<&str> = plan.charts.iter().map(|c| c.kind.as_str()).collect();
    let added: Vec<Timestamp> = plan.charts.iter().map(|c| c.added_at).collect();
    let keys: Vec<&str> = riders.iter().map(|(key, _)| key.as_str()).collect();
    let values: Vec<&str> = riders.iter().map(|(_, rider)| rider.value.as_str()).collect();
    let times: Vec<Timestamp> = riders.iter().map(|(_, rider)| rider.at).collect();
    // A message id beyond `bigint` names no stored message: no replay check.
    let replay_of = replay_of.and_then(|id| i64::try_from(id).ok());
    let row = one.query_opt(
        INSERT,
        &[
            &plan.coach.as_str(),
            &plan.date.date(),
            &plan.text,
            &opt_id_to_sql(plan.author.user_id.map(|u| u.0))?,
            &plan.author.display_name,
            &opt_id_to_sql(plan.source.guild_id)?,
            &opt_id_to_sql(plan.source.channel_id)?,
            &plan.source.channel_name,
            &opt_id_to_sql(plan.source.message_id)?,
            &version_to_sql(plan.version)?,
            &plan.created_at,
            &plan.updated_at,
            &plan.deleted_at,
            &tickers_text(&plan.tickers),
            &words::tsvector(&plan.text),
            &tickers,
            &replay_of,
            &positions,
            &urls,
            &filenames,
            &content_types,
            &kinds,
            &added,
            &version_to_sql(entry.version)?,
            &entry.action.as_str(),
            &entry.text_before,
            &entry.text_after,
            &opt_id_to_sql(entry.actor.user_id.map(|u| u.0))?,
            &entry.actor.display_name,
            &entry.at,
            &opt_id_to_sql(entry.message_id)?,
            &event.as_str(),
            &json_after_id(plan)?,
            &i32::try_from(event.bit()).unwrap_or(0),
            &keys,
            &values,
            &times,
        ],
    )?;
    row.map(|row| row.try_get(0).map(PlanId)).transpose().map_err(WriteError::Db)
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
