//! The coach-plans Discord bot: commands in through the twilight gateway, replies out through twilight's REST
//! client, over the service only.
//!
//! - [`command`]: the prefix grammar; [`slash`]: the slash commands (definitions, options, forms); [`handler`]:
//!   what each command does, over the service;
//!   [`format`] and [`split`]: replies for people, within Discord's limits.
//! - [`archive`]: copies of the images attached to plans, whose Discord links expire.
//! - [`bot`]: the runtime (gateway shard, channel workers, REST replies with [`retry`]).

pub mod archive;
pub mod bot;
pub mod catch_up;
pub mod command;
pub mod format;
pub mod handler;
pub mod probe;
pub mod retry;
pub mod session;
pub mod slash;
pub mod split;

pub(crate) use core_model::error_chain;
