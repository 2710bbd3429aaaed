//! `POST /auth/register`: create an account and mail its verification link.
//! No cookies; the client logs in next.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::domain::{ClientInfo, Email, Password};
use shared::factors::totp;
use shared::flows::accounts;
use shared::http::{Credentials, json_body, json_response};
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let body: Credentials = json_body(&req)?;
    let email = Email::parse(&body.email)?;
    let password = Password::parse(body.password)?;
    if !totp::fits_in_qr_code(&app.config.issuer, email.as_str()) {
        return Err(ApiError::invalid_request("the email address is too long to be shown in an authenticator app"));
    }
    let account = accounts::create(app, &email, &password, &ClientInfo::of(&req)).await?;
    tracing::info!(user_id = account.user_id, "account created");
    accounts::send_anonymous_mail(app, &email, app.mailer.verification(&account.verification)).await;
    Ok(json_response(StatusCode::CREATED, &json!({ "id": account.user_id, "email": email.as_str() })))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use testkit::proxy::Fault;
    use testkit::{TestEnv, call, event};

    fn register(email: &str, password: &str) -> Request {
        event("register").json(json!({ "email": email, "password": password })).request()
    }

    #[tokio::test]
    async fn creates_an_account_with_a_normalised_email() {
        let env = TestEnv::new().await;
        let reply = call(&env, handle, register("  Alice@Example.COM ", "correct horse battery")).await;
        assert_eq!(reply.status(), 201);
        let body = reply.json();
        assert_eq!(body["email"], "alice@example.com");
        assert!(!body["id"].as_str().unwrap().is_empty());
        assert_eq!(body.as_object().unwrap().len(), 2);
        assert!(reply.set_cookies().is_empty(), "registration sets no cookie");
        assert_eq!(reply.header("cache-control"), Some("no-store"));
    }

    #[tokio::test]
    async fn a_taken_email_is_409_whatever_its_case() {
        let env = TestEnv::new().await;
        assert_eq!(call(&env, handle, register("bob@example.com", "password one")).await.status(), 201);
        let again = call(&env, handle, register("BOB@example.com", "password two")).await;
        assert_eq!((again.status(), again.error()), (409, "email_taken".into()));
    }

    #[tokio::test]
    async fn twenty_concurrent_registrations_of_one_email_make_one_account() {
        let env = TestEnv::new().await;
        let attempts = (0..20).map(|i| call(&env, handle, register("race@example.com", &format!("password {i:02}"))));
        let statuses: Vec<u16> = futures::future::join_all(attempts).await.iter().map(|r| r.status()).collect();
        assert_eq!(statuses.iter().filter(|s| **s == 201).count(), 1, "{statuses:?}");
        assert_eq!(statuses.iter().filter(|s| **s == 409).count(), 19, "{statuses:?}");
        let profiles = env.dump().await.iter().filter(|item| item["sk"].as_s().unwrap() == "PROFILE").count();
        assert_eq!(profiles, 1);
    }

    #[tokio::test]
    async fn bad_input_gets_the_contract_error_and_writes_nothing() {
        let env = TestEnv::new().await;
        let cases = [
            (event("register").header("content-type", None).request(), 415),
            (event("register").header("content-type", Some("text/plain")).request(), 415),
            (event("register").raw_body(&format!("{{\"email\":\"{}\"}}", "a".repeat(17_000))).request(), 413),
            (event("register").raw_body("{").request(), 400),
            (event("register").json(json!({"email": "a@b.co"})).request(), 400),
            (event("register").json(json!({"email": "a@b.co", "password": 12345678})).request(), 400),
            (event("register").json(json!({"email": "a@b.co", "password": "12345678", "admin": true})).request(), 400),
            (register("not-an-email", "long enough"), 400),
            (register("a@b.co", "short"), 400),
            (register("a@b.co", &"x".repeat(129)), 400),
        ];
        for (req, status) in cases {
            assert_eq!(call(&env, handle, req).await.status(), status);
        }
        assert!(env.dump().await.is_empty(), "bad input wrote something");
    }

    /// 200 characters, 196 of them four bytes long: percent-encoded in the otpauth URL, too long for a QR code.
    pub fn unscannable_email() -> String {
        format!("{}@{}.de", "😀".repeat(64), "😀".repeat(132))
    }

    #[tokio::test]
    async fn an_email_too_long_for_a_qr_code_is_refused_before_anything_is_written() {
        let env = TestEnv::new().await;
        let email = unscannable_email();
        assert_eq!(email.chars().count(), 200);
        let reply = call(&env, handle, register(&email, "long enough pass")).await;
        assert_eq!((reply.status(), reply.error()), (400, "invalid_request".into()));
        assert!(env.dump().await.is_empty());
        let fits = format!("{}@example.com", "é".repeat(64));
        assert_eq!(call(&env, handle, register(&fits, "long enough pass")).await.status(), 201);
    }

    #[tokio::test]
    async fn the_table_holds_no_plaintext_password() {
        let env = TestEnv::new().await;
        call(&env, handle, register("carol@example.com", "my secret passphrase")).await;
        let dump = format!("{:?}", env.dump().await);
        assert!(!dump.contains("my secret passphrase"));
        assert!(dump.contains("$argon2id$v=19$m=19456,t=2,p=1$"));
    }

    #[tokio::test]
    async fn dynamodb_failing_leaves_no_half_account_and_the_retry_works() {
        let (proxy, env) = testkit::behind_proxy().await;
        proxy.set(Fault::Refuse);
        let reply = testkit::timed(
            "register, DynamoDB refused",
            call(&env, handle, register("half@example.com", "long enough pass")),
        )
        .await;
        assert_eq!((reply.status(), reply.error()), (503, "service_unavailable".into()));
        assert!(env.dump().await.is_empty());
        proxy.set(Fault::None);
        assert_eq!(call(&env, handle, register("half@example.com", "long enough pass")).await.status(), 201);
    }

    #[tokio::test]
    async fn a_body_that_is_not_utf8_is_400() {
        let env = TestEnv::new().await;
        let reply = call(&env, handle, event("register").binary_body(b"\x01\xff\xfe{").request()).await;
        assert_eq!((reply.status(), reply.error()), (400, "invalid_request".into()));
    }

    #[tokio::test]
    async fn when_the_anonymous_mail_budget_is_spent_sign_ups_still_work_and_notices_still_go_out() {
        let env = TestEnv::new().await;
        let mut config = env.app.config.clone();
        config.mail.anonymous_per_minute = 1;
        let app = shared::App::new(config, env.clients.clone(), env.clock.clone());
        let (first, second) = (testkit::unique_email("budget-1"), testkit::unique_email("budget-2"));
        assert_eq!(call(&app, handle, register(&first, "long enough pass")).await.status(), 201);
        let (refused, logs) = testkit::with_logs(call(&app, handle, register(&second, "long enough pass"))).await;
        assert_eq!(refused.status(), 201, "the answer does not change");
        assert_eq!(testkit::mail_to(&first).await.len(), 1, "the budget had room for the first");
        assert!(testkit::mail_to(&second).await.is_empty(), "a mail beyond the budget went out");
        assert!(logs.contains("anonymous mail budget spent"), "the refusal was not logged: {logs}");
        let budget: Vec<_> =
            env.dump().await.into_iter().filter(|item| item["pk"].as_s().unwrap() == "MAILBUDGET").collect();
        assert_eq!(budget.len(), 1);
        assert_eq!(
            (budget[0]["sent"].as_n().unwrap().as_str(), budget[0]["refused"].as_n().unwrap().as_str()),
            ("1", "1")
        );
        // A security notice of the same minute still goes out: notices never count against the budget.
        let email = Email::parse(&second).unwrap();
        let command = shared::flows::operator::Command::ResetTwofa;
        let done =
            shared::flows::operator::run(&app.repo, &app.mailer, env.clock.as_ref(), command, &email).await.unwrap();
        assert!(matches!(done, shared::flows::operator::Outcome::Done { .. }));
        let notices = testkit::mail_to(&second).await;
        assert_eq!(notices.len(), 1);
        assert!(notices[0].subject.ends_with("Two-factor authentication was reset"), "{}", notices[0].subject);
        // The next minute has room again.
        env.clock.advance(chrono::Duration::minutes(1));
        let third = testkit::unique_email("budget-3");
        assert_eq!(call(&app, handle, register(&third, "long enough pass")).await.status(), 201);
        assert_eq!(testkit::mail_to(&third).await.len(), 1);
    }
}
