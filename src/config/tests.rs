//! Unit tests of configuration loading: defaults, file then environment, bounds.

use super::*;

fn no_env(_: &str) -> Option<String> {
    None
}

#[test]
fn defaults() {
    let c = Config::load(None, &no_env).unwrap();
    assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(c.public_url, "http://127.0.0.1:8080");
    assert!(c.media.loopback_only);
    assert_eq!(c.data_dir, PathBuf::from("./sworn-data"));
}

#[test]
fn private_candidates_follow_the_servers_own_addresses() {
    let load = |media: &str, env: Option<&'static str>| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sworn.toml");
        std::fs::write(&path, format!("[media]\nloopback_only = false\n{media}")).unwrap();
        let env = move |k: &str| {
            (k == "SWORN_PRIVATE_CANDIDATES")
                .then_some(env)
                .flatten()
                .map(str::to_owned)
        };
        Config::load(Some(&path), &env)
            .unwrap()
            .media
            .private_candidates
    };
    assert!(!load("bind_ip = \"0.0.0.0\"\n", None));
    assert!(!load("public_ips = [\"203.0.113.7\"]\n", None));
    assert!(load("bind_ip = \"10.20.0.5\"\n", None));
    assert!(load("public_ips = [\"192.168.10.2\"]\n", None));
    assert!(!load(
        "bind_ip = \"10.20.0.5\"\nprivate_candidates = false\n",
        None
    ));
    assert!(load("", Some("1")));
}

#[test]
fn runtime_threads() {
    assert_eq!(Config::load(None, &no_env).unwrap().threads, None);
    let one = |k: &str| (k == "SWORN_THREADS").then(|| "1".to_owned());
    assert_eq!(Config::load(None, &one).unwrap().threads, Some(1));
    for bad in ["0", "257", "two"] {
        let env = |k: &str| (k == "SWORN_THREADS").then(|| bad.to_owned());
        assert!(Config::load(None, &env).is_err(), "{bad}");
    }
}

#[test]
fn media_rx_batch() {
    let c = Config::load(None, &no_env).unwrap();
    assert_eq!(c.media.rx_batch, Duration::from_millis(DEFAULT_RX_BATCH_MS));
    let one = |k: &str| (k == "SWORN_RX_BATCH_MS").then(|| "1".to_owned());
    assert_eq!(
        Config::load(None, &one).unwrap().media.rx_batch,
        Duration::from_millis(1)
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sworn.toml");
    std::fs::write(&path, "[media]\nrx_batch_ms = 2\n").unwrap();
    let c = Config::load(Some(&path), &no_env).unwrap();
    assert_eq!(c.media.rx_batch, Duration::from_millis(2));
    for bad in ["0", "21", "-1", "fast"] {
        let env = |k: &str| (k == "SWORN_RX_BATCH_MS").then(|| bad.to_owned());
        assert!(Config::load(None, &env).is_err(), "{bad}");
    }
}

#[test]
fn file_then_env() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sworn.toml");
    std::fs::write(
        &path,
        "[server]\nbind = \"0.0.0.0:8443\"\npublic_url = \"https://court.example/\"\n[tls]\nmode = \"self_signed\"\n[media]\nudp_port = 50000\ntcp_port = 443\npublic_ips = [\"203.0.113.7\"]\n[[ice_servers]]\nurls = [\"turn:turn.example:3478\"]\nusername = \"u\"\ncredential = \"p\"\n",
    )
    .unwrap();
    let env = |k: &str| (k == "SWORN_UDP_PORT").then(|| "50001".to_owned());
    let c = Config::load(Some(&path), &env).unwrap();
    assert_eq!(c.public_url, "https://court.example");
    assert_eq!(c.tls, TlsMode::SelfSigned);
    assert_eq!(c.media.udp_port, 50001);
    assert_eq!(c.media.tcp_port, Some(443));
    assert!(!c.media.loopback_only);
    assert_eq!(c.ice_servers.len(), 1);
}

#[test]
fn external_tsa_keys_from_file_and_env() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sworn.toml");
    std::fs::write(
        &path,
        "[evidence]\ntsa_url = \"https://tsa.example/tsr\"\ntsa_chain = \"/etc/sworn/tsa.pem\"\n",
    )
    .unwrap();
    let c = Config::load(Some(&path), &no_env).unwrap();
    assert_eq!(c.tsa_url.as_deref(), Some("https://tsa.example/tsr"));
    assert_eq!(c.tsa_chain, Some(PathBuf::from("/etc/sworn/tsa.pem")));
    let env = |k: &str| match k {
        "SWORN_TSA_URL" => Some("http://127.0.0.1:3180/".to_owned()),
        "SWORN_TSA_CHAIN" => Some("/tmp/chain.pem".to_owned()),
        _ => None,
    };
    let c = Config::load(Some(&path), &env).unwrap();
    assert_eq!(c.tsa_url.as_deref(), Some("http://127.0.0.1:3180/"));
    assert_eq!(c.tsa_chain, Some(PathBuf::from("/tmp/chain.pem")));
    let c = Config::load(None, &no_env).unwrap();
    assert_eq!((c.tsa_url, c.tsa_chain), (None, None));
}

#[test]
fn external_tsa_keys_are_checked() {
    let invalid = |url: Option<&str>, chain: Option<&str>| {
        let env = |k: &str| match k {
            "SWORN_TSA_URL" => url.map(str::to_owned),
            "SWORN_TSA_CHAIN" => chain.map(str::to_owned),
            _ => None,
        };
        match Config::load(None, &env) {
            Err(ConfigError::Invalid { key, .. }) => key,
            other => panic!("{url:?} {chain:?}: {other:?}"),
        }
    };
    assert_eq!(
        invalid(Some("http://tsa.example"), None),
        "evidence.tsa_chain"
    );
    assert_eq!(invalid(None, Some("/x.pem")), "evidence.tsa_url");
    assert_eq!(
        invalid(Some("ftp://tsa.example"), Some("/x.pem")),
        "evidence.tsa_url"
    );
}

const TURN_SECRET: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";

/// Loads `toml` as the config file (written in `dir`) with `env`.
fn load_toml(
    dir: &Path,
    toml: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let path = dir.join("sworn.toml");
    std::fs::write(&path, toml).unwrap();
    Config::load(Some(&path), env)
}

fn turn_env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
}

#[test]
fn turn_secret_file_gives_each_connection_its_credential() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("turn-secret");
    std::fs::write(&secret, format!("{TURN_SECRET}\n")).unwrap();
    let c = load_toml(
        dir.path(),
        &format!(
            "[[ice_servers]]\nurls = [\"stun:stun.court.example:3478\"]\n[turn]\nurls = [\"turn:turn.court.example:3478?transport=udp\", \"turns:turn.court.example:5349?transport=tcp\"]\nsecret_file = {:?}\nttl_secs = 600\n",
            secret.display().to_string()
        ),
        &no_env,
    )
    .unwrap();
    let turn = c.turn.as_ref().unwrap();
    assert_eq!(turn.ttl, Duration::from_secs(600));
    let list = c.ice_servers_for(1_700_000_000, "c0ffee");
    assert_eq!(list.len(), 2);
    assert_eq!(list[0], c.ice_servers[0]);
    let t = &list[1];
    assert_eq!(t.urls, turn.urls);
    assert_eq!(t.username.as_deref(), Some("1700000600:c0ffee"));
    // The trailing newline of the file is not part of the secret.
    let expected = TurnSecret::new(TURN_SECRET.as_bytes())
        .unwrap()
        .password("1700000600:c0ffee");
    assert_eq!(t.credential.as_deref(), Some(expected.as_str()));
    // Nothing prints the secret or a credential.
    let debug = format!("{c:?} {list:?}");
    assert!(!debug.contains(TURN_SECRET), "{debug}");
    assert!(!debug.contains(&expected), "{debug}");
    // Two connections now: two usernames, two credentials.
    let (a, b) = (c.ice_servers_now(), c.ice_servers_now());
    assert_ne!(a[1].username, b[1].username);
    assert_ne!(a[1].credential, b[1].credential);
    assert!(c.warnings().is_empty());
}

#[test]
fn turn_from_env_and_default_ttl() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("s");
    std::fs::write(&secret, TURN_SECRET).unwrap();
    let file = secret.to_str().unwrap();
    let env = turn_env(&[
        (
            "SWORN_TURN_URLS",
            "turn:127.0.0.1:3478?transport=udp, turn:127.0.0.1:3478?transport=tcp",
        ),
        ("SWORN_TURN_SECRET_FILE", file),
    ]);
    let c = Config::load(None, &env).unwrap();
    let turn = c.turn.as_ref().unwrap();
    assert_eq!(turn.urls.len(), 2);
    assert_eq!(turn.ttl, Duration::from_secs(DEFAULT_TURN_TTL_SECS));
    // The environment's file wins over an inline secret in the config file.
    let env = turn_env(&[
        ("SWORN_TURN_SECRET_FILE", file),
        ("SWORN_TURN_TTL_SECS", "120"),
    ]);
    let c = load_toml(
        dir.path(),
        "[turn]\nurls = [\"turns:turn.example\"]\nsecret = \"an-inline-secret-0123456789\"\n",
        &env,
    )
    .unwrap();
    let t = &c.ice_servers_for(10, "x")[0];
    assert_eq!(t.username.as_deref(), Some("130:x"));
    let from_file = TurnSecret::new(TURN_SECRET.as_bytes())
        .unwrap()
        .password("130:x");
    assert_eq!(t.credential.as_deref(), Some(from_file.as_str()));
    assert!(Config::load(None, &no_env).unwrap().turn.is_none());
}

#[test]
fn turn_settings_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good");
    std::fs::write(&good, TURN_SECRET).unwrap();
    let short = dir.path().join("short");
    std::fs::write(&short, "  too-short \n").unwrap();
    let good = good.display().to_string();
    let short = short.display().to_string();
    let missing = dir.path().join("missing").display().to_string();
    let invalid = |toml: String| match load_toml(dir.path(), &toml, &no_env) {
        Err(ConfigError::Invalid { key, message }) => {
            assert!(!message.contains(TURN_SECRET));
            key
        }
        Err(ConfigError::TurnSecretFile { .. }) => "secret file unreadable",
        other => panic!("{other:?}"),
    };
    let url = "urls = [\"turn:turn.example:3478\"]";
    let cases = [
        (format!("[turn]\nsecret_file = {good:?}\n"), "turn.urls"),
        (
            format!("[turn]\nurls = []\nsecret_file = {good:?}\n"),
            "turn.urls",
        ),
        (
            format!("[turn]\nurls = [\"stun:s.example\"]\nsecret_file = {good:?}\n"),
            "turn.urls",
        ),
        (
            format!("[turn]\nurls = [\"https://t.example\"]\nsecret_file = {good:?}\n"),
            "turn.urls",
        ),
        (
            format!("[turn]\nurls = [\"turn:\"]\nsecret_file = {good:?}\n"),
            "turn.urls",
        ),
        (
            format!("[turn]\nurls = [\"turn:a b\"]\nsecret_file = {good:?}\n"),
            "turn.urls",
        ),
        (format!("[turn]\n{url}\n"), "turn.secret_file"),
        (
            format!("[turn]\n{url}\nsecret_file = {good:?}\nsecret = \"{TURN_SECRET}\"\n"),
            "turn.secret",
        ),
        (
            format!("[turn]\n{url}\nsecret_file = {short:?}\n"),
            "turn.secret_file",
        ),
        (
            format!("[turn]\n{url}\nsecret = \"short\"\n"),
            "turn.secret",
        ),
        (
            format!("[turn]\n{url}\nsecret_file = {missing:?}\n"),
            "secret file unreadable",
        ),
        (
            format!("[turn]\n{url}\nsecret_file = {good:?}\nttl_secs = 59\n"),
            "turn.ttl_secs",
        ),
        (
            format!("[turn]\n{url}\nsecret_file = {good:?}\nttl_secs = 86401\n"),
            "turn.ttl_secs",
        ),
        ("[turn]\nttl_secs = 600\n".to_owned(), "turn.ttl_secs"),
    ];
    for (toml, key) in cases {
        assert_eq!(invalid(toml.clone()), key, "{toml}");
    }
    let env = |k: &str| (k == "SWORN_TURN_TTL_SECS").then(|| "an hour".to_owned());
    assert!(matches!(
        Config::load(None, &env),
        Err(ConfigError::Env {
            name: "SWORN_TURN_TTL_SECS",
            ..
        })
    ));
    // The unreadable file is named in the message.
    let env = turn_env(&[
        ("SWORN_TURN_URLS", "turn:t.example"),
        ("SWORN_TURN_SECRET_FILE", missing.as_str()),
    ]);
    let message = Config::load(None, &env).unwrap_err().to_string();
    assert!(
        message.contains("turn.secret_file") && message.contains(&missing),
        "{message}"
    );
}

#[test]
fn static_turn_credentials_are_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let c = load_toml(
        dir.path(),
        "[[ice_servers]]\nurls = [\"stun:s.example\"]\n[[ice_servers]]\nurls = [\"turn:t.example:3478\"]\nusername = \"sworn\"\ncredential = \"static-pass-word\"\n",
        &no_env,
    )
    .unwrap();
    let warnings = c.warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("entry 2"), "{warnings:?}");
    assert!(!warnings[0].contains("static-pass-word"));
    assert!(!format!("{c:?}").contains("static-pass-word"));
    // Without [turn] every connection gets the static list as it is.
    assert_eq!(c.ice_servers_now(), c.ice_servers);
}

#[test]
fn http_and_sign_in_limits() {
    let c = Config::load(None, &no_env).unwrap();
    assert_eq!(c.http, HttpLimits::default());
    assert_eq!(c.sign_in, SignInLimits::default());
    assert!(!c.dangerous_plain_http);
    assert_eq!(c.client_address_header, None);
    let dir = tempfile::tempdir().unwrap();
    let c = load_toml(
        dir.path(),
        "[server]\nheader_timeout_secs = 5\nbody_timeout_secs = 20\nidle_timeout_secs = 60\n\
         max_connections = 500\nmax_connections_per_address = 0\n\
         client_address_header = \"X-Forwarded-For\"\ndangerous_plain_http = true\n\
         [sign_in]\nattempts_per_minute = 100\nattempts_per_address_per_minute = 10\n\
         attempts_per_user_per_address_per_minute = 3\nconcurrent_hashes = 4\n",
        &no_env,
    )
    .unwrap();
    assert_eq!(c.http.header_timeout, Duration::from_secs(5));
    assert_eq!(c.http.body_timeout, Duration::from_secs(20));
    assert_eq!(c.http.idle_timeout, Duration::from_secs(60));
    assert_eq!(c.http.max_connections, 500);
    assert_eq!(c.http.max_connections_per_address, None);
    assert_eq!(c.client_address_header.as_deref(), Some("x-forwarded-for"));
    assert!(c.dangerous_plain_http);
    assert_eq!(
        c.sign_in,
        SignInLimits {
            per_minute: 100,
            per_address_per_minute: 10,
            per_user_per_address_per_minute: 3,
            concurrent_hashes: 4
        }
    );
    for (toml, key) in [
        (
            "[server]\nheader_timeout_secs = 0\n",
            "server.header_timeout_secs",
        ),
        (
            "[server]\nidle_timeout_secs = 10\n",
            "server.idle_timeout_secs",
        ),
        ("[server]\nmax_connections = 1\n", "server.max_connections"),
        (
            "[server]\nmax_connections = 100\nmax_connections_per_address = 101\n",
            "server.max_connections_per_address",
        ),
        (
            "[server]\nclient_address_header = \"a b\"\n",
            "server.client_address_header",
        ),
        (
            "[sign_in]\nattempts_per_minute = 0\n",
            "sign_in.attempts_per_minute",
        ),
        (
            "[sign_in]\nconcurrent_hashes = 0\n",
            "sign_in.concurrent_hashes",
        ),
    ] {
        match load_toml(dir.path(), toml, &no_env) {
            Err(ConfigError::Invalid { key: k, .. }) => assert_eq!(k, key, "{toml}"),
            other => panic!("{toml}: {other:?}"),
        }
    }
}

#[test]
fn public_origin() {
    for (url, origin) in [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("https://Court.Example/", "https://court.example"),
        ("https://court.example:443/sworn", "https://court.example"),
        ("http://court.example:80", "http://court.example"),
        ("https://court.example:8443", "https://court.example:8443"),
    ] {
        assert_eq!(origin_of(url), origin, "{url}");
    }
}

#[test]
fn rejects_bad_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, "[server]\nbnd = 1\n").unwrap();
    assert!(matches!(
        Config::load(Some(&path), &no_env),
        Err(ConfigError::Parse { .. })
    ));
    let env = |k: &str| (k == "SWORN_UDP_PORT").then(|| "x".to_owned());
    assert!(matches!(
        Config::load(None, &env),
        Err(ConfigError::Env { .. })
    ));
    let env = |k: &str| (k == "SWORN_TLS_MODE").then(|| "files".to_owned());
    assert!(matches!(
        Config::load(None, &env),
        Err(ConfigError::Invalid { .. })
    ));
}

#[test]
fn database_url_defaults_to_sqlite_in_the_data_dir_and_never_echoes_a_password() {
    let c = Config::load(None, &no_env).unwrap();
    assert!(matches!(c.database, crate::store::Database::DataDir));
    let env = |k: &str| {
        (k == "SWORN_DATABASE_URL").then(|| "postgres://sworn:hunter2@db.example/sworn".to_owned())
    };
    let c = Config::load(None, &env).unwrap();
    assert!(matches!(c.database, crate::store::Database::Postgres(_)));
    assert!(!format!("{c:?}").contains("hunter2"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sworn.toml");
    std::fs::write(&path, "[database]\nurl = \"mysql://u:hunter2@h/db\"\n").unwrap();
    match Config::load(Some(&path), &no_env) {
        Err(
            e @ ConfigError::Invalid {
                key: "database.url",
                ..
            },
        ) => {
            assert!(!e.to_string().contains("hunter2"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_cluster_node_needs_all_its_keys_postgresql_and_a_long_secret_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("cluster-secret");
    std::fs::write(&secret, "0123456789abcdef0123456789abcdef-cluster\n").unwrap();
    let short = dir.path().join("short-secret");
    std::fs::write(&short, "too short").unwrap();
    let pg = "postgres://sworn@db.example/sworn";
    let env_of = |vars: Vec<(&'static str, String)>| {
        move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone())
    };
    let full = |url: &str, id: &str, secret: &std::path::Path| {
        vec![
            ("SWORN_DATABASE_URL", pg.to_owned()),
            ("SWORN_NODE_ID", id.to_owned()),
            ("SWORN_INTERNAL_URL", url.to_owned()),
            ("SWORN_CLUSTER_SECRET_FILE", secret.display().to_string()),
        ]
    };
    // None of them: one server.
    assert!(Config::load(None, &no_env).unwrap().cluster.is_none());
    // All of them.
    let c = Config::load(
        None,
        &env_of(full("http://10.0.0.2:8080/", "node-2", &secret)),
    )
    .unwrap();
    let cl = c.cluster.clone().unwrap();
    assert_eq!(cl.node_id, "node-2");
    assert_eq!(cl.internal_url, "http://10.0.0.2:8080");
    assert_eq!(cl.secret, b"0123456789abcdef0123456789abcdef-cluster");
    assert!(
        !format!("{c:?}").contains("0123456789abcdef"),
        "the secret is not printed"
    );
    // Each refusal names its key.
    let refused = |vars: Vec<(&'static str, String)>| match Config::load(None, &env_of(vars)) {
        Err(ConfigError::Invalid { key, .. }) => key,
        other => panic!("{other:?}"),
    };
    let missing = dir.path().join("missing");
    for (url, id, file, key) in [
        ("http://10.0.0.2:8080", "Node_2", &secret, "cluster.node_id"),
        ("10.0.0.2:8080", "node-2", &secret, "cluster.internal_url"),
        (
            "http://10.0.0.2:8080/x",
            "node-2",
            &secret,
            "cluster.internal_url",
        ),
        (
            "http://10.0.0.2:8080",
            "node-2",
            &short,
            "cluster.secret_file",
        ),
        (
            "http://10.0.0.2:8080",
            "node-2",
            &missing,
            "cluster.secret_file",
        ),
    ] {
        assert_eq!(
            refused(full(url, id, file)),
            key,
            "{url} {id} {}",
            file.display()
        );
    }
    let mut partial = full("http://10.0.0.2:8080", "node-2", &secret);
    partial.retain(|(k, _)| *k != "SWORN_INTERNAL_URL");
    assert_eq!(refused(partial), "cluster.internal_url");
    // SQLite: no cluster.
    let mut sqlite = full("http://10.0.0.2:8080", "node-2", &secret);
    sqlite.retain(|(k, _)| *k != "SWORN_DATABASE_URL");
    assert_eq!(refused(sqlite), "cluster.node_id");
}

#[test]
fn storage_defaults_to_the_data_dir_reads_its_secret_from_a_file_and_never_echoes_it() {
    let c = Config::load(None, &no_env).unwrap();
    assert!(matches!(c.storage, StorageConfig::Local));
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("s3-secret");
    std::fs::write(&secret, "hunter2-s3-secret\n").unwrap();
    let secret_path = secret.to_str().unwrap().to_owned();
    let env = |k: &str| match k {
        "SWORN_STORAGE_URL" => Some("s3://sworn-evidence/paris".to_owned()),
        "SWORN_STORAGE_ENDPOINT" => Some("https://s3.court.example".to_owned()),
        "SWORN_STORAGE_REGION" => Some("garage".to_owned()),
        "SWORN_STORAGE_ACCESS_KEY_ID" => Some("GK0123".to_owned()),
        "SWORN_STORAGE_SECRET_ACCESS_KEY_FILE" => Some(secret_path.clone()),
        _ => None,
    };
    let c = Config::load(None, &env).unwrap();
    let StorageConfig::S3(s) = &c.storage else {
        panic!("{:?}", c.storage);
    };
    assert_eq!(s.secret_access_key.expose(), "hunter2-s3-secret");
    assert_eq!(
        (s.bucket.as_str(), s.prefix.as_str(), s.region.as_str()),
        ("sworn-evidence", "paris", "garage")
    );
    assert!(!format!("{c:?}").contains("hunter2"));
    assert!(c.warnings().is_empty());
    // Half a configuration is refused by key name.
    let path = dir.path().join("sworn.toml");
    std::fs::write(&path, "[storage]\naccess_key_id = \"GK0123\"\n").unwrap();
    assert!(matches!(
        Config::load(Some(&path), &no_env),
        Err(ConfigError::Invalid {
            key: "storage.access_key_id",
            ..
        })
    ));
    std::fs::write(
        &path,
        "[storage]\nurl = \"s3://sworn-evidence\"\naccess_key_id = \"GK0123\"\n",
    )
    .unwrap();
    assert!(matches!(
        Config::load(Some(&path), &no_env),
        Err(ConfigError::Invalid {
            key: "storage.secret_access_key_file",
            ..
        })
    ));
    // Plain HTTP off this machine is allowed, with a warning.
    std::fs::write(
        &path,
        format!("[storage]\nurl = \"s3://sworn-evidence\"\nendpoint = \"http://10.0.0.5:3900\"\naccess_key_id = \"GK0123\"\nsecret_access_key_file = \"{secret_path}\"\n"),
    )
    .unwrap();
    let c = Config::load(Some(&path), &no_env).unwrap();
    assert_eq!(c.warnings().len(), 1, "{:?}", c.warnings());
}
