//! Shared fixtures for GridSafe's cross-crate scenario tests and benchmarks.

pub mod fixtures {
    use gridsafe_core::directory::Directory;
    use gridsafe_core::profile::VenueProfile;

    /// The demo directory of 吕巷镇 (examples/lvxiang-directory.json).
    pub const DIRECTORY_JSON: &[u8] = include_bytes!("../../examples/lvxiang-directory.json");
    /// Small real JPEG photographs.
    pub const PHOTO_BEFORE: &[u8] = include_bytes!("../../examples/photos/corridor-before.jpg");
    pub const PHOTO_AFTER: &[u8] = include_bytes!("../../examples/photos/corridor-after.jpg");
    pub const PHOTO_MEASURE: &[u8] = include_bytes!("../../examples/photos/hose-measure.jpg");

    /// The example answers files (examples/answers/).
    pub const GAS_ANSWERS: &str = include_str!("../../examples/answers/gas-restaurant.json");
    pub const EBIKE_ANSWERS: &str = include_str!("../../examples/answers/ebike-shop.json");

    /// An example answers file with some answers replaced.
    pub fn answers(
        json: &str,
        overrides: &[(&str, serde_json::Value)],
    ) -> Vec<(String, serde_json::Value)> {
        let mut a =
            gridsafe_core::eval::answers_from_json(json.as_bytes()).expect("example answers file");
        for (k, v) in overrides {
            a.retain(|(item, _)| item != k);
            a.push(((*k).to_owned(), v.clone()));
        }
        a
    }

    pub fn directory() -> Directory {
        Directory::from_json(DIRECTORY_JSON).expect("demo directory is valid")
    }

    /// A grid worker's visit: a venue, an e-bike inspection finding a flying lead and its before
    /// photo (three records, one photo). Returns the hazard's id.
    pub fn flying_lead_visit(
        s: &mut gridsafe_core::Store,
        user: &str,
        grid: &str,
        n: usize,
    ) -> String {
        use gridsafe_core::store::{NewPhoto, NewVenue};
        let v = s
            .add_venue(
                user,
                NewVenue {
                    name: format!("{user}-店{n}"),
                    grid_id: grid.into(),
                    profile: restaurant_profile(),
                    ..Default::default()
                },
            )
            .expect("venue");
        let i = s
            .start_inspection(user, &v.id, "lx.ebike", None)
            .expect("inspection");
        s.answer(user, &i.id, &answers(EBIKE_ANSWERS, &[]))
            .expect("answers");
        let photo = NewPhoto {
            bytes: PHOTO_BEFORE.to_vec(),
            item_id: Some("ebike.flying_lead".into()),
            role: "before".into(),
            ..Default::default()
        };
        s.attach_photo(user, &i.id, photo).expect("photo");
        s.finish_inspection(user, &i.id)
            .expect("finish")
            .hazards
            .remove(0)
            .id
    }

    /// A two-storey LPG restaurant with a basement and two people sleeping upstairs.
    pub fn restaurant_profile() -> VenueProfile {
        VenueProfile {
            venue_type: vec!["small_restaurant".into()],
            floors_above_ground: 2,
            max_floor_area_m2: 90.0,
            building_height_m: 7.0,
            has_basement: true,
            residents_count: 2,
            is_crowded_place: true,
            gas_supply: "lpg".into(),
            ..Default::default()
        }
    }
}

/// A loopback TCP proxy that behaves like a slow mobile link: each direction is one serial link
/// of `bits_per_s` (shared by all connections, as one radio is), and every byte arrives half an
/// RTT after it finished crossing. Used by the sync benchmark; std threads only.
pub mod throttle {
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
            let done =
                start + Duration::from_secs_f64(n as f64 * 8.0 / self.link.bits_per_s as f64);
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
}

/// A loopback HTTP proxy that injects network faults, one request per connection: refused
/// connections, delays, requests cut short on the way in, answers cut mid-stream or lost after
/// the relay acted, 500s in place of real answers, requests sent twice, and requests delivered
/// again late, after newer ones (reordering). Seeded, so a failing
/// run can be replayed. Requests are framed by Content-Length (the client sends no chunked
/// bodies); the relay is asked to close after each answer so it can be read to the end.
pub mod faults {
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
}

/// The office dashboard as a browser sees it (relay scenarios, several relays).
pub mod browser {
    #[derive(Debug)]
    /// A browser-like HTTP client: keeps the session cookie, does not follow redirects.
    pub struct Browser {
        pub agent: ureq::Agent,
        pub base: String,
        /// The cookies the relay set, name → value (session, sign-in form token, language).
        pub jar: std::collections::BTreeMap<String, String>,
    }

    impl Browser {
        pub fn new(base: &str) -> Browser {
            let agent = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .build()
                .into();
            Browser {
                agent,
                base: base.to_owned(),
                jar: Default::default(),
            }
        }

        pub fn cookie(&self) -> Option<String> {
            (!self.jar.is_empty()).then(|| {
                self.jar
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join("; ")
            })
        }

        pub fn keep(&mut self, headers: &ureq::http::HeaderMap) {
            for c in headers
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
            {
                if let Some((k, v)) = c.split(';').next().and_then(|kv| kv.split_once('=')) {
                    if v.is_empty() {
                        self.jar.remove(k);
                    } else {
                        self.jar.insert(k.to_owned(), v.to_owned());
                    }
                }
            }
        }

        pub fn get(&mut self, path: &str) -> (u16, String, ureq::http::HeaderMap) {
            let mut req = self.agent.get(&format!("{}{path}", self.base));
            if let Some(c) = self.cookie() {
                req = req.header("Cookie", c);
            }
            let mut r = req.call().unwrap();
            let headers = r.headers().clone();
            self.keep(&headers);
            (
                r.status().as_u16(),
                r.body_mut().read_to_string().unwrap_or_default(),
                headers,
            )
        }

        pub fn get_bytes(&self, path: &str) -> (u16, Vec<u8>) {
            let mut req = self.agent.get(&format!("{}{path}", self.base));
            if let Some(c) = self.cookie() {
                req = req.header("Cookie", c);
            }
            let mut r = req.call().unwrap();
            (
                r.status().as_u16(),
                r.body_mut()
                    .with_config()
                    .limit(64 << 20)
                    .read_to_vec()
                    .unwrap_or_default(),
            )
        }

        pub fn post(&mut self, path: &str, form: &str) -> (u16, String, ureq::http::HeaderMap) {
            let mut req = self
                .agent
                .post(&format!("{}{path}", self.base))
                .header("Content-Type", "application/x-www-form-urlencoded");
            if let Some(c) = self.cookie() {
                req = req.header("Cookie", c);
            }
            let mut r = req.send(form).unwrap();
            let headers = r.headers().clone();
            self.keep(&headers);
            (
                r.status().as_u16(),
                r.body_mut().read_to_string().unwrap_or_default(),
                headers,
            )
        }

        /// Signs in through the form, as a browser does: the form's token comes with the page.
        pub fn login_page(&mut self, user: &str, password: &str) -> (u16, String) {
            let (_, form, _) = self.get("/login");
            let at = form
                .find("name=\"nonce\" value=\"")
                .expect("the sign-in form's token")
                + 20;
            let nonce = form[at..at + 32].to_owned();
            let (status, body, _) = self.post(
                "/login",
                &format!(
                    "nonce={nonce}&user={user}&password={}",
                    password.replace(' ', "+")
                ),
            );
            (status, body)
        }

        pub fn login(&mut self, user: &str, password: &str) -> u16 {
            self.login_page(user, password).0
        }
    }
}

/// A round-robin TCP balancer in front of several relays, as nginx would be in a district
/// deployment without sticky sessions: each new connection goes to the next relay.
pub mod balancer {
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
}

/// A throwaway PostgreSQL for the tests: `scripts/with-postgres` starts a cluster and names it in
/// `GRIDSAFE_TEST_PG`; each caller gets a new, empty database in it.
pub mod pg {
    /// The cluster's URL (the `postgres` database), or a panic that says how to get one.
    pub fn cluster() -> String {
        std::env::var("GRIDSAFE_TEST_PG").unwrap_or_else(|_| {
            panic!("GRIDSAFE_TEST_PG is not set: run the tests through scripts/test, or scripts/with-postgres cargo test …")
        })
    }

    /// A new empty database; returns its URL.
    pub fn database() -> String {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let url = cluster();
        let name = format!(
            "gridsafe_t{}_{}_{}",
            std::process::id(),
            gridsafe_core::clock::now_ms(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let mut c =
            postgres::Client::connect(&url, postgres::NoTls).expect("connect to the test cluster");
        c.batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create database");
        url_of(&name)
    }

    /// The URL of database `name` in the cluster.
    pub fn url_of(name: &str) -> String {
        format!(
            "{}/{name}",
            cluster().rsplit_once('/').expect("url has a database").0
        )
    }

    /// Whether the relay scenarios should run on PostgreSQL (`GRIDSAFE_TEST_RELAY_DB=postgres`).
    pub fn relay_on_postgres() -> bool {
        std::env::var("GRIDSAFE_TEST_RELAY_DB").is_ok_and(|v| v == "postgres")
    }
}

/// A real relay (axum, in-process on 127.0.0.1:0) on a fresh data directory with the demo
/// directory installed and the password "correct horse" for the given users; stopped on drop.
/// With `GRIDSAFE_TEST_RELAY_DB=postgres` its shared tables are on a new PostgreSQL database.
pub mod relay {
    use gridsafe_server::Config;
    use gridsafe_server::store::RelayStore;

    #[derive(Debug)]
    pub struct TestRelay {
        pub url: String,
        pub data: tempfile::TempDir,
        pub config: Config,
        stop: Option<tokio::sync::oneshot::Sender<()>>,
        thread: Option<std::thread::JoinHandle<()>>,
    }

    impl TestRelay {
        pub fn start(users: &[&str]) -> TestRelay {
            let database = crate::pg::relay_on_postgres().then(crate::pg::database);
            TestRelay::start_with(users, database, None)
        }

        /// A relay whose shared tables are on `database` (when given) and photos in `blobs` (when
        /// given): the directory and passwords are installed only if the database has none.
        pub fn start_with(
            users: &[&str],
            database: Option<String>,
            blobs: Option<std::path::PathBuf>,
        ) -> TestRelay {
            let data = tempfile::tempdir().expect("tempdir");
            let config = Config {
                data: data.path().to_owned(),
                database,
                blobs,
            };
            {
                let mut st = config.open_store().expect("relay store");
                if st.directory().is_none() {
                    st.import_directory(crate::fixtures::DIRECTORY_JSON)
                        .expect("directory");
                    for u in users {
                        st.set_password(u, "correct horse").expect("password");
                    }
                }
            }
            let (tx, rx) = std::sync::mpsc::channel();
            let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
            let cfg = config.clone();
            let thread = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                        .await
                        .expect("bind");
                    tx.send(listener.local_addr().expect("addr")).expect("send");
                    gridsafe_server::serve_with(cfg, listener, async move {
                        let _ = stop_rx.await;
                    })
                    .await
                    .expect("serve");
                });
            });
            let addr = rx.recv().expect("relay address");
            TestRelay {
                url: format!("http://{addr}"),
                data,
                config,
                stop: Some(stop_tx),
                thread: Some(thread),
            }
        }

        /// host:port, for a proxy in front of it.
        pub fn addr(&self) -> &str {
            self.url.trim_start_matches("http://")
        }

        /// Runs `f` on a second handle to the relay's store (as `gridsafe-server admin` would).
        pub fn inspect<T>(&self, f: impl FnOnce(&mut RelayStore) -> T) -> T {
            f(&mut self.config.open_store().expect("relay store"))
        }
    }

    /// A `gridsafe-server serve` process on an ephemeral port (the benchmarks' and the multi-relay
    /// tests' relays); killed on drop.
    #[derive(Debug)]
    pub struct RelayProcess {
        pub child: std::process::Child,
        pub url: String,
        /// A local directory made for it, removed after the process is killed.
        own_data: Option<tempfile::TempDir>,
    }

    impl RelayProcess {
        /// Runs `exe serve` on `data`, with the shared tables on `database` and the photos in
        /// `blobs` when given; returns once it prints its address.
        pub fn spawn(
            exe: &std::path::Path,
            data: &std::path::Path,
            database: Option<&str>,
            blobs: Option<&std::path::Path>,
        ) -> RelayProcess {
            use std::io::BufRead;
            let mut cmd = std::process::Command::new(exe);
            cmd.args(["serve", "--listen", "127.0.0.1:0", "--data"])
                .arg(data);
            if let Some(db) = database {
                cmd.args(["--database", db]);
            }
            if let Some(b) = blobs {
                cmd.arg("--blobs").arg(b);
            }
            let mut child = cmd
                .env("RUST_LOG", "warn")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!(
                        "{}: {e} (build it: cargo build -p gridsafe-server)",
                        exe.display()
                    )
                });
            let mut line = String::new();
            std::io::BufReader::new(child.stdout.take().expect("stdout"))
                .read_line(&mut line)
                .expect("relay address");
            let url = line.trim().trim_start_matches("listening on ").to_owned();
            assert!(
                url.starts_with("http://127.0.0.1:"),
                "relay did not start: {line:?}"
            );
            RelayProcess {
                child,
                url,
                own_data: None,
            }
        }

        /// [`RelayProcess::spawn`] on a fresh local directory of its own.
        pub fn spawn_fresh(
            exe: &std::path::Path,
            database: Option<&str>,
            blobs: Option<&std::path::Path>,
        ) -> RelayProcess {
            let data = tempfile::tempdir().expect("tempdir");
            let mut p = RelayProcess::spawn(exe, data.path(), database, blobs);
            p.own_data = Some(data);
            p
        }
    }

    impl Drop for RelayProcess {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl Drop for TestRelay {
        fn drop(&mut self) {
            if let Some(s) = self.stop.take() {
                let _ = s.send(());
            }
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        }
    }
}
