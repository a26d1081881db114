//! API tokens: what a token looks like, what it allows, and what is stored of it (its SHA-256 and a name, never the
//! token itself).
//!
//! A token is `cpt_` followed by 43 base62 characters (over 255 bits of randomness, drawn by the caller: this crate
//! does no I/O). Presented tokens are checked by hash: the store is asked for the record of the token's SHA-256, so
//! no stored secret is ever compared character by character.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::RepoError;

/// The prefix every token starts with, so that a token is recognisable in a configuration file or a secret scanner.
pub const TOKEN_PREFIX: &str = "cpt_";

/// Characters after the prefix.
const TOKEN_BODY_LEN: usize = 43;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Read plans, search, metrics, MCP.
    Read,
    /// Everything `read` may, and manage webhooks.
    Admin,
}

impl Scope {
    /// The name used in configuration, storage and answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Read => "read",
            Self::Admin => "admin",
        }
    }

    /// Whether a token of this scope may do what `needed` allows.
    pub fn allows(self, needed: Scope) -> bool {
        self >= needed
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Scope {
    type Err = BadAccessValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "read" => Ok(Self::Read),
            "admin" => Ok(Self::Admin),
            _ => Err(BadAccessValue(format!("{s:?} is not a scope; use read or admin"))),
        }
    }
}

/// A value of the access domain that does not parse; the message says what to use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadAccessValue(pub String);

/// A token's name, chosen by the operator: 1 to 64 letters, digits, `.`, `_` or `-`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TokenName(String);

impl TokenName {
    /// Reads a name.
    ///
    /// # Errors
    /// When it is empty, longer than 64 characters, or holds other characters.
    pub fn parse(name: &str) -> Result<Self, BadAccessValue> {
        let ok = !name.is_empty()
            && name.len() <= 64
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
        if ok {
            Ok(Self(name.to_owned()))
        } else {
            Err(BadAccessValue(format!(
                "{:?} is not a token name; use 1 to 64 letters, digits, '.', '_' or '-', e.g. trading-agent",
                name.chars().take(80).collect::<String>()
            )))
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TokenName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A token in full: shown once, when created, then only its [`TokenHash`] is kept. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiToken(String);

impl ApiToken {
    /// A new token from 32 random bytes (drawn by the caller from the operating system's generator): the prefix and
    /// 43 base62 characters.
    pub fn from_random(bytes: [u8; 32]) -> Self {
        // Base62 of the 256-bit number, most significant digit first, padded to a fixed length.
        let mut number = bytes;
        let mut digits = [0u8; TOKEN_BODY_LEN];
        for digit in digits.iter_mut().rev() {
            let mut remainder = 0u32;
            for byte in &mut number {
                let value = (remainder << 8) | u32::from(*byte);
                *byte = u8::try_from(value / 62).unwrap_or(u8::MAX);
                remainder = value % 62;
            }
            *digit = BASE62[remainder as usize];
        }
        let body: String = digits.iter().map(|&b| char::from(b)).collect();
        Self(format!("{TOKEN_PREFIX}{body}"))
    }

    /// Reads a presented token: the prefix, then at least 22 base62 characters (128 bits), at most 128.
    /// `None` when it does not have that shape (it is then no token of ours, and no lookup is made).
    pub fn parse(presented: &str) -> Option<Self> {
        let body = presented.strip_prefix(TOKEN_PREFIX)?;
        let ok = (22..=128).contains(&body.len()) && body.bytes().all(|b| b.is_ascii_alphanumeric());
        ok.then(|| Self(presented.to_owned()))
    }

    /// The token, to show once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its SHA-256, the only thing stored.
    pub fn hash(&self) -> TokenHash {
        TokenHash(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken([REDACTED])")
    }
}

/// The SHA-256 of a token.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// Lower-case hex, as stored.
    pub fn to_hex(&self) -> String {
        use fmt::Write as _;
        self.0.iter().fold(String::with_capacity(64), |mut out, b| {
            let _ = write!(out, "{b:02x}");
            out
        })
    }

    /// Reads lower-case hex.
    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(bytes))
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A hash is not the token, but there is no reason to print it either.
        f.write_str("TokenHash(..)")
    }
}

/// A token to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    /// Its name.
    pub name: TokenName,
    /// What it may do.
    pub scope: Scope,
    /// The SHA-256 of the token.
    pub hash: TokenHash,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it stops working, if ever.
    pub expires_at: Option<Timestamp>,
}

/// What is stored of a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRecord {
    /// Its name.
    pub name: TokenName,
    /// What it may do.
    pub scope: Scope,
    /// When it was made.
    pub created_at: Timestamp,
    /// When it stops working, if ever.
    pub expires_at: Option<Timestamp>,
    /// When it was last used (recorded at most once a minute per process).
    pub last_used_at: Option<Timestamp>,
    /// When it was revoked.
    pub revoked_at: Option<Timestamp>,
}

/// Whether a token works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenState {
    /// It works.
    Active,
    /// Its expiry has passed.
    Expired,
    /// It was revoked.
    Revoked,
}

impl TokenState {
    /// A word for lists.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Expired => "expired",
            Self::Revoked => "revoked",
        }
    }
}

impl TokenRecord {
    /// Whether the token works at `now`.
    pub fn state(&self, now: Timestamp) -> TokenState {
        if self.revoked_at.is_some() {
            TokenState::Revoked
        } else if self.expires_at.is_some_and(|at| at <= now) {
            TokenState::Expired
        } else {
            TokenState::Active
        }
    }
}

/// Storage of API tokens.
///
/// Contract (checked by [`crate::contract::run_access_cases`]):
/// - [`create_token`](Self::create_token) MUST refuse (`Ok(false)`) a name that a token not revoked has; a revoked
///   token's name may be used again.
/// - [`token_by_hash`](Self::token_by_hash) MUST find a token by its hash, revoked or not (the caller decides).
/// - [`revoke_token`](Self::revoke_token) MUST mark the token of that name not yet revoked, `Ok(false)` when there
///   is none; every process sees the revocation at its next lookup.
pub trait TokenStore: Send + Sync + 'static {
    /// Stores a new token.
    ///
    /// # Errors
    /// Storage failures only.
    fn create_token(&self, token: &NewToken) -> Result<bool, RepoError>;

    /// Every token, revoked ones too, oldest first.
    ///
    /// # Errors
    /// Storage failures only.
    fn list_tokens(&self) -> Result<Vec<TokenRecord>, RepoError>;

    /// Revokes the token named `name`.
    ///
    /// # Errors
    /// Storage failures only.
    fn revoke_token(&self, name: &TokenName, at: Timestamp) -> Result<bool, RepoError>;

    /// The token whose SHA-256 is `hash`.
    ///
    /// # Errors
    /// Storage failures only.
    fn token_by_hash(&self, hash: &TokenHash) -> Result<Option<TokenRecord>, RepoError>;

    /// Records that the token was used at `at`.
    ///
    /// # Errors
    /// Storage failures only.
    fn touch_token(&self, hash: &TokenHash, at: Timestamp) -> Result<(), RepoError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_the_prefix_and_fixed_length_base62() {
        for bytes in [[0u8; 32], [255u8; 32], [7u8; 32]] {
            let token = ApiToken::from_random(bytes);
            assert!(token.expose().starts_with("cpt_"));
            assert_eq!(token.expose().len(), 4 + 43);
            assert_eq!(ApiToken::parse(token.expose()), Some(token.clone()), "a made token parses");
        }
        assert_ne!(ApiToken::from_random([1; 32]), ApiToken::from_random([2; 32]));
    }

    #[test]
    fn only_our_shape_parses() {
        assert!(ApiToken::parse("cpt_short").is_none());
        assert!(ApiToken::parse("xyz_0123456789012345678901234").is_none());
        assert!(ApiToken::parse("cpt_01234567890123456789-1234").is_none());
        assert!(ApiToken::parse("cpt_0123456789012345678901").is_some(), "22 characters are 128 bits");
    }

    #[test]
    fn debug_never_shows_the_token() {
        let token = ApiToken::from_random([9; 32]);
        assert!(!format!("{token:?}").contains(&token.expose()[4..]));
    }

    #[test]
    fn hashes_round_trip_as_hex() {
        let hash = ApiToken::from_random([3; 32]).hash();
        assert_eq!(TokenHash::from_hex(&hash.to_hex()), Some(hash));
        assert_eq!(TokenHash::from_hex("zz"), None);
    }

    #[test]
    fn names_scopes_and_states() {
        assert!(TokenName::parse("trading-agent.1").is_ok());
        assert!(TokenName::parse("").is_err());
        assert!(TokenName::parse("has space").is_err());
        assert_eq!("ADMIN".parse::<Scope>(), Ok(Scope::Admin));
        assert!("write".parse::<Scope>().is_err());
        assert!(Scope::Admin.allows(Scope::Read) && !Scope::Read.allows(Scope::Admin));
        let now = Timestamp::from_second(1_000).unwrap();
        let mut record = TokenRecord {
            name: TokenName::parse("a").unwrap(),
            scope: Scope::Read,
            created_at: now,
            expires_at: Some(now),
            last_used_at: None,
            revoked_at: None,
        };
        assert_eq!(record.state(now), TokenState::Expired, "a token stops working at its expiry");
        record.expires_at = None;
        assert_eq!(record.state(now), TokenState::Active);
        record.revoked_at = Some(now);
        assert_eq!(record.state(now), TokenState::Revoked);
    }
}
