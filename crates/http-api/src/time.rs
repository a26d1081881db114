//! How timestamps are written in responses: UTC with exactly six fractional digits.

use core_model::jiff::Timestamp;

/// RFC 3339 UTC for the v1 routes, e.g. `2025-11-09T20:36:52.274074Z`.
pub(crate) fn rfc3339(ts: Timestamp) -> String {
    format!("{ts:.6}")
}

/// The legacy routes' form, e.g. `2025-11-09T20:36:52.274074+00:00`: an ISO 8601 timestamp that Python's
/// `datetime.fromisoformat` reads in every Python 3 version the predecessor's clients run on (a `Z` needs 3.11).
pub(crate) fn legacy(ts: Timestamp) -> String {
    let text = rfc3339(ts);
    format!("{}+00:00", text.trim_end_matches('Z'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_have_six_fractional_digits() {
        let ts = Timestamp::from_microsecond(1_762_720_612_000_000).unwrap();
        assert_eq!(rfc3339(ts), "2025-11-09T20:36:52.000000Z");
        assert_eq!(legacy(ts), "2025-11-09T20:36:52.000000+00:00");
        let ts: Timestamp = "2025-11-09T20:36:52.274074999Z".parse().unwrap();
        assert_eq!(rfc3339(ts), "2025-11-09T20:36:52.274074Z");
    }
}
