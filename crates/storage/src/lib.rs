//! The SQLite adapter of the coach-plans storage ports, its migrations, and the importer of the predecessor's database.
//!
//! [`SqliteStore`] implements [`core_model::PlanRepository`], [`core_model::PlanSearch`] and
//! [`core_model::StatusStore`] over a pool of
//! SQLite connections (WAL mode, so one writer and many readers, also across processes: the bot and the API may
//! open the same file). Every write is one `BEGIN IMMEDIATE` transaction, so a change reads and writes the plan
//! without another writer in between, and a failed write leaves nothing behind.
//!
//! The schema lives in numbered `.sql` files under `migrations/sqlite/` at the workspace root, embedded at build time
//! ([`migrations`]); [`SqliteStore::open`] applies the pending ones and refuses a database newer than the build.
//! [`legacy::import_legacy`] copies the predecessor's database into this schema; [`backup::backup`] takes an online,
//! consistent copy of a database in use.

mod access;
pub mod backup;
mod checkpoint;
mod error;
mod images;
pub mod legacy;
pub mod migrations;
pub mod probe;
mod riders;
mod rows;
mod search;
mod store;
mod timestamp;
mod transactions;
mod transfer;

pub use error::{FIX_PATH, FIX_WRITABLE, OpenError};
pub use migrations::{Migration, SchemaStatus};
pub use store::{PoolState, SqliteStore, StoreOptions};
