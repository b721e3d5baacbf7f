//! The development client: one API client per data folder, made at the first start that asks
//! for it, holding the `admin` role (made too when the API has roles and no `admin` yet), so a
//! new user can get a token with curl at once. Its secret is shown only when it is made.

use jsonapi_auth::{GrantType, NewClient};
use jsonapi_engine::Engine;
use jsonapi_store::Key;
use serde_json::Value;

use crate::backend::Backend;
use crate::{Error, clients, markers, roles};

fn marker() -> Key {
    Key::new("meta#dev-client", "#")
}

/// Creates the development client unless this data folder has one; `None` when it had.
pub(crate) async fn ensure(engine: &Engine<Backend>) -> Result<Option<NewClient>, Error> {
    if markers::read(engine.store(), &marker()).await?.is_some() {
        return Ok(None);
    }
    let roles = if engine.schema().api.auth.roles.is_some() {
        roles::ensure_admin(engine).await?;
        vec![roles::ADMIN_ROLE.to_owned()]
    } else {
        Vec::new()
    };
    let client = clients::client_store(engine)
        .await?
        .create(
            "development",
            &roles,
            &[
                GrantType::ClientCredentials,
                GrantType::Password,
                GrantType::RefreshToken,
            ],
        )
        .await?;
    let mut attrs = serde_json::Map::new();
    attrs.insert("client_id".into(), client.id.clone().into());
    markers::write(engine.store(), marker(), attrs).await?;
    Ok(Some(client))
}

/// The id of the development client made earlier in this data folder.
pub(crate) async fn existing(engine: &Engine<Backend>) -> Option<String> {
    let item = markers::read(engine.store(), &marker()).await.ok()??;
    item.attrs
        .get("client_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
}
