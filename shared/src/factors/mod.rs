//! What a user proves, and how each is made and checked: the password
//! (argon2id), TOTP codes, backup codes, passkeys (WebAuthn). No storage.

pub mod backup_codes;
pub mod passkey;
pub mod password;
pub mod totp;
