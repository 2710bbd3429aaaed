pub mod data_keys;
pub mod signing_keys;
