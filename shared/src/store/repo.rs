//! Access to the table: reads, the attempt counters, refresh rotation, the
//! keyring's items.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::items::{Item, ItemExt, n, s};
use super::records::{self, AuditRecord, KeyringEntry, KeyringItems, LoginRecord, SessionRecord, UserRecord};
use super::writes::Write;

use crate::crypto::StoredSigningKey;
use crate::error::ApiError;

/// A failed-attempt limit: at most `max` failures within `window_secs` of the first.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub max: i64,
    pub window_secs: i64,
    pub(super) failures_attr: &'static str,
    pub(super) window_attr: &'static str,
}

/// 10 wrong passwords per normalised email per 15 minutes.
pub const PASSWORD_LIMIT: Limit =
    Limit { max: 10, window_secs: 15 * 60, failures_attr: "pwFails", window_attr: "pwWindowStart" };
/// 5 wrong codes (TOTP or backup) per user per 15 minutes, across every route.
pub const CODE_LIMIT: Limit =
    Limit { max: 5, window_secs: 15 * 60, failures_attr: "codeFails", window_attr: "codeWindowStart" };
/// 3 mails an hour: verification mails per user (on the profile), reset mails
/// per address (on the email's login item, whether or not an account has it).
pub const MAIL_LIMIT: Limit =
    Limit { max: 3, window_secs: 60 * 60, failures_attr: "mailSends", window_attr: "mailWindowStart" };

/// Access to the table. Cheap to clone.
#[derive(Clone)]
pub struct Repo {
    pub(super) client: Client,
    pub(super) table: String,
}

impl Repo {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Repo { client, table: table.into() }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn get(&self, key: Item) -> Result<Option<Item>, ApiError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .send()
            .await
            .map_err(ApiError::aws)?;
        Ok(out.item)
    }

    /// The user's profile, read strongly consistent (token versions are checked on it).
    pub async fn user(&self, user_id: &str) -> Result<Option<UserRecord>, ApiError> {
        self.get(keys::user(user_id)).await?.map(|item| UserRecord::from_item(&item)).transpose()
    }

    /// The account that has `email`, if any (a counter-only item is no account).
    pub async fn user_by_email(&self, email: &crate::domain::Email) -> Result<Option<UserRecord>, ApiError> {
        let Some(item) = self.get(keys::login(email.as_str())).await? else { return Ok(None) };
        match LoginRecord::from_item(&item)?.account {
            Some(account) => self.user(&account.user_id).await,
            None => Ok(None),
        }
    }

    /// Counts a password attempt for `email` *before* the password is checked,
    /// and returns the login item (account or not) in the same round trip.
    pub async fn reserve_password_attempt(
        &self,
        email: &crate::domain::Email,
        now: i64,
    ) -> Result<LoginRecord, ApiError> {
        let item = self.reserve_attempt(keys::login(email.as_str()), &PASSWORD_LIMIT, None, now).await?;
        LoginRecord::from_item(&item)
    }

    /// Counts a code attempt for the user *before* the code is checked, on the
    /// condition that the token version is still `version`; returns the profile.
    pub async fn reserve_code_attempt(&self, user_id: &str, version: i64, now: i64) -> Result<UserRecord, ApiError> {
        let standing = Standing { version, unspent_pre2fa: None };
        let item = self.reserve_attempt(keys::user(user_id), &CODE_LIMIT, Some(standing), now).await?;
        UserRecord::from_item(&item)
    }

    /// [`Repo::reserve_code_attempt`] for a sign-in's second step: also on the
    /// condition that the pre-2FA token `nonce` has not succeeded yet, so a
    /// spent token never counts an attempt against its user (`TokenAlreadyUsed`).
    pub async fn reserve_sign_in_attempt(
        &self,
        user_id: &str,
        version: i64,
        nonce: &str,
        now: i64,
    ) -> Result<UserRecord, ApiError> {
        let standing = Standing { version, unspent_pre2fa: Some(nonce) };
        let item = self.reserve_attempt(keys::user(user_id), &CODE_LIMIT, Some(standing), now).await?;
        UserRecord::from_item(&item)
    }

    /// Counts a reset mail for `email` before it is sent, whether or not an
    /// account has the address; returns the login item.
    pub async fn reserve_reset_mail(&self, email: &crate::domain::Email, now: i64) -> Result<LoginRecord, ApiError> {
        let item = self.reserve_attempt(keys::login(email.as_str()), &MAIL_LIMIT, None, now).await?;
        LoginRecord::from_item(&item)
    }

    /// Counts a verification mail for the user before it is sent, on the
    /// condition that its token version is still `version`.
    pub async fn reserve_verification_mail(
        &self,
        user_id: &str,
        version: i64,
        now: i64,
    ) -> Result<UserRecord, ApiError> {
        let standing = Standing { version, unspent_pre2fa: None };
        let item = self.reserve_attempt(keys::user(user_id), &MAIL_LIMIT, Some(standing), now).await?;
        UserRecord::from_item(&item)
    }

    /// One conditional update counts the attempt only while the limit allows
    /// it, so N parallel attempts never get more than `max` through. A window
    /// that has passed is restarted by a second conditional update (only after
    /// a failure that no success reset).
    async fn reserve_attempt(
        &self,
        key: Item,
        limit: &Limit,
        standing: Option<Standing<'_>>,
        now: i64,
    ) -> Result<Item, ApiError> {
        let cutoff = now - limit.window_secs;
        let (guard, keep_spent_map) = match &standing {
            None => ("", ""),
            Some(Standing { unspent_pre2fa: None, .. }) => ("attribute_exists(pk) AND ver = :ver AND ", ""),
            // The map of spent nonces is created on first use, so that a success can add to it.
            Some(Standing { unspent_pre2fa: Some(_), .. }) => (
                "attribute_exists(pk) AND ver = :ver AND attribute_not_exists(spentPre2fa.#nonce) AND ",
                ", spentPre2fa = if_not_exists(spentPre2fa, :noneSpent)",
            ),
        };
        let mut names = HashMap::from([
            ("#f".to_string(), limit.failures_attr.to_string()),
            ("#w".to_string(), limit.window_attr.to_string()),
        ]);
        let mut guard_values = HashMap::new();
        if let Some(standing) = &standing {
            guard_values.insert(":ver".to_string(), n(standing.version));
            if let Some(nonce) = standing.unspent_pre2fa {
                names.insert("#nonce".to_string(), nonce.to_string());
                guard_values.insert(":noneSpent".to_string(), AttributeValue::M(HashMap::new()));
            }
        }
        let mut values = HashMap::from([
            (":zero".to_string(), n(0)),
            (":one".to_string(), n(1)),
            (":now".to_string(), n(now)),
            (":cutoff".to_string(), n(cutoff)),
            (":max".to_string(), n(limit.max)),
        ]);
        values.extend(guard_values.clone());
        for _ in 0..3 {
            let counted = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key.clone()))
                .update_expression(format!(
                    "SET #f = if_not_exists(#f, :zero) + :one, #w = if_not_exists(#w, :now){keep_spent_map}"
                ))
                .condition_expression(format!("{guard}(attribute_not_exists(#w) OR (#w > :cutoff AND #f < :max))"))
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                .return_values(ReturnValue::AllNew)
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            let old = match counted {
                Ok(out) => return returned_item(out),
                Err(err) => condition_failed_item(err)?,
            };
            // Who is asking comes before how often: a spent or outdated token is 401, never 429.
            if let Some(standing) = &standing {
                if let Some(nonce) = standing.unspent_pre2fa
                    && records::spent_nonces(&old)?.contains_key(nonce)
                {
                    return Err(ApiError::TokenAlreadyUsed);
                }
                if old.opt_num("ver")? != Some(standing.version) {
                    return Err(ApiError::StaleVersion);
                }
            }
            let window_start = old.num(limit.window_attr)?;
            if window_start > cutoff {
                let retry_after = (window_start + limit.window_secs - now).max(1) as u64;
                return Err(ApiError::TooManyAttempts { retry_after });
            }
            // The window has passed: start a new one with this attempt, unless
            // a concurrent request already did (then count again, above).
            let mut restart_values = HashMap::from([
                (":one".to_string(), n(1)),
                (":now".to_string(), n(now)),
                (":old".to_string(), n(window_start)),
            ]);
            restart_values.extend(guard_values.clone());
            let restarted = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key.clone()))
                .update_expression(format!("SET #f = :one, #w = :now{keep_spent_map}"))
                .condition_expression(format!("{guard}#w = :old"))
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(restart_values))
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            match restarted {
                Ok(out) => return returned_item(out),
                Err(err) => {
                    condition_failed_item(err)?;
                }
            }
        }
        Err(ApiError::unavailable("attempt counter under heavy contention"))
    }

    /// Applies writes atomically: one `PutItem` when there is a single
    /// unconditional put, else one `TransactWriteItems`. A refused condition
    /// becomes the error its write names.
    pub async fn commit(&self, writes: Vec<Write>) -> Result<(), ApiError> {
        super::writes::commit(self, writes).await
    }

    /// The session a refresh token names.
    pub async fn session(&self, user_id: &str, session_id: &str) -> Result<Option<SessionRecord>, ApiError> {
        self.get(keys::session(user_id, session_id)).await?.map(|item| SessionRecord::from_item(&item)).transpose()
    }

    /// Whether a pre-2FA token can still succeed: its nonce not spent and the
    /// user's token version unchanged. One read of the profile.
    pub async fn pre2fa_live(&self, user_id: &str, nonce: &str, version: i64) -> Result<bool, ApiError> {
        Ok(self
            .user(user_id)
            .await?
            .is_some_and(|user| user.version == version && !user.spent_pre2fa.contains_key(nonce)))
    }

    /// Takes one mail from this minute's budget of mails that anyone can
    /// trigger without an account: `true` while the budget has room (a
    /// conditional counter, so parallel requests never pass it), `false` when
    /// it is spent, and then the refusal is counted on the same item.
    pub async fn take_anonymous_mail(&self, now: i64, per_minute: i64) -> Result<bool, ApiError> {
        let minute = now.div_euclid(60);
        let key = keys::mail_budget(minute);
        // Kept a day for operators to look at, then TTL removes it.
        let ttl = (minute + 1) * 60 + 24 * 60 * 60;
        let taken = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key.clone()))
            .update_expression("SET sent = if_not_exists(sent, :zero) + :one, #ttl = :ttl")
            .condition_expression("attribute_not_exists(sent) OR sent < :max")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(per_minute))
            .expression_attribute_values(":ttl", n(ttl))
            .send()
            .await;
        match taken {
            Ok(_) => return Ok(true),
            Err(err) if !is_condition_failure(&err) => return Err(ApiError::aws(err)),
            Err(_) => {}
        }
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression("SET refused = if_not_exists(refused, :zero) + :one, #ttl = :ttl")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":zero", n(0))
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":ttl", n(ttl))
            .send()
            .await
            .map_err(ApiError::aws)?;
        Ok(false)
    }

    /// Lets TTL clean up the attempt counter of an email that has no account
    /// (never the login item of an account, by condition).
    pub async fn expire_login_counter(&self, email: &crate::domain::Email, at: i64) -> Result<(), ApiError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::login(email.as_str())))
            .update_expression("SET #ttl = :at")
            .condition_expression("attribute_exists(pk) AND attribute_not_exists(userId)")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":at", n(at))
            .send()
            .await;
        match result {
            Err(err) if !is_condition_failure(&err) => Err(ApiError::aws(err)),
            _ => Ok(()),
        }
    }

    /// Swaps the session's current refresh id from `presented` to `next`
    /// (a condition on the presented one, and on the session being younger
    /// than its 30-day end), returning what happened.
    pub async fn rotate_refresh(
        &self,
        user_id: &str,
        session_id: &str,
        presented: &str,
        next: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<Rotation, ApiError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::session(user_id, session_id)))
            .update_expression(
                "SET refreshId = :next, refreshIssuedAt = :now, previousRefreshId = :presented, \
                 rotatedAt = :now, expiresAt = :exp, #ttl = :exp",
            )
            .condition_expression("refreshId = :presented AND expiresAt > :now AND authTime > :oldest")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":next", s(next))
            .expression_attribute_values(":presented", s(presented))
            .expression_attribute_values(":now", n(now))
            .expression_attribute_values(":exp", n(expires_at))
            .expression_attribute_values(":oldest", n(now - crate::domain::SESSION_MAX_SECS))
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .send()
            .await;
        let old = match result {
            Ok(out) => {
                return Ok(Rotation::Rotated(SessionRecord::from_item(&returned_item(out)?)?));
            }
            Err(err) => condition_failed_item(err)?,
        };
        if old.is_empty() {
            return Ok(Rotation::Gone);
        }
        let session = SessionRecord::from_item(&old)?;
        if session.expires_at <= now || session.ends_at() <= now {
            Ok(Rotation::Gone)
        } else if session.previous_refresh_id.as_deref() == Some(presented)
            && session.rotated_at.is_some_and(|at| now - at < REFRESH_GRACE_SECS)
        {
            Ok(Rotation::Grace(session))
        } else {
            Ok(Rotation::Reused(session))
        }
    }

    /// The user's newest audit events that have not expired, newest first.
    pub async fn recent_events(&self, user_id: &str, now: i64, limit: i32) -> Result<Vec<AuditRecord>, ApiError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :evt)")
            .expression_attribute_values(":pk", s(keys::user_pk(user_id)))
            .expression_attribute_values(":evt", s("EVT#"))
            .scan_index_forward(false)
            .limit(limit)
            .send()
            .await
            .map_err(ApiError::aws)?;
        // Events are sorted by time: once one has expired, all older ones have.
        out.items
            .unwrap_or_default()
            .iter()
            .map(AuditRecord::from_item)
            .filter(|record| record.as_ref().map_or(true, |r| r.expires_at > now))
            .collect()
    }

    /// Every item of the keyring: the wrapped data keys, the MAC key and the
    /// signing keys (one Query of its partition, strongly consistent).
    pub async fn keyring_items(&self) -> Result<KeyringItems, ApiError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", s(keys::KEYRING_PK))
            .consistent_read(true)
            .send()
            .await
            .map_err(ApiError::aws)?;
        let mut items = KeyringItems::default();
        for item in out.items.unwrap_or_default() {
            let sk = item.str("sk")?;
            if sk.starts_with(keys::SIGNING_KEY_PREFIX) {
                items.signing_keys.push(records::signing_key_from_item(&item)?);
            } else if sk.starts_with(keys::MAC_KEY_PREFIX) {
                items.mac_keys.push(KeyringEntry::from_item(&item)?);
            } else {
                items.data_keys.push(KeyringEntry::from_item(&item)?);
            }
        }
        Ok(items)
    }

    /// Adds a wrapped data key unless one with its kid exists; `false` if it did.
    pub async fn add_data_key(&self, entry: &KeyringEntry) -> Result<bool, ApiError> {
        self.put_new(entry.to_item(keys::keyring(&entry.kid))).await
    }

    /// Adds the wrapped signing-key MAC key unless one with its kid exists; `false` if it did.
    pub async fn add_mac_key(&self, entry: &KeyringEntry) -> Result<bool, ApiError> {
        self.put_new(entry.to_item(keys::mac_key(&entry.kid))).await
    }

    /// Adds a signing key unless one with its kid exists; `false` if it did.
    pub async fn add_signing_key(&self, key: &StoredSigningKey) -> Result<bool, ApiError> {
        self.put_new(records::signing_key_item(key)).await
    }

    /// Removes a signing key no verifier needs any more.
    pub async fn delete_signing_key(&self, kid: &str) -> Result<(), ApiError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(keys::signing_key(kid)))
            .send()
            .await
            .map_err(ApiError::aws)?;
        Ok(())
    }

    async fn put_new(&self, item: Item) -> Result<bool, ApiError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(err) if is_condition_failure(&err) => Ok(false),
            Err(err) => Err(ApiError::aws(err)),
        }
    }
}

/// What must still hold about a user for an attempt to be counted.
struct Standing<'a> {
    /// The token version the caller's token carries.
    version: i64,
    /// At a sign-in's second step: the pre-2FA token's nonce, which must not have succeeded.
    unspent_pre2fa: Option<&'a str>,
}

/// Within this many seconds of a rotation, the replaced refresh token gets the
/// same new one (two tabs refreshing at once stay signed in).
pub const REFRESH_GRACE_SECS: i64 = 10;

/// The outcome of presenting a refresh token.
#[derive(Debug)]
pub enum Rotation {
    /// The presented id was current and is now replaced.
    Rotated(SessionRecord),
    /// The presented id was replaced less than 10 seconds ago.
    Grace(SessionRecord),
    /// The presented id was replaced earlier: someone replayed it.
    Reused(SessionRecord),
    /// No such live session (logged out or expired).
    Gone,
}

fn returned_item(out: UpdateItemOutput) -> Result<Item, ApiError> {
    out.attributes.ok_or_else(|| ApiError::internal("update returned no attributes"))
}

/// The old item of a refused condition (empty if there was none); any other
/// failure is the dependency's.
fn condition_failed_item(
    err: SdkError<UpdateItemError, aws_smithy_runtime_api::http::Response>,
) -> Result<Item, ApiError> {
    if !matches!(err.as_service_error(), Some(UpdateItemError::ConditionalCheckFailedException(_))) {
        return Err(ApiError::aws(err));
    }
    match err.into_service_error() {
        UpdateItemError::ConditionalCheckFailedException(e) => Ok(e.item.unwrap_or_default()),
        other => Err(ApiError::internal(other)),
    }
}

fn is_condition_failure<E: aws_sdk_dynamodb::error::ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

/// Key shapes.
pub mod keys {
    use super::Item;
    use crate::store::items::s;
    use std::collections::HashMap;

    pub const KEYRING_PK: &str = "KEYRING";
    pub const MAIL_BUDGET_PK: &str = "MAILBUDGET";

    /// The anonymous mail budget of one minute (unix seconds / 60).
    pub fn mail_budget(minute: i64) -> Item {
        key(MAIL_BUDGET_PK.into(), minute.to_string())
    }

    pub fn user_pk(user_id: &str) -> String {
        format!("USER#{user_id}")
    }

    fn key(pk: String, sk: String) -> Item {
        HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
    }

    pub fn user(user_id: &str) -> Item {
        key(user_pk(user_id), "PROFILE".into())
    }

    pub fn login(email: &str) -> Item {
        key(format!("EMAIL#{email}"), "LOGIN".into())
    }

    pub fn session(user_id: &str, session_id: &str) -> Item {
        key(user_pk(user_id), format!("SESSION#{session_id}"))
    }

    pub fn event(user_id: &str, at_millis: i64, unique: &str) -> Item {
        key(user_pk(user_id), format!("EVT#{at_millis:013}#{unique}"))
    }

    pub fn keyring(kid: &str) -> Item {
        key(KEYRING_PK.into(), format!("KEY#{kid}"))
    }

    pub const SIGNING_KEY_PREFIX: &str = "SIGNKEY#";
    pub const MAC_KEY_PREFIX: &str = "MACKEY#";

    pub fn mac_key(kid: &str) -> Item {
        key(KEYRING_PK.into(), format!("{MAC_KEY_PREFIX}{kid}"))
    }

    pub fn signing_key(kid: &str) -> Item {
        key(KEYRING_PK.into(), format!("{SIGNING_KEY_PREFIX}{kid}"))
    }
}
