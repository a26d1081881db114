//! What can go wrong in a use case, said so that the person who asked knows what to do.

use std::fmt;

use core_model::{BoxError, CoachId, DateError, RepoError, TextError, TradingDate, UnknownCoach};

/// An operation on a plan that needs the author's or an admin's rights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Post over an existing plan.
    Replace,
    /// Change the text or charts.
    Edit,
    /// Soft delete.
    Delete,
    /// Undo a delete.
    Restore,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Replace => "replace",
            Self::Edit => "edit",
            Self::Delete => "delete",
            Self::Restore => "restore",
        })
    }
}

fn charts(n: usize) -> String {
    if n == 1 { "1 chart".to_owned() } else { format!("{n} charts") }
}

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The coach is not on the roster.
    #[error(transparent)]
    UnknownCoach(#[from] UnknownCoach),
    /// A date that is not `YYYY-MM-DD`.
    #[error(transparent)]
    InvalidDate(#[from] DateError),
    /// Empty or too long plan text.
    #[error(transparent)]
    InvalidText(#[from] TextError),
    /// More charts than the configured cap.
    #[error("a plan can have at most {} and this one has {given}; remove {} and post again", charts(*max), given - max)]
    TooManyCharts {
        /// Charts given.
        given: usize,
        /// The cap.
        max: usize,
    },
    /// No active plan for the coach and date.
    #[error("there is no plan for coach {coach} on {date}")]
    NotFound {
        /// The coach.
        coach: CoachId,
        /// The date.
        date: TradingDate,
    },
    /// No deleted plan to restore.
    #[error("there is no deleted plan for coach {coach} on {date} to restore")]
    NothingToRestore {
        /// The coach.
        coach: CoachId,
        /// The date.
        date: TradingDate,
    },
    /// Someone other than the author (and not an admin) tried to change a plan.
    #[error("only {author} (who posted it) or an admin may {operation} the plan of coach {coach} for {date}")]
    Forbidden {
        /// What was attempted.
        operation: Operation,
        /// The coach.
        coach: CoachId,
        /// The date.
        date: TradingDate,
        /// The author's display name.
        author: String,
    },
    /// The coach is bound to other users.
    #[error("you are not one of the users allowed to post as coach {coach}; ask an admin to add you")]
    NotAPoster {
        /// The coach.
        coach: CoachId,
    },
    /// Another author's plan is active for that coach and date.
    #[error("coach {coach} already has a plan for {date}, posted by {author}; ask them or an admin to edit it")]
    AlreadyPosted {
        /// The coach.
        coach: CoachId,
        /// The date.
        date: TradingDate,
        /// Its author's display name.
        author: String,
    },
    /// The plan changed between reading and writing (an expected version did not match).
    #[error("the plan changed while this request was made (it is now at version {current}); read it again and retry")]
    Conflict {
        /// The version stored now.
        current: u32,
    },
    /// Storage stayed locked too long.
    #[error("storage is busy; try again in a moment")]
    Busy(#[source] RepoError),
    /// Storage cannot be written; reads still work.
    #[error("storage cannot be written right now (the disk may be full or read-only); plans can still be read")]
    Unwritable(#[source] RepoError),
    /// A failure the user can do nothing about.
    #[error("an unexpected error happened; it has been logged")]
    Unexpected(#[source] BoxError),
}

impl ServiceError {
    /// Whether the request itself was wrong (the user can fix it), as opposed to a failure on the server's side.
    pub fn is_user_error(&self) -> bool {
        !matches!(self, Self::Busy(_) | Self::Unwritable(_) | Self::Unexpected(_))
    }

    /// Translates a storage error that the use case did not handle itself.
    pub(crate) fn from_repo(err: RepoError) -> Self {
        match err {
            RepoError::Busy(_) => Self::Busy(err),
            RepoError::Unwritable(_) => Self::Unwritable(err),
            RepoError::VersionConflict { current, .. } => Self::Conflict { current },
            other => Self::Unexpected(Box::new(other)),
        }
    }
}
