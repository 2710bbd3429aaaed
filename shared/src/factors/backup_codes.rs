//! One-time backup codes: 10 per set, 10 characters of the lower-case RFC 4648
//! base32 alphabet each (50 bits), shown once as `xxxxx-xxxxx`, stored only as
//! keyed hashes (see [`KeySet::backup_code_hash`]).

use crate::crypto::KeySet;
use crate::crypto::random_bytes;

const CODES_PER_SET: usize = 10;
const CODE_CHARS: usize = 10;
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A freshly generated set: what the user is shown, and what is stored.
pub struct BackupCodeSet {
    pub shown: Vec<String>,
    pub hashes: Vec<String>,
}

impl BackupCodeSet {
    pub fn generate(keys: &KeySet, user_id: &str) -> Self {
        let mut shown = Vec::with_capacity(CODES_PER_SET);
        let mut hashes = Vec::with_capacity(CODES_PER_SET);
        while shown.len() < CODES_PER_SET {
            let code = random_code();
            let hash = keys.backup_code_hash(user_id, &code);
            if hashes.contains(&hash) {
                continue;
            }
            shown.push(format!("{}-{}", &code[..5], &code[5..]));
            hashes.push(hash);
        }
        BackupCodeSet { shown, hashes }
    }
}

fn random_code() -> String {
    let bytes: [u8; CODE_CHARS] = random_bytes();
    // 256 is a multiple of 32: taking the low five bits is unbiased.
    bytes.iter().map(|b| ALPHABET[(b & 31) as usize] as char).collect()
}

/// The canonical form of a typed backup code: dashes and spaces dropped,
/// lower case; `None` if what is left cannot be a backup code.
fn normalize(typed: &str) -> Option<String> {
    let code: String = typed.chars().filter(|c| *c != '-' && *c != ' ').collect::<String>().to_lowercase();
    (code.len() == CODE_CHARS && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// The stored hash that `typed` matches, if any.
pub fn find_match(keys: &KeySet, user_id: &str, typed: &str, stored: &[String]) -> Option<String> {
    let code = normalize(typed)?;
    stored
        .iter()
        .find(|hash| {
            keys.backup_code_hash_like(hash, user_id, &code)
                .is_some_and(|candidate| subtle::ConstantTimeEq::ct_eq(candidate.as_bytes(), hash.as_bytes()).into())
        })
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::DataKey;
    use std::collections::HashSet;

    fn keys() -> KeySet {
        KeySet::new(vec![DataKey::derive("k1", &[5u8; 32])]).unwrap()
    }

    #[test]
    fn a_set_is_ten_distinct_dashed_base32_codes() {
        let set = BackupCodeSet::generate(&keys(), "u");
        assert_eq!(set.shown.len(), 10);
        assert_eq!(set.shown.iter().collect::<HashSet<_>>().len(), 10);
        for code in &set.shown {
            assert_eq!(code.len(), 11);
            assert_eq!(&code[5..6], "-");
            assert!(code.bytes().filter(|b| *b != b'-').all(|b| ALPHABET.contains(&b)), "{code}");
        }
        assert!(set.hashes.iter().all(|h| !set.shown.iter().any(|c| h.contains(&c.replace('-', "")))));
    }

    #[test]
    fn codes_match_in_any_case_with_or_without_dash_and_spaces() {
        let keys = keys();
        let set = BackupCodeSet::generate(&keys, "u");
        let code = &set.shown[3];
        for typed in
            [code.clone(), code.replace('-', ""), code.to_uppercase(), format!(" {} ", code.replace('-', " - "))]
        {
            assert_eq!(find_match(&keys, "u", &typed, &set.hashes).as_ref(), Some(&set.hashes[3]), "{typed}");
        }
        assert_eq!(find_match(&keys, "other-user", code, &set.hashes), None);
        assert_eq!(find_match(&keys, "u", "aaaaa-aaaa1", &set.hashes), None);
        assert_eq!(find_match(&keys, "u", "", &set.hashes), None);
    }

    #[test]
    fn ten_thousand_codes_do_not_repeat() {
        let codes: HashSet<String> = (0..10_000).map(|_| random_code()).collect();
        assert_eq!(codes.len(), 10_000);
    }
}
