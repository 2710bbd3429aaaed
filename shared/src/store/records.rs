//! What the items hold, as Rust values.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::items::{Item, ItemExt, b, bool, n, s};
use super::keys;
use crate::crypto::StoredSigningKey;
use crate::domain::{
    Aal, ClientInfo, Email, EventKind, FactorKind, REFRESH_TTL_SECS, RETENTION_SECS, Role, SESSION_MAX_SECS,
};
use crate::error::ApiError;

/// A user's profile item.
#[derive(Debug, Clone)]
pub struct UserRecord {
    pub id: String,
    pub email: Email,
    pub role: Role,
    /// The token version: tokens carrying another one are refused.
    pub version: i64,
    /// The second factors, oldest first; 2FA is on while there is one.
    pub factors: Vec<FactorRecord>,
    /// When 2FA was turned on (by the first factor), while it is on.
    pub enabled_at: Option<i64>,
    /// The backup codes' keyed hashes (they exist while 2FA is on).
    pub backup_hashes: Vec<String>,
    pub pending: Option<PendingSetup>,
    /// The user handle of this user's passkeys (16 random bytes, base64url), once the first was offered.
    pub passkey_user: Option<String>,
    /// Passkey ceremonies under way, by id.
    pub ceremonies: HashMap<String, CeremonyRecord>,
    /// Whether the item has the `factors` and `ceremonies` maps (accounts
    /// made before v3 may not): a write puts the map whole, or an entry in it.
    pub has_factor_map: bool,
    pub has_ceremony_map: bool,
    /// Code attempts counted in the current window (a reservation included).
    pub code_attempts: i64,
    /// Nonces of pre-2FA tokens that succeeded, with when each token expires.
    pub spent_pre2fa: HashMap<String, i64>,
    pub email_verified: bool,
    /// The hash of the newest verification link's token.
    pub verify_token: Option<PendingToken>,
    /// The hash of the newest password-reset link's token.
    pub reset_token: Option<PendingToken>,
    /// The newest email change asked for, until its link is used.
    pub email_change: Option<EmailChange>,
}

/// An email change waiting for its link: the new address, the link token's
/// hash and expiry, and the token version it was asked under (the link works
/// only while the version is still that one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailChange {
    pub to: Email,
    pub token: PendingToken,
    pub version: i64,
}

impl EmailChange {
    /// Whether the link with token `hash` confirms this change for a profile at `version` at `now`.
    pub fn accepts(&self, hash: &str, version: i64, now: i64) -> bool {
        self.version == version && self.token.accepts(hash, now)
    }

    fn read(item: &Item) -> Result<Option<Self>, ApiError> {
        let Some(token) = PendingToken::read(item, "changeHash", "changeExpiresAt")? else { return Ok(None) };
        match (item.opt_str("changeEmail")?, item.opt_num("changeVer")?) {
            (Some(to), Some(version)) => {
                Ok(Some(EmailChange { to: Email::from_stored(to.to_string()), token, version }))
            }
            _ => Ok(None),
        }
    }
}

/// A mailed link's token as stored: its hash and when it stops working.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingToken {
    pub hash: String,
    pub expires_at: i64,
}

impl PendingToken {
    /// Whether `hash` is this token's and it still works at `now` (constant-time compare).
    pub fn accepts(&self, hash: &str, now: i64) -> bool {
        use subtle::ConstantTimeEq;
        self.expires_at > now && bool::from(self.hash.as_bytes().ct_eq(hash.as_bytes()))
    }

    fn read(item: &Item, hash_attr: &str, expiry_attr: &str) -> Result<Option<Self>, ApiError> {
        Ok(match (item.opt_str(hash_attr)?, item.opt_num(expiry_attr)?) {
            (Some(hash), Some(expires_at)) => Some(PendingToken { hash: hash.to_string(), expires_at }),
            _ => None,
        })
    }
}

/// One second factor of a user.
#[derive(Debug, Clone)]
pub struct FactorRecord {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub secret: FactorSecret,
}

/// What a factor is checked with.
#[derive(Debug, Clone)]
pub enum FactorSecret {
    /// An authenticator app: its secret sealed under the data key, and the
    /// last accepted step (no step at or before it is accepted again).
    Totp { sealed_secret: Vec<u8>, last_step: Option<u64> },
    /// A passkey: the credential as the library stores it, its id, the
    /// signature counter last seen, and whether it is synced (backup eligible).
    Passkey { credential: String, credential_id: String, counter: u32, synced: bool },
}

impl FactorRecord {
    pub fn kind(&self) -> FactorKind {
        match self.secret {
            FactorSecret::Totp { .. } => FactorKind::Totp,
            FactorSecret::Passkey { .. } => FactorKind::Passkey,
        }
    }

    /// The passkey's credential id, if it is one.
    pub fn credential_id(&self) -> Option<&str> {
        match &self.secret {
            FactorSecret::Passkey { credential_id, .. } => Some(credential_id),
            FactorSecret::Totp { .. } => None,
        }
    }

    fn from_value(id: &str, value: &AttributeValue) -> Result<Self, ApiError> {
        let AttributeValue::M(map) = value else { return Err(ApiError::internal("a stored factor is malformed")) };
        let item: &Item = map;
        let secret = match item.str("type")? {
            "totp" => FactorSecret::Totp {
                sealed_secret: item
                    .opt_bytes("secret")?
                    .ok_or_else(|| ApiError::internal("an app factor without a secret"))?
                    .to_vec(),
                last_step: item.opt_num("lastStep")?.map(|step| step as u64),
            },
            "passkey" => FactorSecret::Passkey {
                credential: item.str("credential")?.to_string(),
                credential_id: item.str("credentialId")?.to_string(),
                counter: u32::try_from(item.num("signCount")?).map_err(|_| ApiError::internal("a stored counter"))?,
                synced: item.flag("synced")?,
            },
            _ => return Err(ApiError::internal("a stored factor of an unknown type")),
        };
        Ok(FactorRecord {
            id: id.to_string(),
            name: item.str("name")?.to_string(),
            created_at: item.num("createdAt")?,
            last_used_at: item.opt_num("lastUsedAt")?,
            secret,
        })
    }

    /// The factor as the profile's `factors` map holds it.
    pub(super) fn to_value(&self) -> AttributeValue {
        let mut map: Item = HashMap::from([
            ("type".to_string(), s(self.kind().as_str())),
            ("name".to_string(), s(&self.name)),
            ("createdAt".to_string(), n(self.created_at)),
        ]);
        if let Some(at) = self.last_used_at {
            map.insert("lastUsedAt".into(), n(at));
        }
        match &self.secret {
            FactorSecret::Totp { sealed_secret, last_step } => {
                map.insert("secret".into(), b(sealed_secret.clone()));
                if let Some(step) = last_step {
                    map.insert("lastStep".into(), n(*step as i64));
                }
            }
            FactorSecret::Passkey { credential, credential_id, counter, synced } => {
                map.insert("credential".into(), s(credential));
                map.insert("credentialId".into(), s(credential_id));
                map.insert("signCount".into(), n(i64::from(*counter)));
                map.insert("synced".into(), bool(*synced));
            }
        }
        AttributeValue::M(map)
    }
}

/// The server's half of a passkey ceremony, kept on the profile until it is used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CeremonyRecord {
    /// `registration`, `verify-login`, `account` or `reset`.
    pub purpose: String,
    /// The library's state (the challenge, and the passkeys it may come from).
    pub state: String,
    pub expires_at: i64,
    /// The name a registration gives the new passkey.
    pub name: Option<String>,
}

impl CeremonyRecord {
    pub(super) fn from_value(value: &AttributeValue) -> Result<Self, ApiError> {
        let AttributeValue::M(map) = value else { return Err(ApiError::internal("a stored ceremony is malformed")) };
        let item: &Item = map;
        Ok(CeremonyRecord {
            purpose: item.str("purpose")?.to_string(),
            state: item.str("state")?.to_string(),
            expires_at: item.num("expiresAt")?,
            name: item.opt_str("name")?.map(str::to_string),
        })
    }

    pub(super) fn to_value(&self) -> AttributeValue {
        let mut map: Item = HashMap::from([
            ("purpose".to_string(), s(&self.purpose)),
            ("state".to_string(), s(&self.state)),
            ("expiresAt".to_string(), n(self.expires_at)),
        ]);
        if let Some(name) = &self.name {
            map.insert("name".into(), s(name));
        }
        AttributeValue::M(map)
    }
}

/// Whose a passkey's credential id is: the account and its factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialOwner {
    pub user_id: String,
    pub factor_id: String,
}

impl CredentialOwner {
    pub(super) fn from_item(item: &Item) -> Result<Self, ApiError> {
        Ok(CredentialOwner { user_id: item.str("userId")?.to_string(), factor_id: item.str("factorId")?.to_string() })
    }
}

/// A secret shown at setup and not yet confirmed, with the name given then.
#[derive(Debug, Clone)]
pub struct PendingSetup {
    pub sealed_secret: Vec<u8>,
    pub expires_at: i64,
    pub name: Option<String>,
}

fn map_entries<'a>(item: &'a Item, attr: &str) -> Result<Option<&'a HashMap<String, AttributeValue>>, ApiError> {
    match item.get(attr) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::M(map)) => Ok(Some(map)),
        Some(_) => Err(ApiError::internal(format!("stored {attr} is malformed"))),
    }
}

impl UserRecord {
    pub(super) fn from_item(item: &Item) -> Result<Self, ApiError> {
        let role = Role::parse(item.str("role")?).ok_or_else(|| ApiError::internal("stored role is unknown"))?;
        if item.contains_key("totpSecret") {
            return Err(ApiError::internal("a profile from before several factors: run `authctl migrate-factors`"));
        }
        let factor_map = map_entries(item, "factors")?;
        let mut factors = factor_map
            .into_iter()
            .flatten()
            .map(|(id, value)| FactorRecord::from_value(id, value))
            .collect::<Result<Vec<_>, _>>()?;
        factors.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        let ceremony_map = map_entries(item, "ceremonies")?;
        let ceremonies = ceremony_map
            .into_iter()
            .flatten()
            .map(|(id, value)| CeremonyRecord::from_value(value).map(|c| (id.clone(), c)))
            .collect::<Result<HashMap<_, _>, _>>()?;
        let pending = match (item.opt_bytes("pendingSecret")?, item.opt_num("pendingExpiresAt")?) {
            (Some(sealed), Some(expires_at)) => Some(PendingSetup {
                sealed_secret: sealed.to_vec(),
                expires_at,
                name: item.opt_str("pendingName")?.map(str::to_string),
            }),
            _ => None,
        };
        Ok(UserRecord {
            id: item.str("id")?.to_string(),
            email: Email::from_stored(item.str("email")?.to_string()),
            role,
            version: item.num("ver")?,
            factors,
            enabled_at: item.opt_num("enabledAt")?,
            backup_hashes: item.str_set("backupCodes")?,
            pending,
            passkey_user: item.opt_str("passkeyUser")?.map(str::to_string),
            ceremonies,
            has_factor_map: factor_map.is_some(),
            has_ceremony_map: ceremony_map.is_some(),
            code_attempts: item.opt_num("codeFails")?.unwrap_or(0),
            spent_pre2fa: spent_nonces(item)?,
            email_verified: item.flag("emailVerified")?,
            verify_token: PendingToken::read(item, "verifyHash", "verifyExpiresAt")?,
            reset_token: PendingToken::read(item, "resetHash", "resetExpiresAt")?,
            email_change: EmailChange::read(item)?,
        })
    }

    pub fn twofa_enabled(&self) -> bool {
        !self.factors.is_empty()
    }

    pub fn factor(&self, id: &str) -> Option<&FactorRecord> {
        self.factors.iter().find(|factor| factor.id == id)
    }

    /// The passkey factors.
    pub fn passkeys(&self) -> impl Iterator<Item = &FactorRecord> {
        self.factors.iter().filter(|factor| factor.kind() == FactorKind::Passkey)
    }

    /// The profile of a new account (2FA off, version 1, email not yet
    /// verified, with the hash of the verification link's token).
    pub(super) fn new_item(id: &str, email: &Email, created_at: i64, verify: &PendingToken) -> Item {
        let mut item = keys::user(id);
        item.extend([
            ("id".to_string(), s(id)),
            ("email".to_string(), s(email.as_str())),
            ("role".to_string(), s(Role::User.as_str())),
            ("ver".to_string(), n(1)),
            ("createdAt".to_string(), n(created_at)),
            ("twofaEnabled".to_string(), bool(false)),
            ("factors".to_string(), AttributeValue::M(HashMap::new())),
            ("factorCount".to_string(), n(0)),
            ("ceremonies".to_string(), AttributeValue::M(HashMap::new())),
            ("emailVerified".to_string(), bool(false)),
            ("verifyHash".to_string(), s(&verify.hash)),
            ("verifyExpiresAt".to_string(), n(verify.expires_at)),
        ]);
        item
    }
}

/// The `spentPre2fa` map of a profile: nonce → when its token expires.
pub(super) fn spent_nonces(item: &Item) -> Result<HashMap<String, i64>, ApiError> {
    let corrupt = || ApiError::internal("stored spentPre2fa is malformed");
    match item.get("spentPre2fa") {
        None => Ok(HashMap::new()),
        Some(AttributeValue::M(map)) => map
            .iter()
            .map(|(nonce, exp)| match exp {
                AttributeValue::N(exp) => exp.parse().map(|exp| (nonce.clone(), exp)).map_err(|_| corrupt()),
                _ => Err(corrupt()),
            })
            .collect(),
        Some(_) => Err(corrupt()),
    }
}

/// The login item of an email: an account's credentials and a copy of what a
/// login needs from the profile, or only a counter when no account has it.
#[derive(Debug, Clone)]
pub struct LoginRecord {
    pub account: Option<LoginAccount>,
    /// Password attempts counted in the current window, this one included.
    pub attempts: i64,
    /// When the current window of password attempts started.
    pub window_start: i64,
}

#[derive(Debug, Clone)]
pub struct LoginAccount {
    pub user_id: String,
    pub email: Email,
    pub password_hash: String,
    pub role: Role,
    pub version: i64,
    pub twofa_enabled: bool,
    pub email_verified: bool,
    /// How many passkeys the user has (a copy, kept with the profile's changes).
    pub passkeys: usize,
}

impl LoginRecord {
    pub(super) fn from_item(item: &Item) -> Result<Self, ApiError> {
        let account = match item.opt_str("userId")? {
            None => None,
            Some(user_id) => Some(LoginAccount {
                user_id: user_id.to_string(),
                email: Email::from_stored(item.str("email")?.to_string()),
                password_hash: item.str("passwordHash")?.to_string(),
                role: Role::parse(item.str("role")?).ok_or_else(|| ApiError::internal("stored role is unknown"))?,
                version: item.num("ver")?,
                twofa_enabled: item.flag("twofaEnabled")?,
                email_verified: item.flag("emailVerified")?,
                passkeys: item.opt_num("passkeys")?.unwrap_or(0) as usize,
            }),
        };
        Ok(LoginRecord {
            account,
            attempts: item.opt_num("pwFails")?.unwrap_or(0),
            window_start: item.opt_num("pwWindowStart")?.unwrap_or(0),
        })
    }

    pub(super) fn new_item(user_id: &str, email: &Email, password_hash: &str) -> Item {
        let mut item = keys::login(email.as_str());
        item.extend([
            ("userId".to_string(), s(user_id)),
            ("email".to_string(), s(email.as_str())),
            ("passwordHash".to_string(), s(password_hash)),
            ("role".to_string(), s(Role::User.as_str())),
            ("ver".to_string(), n(1)),
            ("twofaEnabled".to_string(), bool(false)),
            ("emailVerified".to_string(), bool(false)),
        ]);
        item
    }
}

/// An account's login item as stored, to be moved whole to a new address:
/// the account, and whatever copy of the profile the item keeps.
#[derive(Debug, Clone)]
pub struct StoredLogin {
    pub account: LoginAccount,
    pub(super) item: Item,
}

impl StoredLogin {
    /// `None` for a counter-only item (no account has the address).
    pub(super) fn from_item(item: Item) -> Result<Option<Self>, ApiError> {
        Ok(LoginRecord::from_item(&item)?.account.map(|account| StoredLogin { account, item }))
    }
}

/// A refresh-token session.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    pub user_id: String,
    pub session_id: String,
    pub refresh_id: String,
    pub refresh_issued_at: i64,
    pub previous_refresh_id: Option<String>,
    pub rotated_at: Option<i64>,
    pub aal: Aal,
    pub amr: Vec<String>,
    /// When the credentials were last checked: the sign-in, or a re-authentication since.
    pub auth_time: i64,
    /// When the sign-in that opened the session happened: its 30-day end counts from here.
    pub started_at: i64,
    pub expires_at: i64,
    /// Where the session was last used from (its sign-in or its last refresh).
    pub ip: Option<String>,
    /// The browser or app that signed in, described ("Firefox 140 on Linux").
    pub device: String,
    /// The last re-authentication, if any (a remembered device's session is
    /// recent only after one).
    pub reauthenticated_at: Option<i64>,
    /// The token version it was opened under (`None` for sessions from
    /// before it was kept): a version bump ends it.
    pub version: Option<i64>,
}

impl SessionRecord {
    /// When the session was last used: its sign-in or its last refresh.
    pub fn last_used_at(&self) -> i64 {
        self.refresh_issued_at
    }

    /// When the session ends for good, however often it is refreshed or
    /// re-authenticated: 30 days after the sign-in that opened it.
    pub fn ends_at(&self) -> i64 {
        self.started_at + SESSION_MAX_SECS
    }

    /// Whether its tokens still work at `now` (not logged out, revoked or past its end).
    pub fn live_at(&self, now: i64) -> bool {
        self.expires_at > now && self.ends_at() > now
    }

    /// [`SessionRecord::live_at`], and opened under the user's current token version.
    pub fn live_for(&self, version: i64, now: i64) -> bool {
        self.live_at(now) && self.version.is_none_or(|opened_under| opened_under == version)
    }

    /// The lifetime of the current refresh token: 7 days, never past the session's end.
    pub fn refresh_ttl(&self) -> i64 {
        REFRESH_TTL_SECS.min(self.ends_at() - self.refresh_issued_at)
    }

    pub(super) fn from_item(item: &Item) -> Result<Self, ApiError> {
        let aal = u8::try_from(item.num("aal")?)
            .ok()
            .and_then(|v| Aal::try_from(v).ok())
            .ok_or_else(|| ApiError::internal("stored aal is invalid"))?;
        Ok(SessionRecord {
            user_id: item.str("userId")?.to_string(),
            session_id: item.str("sid")?.to_string(),
            refresh_id: item.str("refreshId")?.to_string(),
            refresh_issued_at: item.num("refreshIssuedAt")?,
            previous_refresh_id: item.opt_str("previousRefreshId")?.map(str::to_string),
            rotated_at: item.opt_num("rotatedAt")?,
            aal,
            amr: item.str("amr")?.split(' ').map(str::to_string).collect(),
            auth_time: item.num("authTime")?,
            // Sessions from before re-authentication existed started at their only proof.
            started_at: match item.opt_num("startedAt")? {
                Some(at) => at,
                None => item.num("authTime")?,
            },
            expires_at: item.num("expiresAt")?,
            ip: item.opt_str("ip")?.map(str::to_string),
            // Sessions from before the list existed described nothing.
            device: item.opt_str("device")?.unwrap_or("an unrecognised browser or app").to_string(),
            reauthenticated_at: item.opt_num("reauthAt")?,
            version: item.opt_num("ver")?,
        })
    }

    pub(super) fn to_item(&self) -> Item {
        let mut item = keys::session(&self.user_id, &self.session_id);
        item.extend([
            ("userId".to_string(), s(&self.user_id)),
            ("sid".to_string(), s(&self.session_id)),
            ("refreshId".to_string(), s(&self.refresh_id)),
            ("refreshIssuedAt".to_string(), n(self.refresh_issued_at)),
            ("aal".to_string(), n(u8::from(self.aal).into())),
            ("amr".to_string(), s(self.amr.join(" "))),
            ("authTime".to_string(), n(self.auth_time)),
            ("startedAt".to_string(), n(self.started_at)),
            ("expiresAt".to_string(), n(self.expires_at)),
            ("ttl".to_string(), n(self.expires_at)),
            ("device".to_string(), s(&self.device)),
        ]);
        if let Some(ip) = &self.ip {
            item.insert("ip".into(), s(ip));
        }
        if let Some(at) = self.reauthenticated_at {
            item.insert("reauthAt".into(), n(at));
        }
        if let Some(version) = self.version {
            item.insert("ver".into(), n(version));
        }
        item
    }
}

/// A remembered browser: sign-ins from it skip the second factor while the
/// user's token version is the one it was remembered under.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceRecord {
    pub user_id: String,
    /// The SHA-256 of its `device_token`.
    pub id: String,
    pub device: String,
    pub ip: Option<String>,
    pub created_at: i64,
    pub last_used_at: i64,
    pub version: i64,
    pub expires_at: i64,
}

impl DeviceRecord {
    /// Whether a sign-in from it may skip the second factor at `now`.
    pub fn live_for(&self, version: i64, now: i64) -> bool {
        self.version == version && self.expires_at > now
    }

    pub(super) fn from_item(item: &Item) -> Result<Self, ApiError> {
        let sk = item.str("sk")?;
        Ok(DeviceRecord {
            user_id: item.str("userId")?.to_string(),
            id: sk.strip_prefix(keys::DEVICE_PREFIX).unwrap_or(sk).to_string(),
            device: item.str("device")?.to_string(),
            ip: item.opt_str("ip")?.map(str::to_string),
            created_at: item.num("createdAt")?,
            last_used_at: item.num("lastUsedAt")?,
            version: item.num("ver")?,
            expires_at: item.num("expiresAt")?,
        })
    }

    pub(super) fn to_item(&self) -> Item {
        let mut item = keys::device(&self.user_id, &self.id);
        item.extend([
            ("userId".to_string(), s(&self.user_id)),
            ("device".to_string(), s(&self.device)),
            ("createdAt".to_string(), n(self.created_at)),
            ("lastUsedAt".to_string(), n(self.last_used_at)),
            ("ver".to_string(), n(self.version)),
            ("expiresAt".to_string(), n(self.expires_at)),
            ("ttl".to_string(), n(self.expires_at)),
        ]);
        if let Some(ip) = &self.ip {
            item.insert("ip".into(), s(ip));
        }
        item
    }
}

/// A user's profile with their remembered devices and sessions, as one Query reads them.
#[derive(Debug, Default)]
pub struct AccountOverview {
    pub user: Option<UserRecord>,
    pub devices: Vec<DeviceRecord>,
    pub sessions: Vec<SessionRecord>,
}

/// One stored audit event.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRecord {
    pub kind: EventKind,
    pub at_millis: i64,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub expires_at: i64,
}

impl AuditRecord {
    pub fn new(kind: EventKind, at_millis: i64, client: &ClientInfo) -> Self {
        AuditRecord {
            kind,
            at_millis,
            ip: client.ip.clone(),
            user_agent: client.user_agent.clone(),
            expires_at: at_millis / 1000 + RETENTION_SECS,
        }
    }

    pub(super) fn from_item(item: &Item) -> Result<Self, ApiError> {
        Ok(AuditRecord {
            kind: EventKind::parse(item.str("type")?).ok_or_else(|| ApiError::internal("unknown event type"))?,
            at_millis: item.num("atMillis")?,
            ip: item.opt_str("ip")?.map(str::to_string),
            user_agent: item.opt_str("userAgent")?.map(str::to_string),
            expires_at: item.num("expiresAt")?,
        })
    }

    pub(super) fn to_item(&self, user_id: &str, unique: &str) -> Item {
        let mut item = keys::event(user_id, self.at_millis, unique);
        item.extend([
            ("type".to_string(), s(self.kind.as_str())),
            ("atMillis".to_string(), n(self.at_millis)),
            ("expiresAt".to_string(), n(self.expires_at)),
            ("ttl".to_string(), n(self.expires_at)),
        ]);
        if let Some(ip) = &self.ip {
            item.insert("ip".into(), s(ip));
        }
        if let Some(ua) = &self.user_agent {
            item.insert("userAgent".into(), s(ua));
        }
        item
    }
}

/// A KMS-wrapped key of the keyring: a data key, or the signing-key MAC key.
#[derive(Debug, Clone)]
pub struct KeyringEntry {
    pub kid: String,
    pub wrapped: Vec<u8>,
}

/// Everything the keyring partition holds.
#[derive(Debug, Clone, Default)]
pub struct KeyringItems {
    pub data_keys: Vec<KeyringEntry>,
    pub mac_keys: Vec<KeyringEntry>,
    pub signing_keys: Vec<StoredSigningKey>,
}

impl KeyringEntry {
    pub(super) fn from_item(item: &Item) -> Result<Self, ApiError> {
        Ok(KeyringEntry {
            kid: item.str("kid")?.to_string(),
            wrapped: item
                .opt_bytes("wrappedKey")?
                .ok_or_else(|| ApiError::internal("keyring entry without key"))?
                .to_vec(),
        })
    }

    pub(super) fn to_item(&self, key: Item) -> Item {
        let mut item = key;
        item.extend(HashMap::from([
            ("kid".to_string(), s(&self.kid)),
            ("wrappedKey".to_string(), b(self.wrapped.clone())),
        ]));
        item
    }
}

/// A signing key's item: its public parts, the sealed private key and its times.
pub(super) fn signing_key_item(key: &StoredSigningKey) -> Item {
    let mut item = keys::signing_key(&key.kid);
    item.extend([
        ("kid".to_string(), s(&key.kid)),
        ("n".to_string(), s(&key.n)),
        ("e".to_string(), s(&key.e)),
        ("sealedPrivateKey".to_string(), b(key.sealed_private_key.clone())),
        ("publishedAt".to_string(), n(key.published_at)),
        ("activeFrom".to_string(), n(key.active_from)),
        ("mac".to_string(), s(&key.mac)),
    ]);
    item
}

pub(super) fn signing_key_from_item(item: &Item) -> Result<StoredSigningKey, ApiError> {
    Ok(StoredSigningKey {
        kid: item.str("kid")?.to_string(),
        n: item.str("n")?.to_string(),
        e: item.str("e")?.to_string(),
        sealed_private_key: item
            .opt_bytes("sealedPrivateKey")?
            .ok_or_else(|| ApiError::internal("signing key without its private key"))?
            .to_vec(),
        published_at: item.num("publishedAt")?,
        active_from: item.num("activeFrom")?,
        // A key without a tag is kept here and refused by `SigningKeys::new`.
        mac: item.opt_str("mac")?.unwrap_or_default().to_string(),
    })
}
