//! Integration tests: run the real `anonpub` binary on real files in fresh temporary directories.

mod anonymize;
mod fixtures;
mod publish;
mod sample;
mod verify;
