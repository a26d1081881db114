//! The bot end to end: the real twilight clients against the local Discord emulator, a real SQLite store.

mod archive;
mod commands;
mod edges;
mod faults;
mod helpers;
mod restarts;
mod security;
mod slash;
