//! `plan-server init`: writes a configuration file for a deployment. It asks for each answer (token, coaches,
//! guilds, channels, admins, time zone, API address, database), checking each one as it is given; every answer can
//! also come from a flag, and `--non-interactive` takes them all from flags and defaults.
//!
//! The file is checked by loading it the way `serve --config FILE` will before it is written.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};

use app::startup::{ConfigArgs, ServerArgs, StartupError};
use app::{Problem, SettingsError, SettingsLoader};

/// The answers `init` needs, each also a flag.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct InitArgs {
    /// The file to write.
    #[arg(long, short, value_name = "FILE", default_value = "coach-plans.yaml")]
    output: PathBuf,
    /// Replace the file if it exists.
    #[arg(long)]
    force: bool,
    /// Ask nothing: take every answer from the flags, and defaults for the rest.
    #[arg(long)]
    non_interactive: bool,
    /// The Discord bot token (left out of the file when not given: set DISCORD_BOT_TOKEN instead).
    #[arg(long, value_name = "TOKEN")]
    token: Option<String>,
    /// The coach roster, e.g. "d=Day Trading,i=Intraday,s=Swing,n=News/Events".
    #[arg(long, value_name = "ID=NAME,...")]
    coaches: Option<String>,
    /// Guild (server) ids the bot listens in, comma-separated; none means every guild it is in.
    #[arg(long, value_name = "IDS")]
    guilds: Option<String>,
    /// Channel ids the bot listens in, comma-separated; none means every channel it can read.
    #[arg(long, value_name = "IDS")]
    channels: Option<String>,
    /// User ids of admins (may edit or delete anyone's plan), comma-separated.
    #[arg(long, value_name = "IDS")]
    admin_users: Option<String>,
    /// Role ids whose members are admins, comma-separated.
    #[arg(long, value_name = "IDS")]
    admin_roles: Option<String>,
    /// IANA time zone in which "today" is computed, e.g. America/New_York.
    #[arg(long, value_name = "ZONE")]
    timezone: Option<String>,
}

/// One question: the setting it answers, what to ask, its default and where the flag's answer is.
struct Question {
    key: &'static str,
    ask: &'static str,
    default: &'static str,
    flag: &'static str,
}

const QUESTIONS: &[Question] = &[
    Question {
        key: "discord.token",
        ask: "Discord bot token (Developer Portal > Applications > your app > Bot > Reset Token; Enter to leave it \
              out and set DISCORD_BOT_TOKEN instead)",
        default: "",
        flag: "--token",
    },
    Question {
        key: "plans.coaches",
        ask: "Coaches, as id=Name pairs separated by commas",
        default: "d=Day Trading,i=Intraday,s=Swing,n=News/Events",
        flag: "--coaches",
    },
    Question {
        key: "discord.guilds",
        ask: "Guild (server) ids the bot listens in, comma-separated (Enter: every guild it is in)",
        default: "",
        flag: "--guilds",
    },
    Question {
        key: "discord.channels",
        ask: "Channel ids the bot listens in, comma-separated (Enter: every channel it can read)",
        default: "",
        flag: "--channels",
    },
    Question {
        key: "discord.admin_users",
        ask: "Admin user ids (may edit or delete anyone's plan), comma-separated",
        default: "",
        flag: "--admin-users",
    },
    Question { key: "discord.admin_roles", ask: "Admin role ids, comma-separated", default: "", flag: "--admin-roles" },
    Question {
        key: "plans.market_timezone",
        ask: "Market time zone (IANA name), in which \"today\" is computed",
        default: "America/New_York",
        flag: "--timezone",
    },
    Question { key: "api.host", ask: "Address the HTTP API listens on", default: "127.0.0.1", flag: "--host" },
    Question { key: "api.port", ask: "Port of the HTTP API", default: "8080", flag: "--port" },
    Question { key: "database.path", ask: "Database file", default: "data/coach_plans.db", flag: "--database" },
];

/// Writes the configuration file.
///
/// # Errors
/// Exit code 2 ([`StartupError::Settings`]) when an answer is invalid or the file exists without `--force`;
/// 1 when the file cannot be written.
pub(crate) fn main(args: &InitArgs, server: &ServerArgs, config: &ConfigArgs) -> Result<(), StartupError> {
    if config.config.is_some() {
        return Err(usage("--config", "init writes a new file; name it with --output FILE"));
    }
    if args.output.exists() && !args.force {
        return Err(StartupError::Settings(settings_error(vec![problem(
            "init",
            "--output",
            &format!("{} exists already", args.output.display()),
            "add --force to replace it, or choose another file",
        )])));
    }
    let given = |key: &str| -> Option<String> {
        match key {
            "discord.token" => args.token.clone(),
            "plans.coaches" => args.coaches.clone(),
            "discord.guilds" => args.guilds.clone(),
            "discord.channels" => args.channels.clone(),
            "discord.admin_users" => args.admin_users.clone(),
            "discord.admin_roles" => args.admin_roles.clone(),
            "plans.market_timezone" => args.timezone.clone(),
            "api.host" => server.host.clone(),
            "api.port" => server.port.map(|p| p.to_string()),
            "database.path" => server.database.as_ref().map(|p| p.display().to_string()),
            _ => None,
        }
    };
    let mut answers: Vec<(&'static str, String)> = Vec::new();
    if args.non_interactive {
        let mut problems = Vec::new();
        for question in QUESTIONS {
            let answer = given(question.key).unwrap_or_else(|| question.default.to_owned());
            problems.extend(check_answer(question, &answer));
            answers.push((question.key, answer));
        }
        if !problems.is_empty() {
            return Err(StartupError::Settings(settings_error(problems)));
        }
    } else {
        let mut prompter = Prompter::new();
        println!("plan-server init: a few questions to write {} (Enter keeps the [default])", args.output.display());
        for question in QUESTIONS {
            let answer = match given(question.key) {
                Some(answer) => {
                    if let Some(problem) = check_answer(question, &answer).into_iter().next() {
                        return Err(StartupError::Settings(settings_error(vec![problem])));
                    }
                    answer
                }
                None => prompter.ask(question)?,
            };
            answers.push((question.key, answer));
        }
    }
    let text = render(&answers);
    write_config(&args.output, &text, answers.iter().any(|(k, v)| *k == "discord.token" && !v.is_empty()))?;
    // The file must load the way `serve --config FILE` loads it.
    let settings = SettingsLoader::new().config_dir(unused_dir()).config_file(Some(args.output.clone())).load()?;
    println!("wrote {}", args.output.display());
    let token = first_token(&settings)?;
    println!("next: plan-server doctor --config {0}, then plan-server --config {0}", args.output.display());
    println!(
        "the API needs a token (api.auth: required); the first one, named {FIRST_TOKEN} (admin scope), is on the next \
         line and is not shown again; make one per agent with plan-server token create --config {} --name NAME",
        args.output.display()
    );
    println!("{token}");
    Ok(())
}

/// The name of the token `init` makes.
const FIRST_TOKEN: &str = "operator";

/// Makes the first token, an admin one, in the configured database (created when missing); when a token of that
/// name exists already (a database kept from an earlier deployment), a new one under a numbered name.
fn first_token(settings: &app::Settings) -> Result<String, StartupError> {
    let store = app::startup::open_store(settings)?;
    let access = app::startup::access(&store);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| StartupError::failed("cannot start the runtime", e))?;
    runtime.block_on(async move {
        for n in 1..=20 {
            let name = if n == 1 { FIRST_TOKEN.to_owned() } else { format!("{FIRST_TOKEN}-{n}") };
            match access.create(&name, core_model::Scope::Admin, None).await {
                Ok((token, _)) => return Ok(token.expose().to_owned()),
                Err(service::AdminError::NameTaken(_)) => {}
                Err(error) => return Err(StartupError::failed("cannot make the first API token", error.to_string())),
            }
        }
        Err(StartupError::failed("cannot make the first API token", "operator to operator-20 are all taken"))
    })
}

fn usage(flag: &str, message: &str) -> StartupError {
    StartupError::Settings(settings_error(vec![problem("init", flag, message, "")]))
}

fn problem(setting: &str, source: &str, what: &str, fix: &str) -> Problem {
    Problem { setting: setting.to_owned(), source: source.to_owned(), problem: what.to_owned(), fix: fix.to_owned() }
}

fn settings_error(problems: Vec<Problem>) -> SettingsError {
    SettingsError::new(problems)
}

/// A directory that holds no configuration files, so an answer is checked alone.
fn unused_dir() -> PathBuf {
    PathBuf::from("/nonexistent-coach-plans-config")
}

/// Checks one answer with the same rules `serve` applies; the problems name the flag.
fn check_answer(question: &Question, answer: &str) -> Vec<Problem> {
    if answer.is_empty() {
        return Vec::new();
    }
    if question.key == "discord.token" && answer.trim() != answer {
        return vec![problem(question.key, question.flag, "the token has spaces around it", "paste it without spaces")];
    }
    match SettingsLoader::new().config_dir(unused_dir()).set_override(question.key, answer).load() {
        Ok(_) => Vec::new(),
        Err(error) => error
            .problems()
            .iter()
            .filter(|p| p.setting == question.key)
            .map(|p| problem(question.key, question.flag, &p.problem, &p.fix))
            .collect(),
    }
}

/// Asks questions on standard input: hidden input for the token on a terminal, plain lines otherwise.
struct Prompter {
    terminal: bool,
    lines: std::io::Lines<std::io::StdinLock<'static>>,
}

impl Prompter {
    fn new() -> Self {
        Self { terminal: std::io::stdin().is_terminal(), lines: std::io::stdin().lock().lines() }
    }

    fn ask(&mut self, question: &Question) -> Result<String, StartupError> {
        for _attempt in 0..3 {
            let default = if question.key == "discord.token" || question.default.is_empty() {
                String::new()
            } else {
                format!(" [{}]", question.default)
            };
            let prompt = format!("{}{default}: ", question.ask);
            let answer = if question.key == "discord.token" && self.terminal {
                rpassword::prompt_password(&prompt)
                    .map_err(|e| StartupError::failed("cannot read the token from the terminal", e))?
            } else {
                print!("{prompt}");
                let _ = std::io::stdout().flush();
                match self.lines.next() {
                    Some(Ok(line)) => line,
                    Some(Err(e)) => return Err(StartupError::failed("cannot read the answer", e)),
                    None => {
                        println!();
                        String::new()
                    }
                }
            };
            let answer = answer.trim().to_owned();
            let answer = if answer.is_empty() { question.default.to_owned() } else { answer };
            let problems = check_answer(question, &answer);
            if problems.is_empty() {
                return Ok(answer);
            }
            for problem in &problems {
                println!("  {}; {}", problem.problem, problem.fix);
            }
        }
        Err(usage(question.flag, "no valid answer after three tries; run init again, or give the answer as a flag"))
    }
}

/// A YAML string (a JSON string is a valid YAML double-quoted scalar).
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

/// A YAML flow list of ids from comma-separated text.
fn id_list(text: &str) -> String {
    let ids: Vec<&str> = text.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    format!("[{}]", ids.join(", "))
}

/// The configuration file's text.
fn render(answers: &[(&'static str, String)]) -> String {
    let get = |key: &str| answers.iter().find(|(k, _)| *k == key).map_or("", |(_, v)| v.as_str());
    let mut out = String::new();
    out.push_str("# coach-plans configuration, written by `plan-server init`.\n");
    out.push_str("# Use it with: plan-server --config THIS_FILE (also plan-bot and plan-api).\n");
    out.push_str("# It is layered over config/base.yaml; environment variables and flags still win.\n");
    out.push_str("# Every setting is described in docs/configuration.md.\n\n");
    out.push_str(&format!("database:\n  path: {}\n\n", quoted(get("database.path"))));
    out.push_str(&format!("api:\n  host: {}\n  port: {}\n", quoted(get("api.host")), get("api.port")));
    out.push_str("  # Every route but /health and / needs a token: plan-server token create --name NAME.\n");
    out.push_str("  auth: required\n\n");
    out.push_str("discord:\n");
    let token = get("discord.token");
    if token.is_empty() {
        out.push_str("  # The token is not in this file: set DISCORD_BOT_TOKEN.\n");
    } else {
        out.push_str("  # Keep this file private: it holds the bot token.\n");
        out.push_str(&format!("  token: {}\n", quoted(token)));
    }
    for key in ["guilds", "channels", "admin_users", "admin_roles"] {
        out.push_str(&format!("  {key}: {}\n", id_list(get(&format!("discord.{key}")))));
    }
    out.push_str("\nplans:\n");
    out.push_str(&format!("  market_timezone: {}\n", quoted(get("plans.market_timezone"))));
    out.push_str("  coaches:\n");
    for pair in get("plans.coaches").split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let (id, name) = pair.split_once('=').map_or((pair, pair), |(id, name)| (id.trim(), name.trim()));
        out.push_str(&format!("    - id: {}\n      name: {}\n      posters: []\n", quoted(id), quoted(name)));
    }
    out
}

/// Writes the file (readable by its owner only when it holds the token), creating its directory.
fn write_config(path: &Path, text: &str, secret: bool) -> Result<(), StartupError> {
    let failed = |e: std::io::Error| StartupError::failed(format!("cannot write {}", path.display()), e);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(failed)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        if secret {
            options.mode(0o600);
        }
    }
    let mut file = options.open(path).map_err(failed)?;
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600)).map_err(failed)?;
    }
    file.write_all(text.as_bytes()).map_err(failed)?;
    file.sync_all().map_err(failed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn question(key: &str) -> &'static Question {
        QUESTIONS.iter().find(|q| q.key == key).unwrap()
    }

    #[test]
    fn every_default_answer_is_valid() {
        for question in QUESTIONS {
            assert!(check_answer(question, question.default).is_empty(), "{}", question.key);
        }
    }

    #[test]
    fn bad_answers_name_their_flag_and_say_what_to_do() {
        for (key, answer, flag) in [
            ("api.port", "80800", "--port"),
            ("plans.market_timezone", "Mars/Olympus", "--timezone"),
            ("discord.guilds", "12,abc", "--guilds"),
            ("plans.coaches", "d=Day,d=Again", "--coaches"),
            ("discord.token", " token-with-spaces ", "--token"),
        ] {
            let problems = check_answer(question(key), answer);
            assert_eq!(problems.len(), 1, "{key}={answer}: {problems:?}");
            assert_eq!(problems[0].source, flag);
            assert!(!problems[0].fix.is_empty(), "{problems:?}");
        }
    }

    #[test]
    fn the_file_loads_as_the_answers_say() {
        let answers: Vec<(&'static str, String)> = vec![
            ("discord.token", "abc.def\"ghi".to_owned()),
            ("plans.coaches", "d=Day Trading, x = \"Extra\" desk".to_owned()),
            ("discord.guilds", "100".to_owned()),
            ("discord.channels", "200, 201".to_owned()),
            ("discord.admin_users", String::new()),
            ("discord.admin_roles", "300".to_owned()),
            ("plans.market_timezone", "Europe/London".to_owned()),
            ("api.host", "0.0.0.0".to_owned()),
            ("api.port", "9000".to_owned()),
            ("database.path", "/srv/plans: main.db".to_owned()),
        ];
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("conf/coach-plans.yaml");
        write_config(&path, &render(&answers), true).unwrap();
        let settings = SettingsLoader::new().config_dir(unused_dir()).config_file(Some(path.clone())).load().unwrap();
        use secrecy::ExposeSecret as _;
        assert_eq!(
            settings.discord.token.as_ref().map(|t| t.expose_secret().to_owned()).as_deref(),
            Some("abc.def\"ghi")
        );
        let coaches: Vec<(String, String)> =
            settings.plans.coaches.iter().map(|c| (c.id.clone(), c.name.clone())).collect();
        assert_eq!(
            coaches,
            vec![("d".to_owned(), "Day Trading".to_owned()), ("x".to_owned(), "\"Extra\" desk".to_owned())]
        );
        assert_eq!(settings.discord.guilds, vec![100]);
        assert_eq!(settings.discord.channels, vec![200, 201]);
        assert!(settings.discord.admin_users.is_empty());
        assert_eq!(settings.discord.admin_roles, vec![300]);
        assert_eq!(settings.plans.market_timezone, "Europe/London");
        assert_eq!(settings.api.address(), "0.0.0.0:9000");
        assert_eq!(settings.database.path, PathBuf::from("/srv/plans: main.db"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
    }
}
