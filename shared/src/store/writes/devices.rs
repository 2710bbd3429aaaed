//! Remembered browsers: remembered at a second factor, used at a sign-in
//! while the token version is theirs, forgotten.

use super::transaction::{Op, Write, never, update};
use crate::error::ApiError;
use crate::store::items::n;
use crate::store::keys;
use crate::store::records::DeviceRecord;

/// Remembers a browser (committed with the verify-login that proved the factor).
pub fn remember_device(device: &DeviceRecord) -> Write {
    Write::new(Op::Put { item: device.to_item(), condition: None }, never)
}

/// A sign-in from a remembered browser: it is used now, from `ip`, if it
/// exists, has not expired and was remembered under the token version the
/// sign-in read (a version bump forgets every device). `404 device_not_found`
/// otherwise: the sign-in then asks for the second factor.
pub fn use_device(user_id: &str, device_id: &str, version: i64, now: i64, ip: Option<&str>) -> Write {
    let set = if ip.is_some() { "SET lastUsedAt = :now, ip = :ip" } else { "SET lastUsedAt = :now" };
    let write = Write::new(
        update(keys::device(user_id, device_id), set, "attribute_exists(pk) AND ver = :ver AND expiresAt > :now"),
        |_| ApiError::DeviceNotFound,
    )
    .value(":now", n(now))
    .value(":ver", n(version));
    match ip {
        Some(ip) => write.value(":ip", crate::store::items::s(ip)),
        None => write,
    }
}

/// Forgets one of the user's devices; `404 device_not_found` if there is none by that id.
pub fn forget_device(user_id: &str, device_id: &str) -> Write {
    let condition = Some("attribute_exists(pk)".to_string());
    Write::new(Op::Delete { key: keys::device(user_id, device_id), condition }, |_| ApiError::DeviceNotFound)
}

/// Makes room for a new device, or drops one that no longer works.
pub fn drop_device(user_id: &str, device_id: &str) -> Write {
    Write::new(Op::Delete { key: keys::device(user_id, device_id), condition: None }, never)
}
