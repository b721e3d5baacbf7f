//! The checks every batch passes before anything is written: a batch refused here creates
//! nothing, not even an asynchronous operation.

use std::sync::Arc;

use http::HeaderMap;
use jsonapi_auth::{Permission, permissions};
use jsonapi_config::{ASYNC_OPERATIONS_SEGMENT, Operation, ResourceType};
use jsonapi_store::Store;
use serde_json::Value;

use crate::actions::compound::repeated;
use crate::auth::access::access_denied;
use crate::document::{self, Batch, ResourceObject};
use crate::engine::{Ctx, Engine};
use crate::error::{ApiError, ApiErrors, ApiResult, ErrorKind, Source};

/// How a batch is processed, from the `X-Mode` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// `X-Mode: sync`: in request order, all or nothing, answered with the resources.
    Sync,
    /// The default (`X-Mode: async`): answered at once with an asynchronous operation.
    Async,
}

impl Mode {
    /// The mode a request asks for.
    ///
    /// # Errors
    /// Any value but `sync` or `async` (the model's 400).
    pub(crate) fn of(headers: &HeaderMap) -> Result<Self, ApiError> {
        match headers.get("x-mode").map(|v| v.as_bytes()) {
            // An empty value asks for nothing: the default, as in the model.
            None | Some(b"" | b"async") => Ok(Self::Async),
            Some(b"sync") => Ok(Self::Sync),
            Some(_) => Err(ApiError::new(
                ErrorKind::InvalidHeaderValue,
                "The accepted values for the \"X-Mode\" are \"sync\" or \"async\".",
            )
            .header("X-Mode")),
        }
    }
}

/// The refusal of a `data` item that is not of the batch's type, unless its type was found
/// missing or not a string already (among `reported`): `""` is no type it named.
pub(crate) fn foreign_type(
    ty: &ResourceType,
    object: &ResourceObject,
    reported: &[ApiError],
) -> Option<ApiError> {
    let at = format!("{}/type", object.pointer);
    let told = reported
        .iter()
        .any(|e| matches!(&e.source, Some(Source::Pointer(p)) if *p == at));
    (object.ty != ty.name && !told).then(|| {
        ApiError::new(
            ErrorKind::EntityType,
            format!(
                "The entity type \"{}\" is not supported by this batch operation.",
                object.ty
            ),
        )
        .at(at)
    })
}

impl<S: Store> Engine<S> {
    /// Reads a batch document and checks what can be checked without the store: the shape,
    /// that every `data` item is of the endpoint's type, that the caller may start an
    /// operation (CREATE and VIEW on `asyncoperations`) and do what each item asks (CREATE
    /// to create, EDIT to update, both to upsert; VIEW for either), and the synchronous
    /// mode's limits.
    pub(crate) fn check_batch(
        &self,
        ctx: &Ctx,
        ty: &Arc<ResourceType>,
        body: &[u8],
        mode: Mode,
    ) -> ApiResult<Batch> {
        let mut batch = document::parse_batch(body)?;
        let mut errors = std::mem::take(&mut batch.errors);
        let foreign: Vec<ApiError> = batch
            .primary
            .iter()
            .filter_map(|o| foreign_type(ty, o, &errors))
            .collect();
        errors.extend(foreign);
        // Two items of `data` under one id (or new ones under one lid): which one would a
        // linkage name, which write would win (chunks run in any order), and a synchronous
        // answer would hold one resource twice. Included items that repeat one another are
        // refused as in any compound write, here before anything is stored in both modes.
        errors.extend(repeated(&batch.primary));
        errors.extend(repeated(&batch.included));
        if !errors.is_empty() {
            return Err(ApiErrors(errors));
        }
        // As in the model, a batch is an asynchronous operation the caller creates and reads:
        // CREATE and VIEW on `asyncoperations` (a synchronous one too, which may become one).
        let operations = [Permission::Create, Permission::View]
            .into_iter()
            .all(|p| ctx.access.allows(ASYNC_OPERATIONS_SEGMENT, p));
        let refused = batch
            .primary
            .iter()
            .chain(&batch.included)
            .any(|o| !self.may_write(ctx, o));
        if refused || !operations {
            return Err(access_denied().into());
        }
        if mode == Mode::Sync {
            let exceeded = |section: &str| {
                ApiError::new(
                    ErrorKind::RequestData,
                    format!("The data limit for the synchronous operation exceeded{section}."),
                )
            };
            let limits = &ty.batch;
            if batch.primary.len() > limits.sync_limit {
                return Err(exceeded("").into());
            }
            if batch.included.len() > limits.sync_included_limit {
                return Err(exceeded(" for the section \"included\"").into());
            }
        }
        Ok(batch)
    }

    /// Whether the caller holds what a resource object's meta option needs on its type:
    /// creating needs the create action's permissions, `meta.update` the update action's,
    /// `meta.upsert` both. (Unknown types are reported by the write itself.)
    fn may_write(&self, ctx: &Ctx, object: &ResourceObject) -> bool {
        meta_actions(object).iter().all(|a| {
            permissions::required(*a)
                .iter()
                .all(|p| ctx.access.allows(&object.ty, *p))
        })
    }
}

/// The actions a resource object's meta option asks for: creating (no option), updating
/// (`meta.update`), or both (`meta.upsert`). (An object with several options is refused
/// by the write itself, as `compound::meta` reads them.)
pub(crate) fn meta_actions(object: &ResourceObject) -> &'static [Operation] {
    if object.meta_options().any(|o| o == "upsert") {
        &[Operation::Create, Operation::Update]
    } else if object.meta.get("update") == Some(&Value::Bool(true)) {
        &[Operation::Update]
    } else {
        &[Operation::Create]
    }
}
