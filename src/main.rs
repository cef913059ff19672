//! `hongyan` — serve the app and its API (`hongyan --help`), or run an operator's command
//! (`hongyan help <command>`): `migrate`, `create-admin`, `import-roster`, `backup`, `restore`; and for
//! the benchmarks, `seed-scale` (a district-sized database for `make bench-scale`), `seed-storm` and
//! `storm` (`make bench-storm`). Every option of the server can also be set by an environment variable,
//! named in `--help`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use hongyan::api::Settings;
use hongyan::server::{Config, Location, bench_postgres, ops, run, scale, storm};

#[derive(Parser)]
#[command(
    name = "hongyan",
    about = "红雁: the app and its API",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: Serve,
}

/// The database the server and the operators' commands use.
#[derive(Args)]
struct Db {
    /// The SQLite database file, or a PostgreSQL database (postgres://user@host/database, brought up to
    /// date by `hongyan migrate`; backup and restore are PostgreSQL's own tools there)
    #[arg(long, env = "HONGYAN_DB", default_value = "hongyan.db")]
    db: Location,
}

/// The server's options. Read as text and checked when the server starts (`config`), so that a bad
/// value in the environment stops the server with a clear message but not the operators' commands.
#[derive(Args)]
struct Serve {
    /// Port to listen on
    #[arg(long, env = "HONGYAN_PORT", default_value = "3000")]
    port: String,
    /// Address to listen on
    #[arg(long, env = "HONGYAN_HOST", default_value = "127.0.0.1")]
    host: String,
    #[command(flatten)]
    db: Db,
    /// The built app (cargo-leptos' output)
    #[arg(long, env = "HONGYAN_SITE", default_value = "target/site")]
    site: PathBuf,
    /// Seed demo accounts into an empty database (also HONGYAN_DEMO=1)
    #[arg(long)]
    demo: bool,
    /// Warn a member whose unsent records are this many days old (their browser may evict them): 1 to
    /// 365. This and the next four give a new database its first values; then the district admin sets
    /// them (我的 → 签到与提醒设置)
    #[arg(long, env = "HONGYAN_AT_RISK_DAYS", default_value = "2")]
    at_risk_days: String,
    /// How long each rotating 签到码 is shown, in seconds: 10 to 600 (a new database's first value)
    #[arg(long, env = "HONGYAN_CODE_STEP_SECS", default_value = "60")]
    code_step_secs: String,
    /// How many days after an activity a 补签 may be asked: 0 to 60 (a new database's first value)
    #[arg(long, env = "HONGYAN_MAKEUP_DAYS", default_value = "3")]
    makeup_days: String,
    /// How many days back an activity may be recorded: 1 to 366 (a new database's first value)
    #[arg(long, env = "HONGYAN_BACKDATE_DAYS", default_value = "30")]
    backdate_days: String,
    /// After how many days without participation a member is on the lead's list: 1 to 3660 (a new
    /// database's first value)
    #[arg(long, env = "HONGYAN_INACTIVE_DAYS", default_value = "90")]
    inactive_days: String,
    /// Reverse proxies whose X-Forwarded-For names the caller (throttles and the security log then see
    /// real addresses), separated by commas
    #[arg(
        long = "trusted-proxy",
        env = "HONGYAN_TRUSTED_PROXIES",
        default_value = ""
    )]
    trusted_proxies: String,
    /// The security log [default: the database's path + .security.log]
    #[arg(long, env = "HONGYAN_SECURITY_LOG")]
    security_log: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Apply migrations and exit
    Migrate(Db),
    /// Create the first district admin; the password comes from HONGYAN_ADMIN_PASSWORD or the first
    /// line of stdin
    CreateAdmin {
        #[arg(long)]
        phone: String,
        #[arg(long)]
        name: String,
        #[command(flatten)]
        db: Db,
    },
    /// Import the department's roster (.xlsx or CSV: UTF-8, GBK or UTF-16): every row is checked, and written
    /// only when none has a problem
    ImportRoster {
        file: PathBuf,
        /// Check every row, write nothing
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        db: Db,
    },
    /// An online, consistent copy of the live database
    Backup {
        file: PathBuf,
        #[command(flatten)]
        db: Db,
    },
    /// Replace the database with a backup (the server stopped)
    Restore {
        file: PathBuf,
        #[command(flatten)]
        db: Db,
    },
    /// Check the database: references, the counts the triggers keep, the server sequence (on SQLite also
    /// the file's structure). Exits non-zero on any problem
    Check(Db),
    /// After PostgreSQL was restored to an earlier point by its own tools (point-in-time recovery, or a
    /// failover that lost transactions): phones that pulled what was lost resync and send it again.
    /// Restart the app servers after it
    MarkRestored(Db),
    /// Copy a SQLite database, whole, into a new PostgreSQL database, with the server stopped: how a
    /// deployment moves to several servers. Phones carry on where they were
    CopyToPostgres {
        /// postgres://user:password@host:5432/database (new and empty; it is migrated first). Also
        /// HONGYAN_COPY_TO, which keeps the password out of the process list
        #[arg(env = "HONGYAN_COPY_TO")]
        to: String,
        #[command(flatten)]
        db: Db,
    },
    /// The storm of `make bench-storm`: a district whose every member has one sign-in to send, in a new
    /// directory (its database, and the requests the load generator sends)
    SeedStorm {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value_t = 3_000)]
        members: usize,
    },
    /// Sends a storm seeded by `seed-storm` to a server running on its database: every member's sign-in,
    /// the same again as retries, then every member pulls
    Storm {
        #[arg(long)]
        dir: PathBuf,
        /// host:port of the server (several, separated by commas: the connections take turns)
        #[arg(long)]
        server: String,
        /// Requests in flight at once (one connection each)
        #[arg(long, default_value_t = 64)]
        in_flight: usize,
    },
    /// A benchmark on PostgreSQL: a SQLite fixture copied into a throwaway cluster that flushes every
    /// commit to disk, app servers on it, and `command` run with `sh -c` against them (their addresses in
    /// HONGYAN_SERVERS, separated by commas)
    BenchOnPostgres {
        /// The fixture (`seed-storm`'s or `seed-scale`'s database); copied, and retired as every copy is
        #[arg(long)]
        from: PathBuf,
        #[arg(long, default_value_t = 1)]
        servers: usize,
        /// The built app the servers serve
        #[arg(long, default_value = "target/site")]
        site: PathBuf,
        command: String,
    },
    /// A district-sized database for `make bench-scale`
    SeedScale {
        /// A new database file
        #[arg(long)]
        db: PathBuf,
        #[arg(long, default_value_t = scale::Shape::default().members)]
        members: usize,
        /// [default: one per fifty members]
        #[arg(long)]
        branches: Option<usize>,
        #[arg(long, default_value_t = scale::Shape::default().committees)]
        committees: usize,
        #[arg(long, default_value_t = scale::Shape::default().months)]
        months: u32,
        /// Months whose every record is made one by one (the rest in bulk)
        #[arg(long, default_value_t = scale::Shape::default().detailed_months)]
        detailed_months: u32,
    },
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "hongyan=info".into()),
        )
        .init();
    let cli = Cli::parse();
    let multi_thread = !matches!(cli.command, Some(Command::SeedScale { .. }));
    // seed-scale runs on one thread: its records are applied one after another, and handing each
    // statement between threads would cost more than the statement.
    let runtime = if multi_thread {
        tokio::runtime::Runtime::new()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    };
    let runtime = match runtime {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the runtime: {e}")),
    };
    match cli.command {
        None => match config(cli.serve) {
            Err(e) => fail(e),
            Ok(config) => match runtime.block_on(run(config)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("hongyan: {e}");
                    ExitCode::FAILURE
                }
            },
        },
        Some(command) => match runtime.block_on(operate(command)) {
            Ok(done) => {
                println!("{done}");
                ExitCode::SUCCESS
            }
            Err(e) => fail(e.to_string()),
        },
    }
}

fn fail(message: String) -> ExitCode {
    eprintln!("hongyan: {message}");
    ExitCode::from(2)
}

/// The server's configuration from its options, or what is wrong with them.
fn config(serve: Serve) -> Result<Config, String> {
    let port: u16 = (serve.port.parse()).map_err(|_| format!("bad port {}", serve.port))?;
    let host: IpAddr = (serve.host.parse()).map_err(|_| format!("bad host {}", serve.host))?;
    let trusted_proxies = serve
        .trusted_proxies
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().map_err(|_| format!("bad --trusted-proxy {p}")))
        .collect::<Result<Vec<IpAddr>, String>>()?;
    // The first values a new database takes (see server::settings).
    let mut settings = Settings::default();
    let typed = [
        &serve.code_step_secs,
        &serve.makeup_days,
        &serve.backdate_days,
        &serve.inactive_days,
        &serve.at_risk_days,
    ];
    for (field, value) in Settings::FIELDS.iter().zip(typed) {
        let ms = field.parse(value).map_err(|_| {
            format!(
                "bad --{} {value} ({} to {})",
                field.flag, field.min, field.max
            )
        })?;
        (field.set)(&mut settings, ms);
    }
    let db = serve.db.db;
    let security_log = serve.security_log.unwrap_or_else(|| match &db {
        Location::File(path) => {
            let mut log = path.clone().into_os_string();
            log.push(".security.log");
            log.into()
        }
        // Each server writes its own; with several servers, set the path per server.
        Location::Postgres(_) => PathBuf::from("hongyan.security.log"),
    });
    Ok(Config {
        addr: SocketAddr::new(host, port),
        db,
        site_dir: serve.site,
        demo: serve.demo || std::env::var("HONGYAN_DEMO").is_ok_and(|v| v == "1"),
        trusted_proxies,
        security_log,
        settings,
    })
}

/// Runs one operator's command; what it did, for the operator.
async fn operate(command: Command) -> Result<String, Box<dyn std::error::Error>> {
    match command {
        Command::Migrate(Db { db }) => {
            let n = ops::migrate(&db).await?;
            Ok(format!("{db}: {n} migrations applied"))
        }
        Command::CreateAdmin {
            phone,
            name,
            db: Db { db },
        } => {
            let password = match std::env::var("HONGYAN_ADMIN_PASSWORD") {
                Ok(p) => p,
                Err(_) => {
                    let mut line = String::new();
                    std::io::stdin().read_line(&mut line)?;
                    line.trim_end_matches(['\r', '\n']).to_owned()
                }
            };
            let id = ops::create_admin(&db, &phone, &name, &password).await?;
            Ok(format!(
                "created district admin {name} ({phone}), user {id}"
            ))
        }
        Command::ImportRoster {
            file,
            dry_run,
            db: Db { db },
        } => {
            let report = ops::import_roster(&db, &file, dry_run).await?;
            let mut out = String::new();
            for row in &report.rows {
                let (line, what, detail) = (row.line, row.outcome.label(), &row.detail);
                let (name, phone, branch) = (&row.name, &row.phone, &row.branch);
                out += &format!("第{line}行 {name} {phone} {branch}：{what} {detail}\n");
            }
            if !report.ignored_columns.is_empty() {
                out += &format!("未读取的列：{}\n", report.ignored_columns.join("、"));
            }
            let verdict = if report.applied && report.created + report.updated == 0 {
                "nothing to change"
            } else if report.applied {
                "written"
            } else if report.dry_run {
                "dry run, nothing written"
            } else {
                "nothing written; fix the rows above and import again"
            };
            out += &format!(
                "{} rows: {} new, {} updated, {} unchanged, {} with problems — {verdict}",
                report.total, report.created, report.updated, report.unchanged, report.problems,
            );
            if report.problems > 0 {
                return Err(out.into());
            }
            Ok(out)
        }
        Command::Backup {
            file,
            db: Db { db },
        } => {
            let db = db.file()?;
            ops::backup(db, &file).await?;
            Ok(format!(
                "backed up {} to {} (integrity ok)",
                db.display(),
                file.display()
            ))
        }
        Command::Restore {
            file,
            db: Db { db },
        } => {
            let db = db.file()?;
            let (db_shown, file_shown) = (db.display(), file.display());
            let restored = ops::restore(db, &file).await?;
            let previous = match restored.previous {
                Some(kept) => format!("; the previous database is {}", kept.display()),
                None => String::new(),
            };
            Ok(format!(
                "restored {db_shown} from {file_shown}{previous}\n\
                 its history ends at sequence {}; the sequence resumes at {}, and phones that pulled \
                 beyond the backup resync and send their records again",
                restored.kept_upto, restored.resumed_from
            ))
        }
        Command::Check(Db { db }) => {
            let problems = ops::check_database(&db).await?;
            if problems.is_empty() {
                Ok(format!(
                    "{db}: sound (references, kept counts, the server sequence)"
                ))
            } else {
                Err(format!("{db}: {}", problems.join("; ")).into())
            }
        }
        Command::MarkRestored(Db { db }) => {
            let (kept_upto, resumed_from) = ops::mark_restored(&db).await?;
            Ok(format!(
                "{db}: its history ends at sequence {kept_upto}; the sequence resumes at {resumed_from}, \
                 and phones that pulled beyond it resync and send their records again; restart the app servers"
            ))
        }
        Command::CopyToPostgres { to, db: Db { db } } => {
            let from = db.file()?;
            let copied = ops::copy_to_postgres(from, &to.parse()?).await?;
            let rows: u64 = copied.iter().map(|(_, n)| n).sum();
            Ok(format!(
                "copied {} into PostgreSQL: {rows} rows in {} tables, each counted on both sides; \
                 serve with --db postgres://…",
                from.display(),
                copied.len()
            ))
        }
        Command::SeedStorm { dir, members } => {
            std::fs::create_dir_all(&dir)?;
            storm::seed(&dir, members).await
        }
        Command::Storm {
            dir,
            server,
            in_flight,
        } => {
            let servers: Vec<String> = server.split(',').map(str::to_owned).collect();
            storm::run(&servers, &dir, in_flight).await
        }
        Command::BenchOnPostgres {
            from,
            servers,
            site,
            command,
        } => bench_postgres::run(&from, servers, &site, &command).await,
        Command::SeedScale {
            db,
            members,
            branches,
            committees,
            months,
            detailed_months,
        } => {
            // Fifty members a branch unless told otherwise.
            let branches = branches.unwrap_or((members / 50).max(1));
            let shape = scale::Shape {
                members,
                branches,
                committees: committees.min(branches),
                months,
                detailed_months,
                ..scale::Shape::default()
            };
            let started = std::time::Instant::now();
            let progress =
                |line: String| eprintln!("[{:>5.0} s] {line}", started.elapsed().as_secs_f64());
            let built = scale::seed(&db, &shape, progress).await?;
            let s = &built.samples;
            Ok(format!(
                "{}: {} activities, {} records in {:.0} s; log in with password {} as member {}, lead {}, committee admin {}, district admin {}",
                db.display(),
                built.activities,
                built.records,
                started.elapsed().as_secs_f64(),
                scale::PASSWORD,
                s.member,
                s.lead,
                s.committee,
                s.admin
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn options_become_the_servers_configuration_in_milliseconds() {
        let cli = Cli::try_parse_from([
            "hongyan",
            "--db",
            "x.db",
            "--code-step-secs",
            "30",
            "--makeup-days",
            "7",
            "--trusted-proxy",
            "10.0.0.1,10.0.0.2",
        ])
        .unwrap();
        assert!(cli.command.is_none());
        let config = super::config(cli.serve).unwrap();
        assert_eq!(config.settings.code_step_ms, 30_000);
        assert_eq!(config.settings.makeup_window_ms, 7 * 86_400_000);
        assert_eq!(config.settings.at_risk_after_ms, 2 * 86_400_000);
        assert_eq!(config.trusted_proxies.len(), 2);
        assert_eq!(config.security_log, PathBuf::from("x.db.security.log"));
        // Out of range, not an address, and an operator's command mixed with the server's options.
        let server = |args: &[&str]| {
            let cli = Cli::try_parse_from(["hongyan"].iter().chain(args)).unwrap();
            super::config(cli.serve)
        };
        assert_eq!(
            server(&["--code-step-secs", "5"]).unwrap_err(),
            "bad --code-step-secs 5 (10 to 600)"
        );
        assert!(server(&["--inactive-days=-1"]).is_err());
        assert!(server(&["--makeup-days", "0.5"]).is_err(), "whole days");
        assert!(
            server(&["--backdate-days", "0"]).is_err(),
            "0 would refuse every late record"
        );
        assert!(server(&["--trusted-proxy", "proxy.example"]).is_err());
        assert!(server(&["--port", "65536"]).is_err());
        assert!(Cli::try_parse_from(["hongyan", "--port", "1", "migrate"]).is_err());
        // Spaces and empty parts in the list of proxies are what people write.
        let listed = server(&["--trusted-proxy", "10.0.0.1, 10.0.0.2,"]).unwrap();
        assert_eq!(listed.trusted_proxies.len(), 2);
        assert!(
            server(&["--trusted-proxy", ""])
                .unwrap()
                .trusted_proxies
                .is_empty()
        );
    }
}
