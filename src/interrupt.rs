//! SIGINT and SIGTERM leave nothing half-written.
//!
//! A watcher thread waits for either signal; when one arrives it removes every registered staging
//! path (a release's staging directory, a sample database being written) and exits with code 2.
//! Committing holds the same lock while it renames, so a signal lands either before the rename
//! (nothing written) or after it (a complete output).

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

fn registry() -> &'static Mutex<Vec<PathBuf>> {
    static REGISTRY: OnceLock<Mutex<Vec<PathBuf>>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(Vec::new()))
}

fn lock() -> MutexGuard<'static, Vec<PathBuf>> {
    registry()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts the watcher thread; call once from `main`.
pub fn install() {
    let Ok(mut signals) = Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        if signals.forever().next().is_some() {
            let registered = lock();
            for path in registered.iter() {
                remove(path);
            }
            eprintln!("error: {}", crate::Error::Interrupted);
            std::process::exit(2);
        }
    });
}

/// Attempts at removing one path: the main thread keeps writing until the process exits, so a
/// file it creates between listing a directory and removing it makes one attempt fail.
const REMOVE_ATTEMPTS: usize = 100;

/// Removes a file or a directory tree, retrying while the main thread may still be adding to it.
fn remove(path: &Path) {
    for _ in 0..REMOVE_ATTEMPTS {
        let outcome = match std::fs::symlink_metadata(path) {
            Ok(metadata) if metadata.is_dir() => std::fs::remove_dir_all(path),
            Ok(_) => std::fs::remove_file(path),
            Err(_) => return,
        };
        if outcome.is_ok() {
            return;
        }
    }
}

/// Remembers a file or directory to remove if the process is interrupted. Register a path before
/// creating it, so that no moment exists where it is there but unknown to the watcher.
pub fn register_cleanup(path: &Path) {
    lock().push(path.to_path_buf());
}

/// Forgets a path (it was committed or already removed).
pub fn unregister_cleanup(path: &Path) {
    lock().retain(|p| p != path);
}

/// Runs `step` while no interrupt can be handled, then forgets `paths`.
pub fn without_interrupts<T>(paths: &[&Path], step: impl FnOnce() -> T) -> T {
    let mut registered = lock();
    let outcome = step();
    registered.retain(|p| !paths.contains(&p.as_path()));
    outcome
}
