//! CPU paths in release, beside the Node tutorial's: TOTP verify (window 1),
//! JWT sign and verify for each token kind (access tokens RS256 with the key
//! parsed once per container, as deployed; and a container's first
//! signature, which unseals and parses that key), a passkey assertion's
//! verification, the whole verify-login compute path with each proof (TOTP
//! code, backup code, passkey), and argon2id at the chosen parameters.
//!
//! Runs are short (1 s warm-up, 2 s measurement: the whole run takes about a
//! minute); `cargo bench -p bench --bench cpu -- --measurement-time 5` for longer.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BatchSize, Criterion, SamplingMode, criterion_group, criterion_main};
use serde_json::Value;
use shared::crypto::{DataKey, KeySet, SigningKeyMac, SigningKeys, StoredSigningKey};
use shared::domain::{ACCESS_TTL_SECS, Aal, PRE2FA_TTL_SECS, REFRESH_TTL_SECS, Role, TokenKind};
use shared::factors::backup_codes::{self, BackupCodeSet};
use shared::factors::passkey::{self, RelyingParty};
use shared::factors::totp::{self, TotpSecret};
use shared::tokens::{self, AccessClaims, Pre2faClaims, RefreshClaims, Registered};
use testkit::passkey::{Behaviour, SoftPasskey, Tamper};

const ISSUER: &str = "TwoFA";
const ISSUER_URL: &str = "https://auth.example.com";
const AUDIENCE: &str = "twofa";
const USER: &str = "u7m2q4xkqf3nl5i6d2wyk5hcue";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn keys() -> KeySet {
    KeySet::new(vec![DataKey::derive("k1", &[42u8; 32])]).unwrap()
}

/// An RSA-2048 signing key as the keyring stores it (private key sealed), and the key that authenticates it.
fn stored_signing_key(keys: &KeySet, now: i64) -> (StoredSigningKey, SigningKeyMac) {
    let mac = SigningKeyMac::new("m1", &[3u8; 32]).unwrap();
    (StoredSigningKey::generate(keys, &mac, "s1", now, now).unwrap(), mac)
}

/// The signing keys of a warm container: the private key opened by one first signature.
fn signing(keys: &KeySet, now: i64) -> SigningKeys {
    let (stored, mac) = stored_signing_key(keys, now);
    let signing = SigningKeys::new(vec![stored], &mac).unwrap();
    tokens::sign_access(keys, &signing, &access(now), now).unwrap();
    signing
}

fn access(now: i64) -> AccessClaims {
    AccessClaims {
        reg: Registered {
            iss: ISSUER_URL.into(),
            aud: AUDIENCE.into(),
            sub: USER.into(),
            iat: now,
            nbf: now,
            exp: now + ACCESS_TTL_SECS,
        },
        sid: "s4k2m7q3".into(),
        role: Role::User,
        aal: Aal::Two,
        amr: vec!["pwd".into(), "otp".into()],
        auth_time: now,
        ver: 3,
        jti: "a7k3m9q2".into(),
        scope: AccessClaims::scope_of(Aal::Two),
    }
}

fn refresh(now: i64) -> RefreshClaims {
    RefreshClaims {
        reg: Registered::new(TokenKind::Refresh, ISSUER, USER, now, REFRESH_TTL_SECS),
        sid: "s4k2m7q3".into(),
        jti: "r8d3k2".into(),
        ver: 3,
    }
}

fn pre2fa(now: i64) -> Pre2faClaims {
    Pre2faClaims {
        reg: Registered::new(TokenKind::Pre2fa, ISSUER, USER, now, PRE2FA_TTL_SECS),
        jti: "n5q2w8".into(),
        ver: 3,
    }
}

fn totp_verify(c: &mut Criterion) {
    let secret = TotpSecret::generate();
    let t = now() as u64;
    let right = totp::code_at(&secret, t);
    let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 500_000) % 1_000_000);
    let mut group = c.benchmark_group("totp_verify");
    group.bench_function("right_code", |b| b.iter(|| totp::verify(&secret, black_box(&right), t, None).unwrap()));
    group.bench_function("wrong_code", |b| {
        b.iter(|| assert!(totp::verify(&secret, black_box(&wrong), t, None).is_none()))
    });
    group.finish();
}

fn jwt(c: &mut Criterion) {
    let keys = keys();
    let t = now();
    let signing = signing(&keys, t);
    let mut group = c.benchmark_group("jwt");
    let (a, r, p) = (access(t), refresh(t), pre2fa(t));
    group.bench_function("access_sign", |b| b.iter(|| tokens::sign_access(&keys, &signing, black_box(&a), t).unwrap()));
    // A container's first signature: the private key unsealed (AES-GCM under the data key) and parsed (PKCS#8), then used.
    let (stored, mac) = stored_signing_key(&keys, t);
    group.bench_function("access_first_sign", |b| {
        b.iter_batched(
            || SigningKeys::new(vec![stored.clone()], &mac).unwrap(),
            |cold| tokens::sign_access(&keys, &cold, black_box(&a), t).unwrap(),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("refresh_sign", |b| b.iter(|| tokens::sign(&keys, black_box(&r))));
    group.bench_function("pre2fa_sign", |b| b.iter(|| tokens::sign(&keys, black_box(&p))));
    let (at, rt, pt) =
        (tokens::sign_access(&keys, &signing, &a, t).unwrap(), tokens::sign(&keys, &r), tokens::sign(&keys, &p));
    group.bench_function("access_verify", |b| {
        b.iter(|| tokens::verify_access(&signing, black_box(&at), ISSUER_URL, AUDIENCE, t).unwrap())
    });
    group.bench_function("refresh_verify", |b| {
        b.iter(|| tokens::verify::<RefreshClaims>(&keys, black_box(&rt), ISSUER, t).unwrap())
    });
    group.bench_function("pre2fa_verify", |b| {
        b.iter(|| tokens::verify::<Pre2faClaims>(&keys, black_box(&pt), ISSUER, t).unwrap())
    });
    group.finish();
}

/// A relying party (as the test configuration's), a software passkey
/// registered with it, and one assertion with the ceremony state it answers:
/// what `finish_assertion` checks at verify-login, passkey sign-in and re-authentication.
struct PasskeyCase {
    rp: RelyingParty,
    assertion: Value,
    state: String,
}

fn passkey_case() -> PasskeyCase {
    let origin = testkit::FRONT_END_ORIGIN;
    let rp = RelyingParty::new("app.example.com", &[origin.to_string()], "TwoFA").unwrap();
    let registration = rp.start_registration([7u8; 16], "pk@example.com", &[]).unwrap();
    let (mut soft, response) = SoftPasskey::register(&registration.public_key, origin, Behaviour::default());
    let registered = rp.finish_registration(&response, &registration.state).unwrap();
    let started = rp.start_assertion(&[registered.credential.as_str()]).unwrap();
    let assertion = soft.assert(&started.public_key, origin, Tamper::default());
    PasskeyCase { rp, assertion, state: started.state }
}

fn passkey_verify(c: &mut Criterion) {
    let case = passkey_case();
    let mut group = c.benchmark_group("passkey");
    group.sample_size(50);
    group.bench_function("assertion_verify", |b| {
        b.iter(|| case.rp.finish_assertion(black_box(&case.assertion), &case.state).unwrap())
    });
    group.finish();
}

/// What verify-login computes between its two AWS calls, with each proof:
/// verify the pre-2FA token, check the proof (open the sealed TOTP secret and
/// verify the code; or hash the typed backup code against the stored ten; or
/// verify the passkey's assertion and that its counter grew), then sign the
/// access token (RS256) and the refresh token (HS256).
fn verify_login_compute(c: &mut Criterion) {
    let keys = keys();
    let t = now();
    let signing = signing(&keys, t);
    let token = tokens::sign(&keys, &pre2fa(t));
    let secret = TotpSecret::generate();
    let sealed = keys.seal_totp_secret(USER, secret.bytes());
    let code = totp::code_at(&secret, t as u64);
    let codes = BackupCodeSet::generate(&keys, USER);
    // The last of the ten: every stored hash is compared before it matches.
    let backup_code = codes.shown[9].clone();
    let case = passkey_case();
    let issue = || {
        let access = tokens::sign_access(&keys, &signing, &access(t), t).unwrap();
        let refresh = tokens::sign(&keys, &refresh(t));
        access.len() + refresh.len()
    };
    let pre2fa_sub = || tokens::verify::<Pre2faClaims>(&keys, black_box(&token), ISSUER, t).unwrap().reg.sub;
    let mut group = c.benchmark_group("verify_login_compute");
    // Half a millisecond an operation: 50 samples fit the short measurement.
    group.sample_size(50);
    group.bench_function("totp_code", |b| {
        b.iter(|| {
            let user = pre2fa_sub();
            let secret = keys.open_totp_secret(&user, black_box(&sealed)).unwrap();
            let step = totp::verify(&secret, black_box(&code), t as u64, None).unwrap();
            (step, issue())
        })
    });
    group.bench_function("backup_code", |b| {
        b.iter(|| {
            let user = pre2fa_sub();
            let hash = backup_codes::find_match(&keys, &user, black_box(&backup_code), &codes.hashes).unwrap();
            (hash, issue())
        })
    });
    group.bench_function("passkey", |b| {
        b.iter(|| {
            let _user = pre2fa_sub();
            let assertion = case.rp.finish_assertion(black_box(&case.assertion), &case.state).unwrap();
            assert!(passkey::counter_grows(0, assertion.counter));
            (assertion.counter, issue())
        })
    });
    group.finish();
}

fn password(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let password = shared::domain::Password::parse("correct horse battery staple".to_string().into()).unwrap();
    let stored = runtime.block_on(shared::factors::password::hash(&password)).unwrap();
    let mut group = c.benchmark_group("argon2id");
    // Tens of ms an operation: ten samples of a few operations each fit the short measurement.
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    group.bench_function("hash", |b| b.iter(|| runtime.block_on(shared::factors::password::hash(&password)).unwrap()));
    group.bench_function("verify", |b| {
        b.iter(|| assert!(runtime.block_on(shared::factors::password::verify(&password, Some(&stored))).unwrap()))
    });
    group.finish();
}

/// Short runs: `make bench` times every path in about a minute (command-line flags still override these).
fn short_runs() -> Criterion {
    Criterion::default().warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = short_runs();
    targets = totp_verify, jwt, passkey_verify, verify_login_compute, password
}
criterion_main!(benches);
