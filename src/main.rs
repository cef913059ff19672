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

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Config, String> {
    let env = |k: &str| std::env::var(k).ok();
    let mut port = env("HONGYAN_PORT").unwrap_or_else(|| "3000".into());
    let mut host = env("HONGYAN_HOST").unwrap_or_else(|| "127.0.0.1".into());
    let mut db = env("HONGYAN_DB").unwrap_or_else(|| "hongyan.db".into());
    let mut site = env("HONGYAN_SITE").unwrap_or_else(|| "target/site".into());
    let mut demo = env("HONGYAN_DEMO").is_some_and(|v| v == "1");
    let mut at_risk_days = env("HONGYAN_AT_RISK_DAYS").unwrap_or_else(|| "2".into());
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--port" => port = value()?,
            "--host" => host = value()?,
            "--db" => db = value()?,
            "--site" => site = value()?,
            "--demo" => demo = true,
            "--at-risk-days" => at_risk_days = value()?,
            other => return Err(format!("unknown option {other}")),
        }
    }
    let port: u16 = port.parse().map_err(|_| format!("bad port {port}"))?;
    let host: IpAddr = host.parse().map_err(|_| format!("bad host {host}"))?;
    let at_risk_days: f64 = at_risk_days
        .parse()
        .ok()
        .filter(|d: &f64| (0.0..=365.0).contains(d))
        .ok_or_else(|| format!("bad --at-risk-days {at_risk_days} (0 to 365)"))?;
    Ok(Config {
        addr: SocketAddr::new(host, port),
        db_path: db.into(),
        site_dir: site.into(),
        demo,
        settings: Settings {
            at_risk_after_ms: (at_risk_days * 86_400_000.0) as i64,
        },
    })
}
