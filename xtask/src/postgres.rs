//! A private PostgreSQL server for the test run (`cargo xtask ci`) and for commands run beside one
//! (`cargo xtask postgres COMMAND...`): a new cluster in a temporary directory, listening on 127.0.0.1 on a free port
//! (and on a socket in that directory), password authentication over TCP, stopped and removed when dropped, whatever
//! the outcome. Its URL reaches the tests as `COACH_PLANS_TEST_POSTGRES_URL`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail};

/// The variable the tests read the server's URL from. When it is set, the PostgreSQL tests run and a server they
/// cannot reach is a failure.
pub const URL_VARIABLE: &str = "COACH_PLANS_TEST_POSTGRES_URL";

/// The variable that names the PEM file of the CA that signed the server's certificate: the server also accepts
/// TLS connections (to 127.0.0.1 or localhost), which the TLS tests make with `sslmode=require&sslrootcert=`.
pub const CA_VARIABLE: &str = "COACH_PLANS_TEST_POSTGRES_CA";

/// The database the tests use (each test creates its own schema in it).
const DATABASE: &str = "coach_plans_test";

/// A running private server.
pub struct Server {
    bin: PathBuf,
    dir: PathBuf,
    url: String,
    as_postgres: bool,
}

impl Server {
    /// Creates a cluster in a new temporary directory and starts it, tuned for tests: nothing is flushed to disk (a
    /// crash of the machine may lose the cluster, which is thrown away anyway). `password` is the superuser's
    /// (`postgres`).
    ///
    /// # Errors
    /// When the server binaries are missing (with what to install) or the cluster cannot start (with its log).
    pub fn start(password: &str) -> Result<Self> {
        Self::start_with(password, false)
    }

    /// As [`Self::start`], but durable as a production server is by default (`fsync`, synchronous commits, full page
    /// writes): for benchmarks.
    ///
    /// # Errors
    /// As [`Self::start`].
    pub fn start_durable(password: &str) -> Result<Self> {
        Self::start_with(password, true)
    }

    fn start_with(password: &str, durable: bool) -> Result<Self> {
        let bin = binaries()?;
        // initdb refuses to run as root: then the cluster belongs to the `postgres` user.
        let as_postgres = is_root();
        let dir = std::env::temp_dir().join(format!("coach-plans-pg-{}-{}", std::process::id(), fastrand_suffix()));
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let pwfile = dir.join("pwfile");
        std::fs::write(&pwfile, password).context("writing the password file")?;
        if as_postgres {
            run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(&dir), "chown")?;
        }
        let data = dir.join("data");
        let mut server = Self { bin, dir, url: String::new(), as_postgres };
        server
            .pg("initdb")
            .args(["--auth-local=trust", "--auth-host=scram-sha-256", "--username=postgres", "--encoding=UTF8"])
            .args(["--locale=C", "--no-sync", "--pwfile"])
            .arg(&pwfile)
            .arg("-D")
            .arg(&data)
            .stdout(Stdio::null())
            .status()
            .context("running initdb")?
            .success()
            .then_some(())
            .context("initdb failed")?;
        let tls = server.dir.join("tls");
        make_certificates(&tls)?;
        if as_postgres {
            run(Command::new("chown").args(["-R", "postgres:postgres"]).arg(&tls), "chown")?;
        }
        let port = free_port()?;
        let fast = if durable { "" } else { " -c fsync=off -c synchronous_commit=off -c full_page_writes=off" };
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=300 -c ssl=on -c ssl_cert_file={} \
             -c ssl_key_file={}{fast}",
            server.dir.display(),
            tls.join("server.crt").display(),
            tls.join("server.key").display()
        );
        let log = server.dir.join("server.log");
        let started = server
            .pg("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-o", &options, "-l"])
            .arg(&log)
            .args(["-w", "-t", "60", "start"])
            .stdout(Stdio::null())
            .status()
            .context("running pg_ctl start")?;
        if !started.success() {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            bail!("the private PostgreSQL server did not start; its log:\n{text}");
        }
        let created = server
            .pg("createdb")
            .args(["-h"])
            .arg(&server.dir)
            .args(["-p", &port.to_string(), "-U", "postgres", DATABASE])
            .status()
            .context("running createdb")?;
        if !created.success() {
            bail!("createdb {DATABASE} failed");
        }
        // Plain TCP by default: the server also takes TLS, which the TLS tests ask for (`CA_VARIABLE`).
        server.url = format!("postgres://postgres:{password}@127.0.0.1:{port}/{DATABASE}?sslmode=disable");
        Ok(server)
    }

    /// The server's URL, with the password.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The PEM file of the CA that signed the server's certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("tls").join("ca.crt")
    }

    /// The URL with the password left out, to show.
    pub fn shown_url(&self) -> String {
        match self.url.split_once('@') {
            Some((_, rest)) => format!("postgres://postgres:***@{}", rest.split('?').next().unwrap_or(rest)),
            None => self.url.clone(),
        }
    }

    /// A command of the server's binaries, run as the cluster's owner.
    fn pg(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ = self
            .pg("pg_ctl")
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate", "-w", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A CA and a server certificate it signs (for `localhost` and 127.0.0.1), EC P-256 keys, valid two days: the
/// `openssl` command makes them (the product's TLS is rustls's; only this test fixture uses OpenSSL's tool).
fn make_certificates(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let openssl = |args: &[&str]| -> Result<()> {
        let output = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .context("running openssl (Debian: `apt-get install openssl`) to make the test server's certificate")?;
        if !output.status.success() {
            bail!("openssl {} failed: {}", args.join(" "), String::from_utf8_lossy(&output.stderr));
        }
        Ok(())
    };
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    let mut ca = vec!["req", "-x509", "-days", "2", "-subj", "/CN=coach-plans test CA", "-keyout", "ca.key"];
    ca.extend(ec);
    ca.extend(["-out", "ca.crt", "-addext", "basicConstraints=critical,CA:TRUE"]);
    ca.extend(["-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    openssl(&ca)?;
    let mut request = vec!["req", "-subj", "/CN=localhost", "-keyout", "server.key", "-out", "server.csr"];
    request.extend(ec);
    openssl(&request)?;
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "server.crt",
    ])?;
    // The server refuses a key that others may read.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(dir.join("server.key"), std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

/// The server binaries: `PG_BIN` when set, else the newest `/usr/lib/postgresql/*/bin` (Debian's layout), else the
/// directory `pg_config --bindir` names.
fn binaries() -> Result<PathBuf> {
    if let Some(bin) = std::env::var_os("PG_BIN") {
        return Ok(PathBuf::from(bin));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return Ok(bin);
    }
    let bindir = Command::new("pg_config").arg("--bindir").output().ok().filter(|o| o.status.success());
    if let Some(output) = bindir {
        let bin = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
        if bin.join("initdb").exists() {
            return Ok(bin);
        }
    }
    bail!(
        "PostgreSQL's server binaries (initdb, pg_ctl) are missing: install them (Debian: `apt-get install \
         postgresql`), or set PG_BIN to their directory"
    )
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").context("finding a free port")?;
    Ok(listener.local_addr()?.port())
}

/// A few characters that differ from run to run, for the directory's name.
fn fastrand_suffix() -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{nanos:08x}")
}

fn run(command: &mut Command, what: &str) -> Result<()> {
    let status = command.status().with_context(|| format!("running {what}"))?;
    if !status.success() {
        bail!("{what} failed ({status})");
    }
    Ok(())
}

/// Runs `command` with a private server, its URL in [`URL_VARIABLE`]; without a command, prints the URL and waits
/// for standard input to close.
///
/// # Errors
/// When the server cannot start or the command fails.
pub fn with_server(root: &Path, command: &[String]) -> Result<()> {
    let password = password(root)?;
    let server = Server::start(&password)?;
    println!("postgres: a private server at {} ({URL_VARIABLE} is set for the command)", server.shown_url());
    if command.is_empty() {
        println!("{URL_VARIABLE}={}", server.url());
        println!("{CA_VARIABLE}={}", server.ca_file().display());
        println!("press Ctrl-D to stop it");
        let mut sink = String::new();
        while std::io::stdin().read_line(&mut sink).is_ok_and(|n| n > 0) {}
        return Ok(());
    }
    let status = Command::new(&command[0])
        .args(&command[1..])
        .env(URL_VARIABLE, server.url())
        .env(CA_VARIABLE, server.ca_file())
        .status()
        .with_context(|| format!("running {}", command[0]))?;
    if !status.success() {
        bail!("{} failed ({status})", command.join(" "));
    }
    Ok(())
}

/// The superuser password of private servers: the test secret `POSTGRES_PASSWORD`, so that the secret check of `ci`
/// looks for it in every log line.
pub fn password(root: &Path) -> Result<String> {
    let file = root.join(crate::leaks::SECRETS_FILE);
    let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
    crate::leaks::read_secrets(&text)
        .into_iter()
        .find_map(|(name, value)| (name == "POSTGRES_PASSWORD").then_some(value))
        .with_context(|| format!("{} declares no POSTGRES_PASSWORD", file.display()))
}
