//! Built-in generalization hierarchies for frequency tables: time to hour, day, week or month, and
//! IP addresses to a network prefix.
//!
//! **Why.** A timestamp to the second or a full IP address makes nearly every cell a single
//! person; coarsened, they become the categories a usage statistic is about (visits per day, per
//! network). Coarsening happens before counting, so the raw value never reaches the table, and
//! it is a fixed, public function of each value: it adds no risk and needs no hierarchy file.
//! Times are instants, put on a local clock ([`LocalClock`]) before they are cut: by default a
//! table's timestamps in UTC and a log line's time at the offset the server wrote on it, or, with
//! `--timezone`, in an IANA time zone with its daylight-saving rules (the tz database bundled
//! with `chrono-tz`), so that a visit at 23:30 local time counts toward its local day.

use std::net::IpAddr;

use chrono::{Offset, TimeZone};

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

/// Where local times come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// A log line's own offset (the server's clock); a table's timestamps in UTC.
    Written,
    /// An IANA time zone, daylight saving included.
    Zone(chrono_tz::Tz),
}

impl Clock {
    /// The clock of `--timezone NAME` (an IANA name such as `Europe/Paris`, or `UTC`).
    pub fn named(name: &str) -> Result<Clock, String> {
        name.parse::<chrono_tz::Tz>().map(Clock::Zone).map_err(|_| {
            format!("`{name}` is not an IANA time zone; use a name such as Europe/Paris or UTC")
        })
    }

    /// The clock in words, for the report and datasheet; `log` says whether the input is a log.
    pub fn describe(self, log: bool) -> String {
        match (self, log) {
            (Clock::Zone(zone), _) => format!("{} (daylight saving included)", zone.name()),
            (Clock::Written, true) => {
                "server time: the UTC offset written on each log line".to_string()
            }
            (Clock::Written, false) => "UTC".to_string(),
        }
    }
}

/// A [`Clock`] with a one-hour cache: no time zone changes its offset twice within an hour, so an
/// offset that is the same at both ends of a UTC hour holds for all of it, and logs, being in time
/// order, mostly ask about the same hour again.
#[derive(Debug, Clone)]
pub struct LocalClock {
    clock: Clock,
    cached: Option<(i64, i32)>,
}

impl LocalClock {
    /// A clock with an empty cache.
    pub fn new(clock: Clock) -> Self {
        LocalClock {
            clock,
            cached: None,
        }
    }

    /// Local seconds since 1970-01-01T00:00:00 of the instant `utc` (seconds), written with
    /// `written` seconds of offset.
    pub fn local_seconds(&mut self, utc: i64, written: i32) -> i64 {
        let Clock::Zone(zone) = self.clock else {
            return utc + i64::from(written);
        };
        let hour = utc.div_euclid(3600);
        if let Some((cached_hour, offset)) = self.cached {
            if cached_hour == hour {
                return utc + i64::from(offset);
            }
        }
        let offset_at = |seconds: i64| {
            zone.timestamp_opt(seconds, 0)
                .single()
                .map_or(0, |time| time.offset().fix().local_minus_utc())
        };
        let (start, end) = (offset_at(hour * 3600), offset_at(hour * 3600 + 3599));
        if start == end {
            self.cached = Some((hour, start));
            utc + i64::from(start)
        } else {
            utc + i64::from(offset_at(utc))
        }
    }
}

impl Coarsening {
    /// Its name in the report (as `--by` spells it after the colon, networks as `network24`).
    pub fn name(self) -> &'static str {
        match self {
            Coarsening::None => "none",
            Coarsening::Hour => "hour",
            Coarsening::Day => "day",
            Coarsening::Week => "week",
            Coarsening::Month => "month",
            Coarsening::Network24 => "network24",
            Coarsening::Network16 => "network16",
        }
    }

    /// Whether it cuts times.
    pub fn is_time(self) -> bool {
        matches!(
            self,
            Coarsening::Hour | Coarsening::Day | Coarsening::Week | Coarsening::Month
        )
    }

    /// Whether it cuts addresses.
    pub fn is_network(self) -> bool {
        matches!(self, Coarsening::Network24 | Coarsening::Network16)
    }

    /// The cell key of one value, times in UTC (for tests: readers use [`Coarsening::apply_on`]
    /// with their clock).
    #[cfg(test)]
    pub fn apply(self, value: &str) -> Result<String, CoarsenError> {
        self.apply_on(value, &mut LocalClock::new(Clock::Written))
    }

    /// The cell key of one value, times on `clock` (a bare date stays the date it is).
    pub fn apply_on(self, value: &str, clock: &mut LocalClock) -> Result<String, CoarsenError> {
        match self {
            Coarsening::None => Ok(value.to_string()),
            Coarsening::Hour | Coarsening::Day | Coarsening::Week | Coarsening::Month => {
                let ms = parse_iso8601_ms(value).ok_or(CoarsenError::NotATimestamp)?;
                let local = if value.trim().len() == 10 {
                    ms
                } else {
                    let seconds = ms.div_euclid(1000);
                    clock.local_seconds(seconds, 0) * 1000 + ms.rem_euclid(1000)
                };
                Ok(self.format_time(local))
            }
            Coarsening::Network24 => network(value, 24),
            Coarsening::Network16 => network(value, 16),
        }
    }

    /// A number that identifies the hour, day, week or month of local seconds `local` (equal
    /// numbers, equal keys), for counting without formatting every line.
    pub fn time_code(self, local: i64) -> i64 {
        let days = local.div_euclid(86_400);
        match self {
            Coarsening::Hour => local.div_euclid(3600),
            Coarsening::Week => days - (days + 3).rem_euclid(7),
            Coarsening::Month => {
                let (year, month, _) = civil_from_days(days);
                year * 12 + i64::from(month)
            }
            _ => days,
        }
    }

    /// The key of local seconds `local`.
    pub fn time_label(self, local: i64) -> String {
        self.format_time(local * 1000)
    }

    /// A number that identifies the network of an address (IPv4 and IPv6 never collide).
    pub fn network_code(self, address: IpAddr) -> i64 {
        match address {
            IpAddr::V4(v4) => i64::from(u32::from(v4) >> (32 - self.v4_prefix())),
            IpAddr::V6(v6) => (1 << 62) | (u128::from(v6) >> 80) as i64,
        }
    }

    /// The key of an address's network.
    pub fn network_label(self, address: IpAddr) -> String {
        network(&address.to_string(), self.v4_prefix()).expect("an address is an address")
    }

    fn v4_prefix(self) -> u32 {
        if self == Coarsening::Network16 {
            16
        } else {
            24
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
    fn a_time_zone_moves_late_evenings_and_knows_daylight_saving() {
        let mut paris = LocalClock::new(Clock::named("Europe/Paris").unwrap());
        // 2026-03-28T23:30Z is 00:30 on the 29th in Paris (UTC+1); 2026-03-29T22:30Z is 00:30 on
        // the 30th (UTC+2 since 01:00Z that day).
        let day =
            |clock: &mut LocalClock, text: &str| Coarsening::Day.apply_on(text, clock).unwrap();
        assert_eq!(day(&mut paris, "2026-03-28T23:30:00Z"), "2026-03-29");
        assert_eq!(day(&mut paris, "2026-03-29T21:30:00Z"), "2026-03-29");
        assert_eq!(day(&mut paris, "2026-03-29T22:30:00Z"), "2026-03-30");
        assert_eq!(
            Coarsening::Hour
                .apply_on("2026-03-29T01:30:00Z", &mut paris)
                .unwrap(),
            "2026-03-29T03"
        );
        // A bare date is a date, whatever the zone.
        assert_eq!(day(&mut paris, "2026-03-29"), "2026-03-29");
        assert!(Clock::named("Mars/Olympus").unwrap_err().contains("IANA"));
        // Codes agree with labels.
        let local = 20_541 * 86_400 + 5;
        for level in [
            Coarsening::Hour,
            Coarsening::Day,
            Coarsening::Week,
            Coarsening::Month,
        ] {
            let next = local + 86_400 * 40;
            assert_eq!(
                level.time_code(local) == level.time_code(next),
                level.time_label(local) == level.time_label(next)
            );
        }
        let address: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        assert_eq!(
            Coarsening::Network24.network_label(address),
            "2001:db8:1::/48"
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
