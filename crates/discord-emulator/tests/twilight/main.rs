//! The emulator driven by the real twilight clients (gateway, HTTP, model 0.18) over loopback.

mod commands;
mod gateway;
mod interactions;
mod misbehaving;
mod rest;
mod support;
