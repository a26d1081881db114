//! Who did something: Discord user ids, role ids, plan authors and acting users.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A Discord user id (snowflake). Identity is always the id, never a user name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct UserId(pub u64);

/// A Discord role id (snowflake).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RoleId(pub u64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for RoleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The person recorded on a plan or a history entry.
///
/// `user_id` is `None` only for records imported from the predecessor, which kept names and no ids;
/// such an author can be matched by no one but an admin.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Author {
    /// Discord user id, when known.
    pub user_id: Option<UserId>,
    /// Name shown to people at the time of writing.
    pub display_name: String,
}

/// The user asking for something: their id, the name to show, and their roles in the guild.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Discord user id.
    pub user_id: UserId,
    /// Name to show.
    pub display_name: String,
    /// Role ids the user holds where the request was made (empty outside a guild).
    pub roles: Vec<RoleId>,
}

impl Actor {
    /// An actor with no roles.
    pub fn new(user_id: UserId, display_name: impl Into<String>) -> Self {
        Self { user_id, display_name: display_name.into(), roles: Vec::new() }
    }

    /// The actor as it is recorded on a plan or history entry.
    pub fn as_author(&self) -> Author {
        Author { user_id: Some(self.user_id), display_name: self.display_name.clone() }
    }

    /// Whether this actor is the plan author `author` (by id; names never count).
    pub fn is(&self, author: &Author) -> bool {
        author.user_id == Some(self.user_id)
    }
}
