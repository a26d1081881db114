//! Integration tests of the HTTP API: the real app on port 0 over a temporary SQLite database per test.

mod auth;
mod cache;
mod charts;
mod helpers;
mod legacy;
mod logs;
mod middleware;
mod never_5xx;
mod ops;
mod python_client;
mod storage_failures;
mod v1;
