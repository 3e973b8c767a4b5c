//! From an input to [`Contributions`]: a table with a dataset schema, an access log, or a
//! pre-aggregated contributions table, each read line by line.
//!
//! Person identifiers (an IP address, an account id) become numbers as soon as they are read;
//! only those numbers go further. Key columns are coarsened here ([`Coarsening`]), so a raw
//! timestamp or address never becomes a key. An empty key cell becomes the key `(missing)`,
//! because an empty key in the release means "all values" (a margin).
//!
//! **Bad lines.** A line that cannot be used (malformed, no person, a value its coarsening cannot
//! read) is left out and counted by reason, with the first line of each reason, never a value.
//! Lines filtered out on purpose (bots, static files, errors) are counted too. The run goes ahead
//! unless the unusable lines are more than half of all lines: then the input is not what it was
//! said to be (exit 2, nothing written).
//!
//! **Contributions tables** are what a `GROUP BY person, keys` in DuckDB, Spark or Trino makes of
//! the same log: one row per (person, cell) with its `events`; the keys are already coarsened and
//! the person is a keyed hash the holder computed. A person column that holds IP addresses is
//! refused: the raw address must never leave the holder.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::net::IpAddr;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::coarsen::{Clock, Coarsening, LocalClock};
use super::contributions::{address_key, person_key, Contributions};
use crate::dates::Date;
use crate::error::{Error, Result};
use crate::extract::access_log::{parse_line, Field, LineFilter, LogFormat};
use crate::extract::table::TextTable;
use crate::release::frequency::InputSummary;

/// The key of an empty cell.
pub const MISSING_KEY: &str = "(missing)";

/// One `by` column and how its values are coarsened: `page`, `timestamp:day`, `ip:24`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ByColumn {
    /// The column's name in the input.
    pub column: String,
    /// How its values become keys.
    pub coarsening: Coarsening,
}

impl ByColumn {
    /// Parses `NAME` or `NAME:LEVEL`, LEVEL one of hour, day, week, month, 24, 16 (IPv4
    /// prefixes; IPv6 is always cut to /48).
    pub fn parse(text: &str) -> std::result::Result<Self, String> {
        let (column, level) = match text.rsplit_once(':') {
            Some((column, level)) => (column, Some(level)),
            None => (text, None),
        };
        if column.is_empty() {
            return Err(format!("`{text}` names no column"));
        }
        let coarsening = match level {
            None => Coarsening::None,
            Some("hour") => Coarsening::Hour,
            Some("day") => Coarsening::Day,
            Some("week") => Coarsening::Week,
            Some("month") => Coarsening::Month,
            Some("24") | Some("/24") => Coarsening::Network24,
            Some("16") | Some("/16") => Coarsening::Network16,
            Some(other) => {
                return Err(format!(
                    "`{other}` is not a coarsening; use hour, day, week, month (dates and times) \
                     or 24, 16 (IP addresses)"
                ))
            }
        };
        Ok(ByColumn {
            column: column.to_string(),
            coarsening,
        })
    }
}

/// Lines read, counted, and left out by reason (with the first place of each).
#[derive(Debug, Clone, Default)]
pub struct Tally {
    lines: u64,
    counted: u64,
    left_out: BTreeMap<String, (u64, String)>,
}

impl Tally {
    fn leave_out(&mut self, reason: &str, place: impl FnOnce() -> String) {
        match self.left_out.get_mut(reason) {
            Some((count, _)) => *count += 1,
            None => {
                self.left_out.insert(reason.to_string(), (1, place()));
            }
        }
    }

    /// Refuses an input whose unusable lines (every reason but a filter) are more than half of
    /// its lines, or that has no line at all; else the summary for the report.
    fn finish(self, path: &Path, format: &str, clock: Clock) -> Result<InputSummary> {
        let unusable: u64 = self
            .left_out
            .iter()
            .filter(|(reason, _)| !reason.starts_with("filtered"))
            .map(|(_, (count, _))| count)
            .sum();
        if self.lines == 0 {
            return Err(Error::bad_file(path, None, "no lines to count"));
        }
        if unusable * 2 > self.lines {
            let reasons: Vec<String> = self
                .left_out
                .iter()
                .filter(|(reason, _)| !reason.starts_with("filtered"))
                .map(|(reason, (count, first))| format!("{reason}: {count} (first: {first})"))
                .collect();
            return Err(Error::bad_file(
                path,
                None,
                format!(
                    "{unusable} of {} lines cannot be used ({}); more than half, so this is not a \
                     {format} input as expected; nothing was written",
                    self.lines,
                    reasons.join("; ")
                ),
            ));
        }
        Ok(InputSummary {
            format: format.to_string(),
            lines: self.lines,
            counted: self.counted,
            left_out: self
                .left_out
                .into_iter()
                .map(|(reason, (count, _))| (reason, count))
                .collect(),
            time_zone: clock.describe(format == "combined" || format == "common"),
        })
    }
}

/// Opens a file for reading, through gzip when it starts with gzip's magic bytes.
fn open(path: &Path) -> Result<Box<dyn BufRead>> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io("open", path, e))?;
    let mut magic = [0u8; 2];
    let read = file
        .read(&mut magic)
        .map_err(|e| Error::io("read", path, e))?;
    let start = std::io::Cursor::new(magic[..read].to_vec()).chain(file);
    Ok(if read == 2 && magic == [0x1f, 0x8b] {
        Box::new(BufReader::with_capacity(
            1 << 20,
            flate2::read::MultiGzDecoder::new(start),
        ))
    } else {
        Box::new(BufReader::with_capacity(1 << 20, start))
    })
}

/// A `by` column of a log: the field and its coarsening (checked by the plan: times only cut,
/// addresses only to networks, other fields as they are).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogKey {
    /// The field.
    pub field: Field,
    /// Its coarsening.
    pub coarsening: Coarsening,
}

/// Streams an access log into `into`: each line parsed, filtered and counted once for its person
/// and cell.
pub fn read_log(
    path: &Path,
    format: LogFormat,
    person: Field,
    by: &[LogKey],
    filter: &LineFilter,
    clock: Clock,
    into: &mut Contributions,
) -> Result<InputSummary> {
    let mut reader = open(path)?;
    let mut local = LocalClock::new(clock);
    let mut tally = Tally::default();
    let mut buffer = Vec::with_capacity(4096);
    let mut values = vec![0u32; by.len()];
    let mut number = 0u64;
    loop {
        buffer.clear();
        let read = reader
            .read_until(b'\n', &mut buffer)
            .map_err(|e| Error::io("read", path, e))?;
        if read == 0 {
            break;
        }
        number += 1;
        if buffer.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        tally.lines += 1;
        let line = match parse_line(&buffer, format) {
            Ok(line) => line,
            Err(malformed) => {
                tally.leave_out(malformed.reason(), || format!("line {number}"));
                continue;
            }
        };
        if let Some(filtered) = filter.reject(&line, format) {
            tally.leave_out(filtered.reason(), || format!("line {number}"));
            continue;
        }
        let who = match person {
            Field::Ip => address_key(line.ip),
            field => match line.text(field) {
                "" | "-" => {
                    tally.leave_out("no person", || format!("line {number}"));
                    continue;
                }
                text => person_key(text),
            },
        };
        for (column, key) in by.iter().enumerate() {
            let level = key.coarsening;
            values[column] = match key.field {
                Field::Time => {
                    let at = local.local_seconds(line.utc_seconds, line.written_offset);
                    into.coded_value(column, level.time_code(at), || level.time_label(at))
                }
                Field::Ip => into.coded_value(column, level.network_code(line.ip), || {
                    level.network_label(line.ip)
                }),
                field => match line.text(field) {
                    "" => into.text_value(column, MISSING_KEY),
                    text => into.text_value(column, text),
                },
            };
        }
        let who = into.person(who);
        into.add(who, &values, 1);
        tally.counted += 1;
    }
    tally.finish(path, format.name(), clock)
}

/// Counts a table read with its schema: `person` names the person column, `by` the key columns
/// (both checked against the schema by the plan).
pub fn read_table_rows(
    table: &TextTable,
    path: &Path,
    person: &str,
    by: &[ByColumn],
    clock: Clock,
    into: &mut Contributions,
) -> Result<InputSummary> {
    let column = |name: &str| {
        table.column(name).ok_or_else(|| Error::InvalidArgument {
            name: "column",
            problem: format!("`{name}` is not a column of {}", path.display()),
        })
    };
    let people = column(person)?;
    let keys: Vec<&[String]> = by
        .iter()
        .map(|spec| column(&spec.column))
        .collect::<Result<_>>()?;
    let mut local = LocalClock::new(clock);
    let mut tally = Tally::default();
    let mut values = vec![0u32; by.len()];
    let mut row_keys: Vec<String> = Vec::with_capacity(by.len());
    'rows: for (row, id) in people.iter().enumerate() {
        tally.lines += 1;
        let line = row + 2;
        if id.trim().is_empty() {
            tally.leave_out("no person", || format!("line {line}, column `{person}`"));
            continue;
        }
        // Every key first, so that a row left out leaves no value behind.
        row_keys.clear();
        for (position, spec) in by.iter().enumerate() {
            let cell = keys[position][row].as_str();
            row_keys.push(if cell.is_empty() {
                MISSING_KEY.to_string()
            } else {
                match spec.coarsening.apply_on(cell, &mut local) {
                    Ok(key) => key,
                    Err(problem) => {
                        tally.leave_out(&format!("`{}`: {problem}", spec.column), || {
                            format!("line {line}, column `{}`", spec.column)
                        });
                        continue 'rows;
                    }
                }
            });
        }
        for (position, key) in row_keys.iter().enumerate() {
            values[position] = into.text_value(position, key);
        }
        let who = into.person(person_key(id));
        into.add(who, &values, 1);
        tally.counted += 1;
    }
    tally.finish(path, "table", clock)
}

/// The column of person keys in a contributions table.
pub const CONTRIBUTION_PERSON: &str = "person";
/// The column of events in a contributions table.
pub const CONTRIBUTION_EVENTS: &str = "events";

/// Whether `key` is a key `level` can make (a day `2026-03-29`, an hour `2026-03-29T13`, a week
/// `2026-W13`, a month `2026-03`, a network `192.0.2.0/24`).
fn is_key_of(level: Coarsening, key: &str) -> bool {
    let digits = |range: std::ops::Range<usize>| {
        key.get(range)
            .is_some_and(|d| d.bytes().all(|b| b.is_ascii_digit()))
    };
    match level {
        Coarsening::None => true,
        Coarsening::Day => key.len() == 10 && Date::parse(key).is_some(),
        Coarsening::Hour => {
            key.len() == 13
                && Date::parse(&key[..10]).is_some()
                && key.as_bytes()[10] == b'T'
                && digits(11..13)
                && key[11..13] < *"24"
        }
        Coarsening::Week => key.len() == 8 && digits(0..4) && &key[4..6] == "-W" && digits(6..8),
        Coarsening::Month => key.len() == 7 && Date::parse(&format!("{key}-01")).is_some(),
        Coarsening::Network24 | Coarsening::Network16 => key
            .split_once('/')
            .is_some_and(|(address, _)| address.parse::<IpAddr>().is_ok()),
    }
}

/// Streams a contributions table (CSV, optionally gzip-compressed): columns `person`, one per
/// `by` column (keys already coarsened to the level `by` names), and `events`.
pub fn read_contributions(
    path: &Path,
    by: &[ByColumn],
    into: &mut Contributions,
) -> Result<InputSummary> {
    let mut reader = csv::ReaderBuilder::new().from_reader(open(path)?);
    let header = reader
        .headers()
        .map_err(|e| Error::bad_file(path, Some("line 1".into()), e.to_string()))?
        .clone();
    let position = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            Error::bad_file(
                path,
                Some("line 1".into()),
                format!(
                    "no column `{name}`; a contributions table has `{CONTRIBUTION_PERSON}`, one \
                     column per --by column and `{CONTRIBUTION_EVENTS}`"
                ),
            )
        })
    };
    let person_at = position(CONTRIBUTION_PERSON)?;
    let events_at = position(CONTRIBUTION_EVENTS)?;
    let keys_at: Vec<usize> = by
        .iter()
        .map(|spec| position(&spec.column))
        .collect::<Result<_>>()?;
    let mut tally = Tally::default();
    let mut values = vec![0u32; by.len()];
    let mut record = csv::StringRecord::new();
    let mut line = 1u64;
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(_) => {
                line += 1;
                tally.lines += 1;
                tally.leave_out("malformed: row", || format!("line {line}"));
                continue;
            }
        }
        line += 1;
        tally.lines += 1;
        let id = record.get(person_at).unwrap_or_default();
        if id.trim().is_empty() {
            tally.leave_out("no person", || format!("line {line}"));
            continue;
        }
        if id.trim().parse::<IpAddr>().is_ok() {
            return Err(Error::bad_file(
                path,
                Some(format!("line {line}, column `{CONTRIBUTION_PERSON}`")),
                "holds an IP address; a contributions table carries a keyed hash of the \
                 person, computed by the data holder (see the README), never the address",
            ));
        }
        let events = record
            .get(events_at)
            .and_then(|e| e.trim().parse::<u64>().ok())
            .filter(|&e| e > 0);
        let Some(events) = events else {
            tally.leave_out("bad events", || {
                format!("line {line}, column `{CONTRIBUTION_EVENTS}`")
            });
            continue;
        };
        let bad = by.iter().zip(&keys_at).find(|(spec, &at)| {
            let key = record.get(at).unwrap_or_default();
            !key.is_empty() && !is_key_of(spec.coarsening, key)
        });
        if let Some((spec, _)) = bad {
            tally.leave_out(
                &format!("`{}`: not a {} key", spec.column, spec.coarsening.name()),
                || format!("line {line}, column `{}`", spec.column),
            );
            continue;
        }
        for (column, &at) in keys_at.iter().enumerate() {
            values[column] = match record.get(at).unwrap_or_default() {
                "" => into.text_value(column, MISSING_KEY),
                key => into.text_value(column, key),
            };
        }
        let who = into.person(person_key(id));
        into.add(who, &values, events);
        tally.counted += 1;
    }
    tally.finish(path, "contributions", Clock::Written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::access_log::LogFilters;

    #[test]
    fn by_columns_parse_with_their_coarsening() {
        assert_eq!(
            ByColumn::parse("timestamp:day").unwrap().coarsening,
            Coarsening::Day
        );
        assert_eq!(
            ByColumn::parse("ip:/16").unwrap().coarsening,
            Coarsening::Network16
        );
        let page = ByColumn::parse("page").unwrap();
        assert_eq!(
            (page.column.as_str(), page.coarsening),
            ("page", Coarsening::None)
        );
        assert!(ByColumn::parse("t:fortnight")
            .unwrap_err()
            .contains("fortnight"));
        assert!(ByColumn::parse(":day").is_err());
    }

    #[test]
    fn table_rows_without_a_person_or_with_a_bad_value_are_left_out_and_counted() {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let table = TextTable {
            columns: strings(&["timestamp", "ip", "page"]),
            cells: vec![
                strings(&[
                    "2026-11-01T10:00:00Z",
                    "2026-11-01T11:00:00Z",
                    "2026-11-02",
                    "soon",
                ]),
                strings(&["192.0.2.1", "", "198.51.100.7", "192.0.2.1"]),
                strings(&["/a", "/b", "", "/a"]),
            ],
        };
        let by = [
            ByColumn::parse("page").unwrap(),
            ByColumn::parse("timestamp:day").unwrap(),
        ];
        let mut into = Contributions::new(2);
        let path = Path::new("log.csv");
        let summary = read_table_rows(&table, path, "ip", &by, Clock::Written, &mut into).unwrap();
        assert_eq!((summary.lines, summary.counted), (4, 2));
        assert_eq!(summary.left_out["no person"], 1);
        assert_eq!(summary.left_out.len(), 2, "{summary:?}");
        let data = into.finish();
        assert_eq!(data.labels[0], ["/a", MISSING_KEY]);
        assert_eq!(data.labels[1], ["2026-11-01", "2026-11-02"]);
        // Mostly bad: refused, naming the first place of each reason, never a value.
        let mostly_bad = TextTable {
            columns: table.columns.clone(),
            cells: vec![
                strings(&["soon", "later", "2026-11-01"]),
                strings(&["192.0.2.1", "192.0.2.2", "192.0.2.3"]),
                strings(&["/a", "/a", "/a"]),
            ],
        };
        let error = read_table_rows(
            &mostly_bad,
            path,
            "ip",
            &by,
            Clock::Written,
            &mut Contributions::new(2),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("line 2, column `timestamp`"), "{error}");
        assert!(
            !error.contains("soon") && !error.contains("192.0.2"),
            "{error}"
        );
    }

    #[test]
    fn a_gzipped_log_reads_like_the_plain_one() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let lines = [
            r#"192.0.2.1 - - [29/Mar/2026:00:30:00 +0100] "GET /a?x=1 HTTP/1.1" 200 5 "-" "Mozilla/5.0""#,
            r#"192.0.2.1 - - [29/Mar/2026:00:40:00 +0100] "GET /a HTTP/1.1" 200 5 "-" "Mozilla/5.0""#,
            r#"2001:db8::1 - - [29/Mar/2026:23:30:00 +0200] "GET /a HTTP/1.1" 200 5 "-" "Mozilla/5.0""#,
            r#"- - - [29/Mar/2026:23:30:00 +0200] "GET /a HTTP/1.1" 200 5 "-" "Mozilla/5.0""#,
            r#"192.0.2.9 - - [29/Mar/2026:23:30:00 +0200] "GET /a HTTP/1.1" 200 5 "-" "Googlebot""#,
        ];
        let text = lines.join("\n") + "\n";
        let plain = dir.path().join("access.log");
        std::fs::write(&plain, &text).unwrap();
        let packed = dir.path().join("access.log.gz");
        let mut encoder = flate2::write::GzEncoder::new(
            std::fs::File::create(&packed).unwrap(),
            flate2::Compression::default(),
        );
        encoder.write_all(text.as_bytes()).unwrap();
        encoder.finish().unwrap();
        let keys = [
            LogKey {
                field: Field::Path,
                coarsening: Coarsening::None,
            },
            LogKey {
                field: Field::Time,
                coarsening: Coarsening::Day,
            },
        ];
        let filter = LogFilters::default().matcher();
        let zone = Clock::named("Europe/Paris").unwrap();
        let mut results = Vec::new();
        for path in [&plain, &packed] {
            let mut into = Contributions::new(2);
            let summary = read_log(
                path,
                LogFormat::Combined,
                Field::Ip,
                &keys,
                &filter,
                zone,
                &mut into,
            )
            .unwrap();
            assert_eq!((summary.lines, summary.counted), (5, 3));
            assert_eq!(summary.left_out["malformed: no address"], 1);
            assert_eq!(summary.left_out["filtered: bot"], 1);
            results.push(into.finish());
        }
        assert_eq!(results[0], results[1]);
        let data = &results[0];
        assert_eq!(data.people, 2);
        assert_eq!(data.labels[0], ["/a"]);
        // Both visits on the 29th in Paris, one cell; the first person's two views add up.
        assert_eq!(data.labels[1], ["2026-03-29"]);
        assert_eq!(data.pairs.iter().map(|p| p.events).sum::<u32>(), 3);
    }
}
