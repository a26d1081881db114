//! API tokens, webhook subscriptions and the outbox of deliveries in SQLite ([`TokenStore`], [`WebhookStore`]).

use core_model::transfer::TokenEntry;
use core_model::{
    AttemptOutcome, Delivery, DeliveryStatus, EventSet, EventType, NewSubscription, NewToken, Plan, RepoError, Scope,
    Subscription, TokenHash, TokenName, TokenRecord, TokenStore, WebhookSecret, WebhookStore, webhook::GONE_REASON,
};
use jiff::Timestamp;
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::error::repo_error;
use crate::rows::{conversion_error, get_opt_timestamp, get_timestamp};
use crate::{SqliteStore, timestamp};

fn ts(at: Timestamp) -> String {
    timestamp::to_text(at)
}

/// Queues `event` of `plan` for every enabled subscription that wants it, in the caller's transaction. Writes nothing
/// when nobody subscribes.
pub(crate) fn announce(conn: &Connection, event: EventType, plan: &Plan, at: Timestamp) -> Result<(), RepoError> {
    let json = serde_json::to_string(plan).map_err(|e| RepoError::Failure(Box::new(e)))?;
    conn.prepare_cached(
        "INSERT INTO webhook_deliveries (message_id, subscription_id, event_type, occurred_at, plan, status, \
         next_attempt_at) SELECT 'msg_' || lower(hex(randomblob(16))), id, ?1, ?2, ?3, 'pending', ?2 \
         FROM webhook_subscriptions WHERE disabled_at IS NULL AND (events & ?4) != 0 ORDER BY id",
    )
    .and_then(|mut stmt| stmt.execute(params![event.as_str(), ts(at), json, event.bit()]))
    .map_err(repo_error)?;
    Ok(())
}

/// `SELECT` of a token's columns, then `$rest`.
macro_rules! token_select {
    ($rest:literal) => {
        concat!("SELECT name, scope, created_at, expires_at, last_used_at, revoked_at FROM api_tokens ", $rest)
    };
}

fn token_from_row(row: &Row<'_>) -> rusqlite::Result<TokenRecord> {
    let name: String = row.get(0)?;
    let scope: String = row.get(1)?;
    Ok(TokenRecord {
        name: TokenName::parse(&name).map_err(|e| conversion_error(0, e))?,
        scope: scope.parse::<Scope>().map_err(|e| conversion_error(1, e))?,
        created_at: get_timestamp(row, 2)?,
        expires_at: get_opt_timestamp(row, 3)?,
        last_used_at: get_opt_timestamp(row, 4)?,
        revoked_at: get_opt_timestamp(row, 5)?,
    })
}

/// A subscription's columns, in the order [`subscription_from_row`] reads them.
macro_rules! subscription_columns {
    () => {
        "id, url, events, secret, created_at, disabled_at, disabled_reason"
    };
}

fn subscription_from_row(row: &Row<'_>) -> rusqlite::Result<Subscription> {
    let secret: String = row.get(3)?;
    Ok(Subscription {
        id: row.get(0)?,
        url: row.get(1)?,
        events: EventSet::from_bits(row.get(2)?),
        secret: WebhookSecret::new(secret).ok_or_else(|| conversion_error(3, BadValue("a webhook secret")))?,
        created_at: get_timestamp(row, 4)?,
        disabled_at: get_opt_timestamp(row, 5)?,
        disabled_reason: row.get(6)?,
    })
}

/// `SELECT` of a delivery's columns from `webhook_deliveries d`, then `$rest`.
macro_rules! delivery_select {
    ($rest:literal) => {
        concat!(
            "SELECT d.id, d.message_id, d.subscription_id, d.event_type, d.occurred_at, d.plan, d.status, d.attempts, \
             d.next_attempt_at, d.last_attempt_at, d.last_status, d.last_error FROM webhook_deliveries d ",
            $rest
        )
    };
}

/// The conditions of a due delivery (`?1` is now).
macro_rules! due {
    () => {
        "d.status = 'pending' AND d.next_attempt_at <= ?1 AND (d.lease_until IS NULL OR d.lease_until <= ?1) \
         AND s.disabled_at IS NULL"
    };
}

#[derive(Debug, thiserror::Error)]
#[error("not {0}")]
struct BadValue(&'static str);

fn delivery_from_row(row: &Row<'_>) -> rusqlite::Result<Delivery> {
    let event: String = row.get(3)?;
    let plan: Option<String> = row.get(5)?;
    let status: String = row.get(6)?;
    Ok(Delivery {
        id: row.get(0)?,
        message_id: row.get(1)?,
        subscription_id: row.get(2)?,
        event: EventType::parse(&event).map_err(|e| conversion_error(3, e))?,
        occurred_at: get_timestamp(row, 4)?,
        plan: plan.map(|p| serde_json::from_str(&p).map_err(|e| conversion_error(5, e))).transpose()?,
        status: DeliveryStatus::parse(&status).ok_or_else(|| conversion_error(6, BadValue("a delivery status")))?,
        attempts: row.get(7)?,
        next_attempt_at: get_timestamp(row, 8)?,
        last_attempt_at: get_opt_timestamp(row, 9)?,
        last_status: row.get(10)?,
        last_error: row.get(11)?,
    })
}

fn delivery_by_id(conn: &Connection, id: i64) -> rusqlite::Result<Option<Delivery>> {
    conn.prepare_cached(delivery_select!("WHERE d.id = ?1"))?.query_row([id], delivery_from_row).optional()
}

impl TokenStore for SqliteStore {
    fn create_token(&self, token: &NewToken) -> Result<bool, RepoError> {
        self.write(|tx| {
            let inserted = tx
                .prepare_cached(
                    "INSERT INTO api_tokens (name, scope, token_sha256, created_at, expires_at) \
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        token.name.as_str(),
                        token.scope.as_str(),
                        token.hash.to_hex(),
                        ts(token.created_at),
                        token.expires_at.map(ts),
                    ])
                })
                .map_err(repo_error)?;
            Ok(inserted == 1)
        })
    }

    fn list_tokens(&self) -> Result<Vec<TokenRecord>, RepoError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(token_select!("ORDER BY id"))?;
            stmt.query_map([], token_from_row)?.collect()
        })
    }

    fn revoke_token(&self, name: &TokenName, at: Timestamp) -> Result<bool, RepoError> {
        self.write(|tx| {
            let changed = tx
                .prepare_cached("UPDATE api_tokens SET revoked_at = ?2 WHERE name = ?1 AND revoked_at IS NULL")
                .and_then(|mut stmt| stmt.execute(params![name.as_str(), ts(at)]))
                .map_err(repo_error)?;
            Ok(changed > 0)
        })
    }

    fn token_by_hash(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, RepoError> {
        self.read(|conn| {
            conn.prepare_cached(token_select!("WHERE token_sha256 = ?1"))?
                .query_row([hash.to_hex()], token_from_row)
                .optional()
        })
    }

    fn touch_token(&self, hash: &TokenHash, at: Timestamp) -> Result<(), RepoError> {
        self.write(|tx| {
            tx.prepare_cached("UPDATE api_tokens SET last_used_at = ?2 WHERE token_sha256 = ?1")
                .and_then(|mut stmt| stmt.execute(params![hash.to_hex(), ts(at)]))
                .map_err(repo_error)?;
            Ok(())
        })
    }
}

impl WebhookStore for SqliteStore {
    fn add_subscription(&self, new: &NewSubscription) -> Result<Subscription, RepoError> {
        self.write(|tx| {
            tx.prepare_cached(concat!(
                "INSERT INTO webhook_subscriptions (url, events, secret, created_at) VALUES (?1, ?2, ?3, ?4) RETURNING ",
                subscription_columns!()
            ))
            .and_then(|mut stmt| {
                stmt.query_row(
                    params![new.url, new.events.bits(), new.secret.expose(), ts(new.created_at)],
                    subscription_from_row,
                )
            })
            .map_err(repo_error)
        })
    }

    fn subscriptions(&self) -> Result<Vec<Subscription>, RepoError> {
        self.read(export_subscriptions)
    }

    fn remove_subscription(&self, id: i64) -> Result<bool, RepoError> {
        self.write(|tx| {
            let run = |sql: &str| tx.prepare_cached(sql).and_then(|mut stmt| stmt.execute([id])).map_err(repo_error);
            run("DELETE FROM webhook_deliveries WHERE subscription_id = ?1")?;
            Ok(run("DELETE FROM webhook_subscriptions WHERE id = ?1")? > 0)
        })
    }

    fn enqueue_test(&self, id: i64, at: Timestamp) -> Result<Option<Delivery>, RepoError> {
        self.write(|tx| {
            let inserted: Option<i64> = tx
                .prepare_cached(
                    "INSERT INTO webhook_deliveries (message_id, subscription_id, event_type, occurred_at, status, \
                     next_attempt_at) SELECT 'msg_' || lower(hex(randomblob(16))), id, ?2, ?3, 'pending', ?3 \
                     FROM webhook_subscriptions WHERE id = ?1 RETURNING id",
                )
                .and_then(|mut stmt| {
                    stmt.query_row(params![id, EventType::WebhookTest.as_str(), ts(at)], |r| r.get(0)).optional()
                })
                .map_err(repo_error)?;
            match inserted {
                Some(delivery) => delivery_by_id(tx, delivery).map_err(repo_error),
                None => Ok(None),
            }
        })
    }

    fn claim_due(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<(Delivery, Subscription)>, RepoError> {
        // A read first: a worker polling an empty outbox never takes the write lock.
        let any_due = self.read(|conn| {
            conn.prepare_cached(concat!(
                "SELECT EXISTS (SELECT 1 FROM webhook_deliveries d JOIN webhook_subscriptions s \
                 ON s.id = d.subscription_id WHERE ",
                due!(),
                ")"
            ))?
            .query_row([ts(now)], |r| r.get::<_, bool>(0))
        })?;
        if !any_due {
            return Ok(Vec::new());
        }
        self.write(|tx| {
            let ids: Vec<i64> = tx
                .prepare_cached(concat!(
                    "SELECT d.id FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id \
                     WHERE ",
                    due!(),
                    " ORDER BY d.next_attempt_at, d.id LIMIT ?2"
                ))
                .and_then(|mut stmt| stmt.query_map(params![ts(now), limit], |r| r.get(0))?.collect())
                .map_err(repo_error)?;
            let mut claimed = Vec::with_capacity(ids.len());
            for id in ids {
                tx.prepare_cached("UPDATE webhook_deliveries SET lease_until = ?2 WHERE id = ?1")
                    .and_then(|mut stmt| stmt.execute(params![id, ts(lease_until)]))
                    .map_err(repo_error)?;
                let delivery = delivery_by_id(tx, id).map_err(repo_error)?;
                let subscription = tx
                    .prepare_cached(concat!(
                        "SELECT ",
                        subscription_columns!(),
                        " FROM webhook_subscriptions WHERE id = \
                         (SELECT subscription_id FROM webhook_deliveries WHERE id = ?1)"
                    ))
                    .and_then(|mut stmt| stmt.query_row([id], subscription_from_row))
                    .map_err(repo_error)?;
                claimed.extend(delivery.map(|d| (d, subscription)));
            }
            Ok(claimed)
        })
    }

    fn record_attempt(&self, delivery_id: i64, outcome: &AttemptOutcome, at: Timestamp) -> Result<(), RepoError> {
        self.write(|tx| {
            let exec = |sql: &str, params: &[&dyn rusqlite::ToSql]| {
                tx.prepare_cached(sql).and_then(|mut stmt| stmt.execute(params)).map_err(repo_error)
            };
            let at_text = ts(at);
            let attempt = "UPDATE webhook_deliveries SET attempts = attempts + 1, lease_until = NULL, \
                           last_attempt_at = ?2, status = ?3, last_status = ?4, last_error = ?5, \
                           next_attempt_at = coalesce(?6, next_attempt_at) WHERE id = ?1";
            match outcome {
                AttemptOutcome::Delivered { status } => {
                    exec(attempt, &[&delivery_id, &at_text, &"delivered", status, &None::<String>, &None::<String>])?;
                }
                AttemptOutcome::Retry { status, error, next_attempt_at } => {
                    let next = ts(*next_attempt_at);
                    exec(attempt, &[&delivery_id, &at_text, &"pending", status, error, &next])?;
                }
                AttemptOutcome::Failed { status, error } => {
                    exec(attempt, &[&delivery_id, &at_text, &"failed", status, error, &None::<String>])?;
                }
                AttemptOutcome::Gone => {
                    let subscription: Option<i64> = tx
                        .prepare_cached("SELECT subscription_id FROM webhook_deliveries WHERE id = ?1")
                        .and_then(|mut stmt| stmt.query_row([delivery_id], |r| r.get(0)).optional())
                        .map_err(repo_error)?;
                    let Some(subscription) = subscription else { return Ok(()) };
                    exec(attempt, &[&delivery_id, &at_text, &"failed", &410, &GONE_REASON, &None::<String>])?;
                    exec(
                        "UPDATE webhook_deliveries SET status = 'failed', last_status = 410, last_error = ?2, \
                         lease_until = NULL WHERE subscription_id = ?1 AND status = 'pending'",
                        &[&subscription, &GONE_REASON],
                    )?;
                    exec(
                        "UPDATE webhook_subscriptions SET disabled_at = ?2, disabled_reason = ?3 WHERE id = ?1",
                        &[&subscription, &at_text, &GONE_REASON],
                    )?;
                }
            }
            Ok(())
        })
    }

    fn deliveries(&self, subscription: Option<i64>, limit: u32) -> Result<Vec<Delivery>, RepoError> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(delivery_select!(
                "WHERE ?1 IS NULL OR d.subscription_id = ?1 ORDER BY d.id DESC LIMIT ?2"
            ))?;
            stmt.query_map(params![subscription, limit], delivery_from_row)?.collect()
        })
    }
}

/// Every token with its hash, oldest first (for `copy-db`).
pub(crate) fn export_tokens(conn: &Connection) -> rusqlite::Result<Vec<TokenEntry>> {
    conn.prepare_cached(
        "SELECT name, scope, created_at, expires_at, last_used_at, revoked_at, token_sha256 FROM api_tokens ORDER BY id",
    )?
    .query_map([], |row| {
        let hash: String = row.get(6)?;
        Ok(TokenEntry {
            hash: TokenHash::from_hex(&hash).ok_or_else(|| conversion_error(6, BadValue("a SHA-256")))?,
            record: token_from_row(row)?,
        })
    })?
    .collect()
}

/// Every subscription, by id.
pub(crate) fn export_subscriptions(conn: &Connection) -> rusqlite::Result<Vec<Subscription>> {
    conn.prepare_cached(concat!("SELECT ", subscription_columns!(), " FROM webhook_subscriptions ORDER BY id"))?
        .query_map([], subscription_from_row)?
        .collect()
}

/// Deliveries with an id past `after`, by id (for `copy-db`).
pub(crate) fn export_deliveries(conn: &Connection, after: i64, limit: i64) -> rusqlite::Result<Vec<Delivery>> {
    conn.prepare_cached(delivery_select!("WHERE d.id > ?1 ORDER BY d.id LIMIT ?2"))?
        .query_map(params![after, limit], delivery_from_row)?
        .collect()
}

/// Writes a token as exported.
pub(crate) fn import_token(tx: &Connection, entry: &TokenEntry) -> rusqlite::Result<()> {
    let r = &entry.record;
    tx.prepare_cached(
        "INSERT INTO api_tokens (name, scope, token_sha256, created_at, expires_at, last_used_at, revoked_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        r.name.as_str(),
        r.scope.as_str(),
        entry.hash.to_hex(),
        ts(r.created_at),
        r.expires_at.map(ts),
        r.last_used_at.map(ts),
        r.revoked_at.map(ts),
    ])
    .map(drop)
}

/// Writes a subscription as exported, with its id.
pub(crate) fn import_subscription(tx: &Connection, s: &Subscription) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO webhook_subscriptions (id, url, events, secret, created_at, disabled_at, disabled_reason) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![
        s.id,
        s.url,
        s.events.bits(),
        s.secret.expose(),
        ts(s.created_at),
        s.disabled_at.map(ts),
        s.disabled_reason,
    ])
    .map(drop)
}

/// Writes a delivery as exported, with its id and message id (no lease: nothing is delivering it).
pub(crate) fn import_delivery(tx: &Connection, d: &Delivery) -> rusqlite::Result<()> {
    let plan = d.plan.as_ref().map(serde_json::to_string).transpose().map_err(|e| conversion_error(5, e))?;
    tx.prepare_cached(
        "INSERT INTO webhook_deliveries (id, message_id, subscription_id, event_type, occurred_at, plan, status, \
         attempts, next_attempt_at, last_attempt_at, last_status, last_error) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        d.id,
        d.message_id,
        d.subscription_id,
        d.event.as_str(),
        ts(d.occurred_at),
        plan,
        d.status.as_str(),
        d.attempts,
        ts(d.next_attempt_at),
        d.last_attempt_at.map(ts),
        d.last_status,
        d.last_error,
    ])
    .map(drop)
}
