//! Integration tests of the SQLite store: the storage contract, concurrency across stores, migrations, atomic writes,
//! the legacy import, and locked or read-only databases. Every test uses its own temporary database file.

mod helpers;

mod atomicity;
mod checkpoint;
mod concurrency;
mod contract;
mod legacy;
mod riders;
mod robustness;
mod schema;
mod search;
