//! A release directory appears whole or not at all.
//!
//! Files are written into a private staging directory beside the target (same filesystem, so the
//! final step is one `rename`). Dropping an uncommitted [`Staging`] removes it, so every error path
//! — including a panic unwinding — leaves nothing behind. Release files are made 0644 (public
//! data); the staging directory is 0700 until it becomes the release.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A staging directory that becomes the release on [`Staging::commit`].
pub struct Staging {
    dir: PathBuf,
    target: PathBuf,
    committed: bool,
}

/// Refuses a target that exists and is not an empty directory unless `force` is set. Called
/// before any work starts, so a run that would be refused costs nothing.
pub fn check_target(target: &Path, force: bool) -> Result<()> {
    match fs::read_dir(target).map(|mut entries| entries.next().is_none()) {
        Ok(true) => Ok(()),
        Ok(false) if force => Ok(()),
        Ok(false) => Err(Error::OutputExists {
            path: target.into(),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) if target.is_file() => Err(Error::bad_file(
            target,
            None,
            "exists and is a file, not a directory",
        )),
        Err(e) => Err(Error::io("read output directory", target, e)),
    }
}

impl Staging {
    /// Creates the staging directory beside `target`.
    pub fn new(target: &Path) -> Result<Self> {
        let parent = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target.file_name().ok_or_else(|| Error::InvalidArgument {
            name: "--out",
            problem: "must name a directory".into(),
        })?;
        let dir = parent.join(format!(
            ".{}.anonpub-staging-{}",
            name.to_string_lossy(),
            std::process::id()
        ));
        if dir.exists() {
            fs::remove_dir_all(&dir)
                .map_err(|e| Error::io("remove stale staging directory", &dir, e))?;
        }
        crate::interrupt::register_cleanup(&dir);
        if let Err(e) = fs::DirBuilder::new().mode(0o700).create(&dir) {
            crate::interrupt::unregister_cleanup(&dir);
            return Err(Error::io("create staging directory in", &parent, e));
        }
        Ok(Staging {
            dir,
            target: target.into(),
            committed: false,
        })
    }

    /// Path of a file inside the staging directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    /// Writes a whole file (0644) and syncs it.
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.path(name);
        let mut file = self.create(name)?;
        file.write_all(bytes)
            .map_err(|e| Error::io("write", &path, e))?;
        file.sync_all().map_err(|e| Error::io("sync", &path, e))
    }

    /// Creates a file (0644) for streaming writes.
    pub fn create(&self, name: &str) -> Result<fs::File> {
        let path = self.path(name);
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&path)
            .map_err(|e| Error::io("create", &path, e))?;
        // The mode above is filtered by the umask; release files are public data.
        file.set_permissions(fs::Permissions::from_mode(0o644))
            .map_err(|e| Error::io("set permissions of", &path, e))?;
        Ok(file)
    }

    /// Names of the files written so far, sorted.
    pub fn file_names(&self) -> Result<Vec<String>> {
        let mut names: Vec<String> = fs::read_dir(&self.dir)
            .map_err(|e| Error::io("list", &self.dir, e))?
            .filter_map(|entry| {
                entry
                    .ok()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
            })
            .collect();
        names.sort();
        Ok(names)
    }

    /// Moves the staging directory into place, replacing an existing target (already checked
    /// by [`check_target`]).
    pub fn commit(mut self) -> Result<()> {
        fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o755))
            .map_err(|e| Error::io("set permissions of", &self.dir, e))?;
        let displaced = self.dir.with_extension("replaced");
        let had_target = self.target.exists();
        crate::interrupt::without_interrupts(&[&self.dir], || {
            if had_target {
                fs::rename(&self.target, &displaced)
                    .map_err(|e| Error::io("move aside", &self.target, e))?;
            }
            fs::rename(&self.dir, &self.target).map_err(|e| {
                if had_target {
                    let _ = fs::rename(&displaced, &self.target);
                }
                Error::io("move release into", &self.target, e)
            })
        })?;
        self.committed = true;
        if had_target {
            fs::remove_dir_all(&displaced)
                .map_err(|e| Error::io("remove replaced release", &displaced, e))?;
        }
        Ok(())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_dir_all(&self.dir);
            crate::interrupt::unregister_cleanup(&self.dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_staging_leaves_nothing_and_commit_replaces() {
        let root = tempfile::tempdir().unwrap();
        let target = root.path().join("release");
        {
            let staging = Staging::new(&target).unwrap();
            staging.write("a.txt", b"x").unwrap();
        }
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 0);

        let staging = Staging::new(&target).unwrap();
        staging.write("a.txt", b"first").unwrap();
        staging.commit().unwrap();
        assert!(check_target(&target, false).is_err());
        check_target(&target, true).unwrap();
        let staging = Staging::new(&target).unwrap();
        staging.write("b.txt", b"second").unwrap();
        staging.commit().unwrap();
        assert!(!target.join("a.txt").exists());
        assert_eq!(fs::read(target.join("b.txt")).unwrap(), b"second");
        let mode = fs::metadata(target.join("b.txt"))
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o644);
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 1);
    }
}
