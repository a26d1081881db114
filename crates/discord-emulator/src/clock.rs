//! Discord-style timestamps (`2026-01-02T03:04:05.678000+00:00`), written without a date library.

/// Formats Unix milliseconds as Discord does; twilight-model rejects a trailing `Z`, so the offset is `+00:00`.
pub(crate) fn format_timestamp(unix_millis: u64) -> String {
    let secs = unix_millis / 1000;
    let micros = (unix_millis % 1000) * 1000;
    let days = i64::try_from(secs / 86_400).unwrap_or(i64::MAX / 2);
    let second_of_day = secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{micros:06}+00:00",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day) (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, u32::try_from(month).unwrap_or(1), u32::try_from(day).unwrap_or(1))
}

#[cfg(test)]
mod tests {
    use super::format_timestamp;

    #[track_caller]
    fn check(unix_millis: u64, expected: &str) {
        assert_eq!(format_timestamp(unix_millis), expected);
    }

    #[test]
    fn formats_known_instants() {
        check(0, "1970-01-01T00:00:00.000000+00:00");
        check(951_782_400_000, "2000-02-29T00:00:00.000000+00:00");
        check(1_700_000_000_123, "2023-11-14T22:13:20.123000+00:00");
        check(1_735_689_599_999, "2024-12-31T23:59:59.999000+00:00");
    }
}
