//! `POST /auth/refresh`: rotate the refresh token. The presented id must be
//! the session's current one (a condition); a replaced one within 10 seconds
//! gets the same new token, an older one ends the session.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::crypto::random_id;
use shared::domain::{ClientInfo, EventKind};
use shared::flows::session::{access_token, refresh_token};
use shared::http::{ACCESS_COOKIE, REFRESH_COOKIE, cookie, json_response, with_cookies};
use shared::store::{Rotation, Write, writes};
use shared::tokens::{self, RefreshClaims};
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let presented = cookie(&req, REFRESH_COOKIE).ok_or(ApiError::Unauthorized)?;
    let keys = app.keyring.keys().await?;
    let now = app.now().timestamp();
    let claims = tokens::verify_or::<RefreshClaims>(keys, &presented, &app.config.issuer, now, ApiError::Unauthorized)?;
    let user = match app.repo.user(&claims.reg.sub).await? {
        Some(user) if user.version == claims.ver => user,
        _ => return Err(ApiError::Unauthorized),
    };

    let client = ClientInfo::of(&req);
    let rotation =
        app.repo.rotate_refresh(&user.id, &claims.sid, &claims.jti, &random_id(), now, client.ip.as_deref()).await?;
    let session = match rotation {
        Rotation::Rotated(session) | Rotation::Grace(session) => session,
        Rotation::Reused(session) => {
            tracing::warn!(user_id = user.id, session_id = session.session_id, "refresh token reused: session ended");
            let (events, now_millis) = ([EventKind::RefreshReuse], app.now().timestamp_millis());
            let mut end: Vec<Write> = vec![writes::delete_session(&user.id, &session.session_id)];
            end.extend(writes::audit(&user.id, &events, now_millis, &client));
            end.push(writes::account_unchanged(&user.id, user.version));
            app.repo.commit(end).await?;
            app.mailer.notify(&user.email, &events, now_millis, &client, None).await;
            return Err(ApiError::Unauthorized);
        }
        Rotation::Gone => return Err(ApiError::Unauthorized),
    };

    let issuer = app.issuer(&req).await?;
    let policy = &app.config.cookies;
    let cookies = [
        policy.set(ACCESS_COOKIE, &access_token(app, &issuer, &session, user.role, user.version, now)?),
        policy.set(REFRESH_COOKIE, &refresh_token(app, keys, &session, user.version)),
    ];
    Ok(with_cookies(json_response(StatusCode::OK, &json!({ "message": "refreshed" })), cookies))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use testkit::proxy::Fault;
    use testkit::{Reply, TestEnv, call, event};

    async fn refresh(env: &TestEnv, token: &str) -> Reply {
        call(env, handle, event("refresh").cookie("refresh_token", token).request()).await
    }

    #[tokio::test]
    async fn rotation_issues_new_tokens_in_two_calls_and_the_old_one_stops_working() {
        let env = TestEnv::new().await;
        let user = env.register("ann@example.com").await;
        let session = env.sign_in(&user, None).await;
        env.keys().await;
        env.calls.reset();
        let first = refresh(&env, &session.refresh_token).await;
        assert_eq!(first.status(), 200);
        assert_eq!(first.json(), json!({ "message": "refreshed" }));
        assert_eq!(env.calls.take(), ["DynamoDB.GetItem", "DynamoDB.UpdateItem"]);
        let rotated = first.cookie("refresh_token").unwrap();
        assert_ne!(rotated, session.refresh_token);
        assert!(!first.cookie("access_token").unwrap().is_empty());

        env.clock.advance(Duration::seconds(11));
        assert_eq!(refresh(&env, &rotated).await.status(), 200);
    }

    #[tokio::test]
    async fn two_tabs_within_ten_seconds_get_the_same_new_token() {
        let env = TestEnv::new().await;
        let user = env.register("bea@example.com").await;
        let session = env.sign_in(&user, None).await;
        let tab_one = refresh(&env, &session.refresh_token).await;
        env.clock.advance(Duration::seconds(9));
        let tab_two = refresh(&env, &session.refresh_token).await;
        assert_eq!((tab_one.status(), tab_two.status()), (200, 200));
        assert_eq!(tab_one.cookie("refresh_token"), tab_two.cookie("refresh_token"));
        // The shared new token keeps working.
        assert_eq!(refresh(&env, &tab_two.cookie("refresh_token").unwrap()).await.status(), 200);
    }

    #[tokio::test]
    async fn a_rotated_out_token_later_ends_the_whole_session() {
        let env = TestEnv::new().await;
        let user = env.register("cid@example.com").await;
        let session = env.sign_in(&user, None).await;
        let rotated = refresh(&env, &session.refresh_token).await.cookie("refresh_token").unwrap();

        env.clock.advance(Duration::seconds(10));
        let replay = refresh(&env, &session.refresh_token).await;
        assert_eq!((replay.status(), replay.error()), (401, "unauthorized".into()));
        // The thief's replay ended the session: the legitimate new token is dead too.
        assert_eq!(refresh(&env, &rotated).await.status(), 401);
        let events = env.app.repo.recent_events(&user.id, env.unix_now() as i64, 50).await.unwrap();
        assert_eq!(events[0].kind, shared::domain::EventKind::RefreshReuse);
    }

    #[tokio::test]
    async fn a_refresh_in_the_same_second_as_the_sign_in_gives_a_different_access_token() {
        let env = TestEnv::new().await;
        let user = env.register("jti@example.com").await;
        let session = env.sign_in(&user, None).await;
        let refreshed = refresh(&env, &session.refresh_token).await.cookie("access_token").unwrap();
        assert_ne!(refreshed, session.access_token);
        let (before, after) = (env.access_claims(&session.access_token).await, env.access_claims(&refreshed).await);
        assert_eq!(before.reg.iat, after.reg.iat, "the same second");
        assert_ne!(before.jti, after.jti);
    }

    #[tokio::test]
    async fn a_session_refreshed_every_day_still_ends_thirty_days_after_its_sign_in() {
        let env = TestEnv::new().await;
        let user = env.register("fin@example.com").await;
        let mut token = env.sign_in(&user, None).await.refresh_token;
        for day in 1..30 {
            env.clock.advance(Duration::days(1));
            let reply = refresh(&env, &token).await;
            assert_eq!(reply.status(), 200, "day {day}");
            token = reply.cookie("refresh_token").unwrap();
        }
        // The last token of the session expires with the session, not 7 days after it was issued.
        let claims = shared::tokens::verify::<shared::tokens::RefreshClaims>(
            env.keys().await,
            &token,
            &env.app.config.issuer,
            env.app.now().timestamp(),
        )
        .unwrap();
        assert_eq!(claims.reg.exp, testkit::default_instant().timestamp() + 30 * 24 * 60 * 60);
        env.clock.advance(Duration::days(1));
        let ended = refresh(&env, &token).await;
        assert_eq!((ended.status(), ended.error()), (401, "unauthorized".into()));
    }

    #[tokio::test]
    async fn only_the_token_just_replaced_gets_the_grace() {
        let env = TestEnv::new().await;
        let user = env.register("dov@example.com").await;
        let session = env.sign_in(&user, None).await;
        let second = refresh(&env, &session.refresh_token).await.cookie("refresh_token").unwrap();
        refresh(&env, &second).await;
        // Within 10 s of the last rotation, but two rotations old.
        assert_eq!(refresh(&env, &session.refresh_token).await.status(), 401);
    }

    #[tokio::test]
    async fn version_changes_forged_missing_and_expired_tokens_are_401() {
        let env = TestEnv::new().await;
        let user = env.register("eda@example.com").await;
        let session = env.sign_in(&user, None).await;
        assert_eq!(call(&env, handle, event("refresh").cookies::<&str>(&[]).request()).await.status(), 401);
        assert_eq!(refresh(&env, &session.access_token).await.status(), 401);
        assert_eq!(refresh(&env, "e30.e30.e30").await.status(), 401);

        env.clock.advance(Duration::days(7));
        assert_eq!(refresh(&env, &session.refresh_token).await.status(), 401);

        env.clock.advance(Duration::days(-7));
        env.app.repo.commit(shared::store::writes::bump_version(&user).into()).await.unwrap();
        assert_eq!(refresh(&env, &session.refresh_token).await.status(), 401);
    }

    #[tokio::test]
    async fn dynamodb_failing_at_the_rotation_keeps_the_refresh_token_valid() {
        let (proxy, env) = testkit::behind_proxy().await;
        let user = env.register("fig@example.com").await;
        let session = env.sign_in(&user, None).await;
        proxy.fail_after(1, Fault::Refuse);
        let reply = testkit::timed("refresh, rotation refused", refresh(&env, &session.refresh_token)).await;
        assert_eq!(reply.status(), 503);
        proxy.set(Fault::None);
        assert_eq!(refresh(&env, &session.refresh_token).await.status(), 200, "not rotated, so not reuse");
    }

    #[tokio::test]
    async fn ten_tabs_refreshing_at_once_agree_on_one_new_token() {
        let env = TestEnv::new().await;
        let user = env.register("tabs@example.com").await;
        let session = env.sign_in(&user, None).await;
        let tabs = (0..10).map(|_| refresh(&env, &session.refresh_token));
        let replies = futures::future::join_all(tabs).await;
        assert!(
            replies.iter().all(|r| r.status() == 200),
            "{:?}",
            replies.iter().map(Reply::status).collect::<Vec<_>>()
        );
        let tokens: std::collections::HashSet<_> = replies.iter().map(|r| r.cookie("refresh_token").unwrap()).collect();
        assert_eq!(tokens.len(), 1, "one rotation, the other tabs got its token");
    }

    #[tokio::test]
    async fn a_replayed_refresh_token_mails_one_notice() {
        let env = TestEnv::new().await;
        let address = testkit::unique_email("notice-reuse");
        let user = env.register(&address).await;
        let session = env.sign_in(&user, None).await;
        let rotated = refresh(&env, &session.refresh_token).await.cookie("refresh_token").unwrap();
        env.clock.advance(Duration::seconds(30));
        assert_eq!(refresh(&env, &session.refresh_token).await.status(), 401);
        let client = ClientInfo::of(&event("refresh").request());
        let secrets = [session.refresh_token.as_str(), rotated.as_str()];
        testkit::one_notice(&address, "A session was ended", env.app.now(), &client, &secrets).await;
    }

    /// The keys of the items left of `user_id`'s partition.
    async fn items_of(env: &TestEnv, user_id: &str) -> Vec<String> {
        env.dump()
            .await
            .iter()
            .filter(|item| item["pk"].as_s().unwrap() == &format!("USER#{user_id}"))
            .map(|item| item["sk"].as_s().unwrap().clone())
            .collect()
    }

    #[tokio::test]
    async fn a_rotation_raced_against_the_deletion_of_its_account_recreates_no_session() {
        let env = TestEnv::new().await;
        let user = env.register(&testkit::unique_email("rotating")).await;
        let session = env.sign_in(&user, None).await;
        let (proxy, paused) = env.paused_container().await;
        // The profile is read; the rotation is held while the account is deleted.
        proxy.fail_after(1, Fault::Stall);
        let req = event("refresh").cookie("refresh_token", &session.refresh_token).request();
        let (reply, ()) = futures::join!(call(&paused, handle, req), async {
            proxy.wait_for_calls(2).await;
            shared::flows::accounts::delete(&env.fixtures, &env.user(&user.id).await).await.unwrap();
            proxy.set(Fault::None);
        });
        assert_eq!((reply.status(), reply.error()), (401, "unauthorized".into()), "{:?}", reply.json());
        assert_eq!(items_of(&env, &user.id).await, Vec::<String>::new(), "an item of the deleted account");
        assert_eq!(refresh(&env, &session.refresh_token).await.status(), 401, "the refresh token works");
    }

    #[tokio::test]
    async fn a_replayed_token_raced_against_the_deletion_of_its_account_logs_nothing() {
        let env = TestEnv::new().await;
        let user = env.register(&testkit::unique_email("replayed")).await;
        let session = env.sign_in(&user, None).await;
        let rotated = refresh(&env, &session.refresh_token).await.cookie("refresh_token").unwrap();
        env.clock.advance(Duration::seconds(11));
        let (proxy, paused) = env.paused_container().await;
        // The profile is read and the rotation finds the token replayed; the
        // transaction that ends the session and logs it is held while the account is deleted.
        proxy.fail_after(2, Fault::Stall);
        let req = event("refresh").cookie("refresh_token", &session.refresh_token).request();
        let (reply, ()) = futures::join!(call(&paused, handle, req), async {
            proxy.wait_for_calls(3).await;
            shared::flows::accounts::delete(&env.fixtures, &env.user(&user.id).await).await.unwrap();
            proxy.set(Fault::None);
        });
        assert_eq!((reply.status(), reply.error()), (401, "unauthorized".into()), "{:?}", reply.json());
        assert_eq!(items_of(&env, &user.id).await, Vec::<String>::new(), "an item of the deleted account");
        for token in [&session.refresh_token, &rotated] {
            assert_eq!(refresh(&env, token).await.status(), 401);
        }
    }
}
