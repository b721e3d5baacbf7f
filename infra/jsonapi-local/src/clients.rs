//! `jsonapi-local client add | list | revoke`: the API clients of a store, managed from the
//! command line. A data folder a running server holds is reached through that server's
//! control socket (module `control`); a DynamoDB table is shared, so it is used directly.

use jsonapi_auth::{ClientSpec, ClientStore, Registered};
use jsonapi_engine::Engine;
use jsonapi_store::Store;

use crate::{Opening, Options, StartError, WithEngine, run_command};

/// One client command.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(tag = "command", rename_all = "snake_case")]
pub enum ClientCommand {
    /// Creates a client and prints its id and secret (the only time the secret is shown; a
    /// public client has none).
    Add {
        /// Name, roles, grants and redirect URIs.
        spec: ClientSpec,
        /// A public client (a browser or mobile app: no secret, PKCE required).
        public: bool,
    },
    /// Lists every client (never a secret).
    List,
    /// Revokes a client: no new tokens, and its tokens stop working within seconds.
    Revoke {
        /// The client id.
        id: String,
    },
}

/// Runs a client command on the store the options name; returns what to print.
///
/// # Errors
/// The store cannot be opened, or the command failed (unknown client, bad name...).
pub async fn run_client_command(
    options: &Options,
    command: ClientCommand,
) -> Result<String, StartError> {
    if options.dynamodb.is_none()
        && let Some(answer) = crate::control::send(&options.data, &command).await
    {
        return answer.map_err(StartError::Client);
    }
    let opening = match command {
        ClientCommand::Add { .. } => Opening::MayCreate,
        ClientCommand::List | ClientCommand::Revoke { .. } => Opening::Existing,
    };
    run_command(options, opening, command).await
}

impl WithEngine for ClientCommand {
    type Output = Result<String, String>;

    async fn run<S: Store>(self, engine: Engine<S>) -> Self::Output {
        self.execute(&engine).await
    }
}

impl ClientCommand {
    /// Runs the command on `engine`; what to print, or why it failed.
    pub(crate) async fn execute<S: Store>(self, engine: &Engine<S>) -> Result<String, String> {
        let clients = client_store(engine).await?;
        match self {
            Self::Add { spec, public } => {
                let mut out = String::new();
                for role in unknown_roles(engine, &spec.roles).await {
                    // The first client of a new table needs a role that can do everything.
                    if role == crate::dev_client::ADMIN_ROLE {
                        crate::dev_client::ensure_admin_role(engine).await?;
                        out.push_str(
                            "created the role \"admin\" (every permission on every type)\n",
                        );
                        continue;
                    }
                    out.push_str(&format!(
                        "warning: no role \"{role}\" exists yet; it grants nothing until it is created\n"
                    ));
                }
                match clients
                    .register(&spec, public)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    Registered::Confidential(client) => out.push_str(&format!(
                        "client_id={}\nclient_secret={}\n(the secret is shown only now: keep it)\n",
                        client.id,
                        client.secret.expose()
                    )),
                    Registered::Public { id } => out.push_str(&format!(
                        "client_id={id}\n(a public client: no secret; it must use PKCE)\n"
                    )),
                }
                Ok(out)
            }
            Self::List => {
                let mut out = String::from(
                    "id\tname\troles\tgrants\tredirect_uris\tpublic\tcreated\trevoked\n",
                );
                let yes = |b: bool| if b { "yes" } else { "no" };
                for c in clients.list().await.map_err(|e| e.to_string())? {
                    let grants: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
                    out.push_str(&format!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                        c.id,
                        c.name,
                        c.roles.join(","),
                        grants.join(","),
                        c.redirect_uris.join(","),
                        yes(c.public),
                        c.created,
                        yes(c.revoked)
                    ));
                }
                Ok(out)
            }
            Self::Revoke { id } => {
                clients
                    .revoke(&id)
                    .await
                    .map_err(|e| format!("cannot revoke {id}: {e}"))?;
                Ok(format!("client {id} revoked\n"))
            }
        }
    }
}

/// The engine's API clients (their store makes the signing key on first use), with a store
/// failure as text.
pub(crate) async fn client_store<S: Store>(engine: &Engine<S>) -> Result<&ClientStore<S>, String> {
    engine
        .clients()
        .await
        .map_err(|e| e.to_document().to_string())
}

/// The roles among `roles` that the roles type does not hold.
async fn unknown_roles<S: Store>(engine: &Engine<S>, roles: &[String]) -> Vec<String> {
    let Some(ty) = engine.schema().api.auth.roles.clone() else {
        return Vec::new();
    };
    let mut unknown = Vec::new();
    for role in roles {
        let path = format!("{}/{ty}/{role}", engine.schema().api.prefix);
        let found = engine
            .handle_as_system(crate::dev_client::request(http::Method::GET, path, None))
            .await;
        if !found.status.is_success() {
            unknown.push(role.clone());
        }
    }
    unknown
}
