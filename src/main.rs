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
    let config = match parse_args(std::env::args().skip(1)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!(
                "hongyan: {e}\nusage: hongyan [--port N] [--host IP] [--db PATH] [--site DIR] [--demo] [--at-risk-days N]"
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

/// The district's settings on the command line: (flag, environment variable, default, most allowed, what one
/// unit is in milliseconds).
const SETTINGS: [(&str, &str, f64, f64, f64); 5] = [
    (
        "--at-risk-days",
        "HONGYAN_AT_RISK_DAYS",
        2.0,
        365.0,
        86_400_000.0,
    ),
    (
        "--code-step-secs",
        "HONGYAN_CODE_STEP_SECS",
        60.0,
        600.0,
        1_000.0,
    ),
    (
        "--makeup-days",
        "HONGYAN_MAKEUP_DAYS",
        3.0,
        60.0,
        86_400_000.0,
    ),
    (
        "--backdate-days",
        "HONGYAN_BACKDATE_DAYS",
        30.0,
        366.0,
        86_400_000.0,
    ),
    (
        "--inactive-days",
        "HONGYAN_INACTIVE_DAYS",
        90.0,
        3_660.0,
        86_400_000.0,
    ),
];

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Config, String> {
    let env = |k: &str| std::env::var(k).ok();
    let mut port = env("HONGYAN_PORT").unwrap_or_else(|| "3000".into());
    let mut host = env("HONGYAN_HOST").unwrap_or_else(|| "127.0.0.1".into());
    let mut db = env("HONGYAN_DB").unwrap_or_else(|| "hongyan.db".into());
    let mut site = env("HONGYAN_SITE").unwrap_or_else(|| "target/site".into());
    let mut demo = env("HONGYAN_DEMO").is_some_and(|v| v == "1");
    let mut settings: Vec<Option<String>> = SETTINGS.iter().map(|(_, var, ..)| env(var)).collect();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--port" => port = value()?,
            "--host" => host = value()?,
            "--db" => db = value()?,
            "--site" => site = value()?,
            "--demo" => demo = true,
            other => match SETTINGS.iter().position(|(flag, ..)| *flag == other) {
                Some(i) => settings[i] = Some(value()?),
                None => return Err(format!("unknown option {other}")),
            },
        }
    }
    let port: u16 = port.parse().map_err(|_| format!("bad port {port}"))?;
    let host: IpAddr = host.parse().map_err(|_| format!("bad host {host}"))?;
    let mut ms = [0i64; 5];
    for (i, (flag, _, default, max, unit)) in SETTINGS.iter().enumerate() {
        let value = match &settings[i] {
            None => *default,
            Some(v) => v
                .parse()
                .ok()
                .filter(|d: &f64| (0.0..=*max).contains(d))
                .ok_or_else(|| format!("bad {flag} {v} (0 to {max})"))?,
        };
        ms[i] = (value * unit) as i64;
    }
    let [
        at_risk_after_ms,
        code_step_ms,
        makeup_window_ms,
        backdate_limit_ms,
        inactive_after_ms,
    ] = ms;
    if code_step_ms < 10_000 {
        return Err("--code-step-secs must be at least 10".to_owned());
    }
    Ok(Config {
        addr: SocketAddr::new(host, port),
        db_path: db.into(),
        site_dir: site.into(),
        demo,
        settings: Settings {
            at_risk_after_ms,
            code_step_ms,
            makeup_window_ms,
            backdate_limit_ms,
            inactive_after_ms,
        },
    })
}
