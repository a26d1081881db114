//! The built `plan-api` binary, as operators and agents meet it.

mod lifecycle;
mod schemathesis;
mod support;
