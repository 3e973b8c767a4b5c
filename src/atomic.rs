//! Outputs appear whole or not at all, and never replace what another run wrote.
//!
//! Every output (a release directory, the `anonymize` directory, the internal report, the sample
//! database and its key) is written under a private staging name beside its target,
//! `.NAME.anonpub-staging-PID` (same filesystem, so the final step is one `rename`), and moved
//! into place by `commit`. The promises, and what
//! keeps each:
//!
//! - **Whole or nothing.** Dropping an uncommitted staging (every error path, a panic unwinding)
//!   removes it; SIGINT and SIGTERM remove it through [`crate::interrupt`], and the commit holds
//!   signals off while it renames, so a signal lands before (nothing written) or after (complete).
//! - **No silent replacement.** The check at start ([`check_target`]) only saves a refused run its
//!   work; another run may publish to the same target meanwhile. Without `--force` the final step
//!   cannot replace it: `rename(2)` refuses to move a directory onto a non-empty one, and a file is
//!   put in place with `link(2)`, which refuses an existing name. The losing run says so and
//!   leaves the winner's output untouched. With `--force` the target is replaced, as asked.
//! - **Durable.** Files are synced before the rename and the parent directory after it, so a crash
//!   after `commit` returns cannot lose the rename.
//! - **No debris.** A run killed with SIGKILL (or by a power cut) leaves its staging behind; the
//!   next run writing the same target removes staging entries whose process is gone (no
//!   `/proc/PID`; where `/proc` is not mounted, nothing is removed rather than guessed).
//!
//! Staged directories are 0700 until they become the output (0755); the files in them are 0644
//! (public data) unless created otherwise. A staged file gets the mode its caller chooses (0600
//! for the internal report).

use std::fs;
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Marks a staging entry; the writer's process id follows it.
const STAGING_MARK: &str = ".anonpub-staging-";

/// Suffix of a replaced output waiting to be removed after a forced commit.
const REPLACED_SUFFIX: &str = ".replaced";

/// Refuses a target that exists and is not an empty directory unless `force` is set. Called
/// before any work starts, so a run that would be refused costs nothing; the commit checks again.
pub fn check_target(target: &Path, force: bool) -> Result<()> {
    match fs::read_dir(target).map(|mut entries| entries.next().is_none()) {
        Ok(true) => Ok(()),
        Ok(false) if force => Ok(()),
        Ok(false) => Err(Error::OutputExists {
            path: target.into(),
        }),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(_) if target.is_file() => Err(Error::bad_file(
            target,
            None,
            "exists and is a file, not a directory",
        )),
        Err(e) => Err(Error::io("read output directory", target, e)),
    }
}

/// Where an output goes and under which name it is staged.
#[derive(Debug)]
struct Placement {
    /// The output's final path.
    target: PathBuf,
    /// The directory holding the target (and the staging entry).
    parent: PathBuf,
    /// `.NAME.anonpub-staging-PID` in `parent`.
    staging: PathBuf,
}

impl Placement {
    /// The placement of `target`, after removing stale staging entries of dead runs beside it.
    fn new(target: &Path, flag: &'static str) -> Result<Self> {
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .ok_or_else(|| Error::InvalidArgument {
                name: flag,
                problem: "must name a directory or file, not end in `..`".into(),
            })?
            .to_string_lossy()
            .into_owned();
        let prefix = format!(".{name}{STAGING_MARK}");
        remove_stale(&parent, &prefix)?;
        let staging = parent.join(format!("{prefix}{}", std::process::id()));
        // A leftover of this very process id (an earlier process that had it): not ours to keep.
        remove_entry(&staging)?;
        Ok(Placement {
            target: target.into(),
            parent,
            staging,
        })
    }

    /// Where a forced commit moves the old output before removing it.
    fn replaced(&self) -> PathBuf {
        let mut name = self.staging.clone().into_os_string();
        name.push(REPLACED_SUFFIX);
        name.into()
    }

    /// The error of a commit that found the target taken by someone else meanwhile.
    fn taken(&self) -> Error {
        Error::OutputAppeared {
            path: self.target.clone(),
        }
    }

    /// Syncs the parent directory, so that the rename survives a crash.
    fn sync_parent(&self) -> Result<()> {
        fs::File::open(&self.parent)
            .and_then(|dir| dir.sync_all())
            .map_err(|e| Error::io("sync directory", &self.parent, e))
    }
}

/// Removes the staging entries (`PREFIX<pid>`, `PREFIX<pid>.replaced`) of processes that no longer
/// exist. Entries of live processes (a run in progress) are left alone.
fn remove_stale(parent: &Path, prefix: &str) -> Result<()> {
    if !Path::new("/proc/self").exists() {
        return Ok(());
    }
    let Ok(entries) = fs::read_dir(parent) else {
        // An unreadable parent fails later, where the output is created, with a clear message.
        return Ok(());
    };
    for entry in entries.filter_map(std::result::Result::ok) {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|name| name.strip_prefix(prefix))
            .map(|rest| rest.strip_suffix(REPLACED_SUFFIX).unwrap_or(rest))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if !Path::new("/proc").join(pid.to_string()).exists() {
            let path = entry.path();
            tracing::info!(
                "removing {}, left behind by an interrupted run",
                path.display()
            );
            remove_entry(&path)?;
        }
    }
    Ok(())
}

/// Removes a file or a directory tree; a path that does not exist is fine.
fn remove_entry(path: &Path) -> Result<()> {
    let removed = match fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    };
    removed.map_err(|e| Error::io("remove stale staging entry", path, e))
}

/// A staging directory that becomes the output directory on [`Staging::commit`].
pub struct Staging {
    place: Placement,
    force: bool,
    committed: bool,
}

impl Staging {
    /// Creates the staging directory beside `target`; `force` lets the commit replace an existing
    /// target. `flag` names the option that chose the target, for errors (`--out`).
    pub fn new(target: &Path, force: bool, flag: &'static str) -> Result<Self> {
        let place = Placement::new(target, flag)?;
        crate::interrupt::register_cleanup(&place.staging);
        if let Err(e) = fs::DirBuilder::new().mode(0o700).create(&place.staging) {
            crate::interrupt::unregister_cleanup(&place.staging);
            return Err(Error::io("create staging directory in", &place.parent, e));
        }
        Ok(Staging {
            place,
            force,
            committed: false,
        })
    }

    /// Path of a file inside the staging directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.place.staging.join(name)
    }

    /// Writes a whole file (0644) and syncs it.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path(name);
        let mut file = self.create(name)?;
        file.write_all(bytes)
            .map_err(|e| Error::io("write", &path, e))?;
        file.sync_all().map_err(|e| Error::io("sync", &path, e))
    }

    /// Creates a file (0644) for streaming writes; the caller syncs it.
    pub fn create(&self, name: &str) -> Result<fs::File> {
        create_file(&self.path(name), 0o644)
    }

    /// Moves the staging directory into place. Without `force`, a target that appeared since
    /// [`check_target`] (another run's output) is never replaced: the commit fails instead.
    pub fn commit(mut self) -> Result<()> {
        let place = &self.place;
        fs::set_permissions(&place.staging, fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io("set permissions of", &place.staging, e))?;
        let displaced = place.replaced();
        let moved_aside = crate::interrupt::without_interrupts(&[&place.staging], || {
            let moved_aside = self.force && move_aside(&place.target, &displaced)?;
            match fs::rename(&place.staging, &place.target) {
                Ok(()) => Ok(moved_aside),
                Err(e) => {
                    if moved_aside {
                        let _ = fs::rename(&displaced, &place.target);
                    }
                    Err(if is_taken(&e) {
                        place.taken()
                    } else {
                        Error::io("move output into", &place.target, e)
                    })
                }
            }
        });
        // The staging directory is forgotten by the interrupt handler either way; keep removing
        // it on drop if it did not move.
        let moved_aside = match moved_aside {
            Ok(moved_aside) => moved_aside,
            Err(e) => {
                crate::interrupt::register_cleanup(&place.staging);
                return Err(e);
            }
        };
        self.committed = true;
        self.place.sync_parent()?;
        if moved_aside {
            fs::remove_dir_all(&displaced)
                .map_err(|e| Error::io("remove replaced output", &displaced, e))?;
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.place.staging);
            crate::interrupt::unregister_cleanup(&self.place.staging);
        }
    }
}

/// A file written under a staging name that becomes `target` on [`StagedFile::commit`].
pub struct StagedFile {
    place: Placement,
    force: bool,
    committed: bool,
}

impl StagedFile {
    /// Creates the staging file beside `target` with `mode` (not filtered by the umask) and
    /// returns it open for writing; `force` lets the commit replace an existing target. `flag`
    /// names the option that chose the target, for errors.
    pub fn create(
        target: &Path,
        mode: u32,
        force: bool,
        flag: &'static str,
    ) -> Result<(Self, fs::File)> {
        let place = Placement::new(target, flag)?;
        crate::interrupt::register_cleanup(&place.staging);
        let staged = StagedFile {
            place,
            force,
            committed: false,
        };
        let file = create_file(&staged.place.staging, mode)?;
        Ok((staged, file))
    }

    /// Path of the staging file, for writers that open files by name (SQLite).
    pub fn path(&self) -> &Path {
        &self.place.staging
    }

    /// Moves the (written and synced) file into place. Without `force` an existing target is never
    /// replaced: the file is linked under the target's name, which fails if the name is taken.
    pub fn commit(self) -> Result<()> {
        commit_files(vec![self])
    }

    /// Puts this file in place; called with signals held off.
    fn place(&self) -> Result<()> {
        let place = &self.place;
        if self.force {
            return fs::rename(&place.staging, &place.target)
                .map_err(|e| Error::io("move into place", &place.target, e));
        }
        match fs::hard_link(&place.staging, &place.target) {
            Ok(()) => {
                let _ = fs::remove_file(&place.staging);
                Ok(())
            }
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Err(place.taken()),
            Err(e) => Err(Error::io("move into place", &place.target, e)),
        }
    }
}

/// Moves several staged files into place together, with signals held off until all are (a
/// database and its key file appear as a pair); stops at the first that cannot be placed.
pub fn commit_files(mut files: Vec<StagedFile>) -> Result<()> {
    let paths: Vec<&Path> = files.iter().map(StagedFile::path).collect();
    let placed = crate::interrupt::without_interrupts(&paths, || {
        files.iter().try_for_each(StagedFile::place)
    });
    if let Err(e) = placed {
        for file in &files {
            crate::interrupt::register_cleanup(file.path());
        }
        return Err(e);
    }
    for file in &mut files {
        file.committed = true;
    }
    files.iter().try_for_each(|file| file.place.sync_parent())
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.place.staging);
            crate::interrupt::unregister_cleanup(&self.place.staging);
        }
    }
}

/// Creates a new file with exactly `mode`.
fn create_file(path: &Path, mode: u32) -> Result<fs::File> {
    let file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(|e| Error::io("create", path, e))?;
    // The mode above is filtered by the umask; the caller chose it on purpose.
    file.set_permissions(fs::Permissions::from_mode(mode))
        .map_err(|e| Error::io("set permissions of", path, e))?;
    Ok(file)
}

/// Moves an existing target aside for a forced commit; `false` when there is none.
fn move_aside(target: &Path, displaced: &Path) -> Result<bool> {
    match fs::rename(target, displaced) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("move aside", target, e)),
    }
}

/// Whether a failed rename means the target is taken: a non-empty directory (ENOTEMPTY, or EEXIST
/// on some systems) or a file where a directory was to go.
fn is_taken(error: &std::io::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::DirectoryNotEmpty | ErrorKind::AlreadyExists | ErrorKind::NotADirectory
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn dropped_staging_leaves_nothing_and_a_forced_commit_replaces() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("release");
        {
            let staging = Staging::new(&target, false, "--out").unwrap();
            staging.write("a.txt", b"x").unwrap();
        }
        assert!(names(root.path()).is_empty());

        let staging = Staging::new(&target, false, "--out").unwrap();
        staging.write("a.txt", b"first").unwrap();
        staging.commit().unwrap();
        assert!(check_target(&target, false).is_err());
        check_target(&target, true).unwrap();
        let staging = Staging::new(&target, true, "--out").unwrap();
        staging.write("b.txt", b"second").unwrap();
        staging.commit().unwrap();
        assert!(!target.join("a.txt").exists());
        assert_eq!(fs::read(target.join("b.txt")).unwrap(), b"second");
        assert_eq!(mode(&target.join("b.txt")), 0o644);
        assert_eq!(mode(&target), 0o755);
        assert_eq!(names(root.path()), ["release"]);
    }

    #[test]
    fn without_force_a_target_that_appeared_meanwhile_is_kept() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("release");
        check_target(&target, false).unwrap();
        let staging = Staging::new(&target, false, "--out").unwrap();
        staging.write("ours.txt", b"late").unwrap();
        // Another run publishes first.
        fs::create_dir(&target).unwrap();
        fs::write(target.join("theirs.txt"), b"early").unwrap();
        let error = staging.commit().unwrap_err();
        assert!(matches!(error, Error::OutputAppeared { .. }), "{error}");
        assert_eq!(names(&target), ["theirs.txt"]);
        assert_eq!(names(root.path()), ["release"], "staging removed");

        // A file target behaves the same.
        let report = root.path().join("internal.json");
        let (staged, mut file) = StagedFile::create(&report, 0o600, false, "--x").unwrap();
        file.write_all(b"late").unwrap();
        fs::write(&report, b"early").unwrap();
        assert!(matches!(
            staged.commit().unwrap_err(),
            Error::OutputAppeared { .. }
        ));
        assert_eq!(fs::read(&report).unwrap(), b"early");
        assert_eq!(names(root.path()), ["internal.json", "release"]);
    }

    #[test]
    fn staged_files_keep_their_mode_and_replace_only_when_forced() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("internal.json");
        for (text, force) in [(&b"one"[..], false), (b"two", true)] {
            let (staged, mut file) = StagedFile::create(&target, 0o600, force, "--x").unwrap();
            file.write_all(text).unwrap();
            file.sync_all().unwrap();
            staged.commit().unwrap();
            assert_eq!(fs::read(&target).unwrap(), text);
        }
        assert_eq!(mode(&target), 0o600);
        assert_eq!(names(root.path()), ["internal.json"]);
        {
            let _dropped = StagedFile::create(&target, 0o600, true, "--x").unwrap();
        }
        assert_eq!(names(root.path()), ["internal.json"]);

        // A pair appears together.
        let (db, key) = (root.path().join("s.sqlite"), root.path().join("s.key"));
        let (staged_db, mut file) = StagedFile::create(&db, 0o600, true, "--db").unwrap();
        file.write_all(b"db").unwrap();
        let (staged_key, mut file) = StagedFile::create(&key, 0o600, true, "--key-file").unwrap();
        file.write_all(b"key").unwrap();
        assert!(staged_db.path().starts_with(root.path()));
        commit_files(vec![staged_db, staged_key]).unwrap();
        assert_eq!(fs::read(&db).unwrap(), b"db");
        assert_eq!(fs::read(&key).unwrap(), b"key");
        assert_eq!(names(root.path()), ["internal.json", "s.key", "s.sqlite"]);
    }

    #[test]
    fn staging_of_dead_runs_is_removed_and_of_live_runs_kept() {
        let root = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = root.path().join(format!(".release{STAGING_MARK}{dead}"));
        fs::create_dir(&stale).unwrap();
        fs::write(stale.join("measurements.csv"), b"part").unwrap();
        let stale_replaced = root
            .path()
            .join(format!(".release{STAGING_MARK}{dead}{REPLACED_SUFFIX}"));
        fs::create_dir(&stale_replaced).unwrap();
        // PID 1 is alive; another target's staging is not ours to judge.
        let live = root.path().join(format!(".release{STAGING_MARK}1"));
        let other = root.path().join(format!(".other{STAGING_MARK}{dead}"));
        fs::create_dir(&live).unwrap();
        fs::create_dir(&other).unwrap();
        let staging = Staging::new(&root.path().join("release"), false, "--out").unwrap();
        staging.commit().unwrap();
        let mut expected = vec![
            format!(".other{STAGING_MARK}{dead}"),
            format!(".release{STAGING_MARK}1"),
            "release".to_string(),
        ];
        expected.sort();
        assert_eq!(names(root.path()), expected);
    }
}
