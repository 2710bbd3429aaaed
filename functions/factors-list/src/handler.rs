//! `GET /auth/factors`: the user's second factors, oldest first, and how many
//! backup codes are left. One read.

use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde_json::json;
use shared::http::{AdminRule, FactorView, authenticate, json_response};
use shared::{ApiError, App};

pub async fn handle(app: &App, req: Request) -> Result<Response<Body>, ApiError> {
    let caller = authenticate(app, &req, AdminRule::OpenBeforeTwofa).await?;
    let user = &caller.user;
    let factors: Vec<FactorView> = user.factors.iter().map(FactorView::from).collect();
    let remaining = user.twofa_enabled().then_some(user.backup_hashes.len());
    Ok(json_response(StatusCode::OK, &json!({ "factors": factors, "backupCodesRemaining": remaining })))
}
