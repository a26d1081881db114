//! Just enough `multipart/form-data` to read twilight's message uploads (`payload_json` and `files[n]`).

/// One part of a form.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Part {
    /// The form field name.
    pub(crate) name: String,
    /// The file name, for file parts.
    pub(crate) filename: Option<String>,
    /// The part's content type.
    pub(crate) content_type: Option<String>,
    /// The part's bytes.
    pub(crate) data: Vec<u8>,
}

/// The boundary of a `multipart/form-data` content type.
pub(crate) fn boundary(content_type: &str) -> Option<String> {
    let (kind, params) = content_type.split_once(';')?;
    if !kind.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    params.split(';').find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim().eq_ignore_ascii_case("boundary").then(|| value.trim().trim_matches('"').to_owned())
    })
}

/// Splits a body into parts; `None` when it is not well-formed.
pub(crate) fn parse(boundary: &str, body: &[u8]) -> Option<Vec<Part>> {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut at = find(body, &delimiter)? + delimiter.len();
    let mut parts = Vec::new();
    loop {
        let rest = body.get(at..)?;
        if rest.starts_with(b"--") {
            return Some(parts);
        }
        at += find(rest, b"\r\n")? + 2;
        let head_len = find(body.get(at..)?, b"\r\n\r\n")?;
        let head = std::str::from_utf8(&body[at..at + head_len]).ok()?;
        at += head_len + 4;
        let mut closing = b"\r\n".to_vec();
        closing.extend_from_slice(&delimiter);
        let data_len = find(body.get(at..)?, &closing)?;
        let data = body[at..at + data_len].to_vec();
        at += data_len + closing.len();

        let mut name = None;
        let mut filename = None;
        let mut content_type = None;
        for line in head.split("\r\n") {
            let Some((header, value)) = line.split_once(':') else {
                continue;
            };
            if header.trim().eq_ignore_ascii_case("content-disposition") {
                for param in value.split(';').skip(1) {
                    if let Some((key, v)) = param.split_once('=') {
                        let v = v.trim().trim_matches('"').to_owned();
                        match key.trim() {
                            "name" => name = Some(v),
                            "filename" => filename = Some(v),
                            _ => {}
                        }
                    }
                }
            } else if header.trim().eq_ignore_ascii_case("content-type") {
                content_type = Some(value.trim().to_owned());
            }
        }
        parts.push(Part { name: name?, filename, content_type, data });
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() || haystack.len() < needle.len() {
        return None;
    }
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_json_and_file_parts() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"files[0]\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\nPNG\r\nDATA\r\n--XyZ\r\nContent-Disposition: form-data; name=\"payload_json\"\r\nContent-Type: application/json\r\n\r\n{\"content\":\"hi\"}\r\n--XyZ--\r\n";
        assert_eq!(boundary("multipart/form-data; boundary=XyZ").as_deref(), Some("XyZ"));
        let parts = parse("XyZ", body).unwrap_or_default();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].filename.as_deref(), Some("a.png"));
        assert_eq!(parts[0].data, b"PNG\r\nDATA");
        assert_eq!(parts[1].name, "payload_json");
        assert_eq!(parts[1].data, b"{\"content\":\"hi\"}");
        assert_eq!(parse("XyZ", b"--XyZ\r\nbroken"), None);
        assert_eq!(boundary("application/json"), None);
    }
}
