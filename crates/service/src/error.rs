//! What can go wrong in a use case, said so that the person who asked knows what to do.

use std::fmt;

use core_model::{BoxError, CoachId, DateError, RepoError, TextError, TradingDate, UnknownCoach};

/// An operation on a plan that needs the author's or an admin's rights. (Posting over a plan is not one of them: only
/// its author may, and everyone else, admins included, gets [`ServiceError::AlreadyPosted`].)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
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
            Self::Edit => "edit",
            Self::Delete => "delete",
            Self::Restore => "restore",
        })
    }
}

/// What someone held back by another author's active plan can do instead.
fn already_posted_advice(admin: bool, restoring: bool) -> &'static str {
    match (restoring, admin) {
        (true, _) => "the deleted plan can come back once that one is deleted (by its author or an admin)",
        (false, true) => "as an admin, edit it instead",
        (false, false) => "ask them or an admin to edit it",
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
    /// A plan's date too far ahead, or before the earliest date taken (a mistyped year, most likely).
    #[error(
        "a plan's date is from {earliest} to {latest} ({} days ahead); {date} is not: check its year",
        crate::MAX_DAYS_AHEAD
    )]
    DateOutOfRange {
        /// The date given.
        date: TradingDate,
        /// The earliest date taken.
        earliest: TradingDate,
        /// The latest date taken today.
        latest: TradingDate,
    },
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
    /// Another author's plan is active for that coach and date. Posting over it is refused for everyone, admins
    /// included; an admin is told to edit it instead, anyone else to ask its author or an admin; a deleted plan
    /// cannot be restored beside it. (A chat face adds the command to type, in its own syntax.)
    #[error(
        "coach {coach} already has a plan for {date}, posted by {author}; {}",
        already_posted_advice(*admin, *restoring)
    )]
    AlreadyPosted {
        /// The coach.
        coach: CoachId,
        /// The date.
        date: TradingDate,
        /// Its author's display name.
        author: String,
        /// Whether the refused user is an admin (who may edit that plan instead).
        admin: bool,
        /// Whether a restore was refused (rather than a post).
        restoring: bool,
    },
    /// An edit that would leave the plan as it is (the same text and charts): no new version is made.
    #[error("the plan of coach {coach} for {date} already says that (version {version}); nothing changed")]
    Unchanged {
        /// The coach.
        coach: CoachId,
        /// The date.
        date: TradingDate,
        /// Its version, still.
        version: u32,
    },
    /// The plan changed between reading and writing (an expected version did not match).
    #[error("the plan changed while this request was made (it is now at version {current}); read it again and retry")]
    Conflict {
        /// The version stored now.
        current: u32,
    },
    /// A search that cannot be run as asked (a range too long or backwards, a bad cursor or limit); the message
    /// says what to change.
    #[error("{0}")]
    InvalidSearch(String),
    /// Storage stayed locked by other writers for longer than the configured wait.
    #[error("storage is busy with other requests; try again in a few seconds")]
    Busy(#[source] RepoError),
    /// Storage cannot be written (full disk, read-only file); reads still work.
    #[error(
        "nothing was saved because the server's storage is full or read-only; plans can still be read; tell the \
         operator (the cause is in the server's log) and try again once it is fixed"
    )]
    Unwritable(#[source] RepoError),
    /// Storage cannot be reached (its server down or unreachable).
    #[error("the plans cannot be reached right now (the server's database is unavailable); try again in a minute")]
    Unavailable(#[source] RepoError),
    /// A failure the user can do nothing about.
    #[error("an unexpected error happened; it has been logged")]
    Unexpected(#[source] BoxError),
}

impl ServiceError {
    /// Whether the request itself was wrong (the user can fix it), as opposed to a failure on the server's side.
    pub fn is_user_error(&self) -> bool {
        !matches!(self, Self::Busy(_) | Self::Unwritable(_) | Self::Unavailable(_) | Self::Unexpected(_))
    }

    /// Translates a storage error that the use case did not handle itself.
    pub(crate) fn from_repo(err: RepoError) -> Self {
        match err {
            RepoError::Busy(_) => Self::Busy(err),
            RepoError::Unwritable(_) => Self::Unwritable(err),
            RepoError::Unavailable(_) => Self::Unavailable(err),
            RepoError::VersionConflict { current, .. } => Self::Conflict { current },
            other => Self::Unexpected(Box::new(other)),
        }
    }
}
