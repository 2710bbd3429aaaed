//! `authctl migrate-factors`: profiles written before several factors (v2)
//! hold one authenticator app as `totpSecret` and `lastStep`; v3 keeps it as
//! the first entry of the `factors` map. The sealed secret moves as it is
//! (it is bound to the user id, not to where it is stored), so no key is
//! needed. Each profile changes in one conditional update, and only while it
//! still has `totpSecret` and no `factors`: running it twice, or beside live
//! functions, is safe.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use super::items::{Item, ItemExt, s};
use super::records::{FactorRecord, FactorSecret};
use super::repo::{Repo, applied};
use crate::crypto::random_id;
use crate::error::ApiError;

/// What a migration did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Migrated {
    /// Profiles whose app became their first factor.
    pub moved: usize,
    /// Profiles another run (or a user) changed in between.
    pub skipped: usize,
}

impl Repo {
    /// Moves every v2 authenticator app into its profile's `factors` map.
    pub async fn migrate_factors(&self, now: i64) -> Result<Migrated, ApiError> {
        let mut migrated = Migrated::default();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("sk = :profile AND attribute_exists(totpSecret)")
                .expression_attribute_values(":profile", s("PROFILE"))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(ApiError::aws)?;
            for item in page.items() {
                if self.migrate_one(item, now).await? {
                    migrated.moved += 1;
                } else {
                    migrated.skipped += 1;
                }
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => return Ok(migrated),
            }
        }
    }

    async fn migrate_one(&self, item: &Item, now: i64) -> Result<bool, ApiError> {
        let sealed = item.opt_bytes("totpSecret")?.ok_or_else(|| ApiError::internal("no totpSecret"))?;
        let factor = FactorRecord {
            id: random_id(),
            name: crate::domain::FactorKind::Totp.default_name().to_string(),
            created_at: item.opt_num("enabledAt")?.unwrap_or(now),
            last_used_at: None,
            secret: FactorSecret::Totp {
                sealed_secret: sealed.to_vec(),
                last_step: item.opt_num("lastStep")?.map(|step| step as u64),
            },
        };
        let key: Item = ["pk", "sk"].iter().filter_map(|k| item.get(*k).map(|v| (k.to_string(), v.clone()))).collect();
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression("SET factors = :factors REMOVE totpSecret, lastStep")
            .condition_expression("attribute_exists(totpSecret) AND attribute_not_exists(factors)")
            .expression_attribute_values(
                ":factors",
                AttributeValue::M(HashMap::from([(factor.id.clone(), factor.to_value())])),
            )
            .send()
            .await;
        applied(result)
    }
}
