//! Keys and secrets, pure: the data keys (HKDF, sealing, the backup codes'
//! MAC), the RSA keys that sign access tokens, randomness. No AWS: where the
//! keys come from is `app::keyring`.

mod data_keys;
mod device_token;
mod random;
mod signing_keys;

pub use data_keys::{DataKey, KeySet};
pub use device_token::DeviceToken;
pub use random::{random_bytes, random_id, time_ordered_id};
pub use signing_keys::{
    DEFAULT_LEAD_SECS, Jwk, KEY_SET_MAX_AGE_SECS, SigningKey, SigningKeyMac, SigningKeys, StoredSigningKey,
};
