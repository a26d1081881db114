//! API tokens: making them, listing and revoking them, and checking a presented one.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use core_model::jiff::{SignedDuration, Timestamp};
use core_model::{
    ApiToken, BadAccessValue, Clock, NewToken, RepoError, Scope, TokenHash, TokenName, TokenRecord, TokenState,
    TokenStore,
};

use crate::{AdminError, ServiceError, run_blocking};

/// The longest expiry a token can be given, in days (ten years).
pub const MAX_EXPIRY_DAYS: u32 = 3650;

/// How often a token's `last_used_at` is written, at most, per process: a use is a read, and must not cost a write
/// each time.
const TOUCH_EVERY: SignedDuration = SignedDuration::from_secs(60);

/// Why a presented token was refused.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// It is not a token of this product (wrong shape), or no token has its hash.
    #[error("the token is not valid; ask the operator for one (plan-server token create)")]
    Unknown,
    /// It was revoked.
    #[error("the token {0} was revoked; ask the operator for a new one")]
    Revoked(TokenName),
    /// Its expiry has passed.
    #[error("the token {0} has expired; ask the operator for a new one")]
    Expired(TokenName),
    /// Storage failed, so the token could not be checked.
    #[error(transparent)]
    Storage(ServiceError),
}

/// The cookie a browser presents its token in, once signed in to the dashboard (the API accepts it on reads only).
pub const BROWSER_COOKIE: &str = "coach_plans_token";

/// The token use cases. Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Access {
    tokens: Arc<dyn TokenStore>,
    clock: Arc<dyn Clock>,
    touched: Arc<Mutex<HashMap<TokenHash, Timestamp>>>,
}

impl std::fmt::Debug for Access {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Access").finish_non_exhaustive()
    }
}

/// 32 bytes from the operating system's generator.
///
/// # Panics
/// When the operating system has no random source, which no supported system lacks.
pub(crate) fn random_bytes() -> [u8; 32] {
    let mut bytes = [0u8; 32];
    #[expect(clippy::expect_used, reason = "a system without a random source cannot make secrets at all")]
    getrandom::fill(&mut bytes).expect("the operating system's random generator");
    bytes
}

impl Access {
    /// The use cases over `tokens`.
    pub fn new(tokens: Arc<dyn TokenStore>, clock: Arc<dyn Clock>) -> Self {
        Self { tokens, clock, touched: Arc::default() }
    }

    /// Makes a token named `name` with `scope`, expiring after `expires_in_days` when given, and returns it: the only
    /// time it is seen in full.
    ///
    /// # Errors
    /// [`AdminError::Invalid`] for a bad name or expiry, [`AdminError::NameTaken`], storage failures.
    pub async fn create(
        &self,
        name: &str,
        scope: Scope,
        expires_in_days: Option<u32>,
    ) -> Result<(ApiToken, TokenRecord), AdminError> {
        let name = TokenName::parse(name)?;
        if let Some(days) = expires_in_days.filter(|d| *d == 0 || *d > MAX_EXPIRY_DAYS) {
            return Err(BadAccessValue(format!(
                "{days} is not an expiry; use a number of days from 1 to {MAX_EXPIRY_DAYS}, or none for no expiry"
            ))
            .into());
        }
        let token = ApiToken::from_random(random_bytes());
        let now = self.clock.now();
        let expires_at = expires_in_days.map(|d| now + SignedDuration::from_hours(24 * i64::from(d)));
        let new = NewToken { name: name.clone(), scope, hash: token.hash(), created_at: now, expires_at };
        let tokens = Arc::clone(&self.tokens);
        let stored = {
            let new = new.clone();
            run_blocking(move || tokens.create_token(&new)).await?
        };
        if !stored {
            return Err(AdminError::NameTaken(name));
        }
        let record = TokenRecord { name, scope, created_at: now, expires_at, last_used_at: None, revoked_at: None };
        Ok((token, record))
    }

    /// Every token, revoked ones too, oldest first.
    ///
    /// # Errors
    /// Storage failures.
    pub async fn list(&self) -> Result<Vec<TokenRecord>, AdminError> {
        let tokens = Arc::clone(&self.tokens);
        Ok(run_blocking(move || tokens.list_tokens()).await?)
    }

    /// Revokes the token named `name`: every process refuses it from its next request on.
    ///
    /// # Errors
    /// [`AdminError::UnknownToken`] when no active token has the name; storage failures.
    pub async fn revoke(&self, name: &str) -> Result<(), AdminError> {
        let name = TokenName::parse(name)?;
        let (tokens, at, key) = (Arc::clone(&self.tokens), self.clock.now(), name.clone());
        if run_blocking(move || tokens.revoke_token(&key, at)).await? {
            Ok(())
        } else {
            Err(AdminError::UnknownToken(name))
        }
    }

    /// Checks a presented token: it must be ours, known, not revoked and not expired. Looked up in storage on every
    /// call, so a revocation made by any process counts at once.
    ///
    /// # Errors
    /// [`AuthError`] says why it was refused.
    pub async fn authenticate(&self, presented: &str) -> Result<TokenRecord, AuthError> {
        let token = ApiToken::parse(presented).ok_or(AuthError::Unknown)?;
        let hash = token.hash();
        let tokens = Arc::clone(&self.tokens);
        let record = run_blocking(move || tokens.token_by_hash(&hash))
            .await
            .map_err(|e| AuthError::Storage(ServiceError::from_repo(e)))?
            .ok_or(AuthError::Unknown)?;
        let now = self.clock.now();
        match record.state(now) {
            TokenState::Revoked => return Err(AuthError::Revoked(record.name)),
            TokenState::Expired => return Err(AuthError::Expired(record.name)),
            TokenState::Active => {}
        }
        self.touch(hash, now);
        Ok(record)
    }

    /// Records a use of the token, at most once a minute per process, in the background: a failure to record it
    /// is logged and does not refuse the request.
    fn touch(&self, hash: TokenHash, now: Timestamp) {
        {
            let mut touched = self.touched.lock().unwrap_or_else(PoisonError::into_inner);
            if touched.get(&hash).is_some_and(|last| now.duration_since(*last) < TOUCH_EVERY) {
                return;
            }
            touched.insert(hash, now);
        }
        let tokens = Arc::clone(&self.tokens);
        tokio::task::spawn_blocking(move || {
            if let Err(error) = tokens.touch_token(&hash, now) {
                log_touch_failure(&error);
            }
        });
    }
}

fn log_touch_failure(error: &RepoError) {
    tracing::warn!(error = %error, "cannot record when a token was last used");
}
