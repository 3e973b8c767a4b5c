//! Calendar arithmetic for the retention window, without a date-time dependency.
//!
//! Prisma stores `DateTime` in SQLite either as integer milliseconds since the Unix epoch or as
//! ISO-8601 text, depending on its version; both are read here. Days are counted with the civil
//! calendar algorithm of Howard Hinnant ("chrono-compatible low-level date algorithms").

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A calendar date (the `--as-of` release date).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// The year (proleptic Gregorian).
    pub year: i64,
    /// The month, 1 to 12.
    pub month: u32,
    /// The day of the month, from 1.
    pub day: u32,
}

impl Date {
    /// Parses `YYYY-MM-DD`; `None` when malformed or not a real day.
    pub fn parse(text: &str) -> Option<Date> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let year: i64 = text[0..4].parse().ok()?;
        let month: u32 = text[5..7].parse().ok()?;
        let day: u32 = text[8..10].parse().ok()?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date { year, month, day })
    }

    /// The same day `months` months earlier, clamped to the month's last day (Mar 31 → Feb 28).
    pub fn months_before(self, months: u32) -> Date {
        let total = self.year * 12 + i64::from(self.month) - 1 - i64::from(months);
        let year = total.div_euclid(12);
        let month = (total.rem_euclid(12) + 1) as u32;
        Date {
            year,
            month,
            day: self.day.min(days_in_month(year, month)),
        }
    }

    /// Milliseconds since the epoch at 00:00 UTC of this day.
    pub fn start_ms(self) -> i64 {
        days_from_civil(self.year, self.month, self.day) * MS_PER_DAY
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// Parses an ISO-8601 timestamp (`2024-05-01T10:20:30.123Z`, `2024-05-01 10:20:30`, with an
/// optional `+hh:mm` offset, or a bare date) into milliseconds since the epoch.
pub fn parse_iso8601_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let date = Date::parse(text.get(0..10)?)?;
    let mut ms = date.start_ms();
    let rest = &text[10..];
    if rest.is_empty() {
        return Some(ms);
    }
    let rest = rest.strip_prefix(['T', ' '])?;
    let (clock, zone) = match rest.find(['Z', '+', '-']) {
        Some(at) => rest.split_at(at),
        None => (rest, ""),
    };
    let mut parts = clock.splitn(3, ':');
    let hours: i64 = parts.next()?.parse().ok()?;
    let minutes: i64 = parts.next()?.parse().ok()?;
    let seconds: f64 = parts.next().unwrap_or("0").parse().ok()?;
    if hours > 23 || minutes > 59 || !(0.0..61.0).contains(&seconds) {
        return None;
    }
    ms += (hours * 3600 + minutes * 60) * 1000 + (seconds * 1000.0).round() as i64;
    match zone {
        "" | "Z" => Some(ms),
        offset => {
            let sign = if offset.starts_with('-') { 1 } else { -1 };
            let (h, m) = offset[1..].split_once(':').unwrap_or((&offset[1..], "0"));
            let minutes = h.parse::<i64>().ok()? * 60 + m.parse::<i64>().ok()?;
            Some(ms + sign * minutes * 60_000)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(
            Date::parse("2026-11-24").unwrap().start_ms(),
            1_795_478_400_000
        );
    }

    #[test]
    fn parses_dates_strictly() {
        assert!(Date::parse("2025-02-29").is_none());
        assert!(Date::parse("2024-02-29").is_some());
        assert!(Date::parse("2024-13-01").is_none());
        assert!(Date::parse("24-01-01").is_none());
    }

    #[test]
    fn month_arithmetic_clamps() {
        let d = Date::parse("2025-03-31").unwrap();
        assert_eq!(d.months_before(1).to_string(), "2025-02-28");
        assert_eq!(d.months_before(12).to_string(), "2024-03-31");
        assert_eq!(
            Date::parse("2025-01-15")
                .unwrap()
                .months_before(13)
                .to_string(),
            "2023-12-15"
        );
    }

    #[test]
    fn parses_prisma_text_timestamps() {
        let base = Date::parse("2024-05-01").unwrap().start_ms();
        assert_eq!(
            parse_iso8601_ms("2024-05-01T00:00:01.500Z"),
            Some(base + 1500)
        );
        assert_eq!(parse_iso8601_ms("2024-05-01 02:00:00+02:00"), Some(base));
        assert_eq!(parse_iso8601_ms("2024-05-01"), Some(base));
        assert_eq!(parse_iso8601_ms("yesterday"), None);
    }
}
