//! The bot over a database it cannot write (a full disk, a read-only or immutable file): the author is told that
//! nothing was saved and what to do, plans can still be read, and posting works again as soon as the file is
//! writable, without a restart.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use core_model::{Actor, SystemClock, UserId};
use discord_adapter::handler::{CommandHandler, IncomingMessage, Listening, Outcome};
use service::{PlanService, Policy};
use storage::{SqliteStore, StoreOptions};

const UNWRITABLE: &str = "nothing was saved because the server's storage is full or read-only; plans can still be read";

/// The database file made unwritable for this process until dropped: mode 0444, and where the mode does not bind
/// (root), the immutable attribute.
struct Unwritable {
    path: PathBuf,
    immutable: bool,
}

impl Unwritable {
    fn new(path: &Path) -> Self {
        use std::os::unix::fs::PermissionsExt as _;
        let writable = || std::fs::OpenOptions::new().write(true).open(path).is_ok();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o444)).unwrap();
        let immutable = writable() && Command::new("chattr").arg("+i").arg(path).status().is_ok_and(|s| s.success());
        assert!(!writable(), "cannot make {} unwritable for this user", path.display());
        Self { path: path.to_owned(), immutable }
    }
}

impl Drop for Unwritable {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt as _;
        if self.immutable {
            let _ = Command::new("chattr").arg("-i").arg(&self.path).status();
        }
        let _ = std::fs::set_permissions(&self.path, std::fs::Permissions::from_mode(0o644));
    }
}

fn handler(path: &Path) -> CommandHandler {
    let store = Arc::new(SqliteStore::open(path, StoreOptions::default()).unwrap());
    let service = PlanService::new(store.clone(), store, Arc::new(SystemClock), Policy::default());
    CommandHandler::new(service, "!", Listening::default())
}

async fn say(handler: &CommandHandler, id: u64, user: u64, content: &str) -> String {
    let message = IncomingMessage {
        message_id: id,
        channel_id: 20,
        guild_id: Some(10),
        channel_name: Some("plans".into()),
        author: Actor::new(UserId(user), if user == 1 { "Ann" } else { "Bob" }),
        author_is_bot: false,
        content: content.into(),
        attachments: vec![],
    };
    handler.on_message(&message).await.and_then(Outcome::into_reply).expect("every command gets a reply")
}

#[tokio::test]
async fn an_unwritable_database_gets_a_reply_that_says_so_reads_go_on_and_posting_comes_back_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plans.db");
    let reply = say(&handler(&path), 1, 1, "!plan d 2024-01-02 Long above 950, kept").await;
    assert!(reply.starts_with("✅"), "{reply}");

    let unwritable = Unwritable::new(&path);
    let bot = handler(&path);
    for (id, command) in
        [(2, "!plan s 2024-01-02 Swing idea"), (3, "!edit d 2024-01-02 changed"), (4, "!delete d 2024-01-02")]
    {
        let reply = say(&bot, id, 1, command).await;
        assert!(reply.contains(UNWRITABLE), "{command}: {reply}");
        assert!(reply.contains("tell the operator"), "{command}: {reply}");
    }
    let listing = say(&bot, 5, 2, "!plans 2024-01-02").await;
    assert!(listing.contains("Long above 950, kept"), "reads go on: {listing}");
    assert!(!listing.contains("Swing idea"), "{listing}");

    drop(unwritable);
    let reply = say(&bot, 6, 1, "!plan s 2024-01-02 Swing idea").await;
    assert!(reply.starts_with("✅"), "the same process writes again: {reply}");
    let listing = say(&bot, 7, 2, "!plans 2024-01-02").await;
    assert!(listing.contains("Long above 950, kept") && listing.contains("Swing idea"), "{listing}");
}
