//! The emulator driven by the real twilight clients (gateway, HTTP, model 0.18) over loopback.

mod gateway;
mod misbehaving;
mod rest;
mod support;
