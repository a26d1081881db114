//! Application commands: a bulk overwrite through the REST listener, read back with twilight's interaction client;
//! ids kept across overwrites, overwrites counted, bad definitions (names, more than 25 choices, choices on an option
//! that autocompletes), applications and guilds refused as Discord does.

use discord_emulator::EmulatorConfig;
use twilight_model::id::Id;

use crate::support::{emulator, http, put, within};

#[tokio::test]
async fn commands_are_overwritten_in_bulk_and_keep_their_ids() {
    within(async {
        let emulator = emulator().await;
        let app = EmulatorConfig::default().bot.application_id;
        let guild = EmulatorConfig::DEFAULT_GUILD.get();
        let base = emulator.http_base_url();
        let path = format!("/applications/{app}/guilds/{guild}/commands");
        let plan = serde_json::json!({"name": "plan", "description": "Post a plan", "options": [
            {"type": 3, "name": "coach", "description": "Coach", "required": true,
             "choices": [{"name": "Day Trading", "value": "d"}]}]});
        let help = serde_json::json!({"name": "help", "description": "What the bot does"});
        let (status, first) = put(&base, emulator.token(), &path, &serde_json::json!([plan, help])).await;
        assert_eq!(status, 200, "{first}");
        assert_eq!(first.as_array().unwrap().len(), 2);

        let client = http(&emulator);
        let commands =
            client.interaction(Id::new(app)).guild_commands(Id::new(guild)).await.unwrap().models().await.unwrap();
        let names: Vec<&str> = commands.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["plan", "help"], "twilight reads them back");
        assert_eq!(commands[0].options[0].choices.as_ref().unwrap().len(), 1);
        let global = client.interaction(Id::new(app)).global_commands().await.unwrap().models().await.unwrap();
        assert!(global.is_empty(), "guild commands are not global");

        let (_, second) = put(&base, emulator.token(), &path, &serde_json::json!([plan])).await;
        assert_eq!(second[0]["id"], first[0]["id"], "a command keeps its id while its name stays");
        assert_eq!(emulator.registered_commands(Some(EmulatorConfig::DEFAULT_GUILD)).len(), 1, "help was dropped");
        assert_eq!(emulator.command_overwrites(), 2);

        let bad = serde_json::json!([{"name": "Plan Now", "description": "x"}]);
        let (status, error) = put(&base, emulator.token(), &path, &bad).await;
        assert_eq!((status, error["code"].as_u64()), (400, Some(50035)), "{error}");
        let choice = |i: usize| serde_json::json!({"name": format!("Coach {i}"), "value": format!("c{i}")});
        let option = |choices: usize, autocomplete: bool| {
            serde_json::json!([{"name": "plan", "description": "Post a plan", "options": [
                {"type": 3, "name": "coach", "description": "Coach", "autocomplete": autocomplete,
                 "choices": (0..choices).map(choice).collect::<Vec<_>>()}]}])
        };
        let (status, error) = put(&base, emulator.token(), &path, &option(26, false)).await;
        assert_eq!(status, 400, "more than 25 choices: {error}");
        assert!(error["errors"]["0.options.0.choices"].is_object(), "{error}");
        let (status, error) = put(&base, emulator.token(), &path, &option(3, true)).await;
        assert_eq!(status, 400, "choices and autocomplete together: {error}");
        let (status, _) = put(&base, emulator.token(), &path, &option(0, true)).await;
        assert_eq!(status, 200, "an autocompleted option without choices");
        let (_, restored) = put(&base, emulator.token(), &path, &serde_json::json!([plan])).await;
        assert_eq!(restored[0]["id"], first[0]["id"]);
        let (status, error) =
            put(&base, emulator.token(), &format!("/applications/{}/commands", app + 1), &serde_json::json!([])).await;
        assert_eq!((status, error["code"].as_u64()), (404, Some(10002)), "{error}");
        let (status, error) =
            put(&base, emulator.token(), &format!("/applications/{app}/guilds/999/commands"), &serde_json::json!([]))
                .await;
        assert_eq!((status, error["code"].as_u64()), (404, Some(10004)), "{error}");
        assert_eq!(emulator.command_overwrites(), 4, "refused overwrites change nothing");
    })
    .await;
}
