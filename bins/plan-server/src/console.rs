//! The sandbox console's input language: a line is a chat message, unless it starts with `/` (a console command).
//! A line ending in `\` continues on the next one, so a message can span several lines.

use std::path::PathBuf;

/// What a line of console input asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Input {
    /// Post this text as the current user (with the attachments queued so far).
    Message(String),
    /// Invoke this slash command as the current user (typed `//plan d Long`: `plan d Long`), with the attachments
    /// queued so far as its attachment options.
    Slash(String),
    /// Fill in the form the bot opened for the current user.
    Form(String),
    /// Nothing to do (a blank line).
    Nothing,
    /// Show the console's commands.
    Help,
    /// Stop the sandbox.
    Quit,
    /// List the users one can be.
    Users,
    /// Become this user (by name or id).
    As(String),
    /// Attach a local file to the next message.
    Attach(PathBuf),
    /// Edit the current user's last message.
    Edit(String),
    /// Delete the current user's last message.
    Delete,
    /// Show the API's address and example requests.
    Api,
    /// A console command that does not exist or is missing its argument; the text says what to type.
    Invalid(String),
}

/// Joins continued lines: feed every line; a complete input comes out when a line does not end in `\`.
#[derive(Debug, Default)]
pub(crate) struct LineJoiner {
    pending: Option<String>,
}

impl LineJoiner {
    /// Adds a line (without its newline); returns the whole input when it is complete.
    pub(crate) fn push(&mut self, line: &str) -> Option<String> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let (text, continues) = match line.strip_suffix('\\') {
            Some(text) => (text, true),
            None => (line, false),
        };
        let joined = match self.pending.take() {
            Some(mut pending) => {
                pending.push('\n');
                pending.push_str(text);
                pending
            }
            None => text.to_owned(),
        };
        if continues {
            self.pending = Some(joined);
            None
        } else {
            Some(joined)
        }
    }

    /// Whether a message is being continued.
    pub(crate) fn is_continuing(&self) -> bool {
        self.pending.is_some()
    }

    /// What was typed before the input ended without its last line.
    pub(crate) fn finish(&mut self) -> Option<String> {
        self.pending.take()
    }
}

/// Reads one complete input.
pub(crate) fn parse(input: &str) -> Input {
    if input.trim().is_empty() {
        return Input::Nothing;
    }
    if let Some(slash) = input.strip_prefix("//") {
        return match slash.trim() {
            "" => Input::Invalid("type //COMMAND, e.g. //plan d Long NVDA above 950 (//help lists them)".to_owned()),
            slash => Input::Slash(slash.to_owned()),
        };
    }
    let Some(command) = input.strip_prefix('/') else {
        return Input::Message(input.to_owned());
    };
    let command = command.trim_start();
    let (name, argument) = match command.split_once(char::is_whitespace) {
        Some((name, rest)) => (name, rest.trim()),
        None => (command.trim_end(), ""),
    };
    match (name.to_ascii_lowercase().as_str(), argument) {
        ("help" | "h" | "?", _) => Input::Help,
        ("quit" | "exit" | "q", _) => Input::Quit,
        ("users" | "who", _) => Input::Users,
        ("api", _) => Input::Api,
        ("delete", _) => Input::Delete,
        ("as", "") => Input::Invalid("type /as NAME (see /users for the names)".to_owned()),
        ("as", who) => Input::As(who.to_owned()),
        ("attach", "") => Input::Invalid("type /attach PATH, e.g. /attach ./chart.png".to_owned()),
        ("attach", path) => Input::Attach(PathBuf::from(path)),
        ("edit", "") => Input::Invalid("type /edit TEXT: it replaces the text of your last message".to_owned()),
        ("edit", text) => Input::Edit(text.to_owned()),
        ("form", "") => {
            Input::Invalid("type /form TEXT: it fills in the form the bot opened (after //plan COACH)".to_owned())
        }
        ("form", text) => Input::Form(text.to_owned()),
        (other, _) => Input::Invalid(format!("/{other} is not a console command; type /help for the list")),
    }
}

/// The console's help text.
pub(crate) const HELP: &str = "\
Type a chat message and press Enter to post it in #daily-plans, e.g.
  !plan d Long NVDA above 950, stop 941
  !help
Slash commands start with //: the words fill the command's options in order (an option without choices takes the
rest of the line), or name them, as in Discord:
  //plan d Long NVDA above 950
  //plan coach:s date:2025-11-10 text:Swing long SPY
  //plans    //history d    //search NVDA    //help
//plan COACH without text opens the bot's form for a long plan: fill it in with /form TEXT. Files queued with
/attach go to the command's chart options. Answers only you see are marked (only you see it).
End a line with \\ to continue the message on the next line.
Console commands:
  /as NAME        post as another user (see /users)
  /users          who you can be
  /attach PATH    attach a local file (png, jpg, gif, webp, bmp) to your next message
  /edit TEXT      edit your last message (the bot updates the plan it posted)
  /delete         delete your last message (the bot deletes the plan it posted)
  /form TEXT      fill in the form the bot opened for you (after //plan COACH)
  /api            the HTTP API's address and example requests
  /quit           stop (Ctrl-C or Ctrl-D work too)";

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(line: &str, expected: Input) {
        assert_eq!(parse(line), expected, "{line:?}");
    }

    #[test]
    fn lines_are_messages_or_console_commands() {
        check("!plan d Long NVDA above 950", Input::Message("!plan d Long NVDA above 950".to_owned()));
        check("hello everyone", Input::Message("hello everyone".to_owned()));
        check("  ", Input::Nothing);
        check("", Input::Nothing);
        check("/help", Input::Help);
        check("/HELP", Input::Help);
        check("/?", Input::Help);
        check("/quit", Input::Quit);
        check("/exit", Input::Quit);
        check("/users", Input::Users);
        check("/api", Input::Api);
        check("/as ivan", Input::As("ivan".to_owned()));
        check("//plan d Long NVDA", Input::Slash("plan d Long NVDA".to_owned()));
        check("/form Long\nstop 940", Input::Form("Long\nstop 940".to_owned()));
        assert!(matches!(parse("//"), Input::Invalid(_)));
        assert!(matches!(parse("/form"), Input::Invalid(_)));
        check("/as   Desk Admin ", Input::As("Desk Admin".to_owned()));
        check("/attach ./charts/nvda 1.png", Input::Attach(PathBuf::from("./charts/nvda 1.png")));
        check("/edit !plan d Short below 940", Input::Edit("!plan d Short below 940".to_owned()));
        check("/delete", Input::Delete);
    }

    #[test]
    fn console_mistakes_say_what_to_type() {
        for (line, hint) in [
            ("/as", "/as NAME"),
            ("/attach", "/attach PATH"),
            ("/edit  ", "/edit TEXT"),
            ("/plan d x", "/plan is not a console command"),
            ("/", "/ is not a console command"),
        ] {
            match parse(line) {
                Input::Invalid(message) => assert!(message.contains(hint), "{line:?}: {message}"),
                other => panic!("{line:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn a_trailing_backslash_continues_the_message() {
        let mut joiner = LineJoiner::default();
        assert_eq!(joiner.push("!plan d Long NVDA above 950\\"), None);
        assert!(joiner.is_continuing());
        assert_eq!(joiner.push("stop 941\\"), None);
        assert_eq!(joiner.push("target 980"), Some("!plan d Long NVDA above 950\nstop 941\ntarget 980".to_owned()));
        assert!(!joiner.is_continuing());
        assert_eq!(joiner.push("one line\r"), Some("one line".to_owned()));
        assert_eq!(joiner.push("cut short\\"), None);
        assert_eq!(joiner.finish(), Some("cut short".to_owned()));
        assert_eq!(joiner.finish(), None);
    }
}
