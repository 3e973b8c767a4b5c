//! Integration tests: run the real `anonpub` binary on real files in fresh temporary directories.

mod fixtures;
mod publish;
mod release;
mod sample;
mod verify;
