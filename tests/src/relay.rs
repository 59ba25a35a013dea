//! A real relay (axum, in-process on 127.0.0.1:0) on a fresh data directory with the demo
//! directory installed and the password "correct horse" for the given users; stopped on drop.
//! With `GRIDSAFE_TEST_RELAY_DB=postgres` its shared tables are on a new PostgreSQL database.

use gridsafe_server::store::RelayStore;
use gridsafe_server::{Config, ServeOptions};

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
        TestRelay::start_opts(users, database, blobs, ServeOptions::default())
    }

    /// [`TestRelay::start_with`] with serving options (a `/metrics` token, the catch-up pace).
    pub fn start_opts(
        users: &[&str],
        database: Option<String>,
        blobs: Option<std::path::PathBuf>,
        options: ServeOptions,
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
                    st.set_password(u, crate::fixtures::PASSWORD)
                        .expect("password");
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
                gridsafe_server::serve_opts(cfg, options, listener, async move {
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

    /// A new phone store in `dir` for `user`, with the demo directory, enrolled on this relay
    /// (the device named after the user).
    pub fn phone(&self, dir: &std::path::Path, user: &str) -> gridsafe_core::Store {
        let mut s =
            gridsafe_core::Store::create(dir.join(format!("{user}.sqlite"))).expect("store");
        s.import_directory(crate::fixtures::DIRECTORY_JSON)
            .expect("directory");
        gridsafe_client::enroll(&mut s, &self.url, user, crate::fixtures::PASSWORD, user)
            .expect("enrol");
        s
    }

    /// A dashboard session signed in as `user`.
    pub fn signed_in(&self, user: &str) -> crate::browser::Browser {
        let mut b = crate::browser::Browser::new(&self.url);
        assert_eq!(
            b.login(user, crate::fixtures::PASSWORD),
            303,
            "{user} signs in"
        );
        b
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
