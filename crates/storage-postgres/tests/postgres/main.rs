//! Integration tests of the PostgreSQL store against the test run's server (`cargo xtask ci` starts a private one):
//! the storage contract, concurrency across stores, atomic writes, migrations, errors and the password. Every test
//! uses a database of its own. Without a server (`cargo test` alone) they check nothing and say so.

mod helpers;

mod atomicity;
mod concurrency;
mod contract;
mod riders;
mod schema;
mod tls;
