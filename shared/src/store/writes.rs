//! The writes a use case commits together, each with the condition that keeps
//! it correct under concurrency and the error a refused condition means.

use std::collections::HashMap;

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};

use super::attempts::PASSWORD_LIMIT;
use super::items::{Item, ItemExt, b, bool, n, s, ss};
use super::keys;
use super::records::{AuditRecord, LoginRecord, PendingToken, SessionRecord, UserRecord};
use super::repo::Repo;
use crate::aws::is_transient_code;
use crate::crypto::random_bytes;
use crate::domain::{ClientInfo, Email, EventKind, Role};
use crate::error::ApiError;

type Conflict = Box<dyn Fn(&Item) -> ApiError + Send + Sync>;

enum Op {
    Put { item: Item, condition: Option<&'static str> },
    Update { key: Item, expression: String, condition: String, names: HashMap<String, String> },
    Delete { key: Item },
}

/// One write of a transaction.
pub struct Write {
    op: Op,
    values: HashMap<String, AttributeValue>,
    /// What a refused condition means, given the item as it was.
    conflict: Conflict,
}

impl Write {
    fn new(op: Op, conflict: impl Fn(&Item) -> ApiError + Send + Sync + 'static) -> Self {
        Write { op, values: HashMap::new(), conflict: Box::new(conflict) }
    }

    fn value(mut self, name: &str, value: AttributeValue) -> Self {
        self.values.insert(name.to_string(), value);
        self
    }

    /// An expression attribute name (for reserved words such as `role`).
    fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        if let Op::Update { names, .. } = &mut self.op {
            names.insert(placeholder.to_string(), attribute.to_string());
        }
        self
    }
}

fn never(_: &Item) -> ApiError {
    ApiError::internal("an unconditional write was refused")
}

fn transact_item(op: Op, values: HashMap<String, AttributeValue>, table: &str) -> Result<TransactWriteItem, ApiError> {
    let values = (!values.is_empty()).then_some(values);
    let all_old = ReturnValuesOnConditionCheckFailure::AllOld;
    let item = match op {
        Op::Put { item, condition } => TransactWriteItem::builder().put(
            Put::builder()
                .table_name(table)
                .set_item(Some(item))
                .set_condition_expression(condition.map(str::to_string))
                .set_expression_attribute_values(values)
                .return_values_on_condition_check_failure(all_old)
                .build()
                .map_err(ApiError::internal)?,
        ),
        Op::Update { key, expression, condition, names } => TransactWriteItem::builder().update(
            Update::builder()
                .table_name(table)
                .set_key(Some(key))
                .update_expression(expression)
                .condition_expression(condition)
                .set_expression_attribute_names((!names.is_empty()).then_some(names))
                .set_expression_attribute_values(values)
                .return_values_on_condition_check_failure(all_old)
                .build()
                .map_err(ApiError::internal)?,
        ),
        Op::Delete { key } => TransactWriteItem::builder()
            .delete(Delete::builder().table_name(table).set_key(Some(key)).build().map_err(ApiError::internal)?),
    };
    Ok(item.build())
}

impl Repo {
    /// Applies writes atomically: one `PutItem` when there is a single
    /// unconditional put, else one `TransactWriteItems`. A refused condition
    /// becomes the error its write names.
    pub async fn commit(&self, mut writes: Vec<Write>) -> Result<(), ApiError> {
        if writes.len() == 1 && matches!(writes[0].op, Op::Put { condition: None, .. }) {
            let Op::Put { item, .. } = writes.remove(0).op else { unreachable!() };
            self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(ApiError::aws)?;
            return Ok(());
        }
        let mut items = Vec::with_capacity(writes.len());
        let mut conflicts = Vec::with_capacity(writes.len());
        for Write { op, values, conflict } in writes {
            items.push(transact_item(op, values, &self.table)?);
            conflicts.push(conflict);
        }
        let err = match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => return Ok(()),
            Err(err) => err,
        };
        if !matches!(err.as_service_error(), Some(TransactWriteItemsError::TransactionCanceledException(_))) {
            return Err(ApiError::aws(err));
        }
        let TransactWriteItemsError::TransactionCanceledException(cancelled) = err.into_service_error() else {
            unreachable!("checked above")
        };
        let reasons = cancelled.cancellation_reasons();
        for (reason, conflict) in reasons.iter().zip(&conflicts) {
            if reason.code() == Some("ConditionalCheckFailed") {
                return Err(conflict(&reason.item().cloned().unwrap_or_default()));
            }
        }
        // Nothing was written. Another transaction on the same items or
        // throttling may pass on a retry; any other reason is a bug.
        let transient = reasons.iter().filter_map(|r| r.code()).filter(|code| *code != "None").all(is_transient_code);
        if transient { Err(ApiError::unavailable(cancelled)) } else { Err(ApiError::internal(cancelled)) }
    }
}

fn update(key: Item, expression: impl Into<String>, condition: impl Into<String>) -> Op {
    Op::Update { key, expression: expression.into(), condition: condition.into(), names: HashMap::new() }
}

/// The profile changed under us: the caller's token version is gone, or the
/// state the caller read no longer holds.
fn profile_conflict(expected_version: i64, otherwise: fn(&Item) -> ApiError) -> impl Fn(&Item) -> ApiError {
    move |old: &Item| match old.opt_num("ver") {
        Ok(Some(version)) if version == expected_version => otherwise(old),
        _ => ApiError::StaleVersion,
    }
}

// ---- accounts ----------------------------------------------------------------

/// A new account: the email's login item (unique by condition) and the
/// profile, with the hash of its verification link's token.
pub fn create_account(
    user_id: &str,
    email: &Email,
    password_hash: &str,
    now: i64,
    verify: &PendingToken,
) -> [Write; 2] {
    [
        Write::new(
            Op::Put {
                item: LoginRecord::new_item(user_id, email, password_hash),
                condition: Some("attribute_not_exists(userId)"),
            },
            |_| ApiError::EmailTaken,
        ),
        Write::new(
            Op::Put {
                item: UserRecord::new_item(user_id, email, now, verify),
                condition: Some("attribute_not_exists(pk)"),
            },
            |_| ApiError::internal("user id collision"),
        ),
    ]
}

/// A correct password (or a completed sign-in) clears the email's password attempts.
pub fn reset_password_attempts(email: &Email) -> Write {
    Write::new(update(keys::login(email.as_str()), "REMOVE #f, #w", "attribute_exists(userId)"), |_| {
        ApiError::StaleVersion
    })
    .name("#f", PASSWORD_LIMIT.failures_attr)
    .name("#w", PASSWORD_LIMIT.window_attr)
}

/// Updates the copy of role, version and 2FA flag that the login item keeps,
/// in the same transaction as the profile change.
fn login_mirror(email: &Email, version: i64, role: Role, twofa_enabled: bool) -> Write {
    login_update(email, version, role, twofa_enabled, None)
}

/// [`login_mirror`], and a new password hash, which clears the password lockout.
fn login_update(email: &Email, version: i64, role: Role, twofa_enabled: bool, password_hash: Option<&str>) -> Write {
    let expression = match password_hash {
        None => "SET ver = :mver, #role = :mrole, twofaEnabled = :mtfa".to_string(),
        Some(_) => format!(
            "SET ver = :mver, #role = :mrole, twofaEnabled = :mtfa, passwordHash = :mpw REMOVE {}, {}",
            PASSWORD_LIMIT.failures_attr, PASSWORD_LIMIT.window_attr
        ),
    };
    let op = update(keys::login(email.as_str()), expression, "attribute_exists(userId)");
    let write = Write::new(op, |_| ApiError::StaleVersion)
        .name("#role", "role")
        .value(":mver", n(version))
        .value(":mrole", s(role.as_str()))
        .value(":mtfa", bool(twofa_enabled));
    match password_hash {
        Some(hash) => write.value(":mpw", s(hash)),
        None => write,
    }
}

/// Every change that ends all sessions also ends a pending password-reset
/// link: a user who signs out everywhere, changes the password or changes 2FA
/// because the mailbox may be read by someone else must not leave a link
/// working behind them.
const FORGET_RESET_LINK: &str = "resetHash, resetExpiresAt";

/// Ends every session: the token version goes up by one.
pub fn bump_version(user: &UserRecord) -> [Write; 2] {
    let next = user.version + 1;
    [
        Write::new(
            update(keys::user(&user.id), format!("SET ver = :next REMOVE {FORGET_RESET_LINK}"), "ver = :ver"),
            profile_conflict(user.version, |_| ApiError::StaleVersion),
        )
        .value(":next", n(next))
        .value(":ver", n(user.version)),
        login_mirror(&user.email, next, user.role, user.twofa_enabled()),
    ]
}

/// Grants or revokes a role; every session ends.
pub fn set_role(user: &UserRecord, role: Role) -> [Write; 2] {
    let next = user.version + 1;
    let op = update(
        keys::user(&user.id),
        format!("SET ver = :next, #role = :role REMOVE {FORGET_RESET_LINK}"),
        "ver = :ver",
    );
    [
        Write::new(op, profile_conflict(user.version, |_| ApiError::StaleVersion))
            .name("#role", "role")
            .value(":next", n(next))
            .value(":role", s(role.as_str()))
            .value(":ver", n(user.version)),
        login_mirror(&user.email, next, role, user.twofa_enabled()),
    ]
}

// ---- 2FA ---------------------------------------------------------------------

const CLEAR_CODE_ATTEMPTS: &str = "codeFails, codeWindowStart";

/// Keeps a new pending secret for ten minutes, replacing any earlier one.
pub fn start_setup(user: &UserRecord, sealed_secret: Vec<u8>, expires_at: i64) -> Write {
    Write::new(
        update(
            keys::user(&user.id),
            "SET pendingSecret = :secret, pendingExpiresAt = :exp",
            "ver = :ver AND twofaEnabled = :false",
        ),
        profile_conflict(user.version, |_| ApiError::TwofaAlreadyEnabled),
    )
    .value(":secret", b(sealed_secret))
    .value(":exp", n(expires_at))
    .value(":ver", n(user.version))
    .value(":false", bool(false))
}

/// Turns 2FA on with the pending secret: records the accepted step, stores the
/// backup-code hashes, clears the code attempts and ends every other session.
pub fn enable_twofa(
    user: &UserRecord,
    pending_sealed: &[u8],
    step: u64,
    backup_hashes: &[String],
    now: i64,
) -> [Write; 2] {
    let next = user.version + 1;
    let profile = Write::new(
        update(
            keys::user(&user.id),
            format!(
                "SET twofaEnabled = :true, totpSecret = :secret, enabledAt = :now, lastStep = :step, \
                 backupCodes = :codes, ver = :next REMOVE pendingSecret, pendingExpiresAt, {CLEAR_CODE_ATTEMPTS}, \
                 {FORGET_RESET_LINK}"
            ),
            "ver = :ver AND twofaEnabled = :false AND pendingSecret = :secret AND pendingExpiresAt > :now",
        ),
        profile_conflict(user.version, |old| {
            if old.flag("twofaEnabled").unwrap_or(false) {
                ApiError::TwofaAlreadyEnabled
            } else {
                ApiError::SetupExpired
            }
        }),
    )
    .value(":true", bool(true))
    .value(":false", bool(false))
    .value(":secret", b(pending_sealed.to_vec()))
    .value(":now", n(now))
    .value(":step", n(step as i64))
    .value(":codes", ss(backup_hashes))
    .value(":next", n(next))
    .value(":ver", n(user.version));
    [profile, login_mirror(&user.email, next, user.role, true)]
}

/// How a code was proven, for the condition that makes it single-use.
#[derive(Debug, Clone)]
pub enum Proof {
    /// A TOTP code matched this step: it must be later than the last accepted one.
    Step(u64),
    /// A backup code matched this stored hash: it must still be in the set.
    BackupHash(String),
}

impl Proof {
    fn condition(&self) -> &'static str {
        match self {
            Proof::Step(_) => "(attribute_not_exists(lastStep) OR lastStep < :step)",
            Proof::BackupHash(_) => "contains(backupCodes, :hash)",
        }
    }
}

fn code_conflict(old: &Item) -> ApiError {
    if old.flag("twofaEnabled").unwrap_or(false) { ApiError::CodeReplayed } else { ApiError::TwofaNotEnabled }
}

/// The pre-2FA token that a sign-in's second step spends.
#[derive(Debug, Clone, Copy)]
pub struct Pre2faSpend<'a> {
    pub nonce: &'a str,
    pub expires_at: i64,
    /// Spent nonces whose tokens expired before this are pruned in the same write.
    pub now: i64,
}

/// At most this many expired nonces are pruned per write (the rest go with the next).
const MAX_PRUNED: usize = 16;

/// One conditional update of a user's profile, assembled from the parts of a
/// use case (a transaction writes each item once). It always holds only while
/// the token version is the one read.
struct ProfileUpdate {
    set: Vec<String>,
    remove: Vec<String>,
    delete: Vec<String>,
    conditions: Vec<String>,
    names: Vec<(String, String)>,
    values: Vec<(String, AttributeValue)>,
}

impl ProfileUpdate {
    fn new(user: &UserRecord) -> Self {
        ProfileUpdate {
            set: Vec::new(),
            remove: Vec::new(),
            delete: Vec::new(),
            conditions: vec!["ver = :ver".into()],
            names: Vec::new(),
            values: vec![(":ver".into(), n(user.version))],
        }
    }

    fn set(mut self, action: impl Into<String>) -> Self {
        self.set.push(action.into());
        self
    }

    fn remove(mut self, path: impl Into<String>) -> Self {
        self.remove.push(path.into());
        self
    }

    fn when(mut self, condition: impl Into<String>) -> Self {
        self.conditions.push(condition.into());
        self
    }

    fn value(mut self, name: &str, value: AttributeValue) -> Self {
        self.values.push((name.into(), value));
        self
    }

    fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names.push((placeholder.into(), attribute.into()));
        self
    }

    /// The code is accepted: a TOTP step recorded (never accepted again), or
    /// a backup code taken out of the set; the code attempts reset.
    fn accept(mut self, proof: &Proof) -> Self {
        self = self.when("twofaEnabled = :true").when(proof.condition()).value(":true", bool(true));
        self = self.remove("codeFails").remove("codeWindowStart");
        match proof {
            Proof::Step(step) => self.set("lastStep = :step").value(":step", n(*step as i64)),
            Proof::BackupHash(hash) => {
                self.delete.push("backupCodes :hashes".into());
                self.value(":hash", s(hash)).value(":hashes", ss(std::slice::from_ref(hash)))
            }
        }
    }

    /// Every session ends: the token version goes up by one.
    fn bump_version(self, user: &UserRecord) -> Self {
        self.set("ver = :next").value(":next", n(user.version + 1))
    }

    fn into_write(self, user_id: &str, conflict: impl Fn(&Item) -> ApiError + Send + Sync + 'static) -> Write {
        let mut expression = String::new();
        for (keyword, parts) in [("SET", &self.set), ("REMOVE", &self.remove), ("DELETE", &self.delete)] {
            if !parts.is_empty() {
                expression.push_str(&format!("{keyword} {} ", parts.join(", ")));
            }
        }
        let op = update(keys::user(user_id), expression.trim_end(), self.conditions.join(" AND "));
        let mut write = Write::new(op, conflict);
        for (placeholder, attribute) in &self.names {
            write = write.name(placeholder, attribute);
        }
        for (name, value) in self.values {
            write = write.value(&name, value);
        }
        write
    }
}

/// Accepts a code while 2FA is on: a TOTP step is recorded (never accepted
/// again), a backup code is removed from the set; the code attempts reset.
/// At a sign-in, the pre-2FA token's nonce is recorded as spent in the same
/// write, on the condition that it was not (each token succeeds once).
pub fn accept_code(user: &UserRecord, proof: &Proof, spend: Option<Pre2faSpend<'_>>) -> Write {
    let mut change = ProfileUpdate::new(user).accept(proof);
    let Some(spend) = spend else {
        return change.into_write(&user.id, profile_conflict(user.version, code_conflict));
    };
    change = change
        .set("spentPre2fa.#spent = :spentUntil")
        .when("attribute_not_exists(spentPre2fa.#spent)")
        .name("#spent", spend.nonce)
        .value(":spentUntil", n(spend.expires_at));
    let expired = user
        .spent_pre2fa
        .iter()
        .filter(|(nonce, until)| **until <= spend.now && nonce.as_str() != spend.nonce)
        .take(MAX_PRUNED);
    for (i, (nonce, _)) in expired.enumerate() {
        change = change.remove(format!("spentPre2fa.#expired{i}")).name(&format!("#expired{i}"), nonce);
    }
    let nonce = spend.nonce.to_string();
    let conflict = profile_conflict(user.version, code_conflict);
    change.into_write(&user.id, move |old: &Item| {
        if super::records::spent_nonces(old).is_ok_and(|spent| spent.contains_key(&nonce)) {
            ApiError::TokenAlreadyUsed
        } else {
            conflict(old)
        }
    })
}

/// Turns 2FA off after a proven code: secret, step and backup codes go, every
/// other session ends.
pub fn disable_twofa(user: &UserRecord, proof: &Proof) -> [Write; 2] {
    let next = user.version + 1;
    let profile = Write::new(
        update(
            keys::user(&user.id),
            format!(
                "SET twofaEnabled = :false, ver = :next \
                 REMOVE totpSecret, enabledAt, lastStep, backupCodes, {CLEAR_CODE_ATTEMPTS}, {FORGET_RESET_LINK}"
            ),
            format!("ver = :ver AND twofaEnabled = :true AND {}", proof.condition()),
        ),
        profile_conflict(user.version, code_conflict),
    )
    .value(":false", bool(false))
    .value(":true", bool(true))
    .value(":next", n(next))
    .value(":ver", n(user.version));
    let profile = match proof {
        Proof::Step(step) => profile.value(":step", n(*step as i64)),
        Proof::BackupHash(hash) => profile.value(":hash", s(hash)),
    };
    [profile, login_mirror(&user.email, next, user.role, false)]
}

/// Replaces the backup codes after a proven TOTP code (recording its step).
pub fn replace_backup_codes(user: &UserRecord, step: u64, hashes: &[String]) -> Write {
    Write::new(
        update(
            keys::user(&user.id),
            format!("SET backupCodes = :codes, lastStep = :step REMOVE {CLEAR_CODE_ATTEMPTS}"),
            format!("ver = :ver AND twofaEnabled = :true AND {}", Proof::Step(step).condition()),
        ),
        profile_conflict(user.version, code_conflict),
    )
    .value(":codes", ss(hashes))
    .value(":step", n(step as i64))
    .value(":ver", n(user.version))
    .value(":true", bool(true))
}

/// An operator's reset for a user who lost every factor: 2FA off, codes gone,
/// attempts cleared, every session ended.
pub fn reset_twofa(user: &UserRecord) -> [Write; 2] {
    let next = user.version + 1;
    [
        Write::new(
            update(
                keys::user(&user.id),
                format!(
                    "SET twofaEnabled = :false, ver = :next REMOVE totpSecret, enabledAt, lastStep, backupCodes, \
                     pendingSecret, pendingExpiresAt, {CLEAR_CODE_ATTEMPTS}, {FORGET_RESET_LINK}"
                ),
                "ver = :ver",
            ),
            profile_conflict(user.version, |_| ApiError::StaleVersion),
        )
        .value(":false", bool(false))
        .value(":next", n(next))
        .value(":ver", n(user.version)),
        login_mirror(&user.email, next, user.role, false),
    ]
}

// ---- e-mail and passwords -----------------------------------------------------

/// Marks the email verified with the newest verification link's token, which
/// must still be stored (unused) and live; the login item's copy follows.
pub fn verify_email(user: &UserRecord, token_hash: &str, now: i64) -> [Write; 2] {
    let profile = Write::new(
        update(
            keys::user(&user.id),
            "SET emailVerified = :true REMOVE verifyHash, verifyExpiresAt",
            "verifyHash = :vhash AND verifyExpiresAt > :now",
        ),
        |_| ApiError::InvalidToken,
    )
    .value(":true", bool(true))
    .value(":vhash", s(token_hash))
    .value(":now", n(now));
    let login = Write::new(
        update(keys::login(user.email.as_str()), "SET emailVerified = :true", "attribute_exists(userId)"),
        |_| ApiError::InvalidToken,
    )
    .value(":true", bool(true));
    [profile, login]
}

/// A new verification link: its token's hash replaces the older one's, so the
/// older link stops working (only while the email is not verified).
pub fn new_verification(user: &UserRecord, token: &PendingToken) -> Write {
    ProfileUpdate::new(user)
        .set("verifyHash = :vhash")
        .set("verifyExpiresAt = :vexp")
        .when("emailVerified <> :true")
        .value(":vhash", s(&token.hash))
        .value(":vexp", n(token.expires_at))
        .value(":true", bool(true))
        .into_write(&user.id, profile_conflict(user.version, |_| ApiError::EmailAlreadyVerified))
}

/// A new password-reset link: its token's hash replaces the older one's.
pub fn start_reset(user_id: &str, token: &PendingToken) -> Write {
    Write::new(
        update(keys::user(user_id), "SET resetHash = :rhash, resetExpiresAt = :rexp", "attribute_exists(pk)"),
        |_| ApiError::InvalidToken,
    )
    .value(":rhash", s(&token.hash))
    .value(":rexp", n(token.expires_at))
}

/// A password reset: the link's token is consumed (it must be the newest and
/// live), every session ends, the new hash replaces the old and clears the
/// password lockout. With 2FA on, the proven code is accepted in the same
/// write, so a reset never goes around the second factor.
pub fn reset_password(
    user: &UserRecord,
    token_hash: &str,
    password_hash: &str,
    proof: Option<&Proof>,
    now: i64,
) -> [Write; 2] {
    let mut change = ProfileUpdate::new(user)
        .bump_version(user)
        .remove("resetHash")
        .remove("resetExpiresAt")
        .when("resetHash = :rhash AND resetExpiresAt > :now")
        .value(":rhash", s(token_hash))
        .value(":now", n(now));
    change = match proof {
        Some(proof) => change.accept(proof),
        None => change.when("twofaEnabled = :false").value(":false", bool(false)),
    };
    let token_hash = token_hash.to_string();
    let version = user.version;
    let profile = change.into_write(&user.id, move |old: &Item| {
        let token_live = old.opt_str("resetHash").ok().flatten() == Some(token_hash.as_str())
            && old.opt_num("resetExpiresAt").ok().flatten().is_some_and(|exp| exp > now);
        match old.opt_num("ver") {
            _ if !token_live => ApiError::InvalidToken,
            Ok(Some(v)) if v == version => code_conflict(old),
            // The account changed between the read and this write: a retry reads it again.
            _ => ApiError::unavailable("the account changed during the password reset"),
        }
    });
    let login = login_update(&user.email, user.version + 1, user.role, user.twofa_enabled(), Some(password_hash));
    [profile, login]
}

/// A password change: the new hash replaces the old and clears the password
/// lockout; every session ends (the caller's new one carries the new version).
pub fn change_password(user: &UserRecord, password_hash: &str) -> [Write; 2] {
    let profile = ProfileUpdate::new(user)
        .bump_version(user)
        .remove("resetHash")
        .remove("resetExpiresAt")
        .into_write(&user.id, profile_conflict(user.version, |_| ApiError::StaleVersion));
    let login = login_update(&user.email, user.version + 1, user.role, user.twofa_enabled(), Some(password_hash));
    [profile, login]
}

// ---- pre-2FA tokens and sessions ---------------------------------------------

pub fn create_session(session: &SessionRecord) -> Write {
    Write::new(Op::Put { item: session.to_item(), condition: None }, never)
}

pub fn delete_session(user_id: &str, session_id: &str) -> Write {
    Write::new(Op::Delete { key: keys::session(user_id, session_id) }, never)
}

// ---- audit -------------------------------------------------------------------

/// Audit events that happened in this order at `now_millis` (each a
/// millisecond after the previous, so newest-first lists keep the order).
pub fn audit(user_id: &str, kinds: &[EventKind], now_millis: i64, client: &ClientInfo) -> Vec<Write> {
    kinds
        .iter()
        .enumerate()
        .map(|(i, kind)| {
            audit_with_key(user_id, AuditRecord::new(*kind, now_millis + i as i64, client), &random_suffix())
        })
        .collect()
}

fn audit_with_key(user_id: &str, record: AuditRecord, unique: &str) -> Write {
    Write::new(Op::Put { item: record.to_item(user_id, unique), condition: None }, never)
}

fn random_suffix() -> String {
    data_encoding::HEXLOWER.encode(&random_bytes::<6>())
}
