//! A release `bootstrap` run as Lambda runs it: a process started with the
//! function's environment, fed one invocation at a time through a small
//! stand-in of the Lambda runtime API on loopback.

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::Path;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::process::{Child, Command};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;

/// One invocation handed to the function: its request id and event.
type Invocation = (String, String);

/// What the function posted back (its response, or its error report), and
/// how long after it took the event.
type Answer = (Result<String, String>, Duration);

/// The part of the Lambda runtime API a function's runtime client uses.
struct RuntimeApi {
    next: Mutex<mpsc::Receiver<Invocation>>,
    answers: mpsc::Sender<Answer>,
    /// When the function first asked for work: its init is over.
    first_poll: std::sync::Mutex<Option<Instant>>,
    /// When the function took the invocation it is working on.
    taken: std::sync::Mutex<Option<Instant>>,
}

async fn runtime_api(api: Arc<RuntimeApi>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    if path.ends_with("/invocation/next") {
        api.first_poll.lock().unwrap().get_or_insert_with(Instant::now);
        let Some((id, body)) = api.next.lock().await.recv().await else {
            return Ok(Response::builder().status(410).body(Full::default()).unwrap());
        };
        *api.taken.lock().unwrap() = Some(Instant::now());
        let deadline = chrono::Utc::now().timestamp_millis() + 10_000; // the template's Timeout
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
    let took = api.taken.lock().unwrap().take().map(|taken| taken.elapsed()).unwrap_or_default();
    let text = String::from_utf8_lossy(&body).to_string();
    let answer = if path.ends_with("/response") { Ok(text) } else { Err(format!("{path}: {text}")) };
    let _ = api.answers.send((answer, took)).await;
    Ok(Response::builder().status(202).body(Full::default()).unwrap())
}

/// A function process, fed one invocation at a time.
pub struct Function {
    child: Child,
    api: Arc<RuntimeApi>,
    server: JoinHandle<()>,
    /// When the process was started.
    pub started: Instant,
    invocations: mpsc::Sender<Invocation>,
    answers: mpsc::Receiver<Answer>,
    /// Invocations so far.
    pub count: u64,
}

/// One invocation's answer.
pub struct Invoked {
    /// The API Gateway response (or the authorizer's decision).
    pub response: Value,
    /// From the function taking the event to its response: the handler's time.
    pub took: Duration,
    /// When the response arrived.
    pub at: Instant,
}

impl Invoked {
    /// The HTTP status; an authorizer's decision counts as 200 (allowed) or 403.
    pub fn status(&self) -> u16 {
        match (self.response["statusCode"].as_u64(), self.response["isAuthorized"].as_bool()) {
            (Some(status), _) => status as u16,
            (None, Some(true)) => 200,
            (None, Some(false)) => 403,
            (None, None) => 0,
        }
    }
}

impl Function {
    /// Starts `bootstrap` with only `env` (and what Lambda adds) in its
    /// environment; its stdout and stderr (the function's log) go to `log`.
    pub async fn start(bootstrap: &Path, name: &str, env: &HashMap<String, String>, log: &Path) -> Function {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (invocations, next) = mpsc::channel(1);
        let (answered, answers) = mpsc::channel(1);
        let api = Arc::new(RuntimeApi {
            next: Mutex::new(next),
            answers: answered,
            first_poll: Default::default(),
            taken: Default::default(),
        });
        let served = api.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let api = served.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| runtime_api(api.clone(), req));
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        let output = || -> Stdio {
            let file = std::fs::OpenOptions::new().create(true).append(true).open(log);
            file.unwrap_or_else(|e| panic!("open {}: {e}", log.display())).into()
        };
        let started = Instant::now();
        let child = Command::new(bootstrap)
            .env_clear()
            .envs(env)
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            // The template's LoggingConfig: JSON, application logs at INFO.
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_LOG_LEVEL", "INFO")
            .stdout(output())
            .stderr(output())
            .kill_on_drop(true)
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", bootstrap.display()));
        Function { child, api, server, started, invocations, answers, count: 0 }
    }

    /// Hands the function one event and waits for its answer (30 s at most).
    pub async fn invoke(&mut self, event: &str) -> Invoked {
        self.count += 1;
        self.invocations.send((format!("bench-{}", self.count), event.to_string())).await.unwrap();
        let (answer, took) = tokio::time::timeout(Duration::from_secs(30), self.answers.recv())
            .await
            .expect("the function answers within 30 s")
            .expect("the runtime API is up");
        let at = Instant::now();
        let text = answer.unwrap_or_else(|error| panic!("the invocation failed: {error}"));
        Invoked { response: serde_json::from_str(&text).expect("a JSON response"), took, at }
    }

    /// From process start to the function's first request for work (its init).
    pub fn init(&self) -> Option<Duration> {
        let polled = (*self.api.first_poll.lock().unwrap())?;
        Some(polled.duration_since(self.started))
    }

    /// Peak resident memory (`VmHWM`), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let pid = self.child.id().expect("running");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// Ends the process (as Lambda ends an idle container).
    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        self.server.abort();
    }
}
