//! The built `plan-api` binary, as operators and agents meet it.

mod lifecycle;
mod mcp;
mod schemathesis;
mod seed;
mod support;
