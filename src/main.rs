//! `hongyan` — serve the app and its API (`hongyan --help`), or run an operator's command
//! (`hongyan help <command>`): `migrate`, `create-admin`, `import-roster`, `backup`, `restore`, and
//! `seed-scale` (a district-sized database for `make bench-scale`). Every option of the server can also
//! be set by an environment variable, named in `--help`.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use hongyan::api::Settings;
use hongyan::server::{Config, ops, run, scale};

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

/// The database file the server and the operators' commands use.
#[derive(Args)]
struct Db {
    /// The SQLite database file
    #[arg(long, env = "HONGYAN_DB", default_value = "hongyan.db")]
    db: PathBuf,
}

#[derive(Args)]
struct Serve {
    /// Port to listen on
    #[arg(long, env = "HONGYAN_PORT", default_value_t = 3000)]
    port: u16,
    /// Address to listen on
    #[arg(long, env = "HONGYAN_HOST", default_value = "127.0.0.1")]
    host: IpAddr,
    #[command(flatten)]
    db: Db,
    /// The built app (cargo-leptos' output)
    #[arg(long, env = "HONGYAN_SITE", default_value = "target/site")]
    site: PathBuf,
    /// Seed demo accounts into an empty database
    #[arg(long, env = "HONGYAN_DEMO", value_parser = clap::builder::BoolishValueParser::new())]
    demo: bool,
    /// Warn a member whose unsent records are this many days old (their browser may evict them)
    #[arg(long, env = "HONGYAN_AT_RISK_DAYS", default_value_t = 2.0, value_parser = within(0.0, 365.0))]
    at_risk_days: f64,
    /// How long each rotating 签到码 is shown, in seconds
    #[arg(long, env = "HONGYAN_CODE_STEP_SECS", default_value_t = 60.0, value_parser = within(10.0, 600.0))]
    code_step_secs: f64,
    /// How many days after an activity a 补签 may be asked
    #[arg(long, env = "HONGYAN_MAKEUP_DAYS", default_value_t = 3.0, value_parser = within(0.0, 60.0))]
    makeup_days: f64,
    /// How many days back an activity may be recorded
    #[arg(long, env = "HONGYAN_BACKDATE_DAYS", default_value_t = 30.0, value_parser = within(0.0, 366.0))]
    backdate_days: f64,
    /// After how many days without participation a member is on the lead's list
    #[arg(long, env = "HONGYAN_INACTIVE_DAYS", default_value_t = 90.0, value_parser = within(0.0, 3_660.0))]
    inactive_days: f64,
    /// Reverse proxies whose X-Forwarded-For names the caller (throttles and the security log then see
    /// real addresses), separated by commas
    #[arg(
        long = "trusted-proxy",
        env = "HONGYAN_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    trusted_proxies: Vec<IpAddr>,
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
    /// Import the department's roster (.xlsx or CSV, UTF-8 or GBK): every row is checked, and written
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

/// A number of days or seconds within `min..=max`.
fn within(min: f64, max: f64) -> impl Fn(&str) -> Result<f64, String> + Clone {
    move |v| {
        v.parse()
            .ok()
            .filter(|d: &f64| (min..=max).contains(d))
            .ok_or_else(|| format!("{v} is not a number from {min} to {max}"))
    }
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
        None => match runtime.block_on(run(config(cli.serve))) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("hongyan: {e}");
                ExitCode::FAILURE
            }
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

fn config(serve: Serve) -> Config {
    const DAY_MS: f64 = 86_400_000.0;
    let ms = |value: f64, unit_ms: f64| (value * unit_ms) as i64;
    let security_log = serve.security_log.unwrap_or_else(|| {
        let mut log = serve.db.db.clone().into_os_string();
        log.push(".security.log");
        log.into()
    });
    Config {
        addr: SocketAddr::new(serve.host, serve.port),
        db_path: serve.db.db,
        site_dir: serve.site,
        demo: serve.demo,
        trusted_proxies: serve.trusted_proxies,
        security_log,
        settings: Settings {
            at_risk_after_ms: ms(serve.at_risk_days, DAY_MS),
            code_step_ms: ms(serve.code_step_secs, 1_000.0),
            makeup_window_ms: ms(serve.makeup_days, DAY_MS),
            backdate_limit_ms: ms(serve.backdate_days, DAY_MS),
            inactive_after_ms: ms(serve.inactive_days, DAY_MS),
        },
    }
}

/// Runs one operator's command; what it did, for the operator.
async fn operate(command: Command) -> Result<String, Box<dyn std::error::Error>> {
    match command {
        Command::Migrate(Db { db }) => {
            let n = ops::migrate(&db).await?;
            Ok(format!("{}: {n} migrations applied", db.display()))
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
            ops::backup(&db, &file).await?;
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
            let (db_shown, file_shown) = (db.display(), file.display());
            Ok(match ops::restore(&db, &file).await? {
                Some(kept) => format!(
                    "restored {db_shown} from {file_shown}; the previous database is {}",
                    kept.display()
                ),
                None => format!("restored {db_shown} from {file_shown}"),
            })
        }
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
            "0.5",
            "--trusted-proxy",
            "10.0.0.1,10.0.0.2",
        ])
        .unwrap();
        assert!(cli.command.is_none());
        let config = config(cli.serve);
        assert_eq!(config.settings.code_step_ms, 30_000);
        assert_eq!(config.settings.makeup_window_ms, 43_200_000);
        assert_eq!(config.settings.at_risk_after_ms, 2 * 86_400_000);
        assert_eq!(config.trusted_proxies.len(), 2);
        assert_eq!(config.security_log, PathBuf::from("x.db.security.log"));
        // Out of range, and an operator's command mixed with the server's options.
        assert!(Cli::try_parse_from(["hongyan", "--code-step-secs", "5"]).is_err());
        assert!(Cli::try_parse_from(["hongyan", "--inactive-days", "-1"]).is_err());
        assert!(Cli::try_parse_from(["hongyan", "--port", "1", "migrate"]).is_err());
    }
}
