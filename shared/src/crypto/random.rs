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
