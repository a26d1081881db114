//! A closed-loop HTTP/1.1 load generator: N kept-alive connections, each sending the same GET as soon as the
//! previous answer is read whole, on one thread (so it takes at most one of the machine's cores).
//!
//! It records every request's latency (from the first byte written to the last byte of the body read) and counts
//! answers by status, so that a run of errors cannot pass for a fast server.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// What one load run measured.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Answers completed within the measured window.
    pub requests: u64,
    /// Of those, answers whose status was not 2xx or 304.
    pub bad_status: u64,
    /// Answers completed in the whole run, warm-up included (for CPU time per answer).
    pub all_requests: u64,
    /// The measured window (warm-up excluded).
    pub window: Duration,
    /// Body bytes of one answer (the last one read).
    pub body_bytes: usize,
    /// Latencies of the answers in the window, in microseconds, sorted.
    pub latencies_us: Vec<u32>,
}

impl LoadReport {
    /// Answers per second.
    pub fn rate(&self) -> f64 {
        self.requests as f64 / self.window.as_secs_f64()
    }

    /// The `q`-quantile latency (0.5, 0.99), in microseconds.
    pub fn quantile_us(&self, q: f64) -> u32 {
        quantile(&self.latencies_us, q)
    }

    /// The slowest answer, in microseconds.
    pub fn max_us(&self) -> u32 {
        self.latencies_us.last().copied().unwrap_or(0)
    }
}

/// The `q`-quantile of sorted values (nearest rank).
pub fn quantile(sorted: &[u32], q: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

/// A GET request for `path_and_query` on `addr`, as bytes on the wire; with `token`, it sends it as a bearer token.
pub fn get_request(addr: SocketAddr, path_and_query: &str, token: Option<&str>) -> Vec<u8> {
    let authorization = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    format!(
        "GET {path_and_query} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nUser-Agent: coach-plans-bench\r\n\
         {authorization}\r\n"
    )
    .into_bytes()
}

/// Keeps `connections` connections busy with `request` for `warmup + duration`, measuring only after the warm-up.
/// Runs on a thread of its own with a single-threaded runtime.
///
/// # Errors
/// When a connection cannot be made or an answer cannot be read (the server closed the connection, or sent
/// something that is not HTTP/1.1 with a `Content-Length`).
pub fn run(
    addr: SocketAddr,
    request: Vec<u8>,
    connections: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<LoadReport> {
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        runtime.block_on(drive(addr, request, connections, warmup, duration))
    })
    .join()
    .map_err(|_| anyhow::anyhow!("the load generator's thread panicked"))?
}

/// What one connection measured.
#[derive(Default)]
struct ConnectionTally {
    requests: u64,
    all_requests: u64,
    bad_status: u64,
    body_bytes: usize,
    latencies_us: Vec<u32>,
}

async fn drive(
    addr: SocketAddr,
    request: Vec<u8>,
    connections: usize,
    warmup: Duration,
    duration: Duration,
) -> Result<LoadReport> {
    let request: std::sync::Arc<[u8]> = request.into();
    let start = Instant::now();
    let window_start = start + warmup;
    let window_end = window_start + duration;
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let request = std::sync::Arc::clone(&request);
        tasks.push(tokio::spawn(async move { connection(addr, &request, window_start, window_end).await }));
    }
    let mut report = LoadReport {
        requests: 0,
        bad_status: 0,
        all_requests: 0,
        window: duration,
        body_bytes: 0,
        latencies_us: Vec::new(),
    };
    for task in tasks {
        let tally = task.await.context("a load connection panicked")??;
        report.requests += tally.requests;
        report.bad_status += tally.bad_status;
        report.all_requests += tally.all_requests;
        report.body_bytes = report.body_bytes.max(tally.body_bytes);
        report.latencies_us.extend(tally.latencies_us);
    }
    report.latencies_us.sort_unstable();
    Ok(report)
}

async fn connection(
    addr: SocketAddr,
    request: &[u8],
    window_start: Instant,
    window_end: Instant,
) -> Result<ConnectionTally> {
    let mut stream = TcpStream::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
    stream.set_nodelay(true)?;
    let mut buffer = Vec::with_capacity(64 * 1024);
    let mut tally = ConnectionTally { latencies_us: Vec::with_capacity(1 << 16), ..ConnectionTally::default() };
    loop {
        let sent = Instant::now();
        if sent >= window_end {
            return Ok(tally);
        }
        stream.write_all(request).await.context("sending a request")?;
        let (status, body_bytes) = read_response(&mut stream, &mut buffer).await?;
        let done = Instant::now();
        tally.all_requests += 1;
        if done >= window_start && done < window_end {
            tally.requests += 1;
            if !(200..300).contains(&status) && status != 304 {
                tally.bad_status += 1;
            }
            tally.body_bytes = body_bytes;
            tally.latencies_us.push(u32::try_from(done.duration_since(sent).as_micros()).unwrap_or(u32::MAX));
        }
    }
}

/// Reads one answer (head and `Content-Length` body); returns its status and body length. `buffer` is reused.
async fn read_response(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Result<(u16, usize)> {
    buffer.clear();
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut response = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(head_len) = response.parse(buffer).context("parsing an answer's head")? {
            let status = response.code.unwrap_or(0);
            let length = response
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| std::str::from_utf8(h.value).ok())
                .and_then(|v| v.trim().parse::<usize>().ok());
            let length = match length {
                Some(length) => length,
                None if status == 304 || status == 204 => 0,
                None => bail!("an answer without Content-Length (status {status}); the load generator needs one"),
            };
            while buffer.len() < head_len + length {
                read_more(stream, buffer).await?;
            }
            return Ok((status, length));
        }
        read_more(stream, buffer).await?;
    }
}

async fn read_more(stream: &mut TcpStream, buffer: &mut Vec<u8>) -> Result<()> {
    let mut chunk = [0u8; 16 * 1024];
    let read = stream.read(&mut chunk).await.context("reading an answer")?;
    if read == 0 {
        bail!("the server closed the connection");
    }
    buffer.extend_from_slice(&chunk[..read]);
    Ok(())
}

/// One GET on a fresh connection: the status and body, for checking a route before loading it.
///
/// # Errors
/// As [`run`].
pub fn fetch(addr: SocketAddr, path_and_query: &str) -> Result<(u16, Vec<u8>)> {
    fetch_with(addr, path_and_query, None)
}

/// [`fetch`], with a bearer token when given.
///
/// # Errors
/// As [`fetch`].
pub fn fetch_with(addr: SocketAddr, path_and_query: &str, token: Option<&str>) -> Result<(u16, Vec<u8>)> {
    let request = get_request(addr, path_and_query, token);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut stream = TcpStream::connect(addr).await.with_context(|| format!("connecting to {addr}"))?;
        stream.write_all(&request).await?;
        let mut buffer = Vec::new();
        let (status, length) = read_response(&mut stream, &mut buffer).await?;
        let body = buffer[buffer.len() - length..].to_vec();
        Ok((status, body))
    })
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn quantiles_are_nearest_rank() {
        let values: Vec<u32> = (1..=100).collect();
        assert_eq!(quantile(&values, 0.5), 50);
        assert_eq!(quantile(&values, 0.99), 99);
        assert_eq!(quantile(&values, 1.0), 100);
        assert_eq!(quantile(&[7], 0.99), 7);
        assert_eq!(quantile(&[], 0.5), 0);
    }
}
