//! A loopback TCP proxy that behaves like a slow mobile link: each direction is one serial link
//! of `bits_per_s` (shared by all connections, as one radio is), and every byte arrives half an
//! RTT after it finished crossing. Used by the sync benchmark; std threads only.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug)]
pub struct Link {
    pub bits_per_s: u64,
    pub rtt_ms: u64,
}

/// When each direction's link is next free.
#[derive(Debug)]
struct Wire {
    link: Link,
    free_at: Mutex<Instant>,
}

impl Wire {
    /// Schedules `n` bytes that are ready at `now`; returns when they reach the far end.
    fn schedule(&self, n: usize, now: Instant) -> Instant {
        let mut free = self.free_at.lock().unwrap_or_else(|e| e.into_inner());
        let start = (*free).max(now);
        let done = start + Duration::from_secs_f64(n as f64 * 8.0 / self.link.bits_per_s as f64);
        *free = done;
        done + Duration::from_millis(self.link.rtt_ms / 2)
    }
}

#[derive(Debug)]
pub struct Proxy {
    addr: std::net::SocketAddr,
    carried: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    /// Listens on 127.0.0.1 and forwards every connection to `upstream` (host:port).
    pub fn start(upstream: &str, link: Link) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let carried = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let up = Arc::new(Wire {
            link,
            free_at: Mutex::new(Instant::now()),
        });
        let down = Arc::new(Wire {
            link,
            free_at: Mutex::new(Instant::now()),
        });
        let (upstream, c, s) = (upstream.to_owned(), carried.clone(), stop.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if s.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                if let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) {
                    pump(client, s2, up.clone(), c.clone());
                    pump(server, c2, down.clone(), c.clone());
                }
            }
        });
        Ok(Proxy {
            addr,
            carried,
            stop,
        })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Bytes carried in both directions since the last reset.
    pub fn bytes_carried(&self) -> u64 {
        self.carried.load(Ordering::Relaxed)
    }

    pub fn reset_count(&self) {
        self.carried.store(0, Ordering::Relaxed);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect(self.addr);
    }
}

/// Copies `from` → `to` through `wire`: the reader schedules each chunk on the link as it
/// arrives, the writer delivers it at its arrival time.
fn pump(mut from: TcpStream, mut to: TcpStream, wire: Arc<Wire>, carried: Arc<AtomicU64>) {
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    carried.fetch_add(n as u64, Ordering::Relaxed);
                    let at = wire.schedule(n, Instant::now());
                    if tx.send((at, buf[..n].to_vec())).is_err() {
                        break;
                    }
                }
            }
        }
    });
    std::thread::spawn(move || {
        for (at, bytes) in rx {
            if let Some(wait) = at.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            if to.write_all(&bytes).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
