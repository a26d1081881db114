//! Process-level tests of the built `plan-server`: the sandbox driven through standard input, `serve` stopping
//! cleanly under load, `doctor`, `init`, configuration errors, `migrate` and `import-legacy`, search, the MCP
//! server over stdio and HTTP, `copy-db` between SQLite and PostgreSQL, API tokens with the predecessor's Python
//! client, webhooks verified by the Standard Webhooks library through outages and a killed server, and the dashboard
//! in headless Chromium.

mod api_auth;
mod cli;
mod copy_db;
mod dashboard;
mod doctor;
mod init;
mod mcp;
mod operator;
mod sandbox;
mod search;
mod serve;
mod support;
mod webhooks;
