//! A throwaway PostgreSQL for the tests and the fault harness.
//!
//! The cluster is made once per test process, on first use: `initdb` into a temporary directory (as the
//! `postgres` user when the tests run as root, since PostgreSQL refuses to run as root), listening only
//! on a Unix socket in that directory, so it meets no other server on the machine. A watchdog process
//! stops it and removes the directory when the test process ends, however it ends. Each test gets a
//! database of its own in it. Nothing here depends on a PostgreSQL someone started by hand; `make unit`
//! installs Debian's `postgresql` package if its programs are missing.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{ConnectOptions, Connection};

/// The cluster's superuser.
const SUPERUSER: &str = "hongyan";
/// Names the socket file (`.s.PGSQL.<port>`) in the cluster's own directory; no TCP port is opened.
const PORT: u16 = 5432;

pub struct Cluster {
    dir: PathBuf,
    databases: AtomicU32,
    log: PathBuf,
    /// `pg_ctl`, run as the cluster's owner, with the data directory.
    pg_ctl: Vec<String>,
    /// The server's options, to start it again with.
    options: String,
}

impl Cluster {
    /// The test process's cluster, started on first use. Not durable: nothing waits for the disk.
    pub fn get() -> &'static Cluster {
        static CLUSTER: OnceLock<Cluster> = OnceLock::new();
        CLUSTER.get_or_init(|| Cluster::start(false, false).unwrap_or_else(|why| panic!("{why}")))
    }

    /// A cluster of its own whose commits survive PostgreSQL being killed (`synchronous_commit` on; the
    /// disk is not flushed, as no test crashes the machine), for the fault harness.
    pub fn durable() -> Result<Cluster, String> {
        Cluster::start(true, false)
    }

    /// A cluster that keeps PostgreSQL's guarantees whole, as a production server does: every commit
    /// flushed to the disk (`fsync`, `synchronous_commit` and `full_page_writes` on), for benchmarks.
    pub fn on_disk() -> Result<Cluster, String> {
        Cluster::start(true, true)
    }

    fn start(durable: bool, fsync: bool) -> Result<Cluster, String> {
        let bin = postgres_bin()?;
        let dir = std::env::temp_dir().join(format!(
            "hongyan-pg-{}-{:x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let as_root = is_root();
        if as_root {
            // initdb and the server run as `postgres`; the directory must be theirs.
            run(Command::new("chown").arg("postgres:postgres").arg(&dir))?;
        }
        let data = dir.join("data");
        let pg = |program: &str| {
            let program = bin.join(program);
            if as_root {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(program);
                c
            } else {
                Command::new(program)
            }
        };
        run(pg("initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", SUPERUSER, "--auth=trust", "-E", "UTF8", "--no-sync"])
            .args(["--locale=C.UTF-8"]))?;
        let on = |yes: bool| if yes { "on" } else { "off" };
        let options = format!(
            "-c listen_addresses='' -k {} -p {PORT} -c fsync={} -c synchronous_commit={} \
             -c full_page_writes={} -c max_connections=200",
            dir.display(),
            on(fsync),
            on(durable),
            on(fsync),
        );
        run(pg("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-w", "-o", &options, "-l"])
            .arg(dir.join("log"))
            .arg("start"))?;
        // The watchdog: waits for this process to end, then stops the cluster and removes its files.
        let stop = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {runuser}{pg_ctl} -D {data} -m immediate stop; rm -rf {dir}",
            pid = std::process::id(),
            runuser = if as_root {
                "runuser -u postgres -- "
            } else {
                ""
            },
            pg_ctl = bin.join("pg_ctl").display(),
            data = data.display(),
            dir = dir.display(),
        );
        Command::new("sh")
            .args(["-c", &stop])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("could not start the cluster's watchdog: {e}"))?;
        let mut pg_ctl: Vec<String> = Vec::new();
        if as_root {
            pg_ctl.extend(["runuser", "-u", "postgres", "--"].map(String::from));
        }
        pg_ctl.push(bin.join("pg_ctl").display().to_string());
        pg_ctl.extend(["-D".to_owned(), data.display().to_string()]);
        Ok(Cluster {
            databases: AtomicU32::new(0),
            log: dir.join("log"),
            dir,
            pg_ctl,
            options,
        })
    }

    /// Stops PostgreSQL at once, as a crash would (`-m immediate`: no checkpoint, recovery from the
    /// write-ahead log on the next start), and starts it again.
    pub fn crash_and_restart(&self) -> Result<(), String> {
        let pg_ctl = || {
            let mut c = Command::new(&self.pg_ctl[0]);
            c.args(&self.pg_ctl[1..]);
            c
        };
        run(pg_ctl().args(["-m", "immediate", "stop"]))?;
        run(pg_ctl()
            .args(["-w", "-o", &self.options, "-l"])
            .arg(&self.log)
            .arg("start"))
    }

    fn options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(&self.dir)
            .port(PORT)
            .username(SUPERUSER)
            .database(database)
            .disable_statement_logging()
    }

    /// A new, empty database of its own for one test.
    pub async fn database(&self) -> PgConnectOptions {
        let name = self.create_database().await;
        self.options(&name)
    }

    /// A new, empty database of its own for one test, as the address `--db` takes.
    pub async fn url(&self) -> String {
        let name = self.create_database().await;
        format!(
            "postgres://{SUPERUSER}@localhost/{name}?host={}&port={PORT}",
            self.dir.display()
        )
    }

    async fn create_database(&self) -> String {
        let name = format!("t{}", self.databases.fetch_add(1, Ordering::Relaxed));
        let mut admin = PgConnection::connect_with(&self.options("postgres"))
            .await
            .expect("the test cluster accepts connections");
        sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .unwrap();
        admin.close().await.unwrap();
        name
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// Where PostgreSQL's server programs are: `HONGYAN_PG_BIN`, or the newest of Debian's
/// `/usr/lib/postgresql/<version>/bin`.
fn postgres_bin() -> Result<PathBuf, String> {
    if let Some(bin) = std::env::var_os("HONGYAN_PG_BIN") {
        return Ok(bin.into());
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).ok_or_else(|| {
        "PostgreSQL's server programs are not installed: `make unit` installs Debian's `postgresql` \
         package, or set HONGYAN_PG_BIN to the directory holding initdb and pg_ctl"
            .to_owned()
    })
}

fn run(command: &mut Command) -> Result<(), String> {
    let out = command.output().map_err(|e| format!("{command:?}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
