//! A hand-rolled HTTP/1.1 server on 127.0.0.1:0 that records every request and answers as the test's handler says:
//! any status, headers, body and delay. Each answer closes its connection, so every request is a new one.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl Seen {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// What to answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub delay: Duration,
}

impl Answer {
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self { status, headers: Vec::new(), body: body.to_string(), delay: Duration::ZERO }
    }

    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn after(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

type Handler = dyn Fn(usize, &Seen) -> Answer + Send + Sync;

pub struct FaultServer {
    pub base_url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: JoinHandle<()>,
}

impl FaultServer {
    /// Starts the server; `handler(n, request)` answers the `n`th request (from 0).
    pub async fn start(handler: impl Fn(usize, &Seen) -> Answer + Send + Sync + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let task = tokio::spawn({
            let seen = seen.clone();
            async move {
                loop {
                    let Ok((stream, _)) = listener.accept().await else { return };
                    tokio::spawn(serve(stream, seen.clone(), handler.clone()));
                }
            }
        });
        Self { base_url, seen, task }
    }

    /// Every request seen so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Requests seen for `path`.
    pub fn count(&self, path: &str) -> usize {
        self.seen().iter().filter(|s| s.path == path).count()
    }

    /// Closes the listening socket: connections to its port are refused from now on.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

async fn serve(mut stream: TcpStream, seen: Arc<Mutex<Vec<Seen>>>, handler: Arc<Handler>) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n");
    let path = lines.next().and_then(|l| l.split(' ').nth(1)).unwrap_or("").to_owned();
    let headers = lines
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_once(':').map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned())))
        .collect();
    let request = Seen { path, headers };
    let n = {
        let mut seen = seen.lock().unwrap();
        seen.push(request.clone());
        seen.len() - 1
    };
    let answer = handler(n, &request);
    tokio::time::sleep(answer.delay).await;
    let mut response = format!(
        "HTTP/1.1 {} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        answer.status,
        answer.body.len()
    );
    for (name, value) in &answer.headers {
        response.push_str(&format!("{name}: {value}\r\n"));
    }
    response.push_str("\r\n");
    response.push_str(&answer.body);
    let _ = stream.write_all(response.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// The v1 body of a plan (the server's `PlanDto`).
pub fn plan_body(coach: &str, date: &str, version: u32) -> serde_json::Value {
    serde_json::json!({
        "id": 7, "coach": coach, "coach_name": format!("Coach {coach}"), "date": date,
        "text": format!("plan of {coach}, version {version}"),
        "author": {"user_id": "111", "display_name": "Ann"},
        "source": {"guild_id": "1", "channel_id": "2", "channel_name": "plans", "message_id": "3"},
        "charts": [], "version": version, "edited": version > 1,
        "created_at": "2025-11-09T12:00:00.000000Z", "updated_at": "2025-11-09T12:00:00.000000Z"
    })
}

/// `200` with a plan and its ETag.
pub fn plan_answer(coach: &str, date: &str, version: u32) -> Answer {
    Answer::json(200, plan_body(coach, date, version)).with_header("etag", &format!("\"plan-7-v{version}\""))
}

/// The v1 error body.
pub fn error_answer(status: u16, error: &str, message: &str) -> Answer {
    Answer::json(status, serde_json::json!({"error": error, "message": message, "request_id": "req-1"}))
}
