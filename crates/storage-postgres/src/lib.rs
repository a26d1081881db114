//! The PostgreSQL adapter of the coach-plans storage ports, for deployments where the bot and several API replicas
//! run on separate machines over one database server.
//!
//! [`PgStore`] implements [`core_model::PlanRepository`], [`core_model::PlanSearch`], [`core_model::StatusStore`] and
//! [`core_model::ChartImageStore`] over a pool of connections (the synchronous `postgres` client with r2d2, as the
//! ports are synchronous and run on the blocking pool; TLS with rustls). Reads run in one repeatable-read, read-only
//! transaction each, so a plan and its charts are one state; a change locks its plan's row (`FOR UPDATE`), so
//! concurrent changes of one plan take turns and none is lost; "one active plan per coach and date" is a partial
//! unique index, so two writers racing get one winner and [`core_model::RepoError::Duplicate`] for the other.
//!
//! The schema is the SQLite adapter's, step for step: numbered `.sql` files under `migrations/postgres/` with the
//! same numbers and names ([`migrations`]), applied by [`PgStore::open`] under an advisory lock, so that processes
//! starting together migrate once.
//!
//! Like every storage port, the store blocks: call it from a thread that may block (the service runs storage calls
//! on tokio's blocking pool), never from async code directly. [`PgStore::open`] and dropping the last clone of a
//! store may happen anywhere.

mod access;
mod batches;
mod error;
mod images;
pub mod migrations;
mod new_plan;
pub mod probe;
mod riders;
mod rows;
mod search;
mod store;
mod transfer;
mod url;
mod words;

pub use error::PgOpenError;
pub use migrations::SchemaStatus;
pub use store::{PgOptions, PgStore};
pub use url::{DatabaseUrl, UrlError};
