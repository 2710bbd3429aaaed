//! Access to the table (`Repo`): the reads, refresh rotation, the keyring's items.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::update_item::{UpdateItemError, UpdateItemOutput};
use aws_sdk_dynamodb::types::{ReturnValue, ReturnValuesOnConditionCheckFailure};

use super::items::{Item, ItemExt, n, s};
use super::keys;
use super::records::{
    self, AccountOverview, AuditRecord, CredentialOwner, DeviceRecord, KeyringEntry, KeyringItems, LoginRecord,
    SessionRecord, StoredLogin, UserRecord,
};

use crate::crypto::StoredSigningKey;
use crate::error::ApiError;

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

    /// The login item of `email` while an account has it (strongly consistent).
    pub async fn login_of(&self, email: &crate::domain::Email) -> Result<Option<StoredLogin>, ApiError> {
        let Some(item) = self.get(keys::login(email.as_str())).await? else { return Ok(None) };
        StoredLogin::from_item(item)
    }

    /// The profile and one of its sessions, in one read (strongly
    /// consistent): what an authenticated request stands on.
    pub async fn user_and_session(
        &self,
        user_id: &str,
        session_id: &str,
    ) -> Result<(Option<UserRecord>, Option<SessionRecord>), ApiError> {
        use aws_sdk_dynamodb::types::KeysAndAttributes;
        let keys = KeysAndAttributes::builder()
            .keys(keys::user(user_id))
            .keys(keys::session(user_id, session_id))
            .consistent_read(true)
            .build()
            .map_err(ApiError::internal)?;
        let out = self.client.batch_get_item().request_items(&self.table, keys).send().await.map_err(ApiError::aws)?;
        if out.unprocessed_keys.as_ref().is_some_and(|left| !left.is_empty()) {
            return Err(ApiError::unavailable("DynamoDB left part of a two-item read unprocessed"));
        }
        let (mut user, mut session) = (None, None);
        for item in out.responses.unwrap_or_default().remove(&self.table).unwrap_or_default() {
            if item.str("sk")? == "PROFILE" {
                user = Some(UserRecord::from_item(&item)?);
            } else {
                session = Some(SessionRecord::from_item(&item)?);
            }
        }
        Ok((user, session))
    }

    /// The profile, the remembered devices and the sessions of a user: one
    /// Query (strongly consistent) of the partition from `PROFILE` on.
    pub async fn overview(&self, user_id: &str) -> Result<AccountOverview, ApiError> {
        let mut overview = AccountOverview::default();
        for item in self.query_user(user_id, "sk >= :from", "PROFILE").await? {
            let sk = item.str("sk")?;
            if sk == "PROFILE" {
                overview.user = Some(UserRecord::from_item(&item)?);
            } else if sk.starts_with(keys::DEVICE_PREFIX) {
                overview.devices.push(DeviceRecord::from_item(&item)?);
            } else if sk.starts_with(keys::SESSION_PREFIX) {
                overview.sessions.push(SessionRecord::from_item(&item)?);
            }
        }
        Ok(overview)
    }

    /// The user's remembered devices (live or not).
    pub async fn devices(&self, user_id: &str) -> Result<Vec<DeviceRecord>, ApiError> {
        let items = self.query_user(user_id, "begins_with(sk, :from)", keys::DEVICE_PREFIX).await?;
        items.iter().map(DeviceRecord::from_item).collect()
    }

    /// Every item of the user's partition whose sort key meets `condition`
    /// (on `:from`), all pages, strongly consistent.
    async fn query_user(&self, user_id: &str, condition: &str, from: &str) -> Result<Vec<Item>, ApiError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(format!("pk = :pk AND {condition}"))
                .expression_attribute_values(":pk", s(keys::user_pk(user_id)))
                .expression_attribute_values(":from", s(from))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(ApiError::aws)?;
            items.extend(out.items.unwrap_or_default());
            start = out.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }

    /// The account and factor a passkey's credential id belongs to (its item
    /// is keyed by the id's hash, `credential_key`), if any.
    pub async fn credential_owner(&self, credential_key: &str) -> Result<Option<CredentialOwner>, ApiError> {
        self.get(keys::credential(credential_key)).await?.map(|item| CredentialOwner::from_item(&item)).transpose()
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

    /// Swaps the session's current refresh id from `presented` to `next`
    /// (a condition on the presented one, and on the session being younger
    /// than its 30-day end), returning what happened. The session was last
    /// used now, from `ip`.
    pub async fn rotate_refresh(
        &self,
        user_id: &str,
        session_id: &str,
        presented: &str,
        next: &str,
        now: i64,
        ip: Option<&str>,
    ) -> Result<Rotation, ApiError> {
        let expires_at = now + crate::domain::REFRESH_TTL_SECS;
        let set_ip = if ip.is_some() { ", ip = :ip" } else { "" };
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(keys::session(user_id, session_id)))
            .update_expression(format!(
                "SET refreshId = :next, refreshIssuedAt = :now, previousRefreshId = :presented, \
                 rotatedAt = :now, expiresAt = :exp, #ttl = :exp{set_ip}"
            ))
            .set_expression_attribute_values(ip.map(|ip| std::collections::HashMap::from([(":ip".to_string(), s(ip))])))
            // Sessions from before `startedAt` existed count from their `authTime`.
            .condition_expression(
                "refreshId = :presented AND expiresAt > :now \
                 AND (startedAt > :oldest OR (attribute_not_exists(startedAt) AND authTime > :oldest))",
            )
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

    /// Deletes every item of the user's partition (`USER#<id>`): a Query of
    /// its keys (strongly consistent, [`DELETE_PAGE`] at a time), then
    /// `BatchWriteItem` in groups of 25; what DynamoDB leaves unprocessed is
    /// sent again after a growing pause. Returns how many items went.
    pub async fn delete_user_items(&self, user_id: &str) -> Result<usize, ApiError> {
        let mut deleted = 0;
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .expression_attribute_values(":pk", s(keys::user_pk(user_id)))
                .projection_expression("pk, sk")
                .consistent_read(true)
                .limit(DELETE_PAGE)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(ApiError::aws)?;
            for group in page.items().chunks(25) {
                self.delete_keys(group).await?;
                deleted += group.len();
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(deleted),
            }
        }
    }

    /// One `BatchWriteItem` of deletes, and again for what it left unprocessed.
    async fn delete_keys(&self, keys: &[Item]) -> Result<(), ApiError> {
        use aws_sdk_dynamodb::types::{DeleteRequest, WriteRequest};
        let mut requests = keys
            .iter()
            .map(|key| {
                let delete = DeleteRequest::builder().set_key(Some(key.clone())).build().map_err(ApiError::internal)?;
                Ok(WriteRequest::builder().delete_request(delete).build())
            })
            .collect::<Result<Vec<_>, ApiError>>()?;
        for attempt in 0..UNPROCESSED_RETRIES {
            let out = self
                .client
                .batch_write_item()
                .request_items(&self.table, requests)
                .send()
                .await
                .map_err(ApiError::aws)?;
            requests = out.unprocessed_items.and_then(|mut left| left.remove(&self.table)).unwrap_or_default();
            if requests.is_empty() {
                return Ok(());
            }
            if attempt + 1 < UNPROCESSED_RETRIES {
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
        }
        Err(ApiError::unavailable(format!("DynamoDB left {} deletes unprocessed", requests.len())))
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
        applied(result)
    }
}

/// Keys read per Query page when a user's partition is deleted.
const DELETE_PAGE: i32 = 100;
/// `BatchWriteItem` calls for one group of deletes, the first included (pauses of 50 to 400 ms between).
const UNPROCESSED_RETRIES: u32 = 5;

/// Within this many seconds of a rotation, the replaced refresh token gets the
/// same new one (two tabs refreshing at once stay signed in).
const REFRESH_GRACE_SECS: i64 = 10;

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

pub(super) fn returned_item(out: UpdateItemOutput) -> Result<Item, ApiError> {
    out.attributes.ok_or_else(|| ApiError::internal("update returned no attributes"))
}

/// The old item of a refused condition (empty if there was none); any other
/// failure is the dependency's.
pub(super) fn condition_failed_item(
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

/// Whether a conditional write happened: `false` when its condition failed.
pub(super) fn applied<T, E>(
    result: Result<T, SdkError<E, aws_smithy_runtime_api::http::Response>>,
) -> Result<bool, ApiError>
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match result {
        Ok(_) => Ok(true),
        Err(err) if is_condition_failure(&err) => Ok(false),
        Err(err) => Err(ApiError::aws(err)),
    }
}

pub(super) fn is_condition_failure<E: aws_sdk_dynamodb::error::ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}
