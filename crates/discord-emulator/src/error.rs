//! The emulator's error type.

use std::time::Duration;

use crate::ids::{ChannelId, InteractionId, MessageId, UserId};

/// What can go wrong when driving the emulator from a test or the sandbox.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    /// A listener could not be bound on 127.0.0.1.
    #[error("failed to bind the {listener} listener on 127.0.0.1")]
    Bind {
        /// `gateway` or `rest`.
        listener: &'static str,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The channel is not part of the configuration.
    #[error("unknown channel {0}")]
    UnknownChannel(ChannelId),
    /// The user is neither a configured user nor the bot.
    #[error("unknown user {0}")]
    UnknownUser(UserId),
    /// The message does not exist in that channel (never posted, or deleted).
    #[error("unknown message {message} in channel {channel}")]
    UnknownMessage {
        /// The channel looked in.
        channel: ChannelId,
        /// The missing message.
        message: MessageId,
    },
    /// No application command of that name is registered where the user invokes it (in the channel's guild or
    /// globally): Discord's client would not offer it.
    #[error("no command /{0} is registered for this guild or globally")]
    UnknownCommand(String),
    /// A command's options are not what its registered definition accepts (Discord's client would not send them).
    #[error("/{command}: {problem}")]
    InvalidOptions {
        /// The command.
        command: String,
        /// What is wrong, e.g. "option `coach` is required".
        problem: String,
    },
    /// The interaction does not exist, or is not in the state the call needs (e.g. no modal was opened for it).
    #[error("interaction {id}: {problem}")]
    Interaction {
        /// The interaction.
        id: InteractionId,
        /// What is wrong.
        problem: String,
    },
    /// A wait ended before its condition held.
    #[error("timed out after {timeout:?} waiting for {what}")]
    Timeout {
        /// What was awaited, with the last observed value.
        what: String,
        /// The time allowed.
        timeout: Duration,
    },
    /// The emulator was shut down while waiting.
    #[error("the emulator has shut down")]
    ShutDown,
}
