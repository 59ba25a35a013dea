//! A throwaway PostgreSQL for the tests: `scripts/with-postgres` starts a cluster and names it in
//! `GRIDSAFE_TEST_PG`; each caller gets a new, empty database in it.

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
