//! `POST /auth/logout`: clear the cookies and end the session server-side, so a
//! kept copy of its refresh token stops working.

use lambda_http::{Body, Request, Response};
use shared::domain::{ClientInfo, EventKind};
use shared::http::{ACCESS_COOKIE, REFRESH_COOKIE, access_claims, bearer_token, cookie, no_content, with_cookies};
use shared::store::{Write, writes};
use shared::tokens::{self, RefreshClaims};
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let refresh = cookie(&req, REFRESH_COOKIE);
    let access = bearer_token(&req).map(str::to_string).or_else(|| cookie(&req, ACCESS_COOKIE));
    if let Some((user_id, session_id)) = session_of(app, &req, refresh.as_deref(), access.as_deref()).await? {
        let mut end: Vec<Write> = vec![writes::delete_session(&user_id, &session_id)];
        end.extend(writes::audit(&user_id, &[EventKind::Logout], app.now().timestamp_millis(), &ClientInfo::of(&req)));
        end.push(writes::account_exists(&user_id));
        match app.repo.commit(end).await {
            // The account is deleted: its sessions went with it, and nothing is logged.
            Ok(()) | Err(ApiError::Unauthorized) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(with_cookies(no_content(), app.config.cookies.clear_all()))
}

/// The session to end: the refresh token's, or else the access token's `sid`.
async fn session_of(
    app: &App,
    req: &Request,
    refresh: Option<&str>,
    access: Option<&str>,
) -> Result<Option<(String, String)>, ApiError> {
    if let Some(token) = refresh {
        let keys = app.keyring.keys().await?;
        if let Ok(claims) = tokens::verify::<RefreshClaims>(keys, token, &app.config.issuer, app.now().timestamp()) {
            return Ok(Some((claims.reg.sub, claims.sid)));
        }
    }
    let Some(token) = access else { return Ok(None) };
    match access_claims(app, req, token).await {
        Ok(claims) => Ok(Some((claims.reg.sub, claims.sid))),
        Err(ApiError::Unauthorized) => Ok(None),
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::http::TWOFA_COOKIE;
    use testkit::{TestEnv, call, event};

    #[tokio::test]
    async fn logout_ends_the_session_a_copied_refresh_token_included() {
        let env = TestEnv::new().await;
        let user = env.register("fox@example.com").await;
        let session = env.sign_in(&user, None).await;
        let req = event("logout")
            .cookies(&[
                format!("access_token={}", session.access_token),
                format!("refresh_token={}", session.refresh_token),
            ])
            .request();
        let reply = call(&env, handle, req).await;
        assert_eq!(reply.status(), 204);
        let cleared: Vec<_> = reply
            .set_cookies()
            .iter()
            .map(|c| (c.name().to_string(), c.value().to_string(), c.path().map(str::to_string), c.max_age()))
            .collect();
        let zero = Some(cookie::time::Duration::ZERO);
        assert_eq!(
            cleared,
            [
                (ACCESS_COOKIE.to_string(), String::new(), Some("/".to_string()), zero),
                (REFRESH_COOKIE.to_string(), String::new(), Some("/auth".to_string()), zero),
                (TWOFA_COOKIE.to_string(), String::new(), Some("/auth/2fa".to_string()), zero),
            ]
        );
        assert!(env.app.repo.session(&user.id, &session.record.session_id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn the_access_token_names_the_session_when_there_is_no_refresh_token() {
        let env = TestEnv::new().await;
        let user = env.register("gus@example.com").await;
        let session = env.sign_in(&user, None).await;
        let reply =
            call(&env, handle, event("logout").cookies::<&str>(&[]).bearer(&session.access_token).request()).await;
        assert_eq!(reply.status(), 204);
        assert!(env.app.repo.session(&user.id, &session.record.session_id).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn without_tokens_it_only_clears_cookies_and_touches_nothing() {
        let env = TestEnv::new().await;
        env.calls.reset();
        let reply = call(&env, handle, event("logout").cookies(&["refresh_token=garbage"]).request()).await;
        assert_eq!(reply.status(), 204);
        assert_eq!(reply.set_cookies().len(), 3);
        assert!(env.calls.take().iter().all(|call| !call.ends_with("DeleteItem") && !call.contains("Transact")));
    }

    #[tokio::test]
    async fn logging_out_of_a_deleted_account_clears_cookies_and_writes_nothing() {
        let env = TestEnv::new().await;
        let user = env.register("gone@example.com").await;
        let session = env.sign_in(&user, None).await;
        shared::flows::accounts::delete(&env.app, &user).await.unwrap();
        let before = env.dump().await;
        let req = event("logout")
            .cookies(&[
                format!("access_token={}", session.access_token),
                format!("refresh_token={}", session.refresh_token),
            ])
            .request();
        let reply = call(&env, handle, req).await;
        assert_eq!((reply.status(), reply.set_cookies().len()), (204, 3));
        assert_eq!(env.dump().await, before, "a logout event for a deleted account");
    }
}
