//! A TCP proxy in front of moto that a test can cut or stall, to show what a
//! request does when DynamoDB or KMS stops answering mid-flow.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::copy_bidirectional;
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
}

pub struct FaultProxy {
    pub addr: SocketAddr,
    mode: Arc<watch::Sender<Fault>>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream` (host:port).
    pub async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let addr = listener.local_addr().unwrap();
        let (mode, _) = watch::channel(Fault::None);
        let mode = Arc::new(mode);
        let accepting = mode.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let mut changes = accepting.subscribe();
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let fault = *changes.borrow_and_update();
                    match fault {
                        Fault::Refuse => drop(client),
                        Fault::Stall => {
                            let _held = client;
                            std::future::pending::<()>().await;
                        }
                        Fault::None => {
                            let Ok(mut server) = TcpStream::connect(&upstream).await else { return };
                            let mut client = client;
                            tokio::select! {
                                _ = copy_bidirectional(&mut client, &mut server) => {}
                                // Any change of mode cuts open connections.
                                _ = changes.changed() => {}
                            }
                        }
                    }
                });
            }
        });
        FaultProxy { addr, mode }
    }

    pub fn set(&self, fault: Fault) {
        self.mode.send_replace(fault);
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }
}
