//! CPU paths in release, beside the Node tutorial's: TOTP verify (window 1),
//! JWT sign and verify for each token kind (access tokens RS256 with the key
//! parsed once per container, as deployed), the whole verify-login compute
//! path, and argon2id at the chosen parameters.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use shared::crypto::{DataKey, KeySet, SigningKeyMac, SigningKeys, StoredSigningKey};
use shared::domain::{ACCESS_TTL_SECS, Aal, PRE2FA_TTL_SECS, REFRESH_TTL_SECS, Role, TokenKind};
use shared::factors::totp::{self, TotpSecret};
use shared::tokens::{self, AccessClaims, Pre2faClaims, RefreshClaims, Registered};

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

/// An RSA-2048 signing key, opened by one first signature as a container's is.
fn signing(keys: &KeySet, now: i64) -> SigningKeys {
    let mac = SigningKeyMac::new("m1", &[3u8; 32]).unwrap();
    let signing =
        SigningKeys::new(vec![StoredSigningKey::generate(keys, &mac, "s1", now, now).unwrap()], &mac).unwrap();
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

/// What verify-login computes between its two AWS calls: verify the pre-2FA
/// token, open the sealed secret, verify the code, sign the access token
/// (RS256) and the refresh token.
fn verify_login_compute(c: &mut Criterion) {
    let keys = keys();
    let t = now();
    let signing = signing(&keys, t);
    let secret = TotpSecret::generate();
    let sealed = keys.seal_totp_secret(USER, secret.bytes());
    let token = tokens::sign(&keys, &pre2fa(t));
    let code = totp::code_at(&secret, t as u64);
    c.bench_function("verify_login_compute", |b| {
        b.iter(|| {
            let claims = tokens::verify::<Pre2faClaims>(&keys, black_box(&token), ISSUER, t).unwrap();
            let secret = keys.open_totp_secret(&claims.reg.sub, black_box(&sealed)).unwrap();
            let step = totp::verify(&secret, black_box(&code), t as u64, None).unwrap();
            let access = tokens::sign_access(&keys, &signing, &access(t), t).unwrap();
            let refresh = tokens::sign(&keys, &refresh(t));
            (step, access.len() + refresh.len())
        })
    });
}

fn password(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let password = shared::domain::Password::parse("correct horse battery staple".to_string().into()).unwrap();
    let stored = runtime.block_on(shared::factors::password::hash(&password)).unwrap();
    let mut group = c.benchmark_group("argon2id");
    group.sample_size(20);
    group.bench_function("hash", |b| b.iter(|| runtime.block_on(shared::factors::password::hash(&password)).unwrap()));
    group.bench_function("verify", |b| {
        b.iter(|| assert!(runtime.block_on(shared::factors::password::verify(&password, Some(&stored))).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, totp_verify, jwt, verify_login_compute, password);
criterion_main!(benches);
