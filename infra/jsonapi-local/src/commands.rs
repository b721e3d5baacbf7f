//! Where a command of the command line runs: a data folder a running server holds is reached
//! through that server's control socket (module `control`); otherwise the command opens the
//! store itself (a DynamoDB table is shared, so it always does).

use crate::backend::{self, Opening};
use crate::control::{self, Request};
use crate::{ClientCommand, Error, KeysCommand, Options};

/// Runs a client command on the store the options name; returns what to print.
///
/// # Errors
/// The store cannot be opened, or the command failed (unknown client, bad name...).
pub async fn run_client_command(
    options: &Options,
    command: ClientCommand,
) -> Result<String, Error> {
    if options.dynamodb.is_none()
        && let Some(answer) = control::send(&options.data, &Request::Client(command.clone())).await
    {
        return answer;
    }
    let opening = match command {
        ClientCommand::Add { .. } => Opening::MayCreate,
        ClientCommand::List | ClientCommand::Revoke { .. } => Opening::Existing,
    };
    command
        .execute(&backend::command_engine(options, opening).await?)
        .await
}

/// Runs a keys command on the store the options name; returns what to print.
///
/// # Errors
/// The store cannot be opened, or the command failed (a key given by the environment).
pub async fn run_keys_command(options: &Options, command: KeysCommand) -> Result<String, Error> {
    // The keys of a store that does not exist yet are made by its first server.
    command
        .execute(&backend::command_engine(options, Opening::Existing).await?)
        .await
}
