//! Registering the slash commands: per configured guild (they show at once there) or globally when the bot listens
//! in every guild; read first and overwritten in bulk only when they differ, so that restarts do not spend Discord's
//! daily command-update budget. With guild commands, global ones an earlier configuration left are removed (they
//! would show twice).

use std::future::IntoFuture as _;

use twilight_http::Client;
use twilight_model::application::command::Command as Definition;
use twilight_model::id::Id;
use twilight_model::id::marker::ApplicationMarker;

use super::rest::with_retry;
use crate::retry::RetryPolicy;
use crate::slash::same_definitions;

/// Where commands are registered.
#[derive(Debug, Clone, Copy)]
enum Scope {
    Global,
    Guild(u64),
}

/// Makes Discord's commands `wanted` in every scope the bot listens in; failures are logged (the prefix commands,
/// when on, keep working).
pub(super) async fn register(http: &Client, retry: RetryPolicy, guilds: &[u64], wanted: &[Definition]) {
    let application =
        with_retry(retry, "reading the bot's application", || http.current_user_application().into_future()).await;
    let application = match application {
        Ok(response) => match response.model().await {
            Ok(application) => application.id,
            Err(error) => {
                tracing::error!(error = %error, "cannot read the bot's application; slash commands are not registered");
                return;
            }
        },
        Err(error) => {
            tracing::error!(error = %error, "cannot read the bot's application; slash commands are not registered");
            return;
        }
    };
    let mut scopes: Vec<(Scope, &[Definition])> = guilds.iter().map(|g| (Scope::Guild(*g), wanted)).collect();
    if scopes.is_empty() {
        scopes.push((Scope::Global, wanted));
    } else {
        scopes.push((Scope::Global, &[]));
    }
    for (scope, definitions) in scopes {
        if let Err(error) = sync(http, retry, application, scope, definitions).await {
            tracing::error!(
                error = %error,
                ?scope,
                "cannot register the slash commands; the bot must be invited with the applications.commands scope \
                 (Developer Portal > OAuth2 > URL Generator: bot + applications.commands)"
            );
        }
    }
}

async fn sync(
    http: &Client,
    retry: RetryPolicy,
    application: Id<ApplicationMarker>,
    scope: Scope,
    wanted: &[Definition],
) -> Result<(), twilight_http::Error> {
    let client = http.interaction(application);
    let guild = match scope {
        Scope::Guild(id) => Id::new_checked(id),
        Scope::Global => None,
    };
    let registered = with_retry(retry, "reading the slash commands", || match guild {
        Some(guild) => client.guild_commands(guild).into_future(),
        None => client.global_commands().into_future(),
    })
    .await?;
    let registered = registered.models().await.unwrap_or_default();
    if same_definitions(&registered, wanted) {
        tracing::debug!(?scope, commands = wanted.len(), "slash commands unchanged");
        return Ok(());
    }
    with_retry(retry, "registering the slash commands", || match guild {
        Some(guild) => client.set_guild_commands(guild, wanted).into_future(),
        None => client.set_global_commands(wanted).into_future(),
    })
    .await?;
    tracing::info!(?scope, commands = wanted.len(), "slash commands registered");
    Ok(())
}
