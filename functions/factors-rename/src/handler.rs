//! `POST /auth/factors/rename`: a factor's new name (aal 2).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::domain::{ClientInfo, EventKind, FactorName};
use shared::http::{AdminRule, FactorView, authenticate, json_body, json_response};
use shared::store::{FactorRecord, writes};
use shared::{ApiError, App};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RenameBody {
    #[serde(rename = "factorId")]
    factor_id: String,
    name: String,
}

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req, AdminRule::RequiresTwofa).await?;
    caller.require_aal2()?;
    let body: RenameBody = json_body(&req)?;
    let name = FactorName::parse(&body.name)?;
    let user = &caller.user;
    let Some(factor) = user.factor(&body.factor_id) else {
        return Err(ApiError::FactorNotFound);
    };
    // One transaction: the new name (the factor still there, the token version
    // unchanged) and the audit event.
    let mut writes = vec![writes::rename_factor(user, &factor.id, name.as_str())];
    writes.extend(writes::audit(
        &user.id,
        &[EventKind::FactorRenamed],
        app.now().timestamp_millis(),
        &ClientInfo::of(&req),
    ));
    app.repo.commit(writes).await?;
    let renamed = FactorRecord { name: name.as_str().to_string(), ..factor.clone() };
    Ok(json_response(StatusCode::OK, &FactorView::from(&renamed)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};
    use shared::domain::SecondFactor;
    use testkit::{Reply, TestEnv, call, event, unique_email};

    async fn rename(env: &TestEnv, access: &str, body: Value) -> Reply {
        call(env, handle, event("factors-rename").cookie("access_token", access).json(body).request()).await
    }

    #[tokio::test]
    async fn a_factor_gets_its_new_name_and_a_bad_name_or_another_users_factor_is_refused() {
        let env = TestEnv::new().await;
        let kit = env.enroll(&env.register_verified(&unique_email("rename")).await).await;
        let theirs = env.enroll(&env.register_verified(&unique_email("rename-other")).await).await;
        let session = env.sign_in(&kit.user, Some(SecondFactor::Totp)).await;
        env.calls.reset();
        let reply =
            rename(&env, &session.access_token, json!({ "factorId": kit.factor_id, "name": "  Work phone " })).await;
        assert_eq!(reply.status(), 200, "{}", reply.json());
        // A cold container reads the keyring and unwraps the MAC key (to verify the
        // token); then, as on every warm request, the session read with the
        // profile, and the new name with its audit event in one transaction.
        let cold = ["DynamoDB.Query", "KMS.Decrypt", "DynamoDB.BatchGetItem", "DynamoDB.TransactWriteItems"];
        assert_eq!(env.calls.take(), cold);
        let warm =
            rename(&env, &session.access_token, json!({ "factorId": kit.factor_id, "name": "Work phone" })).await;
        assert_eq!(warm.status(), 200);
        assert_eq!(env.calls.take(), ["DynamoDB.BatchGetItem", "DynamoDB.TransactWriteItems"], "warm: 2 calls");
        let events = env.app.repo.recent_events(&kit.user.id, env.app.now().timestamp(), 50).await.unwrap();
        assert_eq!(events.iter().filter(|e| e.kind == EventKind::FactorRenamed).count(), 2, "one event per rename");
        assert_eq!((reply.json()["name"].clone(), reply.json()["type"].clone()), (json!("Work phone"), json!("totp")));
        assert_eq!(env.user(&kit.user.id).await.factor(&kit.factor_id).unwrap().name, "Work phone");
        for name in [json!(""), json!("x".repeat(65)), json!("a\u{7}b"), json!(5)] {
            let bad = rename(&env, &session.access_token, json!({ "factorId": kit.factor_id, "name": name })).await;
            assert_eq!((bad.status(), bad.error()), (400, "invalid_request".into()), "{name}");
        }
        let other = rename(&env, &session.access_token, json!({ "factorId": theirs.factor_id, "name": "Mine" })).await;
        assert_eq!((other.status(), other.error()), (404, "factor_not_found".into()));
        assert_eq!(env.user(&theirs.user.id).await.factor(&theirs.factor_id).unwrap().name, "Authenticator app");
        let aal1 = env.sign_in(&kit.user, None).await;
        let refused = rename(&env, &aal1.access_token, json!({ "factorId": kit.factor_id, "name": "x" })).await;
        assert_eq!(refused.error(), "mfa_required");
    }
}
