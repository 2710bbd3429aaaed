//! A TCP proxy in front of moto that a test can cut or stall, or make answer
//! with a chosen AWS error, now or after a number of AWS calls, to show what a
//! request does when DynamoDB or KMS stops answering or refuses mid-flow.
//! It also counts the calls it forwards, and the mails sent through it.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt, copy};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward everything.
    None,
    /// Drop every connection, open ones included (like a stopped server).
    Refuse,
    /// Accept and hold connections without ever answering (like a black hole).
    Stall,
    /// Answer every call with this HTTP status and AWS error type (e.g. 400
    /// `ValidationException`), as the service would.
    Answer { status: u16, error_type: &'static str },
}

/// Every AWS call of the SDK (DynamoDB and KMS speak JSON over `POST /`)
/// starts with this request line.
const REQUEST_LINE: &[u8] = b"POST / HTTP/1.1\r\n";
/// SES v2 is a REST API: a mail is this request. Counted apart from the
/// calls above and never faulted by `fail_after`, so that the DynamoDB and KMS
/// call counts of the tests stay what they were.
const SEND_EMAIL_LINE: &[u8] = b"POST /v2/email/outbound-emails HTTP/1.1\r\n";

struct State {
    fault: Fault,
    /// Calls still let through before `fault` applies (`None`: no limit).
    calls_left: Option<usize>,
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    /// Every call seen, as its `X-Amz-Target` (e.g. `DynamoDB_20120810.GetItem`).
    calls: Arc<Mutex<Vec<String>>>,
    /// SES `SendEmail` requests seen.
    mails: Arc<AtomicUsize>,
    /// Bumped whenever the fault changes, so open connections re-decide.
    changed: Arc<watch::Sender<u64>>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream` (host:port).
    pub async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State { fault: Fault::None, calls_left: None }));
        let (changed, _) = watch::channel(0);
        let changed = Arc::new(changed);
        let calls = Arc::new(Mutex::new(Vec::new()));
        let mails = Arc::new(AtomicUsize::new(0));
        let proxy = FaultProxy {
            addr,
            state: state.clone(),
            changed: changed.clone(),
            calls: calls.clone(),
            mails: mails.clone(),
        };
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let seen = Seen { calls: calls.clone(), mails: mails.clone() };
                tokio::spawn(serve(client, upstream.clone(), state.clone(), seen, changed.subscribe()));
            }
        });
        proxy
    }

    /// Applies `fault` from now on, to open connections too.
    pub fn set(&self, fault: Fault) {
        *self.state.lock().unwrap() = State { fault, calls_left: None };
        self.changed.send_modify(|n| *n += 1);
    }

    /// Lets `calls` more AWS calls through, then applies `fault`.
    pub fn fail_after(&self, calls: usize, fault: Fault) {
        *self.state.lock().unwrap() = State { fault, calls_left: Some(calls) };
        self.changed.send_modify(|n| *n += 1);
    }

    /// Waits until `calls` more calls have reached the proxy (forwarded or
    /// held), taking them: a request held at a fault has arrived there.
    pub async fn wait_for_calls(&self, calls: usize) {
        let mut seen = 0;
        for _ in 0..500 {
            seen += self.take_calls().len();
            if seen >= calls {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("only {seen} of {calls} calls reached the proxy in 5 s");
    }

    /// The calls seen since the last `take_calls`.
    pub fn take_calls(&self) -> Vec<String> {
        std::mem::take(&mut *self.calls.lock().unwrap())
    }

    /// The mails sent through the proxy since the last `take_mails`.
    pub fn take_mails(&self) -> usize {
        self.mails.swap(0, Ordering::SeqCst)
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// What to do with the next call: forward it, or the fault.
fn next_call(state: &Mutex<State>) -> Fault {
    let mut state = state.lock().unwrap();
    match state.calls_left {
        None => state.fault,
        Some(0) => state.fault,
        Some(n) => {
            state.calls_left = Some(n - 1);
            Fault::None
        }
    }
}

fn current(state: &Mutex<State>) -> Fault {
    let state = state.lock().unwrap();
    if state.calls_left.is_some_and(|n| n > 0) { Fault::None } else { state.fault }
}

/// The `X-Amz-Target` header of the request starting at `start` in `bytes`.
fn target_of(bytes: &[u8], start: usize) -> String {
    let head = String::from_utf8_lossy(&bytes[start..]);
    head.split("\r\n")
        .take_while(|line| !line.is_empty())
        .find_map(|line| line.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("x-amz-target")))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// Where a connection records what it saw.
struct Seen {
    calls: Arc<Mutex<Vec<String>>>,
    mails: Arc<AtomicUsize>,
}

/// Where each occurrence of `line` in `window` starts, leaving out those that
/// lie wholly within its first `seen` bytes (counted in the previous read).
fn starts_of(window: &[u8], line: &[u8], seen: usize) -> Vec<usize> {
    window
        .windows(line.len())
        .enumerate()
        .filter(|(i, w)| *w == line && i + line.len() > seen)
        .map(|(i, _)| i)
        .collect()
}

async fn serve(
    client: TcpStream,
    upstream: String,
    state: Arc<Mutex<State>>,
    record: Seen,
    mut changed: watch::Receiver<u64>,
) {
    let Seen { calls, mails } = record;
    match current(&state) {
        Fault::Refuse => return,
        Fault::Stall => return hold(client, &calls).await,
        Fault::None | Fault::Answer { .. } => {}
    }
    let Ok(server) = TcpStream::connect(&upstream).await else { return };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let requests = async {
        let mut buf = vec![0u8; 64 * 1024];
        let mut tail: Vec<u8> = Vec::new();
        loop {
            let n = client_read.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                return (Fault::None, Vec::new());
            }
            let mut window = std::mem::take(&mut tail);
            let seen = window.len();
            window.extend_from_slice(&buf[..n]);
            mails.fetch_add(starts_of(&window, SEND_EMAIL_LINE, seen).len(), Ordering::SeqCst);
            for start in starts_of(&window, REQUEST_LINE, seen) {
                calls.lock().unwrap().push(target_of(&window, start));
                let decision = next_call(&state);
                if decision != Fault::None {
                    return (decision, window[start..].to_vec());
                }
            }
            if server_write.write_all(&buf[..n]).await.is_err() {
                return (Fault::None, Vec::new());
            }
            tail = window[window.len().saturating_sub(SEND_EMAIL_LINE.len() - 1)..].to_vec();
        }
    };
    let responses = copy(&mut server_read, &mut client_write);
    let (outcome, request) = tokio::select! {
        fault = requests => fault,
        _ = responses => (Fault::None, Vec::new()),
        // A change of fault cuts open connections; the client reconnects.
        _ = changed.changed() => (current(&state), Vec::new()),
    };
    match outcome {
        Fault::Stall => std::future::pending::<()>().await,
        Fault::Answer { status, error_type } => answer(client_read, client_write, request, status, error_type).await,
        Fault::None | Fault::Refuse => {}
    }
}

/// Reads the rest of the request that starts `request`, then answers it with
/// an AWS error (in both the JSON and the REST protocols' forms) and closes.
async fn answer(
    mut client_read: tokio::net::tcp::OwnedReadHalf,
    mut client_write: tokio::net::tcp::OwnedWriteHalf,
    mut request: Vec<u8>,
    status: u16,
    error_type: &str,
) {
    let mut buf = vec![0u8; 64 * 1024];
    while request_length(&request).is_none_or(|total| request.len() < total) {
        match client_read.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let body = format!(r#"{{"__type":"{error_type}","message":"injected by the test's fault proxy"}}"#);
    let response = format!(
        "HTTP/1.1 {status} Injected\r\ncontent-type: application/x-amz-json-1.0\r\nx-amzn-requestid: fault-proxy\r\n\
         x-amzn-errortype: {error_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = client_write.write_all(response.as_bytes()).await;
    let _ = client_write.shutdown().await;
}

/// The length of a request (head and `Content-Length` body), once its head is complete.
fn request_length(request: &[u8]) -> Option<usize> {
    let head_end = request.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&request[..head_end]);
    let body = head
        .split("\r\n")
        .find_map(|line| line.split_once(':').filter(|(k, _)| k.eq_ignore_ascii_case("content-length")))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    Some(head_end + body)
}

/// Holds a new connection without answering; its first call is still
/// recorded as seen (so a test knows the request arrived).
async fn hold(mut client: TcpStream, calls: &Mutex<Vec<String>>) {
    let mut buf = vec![0u8; 64 * 1024];
    if let Ok(n) = client.read(&mut buf).await
        && let Some(start) = buf[..n].windows(REQUEST_LINE.len()).position(|w| w == REQUEST_LINE)
    {
        calls.lock().unwrap().push(target_of(&buf[..n], start));
    }
    std::future::pending::<()>().await;
}
