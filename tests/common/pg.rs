//! A PostgreSQL server for tests: `SWORN_TEST_PG` (scripts/test starts one on a private
//! socket and sets it) and a fresh database per test.
#![allow(dead_code)]

/// The PostgreSQL server's URL, or `None` (with a message) when the tests have none.
pub fn pg_admin_url() -> Option<String> {
    match std::env::var("SWORN_TEST_PG") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!(
                "SKIPPED: a PostgreSQL test: SWORN_TEST_PG is unset \
                 (scripts/test starts a server and sets it)"
            );
            None
        }
    }
}

/// `url` with its database (the path) replaced by `db`.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let server = match base[scheme_end..].find('/') {
        Some(i) => &base[..scheme_end + i],
        None => base,
    };
    match query {
        Some(q) => format!("{server}/{db}?{q}"),
        None => format!("{server}/{db}"),
    }
}

/// A fresh, empty database on the test server; its URL.
pub async fn fresh_pg_database(admin: &str) -> String {
    let name = format!("sworn_test_{}", sworn::secrets::new_id());
    let (client, conn) = tokio_postgres::connect(admin, tokio_postgres::NoTls)
        .await
        .expect("connecting to SWORN_TEST_PG");
    let conn = tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    drop(client);
    let _ = conn.await;
    with_database(admin, &name)
}
