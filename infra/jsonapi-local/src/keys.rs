//! `jsonapi-local keys rotate | list`: the token signing keys kept in the store (the embedded
//! store must not be in use by a running server; a DynamoDB table may be, and its functions
//! follow a rotation within seconds).

use std::fmt::Write as _;

use jsonapi_auth::{Clock, rfc3339 as when};
use jsonapi_engine::Engine;

use crate::Error;
use crate::backend::Backend;

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

impl KeysCommand {
    /// Runs the command on `engine`; what to print.
    pub(crate) async fn execute(self, engine: &Engine<Backend>) -> Result<String, Error> {
        match self {
            Self::Rotate { retire_after } => {
                let lifetime = engine.schema().api.auth.access_token_lifetime;
                let rotation = engine
                    .rotate_signing_key(retire_after.unwrap_or(lifetime))
                    .await
                    .map_err(Error::Keys)?;
                let mut out = format!("current key: {}\n", rotation.current);
                for (kid, at) in rotation.retiring {
                    let _ = writeln!(
                        out,
                        "retiring key: {kid} (its tokens are refused from {})",
                        when(at)
                    );
                }
                Ok(out)
            }
            Self::List => {
                let now = Clock::system().now();
                let mut out = String::from("kid\tcreated\tstatus\n");
                for key in engine.published_keys().await.map_err(Error::Keys)? {
                    let status = match key.retire_at {
                        None => "current".to_owned(),
                        Some(at) if at > now => format!("retiring at {}", when(at)),
                        Some(at) => format!("retired at {}", when(at)),
                    };
                    let _ = writeln!(out, "{}\t{}\t{status}", key.kid, when(key.created));
                }
                Ok(out)
            }
        }
    }
}
