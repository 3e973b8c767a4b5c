//! Built-in generalization hierarchies for frequency tables: time to hour, day, week or month, and
//! IP addresses to a network prefix.
//!
//! **Why.** A timestamp to the second or a full IP address makes nearly every cell a single
//! person; coarsened, they become the categories a usage statistic is about (visits per day, per
//! network). Coarsening happens before counting, so the raw value never reaches the table, and
//! it is a fixed, public function of each value: it adds no risk and needs no hierarchy file.
//! Timestamps with an offset are converted to UTC first, so that one instant always falls into
//! one hour, day, week and month.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::dates::parse_iso8601_ms;

/// How a column's values become cell keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Coarsening {
    /// The value as it is.
    None,
    /// `2026-11-01T13` (UTC).
    Hour,
    /// `2026-11-01` (UTC).
    Day,
    /// ISO 8601 week, `2026-W44` (weeks start on Monday; week 1 holds the year's first Thursday).
    Week,
    /// `2026-11`.
    Month,
    /// IPv4 to /24 (`192.0.2.0/24`), IPv6 to /48.
    Network24,
    /// IPv4 to /16 (`192.0.0.0/16`), IPv6 to /48.
    Network16,
}

/// Why a value could not be coarsened (the value itself is never part of the message).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoarsenError {
    /// The value is not an ISO 8601 date or timestamp.
    NotATimestamp,
    /// The value is not an IPv4 or IPv6 address.
    NotAnIpAddress,
}

impl std::fmt::Display for CoarsenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CoarsenError::NotATimestamp => {
                "expected an ISO 8601 date or timestamp (2026-11-01, 2026-11-01T13:05:00Z)"
            }
            CoarsenError::NotAnIpAddress => "expected an IPv4 or IPv6 address",
        })
    }
}

impl Coarsening {
    /// The cell key of one value.
    pub fn apply(self, value: &str) -> Result<String, CoarsenError> {
        match self {
            Coarsening::None => Ok(value.to_string()),
            Coarsening::Hour | Coarsening::Day | Coarsening::Week | Coarsening::Month => {
                let ms = parse_iso8601_ms(value).ok_or(CoarsenError::NotATimestamp)?;
                Ok(self.format_time(ms))
            }
            Coarsening::Network24 => network(value, 24),
            Coarsening::Network16 => network(value, 16),
        }
    }

    fn format_time(self, ms: i64) -> String {
        let days = ms.div_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        match self {
            Coarsening::Hour => {
                let hour = ms.rem_euclid(86_400_000) / 3_600_000;
                format!("{year:04}-{month:02}-{day:02}T{hour:02}")
            }
            Coarsening::Day => format!("{year:04}-{month:02}-{day:02}"),
            Coarsening::Week => {
                let (week_year, week) = iso_week(days);
                format!("{week_year:04}-W{week:02}")
            }
            _ => format!("{year:04}-{month:02}"),
        }
    }
}

/// The network prefix of an address: IPv4 to `/v4_prefix`, IPv6 to /48.
fn network(value: &str, v4_prefix: u32) -> Result<String, CoarsenError> {
    match value.trim().parse::<IpAddr>() {
        Ok(IpAddr::V4(address)) => {
            let mask = u32::MAX << (32 - v4_prefix);
            let base = std::net::Ipv4Addr::from(u32::from(address) & mask);
            Ok(format!("{base}/{v4_prefix}"))
        }
        Ok(IpAddr::V6(address)) => {
            let mask = u128::MAX << (128 - 48);
            let base = std::net::Ipv6Addr::from(u128::from(address) & mask);
            Ok(format!("{base}/48"))
        }
        Err(_) => Err(CoarsenError::NotAnIpAddress),
    }
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The ISO 8601 week-numbering year and week of a day count since 1970-01-01.
fn iso_week(days: i64) -> (i64, i64) {
    // 1970-01-01 was a Thursday; weekday 0 = Monday.
    let weekday = (days + 3).rem_euclid(7);
    // The week belongs to the year of its Thursday.
    let thursday = days - weekday + 3;
    let (year, _, _) = civil_from_days(thursday);
    let first_of_year = crate::dates::days_from_civil(year, 1, 1);
    (year, (thursday - first_of_year) / 7 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_coarsen_in_utc() {
        let at = "2026-11-01T13:05:09Z";
        assert_eq!(Coarsening::Hour.apply(at).unwrap(), "2026-11-01T13");
        assert_eq!(Coarsening::Day.apply(at).unwrap(), "2026-11-01");
        assert_eq!(Coarsening::Month.apply(at).unwrap(), "2026-11");
        // 00:30 at +02:00 is the evening before in UTC.
        assert_eq!(
            Coarsening::Day.apply("2026-11-01T00:30:00+02:00").unwrap(),
            "2026-10-31"
        );
        assert_eq!(Coarsening::Day.apply("2026-11-01").unwrap(), "2026-11-01");
        assert_eq!(
            Coarsening::Hour.apply("yesterday"),
            Err(CoarsenError::NotATimestamp)
        );
    }

    #[test]
    fn iso_weeks_follow_the_thursday_rule() {
        // 2026-01-01 is a Thursday: week 1 of 2026. 2027-01-01 is a Friday: week 53 of 2026.
        assert_eq!(Coarsening::Week.apply("2026-01-01").unwrap(), "2026-W01");
        assert_eq!(Coarsening::Week.apply("2025-12-29").unwrap(), "2026-W01");
        assert_eq!(Coarsening::Week.apply("2027-01-01").unwrap(), "2026-W53");
        assert_eq!(Coarsening::Week.apply("2027-01-04").unwrap(), "2027-W01");
        assert_eq!(Coarsening::Week.apply("2026-11-01").unwrap(), "2026-W44");
    }

    #[test]
    fn civil_dates_round_trip() {
        for days in [-719_468, -1, 0, 11_017, 20_758, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(crate::dates::days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn addresses_coarsen_to_networks() {
        assert_eq!(
            Coarsening::Network24.apply("192.0.2.77").unwrap(),
            "192.0.2.0/24"
        );
        assert_eq!(
            Coarsening::Network16.apply("192.0.2.77").unwrap(),
            "192.0.0.0/16"
        );
        assert_eq!(
            Coarsening::Network24
                .apply("2001:db8:1234:5678::1")
                .unwrap(),
            "2001:db8:1234::/48"
        );
        assert_eq!(
            Coarsening::Network16.apply("not an address"),
            Err(CoarsenError::NotAnIpAddress)
        );
        assert_eq!(Coarsening::None.apply("page/a").unwrap(), "page/a");
    }
}
