//! The profile's conditional update, assembled from the parts of a use case,
//! the proofs a code or passkey gives, and the login item's copy of what a
//! login needs from the profile.

use aws_sdk_dynamodb::types::AttributeValue;

use super::transaction::{Write, update};
use crate::domain::{Email, MAX_FACTORS, Role};
use crate::error::ApiError;
use crate::store::attempts::PASSWORD_LIMIT;
use crate::store::items::{Item, ItemExt, bool, n, s, ss};
use crate::store::keys;
use crate::store::records::{CeremonyRecord, FactorRecord, UserRecord, spent_nonces};

/// Every change that ends all sessions also ends a pending password-reset
/// link: a user who signs out everywhere, changes the password or changes 2FA
/// because the mailbox may be read by someone else must not leave a link
/// working behind them.
pub(super) const FORGET_RESET_LINK: [&str; 2] = ["resetHash", "resetExpiresAt"];
pub(super) const CLEAR_CODE_ATTEMPTS: [&str; 2] = ["codeFails", "codeWindowStart"];

/// The profile changed under us: the caller's token version is gone, or the
/// state the caller read no longer holds.
pub(super) fn profile_conflict(
    expected_version: i64,
    otherwise: impl Fn(&Item) -> ApiError + Send + Sync + 'static,
) -> impl Fn(&Item) -> ApiError + Send + Sync + 'static {
    move |old: &Item| match old.opt_num("ver") {
        Ok(Some(version)) if version == expected_version => otherwise(old),
        _ => ApiError::StaleVersion,
    }
}

/// What the login item keeps a copy of, so that a login reads one item:
/// role, token version, the 2FA flag and how many passkeys the user has.
#[derive(Debug, Clone, Copy)]
pub(super) struct Mirror<'a> {
    pub email: &'a Email,
    pub version: i64,
    pub role: Role,
    pub twofa_enabled: bool,
    pub passkeys: usize,
}

impl<'a> Mirror<'a> {
    /// The copy as `user` is now; a change sets what it changes.
    pub fn of(user: &'a UserRecord) -> Self {
        Mirror {
            email: &user.email,
            version: user.version,
            role: user.role,
            twofa_enabled: user.twofa_enabled(),
            passkeys: user.passkeys().count(),
        }
    }
}

/// Updates the login item's copy, in the same transaction as the profile change.
pub(super) fn login_mirror(mirror: Mirror<'_>) -> Write {
    login_update(mirror, None)
}

/// [`login_mirror`], and a new password hash, which clears the password lockout.
pub(super) fn login_update(mirror: Mirror<'_>, password_hash: Option<&str>) -> Write {
    let set = "SET ver = :mver, #role = :mrole, twofaEnabled = :mtfa, passkeys = :mpk";
    let expression = match password_hash {
        None => set.to_string(),
        Some(_) => {
            format!(
                "{set}, passwordHash = :mpw REMOVE {}, {}",
                PASSWORD_LIMIT.failures_attr, PASSWORD_LIMIT.window_attr
            )
        }
    };
    let op = update(keys::login(mirror.email.as_str()), expression, "attribute_exists(userId)");
    let write = Write::new(op, |_| ApiError::StaleVersion)
        .name("#role", "role")
        .value(":mver", n(mirror.version))
        .value(":mrole", s(mirror.role.as_str()))
        .value(":mtfa", bool(mirror.twofa_enabled))
        .value(":mpk", n(mirror.passkeys as i64));
    match password_hash {
        Some(hash) => write.value(":mpw", s(hash)),
        None => write,
    }
}

/// How a second factor was proven, for the condition that makes the proof single use.
#[derive(Debug, Clone)]
pub enum Proof {
    /// A TOTP code of this app matched this step: it must be later than the app's last accepted one.
    Step { factor_id: String, step: u64 },
    /// A backup code matched this stored hash: it must still be in the set.
    BackupHash(String),
    /// This passkey signed with this counter: it must have grown (or both be 0, as synced passkeys report).
    Passkey { factor_id: String, counter: u32 },
}

/// What a refused proof means, given the profile as it was.
pub(super) fn code_conflict(proof: &Proof) -> impl Fn(&Item) -> ApiError + Send + Sync + 'static {
    let passkey = matches!(proof, Proof::Passkey { .. });
    move |old: &Item| match old.flag("twofaEnabled").unwrap_or(false) {
        false => ApiError::TwofaNotEnabled,
        true if passkey => ApiError::InvalidCredential,
        true => ApiError::CodeReplayed,
    }
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
pub(super) struct ProfileUpdate {
    set: Vec<String>,
    remove: Vec<String>,
    delete: Vec<String>,
    conditions: Vec<String>,
    names: Vec<(String, String)>,
    values: Vec<(String, AttributeValue)>,
}

impl ProfileUpdate {
    pub(super) fn new(user: &UserRecord) -> Self {
        ProfileUpdate {
            set: Vec::new(),
            remove: Vec::new(),
            delete: Vec::new(),
            conditions: vec!["ver = :ver".into()],
            names: Vec::new(),
            values: vec![(":ver".into(), n(user.version))],
        }
    }

    pub(super) fn set(mut self, action: impl Into<String>) -> Self {
        self.set.push(action.into());
        self
    }

    pub(super) fn remove(mut self, path: impl Into<String>) -> Self {
        self.remove.push(path.into());
        self
    }

    pub(super) fn remove_all(self, paths: &[&str]) -> Self {
        paths.iter().fold(self, |change, path| change.remove(*path))
    }

    pub(super) fn when(mut self, condition: impl Into<String>) -> Self {
        self.conditions.push(condition.into());
        self
    }

    pub(super) fn value(mut self, name: &str, value: AttributeValue) -> Self {
        self.values.push((name.into(), value));
        self
    }

    pub(super) fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names.push((placeholder.into(), attribute.into()));
        self
    }

    /// The proof holds now (the code, passkey or backup code is still good),
    /// without recording it: for a change that removes what it proves.
    pub(super) fn prove(self, proof: &Proof) -> Self {
        let change = self.when("twofaEnabled = :true").value(":true", bool(true));
        match proof {
            Proof::Step { factor_id, step } => change
                .when("attribute_exists(factors.#pf) AND (attribute_not_exists(factors.#pf.lastStep) OR factors.#pf.lastStep < :step)")
                .name("#pf", factor_id)
                .value(":step", n(*step as i64)),
            Proof::BackupHash(hash) => change.when("contains(backupCodes, :hash)").value(":hash", s(hash)),
            Proof::Passkey { factor_id, counter } => {
                let grows = if *counter == 0 { "factors.#pf.signCount = :ctr" } else { "factors.#pf.signCount < :ctr" };
                change
                    .when(format!("attribute_exists(factors.#pf) AND {grows}"))
                    .name("#pf", factor_id)
                    .value(":ctr", n(i64::from(*counter)))
            }
        }
    }

    /// The proof is accepted at `now`: a TOTP step or a passkey's counter
    /// recorded on its factor (never accepted again) with when it was used,
    /// or a backup code taken out of the set; the code attempts reset.
    pub(super) fn accept(self, proof: &Proof, now: i64) -> Self {
        let mut change = self.prove(proof).remove_all(&CLEAR_CODE_ATTEMPTS);
        match proof {
            Proof::Step { .. } => {
                change = change.set("factors.#pf.lastStep = :step").set("factors.#pf.lastUsedAt = :usedAt")
            }
            Proof::Passkey { .. } => {
                change = change.set("factors.#pf.signCount = :ctr").set("factors.#pf.lastUsedAt = :usedAt")
            }
            Proof::BackupHash(hash) => {
                change.delete.push("backupCodes :hashes".into());
                return change.value(":hashes", ss(std::slice::from_ref(hash)));
            }
        }
        change.value(":usedAt", n(now))
    }

    /// Every session ends: the token version goes up by one.
    pub(super) fn bump_version(self, user: &UserRecord) -> Self {
        self.set("ver = :next").value(":next", n(user.version + 1))
    }

    /// Adds a factor: into the `factors` map, or as the whole map when the
    /// profile has none yet; the count follows. A further factor only while
    /// fewer than five are there.
    pub(super) fn add_factor(self, user: &UserRecord, factor: &FactorRecord, first: bool) -> Self {
        let change = if user.has_factor_map {
            self.set("factors.#nf = :factor")
                .when("attribute_not_exists(factors.#nf)")
                .value(":factor", factor.to_value())
        } else {
            let map = AttributeValue::M([(factor.id.clone(), factor.to_value())].into());
            self.set("factors = :factor").when("attribute_not_exists(factors)").value(":factor", map)
        };
        let change = change.name("#nf", &factor.id).set("factorCount = if_not_exists(factorCount, :zero) + :one");
        let change = change.value(":zero", n(0)).value(":one", n(1));
        if first {
            change.when("(attribute_not_exists(factorCount) OR factorCount = :zero)")
        } else {
            change.when("factorCount < :max").value(":max", n(MAX_FACTORS as i64))
        }
    }

    /// Uses up a passkey ceremony: it must be there, for `purpose`, and live at `now`.
    pub(super) fn consume_ceremony(self, ceremony_id: &str, purpose: &str, now: i64) -> Self {
        self.remove("ceremonies.#cer")
            .when("ceremonies.#cer.purpose = :cpurpose AND ceremonies.#cer.expiresAt > :cnow")
            .name("#cer", ceremony_id)
            .value(":cpurpose", s(purpose))
            .value(":cnow", n(now))
    }

    /// Keeps a new ceremony; expired ones go, and the oldest when four are still live.
    pub(super) fn keep_ceremony(
        self,
        user: &UserRecord,
        ceremony_id: &str,
        ceremony: &CeremonyRecord,
        now: i64,
    ) -> Self {
        if !user.has_ceremony_map {
            let map = AttributeValue::M([(ceremony_id.to_string(), ceremony.to_value())].into());
            return self.set("ceremonies = :cer").when("attribute_not_exists(ceremonies)").value(":cer", map);
        }
        let mut live: Vec<(&String, &CeremonyRecord)> =
            user.ceremonies.iter().filter(|(_, c)| c.expires_at > now).collect();
        live.sort_by_key(|(_, c)| c.expires_at);
        let crowded = live.len().saturating_sub(MAX_LIVE_CEREMONIES - 1);
        let gone = user
            .ceremonies
            .iter()
            .filter(|(_, c)| c.expires_at <= now)
            .map(|(id, _)| id)
            .chain(live.iter().take(crowded).map(|(id, _)| *id))
            .filter(|id| id.as_str() != ceremony_id)
            .take(MAX_PRUNED);
        let mut change = self;
        for (i, id) in gone.enumerate() {
            change = change.remove(format!("ceremonies.#old{i}")).name(&format!("#old{i}"), id);
        }
        change.set("ceremonies.#new = :cer").name("#new", ceremony_id).value(":cer", ceremony.to_value())
    }

    pub(super) fn into_write(
        self,
        user_id: &str,
        conflict: impl Fn(&Item) -> ApiError + Send + Sync + 'static,
    ) -> Write {
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

/// A user has at most this many passkey ceremonies under way (a new one pushes out the oldest).
const MAX_LIVE_CEREMONIES: usize = 5;

/// Accepts a proof while 2FA is on: a TOTP step or passkey counter is
/// recorded (never accepted again), a backup code is removed from the set;
/// the code attempts reset. At a sign-in, the pre-2FA token's nonce is
/// recorded as spent in the same write, on the condition that it was not
/// (each token succeeds once).
pub fn accept_code(user: &UserRecord, proof: &Proof, now: i64, spend: Option<Pre2faSpend<'_>>) -> Write {
    let mut change = ProfileUpdate::new(user).accept(proof, now);
    let Some(spend) = spend else {
        return change.into_write(&user.id, profile_conflict(user.version, code_conflict(proof)));
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
    let conflict = profile_conflict(user.version, code_conflict(proof));
    change.into_write(&user.id, move |old: &Item| {
        if spent_nonces(old).is_ok_and(|spent| spent.contains_key(&nonce)) {
            ApiError::TokenAlreadyUsed
        } else {
            conflict(old)
        }
    })
}
