//! The roles API clients are made with: the `admin` role that may do everything, made when a
//! store needs it, and the roles a new client names that do not exist yet.

use http::Method;
use jsonapi_engine::Engine;
use serde_json::json;

use crate::Error;
use crate::backend::Backend;
use crate::system;

/// The role that may do everything.
pub(crate) const ADMIN_ROLE: &str = "admin";

/// An `admin` role granting everything on every type, unless one exists (or the API has no
/// roles type: every authenticated caller may do everything then).
pub(crate) async fn ensure_admin(engine: &Engine<Backend>) -> Result<(), Error> {
    let Some(ty) = engine.schema().api.auth.roles.as_deref() else {
        return Ok(());
    };
    let found = system::call(engine, Method::GET, &format!("{ty}/{ADMIN_ROLE}"), None).await;
    if found.status.is_success() {
        return Ok(());
    }
    let data = json!({"type": ty, "id": ADMIN_ROLE,
        "attributes": {"label": "Administrator", "permissions": {"*": ["ALL"]}}});
    system::create(engine, ty, data, || {
        "cannot create the admin role".to_owned()
    })
    .await
    .map(drop)
}

/// The roles among `roles` that the roles type does not hold.
pub(crate) async fn unknown(engine: &Engine<Backend>, roles: &[String]) -> Vec<String> {
    let Some(ty) = engine.schema().api.auth.roles.as_deref() else {
        return Vec::new();
    };
    let mut unknown = Vec::new();
    for role in roles {
        let found = system::call(engine, Method::GET, &format!("{ty}/{role}"), None).await;
        if !found.status.is_success() {
            unknown.push(role.clone());
        }
    }
    unknown
}
