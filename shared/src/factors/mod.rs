//! What a user proves, and how each is made and checked: the password
//! (argon2id), TOTP codes, backup codes. No storage.

pub mod backup_codes;
pub mod password;
pub mod totp;
