//! The writes a use case commits together, each with the condition that keeps
//! it correct under concurrency and the error a refused condition means:
//! `transaction.rs` runs them, `profile.rs` assembles a profile's update and
//! the proofs, the others hold the named writes by concern.

mod accounts;
mod devices;
mod factors;
mod profile;
mod sessions;
mod transaction;

pub use accounts::{account_exists, change_email, delete_account, request_email_change};
pub use accounts::{
    account_unchanged, bump_version, change_password, create_account, new_verification, reset_password,
    reset_password_attempts, set_role, start_reset, verify_email,
};
pub use devices::{drop_device, forget_device, remember_device, use_device};
pub use factors::{
    add_app, add_passkey, drop_ceremony, enable_twofa, remove_factor, rename_factor, replace_backup_codes,
    start_ceremony, start_setup, turn_off, use_sealed_ceremony,
};
pub use profile::{Pre2faSpend, Proof, accept_code};
pub use sessions::{audit, create_session, delete_session, reauthenticated, revoke_session, session_live};
pub use transaction::Write;
