//! `hongyan` — serve the app and its API. Options (each also an environment variable):
//!
//! ```text
//! --port N      HONGYAN_PORT   (3000)
//! --host IP     HONGYAN_HOST   (127.0.0.1)
//! --db PATH     HONGYAN_DB     (hongyan.db)
//! --site DIR    HONGYAN_SITE   (target/site, the cargo-leptos output)
//! --demo        HONGYAN_DEMO=1 seed demo accounts into an empty database
//! --at-risk-days N  HONGYAN_AT_RISK_DAYS (2) warn a member whose unsent records are this old and whose
//!                   browser may evict them
//! --code-step-secs N  HONGYAN_CODE_STEP_SECS (60) how long each rotating 签到码 is shown
//! --makeup-days N     HONGYAN_MAKEUP_DAYS (3) how long after an activity a 补签 may be asked
//! --backdate-days N   HONGYAN_BACKDATE_DAYS (30) how far back an activity may be recorded
//! --inactive-days N   HONGYAN_INACTIVE_DAYS (90) the lead's list of members without participation
//! --trusted-proxy IP[,IP…]  HONGYAN_TRUSTED_PROXIES  reverse proxies whose X-Forwarded-For names the
//!                     caller (throttles and the security log then see real addresses)
//! --security-log PATH HONGYAN_SECURITY_LOG (the database's path + .security.log)
//! ```
//!
//! Operators' commands (each takes `--db PATH` too):
//!
//! ```text
//! hongyan migrate                               apply migrations and exit
//! hongyan create-admin --phone P --name N       the first district admin; password from
//!                                               HONGYAN_ADMIN_PASSWORD or the first line of stdin
//! hongyan import-roster FILE [--dry-run]        the department's roster (.xlsx or CSV, UTF-8 or GBK):
//!                                               every row checked, written only when none has a problem
//! hongyan backup FILE                           online, consistent copy of the live database
//! hongyan restore FILE                          replace the database with a backup (server stopped)
//! hongyan seed-scale --db PATH [--members N] [--branches N] [--committees N] [--months N]
//!                    [--detailed-months N]
//!                                               a district-sized database for `make bench-scale`
//! ```

use std::net::{IpAddr, SocketAddr};

use hongyan::api::Settings;
use hongyan::server::{Config, run};

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "hongyan=info".into()),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(command) = args.first().filter(|a| !a.starts_with('-')) {
        return operate(command, &args[1..]);
    }
    let config = match parse_args(args.into_iter()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "hongyan: {e}\nusage: hongyan [--port N] [--host IP] [--db PATH] [--site DIR] [--demo] [--at-risk-days N] [--code-step-secs N] [--makeup-days N] [--backdate-days N] [--inactive-days N] [--trusted-proxy IP,…] [--security-log PATH]\n       hongyan migrate | create-admin --phone P --name N | import-roster FILE [--dry-run] | backup FILE | restore FILE  [--db PATH]"
            );
            return std::process::ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("hongyan: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hongyan: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Runs one operator's command (see the top of this file).
fn operate(command: &str, args: &[String]) -> std::process::ExitCode {
    use hongyan::server::ops;
    if command == "seed-scale" {
        return seed_scale(args);
    }
    let mut db = std::env::var("HONGYAN_DB").unwrap_or_else(|_| "hongyan.db".into());
    let (mut phone, mut name, mut file) = (None, None, None);
    let mut dry_run = false;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let slot = match arg.as_str() {
            "--dry-run" => {
                dry_run = true;
                continue;
            }
            "--db" => &mut db,
            "--phone" => phone.insert(String::new()),
            "--name" => name.insert(String::new()),
            other if !other.starts_with('-') && file.is_none() => {
                file = Some(other.to_owned());
                continue;
            }
            other => return fail(format!("unknown argument {other}")),
        };
        match it.next() {
            Some(v) => *slot = v.clone(),
            None => return fail(format!("{arg} needs a value")),
        }
    }
    let db = std::path::PathBuf::from(db);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the runtime: {e}")),
    };
    let outcome: Result<String, Box<dyn std::error::Error>> = runtime.block_on(async {
        match (command, file.as_deref(), phone.as_deref(), name.as_deref()) {
            ("migrate", None, None, None) => {
                let n = ops::migrate(&db).await?;
                Ok(format!("{}: {n} migrations applied", db.display()))
            }
            ("create-admin", None, Some(phone), Some(name)) => {
                let password = match std::env::var("HONGYAN_ADMIN_PASSWORD") {
                    Ok(p) => p,
                    Err(_) => {
                        let mut line = String::new();
                        std::io::stdin().read_line(&mut line)?;
                        line.trim_end_matches(['\r', '\n']).to_owned()
                    }
                };
                let id = ops::create_admin(&db, phone, name, &password).await?;
                Ok(format!("created district admin {name} ({phone}), user {id}"))
            }
            ("import-roster", Some(from), None, None) => {
                let report = ops::import_roster(&db, std::path::Path::new(from), dry_run).await?;
                let mut out = String::new();
                for row in &report.rows {
                    let what = row.outcome.label();
                    out += &format!("第{}行 {} {} {}：{what} {}\n", row.line, row.name, row.phone, row.branch, row.detail);
                }
                if !report.ignored_columns.is_empty() {
                    out += &format!("未读取的列：{}\n", report.ignored_columns.join("、"));
                }
                out += &format!(
                    "{} rows: {} new, {} updated, {} unchanged, {} with problems — {}",
                    report.total, report.created, report.updated, report.unchanged, report.problems,
                    if report.applied && report.created + report.updated == 0 { "nothing to change" } else if report.applied { "written" } else if report.dry_run { "dry run, nothing written" } else { "nothing written; fix the rows above and import again" }
                );
                if report.problems > 0 { return Err(out.into()); }
                Ok(out)
            }
            ("backup", Some(to), None, None) => {
                ops::backup(&db, std::path::Path::new(to)).await?;
                Ok(format!("backed up {} to {to} (integrity ok)", db.display()))
            }
            ("restore", Some(from), None, None) => {
                let kept = ops::restore(&db, std::path::Path::new(from)).await?;
                Ok(match kept {
                    Some(k) => format!("restored {} from {from}; the previous database is {}", db.display(), k.display()),
                    None => format!("restored {} from {from}", db.display()),
                })
            }
            _ => Err("usage: hongyan migrate | create-admin --phone P --name N | import-roster FILE [--dry-run] | backup FILE | restore FILE  [--db PATH]".into()),
        }
    });
    match outcome {
        Ok(done) => {
            println!("{done}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => fail(e.to_string()),
    }
}

/// `hongyan seed-scale --db PATH [--members N] [--branches N] [--committees N] [--months N] [--detailed-months N]`: a
/// district-sized database for `make bench-scale` (see `server::scale`).
fn seed_scale(args: &[String]) -> std::process::ExitCode {
    use hongyan::server::scale;
    let mut shape = scale::Shape::default();
    let mut db = None;
    let mut branches = None;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let Some(value) = it.next() else {
            return fail(format!("{arg} needs a value"));
        };
        let number = || {
            value
                .parse::<usize>()
                .map_err(|_| format!("{arg}: {value} is not a number"))
        };
        let parsed = match arg.as_str() {
            "--db" => {
                db = Some(std::path::PathBuf::from(value));
                Ok(())
            }
            "--members" => number().map(|n| shape.members = n),
            "--branches" => number().map(|n| branches = Some(n)),
            "--committees" => number().map(|n| shape.committees = n),
            "--months" => number().map(|n| shape.months = n as u32),
            "--detailed-months" => number().map(|n| shape.detailed_months = n as u32),
            other => Err(format!("unknown argument {other}")),
        };
        if let Err(e) = parsed {
            return fail(e);
        }
    }
    // Fifty members a branch unless told otherwise.
    shape.branches = branches.unwrap_or((shape.members / 50).max(1));
    shape.committees = shape.committees.min(shape.branches);
    let Some(db) = db else {
        return fail("seed-scale needs --db PATH (a new file)".to_owned());
    };
    // One thread: the records are applied one after another, and handing each statement between
    // threads would cost more than the statement.
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the runtime: {e}")),
    };
    let started = std::time::Instant::now();
    let progress = |line: String| eprintln!("[{:>5.0} s] {line}", started.elapsed().as_secs_f64());
    match runtime.block_on(scale::seed(&db, &shape, progress)) {
        Ok(built) => {
            println!(
                "{}: {} activities, {} records in {:.0} s; log in with password {} as member {}, lead {}, committee admin {}, district admin {}",
                db.display(),
                built.activities,
                built.records,
                started.elapsed().as_secs_f64(),
                scale::PASSWORD,
                built.samples.member,
                built.samples.lead,
                built.samples.committee,
                built.samples.admin
            );
            std::process::ExitCode::SUCCESS
        }
        Err(e) => fail(e.to_string()),
    }
}

fn fail(message: String) -> std::process::ExitCode {
    eprintln!("hongyan: {message}");
    std::process::ExitCode::from(2)
}

/// One of the district's settings on the command line: its flag, environment variable, default, the
/// values allowed, and what one unit is in milliseconds.
struct Setting {
    flag: &'static str,
    var: &'static str,
    default: f64,
    allowed: std::ops::RangeInclusive<f64>,
    unit_ms: f64,
}

const DAY_MS: f64 = 86_400_000.0;

const SETTINGS: [Setting; 5] = [
    Setting {
        flag: "--at-risk-days",
        var: "HONGYAN_AT_RISK_DAYS",
        default: 2.0,
        allowed: 0.0..=365.0,
        unit_ms: DAY_MS,
    },
    Setting {
        flag: "--code-step-secs",
        var: "HONGYAN_CODE_STEP_SECS",
        default: 60.0,
        allowed: 10.0..=600.0,
        unit_ms: 1_000.0,
    },
    Setting {
        flag: "--makeup-days",
        var: "HONGYAN_MAKEUP_DAYS",
        default: 3.0,
        allowed: 0.0..=60.0,
        unit_ms: DAY_MS,
    },
    Setting {
        flag: "--backdate-days",
        var: "HONGYAN_BACKDATE_DAYS",
        default: 30.0,
        allowed: 0.0..=366.0,
        unit_ms: DAY_MS,
    },
    Setting {
        flag: "--inactive-days",
        var: "HONGYAN_INACTIVE_DAYS",
        default: 90.0,
        allowed: 0.0..=3_660.0,
        unit_ms: DAY_MS,
    },
];

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Config, String> {
    let env = |k: &str| std::env::var(k).ok();
    let mut port = env("HONGYAN_PORT").unwrap_or_else(|| "3000".into());
    let mut host = env("HONGYAN_HOST").unwrap_or_else(|| "127.0.0.1".into());
    let mut db = env("HONGYAN_DB").unwrap_or_else(|| "hongyan.db".into());
    let mut site = env("HONGYAN_SITE").unwrap_or_else(|| "target/site".into());
    let mut demo = env("HONGYAN_DEMO").is_some_and(|v| v == "1");
    let mut proxies = env("HONGYAN_TRUSTED_PROXIES").unwrap_or_default();
    let mut security_log = env("HONGYAN_SECURITY_LOG");
    let mut settings: Vec<Option<String>> = SETTINGS.iter().map(|s| env(s.var)).collect();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--port" => port = value()?,
            "--host" => host = value()?,
            "--db" => db = value()?,
            "--site" => site = value()?,
            "--demo" => demo = true,
            "--trusted-proxy" => proxies = value()?,
            "--security-log" => security_log = Some(value()?),
            other => match SETTINGS.iter().position(|s| s.flag == other) {
                Some(i) => settings[i] = Some(value()?),
                None => return Err(format!("unknown option {other}")),
            },
        }
    }
    let port: u16 = port.parse().map_err(|_| format!("bad port {port}"))?;
    let trusted_proxies = proxies
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| p.parse().map_err(|_| format!("bad --trusted-proxy {p}")))
        .collect::<Result<Vec<IpAddr>, String>>()?;
    let security_log = security_log.unwrap_or_else(|| format!("{db}.security.log"));
    let host: IpAddr = host.parse().map_err(|_| format!("bad host {host}"))?;
    let mut ms = [0i64; 5];
    for (i, setting) in SETTINGS.iter().enumerate() {
        let value = match &settings[i] {
            None => setting.default,
            Some(v) => v
                .parse()
                .ok()
                .filter(|d: &f64| setting.allowed.contains(d))
                .ok_or_else(|| {
                    let (flag, min, max) =
                        (setting.flag, setting.allowed.start(), setting.allowed.end());
                    format!("bad {flag} {v} ({min} to {max})")
                })?,
        };
        ms[i] = (value * setting.unit_ms) as i64;
    }
    let [
        at_risk_after_ms,
        code_step_ms,
        makeup_window_ms,
        backdate_limit_ms,
        inactive_after_ms,
    ] = ms;
    Ok(Config {
        addr: SocketAddr::new(host, port),
        db_path: db.into(),
        site_dir: site.into(),
        demo,
        trusted_proxies,
        security_log: security_log.into(),
        settings: Settings {
            at_risk_after_ms,
            code_step_ms,
            makeup_window_ms,
            backdate_limit_ms,
            inactive_after_ms,
        },
    })
}
