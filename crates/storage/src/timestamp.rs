//! How timestamps are stored: UTC text of one fixed width with microseconds, so that text order is time order.

use jiff::Timestamp;

/// Drops everything below the microsecond, the precision storage keeps, so that a value handed back to the caller
/// equals the value read back later.
pub(crate) fn to_micros(ts: Timestamp) -> Timestamp {
    Timestamp::from_microsecond(ts.as_microsecond()).unwrap_or(ts)
}

/// The stored form, e.g. `2025-11-09T20:36:52.274074Z` (always six fractional digits).
pub(crate) fn to_text(ts: Timestamp) -> String {
    format!("{ts:.6}")
}

/// Reads the stored form back.
pub(crate) fn from_text(text: &str) -> Result<Timestamp, jiff::Error> {
    text.parse()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(micros: i64) -> Timestamp {
        Timestamp::from_microsecond(micros).unwrap()
    }

    #[test]
    fn stored_text_has_fixed_width_and_keeps_microseconds() {
        let cases = [
            (1_762_720_612_274_074, "2025-11-09T20:36:52.274074Z"),
            (1_762_720_612_000_000, "2025-11-09T20:36:52.000000Z"),
            (1_762_720_612_000_001, "2025-11-09T20:36:52.000001Z"),
            (0, "1970-01-01T00:00:00.000000Z"),
        ];
        for (micros, text) in cases {
            assert_eq!(to_text(ts(micros)), text);
            assert_eq!(from_text(text).unwrap(), ts(micros), "round trip of {text}");
        }
    }

    #[test]
    fn nanoseconds_are_dropped_not_rounded() {
        let precise = Timestamp::new(1_762_720_612, 274_074_999).unwrap();
        assert_eq!(to_text(precise), "2025-11-09T20:36:52.274074Z");
        assert_eq!(to_micros(precise), ts(1_762_720_612_274_074));
        assert_eq!(from_text(&to_text(precise)).unwrap(), to_micros(precise));
    }

    #[test]
    fn text_order_is_time_order() {
        let mut micros: Vec<i64> = vec![
            0,
            1,
            999_999,
            1_000_000,
            1_762_720_612_274_074,
            1_762_720_612_274_075,
            1_762_720_613_000_000,
            -1,
            -86_400_000_000,
            253_402_207_199_999_999, // the latest jiff supports, 9999-12-30T21:59:59.999999Z
            -62_135_596_800_000_000, // 0001-01-01T00:00:00Z
        ];
        // A spread of values across centuries, from a simple generator.
        let mut x: i64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..200 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            micros.push(x.rem_euclid(253_402_207_200_000_000));
        }
        let mut by_time = micros.clone();
        by_time.sort_unstable();
        let mut by_text: Vec<(String, i64)> = micros.iter().map(|m| (to_text(ts(*m)), *m)).collect();
        by_text.sort();
        assert!(by_text.iter().all(|(t, _)| t.len() == 27), "fixed width");
        assert_eq!(by_text.into_iter().map(|(_, m)| m).collect::<Vec<_>>(), by_time);
    }
}
