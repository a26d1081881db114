//! The gateway listener: Discord's WebSocket protocol (v10, JSON, uncompressed text frames) with sessions
//! whose events are kept for RESUME, and faults injected on demand.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, mpsc};
use tokio::time::Instant;
use tokio_websockets::{CloseCode, Limits, Message, WebSocketStream};

use crate::faults::GatewayFault;
use crate::state::{LoggedEvent, Shared};

/// Largest frame accepted from a client.
const MAX_CLIENT_FRAME: usize = 1024 * 1024;
/// Time allowed for the WebSocket handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for the client's answer to our close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// Accepts gateway connections until shutdown.
pub(crate) async fn run_listener(shared: Arc<Shared>, listener: TcpListener, done: mpsc::Sender<()>) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        tokio::select! {
            () = crate::state::stopped(&mut shutdown) => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    tokio::spawn(serve(Arc::clone(&shared), stream, done.clone()));
                }
                Err(error) => {
                    tracing::warn!(%error, "gateway accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
        }
    }
}

/// What the connection loop does next.
enum Flow {
    Continue,
    /// Close the socket with this code and reason, then end.
    Close(u16, &'static str),
    /// End at once (drop the TCP connection without a close frame).
    Drop,
}

/// One connection's state.
struct Connection {
    id: u64,
    shared: Arc<Shared>,
    session: Option<String>,
    /// Last sequence written to this socket.
    sent_seq: u64,
    /// While set, neither heartbeat ACKs nor dispatches are sent.
    stalled_until: Option<Instant>,
}

async fn serve(shared: Arc<Shared>, stream: TcpStream, _done: mpsc::Sender<()>) {
    // Subscribe before anything else, so faults sent from now on reach this connection.
    let faults = shared.faults.subscribe();
    let id = shared.lock().open_connection();
    shared.gateway_touched();
    let builder =
        tokio_websockets::ServerBuilder::new().limits(Limits::default().max_payload_len(Some(MAX_CLIENT_FRAME)));
    let handshake = builder.accept(stream);
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake).await {
        Ok(Ok((request, ws))) => {
            tracing::debug!(connection = id, uri = %request.uri(), "gateway connection");
            let mut connection =
                Connection { id, shared: Arc::clone(&shared), session: None, sent_seq: 0, stalled_until: None };
            connection.run(ws, faults).await;
        }
        Ok(Err(error)) => tracing::debug!(connection = id, %error, "gateway handshake failed"),
        Err(_) => tracing::debug!(connection = id, "gateway handshake timed out"),
    }
    shared.lock().close_connection(id);
    shared.gateway_touched();
}

impl Connection {
    async fn run<S>(&mut self, mut ws: WebSocketStream<S>, mut faults: broadcast::Receiver<GatewayFault>)
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let mut shutdown = self.shared.shutdown.subscribe();
        let mut events = self.shared.events.subscribe();
        let hello = format!(
            r#"{{"op":10,"s":null,"t":null,"d":{{"heartbeat_interval":{}}}}}"#,
            self.shared.heartbeat_interval.as_millis()
        );
        if ws.send(Message::text(hello)).await.is_err() {
            return;
        }
        loop {
            let stalled = self.stalled_until;
            let flow = tokio::select! {
                biased;
                () = crate::state::stopped(&mut shutdown) => Flow::Close(1001, "emulator shutting down"),
                fault = faults.recv() => match fault {
                    Ok(fault) => self.on_fault(&mut ws, fault).await,
                    Err(broadcast::error::RecvError::Lagged(_)) => Flow::Continue,
                    Err(broadcast::error::RecvError::Closed) => Flow::Drop,
                },
                frame = ws.next() => match frame {
                    None | Some(Err(_)) => return,
                    Some(Ok(message)) => self.on_message(&mut ws, &message).await,
                },
                changed = events.changed(), if self.session.is_some() && stalled.is_none() => match changed {
                    Ok(()) => self.flush(&mut ws).await,
                    Err(_) => Flow::Drop,
                },
                () = tokio::time::sleep_until(stalled.unwrap_or_else(Instant::now)), if stalled.is_some() => {
                    self.stalled_until = None;
                    self.flush(&mut ws).await
                },
            };
            match flow {
                Flow::Continue => {}
                Flow::Drop => return,
                Flow::Close(code, reason) => {
                    close(&mut ws, code, reason).await;
                    return;
                }
            }
        }
    }

    async fn on_fault<S>(&mut self, ws: &mut WebSocketStream<S>, fault: GatewayFault) -> Flow
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        tracing::debug!(connection = self.id, ?fault, "injecting gateway fault");
        match fault {
            GatewayFault::Drop => Flow::Drop,
            GatewayFault::Reconnect => send(ws, r#"{"op":7,"d":null,"s":null,"t":null}"#.to_owned()).await,
            GatewayFault::InvalidSession(resumable) => {
                if !resumable && let Some(session) = &self.session {
                    self.shared.lock().invalidate_session(session);
                    self.shared.gateway_touched();
                }
                send(ws, format!(r#"{{"op":9,"d":{resumable},"s":null,"t":null}}"#)).await
            }
            GatewayFault::Stall(duration) => {
                self.stalled_until = Some(crate::state::deadline(duration));
                Flow::Continue
            }
            GatewayFault::Close(code) => Flow::Close(code, "closed by the emulator"),
        }
    }

    async fn on_message<S>(&mut self, ws: &mut WebSocketStream<S>, message: &Message) -> Flow
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        if let Some((code, _)) = message.as_close() {
            let code = u16::from(code);
            self.shared.stats(|s| s.last_client_close_code = Some(code));
            // tokio-websockets answers the close frame; the stream ends next.
            return Flow::Continue;
        }
        if message.is_binary() {
            return Flow::Close(4002, "Error while decoding payload.");
        }
        let Some(text) = message.as_text() else {
            // Ping and pong frames are handled by tokio-websockets.
            return Flow::Continue;
        };
        let Ok(payload) = serde_json::from_str::<Value>(text) else {
            return Flow::Close(4002, "Error while decoding payload.");
        };
        let Some(op) = payload.get("op").and_then(Value::as_u64) else {
            return Flow::Close(4002, "Error while decoding payload.");
        };
        let d = payload.get("d").unwrap_or(&Value::Null);
        match op {
            1 => self.on_heartbeat(ws).await,
            2 => self.on_identify(ws, d).await,
            6 => self.on_resume(ws, d).await,
            3 | 4 | 8 if self.session.is_none() => Flow::Close(4003, "Not authenticated."),
            3 | 4 | 8 => Flow::Continue,
            _ => Flow::Close(4001, "Unknown opcode."),
        }
    }

    async fn on_heartbeat<S>(&mut self, ws: &mut WebSocketStream<S>) -> Flow
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        // The heartbeat's sequence forgets nothing: a client may resume from an older one (its process died before
        // it handled what it had received), and the session's log keeps its latest events for that.
        let stalled = self.stalled_until.is_some_and(|until| Instant::now() < until);
        self.shared.stats(|s| {
            s.heartbeats += 1;
            if !stalled {
                s.heartbeat_acks += 1;
            }
        });
        if stalled { Flow::Continue } else { send(ws, r#"{"op":11,"d":null,"s":null,"t":null}"#.to_owned()).await }
    }

    async fn on_identify<S>(&mut self, ws: &mut WebSocketStream<S>, d: &Value) -> Flow
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        if self.session.is_some() {
            return Flow::Close(4005, "Already authenticated.");
        }
        let token = d.get("token").and_then(Value::as_str).unwrap_or_default();
        if !self.shared.token_matches(token) {
            self.shared.stats(|s| s.auth_failures += 1);
            return Flow::Close(4004, "Authentication failed.");
        }
        let shard = match d.get("shard") {
            None | Some(Value::Null) => None,
            Some(value) => match value.as_array().map(|a| a.iter().map(Value::as_u64).collect::<Vec<_>>()) {
                Some(parts) if parts.len() == 2 => match (parts[0], parts[1]) {
                    (Some(id), Some(total)) if total > 0 && id < total => Some([id, total]),
                    _ => return Flow::Close(4010, "Invalid shard."),
                },
                _ => return Flow::Close(4010, "Invalid shard."),
            },
        };
        let intents = d.get("intents").and_then(Value::as_u64).unwrap_or(0);
        let session = self.shared.lock().identify(self.id, shard, intents);
        tracing::debug!(connection = self.id, session, intents, "identified");
        self.session = Some(session);
        self.sent_seq = 0;
        self.shared.events_appended();
        self.flush(ws).await
    }

    async fn on_resume<S>(&mut self, ws: &mut WebSocketStream<S>, d: &Value) -> Flow
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        if self.session.is_some() {
            return Flow::Close(4005, "Already authenticated.");
        }
        let token = d.get("token").and_then(Value::as_str).unwrap_or_default();
        if !self.shared.token_matches(token) {
            self.shared.stats(|s| s.auth_failures += 1);
            return Flow::Close(4004, "Authentication failed.");
        }
        let session_id = d.get("session_id").and_then(Value::as_str).unwrap_or_default();
        let seq = d.get("seq").and_then(Value::as_u64).unwrap_or(0);
        let resumed = self.shared.lock().resume(self.id, session_id, seq);
        self.shared.gateway_touched();
        let Some((replay, resumed_frame, last)) = resumed else {
            tracing::debug!(connection = self.id, session_id, seq, "resume refused");
            return send(ws, r#"{"op":9,"d":false,"s":null,"t":null}"#.to_owned()).await;
        };
        tracing::debug!(connection = self.id, session_id, seq, replay = replay.len(), "resumed");
        self.session = Some(session_id.to_owned());
        if let Flow::Drop = self.write_events(ws, &replay).await {
            return Flow::Drop;
        }
        self.sent_seq = last;
        let flow = send(ws, resumed_frame).await;
        if matches!(flow, Flow::Continue) {
            // Events appended while replaying.
            return self.flush(ws).await;
        }
        flow
    }

    /// Sends the session's events this socket has not carried yet.
    async fn flush<S>(&mut self, ws: &mut WebSocketStream<S>) -> Flow
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        if self.stalled_until.is_some() {
            return Flow::Continue;
        }
        let Some(session) = &self.session else {
            return Flow::Continue;
        };
        let pending = self.shared.lock().pending_events(self.id, session, self.sent_seq);
        match pending {
            // Another connection resumed the session.
            None => Flow::Close(4009, "Session taken over."),
            Some(events) => self.write_events(ws, &events).await,
        }
    }

    async fn write_events<S>(&mut self, ws: &mut WebSocketStream<S>, events: &[LoggedEvent]) -> Flow
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        if events.is_empty() {
            return Flow::Continue;
        }
        let mut ready = 0;
        for event in events {
            if ws.feed(Message::text(event.frame.to_string())).await.is_err() {
                return Flow::Drop;
            }
            self.sent_seq = self.sent_seq.max(event.seq);
            if event.name == "READY" {
                ready += 1;
            }
        }
        if ws.flush().await.is_err() {
            return Flow::Drop;
        }
        let count = events.len() as u64;
        self.shared.stats(|s| {
            s.dispatches_sent += count;
            s.ready_sent += ready;
        });
        Flow::Continue
    }
}

async fn send<S>(ws: &mut WebSocketStream<S>, text: String) -> Flow
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match ws.send(Message::text(text)).await {
        Ok(()) => Flow::Continue,
        Err(_) => Flow::Drop,
    }
}

/// Sends a close frame and waits briefly for the client's, so it reads our code.
async fn close<S>(ws: &mut WebSocketStream<S>, code: u16, reason: &str)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Ok(code) = CloseCode::try_from(code) else {
        return;
    };
    if code.is_reserved() || ws.send(Message::close(Some(code), reason)).await.is_err() {
        return;
    }
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, async { while let Some(Ok(_)) = ws.next().await {} }).await;
}
