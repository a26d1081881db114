//! Copies of attached chart images: made while Discord's signed link is fresh (right after the plan's confirmation,
//! which never waits for them), kept when the link has expired or the file is gone from Discord, made once per file;
//! a failed copy still posts the plan and a message after the confirmation says so.

use core_model::image::source_key;
use core_model::{ChartKind, ImageDigest};
use discord_emulator::{AttachmentSpec, FaultResponse, RestFault, RouteFilter};

use crate::helpers::{ANN, CHANNEL, WAIT, emulator_config, spawn_archiving_bot, within};

/// A chart screenshot: a PNG signature and enough bytes to be more than a token file.
fn screenshot(seed: u8) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend((0..20_000u32).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    bytes
}

fn cdn_downloads(bot: &crate::helpers::TestBot) -> usize {
    bot.emulator.rest_calls().iter().filter(|c| c.method == "GET" && c.path.starts_with("/attachments/")).count()
}

/// Waits until the channel's worker has handled everything posted so far (it handles a channel's messages in order,
/// copying a plan's charts right after its confirmation): posts `!plans` and waits for its answer, the `index`-th
/// message the bot sends.
async fn settled(bot: &crate::helpers::TestBot, index: usize) {
    bot.emulator.post_message(CHANNEL, ANN, "!plans", vec![]).unwrap();
    let answer = bot.reply(index).await;
    assert!(answer.content.contains("Plans for"), "{}", answer.content);
}

#[tokio::test]
async fn an_attached_chart_is_copied_while_its_link_is_fresh_and_outlives_discord() {
    within(WAIT, async {
        let bot = spawn_archiving_bot(emulator_config()).await;
        let attachments =
            vec![AttachmentSpec::new("nvda.png", screenshot(1)), AttachmentSpec::new("qqq.png", screenshot(2))];
        bot.emulator.post_message(CHANNEL, ANN, "!plan d Long NVDA above 950", attachments).unwrap();
        let reply = bot.reply(0).await;
        assert!(reply.content.starts_with("✅ Plan saved"), "{}", reply.content);
        // The next message the bot sends is the answer to `!plans`: no warning came between.
        settled(&bot, 1).await;

        let plan = bot.plan("d").unwrap();
        assert!(plan.charts.iter().all(|c| c.kind == ChartKind::Attachment && c.url.contains("?ex=")), "{plan:?}");
        let copies = bot.service.archived_images(std::slice::from_ref(&plan)).await.unwrap();
        for (chart, expected) in plan.charts.iter().zip([screenshot(1), screenshot(2)]) {
            let copy = copies.get(source_key(&chart.url)).unwrap_or_else(|| panic!("no copy of {}", chart.url));
            assert_eq!(copy.digest, ImageDigest::of(&expected));
            assert_eq!(copy.content_type, "image/png");
        }
        assert_eq!(cdn_downloads(&bot), 2, "each file downloaded once");
        let calls = bot.emulator.rest_calls();
        let position = |what: &dyn Fn(&discord_emulator::RestCall) -> bool| calls.iter().position(what).unwrap();
        let confirmed = position(&|c| c.method == "POST" && c.path.ends_with("/messages"));
        let downloaded = position(&|c| c.method == "GET" && c.path.starts_with("/attachments/"));
        assert!(confirmed < downloaded, "the confirmation is sent before the download starts: {calls:?}");

        // Discord goes away (its links expire, or the server is gone): the copies are still there, byte for byte.
        bot.emulator.shutdown().await;
        let copy = bot.service.chart_image(&ImageDigest::of(&screenshot(1))).await.unwrap().unwrap();
        assert_eq!(copy.bytes, screenshot(1));
    })
    .await;
}

#[tokio::test]
async fn an_edit_of_the_message_copies_only_the_new_file() {
    within(WAIT, async {
        let bot = spawn_archiving_bot(emulator_config()).await;
        let message = bot
            .emulator
            .post_message(CHANNEL, ANN, "!plan d Long above 950", vec![AttachmentSpec::new("a.png", screenshot(3))])
            .unwrap();
        bot.reply(0).await;
        settled(&bot, 1).await;
        assert_eq!(cdn_downloads(&bot), 1);
        // The edit event carries the same file under a freshly signed link: it is not downloaded again.
        bot.emulator.edit_message(CHANNEL, message, "!plan d Long above 951").unwrap();
        let edited = bot.reply(2).await;
        assert!(edited.content.contains("updated"), "{}", edited.content);
        settled(&bot, 3).await;
        assert_eq!(cdn_downloads(&bot), 1, "the file already copied is not fetched again");
        let plan = bot.plan("d").unwrap();
        assert_eq!(plan.text, "Long above 951");
        let copies = bot.service.archived_images(std::slice::from_ref(&plan)).await.unwrap();
        assert_eq!(copies.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn a_file_that_cannot_be_fetched_still_posts_the_plan_and_says_so() {
    within(WAIT, async {
        let bot = spawn_archiving_bot(emulator_config()).await;
        // The CDN fails every try (the first and the retry).
        bot.emulator.inject_rest_fault(
            RestFault::new(FaultResponse::Status(503), 2).matching(RouteFilter::new("GET", "/attachments/")),
        );
        bot.emulator
            .post_message(CHANNEL, ANN, "!plan d Long above 950", vec![AttachmentSpec::new("a.png", screenshot(4))])
            .unwrap();
        let reply = bot.reply(0).await;
        assert!(reply.content.starts_with("✅ Plan saved"), "{}", reply.content);
        let warning = bot.reply(1).await;
        assert!(warning.content.contains("1 attached chart could not be copied"), "{}", warning.content);
        assert!(!warning.pings_anyone());
        let plan = bot.plan("d").unwrap();
        assert_eq!(plan.charts.len(), 1, "the chart keeps its Discord link");
        assert!(bot.service.archived_images(std::slice::from_ref(&plan)).await.unwrap().is_empty());
        assert_eq!(cdn_downloads(&bot), 2, "one retry, then it gives up");
    })
    .await;
}

/// A file named like an image that is not one is kept as the plan's link, but no copy is made (it would be served
/// as an image), and the poster is told why.
#[tokio::test]
async fn a_file_that_only_claims_to_be_an_image_is_not_copied() {
    within(WAIT, async {
        let bot = spawn_archiving_bot(emulator_config()).await;
        let fake = AttachmentSpec::new("levels.png", b"NVDA 950 / 944 / 938, written in a text file".to_vec());
        bot.emulator.post_message(CHANNEL, ANN, "!plan d Long above 950", vec![fake]).unwrap();
        assert!(bot.reply(0).await.content.starts_with("✅ Plan saved"));
        let warning = bot.reply(1).await;
        assert!(
            warning.content.contains("`levels.png` is not an image (PNG, JPEG, GIF, WebP or BMP), so no copy is kept"),
            "{}",
            warning.content
        );
        assert!(!warning.content.contains("to retry"), "retrying cannot help: {}", warning.content);
        let plan = bot.plan("d").unwrap();
        assert!(bot.service.archived_images(std::slice::from_ref(&plan)).await.unwrap().is_empty());
        assert_eq!(cdn_downloads(&bot), 1, "no retry");
    })
    .await;
}

#[tokio::test]
async fn a_file_gone_from_discord_is_not_asked_for_twice() {
    within(WAIT, async {
        let bot = spawn_archiving_bot(emulator_config()).await;
        // What an expired or deleted attachment link answers: a 404, which no retry can change.
        bot.emulator.inject_rest_fault(
            RestFault::new(FaultResponse::Status(404), 1).matching(RouteFilter::new("GET", "/attachments/")),
        );
        bot.emulator
            .post_message(CHANNEL, ANN, "!plan d Long above 950", vec![AttachmentSpec::new("a.png", screenshot(5))])
            .unwrap();
        assert!(bot.reply(0).await.content.starts_with("✅ Plan saved"));
        let warning = bot.reply(1).await;
        assert!(warning.content.contains("1 attached chart could not be copied"), "{}", warning.content);
        assert_eq!(cdn_downloads(&bot), 1);
        assert!(bot.plan("d").is_some());
    })
    .await;
}

#[tokio::test]
async fn a_slash_plan_whose_file_cannot_be_fetched_is_confirmed_and_only_the_caller_is_warned() {
    within(WAIT, async {
        let bot =
            crate::helpers::spawn_slash_bot(emulator_config(), discord_adapter::handler::Listening::default()).await;
        bot.emulator.inject_rest_fault(
            RestFault::new(FaultResponse::Status(503), 2).matching(RouteFilter::new("GET", "/attachments/")),
        );
        let chart = AttachmentSpec::new("a.png", screenshot(6));
        let options = vec![("coach", "d".into()), ("text", "Long above 950".into()), ("chart", chart.into())];
        let record = bot.slash(ANN, "plan", options, 2).await;
        let visible = record.visible_replies();
        assert_eq!(visible.len(), 2, "{record:?}");
        assert!(!visible[0].ephemeral && visible[0].content.starts_with("✅ Plan saved"), "{record:?}");
        assert!(visible[1].ephemeral, "the warning is for the caller alone: {record:?}");
        assert!(visible[1].content.contains("1 attached chart could not be copied"), "{record:?}");
        assert_eq!(bot.plan("d").unwrap().charts.len(), 1, "the plan keeps the chart's Discord link");
    })
    .await;
}
