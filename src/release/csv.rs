//! `measurements.csv`: a header, then one row per record; empty cell = not published.

use std::collections::BTreeMap;
use std::io::Write;

use rayon::prelude::*;

use crate::deidentify::ReleaseTable;
use crate::error::{Error, Result};

/// Writes the release table as CSV. Numbers use the shortest text that reads back to the same
/// `f64` (`762`, `13.5`), so CSV and Parquet hold identical values.
///
/// The header goes through the `csv` crate. The rows are written as bytes: a number or an empty
/// cell never needs quoting, and a record id is quoted exactly as the crate would quote it (it
/// writes any id that needs quotes). The released rows of a group are identical and sorted
/// together, so a row's cells are formatted once and reused while the next rows repeat them:
/// at a million rows, formatting every cell was most of the cost of this stage.
pub fn write_csv(table: &ReleaseTable, mut out: impl Write, path: &std::path::Path) -> Result<()> {
    let io = |e: std::io::Error| Error::io("write", path, e);
    out.write_all(&csv_line(
        std::iter::once("record_id").chain(table.columns.iter().map(String::as_str)),
    ))
    .map_err(io)?;
    let width = table.columns.len();
    let mut cells: Vec<u8> = Vec::with_capacity(16 * width + 1);
    let mut cells_of: Option<&[f64]> = None;
    let mut line: Vec<u8> = Vec::with_capacity(64 + cells.capacity());
    for (index, id) in table.record_ids.iter().enumerate() {
        let row = table.row(index);
        if cells_of.is_none_or(|previous| !same_bits(previous, row)) {
            cells.clear();
            for &value in row {
                cells.push(b',');
                push_value(&mut cells, value);
            }
            cells.push(b'\n');
            cells_of = Some(row);
        }
        line.clear();
        if width > 0 && !id.bytes().any(needs_quotes) {
            line.extend_from_slice(id.as_bytes());
        } else {
            let quoted = csv_line(std::iter::once(id.as_str()));
            line.extend_from_slice(&quoted[..quoted.len() - 1]);
        }
        line.extend_from_slice(&cells);
        out.write_all(&line).map_err(io)?;
    }
    out.flush().map_err(io)
}

/// One record as the `csv` crate writes it (default settings: quotes only where needed), with
/// its line end.
fn csv_line<'a>(fields: impl Iterator<Item = &'a str>) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(fields)
        .expect("writing into memory does not fail");
    writer
        .into_inner()
        .expect("writing into memory does not fail")
}

/// Bytes for which the `csv` crate quotes a field: the delimiter, the quote and line ends.
fn needs_quotes(byte: u8) -> bool {
    matches!(byte, b',' | b'"' | b'\r' | b'\n')
}

/// Whether two rows hold the same bits (so the same text).
fn same_bits(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
}

/// Appends the CSV text of a value; NaN (not published) appends nothing.
fn push_value(out: &mut Vec<u8>, value: f64) {
    use std::io::Write as _;
    if value.is_nan() {
        return;
    }
    let _ = if value.fract() == 0.0 && value.abs() < 1e15 {
        write!(out, "{}", value as i64)
    } else {
        write!(out, "{value}")
    };
}

/// A release CSV read back: the table, and how many measurement cells the inspector flagged,
/// by kind.
pub struct ScannedCsv {
    /// The rows read.
    pub table: ReleaseTable,
    /// The first cell that is neither a number nor empty (its value read as NaN), by position.
    pub not_numeric: Option<String>,
    /// Cells that look like identifiers, counted by kind.
    pub flagged: BTreeMap<&'static str, usize>,
    /// Cells scanned.
    pub cells: usize,
}

/// Reads a release CSV strictly (header starting with `record_id`, rows of the header's width,
/// UTF-8; a cell that is neither a number nor empty is reported in `not_numeric`) and shows every
/// measurement cell to `inspect` (record ids are not shown: they are checked for their exact shape
/// instead). Problems name the line and column, never the cell.
///
/// `verify` must read a million-row release in about a second, so the file is read whole and,
/// when it holds no quote character (a release written by anonpub never does), cut at line ends
/// into chunks parsed in parallel. A file with quotes is parsed as one chunk, because a quoted
/// field may contain a line end.
pub fn scan_release_csv(
    path: &std::path::Path,
    inspect: impl Fn(&str) -> Option<&'static str> + Sync,
) -> std::result::Result<ScannedCsv, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes.as_slice());
    let mut record = csv::ByteRecord::new();
    let header: Vec<String> = match reader.read_byte_record(&mut record) {
        Ok(true) => record
            .iter()
            .map(|f| String::from_utf8(f.to_vec()).map_err(|_| "line 1: invalid UTF-8".to_string()))
            .collect::<std::result::Result<_, _>>()?,
        Ok(false) => return Err("empty file: expected a header".into()),
        Err(e) => return Err(format!("line 1: {e}")),
    };
    if header.first().map(String::as_str) != Some("record_id") {
        return Err("line 1: the first column must be `record_id`".into());
    }
    let body_start = reader.position().byte() as usize;
    let header_lines = reader.position().line() - 1;
    let chunks = body_chunks(&bytes[body_start..]);
    // Line number of each chunk's first line: the lines of the header and earlier chunks.
    let mut first_lines = Vec::with_capacity(chunks.len());
    let mut line = header_lines + 1;
    for chunk in &chunks {
        first_lines.push(line);
        line += chunk.iter().filter(|&&b| b == b'\n').count() as u64;
    }
    let parts: Vec<ParsedChunk> = chunks
        .par_iter()
        .zip(first_lines)
        .map(|(chunk, first_line)| parse_chunk(chunk, first_line, &header, &inspect))
        .collect::<std::result::Result<_, _>>()?;
    let rows: usize = parts.iter().map(|part| part.record_ids.len()).sum();
    let width = header.len() - 1;
    let mut scanned = ScannedCsv {
        table: ReleaseTable {
            columns: header[1..].to_vec(),
            record_ids: Vec::with_capacity(rows),
            values: Vec::with_capacity(rows * width),
        },
        flagged: BTreeMap::new(),
        cells: rows * width,
        not_numeric: None,
    };
    for part in parts {
        scanned.not_numeric = scanned.not_numeric.or(part.not_numeric);
        scanned.table.record_ids.extend(part.record_ids);
        scanned.table.values.extend(part.values);
        for (kind, n) in part.flagged {
            *scanned.flagged.entry(kind).or_default() += n;
        }
    }
    Ok(scanned)
}

/// The body cut after line ends into chunks of about 4 MiB; one chunk when it holds a quote.
fn body_chunks(body: &[u8]) -> Vec<&[u8]> {
    const CHUNK_BYTES: usize = 1 << 22;
    if body.contains(&b'"') {
        return vec![body];
    }
    let mut chunks = Vec::with_capacity(body.len() / CHUNK_BYTES + 1);
    let mut rest = body;
    while rest.len() > CHUNK_BYTES {
        let cut = rest[CHUNK_BYTES..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |at| CHUNK_BYTES + at + 1);
        let (chunk, tail) = rest.split_at(cut);
        chunks.push(chunk);
        rest = tail;
    }
    if !rest.is_empty() {
        chunks.push(rest);
    }
    chunks
}

struct ParsedChunk {
    not_numeric: Option<String>,
    record_ids: Vec<String>,
    values: Vec<f64>,
    flagged: BTreeMap<&'static str, usize>,
}

/// Parses the rows of one chunk whose first line is line `first_line` of the file.
fn parse_chunk(
    chunk: &[u8],
    first_line: u64,
    header: &[String],
    inspect: &(impl Fn(&str) -> Option<&'static str> + Sync),
) -> std::result::Result<ParsedChunk, String> {
    let mut part = ParsedChunk {
        not_numeric: None,
        record_ids: Vec::new(),
        values: Vec::new(),
        flagged: BTreeMap::new(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(chunk);
    let mut record = csv::ByteRecord::new();
    loop {
        let line_in_chunk = reader.position().line();
        let more = reader
            .read_byte_record(&mut record)
            .map_err(|e| format!("line {}: {e}", first_line + line_in_chunk - 1))?;
        if !more {
            break;
        }
        let line = first_line + record.position().map_or(line_in_chunk, |p| p.line()) - 1;
        if record.len() != header.len() {
            return Err(format!(
                "line {line}: {} cells, expected {}",
                record.len(),
                header.len()
            ));
        }
        for (column, field) in record.iter().enumerate() {
            let text = std::str::from_utf8(field)
                .map_err(|_| format!("line {line}, column `{}`: invalid UTF-8", header[column]))?;
            if column == 0 {
                part.record_ids.push(text.to_string());
                continue;
            }
            if let Some(kind) = inspect(text) {
                *part.flagged.entry(kind).or_default() += 1;
            }
            let value = parse_cell(text).unwrap_or_else(|| {
                part.not_numeric.get_or_insert_with(|| {
                    format!(
                        "line {line}, column `{}`: expected a number or an empty cell",
                        header[column]
                    )
                });
                f64::NAN
            });
            part.values.push(value);
        }
    }
    Ok(part)
}

/// A cell's value: empty is NaN (not published); whole numbers take a fast path.
fn parse_cell(text: &str) -> Option<f64> {
    if text.is_empty() {
        return Some(f64::NAN);
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.is_empty() && digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit()) {
        let magnitude = digits
            .bytes()
            .fold(0i64, |n, b| n * 10 + i64::from(b - b'0')) as f64;
        return Some(if text.starts_with('-') {
            -magnitude
        } else {
            magnitude
        });
    }
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_header_ids_and_shortest_numbers() {
        let table = ReleaseTable {
            columns: vec!["chest".into(), "shoulderSlope".into()],
            record_ids: vec!["id-1".into()],
            values: vec![762.0, f64::NAN],
        };
        let mut out = Vec::new();
        write_csv(&table, &mut out, std::path::Path::new("m.csv")).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "record_id,chest,shoulderSlope\nid-1,762,\n"
        );
        let mut text = Vec::new();
        push_value(&mut text, 13.5);
        push_value(&mut text, f64::NAN);
        push_value(&mut text, -2.0);
        assert_eq!(text, b"13.5-2");
    }

    /// The rows as the `csv` crate writes them field by field, for comparison.
    fn written_by_the_csv_crate(table: &ReleaseTable) -> Vec<u8> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer
            .write_record(
                std::iter::once("record_id").chain(table.columns.iter().map(String::as_str)),
            )
            .unwrap();
        for (index, id) in table.record_ids.iter().enumerate() {
            writer.write_field(id).unwrap();
            for &value in table.row(index) {
                let mut cell = Vec::new();
                push_value(&mut cell, value);
                writer.write_field(&cell).unwrap();
            }
            writer.write_record(None::<&[u8]>).unwrap();
        }
        writer.into_inner().unwrap()
    }

    #[test]
    fn rows_are_the_bytes_the_csv_crate_writes() {
        let nan_bits = f64::from_bits(f64::NAN.to_bits() ^ 1);
        let rows: [[f64; 3]; 7] = [
            [762.0, f64::NAN, 13.5],
            [762.0, f64::NAN, 13.5],
            [762.0, nan_bits, 13.5],
            [-0.0, 1e15, 1e-7],
            [-0.0, 1e15, 1e-7],
            [f64::NAN, f64::NAN, f64::NAN],
            [0.1, -2.0, 123456789.25],
        ];
        let ids = [
            "a",
            "a,b",
            "say \"hi\"",
            "line\nend",
            "",
            "cr\r",
            "plain-id",
        ];
        let table = ReleaseTable {
            columns: vec!["chest".into(), "with,comma".into(), "q\"uote".into()],
            record_ids: ids.iter().map(|id| id.to_string()).collect(),
            values: rows.concat(),
        };
        let mut out = Vec::new();
        write_csv(&table, &mut out, std::path::Path::new("m.csv")).unwrap();
        assert_eq!(out, written_by_the_csv_crate(&table));
        let no_columns = ReleaseTable {
            columns: Vec::new(),
            record_ids: vec!["".into(), "x".into(), "y,z".into()],
            values: Vec::new(),
        };
        let mut out = Vec::new();
        write_csv(&no_columns, &mut out, std::path::Path::new("m.csv")).unwrap();
        assert_eq!(out, written_by_the_csv_crate(&no_columns));
    }

    #[test]
    fn scans_back_what_was_written_and_names_bad_cells_by_position() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.csv");
        std::fs::write(&path, "record_id,chest,shoulderSlope\na,762,13.5\nb,,-2\n").unwrap();
        let scanned = scan_release_csv(&path, |cell| (cell == "762").then_some("seen")).unwrap();
        assert_eq!(scanned.table.record_ids, ["a", "b"]);
        assert_eq!(scanned.table.values[..2], [762.0, 13.5]);
        assert!(scanned.table.values[2].is_nan());
        assert_eq!(scanned.flagged.get("seen"), Some(&1));
        std::fs::write(&path, "record_id,chest\na,12 secret\n").unwrap();
        let problem = scan_release_csv(&path, |_| None)
            .unwrap()
            .not_numeric
            .unwrap();
        assert!(
            problem.contains("line 2, column `chest`") && !problem.contains("secret"),
            "{problem}"
        );
        std::fs::write(&path, "record_id,chest\na,1\nb,1\nc,1,2\n").unwrap();
        assert!(scan_release_csv(&path, |_| None)
            .err()
            .unwrap()
            .contains("line 4: 3 cells"));
    }

    #[test]
    fn chunks_end_at_line_ends_and_keep_line_numbers() {
        let row = "0f8fad5b-d9cb-469f-a165-70867728950e,762,13.5\n";
        let rows = (1 << 22) / row.len() * 3;
        let mut text = String::from("record_id,chest,shoulderSlope\n");
        for _ in 0..rows {
            text.push_str(row);
        }
        text.push_str("z,1\n");
        let body = &text.as_bytes()[30..];
        let chunks = body_chunks(body);
        assert!(chunks.len() >= 3, "{}", chunks.len());
        assert!(chunks.iter().all(|c| c.ends_with(b"\n")));
        assert_eq!(chunks.concat(), body);
        assert_eq!(body_chunks(b"a,\"1\n2\"\nb,3\n").len(), 1);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.csv");
        std::fs::write(&path, &text).unwrap();
        let problem = scan_release_csv(&path, |_| None).err().unwrap();
        assert_eq!(problem, format!("line {}: 2 cells, expected 3", rows + 2));
        std::fs::write(&path, &text[..text.len() - 4]).unwrap();
        let scanned = scan_release_csv(&path, |_| None).unwrap();
        assert_eq!(scanned.table.len(), rows);
        assert_eq!(scanned.cells, rows * 2);
    }
}
