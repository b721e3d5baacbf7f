//! `jsonapi-local keys rotate | list`: the token signing keys kept in the store (the embedded
//! store must not be in use by a running server; a DynamoDB table may be, and its functions
//! follow a rotation within seconds).

use jsonapi_auth::{Clock, rfc3339 as when};
use jsonapi_engine::Engine;
use jsonapi_store::Store;

use crate::{Opening, Options, StartError, WithEngine, run_command};

/// One keys command.
#[derive(Debug, Clone)]
pub enum KeysCommand {
    /// Makes a new signing key current; the previous ones keep verifying their tokens.
    Rotate {
        /// Seconds the previous keys' tokens may still live (default: the configuration's
        /// access-token lifetime; 0 retires them at once, for a leaked key).
        retire_after: Option<u64>,
    },
    /// Lists the published keys.
    List,
}

/// Runs a keys command on the store the options name; returns what to print.
///
/// # Errors
/// The store cannot be opened, or the command failed (a key given by the environment).
pub async fn run_keys_command(
    options: &Options,
    command: KeysCommand,
) -> Result<String, StartError> {
    // The keys of a store that does not exist yet are made by its first server.
    run_command(options, Opening::Existing, command).await
}

impl WithEngine for KeysCommand {
    type Output = Result<String, String>;

    async fn run<S: Store>(self, engine: Engine<S>) -> Self::Output {
        match self {
            Self::Rotate { retire_after } => {
                let lifetime = engine.schema().api.auth.access_token_lifetime;
                let rotation = engine
                    .rotate_signing_key(retire_after.unwrap_or(lifetime))
                    .await?;
                let mut out = format!("current key: {}\n", rotation.current);
                for (kid, at) in rotation.retiring {
                    out.push_str(&format!(
                        "retiring key: {kid} (its tokens are refused from {})\n",
                        when(at)
                    ));
                }
                Ok(out)
            }
            Self::List => {
                let now = Clock::system().now();
                let mut out = String::from("kid\tcreated\tstatus\n");
                for key in engine.published_keys().await? {
                    let status = match key.retire_at {
                        None => "current".to_owned(),
                        Some(at) if at > now => format!("retiring at {}", when(at)),
                        Some(at) => format!("retired at {}", when(at)),
                    };
                    out.push_str(&format!("{}\t{}\t{status}\n", key.kid, when(key.created)));
                }
                Ok(out)
            }
        }
    }
}
