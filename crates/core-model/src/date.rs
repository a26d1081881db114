//! Trading dates, and "today" in the market's time zone.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

/// A calendar date on which plans are made, written `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TradingDate(Date);

impl TradingDate {
    /// Whether `word` has the shape of a date, `DDDD-DD-DD`: such a word is read as a date (and refused when it is
    /// not a real one) rather than as anything else, such as a ticker or the start of a plan's text.
    pub fn is_date_shaped(word: &str) -> bool {
        let b = word.as_bytes();
        b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
    }

    /// Parses exactly `YYYY-MM-DD` (four-digit year, two-digit month and day, a real calendar date).
    ///
    /// # Errors
    /// [`DateError`] for any other text, including `2025-1-5`, `20250105` and `2025-02-30`.
    pub fn parse(input: &str) -> Result<Self, DateError> {
        let bad = || DateError { given: input.chars().take(40).collect() };
        let bytes = input.as_bytes();
        let shape_ok = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes.iter().enumerate().all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        if !shape_ok {
            return Err(bad());
        }
        let year: i16 = input[0..4].parse().map_err(|_| bad())?;
        let month: i8 = input[5..7].parse().map_err(|_| bad())?;
        let day: i8 = input[8..10].parse().map_err(|_| bad())?;
        if year < 1 {
            return Err(bad());
        }
        Date::new(year, month, day).map(Self).map_err(|_| bad())
    }

    /// The date of `now` in the market time zone.
    pub fn today_in(now: Timestamp, zone: &MarketTimeZone) -> Self {
        Self(now.to_zoned(zone.0.clone()).date())
    }

    /// The underlying calendar date.
    pub fn date(self) -> Date {
        self.0
    }

    /// Wraps a calendar date.
    pub fn from_date(date: Date) -> Self {
        Self(date)
    }
}

impl fmt::Display for TradingDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.0.year(), self.0.month(), self.0.day())
    }
}

impl FromStr for TradingDate {
    type Err = DateError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for TradingDate {
    type Error = DateError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<TradingDate> for String {
    fn from(value: TradingDate) -> Self {
        value.to_string()
    }
}

/// Text that is not a `YYYY-MM-DD` date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{given}` is not a date; write it as YYYY-MM-DD, e.g. 2025-11-09")]
pub struct DateError {
    /// What was given (at most 40 characters of it).
    pub given: String,
}

/// The IANA time zone in which "today" is computed (default `America/New_York`).
#[derive(Debug, Clone, PartialEq)]
pub struct MarketTimeZone(TimeZone);

impl MarketTimeZone {
    /// Looks a zone up by its IANA name, e.g. `America/New_York` or `UTC`.
    ///
    /// # Errors
    /// [`UnknownTimeZone`] when the name is not in the time zone database.
    pub fn new(name: &str) -> Result<Self, UnknownTimeZone> {
        TimeZone::get(name).map(Self).map_err(|_| UnknownTimeZone { given: name.chars().take(60).collect() })
    }

    /// The zone itself.
    pub fn zone(&self) -> &TimeZone {
        &self.0
    }

    /// The zone's IANA name.
    pub fn name(&self) -> &str {
        self.0.iana_name().unwrap_or("UTC")
    }
}

impl Default for MarketTimeZone {
    fn default() -> Self {
        Self::new("America/New_York").unwrap_or_else(|_| Self(TimeZone::UTC))
    }
}

/// A time zone name that is not in the IANA database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{given}` is not an IANA time zone; use a name such as America/New_York, Europe/London or UTC")]
pub struct UnknownTimeZone {
    /// What was given.
    pub given: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(input: &str, ok: bool) {
        assert_eq!(TradingDate::parse(input).is_ok(), ok, "input {input:?}");
        if ok {
            assert_eq!(TradingDate::parse(input).unwrap().to_string(), input);
        }
    }

    #[test]
    fn parses_only_real_iso_dates() {
        check("2025-11-09", true);
        check("2024-02-29", true);
        check("0001-01-01", true);
        check("2025-02-29", false);
        check("2025-13-01", false);
        check("2025-1-05", false);
        check("20251109", false);
        check("2025-11-09T00:00", false);
        check(" 2025-11-09", false);
        check("2025/11/09", false);
        check("2025-11-0٩", false);
        check("0000-01-01", false);
        check("", false);
        check("20", false);
    }

    #[test]
    fn bad_date_error_says_what_to_write() {
        let err = TradingDate::parse("tomorrow").unwrap_err();
        assert_eq!(err.to_string(), "`tomorrow` is not a date; write it as YYYY-MM-DD, e.g. 2025-11-09");
    }

    #[test]
    fn today_is_computed_in_the_market_zone_not_utc() {
        // 2025-11-10 03:30 UTC is still 2025-11-09 in New York (UTC-5).
        let now: Timestamp = "2025-11-10T03:30:00Z".parse().unwrap();
        let ny = MarketTimeZone::new("America/New_York").unwrap();
        assert_eq!(TradingDate::today_in(now, &ny).to_string(), "2025-11-09");
        let tokyo = MarketTimeZone::new("Asia/Tokyo").unwrap();
        assert_eq!(TradingDate::today_in(now, &tokyo).to_string(), "2025-11-10");
    }

    #[test]
    fn unknown_zone_is_a_clear_error() {
        let err = MarketTimeZone::new("Mars/Olympus").unwrap_err();
        assert!(err.to_string().contains("America/New_York"), "{err}");
        assert_eq!(MarketTimeZone::default().name(), "America/New_York");
    }
}
