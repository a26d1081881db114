//! Plan text: what a coach wrote, 1 to 4000 characters.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest plan text accepted, in characters (Unicode scalar values).
pub const MAX_PLAN_TEXT_CHARS: usize = 4000;

/// A plan's text, trimmed of surrounding white space, 1 to [`MAX_PLAN_TEXT_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PlanText(String);

impl PlanText {
    /// Validates plan text.
    ///
    /// # Errors
    /// [`TextError::Empty`] when nothing but white space is left, [`TextError::TooLong`] past 4000 characters.
    pub fn new(text: &str) -> Result<Self, TextError> {
        let trimmed = text.trim();
        // Characters that show nothing on their own (zero-width spaces and joiners, word joiners, a byte-order mark)
        // do not make a plan.
        let invisible = |c: char| c.is_whitespace() || matches!(c, '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}');
        if trimmed.chars().all(invisible) {
            return Err(TextError::Empty);
        }
        let chars = trimmed.chars().count();
        if chars > MAX_PLAN_TEXT_CHARS {
            return Err(TextError::TooLong { chars });
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PlanText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for PlanText {
    type Error = TextError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::new(&value)
    }
}

impl From<PlanText> for String {
    fn from(value: PlanText) -> Self {
        value.0
    }
}

/// Why a plan text is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// No text.
    #[error("the plan text is empty; write the plan after the coach (and date)")]
    Empty,
    /// Too long.
    #[error("the plan text has {chars} characters; the limit is {MAX_PLAN_TEXT_CHARS}, so shorten it or split it")]
    TooLong {
        /// How many characters were given.
        chars: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_bounds_text() {
        assert_eq!(PlanText::new("  Long NVDA above 950 \n").unwrap().as_str(), "Long NVDA above 950");
        assert_eq!(PlanText::new(" \n\t ").unwrap_err(), TextError::Empty);
        assert_eq!(PlanText::new("\u{200b}").unwrap_err(), TextError::Empty, "a zero-width space alone");
        assert_eq!(PlanText::new(" \u{feff}\u{200d} \u{2060}").unwrap_err(), TextError::Empty);
        assert_eq!(PlanText::new("a\u{200b}b").unwrap().as_str(), "a\u{200b}b", "kept inside text");
        assert!(PlanText::new(&"é".repeat(MAX_PLAN_TEXT_CHARS)).is_ok(), "the limit counts characters, not bytes");
        assert_eq!(
            PlanText::new(&"x".repeat(MAX_PLAN_TEXT_CHARS + 1)).unwrap_err(),
            TextError::TooLong { chars: MAX_PLAN_TEXT_CHARS + 1 }
        );
    }

    #[test]
    fn keeps_inner_lines_and_unicode() {
        let text = "Plan:\n- SPY 500 ↑ 🚀\n- ‏عربى\u{200d}";
        assert_eq!(PlanText::new(text).unwrap().as_str(), text);
    }
}
