//! Coaches: the short ids that name them, and the roster that says which exist.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest coach id accepted, in characters.
pub const MAX_COACH_ID_LEN: usize = 16;

/// A coach's short id, such as `d`: lowercase ASCII letters, digits, `-` or `_`, 1 to 16 characters.
///
/// A `CoachId` only says the id is well formed; whether the coach exists is the [`Roster`]'s business.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CoachId(String);

impl CoachId {
    /// Parses an id in its canonical form (`d`), case-insensitively.
    ///
    /// # Errors
    /// Fails when the id is empty, too long, or has a character other than letters, digits, `-` or `_`.
    pub fn new(id: &str) -> Result<Self, CoachIdError> {
        let id = id.trim();
        if id.is_empty() {
            return Err(CoachIdError::Empty);
        }
        if id.chars().count() > MAX_COACH_ID_LEN {
            return Err(CoachIdError::TooLong(id.chars().take(MAX_COACH_ID_LEN).collect()));
        }
        if !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(CoachIdError::BadCharacter(id.to_owned()));
        }
        Ok(Self(id.to_ascii_lowercase()))
    }

    /// The id as text, e.g. `d`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The predecessor's name for the coach, e.g. `coach_d`, used by the legacy HTTP routes and database.
    pub fn legacy_name(&self) -> String {
        format!("coach_{}", self.0)
    }
}

impl fmt::Display for CoachId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CoachId {
    type Error = CoachIdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<CoachId> for String {
    fn from(value: CoachId) -> Self {
        value.0
    }
}

/// Why a coach id is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CoachIdError {
    /// Nothing was given.
    #[error("the coach id is empty")]
    Empty,
    /// More than [`MAX_COACH_ID_LEN`] characters.
    #[error("the coach id `{0}...` is longer than {MAX_COACH_ID_LEN} characters")]
    TooLong(String),
    /// A character outside letters, digits, `-` and `_`.
    #[error("the coach id `{0}` may only contain letters, digits, `-` and `_`")]
    BadCharacter(String),
}

/// One coach of the roster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coach {
    /// Short id, e.g. `d`.
    pub id: CoachId,
    /// Name shown to people, e.g. `Day Trading`.
    pub name: String,
}

/// The configured coaches. Turns what a user typed (`d`, `D`, `d:`, `coach_d`) into a known [`CoachId`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roster {
    coaches: Vec<Coach>,
}

impl Roster {
    /// Builds a roster from its coaches, in the order they should be listed.
    ///
    /// # Errors
    /// Fails when the list is empty or names the same id twice.
    pub fn new(coaches: Vec<Coach>) -> Result<Self, RosterError> {
        if coaches.is_empty() {
            return Err(RosterError::Empty);
        }
        for (i, coach) in coaches.iter().enumerate() {
            if coaches[..i].iter().any(|c| c.id == coach.id) {
                return Err(RosterError::Duplicate(coach.id.clone()));
            }
        }
        for coach in &coaches {
            if let Some(rest) = coach.id.as_str().strip_prefix("coach_") {
                return Err(RosterError::Alias(coach.id.clone(), rest.to_owned()));
            }
        }
        Ok(Self { coaches })
    }

    /// The coaches, in roster order.
    pub fn coaches(&self) -> &[Coach] {
        &self.coaches
    }

    /// The coach with this id, if it is on the roster.
    pub fn get(&self, id: &CoachId) -> Option<&Coach> {
        self.coaches.iter().find(|c| &c.id == id)
    }

    /// The display name of a coach, or its id when it is not on the roster (e.g. an imported plan of a retired coach).
    pub fn display_name(&self, id: &CoachId) -> String {
        self.get(id).map_or_else(|| id.to_string(), |c| c.name.clone())
    }

    /// Parses user input naming a coach: `d`, `D`, `d:` and `coach_d` all name coach `d`.
    ///
    /// # Errors
    /// [`UnknownCoach`] when the input names no coach of the roster; its message lists the valid ones.
    pub fn parse(&self, input: &str) -> Result<CoachId, UnknownCoach> {
        let trimmed = input.trim();
        let without_colon = trimmed.strip_suffix(':').unwrap_or(trimmed);
        let lower = without_colon.to_ascii_lowercase();
        let bare = lower.strip_prefix("coach_").unwrap_or(&lower);
        CoachId::new(bare).ok().filter(|id| self.get(id).is_some()).ok_or_else(|| UnknownCoach {
            given: trimmed.chars().take(40).collect(),
            valid: self.coaches.iter().map(|c| c.id.clone()).collect(),
        })
    }

    /// The valid ids as a human list: `d (Day Trading), i (Intraday)`.
    pub fn describe(&self) -> String {
        self.coaches.iter().map(|c| format!("{} ({})", c.id, c.name)).collect::<Vec<_>>().join(", ")
    }
}

impl Default for Roster {
    /// The default roster: `d` Day Trading, `i` Intraday, `s` Swing, `n` News/Events.
    fn default() -> Self {
        let coach = |id: &str, name: &str| Coach { id: CoachId(id.to_owned()), name: name.to_owned() };
        Self {
            coaches: vec![
                coach("d", "Day Trading"),
                coach("i", "Intraday"),
                coach("s", "Swing"),
                coach("n", "News/Events"),
            ],
        }
    }
}

/// A coach name that is not on the roster.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown coach `{given}`; valid coaches are: {}", list_ids(.valid))]
pub struct UnknownCoach {
    /// What the user typed (at most 40 characters of it).
    pub given: String,
    /// The roster's ids.
    pub valid: Vec<CoachId>,
}

fn list_ids(ids: &[CoachId]) -> String {
    ids.iter().map(CoachId::as_str).collect::<Vec<_>>().join(", ")
}

/// Why a roster cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RosterError {
    /// No coach at all.
    #[error("the coach roster is empty; configure at least one coach")]
    Empty,
    /// The same id twice.
    #[error("coach `{0}` appears twice in the roster")]
    Duplicate(CoachId),
    /// An id starting with `coach_`, the predecessor's prefix, which every reader strips from what is typed: typed,
    /// `coach_x` would name `x`.
    #[error("coach `{0}` starts with coach_, the prefix of the predecessor's names, which is read as `{1}`")]
    Alias(CoachId, String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, expected: Option<&str>) {
        let roster = Roster::default();
        let got = roster.parse(input).ok();
        assert_eq!(got.as_ref().map(CoachId::as_str), expected, "input {input:?}");
    }

    #[test]
    fn accepts_every_documented_coach_form() {
        check("d", Some("d"));
        check("D", Some("d"));
        check("d:", Some("d"));
        check("D:", Some("d"));
        check("coach_d", Some("d"));
        check("COACH_S", Some("s"));
        check("coach_n:", Some("n"));
        check("  i  ", Some("i"));
    }

    #[test]
    fn rejects_what_is_not_a_coach() {
        check("x", None);
        check("", None);
        check(":", None);
        check("coach_", None);
        check("dd", None);
        check("d::", None);
        check("coach_coach_d", None);
        check("д", None);
    }

    #[test]
    fn unknown_coach_lists_the_valid_ones() {
        let err = Roster::default().parse("z").unwrap_err();
        assert_eq!(err.to_string(), "unknown coach `z`; valid coaches are: d, i, s, n");
    }

    #[test]
    fn roster_refuses_duplicates_and_emptiness() {
        let d = Coach { id: CoachId::new("d").unwrap(), name: "A".into() };
        assert_eq!(Roster::new(vec![d.clone(), d.clone()]), Err(RosterError::Duplicate(d.id.clone())));
        assert_eq!(Roster::new(vec![]), Err(RosterError::Empty));
        let alias = Coach { id: CoachId::new("coach_d").unwrap(), name: "B".into() };
        assert_eq!(Roster::new(vec![d.clone(), alias.clone()]), Err(RosterError::Alias(alias.id.clone(), "d".into())));
        let lone = Coach { id: CoachId::new("coach_x").unwrap(), name: "X".into() };
        assert_eq!(Roster::new(vec![lone.clone()]), Err(RosterError::Alias(lone.id, "x".into())));
    }

    #[test]
    fn coach_id_is_normalised_and_checked() {
        assert_eq!(CoachId::new("Swing_2").unwrap().as_str(), "swing_2");
        assert_eq!(CoachId::new("").unwrap_err(), CoachIdError::Empty);
        assert!(matches!(CoachId::new("a b"), Err(CoachIdError::BadCharacter(_))));
        assert!(matches!(CoachId::new(&"a".repeat(17)), Err(CoachIdError::TooLong(_))));
        assert_eq!(CoachId::new("d").unwrap().legacy_name(), "coach_d");
    }
}
