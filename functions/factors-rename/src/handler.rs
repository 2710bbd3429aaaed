//! `POST /auth/factors/rename`: a factor's new name (aal 2).

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use shared::domain::{ClientInfo, EventKind, FactorName};
use shared::http::{AdminRule, FactorView, authenticate, json_body, json_response};
use shared::store::writes;
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
    if user.factor(&body.factor_id).is_none() {
        return Err(ApiError::FactorNotFound);
    }
    // One conditional update renames it and returns it: still there, same token version.
    let renamed = app.repo.rename_factor(&user.id, user.version, &body.factor_id, name.as_str()).await?;
    let now = app.now().timestamp_millis();
    app.repo.commit(writes::audit(&user.id, &[EventKind::FactorRenamed], now, &ClientInfo::of(&req))).await?;
    Ok(json_response(StatusCode::OK, &FactorView::from(&renamed)))
}
