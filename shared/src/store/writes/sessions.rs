//! Sessions (opened, ended, re-authenticated) and the audit log's events.

use super::transaction::{Op, Write, never, update};
use crate::crypto::random_bytes;
use crate::domain::{ClientInfo, EventKind};
use crate::error::ApiError;
use crate::store::items::n;
use crate::store::keys;
use crate::store::records::{AuditRecord, SessionRecord};

pub fn create_session(session: &SessionRecord) -> Write {
    Write::new(Op::Put { item: session.to_item(), condition: None }, never)
}

pub fn delete_session(user_id: &str, session_id: &str) -> Write {
    Write::new(Op::Delete { key: keys::session(user_id, session_id), condition: None }, never)
}

/// A re-authentication: the session's `authTime` moves to `now` (its
/// refresh tokens then carry it), while it is live; its 30-day end stays.
pub fn reauthenticated(session: &SessionRecord, now: i64) -> Write {
    Write::new(
        update(
            keys::session(&session.user_id, &session.session_id),
            "SET authTime = :now, reauthAt = :now",
            "attribute_exists(refreshId) AND expiresAt > :now",
        ),
        |_| ApiError::Unauthorized,
    )
    .value(":now", n(now))
}

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
