//! Integration tests of the SQLite store: the storage contract, concurrency across stores, migrations, atomic writes
//! and the legacy import. Every test uses its own temporary database file.

mod helpers;

mod atomicity;
mod concurrency;
mod contract;
mod legacy;
mod schema;
