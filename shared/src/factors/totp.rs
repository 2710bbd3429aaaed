//! RFC 6238 TOTP as authenticator apps expect it: SHA1, 6 digits, 30-second
//! steps, one step of drift either way, each step accepted at most once.

use base64::Engine;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use qrcodegen_image::qrcodegen::{QrCode, QrCodeEcc};
use secrecy::{ExposeSecret, SecretBox};
use totp_rs::{Algorithm, Builder};

use crate::crypto::KeySet;
use crate::crypto::random_bytes;
use crate::error::ApiError;

pub const STEP_SECS: u64 = 30;
const DIGITS: usize = 6;
/// Steps accepted on either side of the current one.
const WINDOW: u64 = 1;
/// A secret shown at setup can be confirmed for this long.
pub const SETUP_TTL_SECS: i64 = 10 * 60;
/// 160-bit secrets, as RFC 4226 recommends.
const SECRET_BYTES: usize = 20;

/// A TOTP shared secret. Never logged; shown to the user once, at setup.
pub struct TotpSecret(SecretBox<Vec<u8>>);

impl TotpSecret {
    pub fn generate() -> Self {
        Self::from_bytes(random_bytes::<SECRET_BYTES>().to_vec())
    }

    fn from_bytes(bytes: Vec<u8>) -> Self {
        TotpSecret(SecretBox::new(Box::new(bytes)))
    }

    /// Parses the base32 form an authenticator app shows (case and spaces ignored).
    pub fn from_base32(text: &str) -> Option<Self> {
        let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_uppercase();
        let bytes = data_encoding::BASE32_NOPAD.decode(cleaned.trim_end_matches('=').as_bytes()).ok()?;
        Some(Self::from_bytes(bytes))
    }

    pub fn bytes(&self) -> &[u8] {
        self.0.expose_secret()
    }

    /// Unpadded RFC 4648 base32, the form authenticator apps take.
    pub fn to_base32(&self) -> String {
        data_encoding::BASE32_NOPAD.encode(self.bytes())
    }
}

fn generator(secret: &[u8], digits: usize) -> totp_rs::Totp {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(digits as u8)
        .with_skew(0)
        .with_step_duration(STEP_SECS)
        .with_secret(secret.to_vec())
        .build_noncompliant()
}

/// The time step that contains `unix_secs`.
pub fn step_at(unix_secs: u64) -> u64 {
    unix_secs / STEP_SECS
}

/// The code an authenticator app shows at `unix_secs`.
pub fn code_at(secret: &TotpSecret, unix_secs: u64) -> String {
    generator(secret.bytes(), DIGITS).generate(unix_secs).to_string()
}

/// Checks a typed code (spaces ignored) against the steps around `now`,
/// skipping every step at or before the last accepted one. Returns the matched
/// step, which the caller records so that it is never accepted again.
pub fn verify(secret: &TotpSecret, typed: &str, unix_now: u64, last_accepted: Option<u64>) -> Option<u64> {
    let code: String = typed.chars().filter(|c| *c != ' ').collect();
    if code.len() != DIGITS || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let totp = generator(secret.bytes(), DIGITS);
    let now_step = step_at(unix_now);
    let first = now_step.saturating_sub(WINDOW);
    (first..=now_step + WINDOW)
        .filter(|step| last_accepted.is_none_or(|last| *step > last))
        // `Token` equality is constant-time.
        .find(|step| totp.check(&code, step * STEP_SECS) == Some(*step))
}

impl KeySet {
    /// AES-256-GCM under the current key, the user id as associated data, so a
    /// ciphertext copied onto another user fails to open.
    pub fn seal_totp_secret(&self, user_id: &str, secret: &[u8]) -> Vec<u8> {
        self.seal(&totp_aad(user_id), secret)
    }

    /// Opens what [`KeySet::seal_totp_secret`] made for the same user.
    pub fn open_totp_secret(&self, user_id: &str, sealed: &[u8]) -> Result<TotpSecret, ApiError> {
        self.open(&totp_aad(user_id), sealed).map(TotpSecret::from_bytes)
    }
}

fn totp_aad(user_id: &str) -> Vec<u8> {
    format!("twofa:totp-secret:{user_id}").into_bytes()
}

/// Characters escaped in the otpauth label and issuer.
const LABEL: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'/')
    .add(b':')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'+')
    .add(b'=')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// The Key URI that authenticator apps scan, with every parameter spelled out.
pub fn otpauth_url(issuer: &str, email: &str, secret: &TotpSecret) -> String {
    let issuer = utf8_percent_encode(issuer, LABEL).to_string();
    let account = utf8_percent_encode(email, LABEL);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        secret.to_base32()
    )
}

/// Whether the otpauth URL of `email` fits in a QR code, whatever its secret
/// (every secret has the same length). An address that does not cannot turn
/// 2FA on, so registration refuses it.
pub fn fits_in_qr_code(issuer: &str, email: &str) -> bool {
    let url = otpauth_url(issuer, email, &TotpSecret::from_bytes(vec![0; SECRET_BYTES]));
    QrCode::encode_text(&url, QrCodeEcc::Medium).is_ok()
}

/// A `data:image/png;base64,...` URL of a QR code that encodes `url`.
pub fn qr_data_url(url: &str) -> Result<String, ApiError> {
    let png = qrcodegen_image::draw_png(url).map_err(|_| ApiError::internal("otpauth URL too long for a QR code"))?;
    Ok(format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B, SHA1 rows (8 digits, the RFC's 20-byte seed).
    const RFC6238_SHA1: [(u64, &str); 6] = [
        (59, "94287082"),
        (1_111_111_109, "07081804"),
        (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"),
        (2_000_000_000, "69279037"),
        (20_000_000_000, "65353130"),
    ];
    const RFC_SEED: &[u8] = b"12345678901234567890";

    #[test]
    fn reproduces_the_rfc_6238_sha1_vectors() {
        for (t, expected) in RFC6238_SHA1 {
            assert_eq!(generator(RFC_SEED, 8).generate(t).to_string(), expected, "t = {t}");
            // The 6-digit code is the last six digits of the 8-digit one.
            let secret = TotpSecret::from_bytes(RFC_SEED.to_vec());
            assert_eq!(code_at(&secret, t), expected[2..], "t = {t}");
        }
    }

    #[test]
    fn reproduces_rfc_4226_hotp_values_as_steps() {
        // HOTP(K, C) for C = 0..9 is TOTP at t = C * 30.
        let hotp = ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
        let secret = TotpSecret::from_bytes(RFC_SEED.to_vec());
        for (counter, expected) in hotp.iter().enumerate() {
            assert_eq!(code_at(&secret, counter as u64 * STEP_SECS), *expected);
        }
    }

    #[test]
    fn accepts_one_step_of_drift_each_way_and_no_more() {
        let secret = TotpSecret::from_bytes(RFC_SEED.to_vec());
        let now = 1_234_567_890;
        let step = step_at(now);
        for offset in [-1i64, 0, 1] {
            let at = (step as i64 + offset) as u64 * STEP_SECS;
            assert_eq!(verify(&secret, &code_at(&secret, at), now, None), Some(at / STEP_SECS), "offset {offset}");
        }
        for offset in [-2i64, 2] {
            let at = (step as i64 + offset) as u64 * STEP_SECS;
            assert_eq!(verify(&secret, &code_at(&secret, at), now, None), None, "offset {offset}");
        }
    }

    #[test]
    fn drift_edges_follow_step_boundaries() {
        let secret = TotpSecret::from_bytes(RFC_SEED.to_vec());
        let start_of_step = 1_000_020; // divisible by 30
        let previous = code_at(&secret, start_of_step - 1);
        // First second of a step: the previous step's code still passes...
        assert!(verify(&secret, &previous, start_of_step, None).is_some());
        // ...and at the last second of the next step it no longer does.
        assert!(verify(&secret, &previous, start_of_step + 2 * STEP_SECS - 1, None).is_none());
    }

    #[test]
    fn never_accepts_a_step_at_or_before_the_last_accepted_one() {
        let secret = TotpSecret::from_bytes(RFC_SEED.to_vec());
        let now = 1_234_567_890;
        let step = step_at(now);
        let current = code_at(&secret, now);
        let previous = code_at(&secret, now - STEP_SECS);
        assert_eq!(verify(&secret, &current, now, Some(step - 1)), Some(step));
        assert_eq!(verify(&secret, &current, now, Some(step)), None, "replay");
        assert_eq!(verify(&secret, &previous, now, Some(step)), None, "older than last accepted");
    }

    #[test]
    fn spaces_are_ignored_and_anything_else_is_refused() {
        let secret = TotpSecret::from_bytes(RFC_SEED.to_vec());
        let now = 59;
        let code = code_at(&secret, now);
        assert!(verify(&secret, &format!("{} {}", &code[..3], &code[3..]), now, None).is_some());
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６", "-12345"] {
            assert!(verify(&secret, bad, now, None).is_none(), "{bad}");
        }
    }

    #[test]
    fn secrets_are_160_bits_and_round_trip_through_base32() {
        let secret = TotpSecret::generate();
        assert_eq!(secret.bytes().len(), 20);
        let text = secret.to_base32();
        assert_eq!(text.len(), 32);
        assert_eq!(TotpSecret::from_base32(&text.to_lowercase()).unwrap().bytes(), secret.bytes());
        assert_ne!(TotpSecret::generate().bytes(), secret.bytes());
    }

    #[test]
    fn sealed_secrets_open_only_for_their_user() {
        let keys = KeySet::new(vec![crate::crypto::DataKey::derive("k1", &[7u8; 32])]).unwrap();
        let sealed = keys.seal_totp_secret("user-a", b"0123456789abcdefghij");
        assert!(!sealed.windows(20).any(|w| w == b"0123456789abcdefghij"), "plaintext leaked");
        assert_eq!(keys.open_totp_secret("user-a", &sealed).unwrap().bytes(), b"0123456789abcdefghij");
        assert!(keys.open_totp_secret("user-b", &sealed).is_err());
    }

    #[test]
    fn otpauth_url_spells_out_every_parameter() {
        let secret = TotpSecret::from_bytes(RFC_SEED.to_vec());
        assert_eq!(
            otpauth_url("Acme Login", "alice@example.com", &secret),
            "otpauth://totp/Acme%20Login:alice@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Acme%20Login&algorithm=SHA1&digits=6&period=30"
        );
    }

    #[test]
    fn qr_code_is_a_png_data_url() {
        let url = qr_data_url("otpauth://totp/X:a@b.co?secret=AAAA").unwrap();
        let payload = url.strip_prefix("data:image/png;base64,").unwrap();
        let png = base64::engine::general_purpose::STANDARD.decode(payload).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    }
}
