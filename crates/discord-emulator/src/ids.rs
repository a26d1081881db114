//! Typed Discord ids (snowflakes) and the generator of new ones.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds between the Unix epoch and the Discord epoch (2015-01-01T00:00:00Z).
pub(crate) const DISCORD_EPOCH_MS: u64 = 1_420_070_400_000;

macro_rules! snowflake {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u64);

        impl $name {
            /// The raw snowflake.
            #[must_use]
            pub const fn get(self) -> u64 {
                self.0
            }
        }

        impl From<u64> for $name {
            fn from(raw: u64) -> Self {
                Self(raw)
            }
        }

        impl From<$name> for u64 {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }
    };
}

snowflake!(
    /// A guild (server) id.
    GuildId
);
snowflake!(
    /// A channel id.
    ChannelId
);
snowflake!(
    /// A user id (people and bots alike).
    UserId
);
snowflake!(
    /// A guild role id.
    RoleId
);
snowflake!(
    /// A message id. Message ids grow with time, so they order messages.
    MessageId
);
snowflake!(
    /// An attachment id.
    AttachmentId
);
snowflake!(
    /// An interaction id (a slash command invoked, a modal submitted).
    InteractionId
);

/// Milliseconds since the Unix epoch, now.
pub(crate) fn unix_millis_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Hands out strictly increasing snowflakes whose timestamp part is the current time, like Discord's.
#[derive(Debug, Default)]
pub(crate) struct Snowflakes {
    last: u64,
}

impl Snowflakes {
    /// The next id: never equal to or lower than a previous one, even when the clock steps back.
    pub(crate) fn next(&mut self) -> u64 {
        let since_epoch = unix_millis_now().saturating_sub(DISCORD_EPOCH_MS);
        let candidate = since_epoch << 22;
        self.last = candidate.max(self.last + 1);
        self.last
    }
}

/// Unix milliseconds encoded in a snowflake.
pub(crate) fn snowflake_unix_millis(snowflake: u64) -> u64 {
    (snowflake >> 22) + DISCORD_EPOCH_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snowflakes_increase_and_carry_the_time() {
        let mut ids = Snowflakes::default();
        let first = ids.next();
        let second = ids.next();
        assert!(second > first);
        let millis = snowflake_unix_millis(second);
        assert!(millis.abs_diff(unix_millis_now()) < 10_000);
    }
}
