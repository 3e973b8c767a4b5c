//! Apache and nginx access logs as they are: the Common Log Format and the Combined Log Format
//! (`%h %l %u %t "%r" %>s %b` and `… "%{Referer}i" "%{User-agent}i"`, nginx's default `combined`
//! too), each line parsed into its fields without copying, and filtered for visitor statistics.
//!
//! **Fields.** `ip` (IPv4 or IPv6), `time` (an instant, with the offset the server wrote),
//! `method`, `path` (the request target without its query string or fragment: a query string can
//! carry search terms, e-mail addresses or session tokens, so it is cut off here and never kept),
//! `status`, `bytes`, `referrer` (also without its query string), `user_agent`. Fields after the
//! user agent (nginx adds some) are ignored.
//!
//! **Malformed lines** are left out and counted by reason ([`Malformed`]): cut short, garbage
//! (no `[date]`, invalid UTF-8), `-` or an invalid address, a bad date, a request that is not
//! `METHOD target …` (TLS handshakes sent to the HTTP port), a status that is not three digits.
//!
//! **Filters** ([`LogFilters`], `[tabulate.log]`), with defaults for visitor statistics: only
//! `GET` requests answered with a 2xx status or 304 (a page served from the browser's cache)
//! count; a user agent matching a known bot or crawler pattern (case-insensitive substring; an
//! empty user agent counts as a bot) and a path ending in a static asset's extension are left
//! out. Each filter can be changed, or emptied to turn it off.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::dates::days_from_civil;

/// The two formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// `%h %l %u %t "%r" %>s %b`.
    Common,
    /// Common plus `"%{Referer}i" "%{User-agent}i"`.
    Combined,
}

impl LogFormat {
    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            LogFormat::Common => "common",
            LogFormat::Combined => "combined",
        }
    }
}

/// A field of a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// The client address.
    Ip,
    /// The time of the request.
    Time,
    /// The request method.
    Method,
    /// The request path, without its query string.
    Path,
    /// The response status.
    Status,
    /// The response size.
    Bytes,
    /// The referring page, without its query string.
    Referrer,
    /// The user agent.
    UserAgent,
}

/// Every field, in line order, with its name.
pub const FIELDS: [(&str, Field); 8] = [
    ("ip", Field::Ip),
    ("time", Field::Time),
    ("method", Field::Method),
    ("path", Field::Path),
    ("status", Field::Status),
    ("bytes", Field::Bytes),
    ("referrer", Field::Referrer),
    ("user_agent", Field::UserAgent),
];

impl Field {
    /// The field called `name`.
    pub fn named(name: &str) -> Option<Field> {
        FIELDS.iter().find(|(n, _)| *n == name).map(|&(_, f)| f)
    }
}

/// Why a line is left out as malformed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Malformed {
    /// The line ends before its last field.
    Truncated,
    /// Not a log line at all.
    Garbage,
    /// `-` where the address should be.
    NoAddress,
    /// Not an IPv4 or IPv6 address.
    BadAddress,
    /// Not `dd/Mon/yyyy:hh:mm:ss ±hhmm`.
    BadDate,
    /// Not `METHOD target [protocol]`.
    BadRequest,
    /// Not three digits.
    BadStatus,
}

impl Malformed {
    /// The reason as the report spells it.
    pub fn reason(self) -> &'static str {
        match self {
            Malformed::Truncated => "malformed: truncated",
            Malformed::Garbage => "malformed: garbage",
            Malformed::NoAddress => "malformed: no address",
            Malformed::BadAddress => "malformed: bad address",
            Malformed::BadDate => "malformed: bad date",
            Malformed::BadRequest => "malformed: bad request",
            Malformed::BadStatus => "malformed: bad status",
        }
    }
}

/// Why a well-formed line does not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filtered {
    /// Its method is not counted.
    Method,
    /// Its status is not counted.
    Status,
    /// A bot or crawler.
    Bot,
    /// A static asset.
    StaticFile,
}

impl Filtered {
    /// The reason as the report spells it.
    pub fn reason(self) -> &'static str {
        match self {
            Filtered::Method => "filtered: method",
            Filtered::Status => "filtered: status",
            Filtered::Bot => "filtered: bot",
            Filtered::StaticFile => "filtered: static file",
        }
    }
}

/// One parsed line; every text borrows from the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogLine<'a> {
    /// The client address as written.
    pub ip_text: &'a str,
    /// The client address.
    pub ip: IpAddr,
    /// Seconds since 1970-01-01T00:00:00Z.
    pub utc_seconds: i64,
    /// The offset from UTC the server wrote, in seconds.
    pub written_offset: i32,
    /// The request method.
    pub method: &'a str,
    /// The request path without query string or fragment.
    pub path: &'a str,
    /// The status.
    pub status: u16,
    /// The status as written.
    pub status_text: &'a str,
    /// The size as written (`-` for none).
    pub bytes: &'a str,
    /// The referrer without query string (empty in the common format).
    pub referrer: &'a str,
    /// The user agent (empty in the common format).
    pub user_agent: &'a str,
}

impl<'a> LogLine<'a> {
    /// A text field (every field but `time`, which has no text key).
    pub fn text(&self, field: Field) -> &'a str {
        match field {
            Field::Ip => self.ip_text,
            Field::Time => "",
            Field::Method => self.method,
            Field::Path => self.path,
            Field::Status => self.status_text,
            Field::Bytes => self.bytes,
            Field::Referrer => self.referrer,
            Field::UserAgent => self.user_agent,
        }
    }
}

/// Parses one line (without its newline).
pub fn parse_line(line: &[u8], format: LogFormat) -> Result<LogLine<'_>, Malformed> {
    let line = std::str::from_utf8(line).map_err(|_| Malformed::Garbage)?;
    let line = line.trim_end_matches(['\r', '\n']);
    let Some(open) = line.find(" [") else {
        return Err(if line.contains(' ') {
            Malformed::Garbage
        } else {
            Malformed::Truncated
        });
    };
    let ip_text = line[..open].split(' ').next().unwrap_or_default();
    let rest = &line[open + 2..];
    let close = rest.find(']').ok_or(Malformed::Truncated)?;
    let (utc_seconds, written_offset) = parse_time(&rest[..close]).ok_or(Malformed::BadDate)?;
    let rest = &rest[close + 1..];
    let rest = rest.strip_prefix(" \"").ok_or(if rest.is_empty() {
        Malformed::Truncated
    } else {
        Malformed::Garbage
    })?;
    let (request, rest) = quoted(rest).ok_or(Malformed::Truncated)?;
    let rest = rest.trim_start_matches(' ');
    let mut numbers = rest.splitn(3, ' ');
    let status_text = numbers
        .next()
        .filter(|s| !s.is_empty())
        .ok_or(Malformed::Truncated)?;
    let bytes = numbers
        .next()
        .filter(|s| !s.is_empty())
        .ok_or(Malformed::Truncated)?;
    let (referrer, user_agent) = match format {
        LogFormat::Common => ("", ""),
        LogFormat::Combined => {
            let rest = numbers.next().ok_or(Malformed::Truncated)?;
            let rest = rest.strip_prefix('"').ok_or(Malformed::Truncated)?;
            let (referrer, rest) = quoted(rest).ok_or(Malformed::Truncated)?;
            let rest = rest.strip_prefix(" \"").ok_or(Malformed::Truncated)?;
            let (user_agent, _) = quoted(rest).ok_or(Malformed::Truncated)?;
            (without_query(referrer), user_agent)
        }
    };
    if ip_text == "-" || ip_text.is_empty() {
        return Err(Malformed::NoAddress);
    }
    let ip = ip_text
        .parse::<IpAddr>()
        .map_err(|_| Malformed::BadAddress)?;
    let mut parts = request.split(' ');
    let method = parts.next().unwrap_or_default();
    let target = parts.next().ok_or(Malformed::BadRequest)?;
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) || target.is_empty() {
        return Err(Malformed::BadRequest);
    }
    let status = (status_text.len() == 3)
        .then(|| status_text.parse::<u16>().ok())
        .flatten()
        .ok_or(Malformed::BadStatus)?;
    Ok(LogLine {
        ip_text,
        ip,
        utc_seconds,
        written_offset,
        method,
        path: request_path(target),
        status,
        status_text,
        bytes,
        referrer,
        user_agent,
    })
}

/// The text up to the closing quote (a quote preceded by a backslash is part of the text) and
/// what follows it.
fn quoted(text: &str) -> Option<(&str, &str)> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return Some((&text[..i], &text[i + 1..])),
            _ => i += 1,
        }
    }
    None
}

/// A URL or path without its query string and fragment.
fn without_query(target: &str) -> &str {
    target.split(['?', '#']).next().unwrap_or_default()
}

/// The path of a request target: an absolute URL (a proxy request) loses its scheme and host.
fn request_path(target: &str) -> &str {
    let target = without_query(target);
    for scheme in ["http://", "https://"] {
        if let Some(rest) = target.strip_prefix(scheme) {
            return rest.find('/').map_or("/", |slash| &rest[slash..]);
        }
    }
    target
}

/// `10/Oct/2000:13:55:36 -0700` → (UTC seconds, offset seconds).
fn parse_time(text: &str) -> Option<(i64, i32)> {
    let b = text.as_bytes();
    if b.len() != 26 || b[2] != b'/' || b[6] != b'/' || b[11] != b':' || b[20] != b' ' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<i64> {
        let digits = text.get(range)?;
        digits
            .bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| digits.parse().ok())?
    };
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == &text[3..6])? as u32 + 1;
    let (day, year) = (number(0..2)?, number(7..11)?);
    let (hour, minute, second) = (number(12..14)?, number(15..17)?, number(18..20)?);
    let days_in_month = match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if !(1..=days_in_month).contains(&day) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let sign = match b[21] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (offset_hours, offset_minutes) = (number(22..24)?, number(24..26)?);
    if offset_hours > 23 || offset_minutes > 59 {
        return None;
    }
    let offset = sign * (offset_hours * 3600 + offset_minutes * 60);
    let local =
        days_from_civil(year, month, day as u32) * 86_400 + hour * 3600 + minute * 60 + second;
    Some((local - offset, offset as i32))
}

/// Which lines count (`[tabulate.log]`). An empty list turns its filter off.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogFilters {
    /// Methods that count (default `GET`: page views; `HEAD` checks and form posts are not).
    #[serde(default = "default_methods")]
    pub methods: Vec<String>,
    /// Statuses that count: three digits (`304`) or a class (`2xx`). Default: `2xx` and `304`.
    #[serde(default = "default_statuses")]
    pub statuses: Vec<String>,
    /// User-agent substrings (case-insensitive) of bots and crawlers. An empty or `-` user agent
    /// counts as a bot while this list is not empty.
    #[serde(default = "default_bots")]
    pub bot_patterns: Vec<String>,
    /// Extensions (without the dot, case-insensitive) of static assets left out.
    #[serde(default = "default_static")]
    pub static_extensions: Vec<String>,
}

fn default_methods() -> Vec<String> {
    vec!["GET".into()]
}
fn default_statuses() -> Vec<String> {
    vec!["2xx".into(), "304".into()]
}
fn strings(values: &[&str]) -> Vec<String> {
    values.iter().map(|v| v.to_string()).collect()
}
/// Substrings that the user agents of the common crawlers, monitors, link previews and HTTP
/// libraries contain (Googlebot, bingbot, Baiduspider, YandexBot, AhrefsBot, SemrushBot,
/// facebookexternalhit, curl, Wget, python-requests, Go-http-client, headless browsers…).
fn default_bots() -> Vec<String> {
    strings(&[
        "bot",
        "crawl",
        "spider",
        "slurp",
        "scrape",
        "facebookexternalhit",
        "mediapartners",
        "bingpreview",
        "headless",
        "phantomjs",
        "python",
        "curl",
        "wget",
        "go-http-client",
        "java/",
        "libwww",
        "httpclient",
        "okhttp",
        "axios",
        "node-fetch",
        "monitor",
        "uptime",
        "pingdom",
        "lighthouse",
        "feedfetcher",
        "preview",
        "archiver",
        "yandex",
        "semrush",
        "ahrefs",
        "petalsearch",
        "bytespider",
    ])
}
/// Style sheets, scripts, images, fonts, media and the files robots and browsers fetch on their
/// own (`robots.txt`, `sitemap.xml`, `favicon.ico`, manifests). Documents a visitor opens (PDF,
/// CSV, ZIP) count.
fn default_static() -> Vec<String> {
    strings(&[
        "css",
        "js",
        "mjs",
        "map",
        "png",
        "jpg",
        "jpeg",
        "gif",
        "svg",
        "ico",
        "webp",
        "avif",
        "bmp",
        "tif",
        "tiff",
        "woff",
        "woff2",
        "ttf",
        "otf",
        "eot",
        "mp4",
        "webm",
        "mp3",
        "ogg",
        "wav",
        "flac",
        "m4a",
        "txt",
        "xml",
        "json",
        "webmanifest",
    ])
}

impl Default for LogFilters {
    fn default() -> Self {
        LogFilters {
            methods: default_methods(),
            statuses: default_statuses(),
            bot_patterns: default_bots(),
            static_extensions: default_static(),
        }
    }
}

impl LogFilters {
    /// Checks the status patterns; returns the offending field and what was expected.
    pub fn validate(&self) -> std::result::Result<(), (&'static str, String)> {
        for status in &self.statuses {
            let b = status.as_bytes();
            let valid = b.len() == 3
                && (b'1'..=b'5').contains(&b[0])
                && ((b[1].is_ascii_digit() && b[2].is_ascii_digit())
                    || (b[1] == b'x' && b[2] == b'x'));
            if !valid {
                return Err((
                    "tabulate.log.statuses",
                    format!("`{status}` is neither a status (`304`) nor a class (`2xx`)"),
                ));
            }
        }
        Ok(())
    }

    /// The matcher for these filters.
    pub fn matcher(&self) -> LineFilter {
        LineFilter {
            methods: self.methods.clone(),
            statuses: self.statuses.clone(),
            bots: self.bot_patterns.iter().map(|p| p.to_lowercase()).collect(),
            extensions: self
                .static_extensions
                .iter()
                .map(|e| e.trim_start_matches('.').to_lowercase())
                .collect(),
            agents: Default::default(),
        }
    }
}

/// [`LogFilters`] ready to match lines.
#[derive(Debug, Clone)]
pub struct LineFilter {
    methods: Vec<String>,
    statuses: Vec<String>,
    bots: Vec<String>,
    extensions: Vec<String>,
    agents: std::cell::RefCell<crate::fast_hash::FastMap<Box<str>, bool>>,
}

impl LineFilter {
    /// Why `line` does not count, if it does not.
    pub fn reject(&self, line: &LogLine<'_>, format: LogFormat) -> Option<Filtered> {
        if !self.methods.is_empty() && !self.methods.iter().any(|m| m == line.method) {
            return Some(Filtered::Method);
        }
        if !self.statuses.is_empty()
            && !self
                .statuses
                .iter()
                .any(|s| status_matches(s, line.status_text))
        {
            return Some(Filtered::Status);
        }
        if format == LogFormat::Combined && !self.bots.is_empty() && self.is_bot(line.user_agent) {
            return Some(Filtered::Bot);
        }
        if !self.extensions.is_empty() {
            let name = line.path.rsplit('/').next().unwrap_or_default();
            if let Some((_, extension)) = name.rsplit_once('.') {
                if self
                    .extensions
                    .iter()
                    .any(|e| e.eq_ignore_ascii_case(extension))
                {
                    return Some(Filtered::StaticFile);
                }
            }
        }
        None
    }
}

impl LineFilter {
    /// Whether a user agent is a bot's. A log holds few distinct user agents, so each verdict is
    /// remembered (up to [`AGENT_CACHE`] of them, then the memory starts over).
    fn is_bot(&self, agent: &str) -> bool {
        let agent = agent.trim();
        if agent.is_empty() || agent == "-" {
            return true;
        }
        let mut known = self.agents.borrow_mut();
        if let Some(&verdict) = known.get(agent) {
            return verdict;
        }
        let lower = agent.to_ascii_lowercase();
        let verdict = self
            .bots
            .iter()
            .any(|pattern| lower.contains(pattern.as_str()));
        if known.len() >= AGENT_CACHE {
            known.clear();
        }
        known.insert(agent.into(), verdict);
        verdict
    }
}

/// How many user agents' bot verdicts a [`LineFilter`] remembers.
const AGENT_CACHE: usize = 65_536;

fn status_matches(pattern: &str, status: &str) -> bool {
    pattern
        .bytes()
        .zip(status.bytes())
        .all(|(p, s)| p == b'x' || p == s)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINE: &str = r#"203.0.113.9 - frank [29/Mar/2026:01:59:59 +0100] "GET /docs/a?session=42&q=me HTTP/1.1" 200 2326 "https://example.org/search?q=name" "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0" "-""#;

    #[test]
    fn a_combined_line_parses_without_its_query_strings() {
        let line = parse_line(LINE.as_bytes(), LogFormat::Combined).unwrap();
        assert_eq!(line.ip_text, "203.0.113.9");
        assert_eq!(line.method, "GET");
        assert_eq!(line.path, "/docs/a");
        assert_eq!(line.status, 200);
        assert_eq!(line.bytes, "2326");
        assert_eq!(line.referrer, "https://example.org/search");
        assert!(line.user_agent.starts_with("Mozilla/5.0"));
        // 01:59:59 at +01:00 is 00:59:59 UTC on 2026-03-29.
        let midnight = days_from_civil(2026, 3, 29) * 86_400;
        assert_eq!(line.utc_seconds, midnight + 3599);
        assert_eq!(line.written_offset, 3600);
        // The same line read as common: no referrer, no agent.
        let common = parse_line(LINE.as_bytes(), LogFormat::Common).unwrap();
        assert_eq!((common.referrer, common.user_agent), ("", ""));
    }

    #[test]
    fn ipv6_escaped_quotes_and_proxy_urls() {
        let line = r#"2001:db8::7 - - [01/Jan/2026:00:00:00 -0000] "GET http://example.org/x/y?z=1 HTTP/1.1" 304 - "-" "Agent \"quoted\" 1.0""#;
        let parsed = parse_line(line.as_bytes(), LogFormat::Combined).unwrap();
        assert!(parsed.ip.is_ipv6());
        assert_eq!(parsed.path, "/x/y");
        assert_eq!(parsed.user_agent, r#"Agent \"quoted\" 1.0"#);
    }

    #[test]
    fn malformed_lines_say_why() {
        let cases: [(&str, Malformed); 8] = [
            (&LINE[..60], Malformed::Truncated),
            (
                "\u{16}\u{3}\u{1} garbage without a date",
                Malformed::Garbage,
            ),
            (&LINE.replacen("203.0.113.9", "-", 1), Malformed::NoAddress),
            (
                &LINE.replacen("203.0.113.9", "host.example", 1),
                Malformed::BadAddress,
            ),
            (&LINE.replacen("29/Mar", "30/Feb", 1), Malformed::BadDate),
            (&LINE.replacen("+0100", "CET", 1), Malformed::BadDate),
            (
                &LINE.replacen("GET /docs/a?session=42&q=me HTTP/1.1", "-", 1),
                Malformed::BadRequest,
            ),
            (&LINE.replacen(" 200 ", " OK ", 1), Malformed::BadStatus),
        ];
        for (line, reason) in cases {
            assert_eq!(
                parse_line(line.as_bytes(), LogFormat::Combined),
                Err(reason),
                "{line}"
            );
        }
        assert_eq!(
            parse_line(&[0xff, 0xfe, b' '], LogFormat::Common),
            Err(Malformed::Garbage)
        );
    }

    #[test]
    fn default_filters_keep_page_views_of_people() {
        let filter = LogFilters::default().matcher();
        let check = |line: String| {
            let parsed = parse_line(line.as_bytes(), LogFormat::Combined).unwrap();
            filter.reject(&parsed, LogFormat::Combined)
        };
        assert_eq!(check(LINE.into()), None);
        assert_eq!(
            check(LINE.replacen("GET", "POST", 1)),
            Some(Filtered::Method)
        );
        assert_eq!(
            check(LINE.replacen(" 200 ", " 404 ", 1)),
            Some(Filtered::Status)
        );
        assert_eq!(check(LINE.replacen(" 200 ", " 304 ", 1)), None);
        assert_eq!(
            check(LINE.replacen("Firefox/128.0", "compatible; Googlebot/2.1", 1)),
            Some(Filtered::Bot)
        );
        assert_eq!(
            check(LINE.replacen("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", "-", 1)),
            Some(Filtered::Bot)
        );
        assert_eq!(
            check(LINE.replacen("/docs/a", "/s/app.CSS", 1)),
            Some(Filtered::StaticFile)
        );
        assert_eq!(check(LINE.replacen("/docs/a", "/data/budget.pdf", 1)), None);
        let off = LogFilters {
            methods: vec![],
            statuses: vec![],
            bot_patterns: vec![],
            static_extensions: vec![],
        }
        .matcher();
        let parsed = parse_line(LINE.as_bytes(), LogFormat::Combined).unwrap();
        assert_eq!(off.reject(&parsed, LogFormat::Combined), None);
        assert!(LogFilters {
            statuses: vec!["2x".into()],
            ..LogFilters::default()
        }
        .validate()
        .is_err());
    }
}
