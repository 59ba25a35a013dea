//! A loopback HTTP proxy that injects network faults, one request per connection: refused
//! connections, delays, requests cut short on the way in, answers cut mid-stream or lost after
//! the relay acted, 500s in place of real answers, requests sent twice, and requests delivered
//! again late, after newer ones (reordering). Seeded, so a failing
//! run can be replayed. Requests are framed by Content-Length (the client sends no chunked
//! bodies); the relay is asked to close after each answer so it can be read to the end.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy did to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Fault {
    Pass,
    /// Closed before anything reached the relay.
    Refuse,
    Delay,
    /// Part of the request reached the relay, then the connection closed.
    TruncateRequest,
    /// The relay answered; the client got only part of the answer.
    CutResponse,
    /// The relay acted; the client got no answer at all.
    LoseResponse,
    /// The relay acted; the client got a 500 instead of its answer.
    Replace500,
    /// The request reached the relay twice.
    Duplicate,
    /// Answered as usual, and delivered to the relay once more later, after newer requests.
    Reorder,
}

const MIX: [(Fault, u64); 9] = [
    (Fault::Pass, 36),
    (Fault::Refuse, 8),
    (Fault::Delay, 8),
    (Fault::Reorder, 8),
    (Fault::TruncateRequest, 8),
    (Fault::CutResponse, 8),
    (Fault::LoseResponse, 8),
    (Fault::Replace500, 8),
    (Fault::Duplicate, 8),
];

#[derive(Debug)]
pub struct FaultProxy {
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    enabled: Arc<AtomicBool>,
    counts: Arc<Mutex<std::collections::HashMap<Fault, u64>>>,
}

/// Requests held back by [`Fault::Reorder`], delivered before the next request that passes.
type Stash = Arc<Mutex<Vec<(Vec<u8>, Vec<u8>)>>>;

struct Rng(AtomicU64);

impl Rng {
    fn below(&self, n: u64) -> u64 {
        let mut x = self.0.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (x ^ (x >> 31)) % n.max(1)
    }
}

impl FaultProxy {
    /// Listens on 127.0.0.1 in front of `upstream` (host:port); faults start disabled.
    pub fn start(upstream: &str, seed: u64) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let enabled = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Mutex::new(std::collections::HashMap::new()));
        let rng = Arc::new(Rng(AtomicU64::new(seed)));
        let stash: Stash = Arc::default();
        let (upstream, s, e, c) = (
            upstream.to_owned(),
            stop.clone(),
            enabled.clone(),
            counts.clone(),
        );
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if s.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(client) = client else { continue };
                let fault = if e.load(Ordering::Relaxed) {
                    let mut roll = rng.below(100);
                    MIX.iter()
                        .find(|(_, w)| {
                            if roll < *w {
                                true
                            } else {
                                roll -= w;
                                false
                            }
                        })
                        .map_or(Fault::Pass, |(f, _)| *f)
                } else {
                    Fault::Pass
                };
                *c.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(fault)
                    .or_default() += 1;
                let (upstream, rng, stash) = (upstream.clone(), rng.clone(), stash.clone());
                std::thread::spawn(move || {
                    let _ = handle(client, &upstream, fault, &rng, &stash);
                });
            }
        });
        Ok(FaultProxy {
            addr,
            stop,
            enabled,
            counts,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set_faults(&self, on: bool) {
        self.enabled.store(on, Ordering::Relaxed);
    }

    /// How many connections got each fault.
    pub fn counts(&self) -> std::collections::HashMap<Fault, u64> {
        self.counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
    }
}

/// Reads one request: its head (with `Connection: close` put in) and its body.
fn read_request(client: &mut TcpStream) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case("content-length"))
                .map(|(_, v)| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < len {
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let mut lines: Vec<&str> = head
        .trim_end()
        .split("\r\n")
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    lines.push("Connection: close");
    Ok((format!("{}\r\n\r\n", lines.join("\r\n")).into_bytes(), body))
}

/// Sends the request to the relay and reads its whole answer (it closes after it).
fn exchange(upstream: &str, head: &[u8], body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut server = TcpStream::connect(upstream)?;
    server.set_read_timeout(Some(Duration::from_secs(60)))?;
    server.write_all(head)?;
    server.write_all(body)?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer)?;
    Ok(answer)
}

fn handle(
    mut client: TcpStream,
    upstream: &str,
    fault: Fault,
    rng: &Rng,
    stash: &Stash,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(60)))?;
    if fault == Fault::Refuse {
        return client.shutdown(Shutdown::Both);
    }
    let (head, body) = read_request(&mut client)?;
    match fault {
        Fault::TruncateRequest => {
            let mut server = TcpStream::connect(upstream)?;
            let all = [head, body].concat();
            let keep = 1 + rng.below(all.len().max(2) as u64 - 1) as usize;
            server.write_all(&all[..keep])?;
            server.shutdown(Shutdown::Both)?;
            client.shutdown(Shutdown::Both)
        }
        Fault::Delay => {
            std::thread::sleep(Duration::from_millis(100 + rng.below(600)));
            let answer = exchange(upstream, &head, &body)?;
            client.write_all(&answer)?;
            client.shutdown(Shutdown::Both)
        }
        Fault::Duplicate => {
            let _ = exchange(upstream, &head, &body)?;
            let answer = exchange(upstream, &head, &body)?;
            client.write_all(&answer)?;
            client.shutdown(Shutdown::Both)
        }
        Fault::CutResponse => {
            let answer = exchange(upstream, &head, &body)?;
            let keep = rng.below(answer.len().max(1) as u64) as usize;
            client.write_all(&answer[..keep])?;
            client.shutdown(Shutdown::Both)
        }
        Fault::LoseResponse => {
            let _ = exchange(upstream, &head, &body)?;
            client.shutdown(Shutdown::Both)
        }
        Fault::Replace500 => {
            let _ = exchange(upstream, &head, &body)?;
            client.write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 14\r\nconnection: close\r\n\r\ninjected fault")?;
            client.shutdown(Shutdown::Both)
        }
        Fault::Reorder => {
            let answer = exchange(upstream, &head, &body)?;
            stash
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((head, body));
            client.write_all(&answer)?;
            client.shutdown(Shutdown::Both)
        }
        Fault::Pass | Fault::Refuse => {
            // Stale requests first: the relay sees them after newer ones.
            let late: Vec<_> =
                std::mem::take(&mut *stash.lock().unwrap_or_else(|p| p.into_inner()));
            for (h, b) in late {
                let _ = exchange(upstream, &h, &b);
            }
            let answer = exchange(upstream, &head, &body)?;
            client.write_all(&answer)?;
            client.shutdown(Shutdown::Both)
        }
    }
}
