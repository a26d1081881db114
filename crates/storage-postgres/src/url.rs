//! The database URL (`postgres://user:password@host:port/db?sslmode=require`): read into the client's configuration
//! and a TLS setting, and shown without its password.
//!
//! TLS is rustls's: the server's certificate chain and host name are always verified when TLS is used, against the
//! system's root certificates, or the PEM file the URL names with `sslrootcert`. `sslmode` is `disable`, `prefer` (the
//! default: TLS when the server offers it), `require`, or libpq's `verify-ca` and `verify-full`, which mean `require`
//! here (the verification is always full).

use std::path::PathBuf;
use std::str::FromStr as _;
use std::sync::Arc;

use postgres::config::SslMode;
use tokio_postgres_rustls::MakeRustlsConnect;

/// A database URL, read.
#[derive(Clone)]
pub struct DatabaseUrl {
    config: postgres::Config,
    root_cert: Option<PathBuf>,
    shown: String,
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("DatabaseUrl").field(&self.shown).finish()
    }
}

impl std::fmt::Display for DatabaseUrl {
    /// The URL without its password: `postgres://plans@db.example.com:5432/coach_plans`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

/// Why a database URL cannot be used. Its text never holds the password.
#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    /// Not a `postgres://` or `postgresql://` URL.
    #[error(
        "the database URL must start with postgres:// or postgresql:// (e.g. postgres://user:password@host:5432/coach_plans)"
    )]
    Scheme,
    /// The client cannot read it.
    #[error("the database URL cannot be read ({0}); write it as postgres://user:password@host:port/database")]
    Invalid(String),
    /// An `sslmode` this client does not know.
    #[error("sslmode `{0}` is not one of disable, prefer, require, verify-ca or verify-full")]
    SslMode(String),
    /// A query parameter this client does not know.
    #[error(
        "the database URL's parameter `{0}` is not supported; use sslmode, sslrootcert, connect_timeout or \
         application_name"
    )]
    Parameter(String),
    /// No database name.
    #[error("the database URL names no database; add it after the host, e.g. postgres://user@host:5432/coach_plans")]
    NoDatabase,
    /// The root certificates for TLS cannot be read.
    #[error("cannot read the TLS root certificates {}: {reason}", path.display())]
    RootCertificates {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The parameters passed on to the client as they are.
const PASSED_ON: &[&str] = &["connect_timeout", "application_name", "keepalives", "keepalives_idle"];

impl DatabaseUrl {
    /// Reads `url`.
    ///
    /// # Errors
    /// [`UrlError`] saying what to change; it never holds the password.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let url = url.trim();
        let rest =
            url.strip_prefix("postgres://").or_else(|| url.strip_prefix("postgresql://")).ok_or(UrlError::Scheme)?;
        let (base, query) = rest.split_once('?').unwrap_or((rest, ""));
        let mut passed = Vec::new();
        let mut ssl_mode = SslMode::Prefer;
        let mut root_cert = None;
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match key.as_ref() {
                "sslmode" => {
                    ssl_mode = match value.as_ref() {
                        "disable" => SslMode::Disable,
                        "prefer" => SslMode::Prefer,
                        "require" | "verify-ca" | "verify-full" => SslMode::Require,
                        other => return Err(UrlError::SslMode(other.chars().take(40).collect())),
                    };
                }
                "sslrootcert" => root_cert = Some(PathBuf::from(value.as_ref())),
                known if PASSED_ON.contains(&known) => passed.push((key.into_owned(), value.into_owned())),
                other => return Err(UrlError::Parameter(other.chars().take(40).collect())),
            }
        }
        let query: String =
            form_urlencoded::Serializer::new(String::new()).extend_pairs(passed.iter().map(|(k, v)| (k, v))).finish();
        let client_url =
            if query.is_empty() { format!("postgres://{base}") } else { format!("postgres://{base}?{query}") };
        // The client's own error text names the kind of problem, never the input.
        let mut config = postgres::Config::from_str(&client_url).map_err(|e| UrlError::Invalid(e.to_string()))?;
        config.ssl_mode(ssl_mode);
        if config.get_dbname().is_none_or(str::is_empty) {
            return Err(UrlError::NoDatabase);
        }
        let shown = shown(&config);
        Ok(Self { config, root_cert, shown })
    }

    /// The client's configuration.
    pub(crate) fn config(&self) -> &postgres::Config {
        &self.config
    }

    /// The TLS connector: rustls, verifying against `sslrootcert` or the system's root certificates.
    ///
    /// # Errors
    /// When `sslrootcert` cannot be read.
    pub(crate) fn tls(&self) -> Result<MakeRustlsConnect, UrlError> {
        let mut roots = rustls::RootCertStore::empty();
        match &self.root_cert {
            Some(path) => {
                use rustls::pki_types::CertificateDer;
                use rustls::pki_types::pem::PemObject as _;
                let bad = |reason: String| UrlError::RootCertificates { path: path.clone(), reason };
                let certs = CertificateDer::pem_file_iter(path).map_err(|e| bad(e.to_string()))?;
                for cert in certs {
                    roots.add(cert.map_err(|e| bad(e.to_string()))?).map_err(|e| bad(e.to_string()))?;
                }
                if roots.is_empty() {
                    return Err(bad("it holds no PEM certificate".to_owned()));
                }
            }
            None => {
                let found = rustls_native_certs::load_native_certs();
                for error in &found.errors {
                    tracing::debug!(error = %error, "a system root certificate could not be read");
                }
                let (added, _) = roots.add_parsable_certificates(found.certs);
                tracing::debug!(roots = added, "system root certificates for TLS to the database");
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| UrlError::Invalid(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(MakeRustlsConnect::new(config))
    }
}

/// The URL as it may be shown: user, hosts, ports and database, no password.
fn shown(config: &postgres::Config) -> String {
    use postgres::config::Host;
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let name = match host {
                Host::Tcp(name) if name.contains(':') => format!("[{name}]"),
                Host::Tcp(name) => name.clone(),
                Host::Unix(path) => path.display().to_string(),
            };
            let port = config.get_ports().get(i).or_else(|| config.get_ports().first()).copied().unwrap_or(5432);
            format!("{name}:{port}")
        })
        .collect();
    let user = config.get_user().map(|u| format!("{u}@")).unwrap_or_default();
    format!("postgres://{user}{}/{}", hosts.join(","), config.get_dbname().unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_is_read_and_shown_without_its_password() {
        let url = DatabaseUrl::parse("postgresql://plans:s3cr%40t@db.example.com:5433/coach_plans?sslmode=verify-full")
            .unwrap();
        assert_eq!(url.to_string(), "postgres://plans@db.example.com:5433/coach_plans");
        assert_eq!(format!("{url:?}"), "DatabaseUrl(\"postgres://plans@db.example.com:5433/coach_plans\")");
        assert_eq!(url.config().get_ssl_mode(), SslMode::Require);
        assert_eq!(url.config().get_password(), Some(&b"s3cr@t"[..]));
        let url = DatabaseUrl::parse("postgres://u:p@127.0.0.1/db?connect_timeout=3&sslrootcert=/etc/ca.pem").unwrap();
        assert_eq!(url.to_string(), "postgres://u@127.0.0.1:5432/db");
        assert_eq!(url.root_cert.as_deref(), Some(std::path::Path::new("/etc/ca.pem")));
        assert_eq!(url.config().get_connect_timeout(), Some(&std::time::Duration::from_secs(3)));
    }

    #[test]
    fn bad_urls_say_what_to_change_and_never_show_the_password() {
        let cases = [
            ("mysql://u:hunter2@h/db", "must start with postgres://"),
            ("postgres://u:hunter2@h/db?sslmode=sometimes", "sslmode `sometimes` is not one of"),
            ("postgres://u:hunter2@h/db?pool=9", "parameter `pool` is not supported"),
            ("postgres://u:hunter2@h:port/db", "cannot be read"),
            ("postgres://u:hunter2@h:5432", "names no database"),
        ];
        for (url, expected) in cases {
            let error = DatabaseUrl::parse(url).unwrap_err().to_string();
            assert!(error.contains(expected), "{url}: {error}");
            assert!(!error.contains("hunter2"), "{url}: {error}");
        }
    }

    #[test]
    fn a_missing_root_certificate_file_is_named() {
        let url = DatabaseUrl::parse("postgres://u@h/db?sslmode=require&sslrootcert=/nonexistent/ca.pem").unwrap();
        let error = url.tls().err().unwrap().to_string();
        assert!(error.contains("cannot read the TLS root certificates /nonexistent/ca.pem"), "{error}");
    }
}
