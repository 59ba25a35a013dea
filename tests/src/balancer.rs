//! A round-robin TCP balancer in front of several relays, as nginx would be in a district
//! deployment without sticky sessions: each new connection goes to the next relay.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

#[derive(Debug)]
pub struct Balancer {
    addr: std::net::SocketAddr,
    served: Arc<Vec<AtomicU64>>,
}

fn pump(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 64 * 1024];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

impl Balancer {
    /// `upstreams`: host:port of each relay.
    pub fn start(upstreams: Vec<String>) -> std::io::Result<Balancer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let served: Arc<Vec<AtomicU64>> =
            Arc::new(upstreams.iter().map(|_| AtomicU64::new(0)).collect());
        let counts = served.clone();
        let next = AtomicUsize::new(0);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let n = next.fetch_add(1, Ordering::Relaxed) % upstreams.len();
                let Ok(server) = TcpStream::connect(&upstreams[n]) else {
                    continue;
                };
                counts[n].fetch_add(1, Ordering::Relaxed);
                if let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) {
                    pump(client, s2);
                    pump(server, c2);
                }
            }
        });
        Ok(Balancer { addr, served })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Connections handed to each relay so far.
    pub fn served(&self) -> Vec<u64> {
        self.served
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .collect()
    }
}
