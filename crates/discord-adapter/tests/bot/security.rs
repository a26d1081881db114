//! The security matrix through the real bot and the local Discord: who (the author, another user, another user with
//! the author's display name, an admin by user id, an admin by role) × what (posting over the plan, `!edit`,
//! `!delete`, `!restore`, an edit of the plan's Discord message, its deletion), each outcome checked in the bot's
//! reply and in storage; the same people × the slash commands (`/plan` over the plan, `/edit`, `/delete`,
//! `/restore`), whose refusals only the caller sees. Also: the check that no reply pings anyone catches one that does.

use core_model::{CoachId, Plan, PlanId, PlanRepository as _, TradingDate, UserId as DomainUserId};
use discord_emulator::{Emulator, EmulatorConfig, MessageId, UserId, UserSpec};
use service::Policy;

use discord_adapter::handler::Listening;

use crate::helpers::{
    ANN, BOB, CHANNEL, MOD, TestBot, WAIT, assert_no_pings, emulator_config, spawn_bot_with, spawn_slash_bot_with,
    within,
};

/// Another user whose display name is the author's: names never grant anything.
const IMPOSTOR: UserId = UserId(1004);
/// An admin by user id (`MOD` is one by role).
const ADMIN: UserId = UserId(1005);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    PostOver,
    Edit,
    Delete,
    Restore,
    /// The plan's Discord message is edited: a MESSAGE_UPDATE naming the actor as its author (for anyone but the
    /// author, a forged event: Discord lets only a message's author edit it).
    SourceEdit,
    /// The plan's Discord message is deleted (MESSAGE_DELETE does not say by whom).
    SourceDelete,
}

const OPS: [Op; 6] = [Op::PostOver, Op::Edit, Op::Delete, Op::Restore, Op::SourceEdit, Op::SourceDelete];

#[derive(Debug, Clone, Copy, PartialEq)]
enum Outcome {
    /// The plan changed as asked, and the reply says so (no reply for a deleted message).
    Allowed,
    /// Refused: only the author or an admin may.
    Forbidden,
    /// Refused: the plan is someone else's.
    AlreadyPosted,
    /// Nothing changed and the bot said nothing.
    Ignored,
}

struct Cell<'a> {
    bot: &'a TestBot,
    replies: usize,
    date: String,
}

impl Cell<'_> {
    /// Posts as `user` and returns the bot's next reply.
    async fn say(&mut self, user: UserId, content: &str) -> String {
        let reply = self.bot.say(user, content, self.replies).await;
        self.replies += 1;
        reply.content
    }

    fn plan(&self, id: PlanId) -> Plan {
        self.bot.store.get(id).unwrap().expect("the plan exists")
    }

    fn active(&self) -> Option<Plan> {
        let date = TradingDate::parse(&self.date).unwrap();
        self.bot.store.find_active(&CoachId::new("d").unwrap(), date).unwrap()
    }

    /// Says something that always gets a reply, and returns the replies sent from number `from` until that answer:
    /// the channel's events are handled in order, so whatever an earlier event caused has been sent by then.
    async fn replies_until_sentinel(&mut self, user: UserId, from: usize) -> Vec<String> {
        let sentinel = self.bot.emulator.post_message(CHANNEL, user, "!help delete", vec![]).unwrap();
        let mut count = from + 1;
        loop {
            let sent = self.bot.emulator.wait_for_sent_messages(CHANNEL, count, WAIT).await.unwrap();
            if let Some(answer) = sent.iter().position(|m| m.reply_to == Some(sentinel)) {
                assert!(sent[answer].content.starts_with("`!delete <coach>"), "{}", sent[answer].content);
                self.replies = answer + 1;
                return sent[from..answer].iter().map(|m| m.content.clone()).collect();
            }
            count = sent.len() + 1;
        }
    }

    /// Ann posts a plan for this cell's date (and deletes it, for a restore); `user` then does `op`. Returns the
    /// outcome seen in the replies, checked against storage.
    async fn attempt(&mut self, user: UserId, op: Op) -> Outcome {
        let date = self.date.clone();
        let ann_message = self.bot.emulator.post_message(CHANNEL, ANN, format!("!plan d {date} ann's plan"), vec![]);
        let ann_message: MessageId = ann_message.unwrap();
        let posted = self.bot.reply(self.replies).await.content;
        self.replies += 1;
        assert!(posted.starts_with("✅ Plan saved"), "{posted}");
        let id = self.active().unwrap().id;
        if op == Op::Restore {
            assert!(self.say(ANN, &format!("!delete d {date}")).await.starts_with("🗑️"));
        }
        let before = self.plan(id);
        let changed = format!("!plan d {date} changed by {user}");
        let from = self.replies;
        let replies = match op {
            Op::PostOver => vec![self.say(user, &changed).await],
            Op::Edit => vec![self.say(user, &format!("!edit d {date} changed by {user}")).await],
            Op::Delete => vec![self.say(user, &format!("!delete d {date}")).await],
            Op::Restore => vec![self.say(user, &format!("!restore d {date}")).await],
            Op::SourceEdit => {
                // The same event for every row, so the author's row shows that such an event does reach the bot
                // and change the plan: only the author it names differs.
                self.bot.emulator.forge_message_update(CHANNEL, ann_message, user, &changed).unwrap();
                self.replies_until_sentinel(user, from).await
            }
            Op::SourceDelete => {
                self.bot.emulator.delete_message(CHANNEL, ann_message).unwrap();
                self.replies_until_sentinel(user, from).await
            }
        };
        let after = self.plan(id);
        assert_eq!(after.author.user_id, Some(DomainUserId(ANN.get())), "the plan stays Ann's whoever changes it");
        let outcome = match replies.as_slice() {
            [] if after == before => Outcome::Ignored,
            [] => {
                assert_eq!(op, Op::SourceDelete, "only a deleted message changes a plan without a reply");
                assert!(after.is_deleted() && !before.is_deleted());
                Outcome::Allowed
            }
            [reply] if reply.starts_with("⚠️ only Ann (who posted it) or an admin may ") => {
                let verb = match op {
                    Op::Edit => "edit",
                    Op::Delete => "delete",
                    Op::Restore => "restore",
                    other => panic!("{other:?} is never refused as forbidden: {reply}"),
                };
                assert_eq!(
                    reply,
                    &format!("⚠️ only Ann (who posted it) or an admin may {verb} the plan of coach d for {date}")
                );
                Outcome::Forbidden
            }
            [reply] if reply.starts_with(&format!("⚠️ coach d already has a plan for {date}, posted by Ann; ")) => {
                assert_eq!(op, Op::PostOver, "{reply}");
                if reply.contains("as an admin") {
                    assert!(reply.ends_with(&format!("`!edit d {date} <text>`")), "the command to use: {reply}");
                }
                Outcome::AlreadyPosted
            }
            [reply] => {
                let expected = match op {
                    Op::PostOver => "✅ Plan replaced",
                    Op::Edit | Op::SourceEdit => "✏️ Plan for **Day Trading** (`d`)",
                    Op::Delete => "🗑️ Plan for **Day Trading** (`d`)",
                    Op::Restore => "♻️ Plan for **Day Trading** (`d`)",
                    Op::SourceDelete => panic!("a deleted message gets no reply: {reply}"),
                };
                assert!(reply.starts_with(expected), "{op:?}: {reply}");
                assert_eq!(after.version, before.version + 1, "{op:?} changed the plan once");
                match op {
                    Op::PostOver | Op::Edit | Op::SourceEdit => assert!(after.text.starts_with("changed by")),
                    Op::Delete => assert!(after.is_deleted()),
                    Op::Restore => assert!(!after.is_deleted()),
                    Op::SourceDelete => unreachable!(),
                }
                Outcome::Allowed
            }
            more => panic!("{op:?} by {user}: more than one reply: {more:#?}"),
        };
        if outcome != Outcome::Allowed {
            assert_eq!(after, before, "{op:?} by {user} was refused and changed nothing");
        }
        outcome
    }
}

/// Who × [`OPS`]: the same table as the service's authorization matrix (crates/service/tests/rules.rs).
const MATRIX: [(&str, UserId, [Outcome; 6]); 5] = {
    use Outcome::{Allowed, AlreadyPosted, Forbidden, Ignored};
    [
        ("author", ANN, [Allowed, Allowed, Allowed, Allowed, Allowed, Allowed]),
        ("other user", BOB, [AlreadyPosted, Forbidden, Forbidden, Forbidden, Ignored, Allowed]),
        ("other user named Ann", IMPOSTOR, [AlreadyPosted, Forbidden, Forbidden, Forbidden, Ignored, Allowed]),
        ("admin by user id", ADMIN, [AlreadyPosted, Allowed, Allowed, Allowed, Ignored, Allowed]),
        ("admin by role", MOD, [AlreadyPosted, Allowed, Allowed, Allowed, Ignored, Allowed]),
    ]
};

/// The desk of [`MATRIX`]: the test desk with the impostor, and `ADMIN` an admin by user id.
fn matrix_desk() -> (EmulatorConfig, Policy) {
    let config = emulator_config()
        .with_user(UserSpec::new(IMPOSTOR, "ann_2").with_global_name("Ann"))
        .with_user(UserSpec::new(ADMIN, "desk_admin").with_global_name("Admin"));
    (config, Policy { admin_users: vec![DomainUserId(ADMIN.get())], ..Policy::default() })
}

#[tokio::test]
async fn security_matrix_through_the_bot() {
    within(WAIT * 6, async {
        let (config, policy) = matrix_desk();
        let bot = spawn_bot_with(config, policy).await;
        assert_eq!(bot.emulator.display_name(IMPOSTOR).as_deref(), Some("Ann"), "the impostor shows as Ann");
        let mut replies = 0;
        for (row, (who, user, expected)) in MATRIX.into_iter().enumerate() {
            for (column, (op, want)) in OPS.into_iter().zip(expected).enumerate() {
                // A date of its own for every cell: one bot, one channel, no cell sees another's plan.
                let date = format!("2025-10-{:02}", 1 + row * OPS.len() + column);
                let mut cell = Cell { bot: &bot, replies, date };
                let got = cell.attempt(user, op).await;
                assert_eq!(got, want, "{who} × {op:?}");
                replies = cell.replies;
            }
        }
        assert_eq!(bot.emulator.sent_messages(CHANNEL).len(), replies, "no reply beyond the ones checked");
    })
    .await;
}

/// Ann posts a plan for `date` with `/plan` (and deletes it, for a restore); `user` then does `op` with the slash
/// command. Returns the outcome seen in the one answer, checked against storage.
async fn slash_attempt(bot: &TestBot, user: UserId, op: Op, date: &str) -> Outcome {
    let answer = |user: UserId, name: &'static str, text: Option<&str>| {
        let mut options = vec![("coach", "d".into()), ("date", date.into())];
        options.extend(text.map(|t| ("text", t.into())));
        async move {
            let record = bot.slash(user, name, options, 1).await;
            let visible = record.visible_replies();
            assert_eq!(visible.len(), 1, "/{name} by {user}: {record:?}");
            (visible[0].ephemeral, visible[0].content.clone())
        }
    };
    let (_, posted) = answer(ANN, "plan", Some("ann's plan")).await;
    assert!(posted.starts_with("✅ Plan saved"), "{posted}");
    let active = || bot.store.find_active(&CoachId::new("d").unwrap(), TradingDate::parse(date).unwrap()).unwrap();
    let id = active().unwrap().id;
    if op == Op::Restore {
        assert!(answer(ANN, "delete", None).await.1.starts_with("🗑️"));
    }
    let before = bot.store.get(id).unwrap().unwrap();
    let changed = format!("changed by {user}");
    let (ephemeral, reply) = match op {
        Op::PostOver => answer(user, "plan", Some(&changed)).await,
        Op::Edit => answer(user, "edit", Some(&changed)).await,
        Op::Delete => answer(user, "delete", None).await,
        Op::Restore => answer(user, "restore", None).await,
        Op::SourceEdit | Op::SourceDelete => unreachable!("a slash-posted plan's message is the bot's own"),
    };
    let after = bot.store.get(id).unwrap().unwrap();
    assert_eq!(after.author.user_id, Some(DomainUserId(ANN.get())), "the plan stays Ann's whoever changes it");
    if ephemeral {
        assert_eq!(after, before, "{op:?} by {user} was refused and changed nothing");
        // A refused text is given back to its writer.
        let (reply, given_back) = match reply.split_once("\n\nYour text, to send again:\n") {
            Some((reply, text)) => (reply.to_owned(), Some(text.to_owned())),
            None => (reply, None),
        };
        let typed = matches!(op, Op::PostOver | Op::Edit).then(|| format!("```\n{changed}\n```"));
        assert_eq!(given_back, typed, "{op:?} by {user}");
        let verb = match op {
            Op::Edit => "edit",
            Op::Delete => "delete",
            _ => "restore",
        };
        if reply == format!("⚠️ only Ann (who posted it) or an admin may {verb} the plan of coach d for {date}") {
            return Outcome::Forbidden;
        }
        assert!(reply.starts_with(&format!("⚠️ coach d already has a plan for {date}, posted by Ann; ")), "{reply}");
        assert_eq!(op, Op::PostOver, "{reply}");
        if reply.contains("as an admin") {
            assert!(reply.ends_with(&format!("`/edit d {date} <text>`")), "the slash command to use: {reply}");
        }
        return Outcome::AlreadyPosted;
    }
    let expected = match op {
        Op::PostOver => "✅ Plan replaced for **Day Trading** (`d`)",
        Op::Edit => "✏️ Plan for **Day Trading** (`d`)",
        Op::Delete => "🗑️ Plan for **Day Trading** (`d`)",
        _ => "♻️ Plan for **Day Trading** (`d`)",
    };
    assert!(reply.starts_with(expected), "{op:?}: {reply}");
    assert_eq!(after.version, before.version + 1, "{op:?} changed the plan once");
    match op {
        Op::PostOver | Op::Edit => assert_eq!(after.text, changed),
        Op::Delete => assert!(after.is_deleted()),
        _ => assert!(!after.is_deleted()),
    }
    Outcome::Allowed
}

#[tokio::test]
async fn security_matrix_through_slash_commands() {
    within(WAIT * 4, async {
        let (config, policy) = matrix_desk();
        let bot = spawn_slash_bot_with(config, policy, Listening::default()).await;
        // The matrix's columns that are commands (a slash-posted plan's message is the bot's own): the same rules,
        // whichever way the command comes.
        let commands = |op: &Op| !matches!(op, Op::SourceEdit | Op::SourceDelete);
        for (row, (who, user, expected)) in MATRIX.into_iter().enumerate() {
            let cells = OPS.into_iter().zip(expected).filter(|(op, _)| commands(op));
            for (column, (op, want)) in cells.enumerate() {
                let date = format!("2025-11-{:02}", 1 + row * OPS.len() + column);
                assert_eq!(slash_attempt(&bot, user, op, &date).await, want, "{who} × /{op:?}");
            }
        }
    })
    .await;
}

/// The check run after every bot test fails on a message that could ping: a client without `allowed_mentions`
/// sending `@everyone` and a user mention.
#[tokio::test]
async fn the_ping_check_catches_a_message_that_pings() {
    within(WAIT, async {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let emulator = Emulator::start(EmulatorConfig::default().with_user(UserSpec::new(ANN, "ann"))).await.unwrap();
        let http = twilight_http::Client::builder()
            .token(emulator.token().to_owned())
            .proxy(emulator.rest_addr(), true)
            .build();
        let channel = twilight_model::id::Id::new(CHANNEL.get());
        let no_pings = twilight_model::channel::message::AllowedMentions::default();
        http.create_message(channel).content("@everyone quiet").allowed_mentions(Some(&no_pings)).await.unwrap();
        assert_no_pings(&emulator);

        http.create_message(channel).content(&format!("@everyone <@{ANN}> look")).await.unwrap();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| assert_no_pings(&emulator)));
        let message = *caught.expect_err("a message that pings is caught").downcast::<String>().unwrap();
        assert!(message.contains("pinged someone"), "{message}");
        emulator.shutdown().await;
    })
    .await;
}
