//! anonpub verify DIR [--k N] [--format text|json|github] [--junit FILE]
//!
//! Re-reads a release and checks: all files present; SHA256SUMS matches; manifest.json lists
//! every other file with its size and SHA-256 and holds a well-formed input fingerprint; the CSV
//! and the Parquet file hold the same data; only `record_id` and the columns datapackage.json
//! declares; record ids are UUIDs that never repeat; no cell looks like an email address, URL,
//! phone number or IP address; every group of identical released rows has at least k rows (k
//! from --k, else from report.json); values lie in their declared plausible ranges and on their
//! rounding grid; k_achieved reaches the required k and k_requested is one anonpub publishes;
//! every figure of report.json the rows determine (counts, coverage patterns, the risk section,
//! k_achieved at most the smallest group) agrees with the rows; and every publish threshold
//! recorded in report.json that the released rows can measure (k, prosecutor risk, suppressed
//! share) still holds. With a size chart: its budget within the
//! configured (ε, δ) and lifetime ε, and its structure. A frequency-table release (from
//! `anonpub tabulate`) is checked for its files, checksums, structure, that no published count is
//! below the threshold in report.json, that no suppressed cell can be recomputed from the
//! margins, and (DP) that the recorded noise costs at most the recorded budget.
//!
//! Output (stdout): `text`, a table for people; `json`, one object with every check; `github`,
//! GitHub Actions workflow commands (`::error title=...::...` per failed check, a `::notice` when
//! all pass). `--junit FILE` also writes JUnit XML, one test case per check, for CI test reports.
//!
//! Exit codes: 0 every check passed; 1 at least one check failed; 2 the release directory cannot
//! be read (or the JUnit file cannot be written).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use serde_json::json;

use crate::error::{Error, Result};
use crate::observe::Observer;
use crate::verify::{verify_release, Check};

#[derive(Debug, clap::Args)]
/// The command line of `anonpub verify`.
pub struct Args {
    /// The release directory.
    pub dir: PathBuf,
    /// Required group size (default: k_requested from report.json).
    #[arg(long)]
    pub k: Option<usize>,
    /// How to print the results on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write the results as JUnit XML to this file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// Output formats of `verify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// A table for people.
    Text,
    /// One JSON object: `{"release", "passed", "failed", "checks": [{name, passed, detail}]}`.
    Json,
    /// GitHub Actions workflow commands (annotations).
    Github,
}

/// Verifies the release and prints the checks; fails with exit code 1 if any failed.
pub fn run(args: Args, observer: &dyn Observer) -> Result<()> {
    if args.k == Some(0) {
        return Err(Error::InvalidArgument {
            name: "--k",
            problem: "must be at least 1".into(),
        });
    }
    let checks = match verify_release(&args.dir, args.k, observer) {
        Ok(checks) => checks,
        Err(error) => {
            if args.format == Format::Github {
                println!(
                    "::error title={}::{}",
                    escape_property("anonpub verify"),
                    escape_data(&error.to_string())
                );
            }
            return Err(error);
        }
    };
    let failed = checks.iter().filter(|c| !c.passed).count();
    print!(
        "{}",
        match args.format {
            Format::Text => text(&checks),
            Format::Json => json_text(&args.dir, &checks),
            Format::Github => github(&checks),
        }
    );
    if let Some(path) = &args.junit {
        std::fs::write(path, junit(&args.dir, &checks))
            .map_err(|e| Error::io("write JUnit report", path, e))?;
    }
    tracing::debug!("{} checks, {failed} failed", checks.len());
    if failed > 0 {
        return Err(Error::VerifyFailed {
            failed,
            total: checks.len(),
        });
    }
    Ok(())
}

/// The table for people, with a closing line when everything passed.
fn text(checks: &[Check]) -> String {
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(5);
    let mut out = format!("{:<width$}  status  detail\n", "check");
    for check in checks {
        let _ = writeln!(
            out,
            "{:<width$}  {:<6}  {}",
            check.name,
            if check.passed { "ok" } else { "FAIL" },
            check.detail
        );
    }
    if checks.iter().all(|c| c.passed) {
        let _ = writeln!(out, "all {} checks passed", checks.len());
    }
    out
}

fn json_text(dir: &Path, checks: &[Check]) -> String {
    let failed = checks.iter().filter(|c| !c.passed).count();
    let value = json!({
        "release": dir.display().to_string(),
        "passed": failed == 0,
        "failed": failed,
        "checks": checks,
    });
    format!(
        "{}\n",
        serde_json::to_string_pretty(&value).expect("checks serialize")
    )
}

/// One `::error` annotation per failed check; a `::notice` summary when all passed.
fn github(checks: &[Check]) -> String {
    let mut out = String::new();
    for check in checks.iter().filter(|c| !c.passed) {
        let _ = writeln!(
            out,
            "::error title={}::{}",
            escape_property(&format!("anonpub verify: {}", check.name)),
            escape_data(&check.detail)
        );
    }
    let failed = checks.iter().filter(|c| !c.passed).count();
    if failed == 0 {
        let _ = writeln!(
            out,
            "::notice title={}::all {} checks passed",
            escape_property("anonpub verify"),
            checks.len()
        );
    }
    out
}

/// Escapes the message of a workflow command, as the GitHub Actions runner reads it.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value (`title=`) of a workflow command.
fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// JUnit XML: one suite for the release, one test case per check, a `<failure>` for each failed
/// one. No timestamps or durations, so the same release gives the same file.
fn junit(dir: &Path, checks: &[Check]) -> String {
    let failed = checks.iter().filter(|c| !c.passed).count();
    let suite = xml_escape(&format!("anonpub verify {}", dir.display()));
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <testsuites name=\"anonpub verify\" tests=\"{0}\" failures=\"{failed}\" errors=\"0\">\n\
         <testsuite name=\"{suite}\" tests=\"{0}\" failures=\"{failed}\" errors=\"0\" skipped=\"0\">\n",
        checks.len()
    );
    for check in checks {
        let name = xml_escape(check.name);
        let detail = xml_escape(&check.detail);
        if check.passed {
            let _ = writeln!(
                out,
                "<testcase classname=\"anonpub.verify\" name=\"{name}\">\
                 <system-out>{detail}</system-out></testcase>"
            );
        } else {
            let _ = writeln!(
                out,
                "<testcase classname=\"anonpub.verify\" name=\"{name}\">\
                 <failure message=\"{detail}\" type=\"check failed\">{detail}</failure></testcase>"
            );
        }
    }
    out.push_str("</testsuite>\n</testsuites>\n");
    out
}

/// Escapes text for XML attribute values and element content: the HTML report's escaping, plus
/// line breaks, which an attribute value would otherwise fold into spaces.
fn xml_escape(text: &str) -> String {
    crate::publish::html::escape(text).replace('\n', "&#10;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checks() -> Vec<Check> {
        vec![
            Check {
                name: "checksums",
                passed: true,
                detail: "7 files match".into(),
            },
            Check {
                name: "k-anonymity",
                passed: false,
                detail: "smallest group: 3 (k = 5, 100% of rows)\nsecond line".into(),
            },
        ]
    }

    #[test]
    fn github_annotations_are_escaped_one_per_failure() {
        let out = github(&checks());
        assert_eq!(
            out,
            "::error title=anonpub verify%3A k-anonymity::smallest group: 3 (k = 5, 100%25 of rows)%0Asecond line\n"
        );
        let passing = github(&checks()[..1]);
        assert_eq!(
            passing,
            "::notice title=anonpub verify::all 1 checks passed\n"
        );
    }

    #[test]
    fn junit_has_one_testcase_per_check_and_escapes() {
        let xml = junit(Path::new("rel<1>"), &checks());
        assert_eq!(xml.matches("<testcase ").count(), 2);
        assert_eq!(xml.matches("<failure ").count(), 1);
        assert!(xml.contains("tests=\"2\" failures=\"1\""));
        assert!(xml.contains("anonpub verify rel&lt;1&gt;"));
        assert!(xml.contains("3 (k = 5, 100% of rows)&#10;second line"));
    }

    #[test]
    fn json_and_text_agree_on_the_outcome() {
        let value: serde_json::Value =
            serde_json::from_str(&json_text(Path::new("r"), &checks())).unwrap();
        assert_eq!(value["passed"], false);
        assert_eq!(value["failed"], 1);
        assert_eq!(value["checks"][1]["name"], "k-anonymity");
        let table = text(&checks());
        assert!(table
            .lines()
            .any(|l| l.starts_with("k-anonymity") && l.contains("FAIL")));
        assert!(!table.contains("all 2 checks passed"));
    }
}
