//! Sessions (opened, ended, re-authenticated) and the audit log's events.

use super::transaction::{Op, Write, never, update};
use crate::crypto::random_bytes;
use crate::domain::{ClientInfo, EventKind, SESSION_MAX_SECS};
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

/// Not logged out, revoked, reused or past its 30 days (sessions from before
/// `startedAt` existed count from their `authTime`).
const LIVE: &str = "attribute_exists(refreshId) AND expiresAt > :now \
                    AND (startedAt > :oldest OR (attribute_not_exists(startedAt) AND authTime > :oldest))";

/// The caller's session is still live (a write made in its name commits with this).
pub fn session_live(user_id: &str, session_id: &str, now: i64) -> Write {
    Write::new(Op::Check { key: keys::session(user_id, session_id), condition: LIVE.into() }, |_| {
        ApiError::Unauthorized
    })
    .value(":now", n(now))
    .value(":oldest", n(now - SESSION_MAX_SECS))
}

/// Ends one of the user's live sessions at once; `404 session_not_found` if
/// there is none by that id (another user's is not under this user's key).
pub fn revoke_session(user_id: &str, session_id: &str, now: i64) -> Write {
    let condition = Some(LIVE.to_string());
    Write::new(Op::Delete { key: keys::session(user_id, session_id), condition }, |_| ApiError::SessionNotFound)
        .value(":now", n(now))
        .value(":oldest", n(now - SESSION_MAX_SECS))
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
