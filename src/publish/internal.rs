//! The internal report: figures that compare the raw data with the release.
//!
//! Utility and linkage-attack results tell an attacker how far released values are from the raw
//! ones, which helps calibrate an attack, so they must never be published. They are therefore
//! written to a separate file that may not lie inside the release directory (even through `..`
//! or a symbolic link), readable by its owner only (0600), and replaced atomically. The simulated
//! attacks of issue 14 ([`crate::risk::attacks`]) go there too, as the `attacks` section
//! ([`attacks_section`]).

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use crate::atomic::StagedFile;
use crate::error::{Error, Result};
use crate::risk::attacks::AttacksReport;
use crate::risk::recovery::RecoveryFigures;

/// Refuses an internal report path inside `release_dir`, one whose directory does not exist, or
/// an existing file without `force`. Called before any work starts.
pub fn check_internal_report(path: &Path, release_dir: &Path, force: bool) -> Result<()> {
    let refuse = |problem: String| Error::InvalidArgument {
        name: "--internal-report",
        problem,
    };
    let report = resolve(path).map_err(|e| Error::io("resolve", path, e))?;
    let release = resolve(release_dir).map_err(|e| Error::io("resolve", release_dir, e))?;
    if report.starts_with(&release) {
        return Err(refuse(format!(
            "{} is inside the release directory {}; the internal report must never be published",
            path.display(),
            release_dir.display()
        )));
    }
    if report.file_name().is_none() {
        return Err(refuse(format!("{} does not name a file", path.display())));
    }
    let parent = report.parent().unwrap_or(Path::new("/"));
    if !parent.is_dir() {
        return Err(refuse(format!(
            "the directory of {} does not exist",
            path.display()
        )));
    }
    if report.is_dir() {
        return Err(refuse(format!("{} is a directory", path.display())));
    }
    if report.exists() && !force {
        return Err(Error::OutputExists { path: path.into() });
    }
    Ok(())
}

/// Writes the report as pretty JSON (0600), atomically ([`StagedFile`]); an existing file is
/// replaced only with `force`.
pub fn write_internal_report(path: &Path, report: &serde_json::Value, force: bool) -> Result<()> {
    let mut bytes = serde_json::to_vec_pretty(report).expect("JSON values serialize");
    bytes.push(b'\n');
    let (staged, mut file) = StagedFile::create(path, 0o600, force, "--internal-report")?;
    file.write_all(&bytes)
        .and_then(|_| file.sync_all())
        .map_err(|e| Error::io("write", path, e))?;
    staged.commit()
}

/// The `attacks` section of the internal report: for each attack, the share of targets
/// recovered and the median error in standard deviations (`summary`), then the full figures
/// (`detail`), both from [`AttacksReport`]. Never published: the figures describe the private
/// data.
pub fn attacks_section(attacks: &AttacksReport) -> serde_json::Value {
    let line = |attack: &str, figures: &RecoveryFigures| {
        serde_json::json!({
            "attack": attack,
            "targets": figures.targets,
            "recovered_share": figures.recovered_share,
            "median_error_sd": figures.median_error_sd,
        })
    };
    let known = &attacks.known_members;
    serde_json::json!({
        "summary": [
            line("differencing_leaver", &attacks.differencing.leavers),
            line("differencing_joiner", &attacks.differencing.joiners),
            line("fake_accounts", &attacks.fake_accounts),
            line("known_members", &known.rebuilt),
        ],
        "public_exposed_share": known.exposed_share,
        "membership": {
            "gated_auc": attacks.membership.gated_auc(),
            "all": attacks.membership.all,
            "wide": attacks.membership.wide,
        },
        "detail": attacks,
    })
}

/// An absolute path without `.`, `..` or symbolic links: walked one component at a time, each
/// existing prefix replaced by its canonical form, so a `..` always steps to the real parent.
fn resolve(path: &Path) -> std::io::Result<PathBuf> {
    let mut resolved = PathBuf::from("/");
    for component in std::path::absolute(path)?.components() {
        match component {
            Component::Prefix(_) | Component::RootDir | Component::CurDir => {}
            Component::ParentDir => {
                resolved.pop();
            }
            Component::Normal(name) => {
                resolved.push(name);
                if let Ok(real) = resolved.canonicalize() {
                    resolved = real;
                }
            }
        }
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_paths_inside_the_release_however_spelled() {
        let root = tempfile::tempdir().unwrap();
        let release = root.path().join("release");
        let inside = [
            release.join("internal.json"),
            release.join("sub/../internal.json"),
            root.path().join("elsewhere/../release/internal.json"),
            release.clone(),
        ];
        for path in &inside {
            let error = check_internal_report(path, &release, true).unwrap_err();
            assert!(error.to_string().contains("--internal-report"), "{error}");
        }
        std::fs::create_dir(&release).unwrap();
        let link = root.path().join("link");
        std::os::unix::fs::symlink(&release, &link).unwrap();
        assert!(check_internal_report(&link.join("internal.json"), &release, true).is_err());
        check_internal_report(&root.path().join("internal.json"), &release, false).unwrap();
        // A sibling whose name merely starts like the release is outside it.
        check_internal_report(&root.path().join("release-internal.json"), &release, false).unwrap();
    }

    #[test]
    fn missing_directory_and_existing_file() {
        let root = tempfile::tempdir().unwrap();
        let release = root.path().join("release");
        let nowhere = root.path().join("no/such/dir/internal.json");
        assert!(check_internal_report(&nowhere, &release, true)
            .unwrap_err()
            .to_string()
            .contains("does not exist"));
        let existing = root.path().join("internal.json");
        std::fs::write(&existing, "{}").unwrap();
        assert!(check_internal_report(&existing, &release, false).is_err());
        check_internal_report(&existing, &release, true).unwrap();
    }

    #[test]
    fn writes_private_json_atomically() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("internal.json");
        write_internal_report(&path, &serde_json::json!({"a": 1}), false).unwrap();
        write_internal_report(&path, &serde_json::json!({"a": 2}), true).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"a\": 2"));
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&path).unwrap().permissions(),
        ) & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 1);
    }
}
