//! SIGINT and SIGTERM leave nothing half-written.
//!
//! A watcher thread waits for either signal; when one arrives it removes every registered staging
//! directory or partial file and exits with code 2. Committing a release holds the same lock while it renames, so
//! a signal lands either before the rename (nothing written) or after it (a complete release).

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
                if std::fs::remove_dir_all(path).is_err() {
                    let _ = std::fs::remove_file(path);
                }
            }
            eprintln!("error: {}", crate::Error::Interrupted);
            std::process::exit(2);
        }
    });
}

/// Remembers a directory or file to remove if the process is interrupted.
pub fn register_cleanup(dir: &Path) {
    lock().push(dir.to_path_buf());
}

/// Forgets a directory (it was committed or already removed).
pub fn unregister_cleanup(dir: &Path) {
    lock().retain(|d| d != dir);
}

/// Runs `step` while no interrupt can be handled, then forgets `dir`.
pub fn without_interrupts<T>(dir: &Path, step: impl FnOnce() -> T) -> T {
    let mut registered = lock();
    let outcome = step();
    registered.retain(|d| d != dir);
    outcome
}
