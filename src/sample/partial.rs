//! The files `anonpub sample` writes (database and key) appear together, complete, or not at all.
//!
//! Each is written as a private (0600) `<name>.partial` beside its target, registered with
//! [`crate::interrupt`] before it exists, and renamed into place with the others while no signal
//! can be handled. Dropping an uncommitted [`PartialFile`] removes it, so an error, a panic
//! unwinding, SIGINT and SIGTERM all leave neither a partial nor a mismatched pair behind.

use std::ffi::OsString;
use std::fs;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A new, empty, private file beside its target.
pub(super) struct PartialFile {
    path: PathBuf,
    committed: bool,
}

impl PartialFile {
    /// Creates `<target>.partial` (mode 0600), replacing a stale one.
    pub(super) fn create(target: &Path) -> Result<Self> {
        let mut name = OsString::from(target.as_os_str());
        name.push(".partial");
        let path = PathBuf::from(name);
        let _ = fs::remove_file(&path);
        crate::interrupt::register_cleanup(&path);
        let partial = PartialFile {
            path,
            committed: false,
        };
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&partial.path)
            .map_err(|e| Error::io("create", &partial.path, e))?;
        Ok(partial)
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.path);
            crate::interrupt::unregister_cleanup(&self.path);
        }
    }
}

/// Renames every partial file onto its target, with signals held off until all are in place.
pub(super) fn commit_all(mut files: Vec<(PartialFile, &Path)>) -> Result<()> {
    let paths: Vec<&Path> = files.iter().map(|(file, _)| file.path.as_path()).collect();
    crate::interrupt::without_interrupts(&paths, || {
        files.iter().try_for_each(|(file, target)| {
            fs::rename(&file.path, target).map_err(|e| Error::io("move into place", *target, e))
        })
    })?;
    for (file, _) in &mut files {
        file.committed = true;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn dropped_partials_vanish_and_committed_ones_replace_their_targets() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.sqlite"), dir.path().join("b.key"));
        {
            let partial = PartialFile::create(&a).unwrap();
            assert!(partial.path().ends_with("a.sqlite.partial"));
            let mode = fs::metadata(partial.path()).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);

        fs::write(&b, "old").unwrap();
        let (pa, pb) = (
            PartialFile::create(&a).unwrap(),
            PartialFile::create(&b).unwrap(),
        );
        fs::write(pa.path(), "db").unwrap();
        fs::write(pb.path(), "key").unwrap();
        commit_all(vec![(pa, &a), (pb, &b)]).unwrap();
        assert_eq!(fs::read_to_string(&a).unwrap(), "db");
        assert_eq!(fs::read_to_string(&b).unwrap(), "key");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 2);
    }
}
