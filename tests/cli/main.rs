//! Integration tests: run the real `anonpub` binary on real files in fresh temporary directories.

mod access_log;
mod anonymize;
mod architecture;
mod bad_inputs;
mod fixtures;
mod gates;
mod generalized;
mod numeric_table;
mod properties;
mod publish;
mod release;
mod risk;
mod sample;
mod sizechart;
mod table_source;
mod tabulate;
mod verify;
