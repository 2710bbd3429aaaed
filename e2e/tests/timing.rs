//! Over HTTP, on its own (no other test of this binary runs beside it): the
//! routes that must not tell whether an account has an address take as long
//! for one as for the other. Many alternating requests; the medians compared.

use std::time::Instant;

use e2e::{Browser, unique_email};
use serde_json::json;

/// The median of `samples`.
fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Times `rounds` pairs of requests, one for an address with an account and
/// one without, taking turns, and returns the two medians in milliseconds.
/// Before each timed request, `before` untimed ones are sent for the same address.
async fn alternating(path: &str, rounds: usize, before: usize, body: impl Fn(&str) -> serde_json::Value) -> (f64, f64) {
    let mut known = Vec::new();
    for i in 0..rounds {
        let email = unique_email(&format!("timing{i}"));
        let created = Browser::new()
            .post("/auth/register", Some(json!({ "email": email, "password": "correct horse battery staple" })))
            .await;
        assert_eq!(created.status, 201);
        known.push(email);
    }
    let (mut with_account, mut without) = (Vec::new(), Vec::new());
    for email in &known {
        for (target, times) in [(email.clone(), &mut with_account), (unique_email("nobody"), &mut without)] {
            for _ in 0..before {
                Browser::new().post(path, Some(body(&target))).await;
            }
            let started = Instant::now();
            let page = Browser::new().post(path, Some(body(&target))).await;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            assert!(page.status.is_client_error() || page.status == 202, "{path}: {}", page.status);
        }
    }
    (median(with_account), median(without))
}

#[tokio::test]
async fn forgot_and_login_take_as_long_for_an_account_as_for_an_unknown_address() {
    let wrong_password = |email: &str| json!({ "email": email, "password": "not the password" });
    let (forgot_known, forgot_unknown) =
        alternating("/auth/password/forgot", 15, 0, |email| json!({ "email": email })).await;
    let (login_known, login_unknown) = alternating("/auth/login", 25, 0, wrong_password).await;
    // The tenth wrong password locks the address out; for an account it also
    // writes two events and mails a notice, so it is answered at a fixed time.
    let (lockout_known, lockout_unknown) = alternating("/auth/login", 9, 9, wrong_password).await;
    println!(
        "forgot: {forgot_known:.1} ms with an account, {forgot_unknown:.1} ms without (medians of 15); \
         login (wrong password): {login_known:.1} ms with an account, {login_unknown:.1} ms without (medians of 25); \
         the wrong password that locks out: {lockout_known:.1} ms with an account, {lockout_unknown:.1} ms without \
         (medians of 9)"
    );
    // The forgot route answers at a fixed time. A login does one argon2 hash
    // and one write either way; moto's conditional UpdateItem (an unknown
    // address's counter) costs about 2 ms more than its PutItem (an account's
    // audit event), hence the wider margin there. Skipping the hash for an
    // unknown address would be 100 %.
    for (what, known, unknown, margin) in [
        ("forgot", forgot_known, forgot_unknown, 0.05),
        ("login", login_known, login_unknown, 0.10),
        ("lockout", lockout_known, lockout_unknown, 0.05),
    ] {
        let difference = (known - unknown).abs() / unknown;
        assert!(difference < margin, "{what}: {known:.1} ms vs {unknown:.1} ms differ by {:.1} %", difference * 100.0);
    }
}
