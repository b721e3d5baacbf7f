//! The path of a request, top-down: resolved once ([`Resolved`]: route, operation, query), the
//! token endpoints answered, the caller admitted (authentication, the type and relationship,
//! the methods, permissions, content negotiation), then one `match` on the operation hands the
//! request to its action in `actions`.

use std::sync::Arc;

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_LENGTH, HeaderValue, VARY};
use http::{Method, StatusCode};
use jsonapi_config::{Operation, Relationship, RelationshipStorage, ResourceType};
use jsonapi_store::Store;

use crate::auth::{Access, unauthenticated};
use crate::engine::{Ctx, Engine};
use crate::error::{ApiError, ApiResult, ErrorKind, unsupported_subresource};
use crate::format::Format;
use crate::plain;
use crate::precondition::{Preconditions, Variant};
use crate::request::{ApiRequest, ApiResponse, negotiate};
use crate::routing::{Resolved, Route};
use crate::storefront::Storefront;

/// The 405 of a method the route does not allow, with its `Allow` header.
fn method_not_allowed(method: &Method, allowed: &str) -> ApiResponse {
    let mut r = ApiResponse::errors(&ApiError::method_not_allowed(method, allowed).into());
    if let Ok(allow) = HeaderValue::from_str(allowed) {
        r.headers.insert(ALLOW, allow);
    }
    r
}

/// `X-HTTP-Method-Override` on a `POST` names `GET` (a get_list whose parameters are too
/// long for a URL) or `POST` itself: any other method would otherwise run silently as the
/// `POST` (a tunnelled `DELETE` as a create), so it is refused.
fn unsupported_override(req: &ApiRequest) -> Result<(), ApiError> {
    let Some(value) = req.headers.get("x-http-method-override") else {
        return Ok(());
    };
    let named = value.to_str().map(str::trim).unwrap_or_default();
    if req.method != Method::POST
        || named.eq_ignore_ascii_case("GET")
        || named.eq_ignore_ascii_case("POST")
    {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorKind::BadRequest,
        "The \"X-HTTP-Method-Override\" header may name only \"GET\", on a POST to a list route (a get_list with its parameters in the body).",
    )
    .header("X-HTTP-Method-Override"))
}

/// The answer to `OPTIONS`: the route's methods, no body.
fn options(allowed: &str) -> ApiResponse {
    let mut r = ApiResponse::empty(StatusCode::OK);
    if let Ok(allow) = HeaderValue::from_str(allowed) {
        r.headers.insert(ALLOW, allow);
    }
    r.headers.insert(CONTENT_LENGTH, HeaderValue::from(0));
    r
}

impl<S: Store> Engine<S> {
    /// Answers a resolved request; `system` for the process itself (no token needed).
    pub(crate) async fn serve(
        &self,
        req: &ApiRequest,
        resolved: Resolved,
        system: bool,
    ) -> ApiResponse {
        let mut response = match resolved.operation {
            Some(op @ (Operation::Token | Operation::Authorize | Operation::Jwks))
                if self.schema.api.enabled =>
            {
                self.auth_endpoint(op, req).await
            }
            _ => {
                // Chosen once: the route's documents, and its errors, are in this format. The
                // plain view is the API's; other paths (the token endpoint when the API is off,
                // unknown ones) answer in JSON:API.
                let format = match resolved.route {
                    Some(_) => Format::of(&req.headers),
                    None => Format::JsonApi,
                };
                // The route's answers differ by `Accept` (JSON:API or the plain view).
                let negotiated = resolved.route.is_some();
                let view = match (format, &resolved.route) {
                    (Format::Plain, Some(route)) => {
                        let pairs = resolved.query.as_deref().unwrap_or_default();
                        Some(plain::View::of(route, pairs))
                    }
                    _ => None,
                };
                let mut response = self
                    .admit(req, resolved, system, format)
                    .await
                    .unwrap_or_else(|errors| ApiResponse::errors(&errors));
                if negotiated {
                    response
                        .headers
                        .append(VARY, HeaderValue::from_static("Accept"));
                }
                match view {
                    Some(view) => view.response(response),
                    None => response,
                }
            }
        };
        // The same URL answers differently by localization, currency or alternate id: caches
        // (and their conditional requests) must keep the answers apart.
        if !self.schema.api.storefront_headers.is_empty()
            && let Ok(v) = HeaderValue::from_str(&self.schema.api.storefront_headers.join(", "))
        {
            response.headers.append(VARY, v);
        }
        crate::cors::apply(
            &self.schema.api.cors,
            &req.method,
            &req.headers,
            &mut response,
        );
        if req.method == Method::HEAD {
            let len = response.body.len();
            response.body = Bytes::new();
            if len > 0 {
                response
                    .headers
                    .insert(CONTENT_LENGTH, HeaderValue::from(len));
            }
        }
        response
    }

    /// Who the caller is, and whether it may reach the route at all.
    async fn admit(
        &self,
        req: &ApiRequest,
        resolved: Resolved,
        system: bool,
        format: Format,
    ) -> ApiResult<ApiResponse> {
        let api = &self.schema.api;
        // The switch closes the API to callers; the process itself (seed data, the development
        // client's role) still reaches it.
        if !api.enabled && !system {
            return Err(ApiError::no_route(&req.method, &req.path).into());
        }
        // Every route but OPTIONS needs a caller; a bad token is refused before anything else
        // (also before unknown types are told apart, which would tell strangers what exists).
        let access = if system || req.method == Method::OPTIONS {
            Arc::new(Access::Everything)
        } else {
            self.authenticate(req).await?
        };
        if self.refuses_anonymous(&access, &resolved) {
            return Err(unauthenticated().into());
        }
        unsupported_override(req)?;
        if resolved.is_operations() {
            return self.operations_route(req, resolved, access).await;
        }
        if let Some(route) = resolved
            .route
            .as_ref()
            .filter(|r| self.is_async_operations(r))
        {
            return self
                .async_operations_route(req, route, access, format)
                .await;
        }
        let Resolved {
            route,
            operation,
            query,
            overridden,
        } = resolved;
        let route = route.ok_or_else(|| ApiError::no_route(&req.method, &req.path))?;
        let ty = self.route_type(&route)?;
        let relationship = route_relationship(ty, &route)?;
        let methods = route.allowed_methods(ty);
        if methods.len() == 1 {
            // No action is enabled on this route for the type: the route does not exist.
            return Err(ApiError::no_route(&req.method, &req.path).into());
        }
        let allowed = methods.join(", ");
        let operation = match operation {
            Some(Operation::Options) => return Ok(options(&allowed)),
            // A method the route allows has its operation there.
            Some(op) if methods.contains(&req.method.as_str()) => op,
            _ => return Ok(method_not_allowed(&req.method, &allowed)),
        };
        authorize(&access, operation, relationship, ty)?;
        // A get_list sent as `POST` may come without a body (its parameters in the URL).
        let method = if overridden {
            &Method::GET
        } else {
            &req.method
        };
        format.negotiate(method, &req.headers, !req.body.is_empty())?;
        let mut ctx = self.context(req, access, query?)?;
        ctx.variant = Variant::of(format, &req.headers, &api.storefront_headers);
        // After the permission check: a caller that may not read the type learns nothing of
        // which alternate ids exist.
        let (route, addressed_as) = self.resolve_alternate_id(&req.headers, ty, route).await?;
        ctx.addressed_as = addressed_as;
        let body = match format {
            Format::JsonApi => req.body.clone(),
            Format::Plain => plain_document(ty, &route, relationship, &req.body),
        };
        self.dispatch(&ctx, operation, (route, relationship), ty, req, &body)
            .await
    }

    /// A caller without a token learns nothing beyond the types open to it, not even which
    /// other types exist.
    fn refuses_anonymous(&self, access: &Access, resolved: &Resolved) -> bool {
        matches!(
            access,
            Access::Granted {
                anonymous: true,
                ..
            }
        ) && !resolved
            .route
            .as_ref()
            .is_some_and(|r| self.schema.api.auth.anonymous.iter().any(|t| t == r.ty()))
    }

    /// The type a route names; 404 when the schema has none of that name.
    fn route_type(&self, route: &Route) -> ApiResult<&Arc<ResourceType>> {
        Ok(self.schema.resource_type(route.ty()).ok_or_else(|| {
            let what = if matches!(route, Route::List { .. } | Route::Item { .. }) {
                "entity"
            } else {
                "parent entity"
            };
            ApiError::new(
                ErrorKind::UnknownEntityType,
                format!("Unknown {what} type: {}.", route.ty()),
            )
        })?)
    }

    /// The one dispatch: each operation to its action (`actions/`, `batch/`). `body` is the
    /// request's document (a plain body already turned into one); a relationship route comes
    /// with its relationship.
    async fn dispatch(
        &self,
        ctx: &Ctx,
        operation: Operation,
        (route, relationship): (Route, Option<&Relationship>),
        ty: &Arc<ResourceType>,
        req: &ApiRequest,
        body: &Bytes,
    ) -> ApiResult<ApiResponse> {
        match (operation, route, relationship) {
            (Operation::GetList, _, _) => self.get_list(ctx, ty).await,
            (Operation::Create, _, _) => self.write_document(ctx, ty, None, body).await,
            (Operation::UpdateList, _, _) => self.update_list(ctx, ty, req).await,
            (Operation::DeleteList, _, _) => self.delete_list(ctx, ty).await,
            (Operation::Get, Route::Item { id, .. }, _) => self.get(ctx, ty, &id).await,
            (Operation::Update, Route::Item { id, .. }, _) => {
                self.write_document(ctx, ty, Some(&id), body).await
            }
            (Operation::Delete, Route::Item { id, .. }, _) => self.delete(ctx, ty, &id).await,
            (
                Operation::GetSubresource | Operation::AddSubresource,
                Route::Related { id, rel, .. },
                None,
            ) if ty.subresources.contains_key(&rel) => {
                self.serve_subresource(ctx, ty, &id, &ty.subresources[&rel], body)
                    .await
            }
            (Operation::GetSubresource, Route::Related { id, .. }, Some(rel)) => {
                self.get_related(ctx, ty, &id, rel).await
            }
            (Operation::GetRelationship, Route::Relationship { id, .. }, Some(rel)) => {
                self.get_relationship(ctx, ty, &id, rel).await
            }
            (
                op @ (Operation::UpdateRelationship
                | Operation::AddRelationship
                | Operation::DeleteRelationship),
                Route::Relationship { id, .. },
                Some(rel),
            ) => self.write_relationship(ctx, ty, &id, rel, op, body).await,
            (op, _, _) => Err(ApiError::new(
                ErrorKind::MethodNotAllowed,
                format!("The {op} operation is not implemented for this URL yet."),
            )
            .into()),
        }
    }

    /// `{prefix}/operations`: `POST` runs the operations; each is checked against the
    /// caller's permissions, so the route itself needs none beyond a caller.
    async fn operations_route(
        &self,
        req: &ApiRequest,
        resolved: Resolved,
        access: Arc<Access>,
    ) -> ApiResult<ApiResponse> {
        match req.method {
            Method::OPTIONS => Ok(options("OPTIONS, POST")),
            Method::POST => {
                let query = resolved.query?;
                // Results are whole resources: there is nothing to filter, page or shape.
                if let Some((name, _)) = query.into_iter().next() {
                    return Err(ApiError::new(
                        ErrorKind::Filter,
                        format!("The \"{name}\" parameter is not supported by atomic operations."),
                    )
                    .param(name)
                    .into());
                }
                negotiate(
                    &req.method,
                    &req.headers,
                    true,
                    Some(crate::actions::atomic::ATOMIC),
                )?;
                let ctx = self.context(req, access, Vec::new())?;
                // Whether the answer may apply the extension depends on Accept.
                let mut r = self
                    .operations(&ctx, &req.body)
                    .await
                    .unwrap_or_else(|e| ApiResponse::errors(&e));
                r.headers.append(VARY, HeaderValue::from_static("Accept"));
                Ok(r)
            }
            _ => Ok(method_not_allowed(&req.method, "OPTIONS, POST")),
        }
    }

    /// The settings of one request: its headers and query parameters, and its caller.
    pub(crate) fn context(
        &self,
        req: &ApiRequest,
        access: Arc<Access>,
        query: Vec<(String, String)>,
    ) -> Result<Ctx, ApiError> {
        let include: Vec<String> = req
            .headers
            .get_all("x-include")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .map(|s| s.trim().to_ascii_lowercase())
            .collect();
        Ok(Ctx {
            api_url: format!(
                "{}{}",
                req.base_url.trim_end_matches('/'),
                self.schema.api.prefix
            ),
            hateoas: !include.iter().any(|k| k == "nohateoas"),
            total_count: include.iter().any(|k| k == "totalcount"),
            deleted_count: include.iter().any(|k| k == "deletedcount"),
            access,
            preconditions: Preconditions::of(&req.headers)?,
            query,
            storefront: Storefront::of(&self.schema.api, &req.headers)?,
            addressed_as: None,
            variant: Variant::default(),
        })
    }
}

/// A relationship route's name, resolved once: the actions get the relationship (none for a
/// declared sub-resource, which its extension serves).
fn route_relationship<'t>(
    ty: &'t ResourceType,
    route: &Route,
) -> ApiResult<Option<&'t Relationship>> {
    Ok(match route {
        Route::Related { rel, .. } if ty.subresources.contains_key(rel) => None,
        Route::Related { rel, .. } | Route::Relationship { rel, .. } => Some(
            ty.relationships
                .get(rel)
                .ok_or_else(unsupported_subresource)?,
        ),
        Route::List { .. } | Route::Item { .. } => None,
    })
}

/// The permissions the operation needs (the model's defaults: VIEW to read, CREATE + VIEW to
/// create, EDIT + VIEW to update or change relationships, DELETE to delete), on the type, on
/// the related type of a subresource, and on the type whose items a relationship write
/// changes when the linkage is kept on the other side.
fn authorize(
    access: &Access,
    operation: Operation,
    relationship: Option<&Relationship>,
    ty: &ResourceType,
) -> Result<(), ApiError> {
    let needed = jsonapi_auth::permissions::required(operation);
    access.require(&ty.name, needed)?;
    if let Some(relationship) = relationship {
        let reads_target = operation == Operation::GetSubresource;
        let writes_target = !operation.read_only()
            && matches!(relationship.storage, RelationshipStorage::InverseOf { .. });
        if reads_target || writes_target {
            access.require(&relationship.target, needed)?;
        }
    }
    Ok(())
}

/// A plain write's body, as the JSON:API document the actions read.
fn plain_document(
    ty: &ResourceType,
    route: &Route,
    relationship: Option<&Relationship>,
    body: &Bytes,
) -> Bytes {
    let what = match (route, relationship) {
        (Route::Relationship { .. }, Some(relationship)) => plain::Body::Linkage {
            target: &relationship.target,
        },
        (Route::Item { id, .. }, _) => plain::Body::Resource { ty, id: Some(id) },
        // A sub-resource reads its document's `meta`, which the plain view sends as is.
        (Route::Related { .. }, None) => return body.clone(),
        _ => plain::Body::Resource { ty, id: None },
    };
    plain::request_document(what, body)
}
