//! The Lambda-level half of `make bench`. Runs the release `bootstrap` of
//! each function as Lambda does (`bench::function`: a fresh process behind a
//! stand-in of the Lambda runtime API), against moto through a proxy that
//! counts every AWS call, one fresh deployment (table, KMS key, keyring) per
//! function, and prints one JSON line per measurement:
//!
//! - `cold_start` per function: process start to the first response of its
//!   first route's success request (runtime init, AWS clients, the keyring's
//!   Query and KMS Decrypts, the route's own calls), median, min and max of
//!   N runs; also the init alone, and that first request's handler time
//!   beside a second (warm) one's in the same process;
//! - `aws_calls` per route: the calls of one success request on a warm
//!   container, beside DESIGN.md's budget where it sets one;
//! - `rss` per function: peak resident memory (`VmHWM`) after the routes'
//!   requests replayed many times (replays of a used-up state answer 4xx:
//!   their statuses are printed);
//! - `first_signature`: on `refresh` (signs an RS256 access token), its first
//!   request's time minus a warm one's, beside the same difference on
//!   `passkey-signin-options` (which loads the same keys and signs nothing):
//!   the difference of the two is the first signature's cost in a fresh
//!   process (more than criterion's `jwt/access_first_sign`, timed in a warm one);
//! - with `--node`: `node_cold_start`, the Node tutorial's stack doing the
//!   same three AWS calls as our `me` at its cold start (`bench/node/coldstart-aws.js`),
//!   as a fresh `node` process N times, and `cold_start_like_for_like`.
//!
//! Usage: lambda-bench <dir of <function>/bootstrap> [--runs N] [--load N]
//!        [--functions a,b,...] [--node bench/node/coldstart-aws.js] [--logs DIR]
//! (AWS_ENDPOINT_URL points at moto; `scripts/bench.sh` sets everything up.)

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use bench::function::{Function, Invoked};
use bench::routes::{self, Route};
use serde_json::{Value, json};
use testkit::TestEnv;
use testkit::proxy::FaultProxy;
use tokio::io::{AsyncBufReadExt, BufReader};

/// The load phase of one function stops after this long, whatever `--load` says
/// (`password/forgot` answers 500 ms after arrival, by design).
const LOAD_TIME_CAP: Duration = Duration::from_secs(20);

struct Args {
    dir: PathBuf,
    runs: usize,
    load: u64,
    functions: Vec<String>,
    node: Option<PathBuf>,
    logs: PathBuf,
}

fn args() -> Args {
    let usage =
        "usage: lambda-bench <bootstrap dir> [--runs N] [--load N] [--functions a,b] [--node script] [--logs dir]";
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().expect(usage));
    let mut parsed = Args { runs: 15, load: 200, functions: Vec::new(), node: None, logs: dir.join("logs"), dir };
    while let Some(flag) = args.next() {
        let value = args.next().expect(usage);
        match flag.as_str() {
            "--runs" => parsed.runs = value.parse().expect(usage),
            "--load" => parsed.load = value.parse().expect(usage),
            "--functions" => parsed.functions = value.split(',').map(str::to_string).collect(),
            "--node" => parsed.node = Some(PathBuf::from(value)),
            "--logs" => parsed.logs = PathBuf::from(value),
            _ => panic!("{usage}"),
        }
    }
    assert!(parsed.runs > 0, "{usage}: --runs is at least 1");
    if parsed.functions.is_empty() {
        parsed.functions = routes::ROUTES.iter().map(|route| route.function.to_string()).collect();
        parsed.functions.dedup();
    }
    parsed
}

/// Where the functions' AWS calls go: the call-counting proxy in front of
/// moto (DynamoDB, KMS and SES).
struct Aws {
    proxy: FaultProxy,
}

impl Aws {
    /// The calls since the last look, as `Service.Operation`: DynamoDB and KMS, then SES.
    fn calls(&self) -> (Vec<String>, usize) {
        let calls = self.proxy.take_calls();
        let calls = calls.iter().map(|c| c.replace("DynamoDB_20120810.", "DynamoDB.").replace("TrentService.", "KMS."));
        (calls.collect(), self.proxy.take_mails())
    }

    fn forget(&self) {
        self.calls();
    }
}

/// A fresh deployment: its table, KMS key and keyring in moto (as `authctl
/// init` leaves them), the fixtures' clock at real time, and the environment
/// its functions run with (`infra/template.yaml`'s, with this deployment's values).
async fn deployment(aws: &Aws) -> (TestEnv, HashMap<String, String>) {
    let env = TestEnv::new().await;
    env.clock.set(chrono::Utc::now());
    let config = &env.app.config;
    let vars = [
        ("TABLE_NAME", config.table_name.clone()),
        ("KMS_KEY_ID", config.kms_key_id.clone()),
        ("ISSUER", config.issuer.clone()),
        ("ISSUER_URL", config.issuer_url.clone().unwrap_or_default()),
        ("AUDIENCE", config.audience.clone()),
        ("COOKIE_SECURE", config.cookies.secure.to_string()),
        ("COOKIE_SAMESITE", config.cookies.same_site.to_string()),
        ("ALLOWED_ORIGINS", config.allowed_origins.join(",")),
        ("MAIL_FROM", config.mail.from.clone()),
        ("WEB_BASE_URL", config.mail.web_base_url.clone()),
        ("RP_ID", config.passkeys.rp_id.clone()),
        ("AAL2_ROUTES", String::new()),
        ("AWS_ENDPOINT_URL", aws.proxy.endpoint()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("SSL_CERT_FILE", system_ca_bundle()),
    ];
    (env, vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// This machine's CA bundle, as `infra/template.yaml` names AL2023's with
/// `SSL_CERT_FILE`: the TLS client then loads that file alone, not also every
/// file of the certificate directory.
fn system_ca_bundle() -> String {
    ["/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt"]
        .into_iter()
        .find(|path| Path::new(path).exists())
        .expect("a system CA bundle")
        .to_string()
}

/// One function under measurement: its bootstrap, deployment and log.
struct Subject<'a> {
    name: &'a str,
    bootstrap: PathBuf,
    env: TestEnv,
    vars: HashMap<String, String>,
    log: PathBuf,
}

impl Subject<'_> {
    async fn start(&self) -> Function {
        Function::start(&self.bootstrap, self.name, &self.vars, &self.log).await
    }

    /// A success request of `route` on fresh state (the fixtures' clock at real time first).
    async fn request(&self, route: &Route) -> String {
        self.env.clock.set(chrono::Utc::now());
        route.scenario.request(&self.env).await
    }
}

/// A route's request that did not answer its success status.
fn failed(route: &Route, invoked: &Invoked) -> Option<Value> {
    (invoked.status() != route.status).then(|| {
        json!({
            "bench": "error", "function": route.function, "route": route.route,
            "expected": route.status, "status": invoked.status(), "response": invoked.response,
        })
    })
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Median, min and max, in ms rounded to 0.1.
fn stats(mut xs: Vec<f64>) -> (f64, f64, f64) {
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    let median = if n % 2 == 1 { xs[n / 2] } else { (xs[n / 2 - 1] + xs[n / 2]) / 2.0 };
    (round(median), round(xs[0]), round(xs[n - 1]))
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// Medians of a function's cold runs, kept for the lines that compare them.
#[derive(Default, Clone)]
struct Cold {
    total_ms: f64,
    first_request_ms: f64,
    warm_request_ms: f64,
    calls: Vec<String>,
}

/// N fresh processes, each given a success request of the function's first
/// route (timed from process start to its answer), then a second one (warm).
async fn cold_starts(subject: &Subject<'_>, route: &Route, aws: &Aws, runs: usize) -> Result<Cold, Value> {
    let (mut totals, mut inits, mut firsts, mut warms) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut cold_calls = Vec::new();
    for run in 0..runs {
        let (first, second) = (subject.request(route).await, subject.request(route).await);
        aws.forget();
        let mut function = subject.start().await;
        let answered = function.invoke(&first).await;
        let (calls, mails) = aws.calls();
        if let Some(error) = failed(route, &answered) {
            return Err(error);
        }
        let warm = function.invoke(&second).await;
        if let Some(error) = failed(route, &warm) {
            return Err(error);
        }
        totals.push(ms(answered.at.duration_since(function.started)));
        inits.push(ms(function.init().unwrap_or_default()));
        firsts.push(ms(answered.took));
        warms.push(ms(warm.took));
        if run == 0 {
            cold_calls = calls;
            cold_calls.extend(std::iter::repeat_n("SESv2.SendEmail".to_string(), mails));
        }
        function.stop().await;
    }
    let ((median, min, max), (init, _, _)) = (stats(totals), stats(inits));
    let ((first, _, _), (warm, _, _)) = (stats(firsts), stats(warms));
    println!(
        "{}",
        json!({
            "bench": "cold_start", "function": subject.name, "route": route.route,
            "what": "process start to the first response of a success request: runtime init, AWS clients, keyring (Query, KMS Decrypt), the route's own calls",
            "median_ms": median, "min_ms": min, "max_ms": max, "runs": runs,
            "init_median_ms": init,
            "first_request_median_ms": first, "warm_request_median_ms": warm,
            "cold_calls": cold_calls,
        })
    );
    Ok(Cold { total_ms: median, first_request_ms: first, warm_request_ms: warm, calls: cold_calls })
}

/// One warm container: after a warm-up request, each route's success request
/// with its AWS calls counted; then the routes' requests replayed for the
/// peak memory.
async fn warm(subject: &Subject<'_>, routes: &[&Route], aws: &Aws, load: u64) -> Result<(), Value> {
    let mut function = subject.start().await;
    let warm_up = function.invoke(&subject.request(routes[0]).await).await;
    if let Some(error) = failed(routes[0], &warm_up) {
        return Err(error);
    }
    let mut replays = Vec::new();
    for route in routes {
        let request = subject.request(route).await;
        aws.forget();
        let answered = function.invoke(&request).await;
        let (which, mails) = aws.calls();
        if let Some(error) = failed(route, &answered) {
            return Err(error);
        }
        println!(
            "{}",
            json!({
                "bench": "aws_calls", "function": route.function, "route": route.route,
                "calls": which.len(), "which": which, "mail": mails,
                "budget": route.budget, "within_budget": route.budget.map(|budget| which.len() <= budget),
                "handler_ms": round(ms(answered.took)),
            })
        );
        replays.push(request);
    }
    let (started, mut statuses) = (Instant::now(), BTreeMap::<u16, u64>::new());
    for request in replays.iter().cycle().take(load as usize) {
        if started.elapsed() > LOAD_TIME_CAP {
            break;
        }
        *statuses.entry(function.invoke(request).await.status()).or_default() += 1;
    }
    aws.forget();
    println!(
        "{}",
        json!({
            "bench": "rss", "function": subject.name,
            "peak_rss_mib": round(function.peak_rss_kib() as f64 / 1024.0),
            "requests": function.count, "replay_statuses": statuses,
        })
    );
    function.stop().await;
    Ok(())
}

/// The Node tutorial's stack at a cold start doing what our `me` does before
/// its first answer (a Query of the keyring, a KMS Decrypt, one read), as a
/// fresh `node` process per run: from spawn to the line it prints.
async fn node_cold_starts(script: &Path, aws: &Aws, runs: usize) -> Option<Cold> {
    let (env, vars) = deployment(aws).await;
    let user = env.register(&testkit::unique_email("node")).await;
    let (mut answers, mut exits, mut node_calls) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..runs {
        aws.forget();
        let started = Instant::now();
        let mut child = tokio::process::Command::new("node")
            .arg(script)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .envs(
                vars.iter()
                    .filter(|(k, _)| k.starts_with("AWS_") || ["TABLE_NAME", "KMS_KEY_ID"].contains(&k.as_str())),
            )
            .env("USER_ID", &user.id)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let line = lines.next_line().await.ok().flatten().unwrap_or_default();
        let answered = started.elapsed();
        child.wait().await.expect("node exits");
        let exited = started.elapsed();
        let printed: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
        if printed["user"] != json!(user.id) {
            println!("{}", json!({ "bench": "error", "function": "node", "printed": line }));
            return None;
        }
        answers.push(ms(answered));
        exits.push(ms(exited));
        if run == 0 {
            node_calls = aws.calls().0;
        }
    }
    let ((median, min, max), (exit, _, _)) = (stats(answers), stats(exits));
    println!(
        "{}",
        json!({
            "bench": "node_cold_start", "script": script.display().to_string(),
            "what": "node process start to its printed answer: require speakeasy, jsonwebtoken, @aws-sdk/client-dynamodb and -kms, build both clients, Query the keyring, KMS Decrypt, GetItem the profile",
            "median_ms": median, "min_ms": min, "max_ms": max, "exit_median_ms": exit, "runs": runs,
            "calls": node_calls,
        })
    );
    Some(Cold { total_ms: median, calls: node_calls, ..Cold::default() })
}

#[tokio::main]
async fn main() {
    let args = args();
    std::fs::create_dir_all(&args.logs).unwrap();
    let moto = testkit::moto_endpoint().trim_start_matches("http://").to_string();
    let aws = Aws { proxy: FaultProxy::start(moto).await };
    let mut cold = HashMap::new();
    let mut errors = 0;
    for name in &args.functions {
        let routes = routes::of(name);
        assert!(!routes.is_empty(), "no route of {name} in bench::routes::ROUTES");
        let (env, vars) = deployment(&aws).await;
        let bootstrap = args.dir.join(name).join("bootstrap");
        let log = args.logs.join(format!("{name}.log"));
        let subject = Subject { name, bootstrap, env, vars, log };
        let measured = match cold_starts(&subject, routes[0], &aws, args.runs).await {
            Ok(measured) => warm(&subject, &routes, &aws, args.load).await.map(|()| measured),
            Err(error) => Err(error),
        };
        match measured {
            Ok(measured) => drop(cold.insert(name.as_str(), measured)),
            Err(error) => {
                println!("{error}");
                errors += 1;
            }
        }
    }

    // The same first-request work but the signing key's: passkey/options loads the
    // same keys (the keyring Query, both KMS Decrypts) and signs nothing.
    if let (Some(refresh), Some(reference)) = (cold.get("refresh"), cold.get("passkey-signin-options")) {
        let signing = refresh.first_request_ms - refresh.warm_request_ms;
        let without = reference.first_request_ms - reference.warm_request_ms;
        println!(
            "{}",
            json!({
                "bench": "first_signature", "function": "refresh", "reference": "passkey-signin-options",
                "what": "a signing function's first request minus a warm one (keyring Query, both KMS Decrypts; at its first signature the RSA key unsealed and parsed, and aws-lc's random generator seeded at its first use, for RSA blinding), beside the same on a function that loads the same keys and draws nothing from aws-lc",
                "first_request_median_ms": refresh.first_request_ms, "warm_request_median_ms": refresh.warm_request_ms,
                "first_minus_warm_ms": round(signing),
                "reference_first_minus_warm_ms": round(without),
                "signing_key_ms": round(signing - without),
            })
        );
    }

    if let Some(script) = &args.node
        && let Some(node) = node_cold_starts(script, &aws, args.runs).await
        && let Some(me) = cold.get("me")
    {
        println!(
            "{}",
            json!({
                "bench": "cold_start_like_for_like",
                "rust": { "function": "me", "median_ms": me.total_ms, "calls": me.calls },
                "node": { "script": "coldstart-aws.js", "median_ms": node.total_ms, "calls": node.calls },
                "rust_over_node": (me.total_ms / node.total_ms * 1000.0).round() / 1000.0,
                "goal": "rust_over_node <= 0.1",
            })
        );
    }
    if errors > 0 {
        eprintln!("{errors} function(s) failed: see the error lines");
        std::process::exit(1);
    }
}
