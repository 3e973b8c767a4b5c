//! Integration tests: run the real `anonpub` binary on real files in fresh temporary directories.

mod fixtures;
mod gates;
mod publish;
mod release;
mod risk;
mod sample;
mod verify;
