//! The bot's runtime: one gateway shard (twilight), a REST client (twilight-http) for replies, and a worker per
//! channel so that commands of a channel are handled in order while the shard keeps being polled (a shard that is
//! not polled misses its heartbeats).
//!
//! One concern per file: `config.rs` (the token, the configuration, the errors), `rest.rs` (the REST client, its
//! pacing and which failures are worth a retry), `gateway.rs` (the shard and the loop over its events: session and
//! channel bookkeeping, dispatch to the workers, shutdown), `worker.rs` (a channel's worker: commands in order,
//! catch-up, replies and their retries), `interactions.rs` (slash commands and forms, answered through the interaction
//! endpoints), `register.rs` (the slash commands registered with Discord when they changed), `spans.rs` (the root
//! span of each event), `convert.rs` (twilight's messages as the handler sees them).

mod config;
mod convert;
mod gateway;
mod interactions;
mod register;
mod rest;
mod spans;
mod worker;

pub use config::{BotConfig, BotError, BotToken, RequestedIntent, intents};
pub use gateway::run;
pub use rest::{Pacing, http_client, pacing_for};
