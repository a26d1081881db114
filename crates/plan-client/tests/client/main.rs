//! Integration tests of plan-client: against the real plan-api app on port 0 over a temporary SQLite database, and
//! against a local fault server that answers as each test scripts it.

mod fault_server;
mod faults;
mod real_api;
mod search;
mod support;

#[cfg(feature = "blocking")]
mod blocking;
