//! A small HTTP/1.1 server side: requests with `content-length` or chunked bodies, keep-alive, pipelining.
//! Malformed input yields an error the caller answers with 400 and a closed connection.

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest request head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// Largest request body accepted.
const MAX_BODY: usize = 64 * 1024 * 1024;
/// Most headers accepted.
const MAX_HEADERS: usize = 64;

/// A parsed request.
#[derive(Debug)]
pub(crate) struct Request {
    /// Upper-case method.
    pub(crate) method: String,
    /// Path without the query, percent-encoding kept.
    pub(crate) path: String,
    /// Query without `?`.
    pub(crate) query: Option<String>,
    /// Headers with lower-case names.
    pub(crate) headers: Vec<(String, String)>,
    /// The body.
    pub(crate) body: Vec<u8>,
    /// Whether the connection stays open after the answer.
    pub(crate) keep_alive: bool,
}

impl Request {
    /// The first header with this (lower-case) name.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Decoded query parameters.
    pub(crate) fn query_pairs(&self) -> Vec<(String, String)> {
        self.query
            .as_deref()
            .unwrap_or("")
            .split('&')
            .filter(|pair| !pair.is_empty())
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (percent_decode(&key.replace('+', " ")), percent_decode(&value.replace('+', " ")))
            })
            .collect()
    }
}

/// An answer.
#[derive(Debug)]
pub(crate) struct Response {
    /// Status code.
    pub(crate) status: u16,
    /// Extra headers (`content-length` and `connection` are added when writing).
    pub(crate) headers: Vec<(String, String)>,
    /// The body.
    pub(crate) body: Vec<u8>,
}

impl Response {
    /// A JSON answer.
    pub(crate) fn json(status: u16, body: &serde_json::Value) -> Self {
        Self {
            status,
            headers: vec![("content-type".to_owned(), "application/json".to_owned())],
            body: body.to_string().into_bytes(),
        }
    }

    /// An empty answer (e.g. 204).
    pub(crate) fn empty(status: u16) -> Self {
        Self { status, headers: Vec::new(), body: Vec::new() }
    }

    /// Adds a header.
    pub(crate) fn with_header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// Why a request could not be read.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The peer closed or reset the connection.
    Io,
    /// The bytes are not an acceptable HTTP/1.1 request; answer with this status and close.
    Malformed(u16),
}

/// Reads one request from `stream`; `buffer` keeps bytes read past it (pipelining). `Ok(None)` on a clean close.
pub(crate) async fn read_request<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    buffer: &mut Vec<u8>,
) -> Result<Option<Request>, ReadError> {
    let (head_len, method, target, version_minor, headers) = loop {
        if !buffer.is_empty() {
            let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut parsed = httparse::Request::new(&mut slots);
            match parsed.parse(buffer) {
                Ok(httparse::Status::Complete(len)) => {
                    let method = parsed.method.unwrap_or("GET").to_ascii_uppercase();
                    let target = parsed.path.unwrap_or("/").to_owned();
                    let minor = parsed.version.unwrap_or(1);
                    let headers: Vec<(String, String)> = parsed
                        .headers
                        .iter()
                        .map(|h| (h.name.to_ascii_lowercase(), String::from_utf8_lossy(h.value).trim().to_owned()))
                        .collect();
                    break (len, method, target, minor, headers);
                }
                Ok(httparse::Status::Partial) if buffer.len() > MAX_HEAD => {
                    return Err(ReadError::Malformed(431));
                }
                Ok(httparse::Status::Partial) => {}
                Err(_) => return Err(ReadError::Malformed(400)),
            }
        }
        if read_more(stream, buffer).await? == 0 {
            return if buffer.is_empty() { Ok(None) } else { Err(ReadError::Io) };
        }
    };
    buffer.drain(..head_len);

    let find = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
    // curl and others wait for this before sending a large body.
    if find("expect").is_some_and(|v| v.eq_ignore_ascii_case("100-continue")) && buffer.is_empty() {
        stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.map_err(|_| ReadError::Io)?;
    }
    let chunked = find("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
    let body = if chunked {
        loop {
            match decode_chunked(buffer)? {
                Some((body, used)) => {
                    buffer.drain(..used);
                    break body;
                }
                None => {
                    if buffer.len() > MAX_BODY + MAX_HEAD {
                        return Err(ReadError::Malformed(413));
                    }
                    if read_more(stream, buffer).await? == 0 {
                        return Err(ReadError::Io);
                    }
                }
            }
        }
    } else {
        let length = match find("content-length") {
            Some(value) => value.parse::<usize>().map_err(|_| ReadError::Malformed(400))?,
            None => 0,
        };
        if length > MAX_BODY {
            return Err(ReadError::Malformed(413));
        }
        while buffer.len() < length {
            if read_more(stream, buffer).await? == 0 {
                return Err(ReadError::Io);
            }
        }
        buffer.drain(..length).collect()
    };

    let connection = find("connection").unwrap_or_default().to_ascii_lowercase();
    let keep_alive = if version_minor == 0 { connection.contains("keep-alive") } else { !connection.contains("close") };
    let (path, query) = match target.split_once('?') {
        Some((path, query)) => (path.to_owned(), Some(query.to_owned())),
        None => (target, None),
    };
    Ok(Some(Request { method, path, query, headers, body, keep_alive }))
}

async fn read_more<S: AsyncRead + Unpin>(stream: &mut S, buffer: &mut Vec<u8>) -> Result<usize, ReadError> {
    let mut chunk = [0u8; 16 * 1024];
    let read = stream.read(&mut chunk).await.map_err(|_| ReadError::Io)?;
    buffer.extend_from_slice(&chunk[..read]);
    Ok(read)
}

/// Decodes a complete chunked body at the start of `data`: the body and the bytes used, or `None` if incomplete.
fn decode_chunked(data: &[u8]) -> Result<Option<(Vec<u8>, usize)>, ReadError> {
    let mut body = Vec::new();
    let mut at = 0;
    loop {
        let Some(line_end) = find_crlf(&data[at..]) else {
            return Ok(None);
        };
        let line = std::str::from_utf8(&data[at..at + line_end]).map_err(|_| ReadError::Malformed(400))?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| ReadError::Malformed(400))?;
        if size > MAX_BODY || body.len() + size > MAX_BODY {
            return Err(ReadError::Malformed(413));
        }
        at += line_end + 2;
        if size == 0 {
            // Trailers end with an empty line.
            loop {
                let Some(end) = find_crlf(&data[at..]) else {
                    return Ok(None);
                };
                at += end + 2;
                if end == 0 {
                    return Ok(Some((body, at)));
                }
            }
        }
        if data.len() < at + size + 2 {
            return Ok(None);
        }
        body.extend_from_slice(&data[at..at + size]);
        if &data[at + size..at + size + 2] != b"\r\n" {
            return Err(ReadError::Malformed(400));
        }
        at += size + 2;
    }
}

fn find_crlf(data: &[u8]) -> Option<usize> {
    data.windows(2).position(|w| w == b"\r\n")
}

/// Writes an answer; `head_only` leaves the body out (HEAD requests).
pub(crate) async fn write_response<S: AsyncWrite + Unpin>(
    stream: &mut S,
    response: &Response,
    keep_alive: bool,
    head_only: bool,
) -> std::io::Result<()> {
    let mut out = format!("HTTP/1.1 {} {}\r\n", response.status, reason(response.status));
    for (name, value) in &response.headers {
        out.push_str(name);
        out.push_str(": ");
        out.push_str(value);
        out.push_str("\r\n");
    }
    out.push_str(&format!("content-length: {}\r\n", response.body.len()));
    out.push_str(if keep_alive { "connection: keep-alive\r\n\r\n" } else { "connection: close\r\n\r\n" });
    let mut bytes = out.into_bytes();
    if !head_only {
        bytes.extend_from_slice(&response.body);
    }
    stream.write_all(&bytes).await?;
    stream.flush().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        413 => "Payload Too Large",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Status",
    }
}

/// Decodes `%XX` escapes; invalid escapes are kept as they are.
pub(crate) fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(byte) => {
                        out.push(byte);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            byte => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_pipelined_requests_with_both_body_kinds() {
        let raw = b"POST /a?x=1 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabcGET /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\nhi\r\n1;ext\r\n!\r\n0\r\n\r\n";
        let mut stream = tokio::io::join(&raw[..], tokio::io::sink());
        let mut buffer = Vec::new();
        let first = read_request(&mut stream, &mut buffer).await.ok().flatten();
        let first = first.map(|r| (r.method, r.path, r.query, r.body, r.keep_alive));
        assert_eq!(first, Some(("POST".into(), "/a".into(), Some("x=1".into()), b"abc".to_vec(), true)));
        let second = read_request(&mut stream, &mut buffer).await.ok().flatten();
        let second = second.map(|r| (r.body, r.keep_alive));
        assert_eq!(second, Some((b"hi!".to_vec(), false)));
        assert!(matches!(read_request(&mut stream, &mut buffer).await, Ok(None)));
    }

    #[tokio::test]
    async fn rejects_garbage() {
        let mut stream = tokio::io::join(&b"\x00\x01 nonsense\r\n\r\n"[..], tokio::io::sink());
        let mut buffer = Vec::new();
        assert!(matches!(read_request(&mut stream, &mut buffer).await, Err(ReadError::Malformed(400))));
        let mut stream = tokio::io::join(&b"GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n"[..], tokio::io::sink());
        let mut buffer = Vec::new();
        assert!(matches!(read_request(&mut stream, &mut buffer).await, Err(ReadError::Malformed(400))));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b+c%2"), "a b+c%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
    }
}
