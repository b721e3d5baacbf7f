//! A type's alternate id header (`X-Product-ID: sku`): the id in an item, related or
//! relationship path names the resource by a unique attribute, resolved through that
//! attribute's unique-value item (one read) before the action runs, which then sees the
//! resource's own id.

use http::HeaderMap;
use jsonapi_config::ResourceType;
use jsonapi_store::Store;
use serde_json::Value;

use super::{text, unknown};
use crate::engine::Engine;
use crate::error::{ApiError, ApiResult};
use crate::routing::Route;
use crate::values;

impl<S: Store> Engine<S> {
    /// The route with the path's alternate id replaced by the resource's id, and the
    /// alternate id it was addressed by (`None` without the header, on a list route, or for a
    /// type that declares none).
    ///
    /// # Errors
    /// A header value other than the declared one (400, `source.header`); no resource holds
    /// the value (404).
    pub(crate) async fn resolve_alternate_id(
        &self,
        headers: &HeaderMap,
        ty: &ResourceType,
        mut route: Route,
    ) -> ApiResult<(Route, Option<String>)> {
        let Some(alternate) = &ty.alternate_id else {
            return Ok((route, None));
        };
        let Some(value) = text(headers, &alternate.header)? else {
            return Ok((route, None));
        };
        if !value.eq_ignore_ascii_case(&alternate.value) {
            return Err(unknown(
                &alternate.header,
                format!(
                    "The accepted value for the \"{}\" is \"{}\".",
                    alternate.header, alternate.value
                ),
            )
            .into());
        }
        let Some(id) = route.id_mut() else {
            return Ok((route, None));
        };
        let attr = &ty.attributes[&alternate.attribute];
        // A value the attribute could never hold (too long, say) names nothing.
        let stored =
            values::accept(attr, &Value::String(id.clone())).map_err(|_| ApiError::not_found())?;
        let owner = self
            .unique_owner(&ty.name, &attr.name, &stored)
            .await?
            .ok_or_else(ApiError::not_found)?;
        let alias = std::mem::replace(id, owner);
        Ok((route, Some(alias)))
    }
}
