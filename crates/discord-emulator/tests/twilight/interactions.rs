//! Interactions, as twilight sees and answers them: INTERACTION_CREATE with options, resolved attachments and the
//! member's roles; the callback (deferred, modal, message, suggestions for an option being typed into), edits of the
//! original answer, ephemeral follow-ups, follow-ups with files; Discord's refusals (a second callback, a late one, an answer of the wrong
//! kind); injected faults.

use std::time::Duration;

use discord_emulator::{
    Acknowledgement, AttachmentSpec, Emulator, EmulatorConfig, EmulatorError, FaultResponse, InteractionId,
    OptionValue, RestFault, RouteFilter, Suggestion,
};
use twilight_gateway::{Event, Intents, ShardId};
use twilight_model::application::command::{CommandOptionChoice, CommandOptionChoiceValue, CommandOptionType};
use twilight_model::application::interaction::application_command::CommandOptionValue;
use twilight_model::application::interaction::modal::ModalInteractionComponent;
use twilight_model::application::interaction::{Interaction, InteractionData, InteractionType};
use twilight_model::channel::message::component::{Component, Label, TextInput, TextInputStyle};
use twilight_model::channel::message::{AllowedMentions, MessageFlags};
use twilight_model::http::interaction::{InteractionResponse, InteractionResponseData, InteractionResponseType};
use twilight_model::id::Id;

use crate::support::{ALICE, COACH_ROLE, Events, WAIT, config, drive, get, http, put, shard, tiny_png, within};

/// Registers `/plan coach [text] [chart]`, `/plans [days]` and `/history coach` (the coach autocompleting) for the
/// default guild.
async fn register(emulator: &Emulator) {
    let app = emulator.bot_id().get();
    let guild = EmulatorConfig::DEFAULT_GUILD.get();
    let commands = serde_json::json!([
        {"name": "plan", "description": "Post a plan", "options": [
            {"type": 3, "name": "coach", "description": "Coach", "required": true,
             "choices": [{"name": "Day Trading", "value": "d"}, {"name": "Swing", "value": "s"}]},
            {"type": 3, "name": "text", "description": "The plan", "max_length": 1800},
            {"type": 11, "name": "chart", "description": "A chart"}]},
        {"name": "plans", "description": "Plans", "options": [
            {"type": 4, "name": "days", "description": "Days", "min_value": 1, "max_value": 90}]},
        {"name": "history", "description": "History", "options": [
            {"type": 3, "name": "coach", "description": "Coach", "required": true, "autocomplete": true,
             "max_length": 16}]},
    ]);
    let path = format!("/applications/{app}/guilds/{guild}/commands");
    let (status, body) = put(&emulator.http_base_url(), emulator.token(), &path, &commands).await;
    assert_eq!(status, 200, "{body}");
}

/// An emulator started with `config` and its commands registered, and a shard connected with no message intents
/// (interactions need none).
async fn connected(config: EmulatorConfig) -> (Emulator, Events) {
    let emulator = Emulator::start(config).await.unwrap();
    let events = drive(shard(&emulator, ShardId::ONE, Intents::GUILDS));
    emulator.wait_for_ready(WAIT).await.unwrap();
    register(&emulator).await;
    (emulator, events)
}

async fn next_interaction(events: &mut Events) -> Interaction {
    events
        .next("INTERACTION_CREATE", |event| match event {
            Event::InteractionCreate(interaction) => Some(interaction.0),
            _ => None,
        })
        .await
}

fn message(content: &str, ephemeral: bool) -> InteractionResponse {
    InteractionResponse {
        kind: InteractionResponseType::ChannelMessageWithSource,
        data: Some(InteractionResponseData {
            content: Some(content.to_owned()),
            flags: ephemeral.then_some(MessageFlags::EPHEMERAL),
            allowed_mentions: Some(AllowedMentions::default()),
            ..InteractionResponseData::default()
        }),
    }
}

#[tokio::test]
async fn a_deferred_command_with_an_attachment_is_answered_by_editing_the_original() {
    within(async {
        let (emulator, mut events) = connected(config()).await;
        let channel = EmulatorConfig::DEFAULT_CHANNEL;

        let chart = AttachmentSpec::new("spy.png", tiny_png());
        let options =
            vec![("coach", OptionValue::from("d")), ("text", "Long above 950".into()), ("chart", chart.into())];
        let id = emulator.invoke_command(channel, ALICE, "plan", options).unwrap();
        let interaction = next_interaction(&mut events).await;
        assert_eq!(interaction.id.get(), id.get());
        assert_eq!(interaction.channel.as_ref().map(|c| c.id.get()), Some(channel.get()));
        let member = interaction.member.as_ref().unwrap();
        assert_eq!(member.roles, vec![Id::new(COACH_ROLE.get())], "the member's roles come along");
        assert_eq!(member.user.as_ref().unwrap().id.get(), ALICE.get());
        let Some(InteractionData::ApplicationCommand(data)) = &interaction.data else { panic!("{interaction:?}") };
        assert_eq!(data.name, "plan");
        let values: Vec<(&str, &CommandOptionValue)> =
            data.options.iter().map(|o| (o.name.as_str(), &o.value)).collect();
        assert_eq!(values[0], ("coach", &CommandOptionValue::String("d".to_owned())));
        let CommandOptionValue::Attachment(attachment_id) = values[2].1 else { panic!("{values:?}") };
        let resolved = data.resolved.as_ref().unwrap();
        let attachment = &resolved.attachments[attachment_id];
        assert_eq!(attachment.filename, "spy.png");
        let (status, _, bytes) = crate::support::get(&attachment.url).await;
        assert_eq!((status, bytes), (200, tiny_png()), "the resolved attachment is served");

        let client = http(&emulator);
        let app = client.interaction(interaction.application_id);
        let deferred =
            InteractionResponse { kind: InteractionResponseType::DeferredChannelMessageWithSource, data: None };
        let callback = app
            .create_response(interaction.id, &interaction.token, &deferred)
            .with_response()
            .await
            .unwrap()
            .model()
            .await
            .unwrap();
        let original_id = callback.interaction.response_message_id.expect("the deferred answer is a message");
        assert_eq!(callback.interaction.response_message_loading, Some(true));
        let history = emulator.channel_messages(channel).unwrap();
        assert_eq!(history.last().map(|m| (m.id.get(), m.content.as_str())), Some((original_id.get(), "")));

        let again = app.create_response(interaction.id, &interaction.token, &message("twice", false)).await;
        let error = again.unwrap_err().to_string();
        assert!(error.contains("40060"), "a second callback is refused: {error}");

        let edited = app
            .update_response(&interaction.token)
            .content(Some("✅ Plan saved for <@1002>"))
            .allowed_mentions(Some(&AllowedMentions::default()))
            .await
            .unwrap()
            .model()
            .await
            .unwrap();
        assert_eq!(edited.id, original_id);
        let fetched = app.response(&interaction.token).await.unwrap().model().await.unwrap();
        assert_eq!(fetched.content, "✅ Plan saved for <@1002>");
        app.create_followup(&interaction.token)
            .content("only you see this")
            .flags(MessageFlags::EPHEMERAL)
            .await
            .unwrap();

        let record = emulator.wait_for_interaction(id, WAIT, |r| r.replies.len() == 2).await.unwrap();
        assert_eq!(record.acknowledgement, Some(Acknowledgement::Deferred));
        assert_eq!(record.refused_callbacks, 1);
        let original = record.original().unwrap();
        assert!(!original.loading && !original.ephemeral && !original.pings_anyone(), "{original:?}");
        assert_eq!((original.edits, original.content.as_str()), (1, "✅ Plan saved for <@1002>"));
        assert!(record.replies[1].ephemeral);
        let history = emulator.channel_messages(channel).unwrap();
        assert_eq!(history.len(), 1, "the ephemeral follow-up is in no channel's history");
        assert_eq!(history[0].content, "✅ Plan saved for <@1002>");

        // A public follow-up with a file (multipart): the file is in the channel's message, served like any other.
        let file = twilight_model::http::attachment::Attachment::from_bytes("levels.png".into(), tiny_png(), 0);
        let followup = app
            .create_followup(&interaction.token)
            .content("the chart")
            .attachments(std::slice::from_ref(&file))
            .await
            .unwrap()
            .model()
            .await
            .unwrap();
        assert_eq!(followup.attachments[0].filename, "levels.png");
        let record = emulator.wait_for_interaction(id, WAIT, |r| r.replies.len() == 3).await.unwrap();
        assert_eq!(record.replies[2].files, ["levels.png"]);
        let (status, _, body) = get(&followup.attachments[0].url).await;
        assert_eq!((status, body), (200, tiny_png()));
        app.delete_followup(&interaction.token, followup.id).await.unwrap();

        app.delete_response(&interaction.token).await.unwrap();
        assert!(emulator.channel_messages(channel).unwrap().is_empty());
        assert!(emulator.interaction(id).unwrap().original().unwrap().deleted);
        emulator.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_modal_opened_by_the_bot_is_submitted_with_its_fields() {
    within(async {
        let (emulator, mut events) = connected(config()).await;
        let channel = EmulatorConfig::DEFAULT_CHANNEL;

        let id = emulator.invoke_command(channel, ALICE, "plan", vec![("coach", "s".into())]).unwrap();
        let not_yet = emulator.submit_modal(id, vec![("text", "x")]).unwrap_err();
        assert!(matches!(not_yet, EmulatorError::Interaction { .. }), "{not_yet}");
        let interaction = next_interaction(&mut events).await;
        // Every field must be named in a literal, the deprecated `label` too (it stays unset: the label is on the
        // Label component, Discord's current form).
        #[allow(deprecated)]
        let input = TextInput {
            custom_id: "text".to_owned(),
            id: None,
            label: None,
            max_length: Some(1800),
            min_length: None,
            placeholder: None,
            required: Some(true),
            style: TextInputStyle::Paragraph,
            value: None,
        };
        let modal = InteractionResponse {
            kind: InteractionResponseType::Modal,
            data: Some(InteractionResponseData {
                custom_id: Some("plan:s".to_owned()),
                title: Some("Plan for Swing".to_owned()),
                components: Some(vec![Component::Label(Label {
                    component: Box::new(Component::TextInput(input)),
                    description: None,
                    id: None,
                    label: "Plan".to_owned(),
                })]),
                ..InteractionResponseData::default()
            }),
        };
        let client = http(&emulator);
        let app = client.interaction(interaction.application_id);
        app.create_response(interaction.id, &interaction.token, &modal).await.unwrap();
        let record = emulator.wait_for_interaction(id, WAIT, |r| r.acknowledgement.is_some()).await.unwrap();
        assert!(record.is_answered(), "an opened modal answers the command");

        let empty = emulator.submit_modal(id, vec![("text", " ")]).unwrap_err();
        assert!(empty.to_string().contains("required"), "{empty}");
        let long_plan = "Long above 950.\n".repeat(40);
        let submitted = emulator.submit_modal(id, vec![("text", &long_plan)]).unwrap();
        let submit = next_interaction(&mut events).await;
        assert_eq!(submit.id.get(), submitted.get());
        let Some(InteractionData::ModalSubmit(data)) = &submit.data else { panic!("{submit:?}") };
        assert_eq!(data.custom_id, "plan:s");
        let ModalInteractionComponent::Label(label) = &data.components[0] else { panic!("{data:?}") };
        let ModalInteractionComponent::TextInput(text) = &*label.component else { panic!("{label:?}") };
        assert_eq!(text.value, long_plan);
        let refused = app.create_response(submit.id, &submit.token, &modal).await.unwrap_err().to_string();
        assert!(refused.contains("400"), "a modal cannot answer a modal submit: {refused}");
        app.create_response(submit.id, &submit.token, &message("⚠️ nope", true)).await.unwrap();
        let record = emulator.wait_for_interaction(submitted, WAIT, |r| r.is_answered()).await.unwrap();
        assert!(record.original().unwrap().ephemeral);
        assert!(emulator.channel_messages(channel).unwrap().is_empty());
        emulator.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn invocations_are_checked_against_the_definitions() {
    within(async {
        let emulator = Emulator::start(config()).await.unwrap();
        register(&emulator).await;
        let channel = EmulatorConfig::DEFAULT_CHANNEL;
        let error = |result: Result<InteractionId, EmulatorError>| result.unwrap_err().to_string();
        assert_eq!(
            error(emulator.invoke_command(channel, ALICE, "nope", vec![])),
            "no command /nope is registered for this guild or globally"
        );
        assert_eq!(error(emulator.invoke_command(channel, ALICE, "plan", vec![])), "/plan: option `coach` is required");
        let wrong = error(emulator.invoke_command(channel, ALICE, "plan", vec![("coach", "x".into())]));
        assert!(wrong.contains("must be one of [\"d\", \"s\"]"), "{wrong}");
        let days = error(emulator.invoke_command(channel, ALICE, "plans", vec![("days", "91".into())]));
        assert_eq!(days, "/plans: `days` must be between 1 and 90");
        assert!(emulator.invoke_command(channel, ALICE, "plans", vec![("days", "7".into())]).is_ok());
        emulator.shutdown().await;
    })
    .await;
}

#[tokio::test]
async fn a_late_callback_is_refused_and_a_failed_one_can_be_sent_again() {
    within(async {
        let (emulator, mut events) = connected(config().with_interaction_deadline(Duration::from_millis(300))).await;
        let channel = EmulatorConfig::DEFAULT_CHANNEL;
        let client = http(&emulator);

        emulator.invoke_command(channel, ALICE, "plans", vec![]).unwrap();
        let late = next_interaction(&mut events).await;
        tokio::time::sleep(Duration::from_millis(400)).await;
        let app = client.interaction(late.application_id);
        let error = app.create_response(late.id, &late.token, &message("late", false)).await.unwrap_err().to_string();
        assert!(error.contains("10062"), "{error}");

        emulator.inject_rest_fault(
            RestFault::new(FaultResponse::ServerError, 1).matching(RouteFilter::new("POST", "/interactions/")),
        );
        let id = emulator.invoke_command(channel, ALICE, "plans", vec![]).unwrap();
        let interaction = next_interaction(&mut events).await;
        let first = app.create_response(interaction.id, &interaction.token, &message("📅 plans", false)).await;
        assert!(first.unwrap_err().to_string().contains("500"));
        // An answer Discord refuses (parse and a list of users together) acknowledges nothing.
        let mut refused = message("📅 plans", false);
        if let Some(data) = refused.data.as_mut() {
            data.allowed_mentions = Some(AllowedMentions {
                parse: vec![twilight_model::channel::message::MentionType::Users],
                users: vec![Id::new(1002)],
                ..AllowedMentions::default()
            });
        }
        let error = app.create_response(interaction.id, &interaction.token, &refused).await.unwrap_err().to_string();
        assert!(error.contains("50035"), "{error}");
        app.create_response(interaction.id, &interaction.token, &message("📅 plans", false)).await.unwrap();
        let record = emulator.wait_for_interaction(id, WAIT, |r| r.is_answered()).await.unwrap();
        assert_eq!(record.original().unwrap().content, "📅 plans");
        emulator.shutdown().await;
    })
    .await;
}

fn suggestions(choices: impl IntoIterator<Item = (String, String)>) -> InteractionResponse {
    let choices = choices
        .into_iter()
        .map(|(name, value)| CommandOptionChoice {
            name,
            name_localizations: None,
            value: CommandOptionChoiceValue::String(value),
        })
        .collect();
    InteractionResponse {
        kind: InteractionResponseType::ApplicationCommandAutocompleteResult,
        data: Some(InteractionResponseData { choices: Some(choices), ..InteractionResponseData::default() }),
    }
}

#[tokio::test]
async fn typing_into_an_autocompleted_option_asks_the_bot_for_suggestions() {
    within(async {
        let (emulator, mut events) = connected(config()).await;
        let channel = EmulatorConfig::DEFAULT_CHANNEL;
        let client = http(&emulator);
        let not_offered = emulator.autocomplete(channel, ALICE, "plan", "coach", "d").unwrap_err().to_string();
        assert_eq!(not_offered, "/plan: `coach` does not autocomplete", "an option with choices");
        let too_long = emulator.autocomplete(channel, ALICE, "history", "coach", &"x".repeat(17)).unwrap_err();
        assert!(too_long.to_string().contains("at most 16 characters"), "{too_long}");

        let id = emulator.autocomplete(channel, ALICE, "history", "coach", "sw").unwrap();
        let typing = next_interaction(&mut events).await;
        assert_eq!(typing.kind, InteractionType::ApplicationCommandAutocomplete);
        let Some(InteractionData::ApplicationCommand(data)) = &typing.data else { panic!("{typing:?}") };
        assert_eq!(data.name, "history");
        assert_eq!(data.options[0].value, CommandOptionValue::Focused("sw".to_owned(), CommandOptionType::String));
        let app = client.interaction(typing.application_id);

        // Only suggestions answer it, and at most 25 of them.
        let error = app.create_response(typing.id, &typing.token, &message("hi", false)).await.unwrap_err();
        assert!(error.to_string().contains("50035"), "{error}");
        let many = (0..26).map(|i| (format!("Coach {i}"), format!("c{i}")));
        let error = app.create_response(typing.id, &typing.token, &suggestions(many)).await.unwrap_err();
        assert!(error.to_string().contains("50035"), "{error}");
        let offered = [("Swing (s)".to_owned(), "s".to_owned()), ("Swing 2 (s2)".to_owned(), "s2".to_owned())];
        app.create_response(typing.id, &typing.token, &suggestions(offered)).await.unwrap();
        let record = emulator.wait_for_interaction(id, WAIT, |r| r.is_answered()).await.unwrap();
        let Some(Acknowledgement::Suggestions(shown)) = &record.acknowledgement else { panic!("{record:?}") };
        let shown: Vec<&Suggestion> = shown.iter().collect();
        assert_eq!(shown[0], &Suggestion { name: "Swing (s)".into(), value: "s".into() });
        assert_eq!(shown.len(), 2);
        assert!(record.replies.is_empty(), "suggestions are no message");
        let error = app.create_followup(&typing.token).content("more").await.unwrap_err().to_string();
        assert!(error.contains("10015"), "nothing follows suggestions: {error}");

        // A command is never answered with suggestions.
        emulator.invoke_command(channel, ALICE, "history", vec![("coach", "anything".into())]).unwrap();
        let command = next_interaction(&mut events).await;
        assert_eq!(command.kind, InteractionType::ApplicationCommand);
        let offered = [("Swing (s)".to_owned(), "s".to_owned())];
        let error = app.create_response(command.id, &command.token, &suggestions(offered)).await.unwrap_err();
        assert!(error.to_string().contains("50035"), "{error}");
        emulator.shutdown().await;
    })
    .await;
}
