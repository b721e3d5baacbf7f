//! The development client: one API client per data folder, made at the first start that asks
//! for it, holding the `admin` role (made too when the API has roles and no `admin` yet), so a
//! new user can get a token with curl at once. Its secret is shown only when it is made.

use http::{HeaderMap, HeaderValue, Method, header};
use jsonapi_auth::{GrantType, NewClient};
use jsonapi_engine::{ApiRequest, Engine, MEDIA_TYPE};
use jsonapi_store::{Key, Store};

use crate::seed::{read_marker, write_marker};
use serde_json::{Value, json};

fn marker() -> Key {
    Key::new("meta#dev-client", "#")
}

/// Creates the development client unless this data folder has one; `None` when it had.
pub(crate) async fn ensure<S: Store>(engine: &Engine<S>) -> Result<Option<NewClient>, String> {
    let store = engine.store();
    if store
        .get(&marker())
        .await
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Ok(None);
    }
    let roles = if engine.schema().api.auth.roles.is_some() {
        ensure_admin_role(engine).await?;
        vec![ADMIN_ROLE.to_owned()]
    } else {
        Vec::new()
    };
    let client = crate::clients::client_store(engine)
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
        .await
        .map_err(|e| e.to_string())?;
    let mut attrs = serde_json::Map::new();
    attrs.insert("client_id".into(), client.id.clone().into());
    write_marker(engine.store(), marker(), attrs).await?;
    Ok(Some(client))
}

/// The id of the development client made earlier in this data folder.
pub(crate) async fn existing<S: Store>(engine: &Engine<S>) -> Option<String> {
    let item = read_marker(engine.store(), &marker()).await.ok()??;
    item.attrs
        .get("client_id")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// The role that may do everything.
pub(crate) const ADMIN_ROLE: &str = "admin";

/// An `admin` role granting everything on every type, unless one exists (or the API has no
/// roles type: every authenticated caller may do everything then).
pub(crate) async fn ensure_admin_role<S: Store>(engine: &Engine<S>) -> Result<(), String> {
    let Some(ty) = engine.schema().api.auth.roles.as_deref() else {
        return Ok(());
    };
    let prefix = &engine.schema().api.prefix;
    let found = engine
        .handle_as_system(request(
            Method::GET,
            format!("{prefix}/{ty}/{ADMIN_ROLE}"),
            None,
        ))
        .await;
    if found.status.is_success() {
        return Ok(());
    }
    let body = json!({"data": {"type": ty, "id": ADMIN_ROLE,
        "attributes": {"label": "Administrator", "permissions": {"*": ["ALL"]}}}});
    let created = engine
        .handle_as_system(request(Method::POST, format!("{prefix}/{ty}"), Some(&body)))
        .await;
    if created.status.is_success() {
        Ok(())
    } else {
        Err(format!(
            "cannot create the admin role ({}): {}",
            created.status,
            String::from_utf8_lossy(&created.body)
        ))
    }
}

/// A request made by the process itself.
pub(crate) fn request(method: Method, path: String, body: Option<&Value>) -> ApiRequest {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    ApiRequest {
        method,
        path,
        query: None,
        headers,
        body: body.map(|b| b.to_string().into()).unwrap_or_default(),
        base_url: "http://localhost".to_owned(),
    }
}
