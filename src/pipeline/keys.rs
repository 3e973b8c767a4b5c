//! The keys of a release's keyed defences, derived in the pipeline from the source's secret or
//! kept in the ledger: the methods are handed keys, never the secrets they come from.

use zeroize::Zeroizing;

use crate::anonymize::group_noise::GROUP_NOISE_LABEL;
use crate::error::{Error, Result};
use crate::extract::crypto::FieldKey;
use crate::ledger::Ledger;

/// The key of the group noise: the subkey of the source's encryption key when there is one,
/// otherwise the key kept in the ledger (drawn on first use; the caller then writes the ledger
/// at `ledger_path`). Neither: refused (exit 2), naming `--ledger`.
pub fn group_noise_key(
    field_key: Option<&FieldKey>,
    ledger: Option<(&mut Ledger, &std::path::Path)>,
) -> Result<Zeroizing<[u8; 32]>> {
    match (field_key, ledger) {
        (Some(key), _) => Ok(key.subkey(GROUP_NOISE_LABEL)),
        (None, Some((ledger, path))) => ledger.group_noise_key(path),
        (None, None) => Err(Error::InvalidArgument {
            name: "--ledger",
            problem: "the keyed group noise (defences.group_noise_sd) needs a key that outlives \
                      the release, and this source has no secret to derive it from: give a \
                      --key-file, or a --ledger where a key is drawn once and kept, or set \
                      defences.group_noise_sd = 0"
                .into(),
        }),
    }
}

/// HMAC-SHA256(`key`, `label`): a key for another purpose, as
/// [`crate::extract::crypto::FieldKey::subkey`] derives them.
pub fn derive(key: &[u8; 32], label: &str) -> Zeroizing<[u8; 32]> {
    use hmac::{Hmac, Mac};
    let mut mac =
        <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(label.as_bytes());
    Zeroizing::new(mac.finalize().into_bytes().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_comes_from_the_encryption_key_or_the_ledger_or_nowhere() {
        let field_key = FieldKey::derive(b"test key");
        let derived = group_noise_key(Some(&field_key), None).unwrap();
        assert_eq!(*derived, *field_key.subkey(GROUP_NOISE_LABEL));
        let path = std::path::Path::new("ledger.json");
        let mut ledger = Ledger::default();
        let kept = group_noise_key(None, Some((&mut ledger, path))).unwrap();
        assert_eq!(
            *kept,
            *group_noise_key(None, Some((&mut ledger, path))).unwrap()
        );
        assert_ne!(*kept, *derived);
        let refused = group_noise_key(None, None).unwrap_err();
        assert_eq!(refused.exit_code(), 2);
        assert!(refused.to_string().contains("--ledger"));
    }
}
