//! The DynamoDB repository: one table, every invariant a condition. `Repo`
//! reads (`repo.rs`), counts attempts before they are checked (`attempts.rs`)
//! and commits a use case's conditional writes in one transaction
//! (`writes.rs`); `records.rs` says what the items hold, `keys.rs` their keys;
//! `migrate.rs` moves v2 profiles' one app into the factors map.
//!
//! Items (partition key `pk`, sort key `sk`, TTL attribute `ttl`):
//!
//! | pk | sk | holds |
//! | --- | --- | --- |
//! | `USER#<id>` | `PROFILE` | email, role, token version, 2FA state, code-attempt counter, the nonces of pre-2FA tokens that succeeded (until they expire) |
//! | `USER#<id>` | `REMEMBERED#<hash>` | a remembered browser: the hash of its `device_token` is its id; the token version it was made under, described user agent, IP, when made and last used |
//! | `USER#<id>` | `SESSION#<sid>` | current and previous refresh id, assurance, expiry, described user agent, IP, when last used |
//! | `USER#<id>` | `EVT#<ms>#<rand>` | one audit event, kept 90 days |
//! | `EMAIL#<email>` | `LOGIN` | uniqueness of the email, password hash, password-attempt counter, and the user's id, role, version and 2FA flag for a one-read login |
//! | `CRED#<sha256 of a credential id>` | `CREDENTIAL` | a passkey's credential id belongs to this account (`userId`, `factorId`): uniqueness, and the lookup of a passkey sign-in |
//! | `CEREMONY#<sha256 of a ceremony id>` | `USED` | a sealed (sign-in) ceremony was used, until it expires |
//! | `KEYRING` | `KEY#<kid>` | a KMS-wrapped data key |
//! | `KEYRING` | `MACKEY#<kid>` | the KMS-wrapped key that authenticates signing keys' public parts |
//! | `KEYRING` | `SIGNKEY#<kid>` | an RSA signing key: public parts, the private key sealed under a data key, when it was published and signs from, their MAC |
//! | `MAILBUDGET` | `<unix minute>` | mails sent (and refused) that anyone can trigger without an account, in that minute |
//!
//! Only `authctl init` and the operator's key commands write `KEYRING` items;
//! no function's role may.
//!
//! A profile may also hold a pending email change (the new address, its
//! link's hash and expiry, the token version it was asked under) and that
//! route's counter. Deleting an account removes its profile, its login item
//! and its `CRED#` items in one transaction, then every other item of its
//! `USER#<id>` partition; every write that could add an item to a user's
//! partition is conditional on the profile, so none appears afterwards.

mod attempts;
mod items;
mod keys;
mod migrate;
mod records;
mod repo;
pub mod table;
pub mod writes;

pub use attempts::{CODE_LIMIT, EMAIL_CHANGE_LIMIT, Limit, MAIL_LIMIT, PASSWORD_LIMIT};
pub use migrate::Migrated;
pub use records::{
    AccountOverview, AuditRecord, CeremonyRecord, CredentialOwner, DeviceRecord, FactorRecord, FactorSecret,
    KeyringEntry, KeyringItems, LoginAccount, LoginRecord, PendingSetup, PendingToken, SessionRecord, UserRecord,
};
pub use records::{EmailChange, StoredLogin};
pub use repo::{Repo, Rotation};
pub use writes::Write;
