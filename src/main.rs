//! `sworn`: thin binary. Parses the command line, sets up logging, calls the library.

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use std::io::Read;
use std::path::PathBuf;
use sworn::app::App;
use sworn::config::Config;
use sworn::domain::{StaffRole, UserId};
use sworn::store::Store;

#[derive(Parser)]
#[command(
    name = "sworn",
    version,
    about = "Court hearings by video link with a verifiable evidence record"
)]
struct Cli {
    /// Configuration file (TOML). Environment variables SWORN_* override it.
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Data directory (database, keys, recordings). Default ./sworn-data.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve,
    /// Manage staff accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage courts (the unit hearings and staff accounts belong to).
    Court {
        #[command(subcommand)]
        command: CourtCommand,
    },
    /// The media nodes of a cluster (PostgreSQL; README "Deploying").
    Node {
        #[command(subcommand)]
        command: NodeCommand,
    },
    /// The server's signing key.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// The custody log of retrievals.
    Custody {
        #[command(subcommand)]
        command: CustodyCommand,
    },
    /// Evidence records (RFC 4998) that keep sealed bundles provable after the TSA
    /// certificates and hash algorithms of today age.
    Archive {
        #[command(subcommand)]
        command: ArchiveCommand,
    },
    /// Verify an evidence bundle offline (same as sworn-verify).
    Verify {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

#[derive(Subcommand)]
enum ArchiveCommand {
    /// Make or renew a sealed bundle's evidence record: the record's last hash algorithm
    /// makes a time-stamp renewal, another one a hash-tree renewal. Exit 0 done,
    /// 1 refused, 2 error.
    Renew(sworn::archive_cli::RenewArgs),
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Print the public key, its fingerprint and the signed-note verifier key.
    Show,
    /// Replace the server key by a new one (the server must be stopped). The old key
    /// signs the new one into the key history (keys/history.json, published at
    /// /.well-known/sworn/key-history.json); its private half is destroyed. Bundles
    /// sealed before still verify against the history.
    Rotate,
    /// Print the key history document (sworn-key-history/1), for `--trust`.
    History,
}

#[derive(Subcommand)]
enum CustodyCommand {
    /// Check the whole custody log (signatures, roots, time-stamps). Exit 0 valid, 1 invalid.
    Verify,
}

#[derive(Subcommand)]
enum NodeCommand {
    /// List the nodes: id, internal URL, live or not, draining, hearings open on it.
    List,
    /// Place no new hearing on a node (its open hearings go on until they close).
    Drain {
        #[arg(long)]
        id: String,
    },
    /// Place new hearings on a drained node again.
    Undrain {
        #[arg(long)]
        id: String,
    },
}

#[derive(Subcommand)]
enum CourtCommand {
    /// List courts and how many accounts each has.
    List,
    /// Rename a court (its accounts and hearings stay with it).
    Rename {
        #[arg(long)]
        from: String,
        #[arg(long)]
        to: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a staff account.
    Add {
        #[arg(long)]
        username: String,
        #[arg(long, value_parser = ["judge", "clerk", "prosecutor", "defence", "admin"])]
        role: String,
        /// The court the account belongs to (created if new). Required once the server
        /// has more than one court; otherwise the only court.
        #[arg(long)]
        court: Option<String>,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Set a new password (read from standard input).
    Passwd {
        #[arg(long)]
        username: String,
    },
    /// Disable an account: its sessions end at once and it can no longer sign in.
    Disable {
        #[arg(long)]
        username: String,
    },
    /// Enable a disabled account again.
    Enable {
        #[arg(long)]
        username: String,
    },
    /// List staff accounts.
    List,
}

fn load_config(cli: &Cli) -> Result<Config> {
    let mut config = Config::load(cli.config.as_deref(), &|k| std::env::var(k).ok())?;
    if let Some(d) = &cli.data_dir {
        config.data_dir = d.clone();
    }
    Ok(config)
}

/// The configured metadata store (the data directory is created if missing).
async fn open_store(cli: &Cli) -> Result<Store> {
    let config = load_config(cli)?;
    std::fs::create_dir_all(&config.data_dir).context("creating the data directory")?;
    Ok(Store::open(&config.database, &config.data_dir).await?)
}

/// A small runtime for the CLI's store commands (the store is async).
fn cli_runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the runtime")
}

/// `sworn archive renew`: a bundle directory with the TSA of the flags, or a hearing of
/// the data directory with the configured TSA (unless the flags name one).
fn archive_renew(cli: &Cli, args: &sworn::archive_cli::RenewArgs) -> Result<i32> {
    let flagged = sworn::archive_cli::stamper_from_args(args).map_err(anyhow::Error::msg)?;
    let (bundle, stamper, key) = match (&args.bundle, &args.hearing) {
        (Some(dir), _) => {
            let Some(tsa) = flagged else {
                bail!("give the TSA: --tsa-url URL --tsa-chain PEM, or --builtin-tsa DIR");
            };
            (dir.clone(), std::sync::Arc::new(tsa), None)
        }
        (None, Some(hearing)) => {
            let config = load_config(cli)?;
            let id = sworn::domain::HearingId::parse(hearing)
                .ok_or_else(|| anyhow::anyhow!("not a hearing id: {hearing}"))?;
            let dir = sworn::paths::DataPaths::new(&config.data_dir)
                .hearing(&id)
                .bundle();
            if !dir.is_dir() {
                bail!(
                    "hearing {hearing} has no sealed bundle in {}",
                    config.data_dir.display()
                );
            }
            let (key, configured) = sworn::app::load_identities(&config)?;
            let tsa = flagged.map(std::sync::Arc::new).unwrap_or(configured);
            (dir, tsa, Some(key))
        }
        (None, None) => bail!("give a bundle directory or --hearing ID"),
    };
    let code = sworn::archive_cli::renew(&bundle, &args.hash, stamper.as_ref());
    // The portal's cached report of the hearing now has another archive line.
    if let (Some(key), sworn::archive_cli::EXIT_DONE) = (key, code) {
        if let Err(e) = sworn::evidence::report_cache::refresh(&bundle, &key) {
            eprintln!("warning: the portal's cached report was not refreshed: {e}");
        }
    }
    Ok(code)
}

fn main() {
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            2
        }
    };
    std::process::exit(code);
}

fn run(cli: Cli) -> Result<i32> {
    match &cli.command {
        Command::Verify { args } => {
            let mut full = vec!["sworn verify".to_owned()];
            full.extend(args.iter().cloned());
            Ok(sworn::verify_cli::main_with_args(full))
        }
        Command::Archive {
            command: ArchiveCommand::Renew(args),
        } => archive_renew(&cli, args),
        Command::User { command } => {
            cli_runtime()?
                .block_on(async { user_command(&open_store(&cli).await?, command).await })?;
            Ok(0)
        }
        Command::Court { command } => {
            cli_runtime()?
                .block_on(async { court_command(&open_store(&cli).await?, command).await })?;
            Ok(0)
        }
        Command::Node { command } => {
            cli_runtime()?
                .block_on(async { node_command(&open_store(&cli).await?, command).await })?;
            Ok(0)
        }
        Command::Key {
            command: KeyCommand::Show,
        } => {
            let config = load_config(&cli)?;
            let (key, _) = sworn::app::load_identities(&config)?;
            println!("name:        {}", key.name());
            println!("fingerprint: {}", key.fingerprint());
            println!("vkey:        {}", key.vkey());
            print!("{}", key.public_pem());
            Ok(0)
        }
        Command::Key {
            command: KeyCommand::Rotate,
        } => {
            let config = load_config(&cli)?;
            let _lock = sworn::app::lock_data_dir(&config.data_dir)?;
            let r = sworn::evidence::key_rotation::rotate(
                &config.data_dir.join("keys").join("server.key"),
                &config.server_name,
                std::time::SystemTime::now(),
            )?;
            println!("retired:     {}", r.old);
            println!("new key:     {}", r.new);
            println!("history:     {} keys (keys/history.json)", r.keys);
            Ok(0)
        }
        Command::Key {
            command: KeyCommand::History,
        } => {
            let config = load_config(&cli)?;
            let (key, _) = sworn::app::load_identities(&config)?;
            let h = key.history().context("the server key has no history")?;
            println!("{}", String::from_utf8_lossy(&h.bytes));
            Ok(0)
        }
        Command::Custody {
            command: CustodyCommand::Verify,
        } => {
            let config = load_config(&cli)?;
            let (key, tsa) = sworn::app::load_identities(&config)?;
            match sworn::custody::verify_dir(
                &sworn::paths::DataPaths::new(&config.data_dir).custody(),
                &key.note_verifiers(),
                tsa.all_chains_pem().as_bytes(),
            ) {
                Ok(r) => {
                    println!(
                        "custody log VALID: {} entries, {} signed checkpoints, {} time-stamps",
                        r.entries, r.checkpoints, r.timestamps
                    );
                    Ok(0)
                }
                Err(e) => {
                    println!("custody log INVALID: {e}");
                    Ok(1)
                }
            }
        }
        Command::Serve => {
            let config = load_config(&cli)?;
            init_tracing();
            let mut rt = tokio::runtime::Builder::new_multi_thread();
            if let Some(n) = config.threads {
                rt.worker_threads(n);
            }
            let rt = rt.enable_all().build().context("starting the runtime")?;
            rt.block_on(serve(config))?;
            Ok(0)
        }
    }
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("SWORN_LOG")
        .unwrap_or_else(|_| EnvFilter::new(sworn::app::DEFAULT_LOG_FILTER));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .init();
}

async fn serve(config: Config) -> Result<()> {
    let bind = config.bind;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("listening on {bind}"))?;
    let public_url = config.public_url.clone();
    let app = App::build(config).await?;
    let udp = app.rtc.udp_port();
    println!("sworn is running at {public_url} (media on UDP port {udp})");
    if let Some(link) = app.first_start_link().await? {
        println!(
            "Create the first judge account with this one-time link (valid 24 hours):\n  {link}"
        );
    } else {
        println!("Sign in at {public_url}/signin");
    }
    app.run_until(listener, shutdown_signal()).await?;
    println!("sworn stopped");
    Ok(())
}

/// Resolves with the name of the signal that asks the server to stop.
async fn shutdown_signal() -> String {
    let ctrl_c = tokio::signal::ctrl_c();
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = ctrl_c.await;
            return "SIGINT".into();
        }
    };
    tokio::select! {
        _ = ctrl_c => "SIGINT".into(),
        _ = term.recv() => "SIGTERM".into(),
    }
}

async fn user_command(store: &Store, command: &UserCommand) -> Result<()> {
    match command {
        UserCommand::Add {
            username,
            role,
            court,
            password_stdin,
        } => {
            let role: StaffRole = role.parse().map_err(|_| anyhow::anyhow!("unknown role"))?;
            sworn::http::auth::username_acceptable(username).map_err(|e| anyhow::anyhow!("{e}"))?;
            let court = court_for_new_account(store, court.as_deref()).await?;
            let (password, generated) = if *password_stdin {
                (read_password()?, false)
            } else {
                (sworn::secrets::new_token(), true)
            };
            sworn::http::auth::password_acceptable(&password)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let hash = sworn::http::auth::hash_password(&password)?;
            let id = UserId::from_trusted(sworn::secrets::new_id());
            match store
                .create_user(
                    &id,
                    username,
                    role,
                    &hash,
                    &court.id,
                    sworn::secrets::now_unix(),
                )
                .await
            {
                Ok(()) => {}
                Err(sworn::store::StoreError::Conflict) => {
                    bail!("a user named {username} already exists")
                }
                Err(e) => return Err(e.into()),
            }
            println!("added {username} ({}) to {}", role.as_str(), court.name);
            if generated {
                println!("password (shown once): {password}");
            }
        }
        UserCommand::Passwd { username } => {
            let password = read_password()?;
            sworn::http::auth::password_acceptable(&password)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            store
                .set_password(username, &sworn::http::auth::hash_password(&password)?)
                .await
                .map_err(|_| anyhow::anyhow!("no user named {username}"))?;
            println!("password changed for {username}; their sessions have ended");
        }
        UserCommand::Disable { username } | UserCommand::Enable { username } => {
            let disable = matches!(command, UserCommand::Disable { .. });
            match store.set_disabled(username, disable).await {
                Err(sworn::store::StoreError::NotFound) => bail!("no user named {username}"),
                other => other?,
            }
            if disable {
                println!("disabled {username}; their sessions have ended");
            } else {
                println!("enabled {username}");
            }
        }
        UserCommand::List => {
            let courts = store.list_courts().await?;
            for u in store.list_users().await? {
                let disabled = store.user_disabled(&u.username).await?.unwrap_or(false);
                let mark = if disabled { "\tdisabled" } else { "" };
                let court = courts
                    .iter()
                    .find(|c| c.id == u.court_id)
                    .map_or("?", |c| c.name.as_str());
                println!("{}\t{}\t{court}{mark}", u.username, u.role.as_str());
            }
        }
    }
    Ok(())
}

/// The court a new account goes to: `--court NAME` (created if new), or, without it, the
/// server's only court. With several courts the flag is required: an account silently
/// put in the wrong court would see that court's hearings.
async fn court_for_new_account(
    store: &Store,
    name: Option<&str>,
) -> Result<sworn::store::CourtRow> {
    match name {
        Some(name) => {
            if !sworn::store::court_name_acceptable(name) {
                bail!("a court name is 1 to 200 characters, no control characters");
            }
            let (court, created) = store.ensure_court(name, sworn::secrets::now_unix()).await?;
            if created {
                println!("created court {}", court.name);
            }
            Ok(court)
        }
        None => {
            let mut courts = store.list_courts().await?;
            match (courts.pop(), courts.is_empty()) {
                (Some(only), true) => Ok(only),
                _ => bail!("this server has several courts: name one with --court"),
            }
        }
    }
}

async fn court_command(store: &Store, command: &CourtCommand) -> Result<()> {
    match command {
        CourtCommand::List => {
            let users = store.list_users().await?;
            for c in store.list_courts().await? {
                let n = users.iter().filter(|u| u.court_id == c.id).count();
                println!("{}\t{n} account(s)", c.name);
            }
        }
        CourtCommand::Rename { from, to } => {
            if !sworn::store::court_name_acceptable(to) {
                bail!("a court name is 1 to 200 characters, no control characters");
            }
            match store.rename_court(from, to).await {
                Err(sworn::store::StoreError::NotFound) => bail!("no court named {from}"),
                Err(sworn::store::StoreError::Conflict) => bail!("a court named {to} exists"),
                other => other?,
            }
            println!("renamed {from} to {to}");
        }
    }
    Ok(())
}

async fn node_command(store: &Store, command: &NodeCommand) -> Result<()> {
    match command {
        NodeCommand::List => {
            for n in store.nodes(sworn::cluster::LIVE_WITHIN).await? {
                println!(
                    "{}\t{}\t{}\t{}\t{} open hearing(s)",
                    n.id,
                    n.internal_url,
                    if n.live { "live" } else { "down" },
                    if n.draining { "draining" } else { "placing" },
                    n.open_hearings
                );
            }
        }
        NodeCommand::Drain { id } | NodeCommand::Undrain { id } => {
            let drain = matches!(command, NodeCommand::Drain { .. });
            if !store.set_node_draining(id, drain).await? {
                bail!("no node {id}");
            }
            let what = if drain {
                "draining"
            } else {
                "placing hearings again"
            };
            println!("node {id}: {what}");
        }
    }
    Ok(())
}

fn read_password() -> Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .take(4096)
        .read_to_string(&mut s)
        .context("reading the password from standard input")?;
    Ok(s.trim_end_matches(['\r', '\n']).to_owned())
}
