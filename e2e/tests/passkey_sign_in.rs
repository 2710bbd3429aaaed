//! Signing in with a passkey alone, over HTTP, as a browser on the front end
//! would: `POST /auth/passkey/options` names no account, the software
//! authenticator answers with the discoverable credential it made at a
//! registration through the routes, and `POST /auth/passkey/login` opens an
//! aal-2 session. A ceremony works once and only for its purpose; options
//! write nothing to the table.

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use e2e::{Browser, front_end_origin, unique_email, verified_and_signed_in};
use serde_json::{Value, json};
use testkit::passkey::{Behaviour, SoftPasskey, Tamper};

const PASSWORD: &str = "correct horse battery staple";

fn unix_now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A user whose first factor is a passkey made by `behaviour`, registered
/// through the routes on the front end; signed out afterwards.
struct SignedOut {
    email: String,
    user_id: String,
    browser: Browser,
    passkey: SoftPasskey,
}

async fn with_passkey_signed_out(name: &str, behaviour: Behaviour) -> SignedOut {
    let email = unique_email(name);
    let mut browser = Browser::on_front_end();
    let user = verified_and_signed_in(&mut browser, &email, PASSWORD).await;
    let options = browser.post("/auth/factors/passkey/options", Some(json!({}))).await;
    assert_eq!(options.status, 200, "{:?}", options.body);
    let (passkey, credential) = SoftPasskey::register(&options.body["publicKey"], &front_end_origin(), behaviour);
    let body = json!({ "ceremonyId": options.body["ceremonyId"], "credential": credential });
    let registered = browser.post("/auth/factors/passkey", Some(body)).await;
    assert_eq!(registered.status, 201, "{:?}", registered.body);
    assert!(registered.body["backupCodes"].is_array(), "the first factor turned 2FA on: {:?}", registered.body);
    assert_eq!(browser.post("/auth/logout", None).await.status, 204);
    assert!(browser.cookie("access_token").is_none() && browser.cookie("refresh_token").is_none());
    SignedOut { email, user_id: user["id"].as_str().unwrap().to_string(), browser, passkey }
}

/// `POST /auth/passkey/options` with `{}`: the ceremony id and the request options.
async fn sign_in_options(browser: &mut Browser) -> (String, Value) {
    let page = browser.post("/auth/passkey/options", Some(json!({}))).await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    (page.body["ceremonyId"].as_str().expect("a ceremony id").to_string(), page.body["publicKey"].clone())
}

/// `POST /auth/2fa/challenge` with `{}`: the user is the pre-2FA cookie's, else the access token's.
async fn challenge(browser: &mut Browser) -> (String, Value) {
    let page = browser.post("/auth/2fa/challenge", Some(json!({}))).await;
    assert_eq!(page.status, 200, "{:?}", page.body);
    (page.body["ceremonyId"].as_str().unwrap().to_string(), page.body["publicKey"].clone())
}

/// The body of `POST /auth/passkey/login`: the ceremony and the assertion made at the front end's origin.
fn login_body(passkey: &mut SoftPasskey, ceremony_id: &str, public_key: &Value, tamper: Tamper) -> Value {
    json!({ "ceremonyId": ceremony_id, "credential": passkey.assert(public_key, &front_end_origin(), tamper) })
}

/// The same assertion as a second-factor proof (`{"passkey": {...}}`).
fn as_proof(login_body: &Value) -> Value {
    json!({ "passkey": login_body })
}

/// A passkey of the front end's relying party that no account registered.
fn unregistered_passkey(rp_id: &str) -> SoftPasskey {
    let creation = json!({
        "rp": { "id": rp_id },
        "user": { "id": B64.encode(shared::crypto::random_id()) },
        "challenge": B64.encode([7u8; 32]),
    });
    SoftPasskey::register(&creation, &front_end_origin(), Behaviour::default()).0
}

fn assert_no_allow_credentials(public_key: &Value) {
    assert!(
        public_key.get("allowCredentials").is_none_or(|list| list.as_array().is_some_and(Vec::is_empty)),
        "no account is named: {public_key}"
    );
}

async fn a_passkey_alone_signs_in_at_aal_2(behaviour: Behaviour, method: &str) {
    let SignedOut { email, user_id, mut browser, mut passkey } = with_passkey_signed_out("pk-signin", behaviour).await;

    let (ceremony, request) = sign_in_options(&mut browser).await;
    assert_no_allow_credentials(&request);
    assert_eq!(request["userVerification"], "required");
    assert_eq!(B64.decode(request["challenge"].as_str().unwrap()).unwrap().len(), 32, "a 32-byte challenge");

    let asked_at = unix_now();
    let signed_in = browser
        .post("/auth/passkey/login", Some(login_body(&mut passkey, &ceremony, &request, Tamper::default())))
        .await;
    assert_eq!(signed_in.status, 200, "{:?}", signed_in.body);
    let user = &signed_in.body["user"];
    assert_eq!(
        (&signed_in.body["requires2FA"], &signed_in.body["requires2FASetup"]),
        (&json!(false), &json!(false)),
        "{:?}",
        signed_in.body
    );
    assert_eq!((&user["id"], &user["email"]), (&json!(user_id), &json!(email)), "the passkey's own account");
    assert_eq!(
        (&user["aal"], &user["twoFactorEnabled"], &user["passkeys"], &user["emailVerified"]),
        (&json!(2), &json!(true), &json!(1), &json!(true))
    );
    assert!(browser.cookie("refresh_token").is_some(), "a session: {:?}", signed_in.set_cookies());
    assert!(browser.cookie("twofa_token").is_none());
    let access = browser.access_claims();
    assert_eq!(
        (&access["sub"], &access["aal"], &access["amr"], &access["scope"]),
        (&json!(user_id), &json!(2), &json!([method]), &json!("aal1 aal2"))
    );
    let auth_time = access["auth_time"].as_i64().expect("auth_time");
    assert!((asked_at - 1..=unix_now() + 1).contains(&auth_time), "auth_time is now: {access}");

    let me = browser.get("/auth/me").await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    assert_eq!(&me.body, user, "/auth/me shows the signed-in user");
    let audit = browser.get("/auth/audit").await;
    assert_eq!(&audit.event_types()[..2], ["passkey_login", "logout"], "only passkey_login since the sign-out");
    let factors = browser.get("/auth/factors").await;
    assert!(factors.body["factors"][0]["lastUsedAt"].is_string(), "the passkey records its use: {:?}", factors.body);

    // The session refreshes like any other, at the same assurance.
    let refreshed = browser.post("/auth/refresh", None).await;
    assert_eq!(refreshed.status, 200, "{:?}", refreshed.body);
    let after = browser.access_claims();
    assert_eq!((&after["aal"], &after["amr"], &after["sid"]), (&json!(2), &json!([method]), &access["sid"]));
}

#[tokio::test]
async fn a_device_bound_passkey_alone_signs_in_with_amr_hwk() {
    a_passkey_alone_signs_in_at_aal_2(Behaviour::default(), "hwk").await;
}

#[tokio::test]
async fn a_synced_passkey_alone_signs_in_with_amr_swk() {
    a_passkey_alone_signs_in_at_aal_2(Behaviour { synced: true, ..Behaviour::default() }, "swk").await;
}

#[tokio::test]
async fn a_sign_in_ceremony_works_once_for_its_own_purpose_and_a_stranger_gets_nothing() {
    let SignedOut { email, mut browser, mut passkey, .. } =
        with_passkey_signed_out("pk-ceremony", Behaviour::default()).await;

    // Presented twice: the second time its ceremony is used up.
    let (ceremony, request) = sign_in_options(&mut browser).await;
    let body = login_body(&mut passkey, &ceremony, &request, Tamper::default());
    assert_eq!(browser.post("/auth/passkey/login", Some(body.clone())).await.status, 200);
    let mut replay = Browser::on_front_end();
    let replayed = replay.post("/auth/passkey/login", Some(body)).await;
    assert_eq!((replayed.status.as_u16(), replayed.error()), (400, "ceremony_expired"));
    assert!(replay.cookie("access_token").is_none() && replay.cookie("refresh_token").is_none());

    // A passkey no account registered: invalid_credentials, and the ceremony is used up.
    let mut stranger = Browser::on_front_end();
    let (ceremony, request) = sign_in_options(&mut stranger).await;
    let mut unknown = unregistered_passkey(&passkey.rp_id);
    let refused = stranger
        .post("/auth/passkey/login", Some(login_body(&mut unknown, &ceremony, &request, Tamper::default())))
        .await;
    assert_eq!((refused.status.as_u16(), refused.error()), (401, "invalid_credentials"), "{:?}", refused.body);
    assert!(stranger.cookie("access_token").is_none() && stranger.cookie("refresh_token").is_none());
    let used = stranger
        .post("/auth/passkey/login", Some(login_body(&mut passkey, &ceremony, &request, Tamper::default())))
        .await;
    assert_eq!(
        (used.status.as_u16(), used.error()),
        (400, "ceremony_expired"),
        "used at most once, whatever the outcome"
    );

    // A wrong signature of the registered passkey looks the same as an unknown credential.
    let (ceremony, request) = sign_in_options(&mut stranger).await;
    let forged = Tamper { bad_signature: true, ..Tamper::default() };
    let bad = stranger.post("/auth/passkey/login", Some(login_body(&mut passkey, &ceremony, &request, forged))).await;
    assert_eq!((bad.status.as_u16(), &bad.body), (401, &refused.body), "the same answer as an unknown credential");
    assert!(stranger.cookie("access_token").is_none());

    // A tampered ceremony id is no ceremony; the untouched one still works.
    let (ceremony, request) = sign_in_options(&mut stranger).await;
    let body = login_body(&mut passkey, &ceremony, &request, Tamper::default());
    let mut tampered = body.clone();
    let middle = ceremony.len() / 2;
    let flipped = if &ceremony[middle..=middle] == "A" { "B" } else { "A" };
    tampered["ceremonyId"] = format!("{}{flipped}{}", &ceremony[..middle], &ceremony[middle + 1..]).into();
    let altered = stranger.post("/auth/passkey/login", Some(tampered)).await;
    assert_eq!((altered.status.as_u16(), altered.error()), (400, "ceremony_expired"));
    assert!(stranger.cookie("access_token").is_none());
    let genuine = stranger.post("/auth/passkey/login", Some(body)).await;
    assert_eq!(genuine.status, 200, "the genuine id: {:?}", genuine.body);

    // A sign-in ceremony at verify-login (another purpose) is refused there,
    // and not used up for its own use.
    let mut second_step = Browser::on_front_end();
    let password = second_step.post("/auth/login", Some(json!({ "email": email, "password": PASSWORD }))).await;
    assert_eq!(password.body, json!({ "requires2FA": true }));
    let (ceremony, request) = sign_in_options(&mut second_step).await;
    let body = login_body(&mut passkey, &ceremony, &request, Tamper::default());
    let at_verify = second_step.post("/auth/2fa/verify-login", Some(as_proof(&body))).await;
    assert_eq!((at_verify.status.as_u16(), at_verify.error()), (400, "ceremony_expired"));
    assert!(second_step.cookie("access_token").is_none());
    let mut rightful = Browser::on_front_end();
    let own_use = rightful.post("/auth/passkey/login", Some(body)).await;
    assert_eq!(own_use.status, 200, "still good at passkey/login: {:?}", own_use.body);

    // ... and at reauthenticate.
    let (ceremony, request) = sign_in_options(&mut rightful).await;
    let body = login_body(&mut passkey, &ceremony, &request, Tamper::default());
    let at_reauth = rightful.post("/auth/reauthenticate", Some(as_proof(&body))).await;
    assert_eq!((at_reauth.status.as_u16(), at_reauth.error()), (400, "ceremony_expired"));

    // Vice versa: a verify-login ceremony (2fa/challenge with the pre-2FA
    // cookie) is refused at passkey/login, and still proves the second step.
    let (ceremony, request) = challenge(&mut second_step).await;
    let body = login_body(&mut passkey, &ceremony, &request, Tamper::default());
    let mut elsewhere = Browser::on_front_end();
    let at_login = elsewhere.post("/auth/passkey/login", Some(body.clone())).await;
    assert_eq!((at_login.status.as_u16(), at_login.error()), (400, "ceremony_expired"));
    assert!(elsewhere.cookie("access_token").is_none());
    let verified = second_step.post("/auth/2fa/verify-login", Some(as_proof(&body))).await;
    assert_eq!(verified.status, 200, "still good at verify-login: {:?}", verified.body);

    // An account ceremony (2fa/challenge with an access token) likewise.
    let (ceremony, request) = challenge(&mut rightful).await;
    let body = login_body(&mut passkey, &ceremony, &request, Tamper::default());
    let at_login = elsewhere.post("/auth/passkey/login", Some(body.clone())).await;
    assert_eq!((at_login.status.as_u16(), at_login.error()), (400, "ceremony_expired"));
    assert!(elsewhere.cookie("access_token").is_none());
    let reauthenticated = rightful.post("/auth/reauthenticate", Some(as_proof(&body))).await;
    assert_eq!(reauthenticated.status, 200, "still good at reauthenticate: {:?}", reauthenticated.body);
}

/// Whether the table holds the used-marker of a sign-in ceremony (keyed by
/// the SHA-256 of the sealed state its id carries).
async fn ceremony_marked_used(ceremony_id: &str) -> bool {
    use sha2::{Digest, Sha256};
    let config = shared::config::Config::from_env().expect("the local stack's TABLE_NAME and KMS_KEY_ID");
    let client = aws_sdk_dynamodb::Client::new(&shared::aws::sdk_config().await);
    let sealed = B64.decode(ceremony_id).expect("a ceremony id is base64url");
    let key = data_encoding::HEXLOWER.encode(&Sha256::digest(&sealed));
    let item = client
        .get_item()
        .table_name(&config.table_name)
        .key("pk", AttributeValue::S(format!("CEREMONY#{key}")))
        .key("sk", AttributeValue::S("USED".into()))
        .consistent_read(true)
        .send()
        .await
        .expect("read the local table");
    item.item.is_some()
}

/// Options name no account and store nothing (the handler tests list the
/// whole table after 100 of them): each ceremony is new, and none is marked
/// used until it is presented.
#[tokio::test]
async fn sign_in_options_name_no_account_and_store_nothing() {
    let mut browser = Browser::on_front_end();
    let (mut ceremonies, mut challenges) = (BTreeSet::new(), BTreeSet::new());
    for _ in 0..20 {
        let (ceremony, request) = sign_in_options(&mut browser).await;
        assert_no_allow_credentials(&request);
        assert_eq!(request["userVerification"], "required");
        assert_eq!(B64.decode(request["challenge"].as_str().unwrap()).unwrap().len(), 32);
        assert!(challenges.insert(request["challenge"].as_str().unwrap().to_string()), "every challenge is new");
        assert!(!ceremony_marked_used(&ceremony).await, "options mark nothing");
        assert!(ceremonies.insert(ceremony), "every ceremony id is new");
    }
    // Presented (here by a passkey that no account registered), it is used up.
    let (ceremony, request) = sign_in_options(&mut browser).await;
    let rp_id = request["rpId"].as_str().expect("the relying party's id").to_string();
    let body = login_body(&mut unregistered_passkey(&rp_id), &ceremony, &request, Tamper::default());
    let refused = browser.post("/auth/passkey/login", Some(body)).await;
    assert_eq!((refused.status.as_u16(), refused.error()), (401, "invalid_credentials"));
    assert!(ceremony_marked_used(&ceremony).await, "a presented ceremony is used up");
}
