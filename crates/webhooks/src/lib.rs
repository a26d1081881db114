//! Delivers the webhook outbox of coach-plans.
//!
//! Storage writes a delivery for each subscriber in the transaction of the change it announces
//! ([`core_model::WebhookStore`]); the [`Worker`] of every long-running process claims due deliveries under a lease,
//! sends each as a POST signed as the Standard Webhooks specification says ([`sign`]), and records the outcome: a
//! 2xx answer delivers it, 410 Gone disables the subscription, anything else is retried with exponential backoff and
//! jitter until the configured time has passed. The same `webhook-id` goes with every attempt, so receivers drop
//! duplicates. Targets are reached only at public addresses ([`resolve`]), HTTPS only (plain HTTP to this machine
//! when the operator allows it, for tests and the sandbox).

mod resolve;
pub mod sign;
mod worker;

pub use worker::{DeliveryConfig, RenderPlan, Worker};
