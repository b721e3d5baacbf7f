//! The engine: one [`Engine`] per process, holding the schema, the store and the extensions,
//! and turning each [`ApiRequest`] into an [`ApiResponse`].

use std::sync::Arc;
use std::time::Duration;

use jsonapi_auth::Passwords;
use jsonapi_config::{Operation, ResourceType, Schema};
use jsonapi_store::{Key, RangeQuery, Store, limits};

use crate::auth::{Access, Auth};
use crate::error::{ApiError, ApiResult, ErrorKind};
use crate::extension::{BoxFuture, Extension, Loader};
use crate::numbers::canonical_ulid;
use crate::precondition::Preconditions;
use crate::request::{ApiRequest, ApiResponse};
use crate::resource::{self, Resource};
use crate::routing::Resolved;

/// How long a write keeps re-running from fresh reads while concurrent writes change what it
/// read (optimistic-concurrency conflicts) before the client is asked to retry later (503),
/// unless the engine is given another budget ([`Engine::with_retry_budget`]): well inside a
/// Lambda function's 10 s timeout.
const RETRY_BUDGET: Duration = Duration::from_secs(5);

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
    pub(crate) retry_budget: Duration,
    /// Wakes the batch worker when an asynchronous batch is stored (`crate::batch`).
    pub(crate) batch_queue: tokio::sync::Notify,
}

/// Per-request settings: read from the headers and the query parameters.
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
    /// The query parameters (with those of the body, for a get_list sent as `POST` and a
    /// delete_list), each action checking them against what it accepts.
    pub(crate) query: Vec<(String, String)>,
    /// The localization and currency the answer is shown in (`X-Localization-ID`,
    /// `X-Currency`).
    pub(crate) storefront: crate::storefront::Storefront,
    /// The alternate id the path named the resource by (`X-Product-ID: sku`), which a
    /// document's `data.id` may repeat in place of the id.
    pub(crate) addressed_as: Option<String>,
    /// The representation asked for, which a resource's `ETag` names.
    pub(crate) variant: crate::precondition::Variant,
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
            retry_budget: RETRY_BUDGET,
            batch_queue: tokio::sync::Notify::new(),
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
        let resolved = Resolved::of(&self.schema.api, &req);
        self.serve(&req, resolved, false).await
    }

    /// Answers a request from the process itself (seed data, maintenance commands): no token
    /// is needed and nothing is refused for want of permission. Never reachable over HTTP.
    pub async fn handle_as_system(&self, req: ApiRequest) -> ApiResponse {
        let resolved = Resolved::of(&self.schema.api, &req);
        self.serve(&req, resolved, true).await
    }

    /// Answers a request on behalf of one operation's function (the cloud shape). A request
    /// another function serves means the deployment routes it wrongly: it is logged and
    /// answered with a 404, as an unknown URL.
    pub async fn handle_as(&self, operation: Operation, req: ApiRequest) -> ApiResponse {
        let resolved = Resolved::of(&self.schema.api, &req);
        match resolved.function() {
            // Paths outside the API and unknown methods get the engine's own 404/405.
            Some(function) if function != operation.function() => {
                tracing::error!(expected = operation.name(), got = function.name(), path = %req.path, "request routed to the wrong function");
                ApiResponse::errors(&ApiError::no_route(&req.method, &req.path).into())
            }
            _ => self.serve(&req, resolved, false).await,
        }
    }

    /// One stored resource.
    pub(crate) async fn load(
        &self,
        ty: &Arc<ResourceType>,
        id: &str,
    ) -> ApiResult<Option<Resource>> {
        let item = self
            .store
            .get(&resource::resource_key(&ty.name, id))
            .await?;
        Ok(item
            .map(|mut item| self.decode(ty, &mut item))
            .transpose()?)
    }

    fn decode(
        &self,
        ty: &Arc<ResourceType>,
        item: &mut jsonapi_store::Item,
    ) -> Result<Resource, ApiError> {
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
        let item_keys: Vec<Key> = keys
            .iter()
            .map(|(ty, id)| resource::resource_key(ty, id))
            .collect();
        // Found by partition key, which names the resource's type and id.
        let mut found = std::collections::HashMap::with_capacity(keys.len());
        for chunk in item_keys.chunks(limits::MAX_BATCH_GET) {
            for mut item in self.store.batch_get(chunk).await? {
                let Some((ty, _)) = item.key.pk.split_once('#') else {
                    continue;
                };
                let Some(ty) = self.schema.resource_type(ty) else {
                    continue;
                };
                let r = self.decode(ty, &mut item)?;
                found.insert(item.key.pk, r);
            }
        }
        Ok(item_keys.iter().map(|k| found.remove(&k.pk)).collect())
    }

    /// Ids read from an index or listing range (spread over `shards`): up to `limit` ids, and
    /// whether more exist.
    pub(crate) async fn range_ids(
        &self,
        mut query: RangeQuery,
        shards: u32,
        skip: usize,
        limit: usize,
    ) -> ApiResult<(Vec<String>, bool)> {
        let mut ids = Vec::new();
        let mut skipped = 0;
        loop {
            let want = skip - skipped + limit + 1 - ids.len();
            query.limit = want.clamp(1, 1000);
            let page = crate::shards::query(&*self.store, shards, &query).await?;
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
        self.range_ids(query, target.shards, skip, limit).await
    }
}

/// Checks an id from a URL or a document against the type's id strategy. An id of the right
/// form is left to the lookup (an unknown one is a 404 there, `0` included); one that cannot be
/// read as the id's type is this 400 (the model system's rule). Integers and ULIDs are read in
/// the one form the API writes them (`7`, not `007` or `+7`; ULIDs in upper case, as the model
/// system reads GUIDs in lower case only), so that one resource has one URL.
pub(crate) fn check_id(ty: &ResourceType, id: &str) -> Result<(), ApiError> {
    use jsonapi_config::IdStrategy;
    let invalid = |what: &str| malformed_id(what, id);
    match ty.id {
        IdStrategy::Sequence => sequence_id(id).map(drop),
        IdStrategy::Ulid => canonical_ulid(id)
            .then_some(())
            .ok_or_else(|| invalid("ULID")),
        IdStrategy::Client => {
            if id.is_empty()
                || id.len() > crate::values::MAX_ID_KEY_BYTES
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

/// A sequence id (an operation's, a sequence type's): an integer as the API writes it.
pub(crate) fn sequence_id(id: &str) -> Result<i64, ApiError> {
    crate::numbers::canonical_integer(id).ok_or_else(|| malformed_id("integer", id))
}

/// The 400 of an id that cannot be read as the id `what` is.
fn malformed_id(what: &str, id: &str) -> ApiError {
    ApiError::new(
        ErrorKind::EntityIdentifier,
        format!("Expected {what} value. Given \"{id}\"."),
    )
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

    fn list<'a>(&'a self, ty: &'a str, limit: usize) -> BoxFuture<'a, ApiResult<Vec<Resource>>> {
        Box::pin(async move {
            let Some(t) = self.schema.resource_type(ty) else {
                return Ok(Vec::new());
            };
            let query = RangeQuery::prefix(resource::listing_pk(ty), "", limit);
            let (ids, _) = self.range_ids(query, t.shards, 0, limit).await?;
            self.load_many(t, &ids).await
        })
    }

    fn pointing_at<'a>(
        &'a self,
        ty: &'a str,
        field: &'a str,
        id: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, ApiResult<Vec<Resource>>> {
        Box::pin(async move {
            let Some(t) = self.schema.resource_type(ty) else {
                return Ok(Vec::new());
            };
            let Some(rel) = t.relationships.get(field).filter(|r| !r.many) else {
                return Ok(Vec::new());
            };
            let parent = self.schema.target(rel);
            let (ids, _) = self.inverse_ids(parent, id, t, field, 0, limit).await?;
            self.load_many(t, &ids).await
        })
    }

    fn empty_resource<'a>(&'a self, ty: &'a str) -> BoxFuture<'a, ApiResult<Resource>> {
        Box::pin(async move {
            let t = self.schema.resource_type(ty).ok_or_else(|| {
                ApiError::internal(&format!(
                    "an extension made a resource of the undeclared type \"{ty}\""
                ))
            })?;
            let id = match t.id {
                jsonapi_config::IdStrategy::Sequence => self.next_sequence(ty).await?.to_string(),
                _ => ulid::Ulid::new().to_string(),
            };
            Ok(Resource::new(t, &id))
        })
    }
}
