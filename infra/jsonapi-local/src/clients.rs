//! `jsonapi-local client add | list | revoke`: the API clients of a store, managed from the
//! command line (module `commands` decides where a command runs).

use std::fmt::Write as _;

use jsonapi_auth::{ClientSpec, ClientStore, Registered};
use jsonapi_engine::Engine;

use crate::backend::Backend;
use crate::{Error, roles};

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

impl ClientCommand {
    /// Runs the command on `engine`; what to print.
    pub(crate) async fn execute(self, engine: &Engine<Backend>) -> Result<String, Error> {
        match self {
            Self::Add { spec, public } => add(engine, &spec, public).await,
            Self::List => list(client_store(engine).await?).await,
            Self::Revoke { id } => {
                let revoked = client_store(engine).await?.revoke(&id).await;
                revoked.map_err(|source| Error::Revoke {
                    id: id.clone(),
                    source,
                })?;
                Ok(format!("client {id} revoked\n"))
            }
        }
    }
}

/// The engine's API clients (their store makes the signing key on first use).
pub(crate) async fn client_store(engine: &Engine<Backend>) -> Result<&ClientStore<Backend>, Error> {
    engine.clients().await.map_err(Error::Engine)
}

/// Registers a client; its id and secret, after a warning for each role that does not exist.
async fn add(engine: &Engine<Backend>, spec: &ClientSpec, public: bool) -> Result<String, Error> {
    let mut out = String::new();
    for role in roles::unknown(engine, &spec.roles).await {
        // The first client of a new table needs a role that can do everything.
        if role == roles::ADMIN_ROLE {
            roles::ensure_admin(engine).await?;
            out.push_str("created the role \"admin\" (every permission on every type)\n");
            continue;
        }
        let _ = writeln!(
            out,
            "warning: no role \"{role}\" exists yet; it grants nothing until it is created"
        );
    }
    match client_store(engine).await?.register(spec, public).await? {
        Registered::Confidential(client) => {
            let _ = write!(
                out,
                "client_id={}\nclient_secret={}\n(the secret is shown only now: keep it)\n",
                client.id,
                client.secret.expose()
            );
        }
        Registered::Public { id } => {
            let _ = write!(
                out,
                "client_id={id}\n(a public client: no secret; it must use PKCE)\n"
            );
        }
    }
    Ok(out)
}

/// Every client, one tab-separated line each.
async fn list(clients: &ClientStore<Backend>) -> Result<String, Error> {
    let mut out =
        String::from("id\tname\troles\tgrants\tredirect_uris\tpublic\tcreated\trevoked\n");
    let yes = |b: bool| if b { "yes" } else { "no" };
    for c in clients.list().await? {
        let grants: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
        let _ = writeln!(
            out,
            "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
            c.id,
            c.name,
            c.roles.join(","),
            grants.join(","),
            c.redirect_uris.join(","),
            yes(c.public),
            c.created,
            yes(c.revoked)
        );
    }
    Ok(out)
}
