//! How timestamps are written for the faces (HTTP API, MCP): RFC 3339 UTC with six fractional digits, and the
//! predecessor's naive local time where its shapes are kept.

use jiff::Timestamp;

use crate::MarketTimeZone;

/// RFC 3339 UTC, e.g. `2025-11-09T20:36:52.274074Z`.
pub fn rfc3339(ts: Timestamp) -> String {
    format!("{ts:.6}")
}

/// The predecessor's form: local time in the market time zone, without an offset, as Python's
/// `datetime.isoformat()` writes it: `2025-11-09T15:36:52.274074`, and `2025-11-09T15:36:52` when the microseconds
/// are zero. Sub-microsecond digits are dropped.
pub fn legacy(ts: Timestamp, zone: &MarketTimeZone) -> String {
    let local = ts.to_zoned(zone.zone().clone()).datetime();
    let seconds = local.strftime("%Y-%m-%dT%H:%M:%S");
    match local.subsec_nanosecond() / 1000 {
        0 => seconds.to_string(),
        micros => format!("{seconds}.{micros:06}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check_legacy(utc: &str, zone: &str, expected: &str) {
        let ts: Timestamp = utc.parse().unwrap();
        assert_eq!(legacy(ts, &MarketTimeZone::new(zone).unwrap()), expected, "{utc} in {zone}");
    }

    #[test]
    fn v1_timestamps_have_six_fractional_digits() {
        let ts = Timestamp::from_microsecond(1_762_720_612_000_000).unwrap();
        assert_eq!(rfc3339(ts), "2025-11-09T20:36:52.000000Z");
        let ts: Timestamp = "2025-11-09T20:36:52.274074999Z".parse().unwrap();
        assert_eq!(rfc3339(ts), "2025-11-09T20:36:52.274074Z");
    }

    #[test]
    fn legacy_timestamps_are_naive_local_time_as_python_writes_it() {
        check_legacy("2025-11-10T01:36:52.274074Z", "America/New_York", "2025-11-09T20:36:52.274074");
        check_legacy("2025-11-10T01:36:52Z", "America/New_York", "2025-11-09T20:36:52");
        check_legacy("2025-11-10T01:36:52.000001Z", "America/New_York", "2025-11-09T20:36:52.000001");
        check_legacy("2025-11-10T01:36:52.1Z", "America/New_York", "2025-11-09T20:36:52.100000");
        check_legacy("2025-11-10T01:36:52.274074999Z", "America/New_York", "2025-11-09T20:36:52.274074");
        check_legacy("2025-07-01T13:00:00.5Z", "America/New_York", "2025-07-01T09:00:00.500000");
        check_legacy("2025-11-10T01:36:52Z", "UTC", "2025-11-10T01:36:52");
        check_legacy("2025-11-10T01:36:52Z", "Asia/Tokyo", "2025-11-10T10:36:52");
    }
}
