//! Benchmarks on PostgreSQL (`make bench-storm`, `make bench-scale`): a SQLite fixture copied into a
//! throwaway cluster that flushes every commit to the disk ([`Cluster::on_disk`]), app servers (this
//! binary) on it, and a command — the benchmark's load generator — run against them. The fixture stays a
//! SQLite file, so both engines are measured on the same data.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::db::{self, Db, Location};
use super::ops;
use super::throwaway_postgres::Cluster;

type Failure = Box<dyn std::error::Error>;

/// Copies `fixture` into a new cluster, starts `servers` app servers on it (serving `site`), and runs
/// `command` with `sh -c`, its environment holding `HONGYAN_SERVERS` (`127.0.0.1:port`, separated by
/// commas). Prints a line on the engine first; the command's output goes where ours does.
pub async fn run(
    fixture: &Path,
    servers: usize,
    site: &Path,
    command: &str,
) -> Result<String, Failure> {
    let cluster = Cluster::on_disk()?;
    let url = cluster.url().await;
    let location: Location = url.parse()?;
    let started = Instant::now();
    let copied = ops::copy_to_postgres(fixture, &location).await?;
    let rows: u64 = copied.iter().map(|(_, n)| n).sum();
    let version: String = {
        let pg = Db::connect(&location).await?;
        let version = db::query_scalar("SHOW server_version")
            .fetch_one(&pg.reader)
            .await?;
        pg.writer.close().await;
        pg.reader.close().await;
        version
    };
    let engine = format!(
        "PostgreSQL {version}, its defaults but fsync, synchronous_commit and full_page_writes on \
         (every commit on the disk); {rows} rows copied in {:.0} s; {servers} app server(s)",
        started.elapsed().as_secs_f64()
    );
    println!("{engine}");
    let stopped = format!("{servers} app server(s) and the cluster stopped");
    // The servers' logs beside the fixture.
    let dir = fixture.parent().unwrap_or(Path::new("."));
    let mut running = Vec::new();
    let mut addrs = Vec::new();
    for n in 0..servers {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = std::fs::File::create(dir.join(format!("server-{n}.log")))?;
        let child = Command::new(std::env::current_exe()?)
            .args(["--db", &url, "--port", &port.to_string(), "--site"])
            .arg(site)
            .arg("--security-log")
            .arg(dir.join(format!("security-{n}.log")))
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        running.push(KillOnDrop(child));
        let addr = format!("127.0.0.1:{port}");
        wait_until_serving(&addr).await?;
        addrs.push(addr);
    }
    let status = Command::new("sh")
        .args(["-c", command])
        .env("HONGYAN_SERVERS", addrs.join(","))
        .stdin(Stdio::null())
        .status()?;
    drop(running);
    if !status.success() {
        return Err(format!("the benchmark failed ({status})").into());
    }
    Ok(stopped)
}

/// A server process that ends with its owner.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits until a server at `addr` answers (a minute at most).
async fn wait_until_serving(addr: &str) -> Result<(), Failure> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(mut stream) = tokio::net::TcpStream::connect(addr).await {
            let ask = format!("GET /sw.js HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
            let mut head = [0; 12];
            if stream.write_all(ask.as_bytes()).await.is_ok()
                && stream.read_exact(&mut head).await.is_ok()
                && head.ends_with(b" 200")
            {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("no server answered at {addr}").into())
}
