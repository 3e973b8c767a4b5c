//! `SHA256SUMS`: one `<hex>  <file>` line per release file, in the format `sha256sum -c` reads.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut hasher = Sha256::new();
    stream_file(path, |chunk| hasher.update(chunk))?;
    Ok(hex::encode(hasher.finalize()))
}

/// Feeds a file to `consume` in 64 KiB chunks, so hashing a large file needs little memory.
pub fn stream_file(path: &Path, mut consume: impl FnMut(&[u8])) -> Result<()> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io("read", path, e))?;
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let n = file
            .read(&mut buffer)
            .map_err(|e| Error::io("read", path, e))?;
        if n == 0 {
            return Ok(());
        }
        consume(&buffer[..n]);
    }
}

/// The text of a checksum file for `(name, hex digest)` pairs, sorted by name.
pub fn checksum_text(mut entries: Vec<(String, String)>) -> String {
    entries.sort();
    entries
        .iter()
        .map(|(name, digest)| format!("{digest}  {name}\n"))
        .collect()
}

/// Parses a checksum file into `(name, hex digest)` pairs; `None` names the first bad line.
pub fn parse_checksums(text: &str) -> std::result::Result<Vec<(String, String)>, usize> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(number, line)| {
            let (digest, name) = line.split_once("  ").ok_or(number + 1)?;
            let valid = digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit());
            if !valid || name.is_empty() || name.contains('/') {
                return Err(number + 1);
            }
            Ok((name.to_string(), digest.to_ascii_lowercase()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_text_round_trips() {
        let digest = "a".repeat(64);
        let text = checksum_text(vec![
            ("b.csv".into(), digest.clone()),
            ("a.json".into(), digest.clone()),
        ]);
        assert!(text.starts_with(&format!("{digest}  a.json\n")));
        assert_eq!(parse_checksums(&text).unwrap().len(), 2);
        assert_eq!(parse_checksums("zz  x\n"), Err(1));
        assert_eq!(parse_checksums(&format!("{digest}  ../etc/passwd")), Err(1));
    }
}
