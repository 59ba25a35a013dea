//! `gridsafe-bench relay [PHONES] [CONCURRENCY] [ROUNDS]`: the relay load generator (issue #7).
//!
//! PHONES phones each bring a day's work (8 venues, 16 e-bike inspections, 4 of them finding a
//! hazard with its photo: 28 records) and sync it, CONCURRENCY at a time, to:
//! - the relay on embedded SQLite;
//! - the relay on PostgreSQL, one instance;
//! - two relay instances on one PostgreSQL database (requests alternate between them);
//! - the peer: @automerge/automerge-repo-sync-server on Node, given the same automerge documents
//!   (exported from the same phones, every change included) by automerge-repo clients, one
//!   WebSocket per phone, CONCURRENCY phones at a time.
//!
//! - optionally a second peer, samod (the Rust automerge-repo) behind axum (tests/peer-samod), when
//!   GRIDSAFE_PEER_SAMOD names its binary; the same clients, documents and storage check.
//!
//! For each: records durably stored per second (GridSafe answers a sync only after its commit is
//! on disk; the peer's clock stops when its storage holds every document), sync latency p50/p99,
//! and the servers' peak RSS. Median of ROUNDS rounds, each on a fresh copy of the prepared state.
//! The last line is one JSON object with every figure and "ratio_vs_automerge_repo".
//!
//! This file stays whole: it is one benchmark scenario (seed, run each peer, report), read top
//! to bottom; its parts share the same phones and documents.

use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use gridsafe_core::Store;
use gridsafe_core::store::{NewPhoto, NewVenue};
use gridsafe_tests::fixtures::{self, EBIKE_ANSWERS, answers};
use serde_json::{Value, json};

use gridsafe_tests::relay::RelayProcess;

use super::{bench_directory, median, rss_mb, spawn_relay_with};

const PASSWORD: &str = "bench-password";

/// A phone's day, not yet enrolled anywhere.
fn day(path: &Path, directory: &[u8], user: &str, grid: &str) -> Store {
    let mut s = Store::create(path).expect("store");
    s.import_directory(directory).expect("directory");
    let ok = answers(EBIKE_ANSWERS, &[("ebike.flying_lead", json!("no"))]);
    let fail = answers(EBIKE_ANSWERS, &[]);
    let venues: Vec<String> = (0..8)
        .map(|n| {
            let mut profile = fixtures::restaurant_profile();
            profile.gas_supply = "none".into();
            s.add_venue(
                user,
                NewVenue {
                    name: format!("场所{n}"),
                    grid_id: grid.into(),
                    profile,
                    ..Default::default()
                },
            )
            .expect("venue")
            .id
        })
        .collect();
    for n in 0..16 {
        let i = s
            .start_inspection(user, &venues[n % venues.len()], "lx.ebike", None)
            .expect("inspection");
        let hazard = n < 4;
        s.answer(user, &i.id, if hazard { &fail } else { &ok })
            .expect("answers");
        if hazard {
            let photo = NewPhoto {
                bytes: fixtures::PHOTO_BEFORE.to_vec(),
                item_id: Some("ebike.flying_lead".into()),
                role: "before".into(),
                ..Default::default()
            };
            s.attach_photo(user, &i.id, photo).expect("photo");
        }
        s.finish_inspection(user, &i.id).expect("finish");
    }
    s
}

fn relay(data: &Path, database: Option<&str>, blobs: &Path) -> RelayProcess {
    spawn_relay_with(data, database, Some(blobs))
}

/// Where a run's relays keep their state.
#[derive(Clone, Debug)]
enum Backend {
    Sqlite,
    Postgres { instances: usize },
}

impl Backend {
    fn name(&self) -> String {
        match self {
            Backend::Sqlite => "sqlite".into(),
            Backend::Postgres { instances } => format!("postgres_{instances}"),
        }
    }
}

/// The state every round starts from: the directory, passwords and the phones' enrolments.
struct Prepared {
    /// SQLite: the data directory to copy. PostgreSQL: the template database's name.
    template: String,
    /// Each phone's device token on this state.
    tokens: Vec<String>,
}

fn pg_admin() -> postgres::Client {
    let url = gridsafe_tests::pg::cluster();
    postgres::Client::connect(&url, postgres::NoTls).expect("PostgreSQL cluster")
}

fn prepare(
    work: &Path,
    backend: &Backend,
    directory: &[u8],
    users: &[String],
    phones: &mut [Store],
) -> Prepared {
    let (data, database) = match backend {
        Backend::Sqlite => (work.join("sqlite-template"), None),
        Backend::Postgres { .. } => {
            let name = "gridsafe_bench_template".to_owned();
            let mut admin = pg_admin();
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
                .expect("old template");
            admin
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .expect("template database");
            (
                work.join("pg-template-local"),
                Some(gridsafe_tests::pg::url_of(&name)),
            )
        }
    };
    {
        let mut st = gridsafe_server::store::RelayStore::open_with(&data, database.as_deref())
            .expect("relay store");
        st.import_directory(directory).expect("directory");
        for u in users {
            st.set_password(u, PASSWORD).expect("password");
        }
    }
    let r = relay(&data, database.as_deref(), &work.join("blobs-template"));
    let tokens = phones
        .iter_mut()
        .zip(users)
        .map(|(s, u)| {
            gridsafe_client::enroll(s, &r.url, u, PASSWORD, "bench").expect("enrol");
            s.enrollment().expect("enrolment").expect("enrolled").1
        })
        .collect();
    drop(r);
    let template = match backend {
        Backend::Sqlite => data.display().to_string(),
        Backend::Postgres { .. } => "gridsafe_bench_template".into(),
    };
    Prepared { template, tokens }
}

/// One round's figures.
#[derive(Clone, Copy, Debug)]
struct Round {
    docs_per_s: f64,
    p50_ms: f64,
    p99_ms: f64,
    rss_mb: f64,
    /// CPU the server processes used during the load (user + system; PostgreSQL's own processes
    /// not included).
    cpu_s: f64,
}

/// CPU seconds a process has used (user + system), from /proc.
fn cpu_s(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name's closing parenthesis: state is field 3, utime 14, stime 15.
    let rest: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |r| r.1)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        rest.get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir").flatten() {
        if e.file_type().expect("type").is_file() {
            std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
        }
    }
}

/// Sends every phone's day, `concurrency` at a time, alternating between `urls`.
fn load(
    urls: &[String],
    tokens: &[String],
    bodies: &[Vec<u8>],
    docs_per: usize,
    concurrency: usize,
    what: &str,
) -> (f64, Vec<f64>) {
    let next = AtomicUsize::new(0);
    let bar = indicatif::ProgressBar::new(bodies.len() as u64).with_message(what.to_owned());
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>12} {bar:40} {pos}/{len} phones {elapsed}")
            .expect("style"),
    );
    let t = Instant::now();
    let mut lat: Vec<f64> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..concurrency)
            .map(|_| {
                let (next, bar) = (&next, &bar);
                scope.spawn(move || {
                    let agent: ureq::Agent = ureq::Agent::config_builder()
                        .timeout_global(Some(std::time::Duration::from_secs(600)))
                        .build()
                        .into();
                    let mut lat = Vec::new();
                    loop {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        if n >= bodies.len() {
                            break lat;
                        }
                        let url = format!("{}/v1/sync", urls[n % urls.len()]);
                        let t = Instant::now();
                        let mut r = agent
                            .post(&url)
                            .header("Authorization", &format!("Bearer {}", tokens[n]))
                            .send(&bodies[n][..])
                            .expect("sync");
                        let bytes = r
                            .body_mut()
                            .with_config()
                            .limit(1 << 30)
                            .read_to_vec()
                            .expect("answer");
                        lat.push(t.elapsed().as_secs_f64() * 1000.0);
                        let resp =
                            gridsafe_core::sync::SyncResponse::decode(&bytes).expect("decode");
                        assert!(resp.refused.is_empty(), "{:?}", resp.refused);
                        assert_eq!(resp.accepted.len(), docs_per, "every record acknowledged");
                        bar.inc(1);
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });
    let wall = t.elapsed().as_secs_f64();
    bar.finish_and_clear();
    lat.sort_by(f64::total_cmp);
    (wall, lat)
}

fn percentile(sorted: &[f64], p: usize) -> f64 {
    sorted[(sorted.len() * p / 100).min(sorted.len() - 1)]
}

fn gridsafe_round(
    work: &Path,
    backend: &Backend,
    prep: &Prepared,
    bodies: &[Vec<u8>],
    docs_per: usize,
    concurrency: usize,
    round: usize,
) -> Round {
    let dir = work.join(format!("{}-round-{round}", backend.name()));
    let blobs = dir.join("blobs");
    let relays: Vec<RelayProcess> = match backend {
        Backend::Sqlite => {
            copy_dir(Path::new(&prep.template), &dir.join("data"));
            vec![relay(&dir.join("data"), None, &blobs)]
        }
        Backend::Postgres { instances } => {
            let name = format!("gridsafe_bench_r{round}");
            let mut admin = pg_admin();
            admin
                .batch_execute(&format!("DROP DATABASE IF EXISTS {name}"))
                .expect("old round database");
            admin
                .batch_execute(&format!(
                    "CREATE DATABASE {name} TEMPLATE {}",
                    prep.template
                ))
                .expect("round database");
            (0..*instances)
                .map(|i| {
                    relay(
                        &dir.join(format!("local-{i}")),
                        Some(&gridsafe_tests::pg::url_of(&name)),
                        &blobs,
                    )
                })
                .collect()
        }
    };
    let urls: Vec<String> = relays.iter().map(|r| r.url.clone()).collect();
    let cpu = |rs: &[RelayProcess]| rs.iter().map(|r| cpu_s(r.child.id())).sum::<f64>();
    let before = cpu(&relays);
    let (wall, lat) = load(
        &urls,
        &prep.tokens,
        bodies,
        docs_per,
        concurrency,
        &backend.name(),
    );
    let cpu = cpu(&relays) - before;
    let rss = relays
        .iter()
        .map(|r| rss_mb(r.child.id()))
        .fold(0.0, f64::max);
    drop(relays);
    if let Backend::Postgres { .. } = backend {
        let _ =
            pg_admin().batch_execute(&format!("DROP DATABASE IF EXISTS gridsafe_bench_r{round}"));
    }
    let _ = std::fs::remove_dir_all(&dir);
    let r = Round {
        docs_per_s: (bodies.len() * docs_per) as f64 / wall,
        p50_ms: percentile(&lat, 50),
        p99_ms: percentile(&lat, 99),
        rss_mb: rss,
        cpu_s: cpu,
    };
    eprintln!(
        "{}, round {}: {:.0} records/s, p50 {:.0} ms, p99 {:.0} ms, peak RSS {:.1} MB, relay CPU {:.2} s",
        backend.name(),
        round + 1,
        r.docs_per_s,
        r.p50_ms,
        r.p99_ms,
        r.rss_mb,
        r.cpu_s
    );
    r
}

fn summary(rounds: &[Round]) -> Value {
    let med = |f: fn(&Round) -> f64| median(rounds.iter().map(f).collect());
    json!({
        "records_per_s": med(|r| r.docs_per_s).round(),
        "p50_ms": med(|r| r.p50_ms).round(),
        "p99_ms": med(|r| r.p99_ms).round(),
        "peak_rss_mb": (rounds.iter().map(|r| r.rss_mb).fold(0.0, f64::max) * 10.0).round() / 10.0,
        "server_cpu_s": (med(|r| r.cpu_s) * 100.0).round() / 100.0,
    })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port()
}

/// A peer: a sync server speaking the automerge-repo protocol, given the same documents by the
/// same Node clients (tests/peer/load.mjs), its storage checked the same way.
enum Peer {
    /// @automerge/automerge-repo-sync-server on Node (tests/peer).
    AutomergeRepo,
    /// samod, the Rust automerge-repo, behind axum (tests/peer-samod), built by scripts/bench.
    Samod(std::path::PathBuf),
}

impl Peer {
    fn key(&self) -> &'static str {
        match self {
            Peer::AutomergeRepo => "automerge_repo",
            Peer::Samod(_) => "samod",
        }
    }

    fn label(&self) -> &'static str {
        match self {
            Peer::AutomergeRepo => "automerge-repo sync server",
            Peer::Samod(_) => "samod sync server",
        }
    }

    fn server(&self, peer_dir: &Path, port: u16, store: &Path) -> Command {
        match self {
            Peer::AutomergeRepo => {
                let mut c = Command::new("node");
                c.arg(
                    peer_dir
                        .join("node_modules/@automerge/automerge-repo-sync-server/src/index.js"),
                )
                .env("PORT", port.to_string())
                .env("DATA_DIR", store);
                c
            }
            Peer::Samod(bin) => {
                let mut c = Command::new(bin);
                c.arg(port.to_string()).arg(store);
                c
            }
        }
    }
}

/// A peer's server process, stopped when the round ends, also when it ends in a panic (a failed
/// round must not leave a sync server running under the next one).
struct Stopped(std::process::Child);

impl Drop for Stopped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One round of a peer: a fresh sync server, the Node clients, then the check that its storage
/// holds every document at the pushed heads.
fn peer_round(
    peer: &Peer,
    work: &Path,
    input: &Path,
    concurrency: usize,
    round: usize,
    total: usize,
) -> (Round, bool, f64) {
    let peer_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("peer");
    let store = work.join(format!("{}-round-{round}", peer.key()));
    std::fs::create_dir_all(&store).expect("peer storage");
    let port = free_port();
    let log = work.join(format!("{}-round-{round}.log", peer.key()));
    let log_tail = || {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    };
    let mut server = Stopped(
        peer.server(&peer_dir, port, &store)
            .current_dir(&store)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("peer log"))
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", peer.label())),
    );
    let mut line = String::new();
    std::io::BufReader::new(server.0.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("sync server start");
    assert!(line.contains("Listening"), "{}: {line:?}", peer.label());
    let before = cpu_s(server.0.id());
    let bar = indicatif::ProgressBar::new_spinner()
        .with_message(format!("{}: phones pushing", peer.label()));
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    let out = Command::new("node")
        .arg(peer_dir.join("load.mjs"))
        .args(["run"])
        .arg(input)
        .arg(format!("ws://127.0.0.1:{port}"))
        .arg(&store)
        .arg(concurrency.to_string())
        .output()
        .expect("node load.mjs");
    bar.finish_and_clear();
    assert!(
        out.status.success(),
        "{} load: {}\n{}'s log:\n{}",
        peer.label(),
        String::from_utf8_lossy(&out.stderr),
        peer.label(),
        log_tail()
    );
    let rss = rss_mb(server.0.id());
    let cpu = cpu_s(server.0.id()) - before;
    drop(server); // stopped before its storage is read back
    let run: Value = serde_json::from_slice(&out.stdout).expect("peer json");
    let verify = Command::new("node")
        .arg(peer_dir.join("load.mjs"))
        .arg("verify")
        .arg(input)
        .arg(&store)
        .output()
        .expect("verify");
    if !verify.status.success() {
        eprintln!(
            "the {}'s storage check failed: {}",
            peer.label(),
            String::from_utf8_lossy(&verify.stderr)
        );
    }
    let checked: Value = serde_json::from_slice(&verify.stdout).unwrap_or(json!({}));
    let complete = checked["matching"].as_u64() == Some(total as u64);
    let stored_s = run["stored_s"].as_f64().expect("stored_s");
    let r = Round {
        docs_per_s: total as f64 / stored_s,
        p50_ms: 0.0,
        p99_ms: 0.0,
        rss_mb: rss,
        cpu_s: cpu,
    };
    let client_cpu = run["client_cpu_s"].as_f64().unwrap_or(f64::NAN);
    eprintln!(
        "{}, round {}: {:.0} records/s (acknowledged after {:.2} s, stored after {stored_s:.2} s), server peak RSS {:.1} MB, server CPU {cpu:.2} s, clients' CPU {client_cpu:.2} s; storage check {}",
        peer.label(),
        round + 1,
        r.docs_per_s,
        run["acked_s"].as_f64().unwrap_or(0.0),
        rss,
        checked
    );
    let _ = std::fs::remove_dir_all(&store);
    (r, complete, client_cpu)
}

/// Every round of one peer, summarised; "storage_verified" says every document was found stored
/// at the pushed heads in every round.
fn peer_summary(
    peer: &Peer,
    work: &Path,
    input: &Path,
    concurrency: usize,
    rounds: usize,
    total: usize,
) -> Value {
    let runs: Vec<(Round, bool, f64)> = (0..rounds)
        .map(|r| peer_round(peer, work, input, concurrency, r, total))
        .collect();
    let complete = runs.iter().all(|(_, c, _)| *c);
    let mut v = summary(&runs.iter().map(|(r, _, _)| *r).collect::<Vec<_>>());
    v["storage_verified"] = json!(complete);
    // The Node clients run the automerge-repo protocol in the timed window (GridSafe's phones
    // build their request before it): shown so a reader can see which side was the limit.
    v["client_cpu_s"] =
        json!((median(runs.iter().map(|(_, _, c)| *c).collect()) * 100.0).round() / 100.0);
    v.as_object_mut()
        .expect("object")
        .retain(|k, _| k != "p50_ms" && k != "p99_ms");
    println!(
        "{}: {} records/s, peak RSS {} MB, server CPU {} s, clients' CPU {} s, storage verified: {complete}",
        peer.label(),
        v["records_per_s"],
        v["peak_rss_mb"],
        v["server_cpu_s"],
        v["client_cpu_s"]
    );
    v
}

pub fn run(phones: usize, concurrency: usize, rounds: usize) {
    let work = tempfile::tempdir().expect("tmp");
    let directory = bench_directory(phones.div_ceil(2));
    let users: Vec<String> = (0..phones).map(|n| format!("bench-i{n}")).collect();
    let t = Instant::now();
    let bar = indicatif::ProgressBar::new(phones as u64).with_message("phones' days");
    let mut stores: Vec<Store> = users
        .iter()
        .enumerate()
        .map(|(n, u)| {
            let s = day(
                &work.path().join(format!("phone-{n}.sqlite")),
                &directory,
                u,
                &format!("bench-g{}", n / 2),
            );
            bar.inc(1);
            s
        })
        .collect();
    bar.finish_and_clear();
    let docs_per: usize = stores[0].counts().expect("counts").values().sum::<u64>() as usize;
    let total = phones * docs_per;
    eprintln!(
        "prepared {phones} phones × {docs_per} records in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // The same documents for the peer, every change included.
    let input = work.path().join("peer-input");
    for (n, s) in stores.iter().enumerate() {
        let dir = input.join(format!("p{n:05}"));
        std::fs::create_dir_all(&dir).expect("mkdir");
        let ids: Vec<String> = {
            let mut stmt = s
                .raw()
                .prepare("SELECT id FROM docs ORDER BY id")
                .expect("ids");
            stmt.query_map([], |r| r.get(0))
                .expect("ids")
                .map(|r| r.expect("id"))
                .collect()
        };
        for (k, id) in ids.iter().enumerate() {
            std::fs::write(
                dir.join(format!("{k:03}.automerge")),
                s.export_doc(id).expect("export").1,
            )
            .expect("write");
        }
    }

    let mut results = serde_json::Map::new();
    let postgres = std::env::var("GRIDSAFE_TEST_PG").is_ok();
    let mut backends = vec![Backend::Sqlite];
    if postgres {
        backends.extend([
            Backend::Postgres { instances: 1 },
            Backend::Postgres { instances: 2 },
        ]);
    } else {
        eprintln!(
            "GRIDSAFE_TEST_PG is not set: PostgreSQL runs skipped (scripts/bench relay starts a throwaway cluster)"
        );
    }
    let sqlite = prepare(
        work.path(),
        &Backend::Sqlite,
        &directory,
        &users,
        &mut stores,
    );
    let pg = postgres.then(|| {
        prepare(
            work.path(),
            &Backend::Postgres { instances: 1 },
            &directory,
            &users,
            &mut stores,
        )
    });
    // Built after enrolment (the request carries no token), once for every run.
    let bodies: Vec<Vec<u8>> = stores
        .iter_mut()
        .map(|s| s.sync_request(usize::MAX).expect("request").encode())
        .collect();
    for backend in &backends {
        let prep = match backend {
            Backend::Sqlite => &sqlite,
            Backend::Postgres { .. } => pg.as_ref().expect("PostgreSQL prepared"),
        };
        let rs: Vec<Round> = (0..rounds)
            .map(|r| {
                gridsafe_round(
                    work.path(),
                    backend,
                    prep,
                    &bodies,
                    docs_per,
                    concurrency,
                    r,
                )
            })
            .collect();
        results.insert(backend.name(), summary(&rs));
    }
    for (k, v) in &results {
        println!(
            "{k}: {} records/s, p50 {} ms, p99 {} ms, peak RSS {} MB, relay CPU {} s",
            v["records_per_s"], v["p50_ms"], v["p99_ms"], v["peak_rss_mb"], v["server_cpu_s"]
        );
    }
    let mut peers = vec![Peer::AutomergeRepo];
    match std::env::var_os("GRIDSAFE_PEER_SAMOD") {
        Some(bin) => peers.push(Peer::Samod(bin.into())),
        None => eprintln!(
            "GRIDSAFE_PEER_SAMOD is not set: samod skipped (scripts/bench relay builds it)"
        ),
    }
    let mut out = json!({"bench": "relay", "phones": phones, "records_per_phone": docs_per, "records": total, "concurrency": concurrency, "rounds": rounds});
    let rate = |k: &str| results.get(k).and_then(|v| v["records_per_s"].as_f64());
    for peer in &peers {
        let v = peer_summary(peer, work.path(), &input, concurrency, rounds, total);
        let peer_rate = v["records_per_s"].as_f64().unwrap_or(f64::NAN);
        // "ratio_vs_automerge_repo" is the SQLite relay's; the other backends get their own keys.
        out[format!("ratio_vs_{}", peer.key())] =
            json!(rate("sqlite").map(|g| (g / peer_rate * 100.0).round() / 100.0));
        for k in ["postgres_1", "postgres_2"] {
            if let Some(pg) = rate(k) {
                out[format!("{k}_vs_{}", peer.key())] =
                    json!((pg / peer_rate * 100.0).round() / 100.0);
            }
        }
        out[peer.key()] = v;
    }
    for (k, v) in results {
        out[k] = v;
    }
    println!("{out}");
}
