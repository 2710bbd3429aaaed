//! The Lambda-level half of `make bench`. Runs the release `bootstrap` of each
//! function as Lambda does, behind a small stand-in of the Lambda runtime API,
//! against moto (through a proxy that counts every AWS call), and prints one
//! JSON line per measurement:
//!
//! - `cold_start`: process start to the first response, AWS clients and the
//!   keyring unwrap included (median of N runs);
//! - `aws_calls`: the DynamoDB and KMS calls of one success request per route
//!   on a warm container;
//! - `rss`: each function's peak resident memory after 1000 warm requests.
//!
//! Usage: lambda-bench <dir with one <function>/bootstrap per function> [cold-start runs]
//! (AWS_ENDPOINT_URL points at moto; `scripts/bench.sh` sets everything up.)

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use shared::domain::SecondFactor;
use testkit::proxy::FaultProxy;
use testkit::{PASSWORD, TestEnv, event};
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, mpsc};

/// One invocation handed to the function, and what it answered.
type Invocation = (String, String);
type Answer = Result<String, String>;

/// The part of the Lambda runtime API a function's runtime client uses.
struct RuntimeApi {
    next: Mutex<mpsc::Receiver<Invocation>>,
    answers: mpsc::Sender<Answer>,
    /// When the function first asked for work: its init is over.
    first_poll: std::sync::Mutex<Option<Instant>>,
}

async fn runtime_api(api: Arc<RuntimeApi>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    if path.ends_with("/invocation/next") {
        api.first_poll.lock().unwrap().get_or_insert_with(Instant::now);
        let Some((id, body)) = api.next.lock().await.recv().await else {
            return Ok(Response::builder().status(410).body(Full::default()).unwrap());
        };
        let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
        let response = Response::builder()
            .header("lambda-runtime-aws-request-id", id)
            .header("lambda-runtime-deadline-ms", deadline.to_string())
            .header("lambda-runtime-invoked-function-arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
            .header("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0")
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        return Ok(response);
    }
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let text = String::from_utf8_lossy(&body).to_string();
    let answer = if path.ends_with("/response") { Ok(text) } else { Err(format!("{path}: {text}")) };
    let _ = api.answers.send(answer).await;
    Ok(Response::builder().status(202).body(Full::default()).unwrap())
}

/// A function process, fed one invocation at a time.
struct Function {
    child: Child,
    api: Arc<RuntimeApi>,
    started: Instant,
    invocations: mpsc::Sender<Invocation>,
    answers: mpsc::Receiver<Answer>,
    count: u64,
}

impl Function {
    async fn start(bootstrap: &Path, name: &str, env: &HashMap<String, String>) -> Function {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (invocations, next) = mpsc::channel(1);
        let (answered, answers) = mpsc::channel(1);
        let api = Arc::new(RuntimeApi { next: Mutex::new(next), answers: answered, first_poll: Default::default() });
        let served = api.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let api = served.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| runtime_api(api.clone(), req));
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        let started = Instant::now();
        let child = Command::new(bootstrap)
            .env_clear()
            .envs(env)
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_LEVEL", "WARN")
            .stdout(function_log(bootstrap))
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bootstrap.display()));
        Function { child, api, started, invocations, answers, count: 0 }
    }

    async fn invoke(&mut self, event: &str) -> Value {
        self.count += 1;
        self.invocations.send((format!("bench-{}", self.count), event.to_string())).await.unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(30), self.answers.recv())
            .await
            .expect("the function answers within 30 s")
            .expect("the runtime API is up");
        serde_json::from_str(&answer.expect("the invocation succeeds")).expect("an API Gateway response")
    }

    /// From process start to the function's first request for work.
    fn init_ms(&self) -> Option<f64> {
        let polled = (*self.api.first_poll.lock().unwrap())?;
        Some(polled.duration_since(self.started).as_secs_f64() * 1000.0)
    }

    /// Peak resident memory (VmHWM) in KiB.
    fn peak_rss_kib(&self) -> u64 {
        let pid = self.child.id().expect("running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }
}

fn status(response: &Value) -> u64 {
    response["statusCode"].as_u64().unwrap_or(0)
}

/// One route's requests: a warm-up, the success request whose AWS calls are
/// counted, and the request repeated to load the container.
struct Scenario {
    route: &'static str,
    function: &'static str,
    warmup: String,
    counted: String,
    counted_status: u64,
    budget: Option<usize>,
    load: String,
}

fn access_event(name: &str, token: &str) -> String {
    event(name).cookie("access_token", token).to_json()
}

fn code_event(name: &str, token: &str, body: Value) -> String {
    event(name).cookie("access_token", token).json(body).to_json()
}

async fn scenarios(env: &TestEnv) -> Vec<Scenario> {
    let now = || env.unix_now();
    let plain = |n: &str| format!("plain-{n}@bench.example");
    let mut list = Vec::new();

    let credentials = |email: &str| event("login").json(json!({ "email": email, "password": PASSWORD })).to_json();
    let register = |email: &str| event("register").json(json!({ "email": email, "password": PASSWORD })).to_json();
    list.push(Scenario {
        route: "POST /auth/register",
        function: "register",
        warmup: register(&plain("r1")),
        counted: register(&plain("r2")),
        counted_status: 201,
        budget: None,
        load: register(&plain("r1")),
    });

    let p1 = env.register(&plain("p1")).await;
    let enrolled_login = env.enroll(&env.register(&plain("e1")).await).await;
    list.push(Scenario {
        route: "POST /auth/login (2FA off)",
        function: "login",
        warmup: credentials(p1.email.as_str()),
        counted: credentials(p1.email.as_str()),
        counted_status: 200,
        budget: Some(2),
        load: credentials(p1.email.as_str()),
    });
    list.push(Scenario {
        route: "POST /auth/login (2FA on)",
        function: "login",
        warmup: credentials(p1.email.as_str()),
        counted: credentials(enrolled_login.user.email.as_str()),
        counted_status: 200,
        budget: Some(1),
        load: credentials(p1.email.as_str()),
    });

    let (e2, e3) =
        (env.enroll(&env.register(&plain("e2")).await).await, env.enroll(&env.register(&plain("e3")).await).await);
    let verify = |token: &str, code: String| {
        event("twofa-verify-login").cookie("twofa_token", token).json(json!({ "code": code })).to_json()
    };
    let e2_token = env.pre2fa(&e2.user).await;
    list.push(Scenario {
        route: "POST /auth/2fa/verify-login",
        function: "twofa-verify-login",
        warmup: verify(&e2_token, shared::factors::totp::code_at(&e2.secret, now())),
        counted: verify(&env.pre2fa(&e3.user).await, shared::factors::totp::code_at(&e3.secret, now())),
        counted_status: 200,
        budget: Some(2),
        load: verify(&e2_token, "000000".into()),
    });

    let (s1, s2) = (env.sign_in(&p1, None).await, env.sign_in(&p1, None).await);
    let refresh = |token: &str| event("refresh").cookie("refresh_token", token).to_json();
    list.push(Scenario {
        route: "POST /auth/refresh",
        function: "refresh",
        warmup: refresh(&s1.refresh_token),
        counted: refresh(&s2.refresh_token),
        counted_status: 200,
        budget: Some(2),
        load: refresh(&s1.refresh_token),
    });

    let s3 = env.sign_in(&p1, None).await;
    for (route, function, budget) in [
        ("GET /auth/me", "me", Some(1)),
        ("GET /auth/2fa/status", "twofa-status", Some(1)),
        ("GET /auth/audit", "audit", None),
    ] {
        list.push(Scenario {
            route,
            function,
            warmup: access_event(function, &s3.access_token),
            counted: access_event(function, &s3.access_token),
            counted_status: 200,
            budget,
            load: access_event(function, &s3.access_token),
        });
    }

    let (s4, s5) = (env.sign_in(&p1, None).await, env.sign_in(&p1, None).await);
    let logout =
        |s: &shared::flows::session::NewSession| event("logout").cookie("refresh_token", &s.refresh_token).to_json();
    list.push(Scenario {
        route: "POST /auth/logout",
        function: "logout",
        warmup: logout(&s4),
        counted: logout(&s5),
        counted_status: 204,
        budget: None,
        load: logout(&s4),
    });

    let (l1, l2) = (env.register(&plain("l1")).await, env.register(&plain("l2")).await);
    let (l1s, l2s) = (env.sign_in(&l1, None).await, env.sign_in(&l2, None).await);
    list.push(Scenario {
        route: "POST /auth/logout-all",
        function: "logout-all",
        warmup: access_event("logout-all", &l1s.access_token),
        counted: access_event("logout-all", &l2s.access_token),
        counted_status: 204,
        budget: None,
        load: access_event("logout-all", &l1s.access_token),
    });

    let c1 = env.register(&plain("c1")).await;
    let c1s = env.sign_in(&c1, None).await;
    list.push(Scenario {
        route: "POST /auth/2fa/setup",
        function: "twofa-setup",
        warmup: access_event("twofa-setup", &c1s.access_token),
        counted: access_event("twofa-setup", &c1s.access_token),
        counted_status: 200,
        budget: None,
        load: access_event("twofa-setup", &c1s.access_token),
    });

    let (d1, d2) = (env.register(&plain("d1")).await, env.register(&plain("d2")).await);
    let (d1s, d2s) = (env.sign_in(&d1, None).await, env.sign_in(&d2, None).await);
    let (d1k, d2k) = (env.start_setup(&d1).await, env.start_setup(&d2).await);
    list.push(Scenario {
        route: "POST /auth/2fa/enable",
        function: "twofa-enable",
        warmup: code_event(
            "twofa-enable",
            &d1s.access_token,
            json!({ "code": shared::factors::totp::code_at(&d1k, now()) }),
        ),
        counted: code_event(
            "twofa-enable",
            &d2s.access_token,
            json!({ "code": shared::factors::totp::code_at(&d2k, now()) }),
        ),
        counted_status: 200,
        budget: None,
        load: code_event("twofa-enable", &d1s.access_token, json!({ "code": "000000" })),
    });

    let (e4, e5) =
        (env.enroll(&env.register(&plain("e4")).await).await, env.enroll(&env.register(&plain("e5")).await).await);
    let (e4s, e5s) =
        (env.sign_in(&e4.user, Some(SecondFactor::Totp)).await, env.sign_in(&e5.user, Some(SecondFactor::Totp)).await);
    list.push(Scenario {
        route: "POST /auth/2fa/disable",
        function: "twofa-disable",
        warmup: code_event("twofa-disable", &e4s.access_token, json!({ "backupCode": e4.backup_codes[0] })),
        counted: code_event("twofa-disable", &e5s.access_token, json!({ "backupCode": e5.backup_codes[0] })),
        counted_status: 200,
        budget: None,
        load: code_event("twofa-disable", &e4s.access_token, json!({ "backupCode": e4.backup_codes[1] })),
    });

    let (e6, e7) =
        (env.enroll(&env.register(&plain("e6")).await).await, env.enroll(&env.register(&plain("e7")).await).await);
    let (e6s, e7s) =
        (env.sign_in(&e6.user, Some(SecondFactor::Totp)).await, env.sign_in(&e7.user, Some(SecondFactor::Totp)).await);
    list.push(Scenario {
        route: "POST /auth/2fa/backup-codes",
        function: "twofa-backup-codes",
        warmup: code_event(
            "twofa-backup-codes",
            &e6s.access_token,
            json!({ "code": shared::factors::totp::code_at(&e6.secret, now()) }),
        ),
        counted: code_event(
            "twofa-backup-codes",
            &e7s.access_token,
            json!({ "code": shared::factors::totp::code_at(&e7.secret, now()) }),
        ),
        counted_status: 200,
        budget: None,
        load: code_event("twofa-backup-codes", &e6s.access_token, json!({ "code": "000000" })),
    });
    list
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    if n % 2 == 1 { xs[n / 2] } else { (xs[n / 2 - 1] + xs[n / 2]) / 2.0 }
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// A fresh table and key in moto, the clock at real time, the data key made,
/// and the environment a function of that deployment runs with.
async fn deployment(proxy: &FaultProxy) -> (TestEnv, HashMap<String, String>) {
    let env = TestEnv::new().await;
    env.clock.set(chrono::Utc::now());
    env.keys().await; // the data key exists before any function starts
    let vars = [
        ("TABLE_NAME", env.app.config.table_name.clone()),
        ("KMS_KEY_ID", env.app.config.kms_key_id.clone()),
        ("ISSUER", env.app.config.issuer.clone()),
        ("COOKIE_SECURE", "false".into()),
        ("AWS_ENDPOINT_URL", proxy.endpoint()),
        ("AWS_REGION", "us-east-1".into()),
        ("AWS_ACCESS_KEY_ID", "testing".into()),
        ("AWS_SECRET_ACCESS_KEY", "testing".into()),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
        ("SSL_CERT_FILE", system_ca_bundle()),
    ];
    (env, vars.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

/// The function's own log (warnings and errors), next to its bootstrap.
fn function_log(bootstrap: &Path) -> Stdio {
    let path = bootstrap.with_file_name("function.log");
    let file = std::fs::OpenOptions::new().create(true).append(true).open(&path);
    file.unwrap_or_else(|e| panic!("open {}: {e}", path.display())).into()
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

fn min_max(runs: &[f64]) -> (f64, f64) {
    (runs.iter().cloned().fold(f64::MAX, f64::min), runs.iter().cloned().fold(0.0, f64::max))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(args.first().expect("usage: lambda-bench <bootstrap dir> [cold-start runs]"));
    let cold_runs: usize = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(15);
    let bootstrap = |function: &str| dir.join(function).join("bootstrap");
    let proxy = FaultProxy::start(testkit::moto_endpoint().trim_start_matches("http://").to_string()).await;

    // Cold start: a fresh process per run; each unwraps the keyring through KMS.
    let (env, function_env) = deployment(&proxy).await;
    let user = env.register("cold@bench.example").await;
    let session = env.sign_in(&user, None).await;
    let me = access_event("me", &session.access_token);
    let (mut totals, mut inits) = (Vec::new(), Vec::new());
    for _ in 0..cold_runs {
        let started = Instant::now();
        let mut function = Function::start(&bootstrap("me"), "me", &function_env).await;
        let response = function.invoke(&me).await;
        totals.push(started.elapsed().as_secs_f64() * 1000.0);
        inits.push(function.init_ms().unwrap_or_default());
        assert_eq!(status(&response), 200, "{response}");
    }
    let ((min, max), (init_min, init_max)) = (min_max(&totals), min_max(&inits));
    println!(
        "{}",
        json!({
            "bench": "cold_start",
            "function": "me",
            "what": "process start to first response: runtime init, AWS clients, keyring unwrap (DynamoDB Query + KMS Decrypt), one authenticated request (GetItem)",
            "median_ms": round(median(totals.clone())),
            "min_ms": round(min),
            "max_ms": round(max),
            "init_to_first_poll_median_ms": round(median(inits.clone())),
            "init_min_ms": round(init_min),
            "init_max_ms": round(init_max),
            "runs": totals.len(),
        })
    );

    // One warm container per function, each in its own fresh deployment so
    // tables stay small: warm-up, the counted request, then the load.
    let names: Vec<&str> = {
        let mut names = Vec::new();
        for scenario in scenarios(&env).await {
            if !names.contains(&scenario.function) {
                names.push(scenario.function);
            }
        }
        names
    };
    for name in names {
        let (env, function_env) = deployment(&proxy).await;
        let scenarios: Vec<Scenario> = scenarios(&env).await.into_iter().filter(|s| s.function == name).collect();
        let mut function = Function::start(&bootstrap(name), name, &function_env).await;
        for scenario in &scenarios {
            function.invoke(&scenario.warmup).await;
            proxy.take_calls();
            let response = function.invoke(&scenario.counted).await;
            let calls = proxy.take_calls();
            assert_eq!(status(&response), scenario.counted_status, "{}: {response}", scenario.route);
            let calls: Vec<String> = calls
                .iter()
                .map(|c| c.replace("DynamoDB_20120810.", "DynamoDB.").replace("TrentService.", "KMS."))
                .collect();
            println!(
                "{}",
                json!({
                    "bench": "aws_calls",
                    "route": scenario.route,
                    "calls": calls.len(),
                    "which": calls,
                    "budget": scenario.budget,
                })
            );
        }
        let load = &scenarios[0].load;
        let mut statuses: HashMap<u64, u32> = HashMap::new();
        for _ in 0..1000 {
            let response = function.invoke(load).await;
            *statuses.entry(status(&response)).or_default() += 1;
        }
        proxy.take_calls();
        println!(
            "{}",
            json!({
                "bench": "rss",
                "function": name,
                "peak_rss_mib": round(function.peak_rss_kib() as f64 / 1024.0),
                "requests": function.count,
                "load_statuses": statuses,
            })
        );
    }
}
