//! The attempt counters: each attempt is counted by a conditional update
//! *before* it is checked, so parallel attempts never get more than the limit
//! through; and the shared budget of mail that anyone can trigger.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::items::{Item, ItemExt, n, s};
use super::keys;
use super::records::{self, CeremonyRecord, LoginRecord, UserRecord};
use super::repo::{Repo, condition_failed_item, is_condition_failure, returned_item};
use crate::domain::Email;
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
/// 3 email-change requests an hour per user, answered or refused alike.
pub const EMAIL_CHANGE_LIMIT: Limit =
    Limit { max: 3, window_secs: 60 * 60, failures_attr: "changeSends", window_attr: "changeWindowStart" };

impl Repo {
    /// Counts a password attempt for `email` *before* the password is checked,
    /// and returns the login item (account or not) in the same round trip.
    pub async fn reserve_password_attempt(&self, email: &Email, now: i64) -> Result<LoginRecord, ApiError> {
        let (item, _) = self.reserve_attempt(keys::login(email.as_str()), &PASSWORD_LIMIT, None, now).await?;
        LoginRecord::from_item(&item)
    }

    /// Counts a code attempt for the user *before* the code (or passkey) is
    /// checked, on the condition that the token version is still `version`;
    /// returns the profile. With a passkey, the same update uses up its
    /// ceremony (`ceremony`: id and purpose; it must be there and live), so a
    /// ceremony works once whatever the outcome, and its state is returned.
    pub async fn reserve_code_attempt(
        &self,
        user_id: &str,
        version: i64,
        ceremony: Option<(&str, &str)>,
        now: i64,
    ) -> Result<(UserRecord, Option<CeremonyRecord>), ApiError> {
        let standing = Standing { version, unspent_pre2fa: None, ceremony };
        self.reserve_code(user_id, standing, now).await
    }

    /// [`Repo::reserve_code_attempt`] for a sign-in's second step: also on the
    /// condition that the pre-2FA token `nonce` has not succeeded yet, so a
    /// spent token never counts an attempt against its user (`TokenAlreadyUsed`).
    pub async fn reserve_sign_in_attempt(
        &self,
        user_id: &str,
        version: i64,
        nonce: &str,
        ceremony: Option<(&str, &str)>,
        now: i64,
    ) -> Result<(UserRecord, Option<CeremonyRecord>), ApiError> {
        let standing = Standing { version, unspent_pre2fa: Some(nonce), ceremony };
        self.reserve_code(user_id, standing, now).await
    }

    async fn reserve_code(
        &self,
        user_id: &str,
        standing: Standing<'_>,
        now: i64,
    ) -> Result<(UserRecord, Option<CeremonyRecord>), ApiError> {
        let (item, ceremony) = self.reserve_attempt(keys::user(user_id), &CODE_LIMIT, Some(standing), now).await?;
        Ok((UserRecord::from_item(&item)?, ceremony))
    }

    /// Counts a reset mail for `email` before it is sent, whether or not an
    /// account has the address; returns the login item.
    pub async fn reserve_reset_mail(&self, email: &Email, now: i64) -> Result<LoginRecord, ApiError> {
        let (item, _) = self.reserve_attempt(keys::login(email.as_str()), &MAIL_LIMIT, None, now).await?;
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
        let standing = Standing { version, unspent_pre2fa: None, ceremony: None };
        let (item, _) = self.reserve_attempt(keys::user(user_id), &MAIL_LIMIT, Some(standing), now).await?;
        UserRecord::from_item(&item)
    }

    /// Counts an email-change request for the user before the new address is
    /// looked at, on the condition that its token version is still `version`.
    pub async fn reserve_email_change(&self, user_id: &str, version: i64, now: i64) -> Result<UserRecord, ApiError> {
        let standing = Standing { version, unspent_pre2fa: None, ceremony: None };
        let (item, _) = self.reserve_attempt(keys::user(user_id), &EMAIL_CHANGE_LIMIT, Some(standing), now).await?;
        UserRecord::from_item(&item)
    }

    /// One conditional update counts the attempt only while the limit allows
    /// it, so N parallel attempts never get more than `max` through. A window
    /// that has passed is restarted by a second conditional update (only after
    /// a failure that no success reset). Returns the item as counted, and the
    /// ceremony it used up, if any.
    async fn reserve_attempt(
        &self,
        key: Item,
        limit: &Limit,
        standing: Option<Standing<'_>>,
        now: i64,
    ) -> Result<(Item, Option<CeremonyRecord>), ApiError> {
        let cutoff = now - limit.window_secs;
        let (mut guard, keep_spent_map) = match &standing {
            None => (String::new(), ""),
            Some(Standing { unspent_pre2fa: None, .. }) => ("attribute_exists(pk) AND ver = :ver AND ".into(), ""),
            // The map of spent nonces is created on first use, so that a success can add to it.
            Some(Standing { unspent_pre2fa: Some(_), .. }) => (
                "attribute_exists(pk) AND ver = :ver AND attribute_not_exists(spentPre2fa.#nonce) AND ".into(),
                ", spentPre2fa = if_not_exists(spentPre2fa, :noneSpent)",
            ),
        };
        let ceremony = standing.as_ref().and_then(|standing| standing.ceremony);
        let use_up = if ceremony.is_some() {
            guard.push_str("ceremonies.#cer.purpose = :cpurpose AND ceremonies.#cer.expiresAt > :now AND ");
            " REMOVE ceremonies.#cer"
        } else {
            ""
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
            if let Some((id, purpose)) = standing.ceremony {
                names.insert("#cer".to_string(), id.to_string());
                guard_values.insert(":cpurpose".to_string(), s(purpose));
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
                    "SET #f = if_not_exists(#f, :zero) + :one, #w = if_not_exists(#w, :now){keep_spent_map}{use_up}"
                ))
                .condition_expression(format!("{guard}(attribute_not_exists(#w) OR (#w > :cutoff AND #f < :max))"))
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(values.clone()))
                // With a ceremony, the item as it was holds the state the update removes.
                .return_values(if ceremony.is_some() { ReturnValue::AllOld } else { ReturnValue::AllNew })
                .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
                .send()
                .await;
            let old = match counted {
                Ok(out) => {
                    let item = returned_item(out)?;
                    return match ceremony {
                        None => Ok((item, None)),
                        Some((id, _)) => Ok(counted_before(item, limit, id, now)),
                    };
                }
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
            // The route's state before its limits: a ceremony that is not this
            // user's, not for this purpose, used or expired is refused as such.
            let used_up = match ceremony {
                Some((id, purpose)) => match ceremony_of(&old, id)? {
                    Some(found) if found.purpose == purpose && found.expires_at > now => Some(found),
                    _ => return Err(ApiError::CeremonyExpired),
                },
                None => None,
            };
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
                .update_expression(format!("SET #f = :one, #w = :now{keep_spent_map}{use_up}"))
                .condition_expression(format!("{guard}#w = :old"))
                .set_expression_attribute_names(Some(names.clone()))
                .set_expression_attribute_values(Some(restart_values))
                .return_values(ReturnValue::AllNew)
                .send()
                .await;
            match restarted {
                Ok(out) => return Ok((returned_item(out)?, used_up)),
                Err(err) => {
                    condition_failed_item(err)?;
                }
            }
        }
        Err(ApiError::unavailable("attempt counter under heavy contention"))
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
    pub async fn expire_login_counter(&self, email: &Email, at: i64) -> Result<(), ApiError> {
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
}

/// What must still hold about a user for an attempt to be counted.
struct Standing<'a> {
    /// The token version the caller's token carries.
    version: i64,
    /// At a sign-in's second step: the pre-2FA token's nonce, which must not have succeeded.
    unspent_pre2fa: Option<&'a str>,
    /// With a passkey: the ceremony (id, purpose) the attempt uses up.
    ceremony: Option<(&'a str, &'a str)>,
}

/// The ceremony `id` of a profile item, if it has one.
fn ceremony_of(item: &Item, id: &str) -> Result<Option<CeremonyRecord>, ApiError> {
    let ceremonies = match item.get("ceremonies") {
        Some(AttributeValue::M(map)) => map,
        _ => return Ok(None),
    };
    ceremonies.get(id).map(CeremonyRecord::from_value).transpose()
}

/// The profile as the attempt left it, from the profile as it was (an update
/// that also used up ceremony `id` returned the item before it): the attempt
/// counted, the ceremony taken out and returned.
fn counted_before(mut item: Item, limit: &Limit, id: &str, now: i64) -> (Item, Option<CeremonyRecord>) {
    let ceremony = ceremony_of(&item, id).ok().flatten();
    let failures = item.opt_num(limit.failures_attr).ok().flatten().unwrap_or(0);
    if item.opt_num(limit.window_attr).ok().flatten().is_none() {
        item.insert(limit.window_attr.to_string(), n(now));
    }
    item.insert(limit.failures_attr.to_string(), n(failures + 1));
    if let Some(AttributeValue::M(ceremonies)) = item.get_mut("ceremonies") {
        ceremonies.remove(id);
    }
    (item, ceremony)
}
