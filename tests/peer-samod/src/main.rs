//! A samod sync server for the relay benchmark: what a Rust developer would stand up instead of the
//! Node automerge-repo sync server. Same wire protocol, same storage layout (samod's
//! `TokioFilesystemStorage` writes what automerge-repo's NodeFS adapter writes), so the
//! benchmark's Node clients and its storage check run against it unchanged.
//!
//!   gridsafe-peer-samod PORT DATA_DIR
//!
//! Prints "Listening on port PORT" once it accepts connections, as the Node server does.
use axum::{Router, extract::ws::WebSocketUpgrade, routing::get};
use samod::{Repo, ShareConfig, storage::TokioFilesystemStorage};

#[tokio::main]
async fn main() {
    // samod reports refused connections and storage failures through tracing; RUST_LOG=debug for more.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .init();
    let mut args = std::env::args().skip(1);
    let (Some(port), Some(data)) = (args.next(), args.next()) else {
        eprintln!("usage: gridsafe-peer-samod PORT DATA_DIR");
        std::process::exit(2);
    };
    let port: u16 = port.parse().unwrap_or_else(|_| {
        eprintln!("PORT must be a number from 1 to 65535, not {port:?}");
        std::process::exit(2);
    });
    std::fs::create_dir_all(&data).unwrap_or_else(|e| {
        eprintln!("cannot create the storage directory {data}: {e}");
        std::process::exit(1);
    });
    // As the Node sync server (its sharePolicy returns false): a server syncs the documents a
    // client asks about and does not announce every document it holds to every client that
    // connects, which would make each phone's sync grow with the whole town's.
    let repo = Repo::build_tokio()
        .with_storage(TokioFilesystemStorage::new(&data))
        .with_share_policy(ShareConfig::read_write().with_announce(false))
        .load()
        .await;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap_or_else(|e| {
            eprintln!("cannot listen on 127.0.0.1:{port}: {e}");
            std::process::exit(1);
        });
    let url: url::Url = format!("ws://127.0.0.1:{port}/")
        .parse()
        .expect("a ws:// URL from a port parses");
    let acceptor = repo
        .make_acceptor(url)
        .expect("a freshly loaded repo accepts");
    let app = Router::new().route(
        "/",
        get(move |upgrade: WebSocketUpgrade| {
            let acceptor = acceptor.clone();
            async move {
                upgrade.on_upgrade(move |socket| async move {
                    // Fails only once the repo has stopped, when the process is ending anyway.
                    let _ = acceptor.accept_axum(socket, None);
                })
            }
        }),
    );
    println!("Listening on port {port}");
    axum::serve(listener, app).await.expect("serve");
}
