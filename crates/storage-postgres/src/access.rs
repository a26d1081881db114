//! API tokens, webhook subscriptions and the outbox of deliveries in PostgreSQL ([`TokenStore`], [`WebhookStore`]).
//!
//! Workers in several processes (or on several machines) claim due deliveries with `FOR UPDATE SKIP LOCKED`, so two
//! claims never wait for or return the same row.

use core_model::transfer::TokenEntry;
use core_model::{
    AttemptOutcome, Delivery, DeliveryStatus, EventSet, EventType, NewSubscription, NewToken, Plan, RepoError, Scope,
    Subscription, TokenHash, TokenName, TokenRecord, TokenStore, WebhookSecret, WebhookStore, webhook::GONE_REASON,
};
use jiff::Timestamp;
use postgres::Row;

use crate::error::{BadStoredValue, repo_error};
use crate::rows::{get, to_micros};
use crate::store::{PgStore, Tx};

fn bad(column: &'static str, value: impl Into<String>) -> RepoError {
    BadStoredValue { column, value: value.into() }.into()
}

fn bits(set: EventSet) -> i32 {
    i32::try_from(set.bits()).unwrap_or(i32::MAX)
}

/// A token's columns, in the order [`token_from_row`] reads them.
macro_rules! token_columns {
    () => {
        "name, scope, created_at, expires_at, last_used_at, revoked_at"
    };
}

/// A subscription's columns, in the order [`subscription_from_row`] reads them.
macro_rules! subscription_columns {
    () => {
        "id, url, events, secret, created_at, disabled_at, disabled_reason"
    };
}

/// A delivery's columns, in the order [`delivery_from_row`] reads them.
macro_rules! delivery_columns {
    () => {
        "id, message_id, subscription_id, event_type, occurred_at, plan, status, attempts, next_attempt_at, \
         last_attempt_at, last_status, last_error"
    };
}

/// Queues `event` of `plan` for every enabled subscription that wants it, in the caller's transaction. Writes nothing
/// when nobody subscribes.
pub(crate) fn announce(tx: &mut Tx<'_>, event: EventType, plan: &Plan, at: Timestamp) -> Result<(), RepoError> {
    let json = serde_json::to_string(plan).map_err(|e| RepoError::Failure(Box::new(e)))?;
    let bit = i32::try_from(event.bit()).unwrap_or(0);
    tx.execute(
        "INSERT INTO webhook_deliveries (message_id, subscription_id, event_type, occurred_at, plan, status, \
         next_attempt_at) SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), id, $1, $2, $3, 'pending', $2 \
         FROM webhook_subscriptions WHERE disabled_at IS NULL AND (events & $4) <> 0 ORDER BY id",
        &[&event.as_str(), &at, &json, &bit],
    )
    .map_err(repo_error)?;
    Ok(())
}

fn token_from_row(row: &Row) -> Result<TokenRecord, RepoError> {
    let name: String = get(row, 0)?;
    let scope: String = get(row, 1)?;
    Ok(TokenRecord {
        name: TokenName::parse(&name).map_err(|_| bad("api_tokens.name", name.clone()))?,
        scope: scope.parse::<Scope>().map_err(|_| bad("api_tokens.scope", scope.clone()))?,
        created_at: get(row, 2)?,
        expires_at: get(row, 3)?,
        last_used_at: get(row, 4)?,
        revoked_at: get(row, 5)?,
    })
}

fn subscription_from_row(row: &Row) -> Result<Subscription, RepoError> {
    let events: i32 = get(row, 2)?;
    let secret: String = get(row, 3)?;
    Ok(Subscription {
        id: get(row, 0)?,
        url: get(row, 1)?,
        events: EventSet::from_bits(u32::try_from(events).map_err(|_| bad("webhook_subscriptions.events", "<0"))?),
        secret: WebhookSecret::new(secret).ok_or_else(|| bad("webhook_subscriptions.secret", "[REDACTED]"))?,
        created_at: get(row, 4)?,
        disabled_at: get(row, 5)?,
        disabled_reason: get(row, 6)?,
    })
}

fn delivery_from_row(row: &Row) -> Result<Delivery, RepoError> {
    let event: String = get(row, 3)?;
    let plan: Option<String> = get(row, 5)?;
    let status: String = get(row, 6)?;
    let attempts: i32 = get(row, 7)?;
    let last_status: Option<i32> = get(row, 10)?;
    Ok(Delivery {
        id: get(row, 0)?,
        message_id: get(row, 1)?,
        subscription_id: get(row, 2)?,
        event: EventType::parse(&event).map_err(|_| bad("webhook_deliveries.event_type", event.clone()))?,
        occurred_at: get(row, 4)?,
        plan: plan
            .map(|p| serde_json::from_str(&p).map_err(|_| bad("webhook_deliveries.plan", "(a plan)")))
            .transpose()?,
        status: DeliveryStatus::parse(&status).ok_or_else(|| bad("webhook_deliveries.status", status.clone()))?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        next_attempt_at: get(row, 8)?,
        last_attempt_at: get(row, 9)?,
        last_status: last_status.and_then(|s| u16::try_from(s).ok()),
        last_error: get(row, 11)?,
    })
}

impl TokenStore for PgStore {
    fn create_token(&self, token: &NewToken) -> Result<bool, RepoError> {
        self.write(|tx| {
            let inserted = tx
                .execute(
                    "INSERT INTO api_tokens (name, scope, token_sha256, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                    &[
                        &token.name.as_str(),
                        &token.scope.as_str(),
                        &token.hash.to_hex(),
                        &to_micros(token.created_at),
                        &token.expires_at.map(to_micros),
                    ],
                )
                .map_err(repo_error)?;
            Ok(inserted == 1)
        })
    }

    fn list_tokens(&self) -> Result<Vec<TokenRecord>, RepoError> {
        self.read(|tx| {
            let rows = tx
                .query(concat!("SELECT ", token_columns!(), " FROM api_tokens ORDER BY id"), &[])
                .map_err(repo_error)?;
            rows.iter().map(token_from_row).collect()
        })
    }

    fn revoke_token(&self, name: &TokenName, at: Timestamp) -> Result<bool, RepoError> {
        self.write(|tx| {
            let changed = tx
                .execute(
                    "UPDATE api_tokens SET revoked_at = $2 WHERE name = $1 AND revoked_at IS NULL",
                    &[&name.as_str(), &to_micros(at)],
                )
                .map_err(repo_error)?;
            Ok(changed > 0)
        })
    }

    fn token_by_hash(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, RepoError> {
        self.read(|tx| {
            let row = tx
                .query_opt(
                    concat!("SELECT ", token_columns!(), " FROM api_tokens WHERE token_sha256 = $1"),
                    &[&hash.to_hex()],
                )
                .map_err(repo_error)?;
            row.as_ref().map(token_from_row).transpose()
        })
    }

    fn touch_token(&self, hash: &TokenHash, at: Timestamp) -> Result<(), RepoError> {
        self.write(|tx| {
            tx.execute(
                "UPDATE api_tokens SET last_used_at = $2 WHERE token_sha256 = $1",
                &[&hash.to_hex(), &to_micros(at)],
            )
            .map_err(repo_error)?;
            Ok(())
        })
    }
}

impl WebhookStore for PgStore {
    fn add_subscription(&self, new: &NewSubscription) -> Result<Subscription, RepoError> {
        self.write(|tx| {
            let row = tx
                .query_one(
                    concat!(
                        "INSERT INTO webhook_subscriptions (url, events, secret, created_at) VALUES ($1, $2, $3, $4) \
                         RETURNING ",
                        subscription_columns!()
                    ),
                    &[&new.url, &bits(new.events), &new.secret.expose(), &to_micros(new.created_at)],
                )
                .map_err(repo_error)?;
            subscription_from_row(&row)
        })
    }

    fn subscriptions(&self) -> Result<Vec<Subscription>, RepoError> {
        self.read(export_subscriptions)
    }

    fn remove_subscription(&self, id: i64) -> Result<bool, RepoError> {
        self.write(|tx| {
            tx.execute("DELETE FROM webhook_deliveries WHERE subscription_id = $1", &[&id]).map_err(repo_error)?;
            Ok(tx.execute("DELETE FROM webhook_subscriptions WHERE id = $1", &[&id]).map_err(repo_error)? > 0)
        })
    }

    fn enqueue_test(&self, id: i64, at: Timestamp) -> Result<Option<Delivery>, RepoError> {
        self.write(|tx| {
            let row = tx
                .query_opt(
                    concat!(
                        "INSERT INTO webhook_deliveries (message_id, subscription_id, event_type, occurred_at, status, \
                     next_attempt_at) SELECT 'msg_' || replace(gen_random_uuid()::text, '-', ''), id, $2, $3, \
                     'pending', $3 FROM webhook_subscriptions WHERE id = $1 RETURNING ",
                        delivery_columns!()
                    ),
                    &[&id, &EventType::WebhookTest.as_str(), &to_micros(at)],
                )
                .map_err(repo_error)?;
            row.as_ref().map(delivery_from_row).transpose()
        })
    }

    fn claim_due(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<(Delivery, Subscription)>, RepoError> {
        self.write(|tx| {
            let rows = tx
                .query(
                    concat!(
                        "UPDATE webhook_deliveries SET lease_until = $2 WHERE id IN ( \
                       SELECT d.id FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id \
                       WHERE d.status = 'pending' AND d.next_attempt_at <= $1 \
                         AND (d.lease_until IS NULL OR d.lease_until <= $1) AND s.disabled_at IS NULL \
                       ORDER BY d.next_attempt_at, d.id LIMIT $3 FOR UPDATE OF d SKIP LOCKED) RETURNING ",
                        delivery_columns!()
                    ),
                    &[&to_micros(now), &to_micros(lease_until), &i64::from(limit)],
                )
                .map_err(repo_error)?;
            let mut claimed = Vec::with_capacity(rows.len());
            for row in &rows {
                let delivery = delivery_from_row(row)?;
                let subscription = tx
                    .query_one(
                        concat!("SELECT ", subscription_columns!(), " FROM webhook_subscriptions WHERE id = $1"),
                        &[&delivery.subscription_id],
                    )
                    .map_err(repo_error)?;
                claimed.push((delivery, subscription_from_row(&subscription)?));
            }
            claimed.sort_by_key(|(d, _)| (d.next_attempt_at, d.id));
            Ok(claimed)
        })
    }

    fn record_attempt(&self, delivery_id: i64, outcome: &AttemptOutcome, at: Timestamp) -> Result<(), RepoError> {
        const ATTEMPT: &str = "UPDATE webhook_deliveries SET attempts = attempts + 1, lease_until = NULL, \
                               last_attempt_at = $2, status = $3, last_status = $4, last_error = $5, \
                               next_attempt_at = coalesce($6, next_attempt_at) WHERE id = $1";
        let at = to_micros(at);
        let status = |s: &Option<u16>| s.map(i32::from);
        self.write(|tx| {
            match outcome {
                AttemptOutcome::Delivered { status } => {
                    let status = Some(i32::from(*status));
                    tx.execute(
                        ATTEMPT,
                        &[&delivery_id, &at, &"delivered", &status, &None::<String>, &None::<Timestamp>],
                    )
                }
                AttemptOutcome::Retry { status: s, error, next_attempt_at } => {
                    let next = Some(to_micros(*next_attempt_at));
                    tx.execute(ATTEMPT, &[&delivery_id, &at, &"pending", &status(s), error, &next])
                }
                AttemptOutcome::Failed { status: s, error } => {
                    tx.execute(ATTEMPT, &[&delivery_id, &at, &"failed", &status(s), error, &None::<Timestamp>])
                }
                AttemptOutcome::Gone => {
                    let Some(row) = tx
                        .query_opt("SELECT subscription_id FROM webhook_deliveries WHERE id = $1", &[&delivery_id])
                        .map_err(repo_error)?
                    else {
                        return Ok(());
                    };
                    let subscription: i64 = get(&row, 0)?;
                    let gone = Some(410i32);
                    tx.execute(ATTEMPT, &[&delivery_id, &at, &"failed", &gone, &GONE_REASON, &None::<Timestamp>])
                        .map_err(repo_error)?;
                    tx.execute(
                        "UPDATE webhook_deliveries SET status = 'failed', last_status = 410, last_error = $2, \
                         lease_until = NULL WHERE subscription_id = $1 AND status = 'pending'",
                        &[&subscription, &GONE_REASON],
                    )
                    .map_err(repo_error)?;
                    tx.execute(
                        "UPDATE webhook_subscriptions SET disabled_at = $2, disabled_reason = $3 WHERE id = $1",
                        &[&subscription, &at, &GONE_REASON],
                    )
                }
            }
            .map_err(repo_error)?;
            Ok(())
        })
    }

    fn deliveries(&self, subscription: Option<i64>, limit: u32) -> Result<Vec<Delivery>, RepoError> {
        self.read(|tx| {
            let rows = tx
                .query(
                    concat!(
                        "SELECT ",
                        delivery_columns!(),
                        " FROM webhook_deliveries WHERE $1::bigint IS NULL OR subscription_id = $1 \
                         ORDER BY id DESC LIMIT $2"
                    ),
                    &[&subscription, &i64::from(limit)],
                )
                .map_err(repo_error)?;
            rows.iter().map(delivery_from_row).collect()
        })
    }
}

/// Every token with its hash, oldest first (for `copy-db`).
pub(crate) fn export_tokens(tx: &mut Tx<'_>) -> Result<Vec<TokenEntry>, RepoError> {
    let rows = tx
        .query(concat!("SELECT ", token_columns!(), ", token_sha256 FROM api_tokens ORDER BY id"), &[])
        .map_err(repo_error)?;
    rows.iter()
        .map(|row| {
            let hash: String = get(row, 6)?;
            Ok(TokenEntry {
                hash: TokenHash::from_hex(&hash).ok_or_else(|| bad("api_tokens.token_sha256", "(not a SHA-256)"))?,
                record: token_from_row(row)?,
            })
        })
        .collect()
}

/// Every subscription, by id.
pub(crate) fn export_subscriptions(tx: &mut Tx<'_>) -> Result<Vec<Subscription>, RepoError> {
    let rows = tx
        .query(concat!("SELECT ", subscription_columns!(), " FROM webhook_subscriptions ORDER BY id"), &[])
        .map_err(repo_error)?;
    rows.iter().map(subscription_from_row).collect()
}

/// Deliveries with an id past `after`, by id (for `copy-db`).
pub(crate) fn export_deliveries(tx: &mut Tx<'_>, after: i64, limit: i64) -> Result<Vec<Delivery>, RepoError> {
    let rows = tx
        .query(
            concat!("SELECT ", delivery_columns!(), " FROM webhook_deliveries WHERE id > $1 ORDER BY id LIMIT $2"),
            &[&after, &limit],
        )
        .map_err(repo_error)?;
    rows.iter().map(delivery_from_row).collect()
}

/// Writes a token as exported.
pub(crate) fn import_token(tx: &mut Tx<'_>, entry: &TokenEntry) -> Result<(), RepoError> {
    let r = &entry.record;
    tx.execute(
        "INSERT INTO api_tokens (name, scope, token_sha256, created_at, expires_at, last_used_at, revoked_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &r.name.as_str(),
            &r.scope.as_str(),
            &entry.hash.to_hex(),
            &r.created_at,
            &r.expires_at,
            &r.last_used_at,
            &r.revoked_at,
        ],
    )
    .map(drop)
    .map_err(repo_error)
}

/// Writes a subscription as exported, with its id.
pub(crate) fn import_subscription(tx: &mut Tx<'_>, s: &Subscription) -> Result<(), RepoError> {
    tx.execute(
        "INSERT INTO webhook_subscriptions (id, url, events, secret, created_at, disabled_at, disabled_reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        &[&s.id, &s.url, &bits(s.events), &s.secret.expose(), &s.created_at, &s.disabled_at, &s.disabled_reason],
    )
    .map(drop)
    .map_err(repo_error)
}

/// Writes a delivery as exported, with its id and message id (no lease: nothing is delivering it).
pub(crate) fn import_delivery(tx: &mut Tx<'_>, d: &Delivery) -> Result<(), RepoError> {
    let plan = d.plan.as_ref().map(serde_json::to_string).transpose().map_err(|e| RepoError::Failure(Box::new(e)))?;
    let attempts = i32::try_from(d.attempts).unwrap_or(i32::MAX);
    let last_status = d.last_status.map(i32::from);
    tx.execute(
        "INSERT INTO webhook_deliveries (id, message_id, subscription_id, event_type, occurred_at, plan, status, \
         attempts, next_attempt_at, last_attempt_at, last_status, last_error) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        &[
            &d.id,
            &d.message_id,
            &d.subscription_id,
            &d.event.as_str(),
            &d.occurred_at,
            &plan,
            &d.status.as_str(),
            &attempts,
            &d.next_attempt_at,
            &d.last_attempt_at,
            &last_status,
            &d.last_error,
        ],
    )
    .map(drop)
    .map_err(repo_error)
}
