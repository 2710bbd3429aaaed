//! Load with nothing lost (issue 21, item 5). The real handlers of sign-up,
//! sign-in, verify-login (a TOTP code and a backup code), refresh and passkey
//! sign-in (options, then the assertion) run many at once in this one process
//! against one table in moto; then the table is scanned and every invariant
//! checked: one account per email, single use of pre-2FA tokens, TOTP steps,
//! backup codes, refresh tokens and passkey assertions, token versions, no
//! orphan items, sessions and audit events equal to the successes counted here.
//! Duplicates are sent on purpose, at the same moment.
//!
//! Each route runs on its own pool of cold containers (`App`s), one per
//! concurrent request, as Lambda runs one request per container: the pool's
//! first requests are cold starts. Prints a JSON line per route and per
//! invariant, then tables; exits 1 when an invariant fails.
//!
//! Usage: `load [--requests N] [--concurrency C]` with `AWS_ENDPOINT_URL` at
//! moto (`scripts/moto_server.py`); see bench/LOAD.md.

// The handlers live in binary crates: their files are included as they are,
// so what runs here is what the functions run. Their `#[cfg(test)]` modules
// (which need the functions' dev-dependencies) are never compiled: built as a
// test (`cargo clippy --all-targets` does, whatever `test = false` says), this
// crate is empty.
#![cfg(not(test))]

#[path = "../../../functions/login/src/handler.rs"]
mod login;
#[path = "../../../functions/passkey-signin-options/src/handler.rs"]
mod passkey_options;
#[path = "../../../functions/passkey-login/src/handler.rs"]
mod passkey_signin;
#[path = "../../../functions/refresh/src/handler.rs"]
mod refresh;
#[path = "../../../functions/register/src/handler.rs"]
mod register;
#[path = "../../../functions/twofa-verify-login/src/handler.rs"]
mod verify_login;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use lambda_http::{Body, Request, Response};
use serde_json::{Value, json};
use shared::App;
use shared::factors::passkey::{SIGN_IN, credential_key};
use shared::factors::totp::{TotpSecret, step_at};
use shared::http::process;
use shared::tokens::{self, Pre2faClaims, RefreshClaims};
use testkit::passkey::{Behaviour, SoftPasskey, Tamper};
use testkit::{Event, PASSWORD, Reply, TestEnv, event, passkey_proof};
use tokio::sync::Semaphore;

type Item = HashMap<String, AttributeValue>;

/// Copies of one email sent to register at the same moment.
const DUPLICATE_SIGN_UPS: usize = 4;
/// Refresh tokens replayed after the grace period (their sessions must end).
const REPLAYS: usize = 50;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Route {
    Register,
    Login,
    VerifyLogin,
    Refresh,
    PasskeyOptions,
    PasskeySignIn,
}

impl Route {
    /// The function's name (and its sample event's, under `events/`).
    fn name(self) -> &'static str {
        match self {
            Route::Register => "register",
            Route::Login => "login",
            Route::VerifyLogin => "twofa-verify-login",
            Route::Refresh => "refresh",
            Route::PasskeyOptions => "passkey-signin-options",
            Route::PasskeySignIn => "passkey-login",
        }
    }

    /// One invocation as the deployed function runs it (`shared::serve`'s
    /// per-request part: the origin rule, the deadline, errors mapped).
    async fn invoke(self, app: &App, req: Request) -> Response<Body> {
        match self {
            Route::Register => process(app, req, |req| register::handle(app, req)).await,
            Route::Login => process(app, req, |req| login::handle(app, req)).await,
            Route::VerifyLogin => process(app, req, |req| verify_login::handle(app, req)).await,
            Route::Refresh => process(app, req, |req| refresh::handle(app, req)).await,
            Route::PasskeyOptions => process(app, req, |req| passkey_options::handle(app, req)).await,
            Route::PasskeySignIn => process(app, req, |req| passkey_signin::handle(app, req)).await,
        }
    }
}

/// What one request got.
#[derive(Clone)]
struct Outcome {
    status: u16,
    error: String,
    body: Value,
    cookies: HashMap<String, String>,
    latency: Duration,
    /// Why a 503 happened (from the function's log), and the log line.
    unavailable: Option<(&'static str, String)>,
}

impl Outcome {
    fn of(response: Response<Body>, latency: Duration, logs: &str) -> Self {
        let reply = Reply(response);
        let body = match reply.0.body() {
            Body::Text(text) => serde_json::from_str(text).unwrap_or(Value::Null),
            Body::Binary(bytes) => serde_json::from_slice(bytes).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        // The cookies set (a cleared one, such as the pre-2FA token's after a sign-in, is left out).
        let cookies = reply
            .set_cookies()
            .iter()
            .filter(|c| !c.value().is_empty())
            .map(|c| (c.name().to_string(), c.value().to_string()))
            .collect();
        let status = reply.status();
        let unavailable = (status == 503).then(|| unavailable_cause(logs));
        Outcome {
            status,
            error: body["error"].as_str().unwrap_or_default().to_string(),
            body,
            cookies,
            latency,
            unavailable,
        }
    }

    fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    fn label(&self) -> String {
        if self.error.is_empty() { self.status.to_string() } else { format!("{} {}", self.status, self.error) }
    }
}

/// A 503's cause, told apart by the function's error log line.
fn unavailable_cause(logs: &str) -> (&'static str, String) {
    let line = logs
        .lines()
        .find(|line| line.contains("dependency failed") || line.contains("internal error"))
        .unwrap_or_default()
        .chars()
        .take(400)
        .collect::<String>();
    let lower = logs.to_lowercase();
    let cause = if lower.contains("no answer within the invocation") {
        "deadline: the invocation's 10 s"
    } else if lower.contains("connect timeout") {
        "SDK connect timeout (1 s): moto did not accept the connection"
    } else if lower.contains("timeout") || lower.contains("timed out") {
        "SDK timeout (1.5 s attempt, 3 s call): moto did not answer"
    } else if lower.contains("throttl") || lower.contains("transactionconflict") {
        "throttled or transaction conflict"
    } else {
        "other"
    };
    (cause, line)
}

/// One route's run: the outcomes per group (a group's requests start together).
struct Phase {
    name: String,
    groups: Vec<Vec<Outcome>>,
    wall: Duration,
    aws_calls: Vec<String>,
}

impl Phase {
    fn outcomes(&self) -> impl Iterator<Item = &Outcome> {
        self.groups.iter().flatten()
    }
}

struct Load {
    env: Arc<TestEnv>,
    concurrency: usize,
}

impl Load {
    /// Runs the groups of requests with at most `concurrency` in flight, each
    /// on a container of the route's own pool; a group's requests hold their
    /// permits and containers together, so its duplicates truly race.
    async fn run(&self, route: Route, groups: Vec<Vec<Event>>) -> Phase {
        let containers: Vec<Arc<App>> = (0..self.concurrency).map(|_| Arc::new(self.env.cold_container())).collect();
        let containers = Arc::new(Mutex::new(containers));
        let permits = Arc::new(Semaphore::new(self.concurrency));
        self.env.calls.reset();
        let started = Instant::now();
        let tasks: Vec<_> = groups
            .into_iter()
            .map(|group| {
                let (permits, containers) = (permits.clone(), containers.clone());
                tokio::spawn(async move {
                    let _permits = permits.acquire_many_owned(group.len() as u32).await.expect("semaphore open");
                    let running: Vec<_> = group
                        .into_iter()
                        .map(|event| {
                            let app = containers.lock().unwrap().pop().expect("a container per permit");
                            let containers = containers.clone();
                            tokio::spawn(async move {
                                // The invocation's deadline (10 s) counts from here, as Lambda's does.
                                let req = event.request();
                                let began = Instant::now();
                                let (response, logs) = testkit::with_logs(route.invoke(&app, req)).await;
                                let latency = began.elapsed();
                                containers.lock().unwrap().push(app);
                                Outcome::of(response, latency, &logs)
                            })
                        })
                        .collect();
                    let mut outcomes = Vec::with_capacity(running.len());
                    for task in running {
                        outcomes.push(task.await.expect("a request panicked"));
                    }
                    outcomes
                })
            })
            .collect();
        let mut out = Vec::with_capacity(tasks.len());
        for task in tasks {
            out.push(task.await.expect("a group panicked"));
        }
        let wall = started.elapsed();
        Phase { name: route.name().to_string(), groups: out, wall, aws_calls: self.env.calls.take() }
    }

    /// Sends again, as a client does after `Retry-After`, each request of
    /// `phase` answered 503 (`make`: the request of a group), up to three
    /// rounds, and keeps its last answer in `phase`: what follows stands on
    /// what the clients ended with. Returns the rounds (rows of their own;
    /// the phase's row, printed before, keeps its 503s).
    async fn send_503s_again(&self, route: Route, phase: &mut Phase, make: impl Fn(usize) -> Event) -> Vec<Phase> {
        let mut rounds = Vec::new();
        for round in 1..=3 {
            let failed: Vec<(usize, usize)> = phase
                .groups
                .iter()
                .enumerate()
                .flat_map(|(g, outcomes)| {
                    outcomes.iter().enumerate().filter(|(_, o)| o.status == 503).map(move |(c, _)| (g, c))
                })
                .collect();
            if failed.is_empty() {
                break;
            }
            let mut again = self.run(route, failed.iter().map(|(g, _)| vec![make(*g)]).collect()).await;
            again.name = format!("{} (503s sent again, round {round})", route.name());
            for ((g, c), outcomes) in failed.iter().zip(&again.groups) {
                phase.groups[*g][*c] = outcomes[0].clone();
            }
            rounds.push(again);
        }
        rounds
    }
}

/// Latency and throughput of one phase, as printed.
struct Row {
    name: String,
    requests: usize,
    ok: usize,
    statuses: BTreeMap<String, usize>,
    unavailable: BTreeMap<&'static str, usize>,
    p50: Duration,
    p99: Duration,
    max: Duration,
    wall: Duration,
    aws_calls: usize,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64) * p).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

impl Row {
    fn of(phase: &Phase) -> Row {
        let mut latencies: Vec<Duration> = phase.outcomes().map(|o| o.latency).collect();
        latencies.sort();
        let mut statuses = BTreeMap::new();
        let mut unavailable = BTreeMap::new();
        for outcome in phase.outcomes() {
            *statuses.entry(outcome.label()).or_default() += 1;
            if let Some((cause, _)) = &outcome.unavailable {
                *unavailable.entry(*cause).or_default() += 1;
            }
        }
        Row {
            name: phase.name.clone(),
            requests: latencies.len(),
            ok: phase.outcomes().filter(|o| o.ok()).count(),
            statuses,
            unavailable,
            p50: percentile(&latencies, 0.50),
            p99: percentile(&latencies, 0.99),
            max: latencies.last().copied().unwrap_or_default(),
            wall: phase.wall,
            aws_calls: phase.aws_calls.len(),
        }
    }

    fn throughput(&self) -> f64 {
        self.requests as f64 / self.wall.as_secs_f64()
    }

    fn print_json(&self, concurrency: usize) {
        let ms = |d: Duration| (d.as_secs_f64() * 100_000.0).round() / 100.0;
        let line = json!({
            "kind": "load",
            "route": self.name,
            "requests": self.requests,
            "concurrency": concurrency,
            "ok": self.ok,
            "statuses": self.statuses,
            "unavailable": self.unavailable,
            "p50_ms": ms(self.p50),
            "p99_ms": ms(self.p99),
            "max_ms": ms(self.max),
            "wall_s": (self.wall.as_secs_f64() * 100.0).round() / 100.0,
            "throughput_rps": (self.throughput() * 10.0).round() / 10.0,
            "aws_calls": self.aws_calls,
            "aws_calls_per_s": (self.aws_calls as f64 / self.wall.as_secs_f64()).round(),
        });
        println!("{line}");
    }
}

/// An invariant checked on the table (and on the answers counted here).
struct Check {
    name: &'static str,
    checked: usize,
    violations: Vec<String>,
}

impl Check {
    fn new(name: &'static str) -> Self {
        Check { name, checked: 0, violations: Vec::new() }
    }

    /// Counts one thing checked; records `why` when `holds` is false.
    fn expect(&mut self, holds: bool, why: impl FnOnce() -> String) {
        self.checked += 1;
        if !holds {
            self.violations.push(why());
        }
    }

    fn passed(&self) -> bool {
        self.violations.is_empty()
    }
}

/// What the answers say happened to one account.
#[derive(Default, Debug)]
struct Tally {
    /// Logins whose password was accepted (200).
    password_ok: usize,
    /// Sessions opened by login (2FA off).
    login_sessions: usize,
    totp_ok: usize,
    backup_ok: usize,
    remembered: usize,
    passkey_ok: usize,
    /// Sessions ended by a refresh token replayed after the grace.
    replay_ended: usize,
    /// Nonces of the pre-2FA tokens that succeeded.
    spent: HashSet<String>,
    /// Any 503 at verify-login (the liveness check skips such a user: a client retries).
    verify_unavailable: bool,
}

struct TotpUser {
    id: String,
    email: String,
    secret: TotpSecret,
    backup_codes: Vec<String>,
}

struct PasskeyUser {
    id: String,
    soft: SoftPasskey,
}

struct Args {
    requests: usize,
    concurrency: usize,
}

fn args() -> Args {
    let mut args = Args { requests: 1000, concurrency: 100 };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let value = given.next().and_then(|v| v.parse::<usize>().ok());
        match (flag.as_str(), value) {
            ("--requests", Some(n)) => args.requests = n,
            ("--concurrency", Some(c)) => args.concurrency = c,
            _ => {
                eprintln!("usage: load [--requests N (per route, default 1000)] [--concurrency C (default 100)]");
                std::process::exit(2);
            }
        }
    }
    // Whole groups of the mix below: 20 sign-ups make 4 users of each kind.
    args.requests = args.requests.max(20).div_ceil(20) * 20;
    args.concurrency = args.concurrency.max(DUPLICATE_SIGN_UPS);
    args
}

fn json_request(name: &str, body: Value) -> Event {
    event(name).json(body)
}

#[tokio::main]
async fn main() -> ExitCode {
    let Args { requests: n, concurrency } = args();
    let env = Arc::new(TestEnv::new().await);
    let load = Load { env: env.clone(), concurrency };
    println!(
        "# load: {n} requests per route at concurrency {concurrency}, table {} in moto at {}",
        env.app.config.table_name,
        testkit::moto_endpoint()
    );
    let mut rows = vec![moto_rate(&env, 1, 1000).await, moto_rate(&env, concurrency, 2000).await];
    let mut unavailable_examples: BTreeMap<&'static str, String> = BTreeMap::new();
    let mut note = |phase: &Phase, rows: &mut Vec<Row>| {
        for outcome in phase.outcomes() {
            if let Some((cause, line)) = &outcome.unavailable {
                unavailable_examples.entry(*cause).or_insert_with(|| line.clone());
            }
        }
        let row = Row::of(phase);
        row.print_json(concurrency);
        rows.push(row);
    };
    let mut tallies: HashMap<String, Tally> = HashMap::new();

    // Sign-up: unique emails, and some sent DUPLICATE_SIGN_UPS times at once.
    let duplicated = n / 20;
    let unique = n - DUPLICATE_SIGN_UPS * duplicated;
    let every = (unique + duplicated) / duplicated.max(1);
    let mut emails = Vec::new();
    for i in 0..unique + duplicated {
        if i % every == 0 && emails.iter().filter(|(_, copies)| *copies > 1).count() < duplicated {
            emails.push((format!("dup{i:05}@load.example"), DUPLICATE_SIGN_UPS));
        } else {
            emails.push((format!("user{i:05}@load.example"), 1));
        }
    }
    let groups = emails
        .iter()
        .map(|(email, copies)| {
            (0..*copies).map(|_| json_request("register", json!({ "email": email, "password": PASSWORD }))).collect()
        })
        .collect();
    let register_request = |g: usize| json_request("register", json!({ "email": emails[g].0, "password": PASSWORD }));
    let mut signed_up = load.run(Route::Register, groups).await;
    note(&signed_up, &mut rows);
    for again in load.send_503s_again(Route::Register, &mut signed_up, register_request).await {
        note(&again, &mut rows);
    }
    let accounts: Vec<(String, String)> = emails
        .iter()
        .zip(&signed_up.groups)
        .filter_map(|((email, _), outcomes)| {
            let created = outcomes.iter().find(|o| o.status == 201)?;
            Some((email.clone(), created.body["id"].as_str()?.to_string()))
        })
        .collect();
    for (_, id) in &accounts {
        tallies.entry(id.clone()).or_default();
    }

    // The users of the other routes: a quarter each with 2FA off, with an
    // authenticator app (and backup codes), with a passkey (half of them synced).
    let q = n / 4;
    assert!(accounts.len() >= 3 * q, "only {} accounts were created: see the register row", accounts.len());
    let plain: Vec<(String, String)> = accounts[..q].to_vec();
    let started = Instant::now();
    let totp_users = setup(&env, concurrency, accounts[q..2 * q].to_vec(), |env, (email, id)| async move {
        let enrolled = env.enroll(&env.user(&id).await).await;
        TotpUser { id, email, secret: enrolled.secret, backup_codes: enrolled.backup_codes }
    })
    .await;
    let passkey_users = setup(
        &env,
        concurrency,
        accounts[2 * q..3 * q].iter().cloned().enumerate().collect(),
        |env, (i, (_, id))| async move {
            let behaviour = Behaviour { synced: i % 2 == 0, ..Default::default() };
            let (_, soft, _) = env.add_passkey(&env.user(&id).await, behaviour).await;
            PasskeyUser { id, soft }
        },
    )
    .await;
    println!(
        "# setup (fixtures, not a route): {q} authenticator apps and {q} passkeys in {:.1} s, {} AWS calls",
        started.elapsed().as_secs_f64(),
        env.calls.take().len()
    );

    // Sign-in: two logins at once per user (2FA off: sessions; 2FA on: pre-2FA tokens).
    let login_users: Vec<(String, String)> = plain
        .iter()
        .cloned()
        .zip(totp_users.iter().map(|u| (u.email.clone(), u.id.clone())))
        .flat_map(|(a, b)| [a, b])
        .collect();
    let groups = login_users
        .iter()
        .map(|(email, _)| {
            (0..2).map(|_| json_request("login", json!({ "email": email, "password": PASSWORD }))).collect()
        })
        .collect();
    let login_request = |g: usize| json_request("login", json!({ "email": login_users[g].0, "password": PASSWORD }));
    let mut logins = load.run(Route::Login, groups).await;
    note(&logins, &mut rows);
    for again in load.send_503s_again(Route::Login, &mut logins, login_request).await {
        note(&again, &mut rows);
    }
    let mut sessions: Vec<(String, String)> = Vec::new(); // (user id, refresh token)
    let mut pre2fa: HashMap<String, Vec<String>> = HashMap::new();
    for ((_, id), outcomes) in login_users.iter().zip(&logins.groups) {
        let tally = tallies.get_mut(id).expect("an account");
        for outcome in outcomes.iter().filter(|o| o.status == 200) {
            tally.password_ok += 1;
            if let Some(token) = outcome.cookies.get("twofa_token") {
                pre2fa.entry(id.clone()).or_default().push(token.clone());
            } else if let Some(token) = outcome.cookies.get("refresh_token") {
                tally.login_sessions += 1;
                sessions.push((id.clone(), token.clone()));
            }
        }
    }

    // Verify-login: per user, the current code and one backup code, each on
    // both pre-2FA tokens, the four at once. Every other user asks to be remembered.
    let keys = env.keys().await;
    let issuer = env.app.config.issuer.clone();
    let now = env.app.now().timestamp();
    let step = step_at(env.unix_now());
    let nonce = |token: &str| tokens::verify::<Pre2faClaims>(keys, token, &issuer, now).expect("a pre-2FA token").jti;
    let mut verify_meta = Vec::new(); // per group: (user index, [(nonce, is_code)])
    let mut groups = Vec::new();
    for (j, user) in totp_users.iter().enumerate() {
        let tokens = pre2fa.get(&user.id).cloned().unwrap_or_default();
        let code = env.code(&user.secret);
        let remember = j % 2 == 0;
        let mut group = Vec::new();
        let mut meta = Vec::new();
        for (body, is_code) in [
            (json!({ "code": code, "rememberDevice": remember }), true),
            (json!({ "backupCode": user.backup_codes[0] }), false),
        ] {
            for token in &tokens {
                group.push(event("twofa-verify-login").cookie("twofa_token", token).json(body.clone()));
                meta.push((nonce(token), is_code));
            }
        }
        groups.push(group);
        verify_meta.push((j, meta));
    }
    let verified = load.run(Route::VerifyLogin, groups).await;
    note(&verified, &mut rows);
    let mut token_successes: HashMap<String, usize> = HashMap::new();
    let mut code_successes: HashMap<String, usize> = HashMap::new(); // per user: the one step
    let mut backup_successes: HashMap<String, usize> = HashMap::new();
    for ((j, meta), outcomes) in verify_meta.iter().zip(&verified.groups) {
        let user = &totp_users[*j];
        let tally = tallies.get_mut(&user.id).expect("an account");
        for ((nonce, is_code), outcome) in meta.iter().zip(outcomes) {
            token_successes.entry(nonce.clone()).or_default();
            tally.verify_unavailable |= outcome.status == 503;
            if outcome.status != 200 {
                continue;
            }
            *token_successes.get_mut(nonce).expect("entered") += 1;
            tally.spent.insert(nonce.clone());
            if *is_code {
                tally.totp_ok += 1;
                *code_successes.entry(user.id.clone()).or_default() += 1;
                tally.remembered += usize::from(outcome.cookies.contains_key("device_token"));
            } else {
                tally.backup_ok += 1;
                *backup_successes.entry(user.id.clone()).or_default() += 1;
            }
        }
    }

    // Refresh: every session's token sent twice at once (the grace rule:
    // both get the one new token).
    let refresh_claims =
        |token: &str| tokens::verify::<RefreshClaims>(keys, token, &issuer, now).expect("a refresh token");
    let groups = sessions
        .iter()
        .map(|(_, token)| (0..2).map(|_| event("refresh").cookie("refresh_token", token)).collect())
        .collect();
    let refreshed = load.run(Route::Refresh, groups).await;
    note(&refreshed, &mut rows);
    struct Rotated {
        user_id: String,
        sid: String,
        presented: String,
        token: String,
        statuses: Vec<u16>,
        new_ids: HashSet<String>,
    }
    let rotations: Vec<Rotated> = sessions
        .iter()
        .zip(&refreshed.groups)
        .map(|((user_id, token), outcomes)| {
            let claims = refresh_claims(token);
            Rotated {
                user_id: user_id.clone(),
                sid: claims.sid,
                presented: claims.jti,
                token: token.clone(),
                statuses: outcomes.iter().map(|o| o.status).collect(),
                new_ids: outcomes
                    .iter()
                    .filter(|o| o.status == 200)
                    .filter_map(|o| o.cookies.get("refresh_token"))
                    .map(|t| refresh_claims(t).jti)
                    .collect(),
            }
        })
        .collect();

    // Passkey sign-in: options for every ceremony, then the assertions: per
    // user three ceremonies, one of them sent twice at once, and a fourth
    // left unused (a user who gave up).
    let options_request = |_| event(Route::PasskeyOptions.name());
    let mut options = load.run(Route::PasskeyOptions, (0..n).map(|g| vec![options_request(g)]).collect()).await;
    note(&options, &mut rows);
    for again in load.send_503s_again(Route::PasskeyOptions, &mut options, options_request).await {
        note(&again, &mut rows);
    }
    let mut passkey_users = passkey_users;
    let mut assertion_meta = Vec::new(); // per group: (user index, ceremony key, counter)
    let mut groups = Vec::new();
    let mut abandoned = 0;
    for (i, outcome) in options.outcomes().enumerate() {
        if outcome.status != 200 {
            continue;
        }
        if i % 4 == 3 {
            abandoned += 1;
            continue;
        }
        let ceremony_id = outcome.body["ceremonyId"].as_str().expect("a ceremony id");
        let user = (i / 4) % passkey_users.len();
        let body =
            passkey_proof(&mut passkey_users[user].soft, ceremony_id, &outcome.body["publicKey"], Tamper::default());
        let key = keys.open_ceremony(SIGN_IN, ceremony_id, now).expect("a live ceremony").key;
        let copies = if i % 4 == 0 { 2 } else { 1 };
        groups.push((0..copies).map(|_| json_request(Route::PasskeySignIn.name(), body.clone())).collect());
        assertion_meta.push((user, key, passkey_users[user].soft.counter));
    }
    let passkey_logins = load.run(Route::PasskeySignIn, groups).await;
    note(&passkey_logins, &mut rows);
    let mut ceremony_successes: HashMap<String, usize> = HashMap::new();
    let mut accepted_counters: HashMap<String, Vec<u32>> = HashMap::new();
    let mut passkey_unavailable: HashSet<String> = HashSet::new();
    for ((user, key, counter), outcomes) in assertion_meta.iter().zip(&passkey_logins.groups) {
        let id = &passkey_users[*user].id;
        let successes = outcomes.iter().filter(|o| o.status == 200).count();
        if outcomes.iter().any(|o| o.status == 503) {
            passkey_unavailable.insert(id.clone());
        }
        *ceremony_successes.entry(key.clone()).or_default() += successes;
        tallies.get_mut(id).expect("an account").passkey_ok += successes;
        accepted_counters.entry(id.clone()).or_default().extend(std::iter::repeat_n(*counter, successes));
    }

    // Replays after the grace period: each must end its session.
    env.clock.advance(chrono::Duration::seconds(11));
    let replayed: Vec<&Rotated> = rotations.iter().filter(|r| r.new_ids.len() == 1).take(REPLAYS).collect();
    let groups = replayed.iter().map(|r| vec![event("refresh").cookie("refresh_token", &r.token)]).collect();
    let mut replays = load.run(Route::Refresh, groups).await;
    replays.name = "refresh (replay after grace)".into();
    note(&replays, &mut rows);
    let mut replay_ended: HashSet<String> = HashSet::new();
    for (rotation, outcome) in replayed.iter().zip(replays.outcomes()) {
        if outcome.status == 401 {
            tallies.get_mut(&rotation.user_id).expect("an account").replay_ended += 1;
            replay_ended.insert(rotation.sid.clone());
        }
    }

    // The table, and every invariant on it.
    let table = Table::scan(&env).await;
    println!("# table: {} items scanned", table.items);
    let (keyring_items, keyring_bytes) = table.keyring;
    let login_bytes: Vec<usize> = table.logins.values().map(item_bytes).collect();
    println!(
        "# KEYRING partition: {keyring_items} items, {keyring_bytes} bytes: one strongly consistent Query of it is {} RCU; \
         an EMAIL# login item is {} bytes at most: one update of its counter is {} WCU",
        keyring_bytes.div_ceil(4096),
        login_bytes.iter().max().copied().unwrap_or(0),
        login_bytes.iter().max().copied().unwrap_or(0).div_ceil(1024)
    );
    let mut checks = Vec::new();

    let mut check = Check::new("one account per email (every sign-up)");
    for ((email, copies), outcomes) in emails.iter().zip(&signed_up.groups) {
        let created: Vec<&str> =
            outcomes.iter().filter(|o| o.status == 201).filter_map(|o| o.body["id"].as_str()).collect();
        let profiles = table.profiles_of(email);
        let login_owner = table.logins.get(email).and_then(|l| text(l, "userId"));
        let unavailable = outcomes.iter().any(|o| o.status == 503);
        let holds = match created.as_slice() {
            [id] => profiles == [*id] && login_owner == Some(*id),
            [] => unavailable && profiles.is_empty() && login_owner.is_none(),
            _ => false,
        };
        check.expect(holds, || {
            format!(
                "{email} ({copies} sent): created {created:?}, profiles {profiles:?}, login item of {login_owner:?}"
            )
        });
    }
    check.expect(table.profiles.len() == accounts.len(), || {
        format!("{} profiles for {} accounts created", table.profiles.len(), accounts.len())
    });
    checks.push(check);

    let mut check = Check::new("duplicate sign-ups raced: one 201, the rest 409");
    for ((email, _), outcomes) in emails.iter().zip(&signed_up.groups).filter(|((_, copies), _)| *copies > 1) {
        let created = outcomes.iter().filter(|o| o.status == 201).count();
        let taken = outcomes.iter().filter(|o| o.status == 409 && o.error == "email_taken").count();
        let unavailable = outcomes.iter().filter(|o| o.status == 503).count();
        check.expect(created == 1 && created + taken + unavailable == outcomes.len(), || {
            format!("{email}: {:?}", outcomes.iter().map(Outcome::label).collect::<Vec<_>>())
        });
    }
    checks.push(check);

    let mut check = Check::new("each pre-2FA token succeeded at most once");
    for (nonce, successes) in &token_successes {
        check.expect(*successes <= 1, || format!("token {nonce} succeeded {successes} times"));
    }
    for user in &totp_users {
        let spent: HashSet<String> = table
            .profiles
            .get(&user.id)
            .and_then(|p| map(p, "spentPre2fa"))
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        let expected = &tallies[&user.id].spent;
        check.expect(&spent == expected, || {
            format!("user {}: spent on the profile {spent:?}, succeeded {expected:?}", user.id)
        });
    }
    checks.push(check);

    let mut check = Check::new("each TOTP step accepted once (one code raced on two tokens)");
    for user in &totp_users {
        let successes = code_successes.get(&user.id).copied().unwrap_or(0);
        let last_step = table.profiles.get(&user.id).and_then(|p| totp_factor(p)).and_then(|f| number(f, "lastStep"));
        let expected_step = if successes == 1 { step } else { step - 2 };
        check.expect(successes <= 1 && last_step == Some(expected_step as i64), || {
            format!("user {}: step {step} accepted {successes} times, lastStep {last_step:?}", user.id)
        });
    }
    checks.push(check);

    let mut check = Check::new("each backup code accepted once (raced on two tokens)");
    for user in &totp_users {
        let successes = backup_successes.get(&user.id).copied().unwrap_or(0);
        let left = table
            .profiles
            .get(&user.id)
            .and_then(|p| p.get("backupCodes"))
            .and_then(|v| v.as_ss().ok())
            .map_or(0, Vec::len);
        check.expect(successes <= 1 && left == user.backup_codes.len() - successes, || {
            format!("user {}: accepted {successes} times, {left} of {} codes left", user.id, user.backup_codes.len())
        });
    }
    checks.push(check);

    let mut check = Check::new("verify-login lost nothing: two tokens, two valid proofs, two sessions");
    for user in totp_users.iter().filter(|u| pre2fa.get(&u.id).is_some_and(|t| t.len() == 2)) {
        let tally = &tallies[&user.id];
        if !tally.verify_unavailable {
            check.expect(tally.totp_ok + tally.backup_ok == 2, || format!("user {}: {tally:?}", user.id));
        }
    }
    checks.push(check);

    let mut check = Check::new("refresh: one rotation per token, its duplicate in the grace gets the same");
    for rotation in &rotations {
        let session = table.session(&rotation.user_id, &rotation.sid);
        let ended = replay_ended.contains(&rotation.sid);
        let stored = session.map(|s| (text(s, "previousRefreshId"), text(s, "refreshId")));
        let new_id = rotation.new_ids.iter().next().map(String::as_str);
        let holds = rotation.new_ids.len() <= 1
            && rotation.statuses.iter().all(|s| *s == 200 || *s == 503)
            && (ended && session.is_none()
                || stored == Some((Some(rotation.presented.as_str()), new_id))
                || rotation.new_ids.is_empty()
                    && stored.is_some_and(|(_, current)| current == Some(&rotation.presented)));
        check.expect(holds, || {
            format!(
                "session {}: statuses {:?}, new ids {:?}, stored {stored:?}",
                rotation.sid, rotation.statuses, rotation.new_ids
            )
        });
    }
    checks.push(check);

    let mut check = Check::new("refresh token replayed after the grace: 401, session ended");
    for (rotation, outcome) in replayed.iter().zip(replays.outcomes()) {
        let gone = table.session(&rotation.user_id, &rotation.sid).is_none();
        check.expect(outcome.status == 401 && gone, || {
            format!("session {}: {}, gone {gone}", rotation.sid, outcome.label())
        });
    }
    checks.push(check);

    let mut check = Check::new("passkey sign-in: one session per assertion, every ceremony used up");
    // A ceremony is used up by any answer but a 503 (which wrote nothing: the client may send it again).
    let presented: HashSet<&String> = assertion_meta.iter().map(|(_, key, _)| key).collect();
    for ((_, key, _), outcomes) in assertion_meta.iter().zip(&passkey_logins.groups) {
        let successes = ceremony_successes.get(key).copied().unwrap_or(0);
        let answered = outcomes.iter().any(|o| o.status != 503);
        let used = table.used_ceremonies.contains(key);
        check.expect(successes <= 1 && (used || !answered), || {
            format!(
                "ceremony {key}: {successes} sessions, marked used {used}, answers {:?}",
                outcomes.iter().map(Outcome::label).collect::<Vec<_>>()
            )
        });
    }
    let unknown = table.used_ceremonies.iter().filter(|key| !presented.contains(key)).count();
    check.expect(unknown == 0, || {
        format!(
            "{unknown} used-markers of ceremonies never presented ({abandoned} abandoned, {} presented)",
            presented.len()
        )
    });
    for user in &passkey_users {
        let accepted = accepted_counters.get(&user.id).cloned().unwrap_or_default();
        let stored = table.profiles.get(&user.id).and_then(passkey_factor).and_then(|f| number(f, "signCount"));
        let synced = user.soft.behaviour.synced;
        let sent = assertion_meta.iter().filter(|(u, _, _)| passkey_users[*u].id == user.id).count();
        let holds = if synced {
            // Counting nothing, every assertion stands on its ceremony alone.
            stored == Some(0) && (accepted.len() == sent || passkey_unavailable.contains(&user.id))
        } else {
            // Raced assertions of one authenticator: the counter decides; the highest accepted is stored.
            !accepted.is_empty() && stored == accepted.iter().max().map(|c| i64::from(*c))
        };
        check.expect(holds, || {
            format!("user {} (synced {synced}): accepted counters {accepted:?} of {sent}, stored {stored:?}", user.id)
        });
    }
    checks.push(check);

    let mut check = Check::new("token versions consistent: profile, login item, sessions, devices");
    for (id, profile) in &table.profiles {
        let version = number(profile, "ver");
        let email = text(profile, "email").unwrap_or_default();
        let login = table.logins.get(email);
        let factors = map(profile, "factors")
            .map(|m| m.values().filter_map(|f| f.as_m().ok()).collect::<Vec<_>>())
            .unwrap_or_default();
        let passkeys = factors.iter().filter(|f| text(f, "type") == Some("passkey")).count() as i64;
        let mirrored = login.is_some_and(|l| {
            number(l, "ver") == version
                && l.get("twofaEnabled").and_then(|v| v.as_bool().ok()).copied() == Some(!factors.is_empty())
                && number(l, "passkeys").unwrap_or(0) == passkeys
        });
        check.expect(mirrored, || {
            format!(
                "user {id}: profile ver {version:?}, login item {:?}",
                login.map(|l| (number(l, "ver"), l.get("twofaEnabled"), number(l, "passkeys")))
            )
        });
        for item in table.partition(id).filter(|i| sk(i).starts_with("SESSION#") || sk(i).starts_with("REMEMBERED#")) {
            check.expect(number(item, "ver") == version, || {
                format!("{} of user {id}: ver {:?}, profile {version:?}", sk(item), number(item, "ver"))
            });
        }
    }
    checks.push(check);

    let mut check = Check::new("no orphan items");
    for (owner, items) in &table.users {
        for item in items {
            check.expect(table.profiles.contains_key(owner), || {
                format!("USER#{owner} {} without its profile", sk(item))
            });
        }
    }
    for (email, login) in &table.logins {
        if let Some(owner) = text(login, "userId") {
            let profile_email = table.profiles.get(owner).and_then(|p| text(p, "email"));
            check.expect(profile_email == Some(email.as_str()), || {
                format!("EMAIL#{email} names {owner}, whose profile has {profile_email:?}")
            });
        }
    }
    for (id, profile) in &table.profiles {
        let email = text(profile, "email").unwrap_or_default();
        let owner = table.logins.get(email).and_then(|l| text(l, "userId"));
        check.expect(owner == Some(id.as_str()), || format!("profile {id} ({email}): its login item names {owner:?}"));
        if let Some(factor) = passkey_factor(profile) {
            let key = credential_key(text(factor, "credentialId").unwrap_or_default());
            check.expect(table.credentials.contains_key(&key), || format!("user {id}'s passkey has no CRED# item"));
        }
    }
    for (key, credential) in &table.credentials {
        let (owner, factor_id) =
            (text(credential, "userId").unwrap_or_default(), text(credential, "factorId").unwrap_or_default());
        let factor = table
            .profiles
            .get(owner)
            .and_then(|p| map(p, "factors"))
            .and_then(|m| m.get(factor_id))
            .and_then(|f| f.as_m().ok());
        let names = factor.and_then(|f| text(f, "credentialId")).map(credential_key);
        check.expect(names.as_deref() == Some(key.as_str()), || {
            format!("CRED#{key} names user {owner} factor {factor_id}: {names:?}")
        });
    }
    checks.push(check);

    let mut check = Check::new("sessions == successful sign-ins (by amr)");
    let (mut expected_total, mut found_total) = (0, 0);
    for (id, tally) in &tallies {
        let mut found: BTreeMap<String, usize> = BTreeMap::new();
        for session in table.partition(id).filter(|i| sk(i).starts_with("SESSION#")) {
            *found.entry(text(session, "amr").unwrap_or_default().to_string()).or_default() += 1;
        }
        let passkey_amr = found.get("hwk").copied().unwrap_or(0) + found.get("swk").copied().unwrap_or(0);
        let expected = [
            ("pwd", tally.login_sessions - tally.replay_ended),
            ("pwd otp", tally.totp_ok),
            ("pwd backup", tally.backup_ok),
        ];
        let holds = expected.iter().all(|(amr, count)| found.get(*amr).copied().unwrap_or(0) == *count)
            && passkey_amr == tally.passkey_ok
            && found.values().sum::<usize>() == expected.iter().map(|(_, c)| c).sum::<usize>() + tally.passkey_ok;
        expected_total +=
            tally.login_sessions - tally.replay_ended + tally.totp_ok + tally.backup_ok + tally.passkey_ok;
        found_total += found.values().sum::<usize>();
        check.expect(holds, || format!("user {id}: sessions {found:?}, answers {tally:?}"));
    }
    println!("# sessions: {found_total} in the table, {expected_total} from the answers");
    checks.push(check);

    let mut check = Check::new("audit events == answers (register, login, 2FA, passkey, replay, remembered)");
    for (id, tally) in &tallies {
        let mut kinds: HashMap<&str, usize> = HashMap::new();
        for event in table.partition(id).filter(|i| sk(i).starts_with("EVT#")) {
            *kinds.entry(text(event, "type").unwrap_or_default()).or_default() += 1;
        }
        let expected = [
            ("register", 1),
            ("login", tally.password_ok),
            ("twofa_verified", tally.totp_ok),
            ("backup_code_used", tally.backup_ok),
            ("passkey_login", tally.passkey_ok),
            ("refresh_reuse", tally.replay_ended),
            ("device_remembered", tally.remembered),
        ];
        let wrong: Vec<_> = expected
            .iter()
            .filter(|(kind, count)| kinds.get(kind).copied().unwrap_or(0) != *count)
            .map(|(kind, count)| format!("{kind}: {} stored, {count} answered", kinds.get(kind).copied().unwrap_or(0)))
            .collect();
        check.expect(wrong.is_empty(), || format!("user {id}: {}", wrong.join(", ")));
    }
    checks.push(check);

    let mut check = Check::new("remembered browsers == verify-logins that asked and succeeded");
    for (id, tally) in &tallies {
        let found = table.partition(id).filter(|i| sk(i).starts_with("REMEMBERED#")).count();
        check.expect(found == tally.remembered, || {
            format!("user {id}: {found} remembered, {} answered", tally.remembered)
        });
    }
    checks.push(check);

    // What was printed as it ran, again as tables.
    println!();
    println!(
        "{:<40} {:>6} {:>6} {:>9} {:>9} {:>9} {:>8} {:>6} {:>8}  statuses",
        "route", "reqs", "ok", "p50 ms", "p99 ms", "max ms", "req/s", "503", "AWS/s"
    );
    for row in &rows {
        let statuses: Vec<String> = row.statuses.iter().map(|(s, c)| format!("{s}×{c}")).collect();
        println!(
            "{:<40} {:>6} {:>6} {:>9.2} {:>9.2} {:>9.2} {:>8.1} {:>6} {:>8.0}  {}",
            row.name,
            row.requests,
            row.ok,
            row.p50.as_secs_f64() * 1000.0,
            row.p99.as_secs_f64() * 1000.0,
            row.max.as_secs_f64() * 1000.0,
            row.throughput(),
            row.unavailable.values().sum::<usize>(),
            row.aws_calls as f64 / row.wall.as_secs_f64(),
            statuses.join(" ")
        );
    }
    let unavailable: usize = rows.iter().flat_map(|r| r.unavailable.values()).sum();
    println!("\n# 503s: {unavailable} in all");
    for (cause, example) in &unavailable_examples {
        let count: usize = rows.iter().filter_map(|r| r.unavailable.get(cause)).sum();
        println!("#   {count} × {cause}; e.g. {example}");
    }

    println!();
    for check in &checks {
        let examples: Vec<&String> = check.violations.iter().take(5).collect();
        let line = json!({
            "kind": "invariant",
            "name": check.name,
            "checked": check.checked,
            "violations": check.violations.len(),
            "result": if check.passed() { "PASS" } else { "FAIL" },
            "examples": examples,
        });
        println!("{line}");
    }
    println!("\n{:<80} {:>8} {:>10}  result", "invariant", "checked", "violations");
    for check in &checks {
        println!(
            "{:<80} {:>8} {:>10}  {}",
            check.name,
            check.checked,
            check.violations.len(),
            if check.passed() { "PASS" } else { "FAIL" }
        );
        for violation in check.violations.iter().take(5) {
            println!("    {violation}");
        }
    }
    if checks.iter().all(Check::passed) { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

/// Runs `make` for each input, `concurrency` at a time (fixtures, not timed as a route).
async fn setup<I, T, F, Fut>(env: &Arc<TestEnv>, concurrency: usize, inputs: Vec<I>, make: F) -> Vec<T>
where
    I: Send + 'static,
    T: Send + 'static,
    F: Fn(Arc<TestEnv>, I) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let permits = Arc::new(Semaphore::new(concurrency));
    let tasks: Vec<_> = inputs
        .into_iter()
        .map(|input| {
            let permits = permits.clone();
            let work = make(env.clone(), input);
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await.expect("semaphore open");
                work.await
            })
        })
        .collect();
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        out.push(task.await.expect("a fixture panicked"));
    }
    out
}

/// moto's own rate: `count` GetItem calls, `concurrency` at a time, through
/// the product's SDK configuration (its timeouts and retries).
async fn moto_rate(env: &TestEnv, concurrency: usize, count: usize) -> Row {
    let permits = Arc::new(Semaphore::new(concurrency));
    let table = env.app.config.table_name.clone();
    let started = Instant::now();
    let tasks: Vec<_> = (0..count)
        .map(|_| {
            let (permits, dynamo, table) = (permits.clone(), env.clients.dynamo.clone(), table.clone());
            tokio::spawn(async move {
                let _permit = permits.acquire_owned().await.expect("semaphore open");
                let began = Instant::now();
                let result = dynamo
                    .get_item()
                    .table_name(table)
                    .key("pk", AttributeValue::S("USER#nobody".into()))
                    .key("sk", AttributeValue::S("PROFILE".into()))
                    .send()
                    .await;
                (began.elapsed(), result.is_ok())
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut statuses = BTreeMap::new();
    for task in tasks {
        let (latency, ok) = task.await.expect("a call panicked");
        latencies.push(latency);
        *statuses.entry(if ok { "ok".to_string() } else { "error".to_string() }).or_default() += 1;
    }
    let wall = started.elapsed();
    latencies.sort();
    env.calls.reset();
    let row = Row {
        name: format!("moto GetItem alone (concurrency {concurrency})"),
        requests: count,
        ok: statuses.get("ok").copied().unwrap_or(0),
        statuses,
        unavailable: BTreeMap::new(),
        p50: percentile(&latencies, 0.5),
        p99: percentile(&latencies, 0.99),
        max: latencies.last().copied().unwrap_or_default(),
        wall,
        aws_calls: count,
    };
    row.print_json(concurrency);
    row
}

/// The table as scanned after the run, by kind of item.
#[derive(Default)]
struct Table {
    items: usize,
    profiles: HashMap<String, Item>,
    /// `EMAIL#<email>` `LOGIN`, by email.
    logins: HashMap<String, Item>,
    /// Every other item of a `USER#<id>` partition, by id.
    users: HashMap<String, Vec<Item>>,
    /// `CRED#<key>`, by key.
    credentials: HashMap<String, Item>,
    /// The keys of `CEREMONY#<key>` `USED`.
    used_ceremonies: HashSet<String>,
    /// The `KEYRING` partition: items and their size as DynamoDB counts it.
    keyring: (usize, usize),
}

impl Table {
    /// Every item, page by page. A client of its own with long timeouts: a
    /// Scan page of moto's can take longer than the product's 3 s, and this
    /// is inspection, not the product.
    async fn scan(env: &TestEnv) -> Table {
        let sdk = testkit::moto_sdk_config().await;
        let timeouts = aws_sdk_dynamodb::config::timeout::TimeoutConfig::builder()
            .operation_timeout(Duration::from_secs(300))
            .operation_attempt_timeout(Duration::from_secs(300))
            .build();
        let client = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&sdk).timeout_config(timeouts).build(),
        );
        let mut table = Table::default();
        let mut start: Option<Item> = None;
        loop {
            let page = client
                .scan()
                .table_name(&env.app.config.table_name)
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .expect("scan the table");
            for item in page.items.unwrap_or_default() {
                table.add(item);
            }
            match page.last_evaluated_key {
                Some(key) if !key.is_empty() => start = Some(key),
                _ => break,
            }
        }
        table
    }

    fn add(&mut self, item: Item) {
        self.items += 1;
        let pk = text(&item, "pk").unwrap_or_default().to_string();
        if let Some(id) = pk.strip_prefix("USER#") {
            if sk(&item) == "PROFILE" {
                self.profiles.insert(id.to_string(), item);
            } else {
                self.users.entry(id.to_string()).or_default().push(item);
            }
        } else if let Some(email) = pk.strip_prefix("EMAIL#") {
            self.logins.insert(email.to_string(), item);
        } else if let Some(key) = pk.strip_prefix("CRED#") {
            self.credentials.insert(key.to_string(), item);
        } else if let Some(key) = pk.strip_prefix("CEREMONY#") {
            self.used_ceremonies.insert(key.to_string());
        } else if pk == "KEYRING" {
            self.keyring = (self.keyring.0 + 1, self.keyring.1 + item_bytes(&item));
        }
    }

    fn profiles_of(&self, email: &str) -> Vec<&str> {
        self.profiles.iter().filter(|(_, p)| text(p, "email") == Some(email)).map(|(id, _)| id.as_str()).collect()
    }

    fn partition(&self, user_id: &str) -> impl Iterator<Item = &Item> {
        self.users.get(user_id).into_iter().flatten()
    }

    fn session(&self, user_id: &str, sid: &str) -> Option<&Item> {
        let key = format!("SESSION#{sid}");
        self.partition(user_id).find(|item| sk(item) == key)
    }
}

/// An item's size as DynamoDB bills it: attribute names and values, numbers
/// at about one byte per two digits, three bytes of overhead per map or list.
fn item_bytes(item: &Item) -> usize {
    fn value(v: &AttributeValue) -> usize {
        match v {
            AttributeValue::S(s) => s.len(),
            AttributeValue::N(n) => n.len().div_ceil(2) + 1,
            AttributeValue::B(b) => b.as_ref().len(),
            AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
            AttributeValue::Ns(set) => set.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
            AttributeValue::Bs(set) => set.iter().map(|b| b.as_ref().len()).sum(),
            AttributeValue::M(map) => 3 + item_bytes(map) + map.len(),
            AttributeValue::L(list) => 3 + list.iter().map(|v| value(v) + 1).sum::<usize>(),
            _ => 1,
        }
    }
    item.iter().map(|(name, v)| name.len() + value(v)).sum()
}

fn text<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)?.as_s().ok().map(String::as_str)
}

fn number(item: &Item, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

fn map<'a>(item: &'a Item, name: &str) -> Option<&'a Item> {
    item.get(name)?.as_m().ok()
}

fn sk(item: &Item) -> &str {
    text(item, "sk").unwrap_or_default()
}

fn factor_of_type<'a>(profile: &'a Item, kind: &str) -> Option<&'a Item> {
    map(profile, "factors")?.values().filter_map(|f| f.as_m().ok()).find(|f| text(f, "type") == Some(kind))
}

fn totp_factor(profile: &Item) -> Option<&Item> {
    factor_of_type(profile, "totp")
}

fn passkey_factor(profile: &Item) -> Option<&Item> {
    factor_of_type(profile, "passkey")
}
