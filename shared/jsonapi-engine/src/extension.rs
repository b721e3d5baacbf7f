//! Behaviour that configuration cannot express plugs in here, as the model system's processors
//! do: an [`Extension`] is called at named stages of each write action and may change what is
//! about to be stored, stage changes to other resources, or refuse the request.
//!
//! Stages, named after the model system's processor groups:
//! - `customize_loaded_data` ([`Extension::customize_loaded_data`]): every resource read from
//!   the store passes through it before it is rendered (computed values).
//! - `pre_flush_data` ([`Extension::pre_flush`]): a write request has been checked and applied to
//!   the [`ChangeSet`] (the primary resource and any related resources it touches); hooks may
//!   add or change staged resources, or refuse. Everything staged is then written in one store
//!   transaction.
//! - `post_save_data` ([`Extension::post_save`]): the transaction has been committed (never on
//!   a validate-only request); for notifications. It cannot fail the request.
//!
//! Extensions read other resources through [`FlushContext::load`], which sees staged changes,
//! so several hooks compose.
//!
//! Sub-resources: a type's `subresources` in the configuration declare paths
//! `/{type}/{id}/{name}` that an extension serves ([`Extension::serves`],
//! [`Extension::subresource`]): computed ones (`GET`, the `get_subresource` operation) and
//! actions (`POST`, `add_subresource`), whose staged changes are written in one transaction
//! (with the `pre_flush_data` hooks, and re-run from fresh reads on a concurrent change).

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;

use indexmap::IndexMap;
use jsonapi_config::Operation;
use serde_json::{Map, Value};

use crate::error::ApiResult;
use crate::resource::Resource;

/// A boxed, sendable future, for object-safe async hooks.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// One resource's change: its state before (`None` = it is being created) and after
/// (`None` = it is being deleted).
#[derive(Debug, Clone)]
pub struct Change {
    /// As stored now.
    pub before: Option<Resource>,
    /// As it will be stored.
    pub after: Option<Resource>,
}

/// Every resource a request changes; written in one transaction.
#[derive(Debug, Clone, Default)]
pub struct ChangeSet {
    changes: IndexMap<(String, String), Change>,
    /// The membership stamps the request read before reading who points at a resource, by
    /// `(type, id)` (`None`: no stamp yet); the transaction requires them unchanged
    /// (`crate::membership`).
    members_read: IndexMap<(String, String), Option<Value>>,
    /// Stored resources the transaction must find at the version read although the request
    /// may not rewrite them: the resource an `If-Match` named (`crate::precondition`).
    guarded: Vec<Resource>,
    /// Items the transaction writes besides resources: the record that a batch's unit of work
    /// was applied, written with it so that it is never applied twice (`crate::batch`).
    records: Vec<jsonapi_store::Write>,
}

impl ChangeSet {
    /// Stages a new state for a resource (`before` is kept from an earlier staging).
    pub fn put(&mut self, before: Option<Resource>, after: Resource) {
        let key = (after.ty.to_string(), after.id.clone());
        match self.changes.get_mut(&key) {
            Some(change) => change.after = Some(after),
            None => {
                self.changes.insert(
                    key,
                    Change {
                        before,
                        after: Some(after),
                    },
                );
            }
        }
    }

    /// Stages a change to `current` (the resource as stored, or as staged already): `edit`
    /// is applied to it, and its stored state is kept as the change's `before`.
    pub fn edit(&mut self, current: Resource, edit: impl FnOnce(&mut Resource)) {
        let before = match self.original(&current.ty, &current.id) {
            Some(original) => original.cloned(),
            None => Some(current.clone()),
        };
        let mut after = current;
        edit(&mut after);
        self.put(before, after);
    }

    /// Stages the deletion of a stored resource.
    pub fn delete(&mut self, before: Resource) {
        let key = (before.ty.to_string(), before.id.clone());
        match self.changes.get_mut(&key) {
            Some(change) => change.after = None,
            None => {
                self.changes.insert(
                    key,
                    Change {
                        before: Some(before),
                        after: None,
                    },
                );
            }
        }
    }

    /// The staged state of a resource: `Some(None)` when it is being deleted, `None` when the
    /// change set does not touch it.
    pub fn staged(&self, ty: &str, id: &str) -> Option<Option<&Resource>> {
        self.changes
            .get(&(ty.to_owned(), id.to_owned()))
            .map(|c| c.after.as_ref())
    }

    /// The state a resource had before this request, if the change set touches it.
    pub fn original(&self, ty: &str, id: &str) -> Option<Option<&Resource>> {
        self.changes
            .get(&(ty.to_owned(), id.to_owned()))
            .map(|c| c.before.as_ref())
    }

    /// Every change, in staging order.
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.changes.values()
    }

    pub(crate) fn into_changes(self) -> impl Iterator<Item = Change> {
        self.changes.into_values()
    }

    /// Records the membership stamp read for a resource (the first read counts: every member
    /// range read after it is covered by it).
    pub(crate) fn record_members(&mut self, key: (String, String), stamp: Option<Value>) {
        self.members_read.entry(key).or_insert(stamp);
    }

    /// The membership stamps read, by `(type, id)`.
    pub(crate) fn members_read(&self) -> &IndexMap<(String, String), Option<Value>> {
        &self.members_read
    }

    /// Makes the transaction require `stored` unchanged (at the version read), whether or not
    /// the request rewrites it.
    pub(crate) fn guard(&mut self, stored: &Resource) {
        self.guarded.push(stored.clone());
    }

    /// The resources [`Self::guard`] named.
    pub(crate) fn guarded(&self) -> &[Resource] {
        &self.guarded
    }

    /// Writes `write` in the same transaction as the changes.
    pub(crate) fn record(&mut self, write: jsonapi_store::Write) {
        self.records.push(write);
    }

    /// What [`Self::record`] added.
    pub(crate) fn records(&self) -> &[jsonapi_store::Write] {
        &self.records
    }
}

/// Reads resources for hooks.
pub trait Loader: Send + Sync {
    /// The stored resource, if any.
    fn load<'a>(&'a self, ty: &'a str, id: &'a str) -> BoxFuture<'a, ApiResult<Option<Resource>>>;

    /// Up to `limit` stored resources of a type, in id order.
    fn list<'a>(&'a self, ty: &'a str, limit: usize) -> BoxFuture<'a, ApiResult<Vec<Resource>>>;

    /// Up to `limit` stored resources of `ty` whose to-one relationship `field` names `id`.
    fn pointing_at<'a>(
        &'a self,
        ty: &'a str,
        field: &'a str,
        id: &'a str,
        limit: usize,
    ) -> BoxFuture<'a, ApiResult<Vec<Resource>>>;

    /// An empty new resource of `ty` with a fresh id (its id strategy's: the next of its
    /// sequence, or a ULID); an error if the schema has no such type.
    fn empty_resource<'a>(&'a self, ty: &'a str) -> BoxFuture<'a, ApiResult<Resource>>;
}

/// What a hook sees and may change.
pub struct FlushContext<'a> {
    /// The action being run.
    pub action: Operation,
    /// The staged changes.
    pub changes: &'a mut ChangeSet,
    loader: &'a dyn Loader,
    /// Resources read from the store by [`Self::load`], as stored: the `before` of a later
    /// [`Self::stage`].
    loaded: HashMap<(String, String), Resource>,
}

impl Debug for FlushContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlushContext")
            .field("action", &self.action)
            .field("changes", &self.changes)
            .finish_non_exhaustive()
    }
}

impl<'a> FlushContext<'a> {
    pub(crate) fn new(
        action: Operation,
        changes: &'a mut ChangeSet,
        loader: &'a dyn Loader,
    ) -> Self {
        Self {
            action,
            changes,
            loader,
            loaded: HashMap::new(),
        }
    }

    /// A resource as it will be after this request: staged if the request touches it,
    /// otherwise as stored.
    ///
    /// # Errors
    /// The store fails.
    pub async fn load(&mut self, ty: &str, id: &str) -> ApiResult<Option<Resource>> {
        if let Some(staged) = self.changes.staged(ty, id) {
            return Ok(staged.cloned());
        }
        let stored = self.loader.load(ty, id).await?;
        if let Some(r) = &stored {
            self.loaded
                .insert((ty.to_owned(), id.to_owned()), r.clone());
        }
        Ok(stored)
    }

    /// Up to `limit` stored resources of a type, in id order (staged changes not applied).
    ///
    /// # Errors
    /// The store fails.
    pub async fn list(&self, ty: &str, limit: usize) -> ApiResult<Vec<Resource>> {
        self.loader.list(ty, limit).await
    }

    /// Up to `limit` stored resources of `ty` whose to-one `field` names `id`: the members of
    /// the inverse to-many relationship (staged changes not applied).
    ///
    /// # Errors
    /// The store fails.
    pub async fn pointing_at(
        &self,
        ty: &str,
        field: &str,
        id: &str,
        limit: usize,
    ) -> ApiResult<Vec<Resource>> {
        self.loader.pointing_at(ty, field, id, limit).await
    }

    /// A new resource of `ty` with a fresh id and nothing else (no attributes, no linkage,
    /// no defaults), to fill and [`Self::stage`]. It holds its type resolved
    /// ([`crate::KnownType`]), so the engine never looks it up again.
    ///
    /// # Errors
    /// The schema has no type `ty` (a 500: the extension names a type the configuration does
    /// not declare), or the store fails to reserve a sequence id.
    pub async fn empty_resource(&self, ty: &str) -> ApiResult<Resource> {
        self.loader.empty_resource(ty).await
    }

    /// Stages a new state of a resource returned by [`Self::load`], or a new resource.
    pub fn stage(&mut self, resource: Resource) {
        let key = (resource.ty.to_string(), resource.id.clone());
        let before = match self.changes.original(&key.0, &key.1) {
            Some(original) => original.cloned(),
            None => self.loaded.get(&key).cloned(),
        };
        self.changes.put(before, resource);
    }
}

/// A call of a sub-resource an extension serves: `GET /{type}/{id}/{name}` (computed) or
/// `POST /{type}/{id}/{name}` (an action).
#[derive(Debug)]
pub struct SubresourceCall<'a> {
    /// The resource the path names, as stored (the engine answers 404 before a missing one
    /// reaches the hook).
    pub parent: Resource,
    /// The parent's URL (`{api}/{type}/{id}`), for links in an answer.
    pub parent_url: String,
    /// The sub-resource's name (the last path segment).
    pub name: String,
    /// The request document's `meta` object (empty for `GET` or a request without one).
    pub meta: Map<String, Value>,
    /// Reads, and for an action the changes to write.
    pub flush: FlushContext<'a>,
}

/// What a sub-resource answers (the configuration's `returns` says which type its resources
/// are, for the documentation and the rendering).
#[derive(Debug, Clone)]
pub enum SubresourceAnswer {
    /// `200` with a document of `meta` only (`returns` unset).
    Meta(Map<String, Value>),
    /// `200` with these resources of the `returns` type: a collection when the declaration
    /// says `many`, otherwise the first (or `null`).
    Resources(Vec<Resource>),
    /// `201` with the resource of the `returns` type that the staged changes create (its id;
    /// it must be staged), rendered as written, with `Location`.
    Created(String),
}

/// A plug-in of behaviour at named stages of the write actions.
pub trait Extension: Send + Sync + Debug {
    /// `pre_flush_data`: runs after the request has been applied to the change set and before
    /// the change set is written.
    ///
    /// # Errors
    /// Errors abort the request; nothing is written.
    fn pre_flush<'a>(&'a self, ctx: &'a mut FlushContext<'_>) -> BoxFuture<'a, ApiResult<()>> {
        let _ = ctx;
        Box::pin(async { Ok(()) })
    }

    /// `customize_loaded_data`: adjusts a resource read from the store before it is rendered.
    fn customize_loaded_data(&self, resource: &mut Resource) {
        let _ = resource;
    }

    /// `post_save_data`: the changes are stored.
    fn post_save(&self, action: Operation, changes: &ChangeSet) {
        let _ = (action, changes);
    }

    /// Whether this extension serves the sub-resource `name` of `ty` that the configuration
    /// declares (`types.{ty}.subresources.{name}`).
    fn serves(&self, ty: &str, name: &str) -> bool {
        let _ = (ty, name);
        false
    }

    /// Serves a sub-resource [`Self::serves`] claims : a
    /// computed one (`GET`) reads through `call.flush`; an action (`POST`) may also stage
    /// changes there, which are written in one transaction after the hook returns (and the
    /// hook is called again from fresh reads when a concurrent write changed what it read).
    ///
    /// # Errors
    /// Errors are the answer; nothing is written.
    fn subresource<'a>(
        &'a self,
        call: &'a mut SubresourceCall<'_>,
    ) -> BoxFuture<'a, ApiResult<SubresourceAnswer>> {
        let _ = call;
        Box::pin(async { Err(crate::error::unsupported_subresource().into()) })
    }
}
