//! Integration tests: run the real `anonpub` binary on real files in fresh temporary directories.

mod bad_inputs;
mod fixtures;
mod properties;
mod publish;
mod sample;
mod verify;
