//! Process-level tests of the built `plan-server`: the sandbox driven through standard input, `serve` stopping
//! cleanly under load, `doctor`, `init`, configuration errors, `migrate` and `import-legacy`, search, the MCP
//! server over stdio and HTTP, and `copy-db` between SQLite and PostgreSQL.

mod cli;
mod copy_db;
mod doctor;
mod init;
mod mcp;
mod operator;
mod sandbox;
mod search;
mod serve;
mod support;
