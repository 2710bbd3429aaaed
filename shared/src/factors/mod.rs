pub mod backup_codes;
pub mod password;
pub mod totp;
