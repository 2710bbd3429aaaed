//! Counts the mails a function sends. SES v2 is a REST API (`POST
//! /v2/email/outbound-emails`), which the test kit's proxy (it counts the
//! JSON calls of DynamoDB and KMS, all `POST /`) does not see: the functions
//! reach SES through this forwarder instead (`AWS_ENDPOINT_URL_SESV2`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const SEND_EMAIL: &[u8] = b"POST /v2/email/outbound-emails ";

pub struct MailCounter {
    addr: SocketAddr,
    sent: Arc<AtomicUsize>,
}

impl MailCounter {
    /// Listens on a free loopback port and forwards to `upstream` (host:port).
    pub async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let addr = listener.local_addr().unwrap();
        let sent = Arc::new(AtomicUsize::new(0));
        let counted = sent.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(forward(client, upstream.clone(), counted.clone()));
            }
        });
        MailCounter { addr, sent }
    }

    /// The `SendEmail` calls since the last `take`.
    pub fn take(&self) -> usize {
        self.sent.swap(0, Ordering::SeqCst)
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}

async fn forward(client: TcpStream, upstream: String, sent: Arc<AtomicUsize>) {
    let Ok(server) = TcpStream::connect(&upstream).await else { return };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let requests = async {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = client_read.read(&mut buf).await.unwrap_or(0);
            if n == 0 {
                break;
            }
            // The SDK writes a request's head in one piece: its first line is never split.
            let calls = buf[..n].windows(SEND_EMAIL.len()).filter(|w| *w == SEND_EMAIL).count();
            sent.fetch_add(calls, Ordering::SeqCst);
            if server_write.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
    };
    let responses = tokio::io::copy(&mut server_read, &mut client_write);
    tokio::select! {
        _ = requests => {}
        _ = responses => {}
    }
}
