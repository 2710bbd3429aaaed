//! Randomness from the operating system: bytes, and ids unique by chance.

/// `N` bytes from the OS random source.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    bytes
}

/// 128 random bits, URL-safe.
pub fn random_id() -> String {
    data_encoding::BASE32_NOPAD.encode(&random_bytes::<16>()).to_lowercase()
}

/// An id that sorts (as text) by `at_millis`, then at random: 48 bits of
/// the time and 80 random bits, in base32's extended-hex alphabet, whose
/// order is the bytes' order. For lists that must keep the order of adding
/// within one second.
pub fn time_ordered_id(at_millis: i64) -> String {
    let mut bytes = [0u8; 16];
    bytes[..6].copy_from_slice(&at_millis.to_be_bytes()[2..]);
    bytes[6..].copy_from_slice(&random_bytes::<10>());
    data_encoding::BASE32HEX_NOPAD.encode(&bytes).to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_ordered_ids_sort_by_their_millisecond() {
        let ids: Vec<String> =
            [1_800_000_000_999, 1_800_000_000_001, 1_800_000_000_500].iter().map(|at| time_ordered_id(*at)).collect();
        let mut sorted = ids.clone();
        sorted.sort();
        assert_eq!(sorted, [ids[1].clone(), ids[2].clone(), ids[0].clone()]);
        assert_eq!(ids[0].len(), 26);
        assert_ne!(time_ordered_id(7), time_ordered_id(7), "random after the time");
    }
}
