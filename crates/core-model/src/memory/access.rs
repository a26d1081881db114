//! The in-memory tokens, subscriptions and outbox of deliveries.

use jiff::Timestamp;

use super::MemoryStore;
use crate::{
    AttemptOutcome, Delivery, DeliveryStatus, EventType, NewSubscription, NewToken, Plan, RepoError, Subscription,
    TokenHash, TokenName, TokenRecord, TokenStore, WebhookStore,
};

#[derive(Debug, Default)]
pub(super) struct AccessState {
    tokens: Vec<(TokenHash, TokenRecord)>,
    subscriptions: Vec<Subscription>,
    next_subscription: i64,
    deliveries: Vec<(Delivery, Option<Timestamp>)>,
}

impl AccessState {
    /// Queues `event` of `plan` for every enabled subscription that wants it (called inside the change's lock).
    pub(super) fn announce(&mut self, event: EventType, plan: &Plan, at: Timestamp) {
        let subscribers: Vec<i64> = self
            .subscriptions
            .iter()
            .filter(|s| s.disabled_at.is_none() && s.events.contains(event))
            .map(|s| s.id)
            .collect();
        for subscription_id in subscribers {
            self.queue(subscription_id, event, Some(plan.clone()), at);
        }
    }

    fn queue(&mut self, subscription_id: i64, event: EventType, plan: Option<Plan>, at: Timestamp) -> Delivery {
        let id = i64::try_from(self.deliveries.len()).unwrap_or(i64::MAX) + 1;
        let delivery = Delivery {
            id,
            message_id: format!("msg_memory{id:08}"),
            subscription_id,
            event,
            occurred_at: at,
            plan,
            status: DeliveryStatus::Pending,
            attempts: 0,
            next_attempt_at: at,
            last_attempt_at: None,
            last_status: None,
            last_error: None,
        };
        self.deliveries.push((delivery.clone(), None));
        delivery
    }
}

impl TokenStore for MemoryStore {
    fn create_token(&self, token: &NewToken) -> Result<bool, RepoError> {
        let mut state = self.lock();
        let tokens = &mut state.access.tokens;
        if tokens.iter().any(|(_, t)| t.name == token.name && t.revoked_at.is_none()) {
            return Ok(false);
        }
        tokens.push((
            token.hash,
            TokenRecord {
                name: token.name.clone(),
                scope: token.scope,
                created_at: token.created_at,
                expires_at: token.expires_at,
                last_used_at: None,
                revoked_at: None,
            },
        ));
        Ok(true)
    }

    fn list_tokens(&self) -> Result<Vec<TokenRecord>, RepoError> {
        Ok(self.lock().access.tokens.iter().map(|(_, t)| t.clone()).collect())
    }

    fn revoke_token(&self, name: &TokenName, at: Timestamp) -> Result<bool, RepoError> {
        let mut state = self.lock();
        let found = state.access.tokens.iter_mut().find(|(_, t)| &t.name == name && t.revoked_at.is_none());
        Ok(found.map(|(_, t)| t.revoked_at = Some(at)).is_some())
    }

    fn token_by_hash(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, RepoError> {
        Ok(self.lock().access.tokens.iter().find(|(h, _)| h == hash).map(|(_, t)| t.clone()))
    }

    fn touch_token(&self, hash: &TokenHash, at: Timestamp) -> Result<(), RepoError> {
        if let Some((_, t)) = self.lock().access.tokens.iter_mut().find(|(h, _)| h == hash) {
            t.last_used_at = Some(at);
        }
        Ok(())
    }
}

impl WebhookStore for MemoryStore {
    fn add_subscription(&self, new: &NewSubscription) -> Result<Subscription, RepoError> {
        let mut state = self.lock();
        state.access.next_subscription += 1;
        let subscription = Subscription {
            id: state.access.next_subscription,
            url: new.url.clone(),
            events: new.events,
            secret: new.secret.clone(),
            created_at: new.created_at,
            disabled_at: None,
            disabled_reason: None,
        };
        state.access.subscriptions.push(subscription.clone());
        Ok(subscription)
    }

    fn subscriptions(&self) -> Result<Vec<Subscription>, RepoError> {
        Ok(self.lock().access.subscriptions.clone())
    }

    fn remove_subscription(&self, id: i64) -> Result<bool, RepoError> {
        let mut state = self.lock();
        let before = state.access.subscriptions.len();
        state.access.subscriptions.retain(|s| s.id != id);
        state.access.deliveries.retain(|(d, _)| d.subscription_id != id);
        Ok(state.access.subscriptions.len() < before)
    }

    fn enqueue_test(&self, id: i64, at: Timestamp) -> Result<Option<Delivery>, RepoError> {
        let mut state = self.lock();
        if !state.access.subscriptions.iter().any(|s| s.id == id) {
            return Ok(None);
        }
        Ok(Some(state.access.queue(id, EventType::WebhookTest, None, at)))
    }

    fn claim_due(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> Result<Vec<(Delivery, Subscription)>, RepoError> {
        let mut state = self.lock();
        let access = &mut state.access;
        let mut claimed = Vec::new();
        for (delivery, lease) in &mut access.deliveries {
            if claimed.len() >= limit as usize {
                break;
            }
            let due = delivery.status == DeliveryStatus::Pending
                && delivery.next_attempt_at <= now
                && lease.is_none_or(|until| until <= now);
            let subscription = access.subscriptions.iter().find(|s| s.id == delivery.subscription_id);
            if let Some(subscription) = subscription.filter(|s| due && s.disabled_at.is_none()) {
                *lease = Some(lease_until);
                claimed.push((delivery.clone(), subscription.clone()));
            }
        }
        Ok(claimed)
    }

    fn record_attempt(&self, delivery_id: i64, outcome: &AttemptOutcome, at: Timestamp) -> Result<(), RepoError> {
        let mut state = self.lock();
        let access = &mut state.access;
        let Some((delivery, lease)) = access.deliveries.iter_mut().find(|(d, _)| d.id == delivery_id) else {
            return Ok(());
        };
        *lease = None;
        delivery.attempts += 1;
        delivery.last_attempt_at = Some(at);
        let gone = match outcome {
            AttemptOutcome::Delivered { status } => {
                delivery.status = DeliveryStatus::Delivered;
                delivery.last_status = Some(*status);
                delivery.last_error = None;
                None
            }
            AttemptOutcome::Retry { status, error, next_attempt_at } => {
                delivery.last_status = *status;
                delivery.last_error = Some(error.clone());
                delivery.next_attempt_at = *next_attempt_at;
                None
            }
            AttemptOutcome::Failed { status, error } => {
                delivery.status = DeliveryStatus::Failed;
                delivery.last_status = *status;
                delivery.last_error = Some(error.clone());
                None
            }
            AttemptOutcome::Gone => Some(delivery.subscription_id),
        };
        if let Some(subscription_id) = gone {
            for (d, _) in access.deliveries.iter_mut().filter(|(d, _)| d.subscription_id == subscription_id) {
                if d.status == DeliveryStatus::Pending {
                    d.status = DeliveryStatus::Failed;
                    d.last_status = Some(410);
                    d.last_error = Some(crate::webhook::GONE_REASON.to_owned());
                }
            }
            if let Some(s) = access.subscriptions.iter_mut().find(|s| s.id == subscription_id) {
                s.disabled_at = Some(at);
                s.disabled_reason = Some(crate::webhook::GONE_REASON.to_owned());
            }
        }
        Ok(())
    }

    fn deliveries(&self, subscription: Option<i64>, limit: u32) -> Result<Vec<Delivery>, RepoError> {
        let state = self.lock();
        let all = state.access.deliveries.iter().rev().map(|(d, _)| d);
        Ok(all.filter(|d| subscription.is_none_or(|s| d.subscription_id == s)).take(limit as usize).cloned().collect())
    }
}
