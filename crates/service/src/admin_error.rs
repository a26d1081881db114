//! What can go wrong managing tokens and webhooks, said so that the operator knows what to do.

use core_model::{BadAccessValue, RepoError, TokenName};

use crate::ServiceError;

/// Why a token or webhook operation failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A value that does not parse (a name, a scope, an event, a URL); the message says what to use.
    #[error(transparent)]
    Invalid(#[from] BadAccessValue),
    /// A token that is not revoked has this name.
    #[error("a token named {0} exists already; choose another name, or revoke it first (plan-server token revoke {0})")]
    NameTaken(TokenName),
    /// No token that is not revoked has this name.
    #[error("there is no active token named {0}; plan-server token list shows the tokens")]
    UnknownToken(TokenName),
    /// No subscription has this id.
    #[error("there is no webhook subscription {0}; plan-server webhook list shows the subscriptions")]
    UnknownSubscription(i64),
    /// Storage failed.
    #[error(transparent)]
    Storage(ServiceError),
}

impl From<RepoError> for AdminError {
    fn from(error: RepoError) -> Self {
        Self::Storage(ServiceError::from_repo(error))
    }
}
