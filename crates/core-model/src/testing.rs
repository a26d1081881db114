//! What the test suites of every crate share (feature `testing`): a fixed instant, a clock the test moves, and the
//! people of the test desk.

use std::sync::{Mutex, PoisonError};

use jiff::{SignedDuration, Timestamp};

use crate::{Actor, Clock, RoleId, UserId};

/// 2025-11-10 03:30 UTC: still 2025-11-09 in New York, the default market time zone.
pub const NOW: &str = "2025-11-10T03:30:00Z";

/// Today in the default market time zone at [`NOW`].
pub const TODAY: &str = "2025-11-09";

/// Ann's user id.
pub const ANN: UserId = UserId(111);

/// Bob's user id.
pub const BOB: UserId = UserId(222);

/// The moderator's user id.
pub const MODERATOR: UserId = UserId(333);

/// The role that makes its members admins in the test policies.
pub const ADMIN_ROLE: RoleId = RoleId(77);

/// Ann, a coach without special rights.
pub fn ann() -> Actor {
    Actor::new(ANN, "Ann")
}

/// Bob, a second person without special rights.
pub fn bob() -> Actor {
    Actor::new(BOB, "Bob")
}

/// A moderator: an admin through [`ADMIN_ROLE`] (when the policy lists it), not by user id.
pub fn moderator() -> Actor {
    Actor { roles: vec![ADMIN_ROLE], ..Actor::new(MODERATOR, "Moderator") }
}

/// A clock that stands still until the test moves it.
#[derive(Debug)]
pub struct ManualClock(Mutex<Timestamp>);

impl ManualClock {
    /// A clock at `now` (RFC 3339).
    ///
    /// # Panics
    /// When `now` is not a timestamp.
    pub fn starting_at(now: &str) -> Self {
        #[expect(clippy::expect_used, reason = "a test's fixed instant")]
        Self(Mutex::new(now.parse().expect("an RFC 3339 timestamp")))
    }

    /// A clock at [`NOW`].
    pub fn at_now() -> Self {
        Self::starting_at(NOW)
    }

    /// Moves the clock by `seconds`.
    pub fn advance(&self, seconds: i64) {
        self.advance_by(SignedDuration::from_secs(seconds));
    }

    /// Moves the clock by `micros` microseconds.
    pub fn advance_micros(&self, micros: i64) {
        self.advance_by(SignedDuration::from_micros(micros));
    }

    /// Moves the clock by `duration`.
    ///
    /// # Panics
    /// When the time leaves the range of timestamps.
    pub fn advance_by(&self, duration: SignedDuration) {
        let mut now = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        #[expect(clippy::expect_used, reason = "a test moves the clock within the range of timestamps")]
        {
            *now = now.checked_add(duration).expect("a timestamp in range");
        }
    }

    /// Sets the clock.
    pub fn set(&self, to: Timestamp) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
