//! The JSON:API atomic extension (`https://jsonapi.org/ext/atomic`), at `POST
//! {prefix}/operations` when `api.operations` is on: `add`, `update` and `remove` of resources
//! and of relationships (`ref.relationship`), `lid`s naming resources of earlier operations,
//! and `atomic:results` in order.
//!
//! Every operation is checked (shape, type, action enabled, permissions) before anything is
//! staged; then all are staged into one change set, in order, each seeing what the earlier ones
//! staged (several operations on one resource become one write of it), and the change set is
//! committed as one store transaction: all or nothing. Errors point at
//! `/atomic:operations/N/...`.

mod parse;
mod run;

use std::sync::Arc;

use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderValue};
use jsonapi_auth::Permission;
use jsonapi_config::{Operation, Relationship, RelationshipStorage, ResourceType};
use jsonapi_store::Store;
use serde_json::json;

use crate::auth::access::access_denied;
use crate::document::{Identifier, ResourceObject};
use crate::engine::{Ctx, Engine};
use crate::error::{ApiError, ApiErrors, ApiResult, ErrorKind};
use crate::extension::ChangeSet;
use crate::render::Shape;
use crate::request::{ApiResponse, MEDIA_TYPE};

/// The extension's URI, as media type parameters name it.
pub(crate) const ATOMIC: &str = "https://jsonapi.org/ext/atomic";

/// The member of the request and of the response.
const OPERATIONS: &str = "atomic:operations";
const RESULTS: &str = "atomic:results";

/// What one operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Update,
    Remove,
}

/// One checked operation.
struct AtomicOp {
    op: Op,
    ty: Arc<ResourceType>,
    /// The resource named by `ref` or by `data`: an id, or a lid (`local`).
    id: Option<Identifier>,
    /// `ref.relationship`, with the linkage `data` holds.
    relationship: Option<(Relationship, Vec<Identifier>)>,
    /// The resource object of an `add` or `update` of a resource.
    object: Option<ResourceObject>,
    /// `/atomic:operations/N`.
    pointer: String,
}

impl AtomicOp {
    /// The model action the operation runs, for the type's `actions` and the permissions.
    fn action(&self) -> Operation {
        match (self.op, &self.relationship) {
            (Op::Add, None) => Operation::Create,
            (Op::Update, None) => Operation::Update,
            (Op::Remove, None) => Operation::Delete,
            (Op::Add, Some(_)) => Operation::AddRelationship,
            (Op::Update, Some(_)) => Operation::UpdateRelationship,
            (Op::Remove, Some(_)) => Operation::DeleteRelationship,
        }
    }
}

/// What one attempt leaves: the committed change set and, per operation, the resource its
/// result shows.
struct Done {
    staged: ChangeSet,
    shown: Vec<Option<(Arc<ResourceType>, String)>>,
}

impl<S: Store> Engine<S> {
    /// `POST {prefix}/operations`.
    pub(crate) async fn operations(&self, ctx: &Ctx, body: &[u8]) -> ApiResult<ApiResponse> {
        let ops = parse::parse(self, body)?;
        self.check_operations(ctx, &ops)?;
        let done = self
            .with_retries(None, async || self.run_operations(ctx, &ops).await)
            .await?;
        let mut results = Vec::new();
        for shown in &done.shown {
            let Some((ty, id)) = shown else {
                results.push(json!({}));
                continue;
            };
            let r = match done.staged.staged(&ty.name, id).flatten() {
                Some(r) => r.clone(),
                None => self.load(ty, id).await?.ok_or_else(ApiError::not_found)?,
            };
            let data = self
                .render(ctx, ty, vec![r], Shape::FULL)
                .await?
                .data
                .remove(0);
            results.push(json!({ "data": data }));
        }
        if results.iter().all(|r| r == &json!({})) {
            return Ok(ApiResponse::empty(StatusCode::NO_CONTENT));
        }
        let mut response = ApiResponse::document(
            StatusCode::OK,
            &json!({ "jsonapi": { "version": "1.1", "ext": [ATOMIC] }, RESULTS: results }),
        );
        response.headers.insert(
            CONTENT_TYPE,
            HeaderValue::from_str(&format!("{MEDIA_TYPE}; ext=\"{ATOMIC}\""))
                .expect("an ASCII media type"),
        );
        Ok(response)
    }

    /// Every operation's type enables its action and the caller may run it (on the related
    /// type too, when linkage kept on the other side changes it), checked before anything is
    /// read or written.
    fn check_operations(&self, ctx: &Ctx, ops: &[AtomicOp]) -> ApiResult<()> {
        let mut errors = Vec::new();
        for op in ops {
            let action = op.action();
            if !op.ty.actions.allows(action) {
                errors.push(
                    ApiError::new(
                        ErrorKind::ActionNotAllowed,
                        format!("The \"{action}\" action is not allowed."),
                    )
                    .at(op.pointer.clone()),
                );
                continue;
            }
            let needed = jsonapi_auth::permissions::required(action);
            let mut types = vec![op.ty.name.as_str()];
            let rels: Vec<&str> = match (&op.relationship, &op.object) {
                (Some((rel, _)), _) => vec![rel.name.as_str()],
                (None, Some(object)) => object.relationships.keys().map(String::as_str).collect(),
                (None, None) => Vec::new(),
            };
            for rel in rels {
                if let Some(r) = op.ty.relationships.get(rel)
                    && matches!(r.storage, RelationshipStorage::InverseOf { .. })
                {
                    types.push(r.target.name());
                }
            }
            for t in types {
                let perms: &[Permission] = if t == op.ty.name {
                    needed
                } else {
                    &[Permission::Edit]
                };
                if !perms.iter().all(|p| ctx.access.allows(t, *p)) {
                    errors.push(access_denied().at(op.pointer.clone()));
                    break;
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ApiErrors(errors))
        }
    }
}
