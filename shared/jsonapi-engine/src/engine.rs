//! The engine: one [`Engine`] per process, holding the schema, the store and the extensions,
//! and turning each [`ApiRequest`] into an [`ApiResponse`].

use std::sync::Arc;

use http::header::{ALLOW, CONTENT_LENGTH, HeaderValue, VARY};
use http::{Method, StatusCode};
use jsonapi_auth::Passwords;
use jsonapi_config::{RelationshipStorage, ResourceType, Schema};
use jsonapi_store::{Key, RangeQuery, Store, limits};

use crate::auth::{Access, Auth, Refusal};
use crate::error::{ApiError, ApiResult, title};
use crate::extension::{BoxFuture, Extension, Loader};
use crate::format::Format;
use crate::operation::Operation;
use crate::plain;
use crate::precondition::Preconditions;
use crate::query;
use crate::request::{ApiRequest, ApiResponse, negotiate};
use crate::resource::{self, Resource};
use crate::routing::Route;

/// The JSON:API engine over a store.
#[derive(Debug)]
pub struct Engine<S> {
    pub(crate) schema: Arc<Schema>,
    pub(crate) store: Arc<S>,
    pub(crate) extensions: Vec<Box<dyn Extension>>,
    /// Sequence ids reserved from the store and not handed out yet, per type: `(next, end)`.
    pub(crate) sequences: tokio::sync::Mutex<std::collections::HashMap<String, (u64, u64)>>,
    /// The key that signs cursors, read from (or created in) the store on first use.
    pub(crate) cursor_secret: std::sync::OnceLock<Vec<u8>>,
    /// Tokens, the signing key, cached role permissions.
    pub(crate) auth: Auth<S>,
    /// Writers that conflicted on an item, taking turns.
    pub(crate) turns: crate::turns::Turns,
    /// How long a write may keep re-running while concurrent writes change what it read.
    pub(crate) retry_budget: std::time::Duration,
}

/// Per-request settings read from headers.
#[derive(Debug, Clone)]
pub(crate) struct Ctx {
    /// `{base_url}{prefix}`: what every link starts with.
    pub(crate) api_url: String,
    /// Links are rendered (no `X-Include: noHateoas`).
    pub(crate) hateoas: bool,
    /// `X-Include: totalCount`.
    pub(crate) total_count: bool,
    /// `X-Include: deletedCount`.
    pub(crate) deleted_count: bool,
    /// What the caller may do.
    pub(crate) access: Arc<Access>,
    /// `If-Match` and `If-None-Match`.
    pub(crate) preconditions: Preconditions,
}

impl<S: Store> Engine<S> {
    /// An engine serving `schema` from `store`, with the engine's own extensions that the
    /// schema's `api.auth` enables (the users type's password hashing, the roles type's
    /// permission check), registered as any other extension is: a domain's own behaviour is
    /// added by whoever serves it, with [`Engine::with_extension`].
    pub fn new(schema: Schema, store: S) -> Self {
        let passwords = Passwords::default();
        let builtin: [Option<Box<dyn Extension>>; 2] = [
            crate::extensions::PasswordHashing::for_users(&schema, passwords.clone())
                .map(|e| Box::new(e) as _),
            crate::extensions::RolePermissionsCheck::for_roles(&schema).map(|e| Box::new(e) as _),
        ];
        let engine = Self {
            schema: Arc::new(schema),
            store: Arc::new(store),
            extensions: Vec::new(),
            sequences: tokio::sync::Mutex::default(),
            cursor_secret: std::sync::OnceLock::new(),
            auth: Auth::new(passwords),
            turns: crate::turns::Turns::default(),
            retry_budget: crate::commit::RETRY_BUDGET,
        };
        engine.with_extensions(builtin.into_iter().flatten())
    }

    /// Adds an extension, called after the ones already registered (at each stage, in the
    /// order of registration).
    #[must_use]
    pub fn with_extension(mut self, extension: Box<dyn Extension>) -> Self {
        self.extensions.push(extension);
        self
    }

    /// Adds extensions, in order, after the ones already registered.
    #[must_use]
    pub fn with_extensions(
        mut self,
        extensions: impl IntoIterator<Item = Box<dyn Extension>>,
    ) -> Self {
        self.extensions.extend(extensions);
        self
    }

    /// The schema served.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Answers one request for whoever its bearer token speaks for. Never panics on input and
    /// never fails: every problem is an error document.
    pub async fn handle(&self, req: ApiRequest) -> ApiResponse {
        self.serve(req, false).await
    }

    /// Answers a request from the process itself (seed data, maintenance commands): no token
    /// is needed and nothing is refused for want of permission. Never reachable over HTTP.
    pub async fn handle_as_system(&self, req: ApiRequest) -> ApiResponse {
        self.serve(req, true).await
    }

    async fn serve(&self, req: ApiRequest, system: bool) -> ApiResponse {
        let head = req.method == Method::HEAD;
        let endpoint = if self.schema.api.enabled {
            self.auth_endpoint(&req).await
        } else {
            None
        };
        // Chosen once: the route's documents, and its errors, are in this format. The plain
        // view is the API's; other paths (the token endpoint when the API is off, unknown
        // ones) answer in JSON:API.
        let route = Route::parse(&self.schema.api.prefix, &req.path);
        let format = match route {
            Some(_) => Format::of(&req.headers),
            None => Format::JsonApi,
        };
        let mut response = match endpoint {
            Some(r) => r,
            None => {
                let view = match (format, &route) {
                    (Format::Plain, Some(route)) => Some(plain_view(&req, route)),
                    _ => None,
                };
                let response = match self.route(&req, route, system, format).await {
                    Ok(r) => r,
                    Err(errors) => ApiResponse::errors(&errors),
                };
                match view {
                    Some(view) => view.response(response),
                    None => response,
                }
            }
        };
        crate::cors::apply(
            &self.schema.api.cors,
            &req.method,
            &req.headers,
            &mut response,
        );
        if head {
            let len = response.body.len();
            response.body = bytes::Bytes::new();
            if len > 0 {
                response
                    .headers
                    .insert(CONTENT_LENGTH, HeaderValue::from(len));
            }
        }
        response
    }

    /// The operation a request belongs to, if its path is an API path.
    pub fn operation_of(&self, method: &Method, path: &str) -> Option<Operation> {
        if crate::operation::AUTH_ROUTES
            .iter()
            .any(|(_, p)| *p == path)
        {
            return Some(Operation::Token);
        }
        let route = Route::parse(&self.schema.api.prefix, path)?;
        if route.ty() == jsonapi_config::DOC_SEGMENT {
            return Some(Operation::Docs);
        }
        if self.is_operations(&route) {
            return Some(Operation::Operations);
        }
        Operation::of(method, route.kind())
    }

    /// Answers a request on behalf of one operation (a function of the cloud shape). A request
    /// of another operation means the deployment routes it wrongly: it is logged and answered
    /// with a 404, as an unknown URL.
    pub async fn handle_as(&self, operation: Operation, req: ApiRequest) -> ApiResponse {
        match self.operation_of(&req.method, &req.path) {
            Some(op) if op == operation => self.handle(req).await,
            // Paths outside the API and unknown methods get the engine's own 404/405.
            None => self.handle(req).await,
            Some(op) => {
                tracing::error!(expected = operation.name(), got = op.name(), path = %req.path, "request routed to the wrong function");
                ApiResponse::errors(
                    &ApiError::new(
                        StatusCode::NOT_FOUND,
                        title::NOT_FOUND,
                        format!("No route found for \"{} {}\".", req.method, req.path),
                    )
                    .into(),
                )
            }
        }
    }

    async fn route(
        &self,
        req: &ApiRequest,
        route: Option<Route>,
        system: bool,
        format: Format,
    ) -> ApiResult<ApiResponse> {
        let api = &self.schema.api;
        let not_found = || {
            ApiError::new(
                StatusCode::NOT_FOUND,
                title::NOT_FOUND,
                format!("No route found for \"{} {}\".", req.method, req.path),
            )
        };
        // The switch closes the API to callers; the process itself (seed data, the development
        // client's role) still reaches it.
        if !api.enabled && !system {
            return Err(not_found().into());
        }
        // Every route but OPTIONS needs a caller; a bad token is refused before anything else
        // (also before unknown types are told apart, which would tell strangers what exists).
        let access = if system || req.method == Method::OPTIONS {
            Arc::new(Access::Everything)
        } else {
            match self.authenticate(req).await? {
                Ok(access) => access,
                Err(refusal) => return Ok(refusal.response()),
            }
        };
        // A caller without a token learns nothing beyond the types open to it, not even
        // which other types exist.
        if matches!(
            *access,
            Access::Granted {
                anonymous: true,
                ..
            }
        ) && !route
            .as_ref()
            .is_some_and(|r| api.auth.anonymous.iter().any(|t| t == r.ty()))
        {
            return Ok(Refusal::Unauthenticated(None).response());
        }
        let route = route.ok_or_else(not_found)?;
        if self.is_operations(&route) {
            return self.operations_route(req, access).await;
        }
        let ty = self.schema.resource_type(route.ty()).ok_or_else(|| {
            let what = if matches!(route, Route::List { .. } | Route::Item { .. }) {
                "entity"
            } else {
                "parent entity"
            };
            ApiError::new(
                StatusCode::NOT_FOUND,
                title::ENTITY_TYPE,
                format!("Unknown {what} type: {}.", route.ty()),
            )
        })?;
        if let Route::Related { rel, .. } | Route::Relationship { rel, .. } = &route
            && !ty.relationships.contains_key(rel)
        {
            return Err(ApiError::new(
                StatusCode::NOT_FOUND,
                title::RELATIONSHIP,
                "Unsupported subresource.",
            )
            .into());
        }
        let allowed = route.allowed_methods(ty);
        if allowed.len() == 1 {
            // No action is enabled on this route for the type: the route does not exist.
            return Err(not_found().into());
        }
        let allow = HeaderValue::from_str(&allowed.join(", ")).expect("method names are ASCII");
        if req.method == Method::OPTIONS {
            let mut r = ApiResponse::empty(StatusCode::OK);
            r.headers.insert(ALLOW, allow);
            r.headers.insert(CONTENT_LENGTH, HeaderValue::from(0));
            return Ok(r);
        }
        if !allowed.contains(&req.method.as_str()) {
            let mut r = ApiResponse::errors(
                &ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "method not allowed http exception",
                    format!(
                        "The {} method is not allowed for this URL; allowed methods: {}.",
                        req.method,
                        allowed.join(", ")
                    ),
                )
                .into(),
            );
            r.headers.insert(ALLOW, allow);
            return Ok(r);
        }
        if let Err(refusal) = self.authorize(&access, req, &route, ty) {
            return Ok(refusal.response());
        }
        format.negotiate(&req.method, &req.headers, !req.body.is_empty())?;
        // A plain write's body, as the JSON:API document the actions read.
        let document = |what: plain::Body<'_>| match format {
            Format::JsonApi => req.body.clone(),
            Format::Plain => plain::request_document(what, &req.body),
        };
        let ctx = self.context(req, access)?;
        let method = if req.method == Method::HEAD {
            Method::GET
        } else {
            req.method.clone()
        };
        let query = req.query.as_deref();
        match (route, method) {
            (Route::List { .. }, Method::GET) => self.get_list(&ctx, ty, query::pairs(query)).await,
            (Route::List { .. }, Method::POST) if overrides_to_get(req) => {
                self.get_list(&ctx, ty, query::merge_body_pairs(query, &req.body)?)
                    .await
            }
            (Route::List { .. }, Method::POST) => {
                let body = document(plain::Body::Resource { ty, id: None });
                self.write_document(&ctx, ty, None, query, &body).await
            }
            (Route::List { .. }, Method::PATCH) => self.update_list(&ctx, ty, req).await,
            (Route::List { .. }, Method::DELETE) => {
                self.delete_list(&ctx, ty, query::merge_body_pairs(query, &req.body)?)
                    .await
            }
            (Route::Item { id, .. }, Method::GET) => self.get(&ctx, ty, &id, query).await,
            (Route::Item { id, .. }, Method::PATCH) => {
                let body = document(plain::Body::Resource { ty, id: Some(&id) });
                self.write_document(&ctx, ty, Some(&id), query, &body).await
            }
            (Route::Item { id, .. }, Method::DELETE) => self.delete(&ctx, ty, &id, query).await,
            (Route::Related { id, rel, .. }, Method::GET) => {
                self.get_related(&ctx, ty, &id, &rel, query).await
            }
            (Route::Relationship { id, rel, .. }, Method::GET) => {
                self.get_relationship(&ctx, ty, &id, &rel, query).await
            }
            (Route::Relationship { id, rel, .. }, _) => {
                let target = &ty.relationships[&rel].target;
                let body = document(plain::Body::Linkage { target });
                self.write_relationship(&ctx, ty, &id, &rel, req, &body)
                    .await
            }
            (_, method) => Err(ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method not allowed http exception",
                format!("The {method} method is not implemented for this URL yet."),
            )
            .into()),
        }
    }

    /// Whether a route is the atomic extension's endpoint (`{prefix}/operations`, when
    /// enabled; no type has that name then).
    fn is_operations(&self, route: &Route) -> bool {
        self.schema.api.operations
            && matches!(route, Route::List { .. })
            && route.ty() == jsonapi_config::OPERATIONS_SEGMENT
    }

    /// `{prefix}/operations`: `POST` runs the operations; each is checked against the
    /// caller's permissions, so the route itself needs none beyond a caller.
    async fn operations_route(
        &self,
        req: &ApiRequest,
        access: Arc<Access>,
    ) -> ApiResult<ApiResponse> {
        let allow = HeaderValue::from_static("OPTIONS, POST");
        match req.method {
            Method::OPTIONS => {
                let mut r = ApiResponse::empty(StatusCode::OK);
                r.headers.insert(ALLOW, allow);
                r.headers.insert(CONTENT_LENGTH, HeaderValue::from(0));
                Ok(r)
            }
            Method::POST => {
                // Results are whole resources: there is nothing to filter, page or shape.
                if let Some((name, _)) = query::pairs(req.query.as_deref()).into_iter().next() {
                    return Err(ApiError::bad_request(
                        title::FILTER,
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
                let ctx = self.context(req, access)?;
                // Whether the answer may apply the extension depends on Accept.
                let mut r = self
                    .operations(&ctx, &req.body)
                    .await
                    .unwrap_or_else(|e| ApiResponse::errors(&e));
                r.headers.append(VARY, HeaderValue::from_static("Accept"));
                Ok(r)
            }
            _ => {
                let mut r = ApiResponse::errors(
                    &ApiError::new(
                        StatusCode::METHOD_NOT_ALLOWED,
                        "method not allowed http exception",
                        format!(
                            "The {} method is not allowed for this URL; allowed methods: OPTIONS, POST.",
                            req.method
                        ),
                    )
                    .into(),
                );
                r.headers.insert(ALLOW, allow);
                Ok(r)
            }
        }
    }

    /// The permissions the route's action needs (the model's defaults: VIEW to read, CREATE +
    /// VIEW to create, EDIT + VIEW to update or change relationships, DELETE to delete), on
    /// the type, on the related type of a subresource, and on the type whose items a
    /// relationship write changes when the linkage is kept on the other side.
    fn authorize(
        &self,
        access: &Access,
        req: &ApiRequest,
        route: &Route,
        ty: &ResourceType,
    ) -> Result<(), Refusal> {
        let operation = if matches!(route, Route::List { .. })
            && req.method == Method::POST
            && overrides_to_get(req)
        {
            Operation::GetList
        } else {
            match Operation::of(&req.method, route.kind()) {
                Some(op) => op,
                None => return Ok(()),
            }
        };
        let needed = jsonapi_auth::permissions::required(operation.name()).unwrap_or(&[]);
        access.require(&ty.name, needed)?;
        if let Route::Related { rel, .. } | Route::Relationship { rel, .. } = route {
            let relationship = &ty.relationships[rel];
            let reads_target = operation == Operation::GetSubresource;
            let writes_target = !operation.read_only()
                && matches!(relationship.storage, RelationshipStorage::InverseOf { .. });
            if reads_target || writes_target {
                access.require(&relationship.target, needed)?;
            }
        }
        Ok(())
    }

    fn context(&self, req: &ApiRequest, access: Arc<Access>) -> Result<Ctx, ApiError> {
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
        })
    }

    /// The resource type of a relationship's target.
    pub(crate) fn target_of(&self, ty: &ResourceType, rel: &str) -> &Arc<ResourceType> {
        let target = &ty.relationships[rel].target;
        self.schema
            .resource_type(target)
            .expect("targets are checked with the configuration")
    }

    /// One stored resource.
    pub(crate) async fn load(&self, ty: &ResourceType, id: &str) -> ApiResult<Option<Resource>> {
        let item = self
            .store
            .get(&resource::resource_key(&ty.name, id))
            .await?;
        Ok(item.map(|item| self.decode(ty, &item)).transpose()?)
    }

    fn decode(&self, ty: &ResourceType, item: &jsonapi_store::Item) -> Result<Resource, ApiError> {
        let mut r = Resource::from_item(ty, item).ok_or_else(|| {
            ApiError::internal(&format!(
                "unreadable item {} / {}",
                item.key.pk, item.key.sk
            ))
        })?;
        for ext in &self.extensions {
            ext.customize_loaded_data(&mut r);
        }
        Ok(r)
    }

    /// Stored resources by id, in the order of `ids` (missing ones left out), one batch read
    /// per hundred ids.
    pub(crate) async fn load_many(
        &self,
        ty: &ResourceType,
        ids: &[String],
    ) -> ApiResult<Vec<Resource>> {
        let keys: Vec<(&str, &str)> = ids
            .iter()
            .map(|id| (ty.name.as_str(), id.as_str()))
            .collect();
        Ok(self.load_keys(&keys).await?.into_iter().flatten().collect())
    }

    /// Stored resources of any types, in the order of `keys` (`None` where missing), one batch
    /// read per hundred keys whatever their types: they are items of one table.
    pub(crate) async fn load_keys(
        &self,
        keys: &[(&str, &str)],
    ) -> ApiResult<Vec<Option<Resource>>> {
        let mut found = std::collections::HashMap::new();
        for chunk in keys.chunks(limits::MAX_BATCH_GET) {
            let item_keys: Vec<Key> = chunk
                .iter()
                .map(|(ty, id)| resource::resource_key(ty, id))
                .collect();
            for item in self.store.batch_get(&item_keys).await? {
                let Some((ty, _)) = item.key.pk.split_once('#') else {
                    continue;
                };
                let Some(ty) = self.schema.resource_type(ty) else {
                    continue;
                };
                let r = self.decode(ty, &item)?;
                found.insert((r.ty.clone(), r.id.clone()), r);
            }
        }
        Ok(keys
            .iter()
            .map(|(ty, id)| found.remove(&((*ty).to_owned(), (*id).to_owned())))
            .collect())
    }

    /// Ids read from an index or listing range: up to `limit` ids, and whether more exist.
    pub(crate) async fn range_ids(
        &self,
        mut query: RangeQuery,
        skip: usize,
        limit: usize,
    ) -> ApiResult<(Vec<String>, bool)> {
        let mut ids = Vec::new();
        let mut skipped = 0;
        loop {
            let want = skip - skipped + limit + 1 - ids.len();
            query.limit = want.clamp(1, 1000);
            let page = self.store.query(&query).await?;
            for item in &page.items {
                if skipped < skip {
                    skipped += 1;
                    continue;
                }
                if let Some(id) = item.attrs.get("id").and_then(serde_json::Value::as_str) {
                    ids.push(id.to_owned());
                }
            }
            if ids.len() > limit {
                ids.truncate(limit);
                return Ok((ids, true));
            }
            match page.next {
                Some(next) => query.after = Some(next),
                None => return Ok((ids, false)),
            }
        }
    }

    /// The ids of the resources linked through an inverse to-many relationship: those whose
    /// to-one `field` (on the target type) points at `id`.
    pub(crate) async fn inverse_ids(
        &self,
        ty: &ResourceType,
        id: &str,
        target: &ResourceType,
        field: &str,
        skip: usize,
        limit: usize,
    ) -> ApiResult<(Vec<String>, bool)> {
        let query = RangeQuery::prefix(
            resource::index_pk(&target.name, field),
            &resource::linkage_prefix(ty, id),
            limit + 1,
        );
        self.range_ids(query, skip, limit).await
    }
}

/// Checks an id from a URL or a document against the type's id strategy. An id of the right
/// form is left to the lookup (an unknown one is a 404 there, `0` included); one that cannot be
/// read as the id's type is this 400 (the model system's rule). Integers and ULIDs are read in
/// the one form the API writes them (`7`, not `007` or `+7`; ULIDs in upper case, as the model
/// system reads GUIDs in lower case only), so that one resource has one URL.
pub(crate) fn check_id(ty: &ResourceType, id: &str) -> Result<(), ApiError> {
    use jsonapi_config::IdStrategy;
    let invalid = |what: &str| {
        ApiError::bad_request(
            title::ENTITY_IDENTIFIER,
            format!("Expected {what} value. Given \"{id}\"."),
        )
    };
    match ty.id {
        IdStrategy::Sequence => crate::numbers::canonical_integer(id)
            .map(|_| ())
            .ok_or_else(|| invalid("integer")),
        IdStrategy::Ulid => canonical_ulid(id)
            .then_some(())
            .ok_or_else(|| invalid("ULID")),
        IdStrategy::Client => {
            if id.is_empty()
                || id.len() > crate::resource::MAX_ID_KEY_BYTES
                || id.chars().any(char::is_control)
            {
                Err(invalid(
                    "a non-empty identifier of at most 255 characters without control characters as",
                ))
            } else {
                Ok(())
            }
        }
    }
}

/// A ULID as the API writes it: 26 upper-case Crockford base-32 characters within 128 bits
/// (the first at most `7`).
fn canonical_ulid(id: &str) -> bool {
    id.len() == 26
        && id.as_bytes()[0] <= b'7'
        && !id.bytes().any(|b| b.is_ascii_lowercase())
        && ulid::Ulid::from_string(id).is_ok()
}

/// What a plain answer to `req` is shaped by: its route, and what it asks to include (in the
/// query, or in the body of a `GET` sent as `POST`).
fn plain_view(req: &ApiRequest, route: &Route) -> plain::View {
    let pairs = if matches!(route, Route::List { .. }) && overrides_to_get(req) {
        query::merge_body_pairs(req.query.as_deref(), &req.body).unwrap_or_default()
    } else {
        query::pairs(req.query.as_deref())
    };
    plain::View::of(route, &pairs)
}

/// `X-HTTP-Method-Override: GET` on a POST runs get_list (for filters too long for a URL).
fn overrides_to_get(req: &ApiRequest) -> bool {
    req.headers
        .get("x-http-method-override")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("GET"))
}

impl<S: Store> Loader for Engine<S> {
    fn load<'a>(&'a self, ty: &'a str, id: &'a str) -> BoxFuture<'a, ApiResult<Option<Resource>>> {
        Box::pin(async move {
            match self.schema.resource_type(ty) {
                Some(t) => Engine::load(self, t, id).await,
                None => Ok(None),
            }
        })
    }
}
