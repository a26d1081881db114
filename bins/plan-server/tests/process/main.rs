//! Process-level tests of the built `plan-server`: the sandbox driven through standard input, `serve` stopping
//! cleanly under load, `doctor`, `init`, configuration errors, `migrate` and `import-legacy`, search, and the MCP
//! server over stdio and HTTP.

mod cli;
mod doctor;
mod init;
mod mcp;
mod operator;
mod sandbox;
mod search;
mod serve;
mod support;
