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

use std::collections::HashMap;
use std::sync::Arc;

use http::StatusCode;
use http::header::{CONTENT_TYPE, HeaderValue};
use jsonapi_auth::Permission;
use jsonapi_config::{IdStrategy, Operation, Relationship, RelationshipStorage, ResourceType};
use jsonapi_store::{Store, limits};
use serde_json::{Map, Value, json};

use super::write::{Locals, check_identifier, local_key, wrong_type};
use crate::auth::access::access_denied;
use crate::commit::CommitError;
use crate::document::{self, Identifier, Linkage, ResourceObject, shape, string_member};
use crate::engine::{Ctx, Engine, check_id};
use crate::error::{ApiError, ApiErrors, ApiResult, title};
use crate::extension::ChangeSet;
use crate::render::Shape;
use crate::request::{ApiResponse, MEDIA_TYPE};
use crate::resource::Resource;

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

/// Reads the operations of a request document, collecting every problem with its pointer.
fn parse<S: Store>(engine: &Engine<S>, body: &[u8]) -> Result<Vec<AtomicOp>, ApiErrors> {
    let doc = document::parse_json(body)?;
    let mut errors = Vec::new();
    let Value::Object(top) = &doc else {
        return Err(shape("", "The request data should be a JSON object.").into());
    };
    for key in top.keys() {
        if !matches!(key.as_str(), OPERATIONS | "jsonapi" | "meta") {
            errors.push(shape(
                &format!("/{}", document::escape_pointer(key)),
                format!("The '{key}' property is not allowed at the top level of an atomic operations request."),
            ));
        }
    }
    let items = match top.get(OPERATIONS) {
        Some(Value::Array(items)) if !items.is_empty() => items,
        _ => {
            errors.push(shape(
                &format!("/{OPERATIONS}"),
                "The 'atomic:operations' property should be a non-empty array of operations.",
            ));
            return Err(ApiErrors(errors));
        }
    };
    // The store's transaction limit, checked before anything is read or staged: every
    // operation writes at least one item.
    if items.len() > limits::MAX_TRANSACTION_WRITES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            title::REQUEST_DATA,
            format!(
                "A request holds at most {} operations (the store writes them in one transaction); this one has {}. Split it into smaller requests.",
                limits::MAX_TRANSACTION_WRITES,
                items.len()
            ),
        )
        .at(format!("/{OPERATIONS}"))
        .into());
    }
    let mut ops = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let pointer = format!("/{OPERATIONS}/{n}");
        let Value::Object(o) = item else {
            errors.push(shape(&pointer, "An operation should be an object."));
            continue;
        };
        if let Some(op) = one(engine, o, pointer, &mut errors) {
            ops.push(op);
        }
    }
    // A lid names one resource: a second `add` giving it is refused.
    let mut given: HashMap<(String, String), usize> = HashMap::new();
    for (n, op) in ops.iter().enumerate() {
        let Some(lid) = op
            .object
            .as_ref()
            .and_then(|o| o.lid.as_ref())
            .filter(|_| op.op == Op::Add)
        else {
            continue;
        };
        if let Some(first) = given.insert((op.ty.name.clone(), lid.clone()), n) {
            errors.push(
                ApiError::bad_request(
                    title::REQUEST_DATA,
                    format!("The lid \"{lid}\" names the resource operation {first} adds already."),
                )
                .at(format!("{}/data/lid", op.pointer)),
            );
        }
    }
    if errors.is_empty() {
        Ok(ops)
    } else {
        Err(ApiErrors(errors))
    }
}

/// Reads one operation.
fn one<S: Store>(
    engine: &Engine<S>,
    o: &Map<String, Value>,
    pointer: String,
    errors: &mut Vec<ApiError>,
) -> Option<AtomicOp> {
    let before = errors.len();
    for key in o.keys() {
        match key.as_str() {
            "op" | "ref" | "data" | "meta" => {}
            "href" => errors.push(shape(
                &format!("{pointer}/href"),
                "Operations name their target with 'ref' (type, id or lid, relationship); 'href' is not supported.",
            )),
            _ => errors.push(shape(
                &format!("{pointer}/{}", document::escape_pointer(key)),
                format!("The '{key}' property is not allowed in an operation."),
            )),
        }
    }
    let op = match o.get("op").and_then(Value::as_str) {
        Some("add") => Op::Add,
        Some("update") => Op::Update,
        Some("remove") => Op::Remove,
        _ => {
            errors.push(shape(
                &format!("{pointer}/op"),
                "The 'op' property should be \"add\", \"update\" or \"remove\".",
            ));
            return None;
        }
    };
    let reference = match o.get("ref") {
        None => None,
        Some(Value::Object(r)) => Some(r),
        Some(_) => {
            errors.push(shape(
                &format!("{pointer}/ref"),
                "The 'ref' property should be an object.",
            ));
            return None;
        }
    };
    let ref_at = format!("{pointer}/ref");
    let ref_type = reference.and_then(|r| string_member(r, "type", &ref_at, errors));
    let ref_rel = reference.and_then(|r| string_member(r, "relationship", &ref_at, errors));
    let ref_ident = reference.and_then(|r| {
        let id = string_member(r, "id", &ref_at, errors);
        let lid = string_member(r, "lid", &ref_at, errors);
        if let Some(key) = r
            .keys()
            .find(|k| !matches!(k.as_str(), "type" | "id" | "lid" | "relationship"))
        {
            errors.push(shape(
                &format!("{ref_at}/{}", document::escape_pointer(key)),
                format!("The '{key}' property is not allowed in a ref."),
            ));
        }
        let (id, local) = match (id, lid) {
            (Some(id), _) => (id, false),
            (None, Some(lid)) => (lid, true),
            (None, None) => return None,
        };
        Some(Identifier {
            ty: ref_type.clone().unwrap_or_default(),
            id,
            local,
            pointer: ref_at.clone(),
        })
    });
    if reference.is_some() && ref_type.is_none() {
        errors.push(shape(
            &format!("{ref_at}/type"),
            "The 'type' property is required.",
        ));
    }
    if reference.is_some() && ref_ident.is_none() {
        errors.push(shape(
            &format!("{ref_at}/id"),
            "The 'id' or 'lid' property is required.",
        ));
    }
    if ref_rel.is_none() && op == Op::Add && reference.is_some() {
        errors.push(shape(
            &ref_at,
            "An 'add' of a resource takes no 'ref': the resource object in 'data' is the new resource.",
        ));
    }
    if ref_rel.is_none() && op == Op::Remove && reference.is_none() {
        errors.push(shape(
            &ref_at,
            "A 'remove' operation names its resource with 'ref'.",
        ));
    }
    if errors.len() > before {
        return None;
    }
    let data_at = format!("{pointer}/data");
    let (object, relationship) = match &ref_rel {
        Some(rel) => {
            let linkage = document::relationship(&Value::Object(o.clone()), &pointer, errors)?;
            let idents = match linkage {
                Linkage::One(i) => i.into_iter().collect(),
                Linkage::Many(is) => is,
            };
            (None, Some((rel.clone(), idents)))
        }
        None if op == Op::Remove => (None, None),
        None => match o.get("data") {
            Some(Value::Object(d)) => (document::resource_object(d, &data_at, errors), None),
            _ => {
                errors.push(shape(
                    &data_at,
                    "The 'data' property of this operation should be a resource object.",
                ));
                return None;
            }
        },
    };
    let type_name = ref_type
        .clone()
        .or_else(|| object.as_ref().map(|d| d.ty.clone()))
        .unwrap_or_default();
    let type_at = if ref_type.is_some() {
        format!("{ref_at}/type")
    } else {
        format!("{data_at}/type")
    };
    let Some(ty) = engine.schema.resource_type(&type_name) else {
        errors.push(
            ApiError::bad_request(
                title::ENTITY_TYPE,
                format!("Unknown entity type: {type_name}."),
            )
            .at(type_at),
        );
        return None;
    };
    // The resource object must name the resource `ref` names, when both do.
    let mut id = ref_ident;
    if let Some(d) = &object {
        if d.ty != ty.name {
            errors.push(
                ApiError::new(
                    StatusCode::CONFLICT,
                    title::CONFLICT,
                    format!(
                        "The 'type' of the resource object should be \"{}\", the type 'ref' names.",
                        ty.name
                    ),
                )
                .at(format!("{data_at}/type")),
            );
        }
        let named = match (&d.id, &d.lid) {
            (Some(i), _) => Some((i.clone(), false)),
            (None, Some(l)) => Some((l.clone(), true)),
            (None, None) => None,
        };
        match (&id, named) {
            (Some(r), Some((i, local))) if r.id != i || r.local != local => errors.push(
                ApiError::new(
                    StatusCode::CONFLICT,
                    title::CONFLICT,
                    "The resource object should name the resource 'ref' names.",
                )
                .at(data_at.clone()),
            ),
            (None, Some((i, local))) if op == Op::Update || !local => {
                id = Some(Identifier {
                    ty: ty.name.clone(),
                    id: i,
                    local,
                    pointer: data_at.clone(),
                });
            }
            (None, None) if op == Op::Update => errors.push(shape(
                &format!("{data_at}/id"),
                "The 'id' or 'lid' property is required to update a resource.",
            )),
            _ => {}
        }
    }
    if let Some((rel, idents)) = &relationship {
        match ty.relationships.get(rel) {
            None => errors.push(
                ApiError::bad_request(title::RELATIONSHIP, "Unsupported subresource.")
                    .at(format!("{ref_at}/relationship")),
            ),
            Some(r) => {
                let shaped = o.get("data").is_some_and(|d| d.is_array() == r.many);
                if !shaped {
                    errors.push(document::wrong_shape(r.many, &data_at));
                } else if !r.many && op != Op::Update {
                    errors.push(shape(
                        &format!("{pointer}/op"),
                        "A to-one relationship is set with 'update'; 'add' and 'remove' apply to to-many relationships.",
                    ));
                }
                let target = engine.schema.target(r);
                for ident in idents {
                    // A lid is resolved when its operation runs; its type is checked now.
                    if ident.local {
                        errors.extend(wrong_type(target, ident));
                    } else {
                        check_identifier(target, ident, errors);
                    }
                }
            }
        }
    }
    // An unknown relationship was refused above: an operation with errors is never run.
    let relationship = relationship
        .and_then(|(name, idents)| ty.relationships.get(&name).map(|rel| (rel.clone(), idents)));
    Some(AtomicOp {
        op,
        ty: Arc::clone(ty),
        id,
        relationship,
        object,
        pointer,
    })
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
        let ops = parse(self, body)?;
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
                        StatusCode::METHOD_NOT_ALLOWED,
                        title::ACTION_NOT_ALLOWED,
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

    /// One attempt: stages every operation in order, then commits them in one transaction.
    async fn run_operations(&self, ctx: &Ctx, ops: &[AtomicOp]) -> Result<Done, CommitError> {
        let mut changes = ChangeSet::default();
        let mut locals = Locals::new();
        let mut shown = Vec::new();
        // Which operation made each resource, to point at it when the store refuses it.
        let mut made_by: HashMap<(String, String), &str> = HashMap::new();
        for op in ops {
            let ty = &op.ty;
            let id = match (&op.id, op.op, &op.relationship) {
                (None, Op::Add, None) => None,
                (Some(ident), Op::Add, None) if !ident.local => None,
                (Some(ident), _, _) => Some(resolve_local(ident, &locals)?),
                (None, _, _) => None,
            };
            match (op.op, &op.relationship) {
                (Op::Add, None) => {
                    let object = op
                        .object
                        .as_ref()
                        .expect("an add carries a resource object");
                    let new_id = self.new_id(ty, object, &op.pointer).await?;
                    if let Some(lid) = &object.lid {
                        locals.insert(local_key(&ty.name, lid, true), new_id.clone());
                    }
                    let base = self.new_resource(ty, &new_id);
                    let applied = self.apply(ctx, ty, base, object, true, &locals).await?;
                    changes.put(None, applied.resource);
                    self.stage_inverse(
                        ty,
                        &new_id,
                        &applied.inverse,
                        &mut changes,
                        true,
                        &applied.linked,
                    )
                    .await?;
                    made_by.insert((ty.name.clone(), new_id.clone()), &op.pointer);
                    shown.push(Some((Arc::clone(ty), new_id)));
                }
                (Op::Update, None) => {
                    let id = id.expect("an update names its resource");
                    let current = self.current(ty, &id, op, &changes).await?;
                    let object = op
                        .object
                        .as_ref()
                        .expect("an update carries a resource object");
                    let creating = matches!(changes.original(&ty.name, &id), Some(None));
                    let applied = self
                        .apply(ctx, ty, current.clone(), object, false, &locals)
                        .await?;
                    changes.put(Some(current), applied.resource);
                    self.stage_inverse(
                        ty,
                        &id,
                        &applied.inverse,
                        &mut changes,
                        creating,
                        &applied.linked,
                    )
                    .await?;
                    made_by
                        .entry((ty.name.clone(), id.clone()))
                        .or_insert(&op.pointer);
                    shown.push(Some((Arc::clone(ty), id)));
                }
                (Op::Remove, None) => {
                    let id = id.expect("a remove names its resource");
                    let current = self.current(ty, &id, op, &changes).await?;
                    let mut after = changes.clone();
                    self.stage_delete(current, &mut after).await?;
                    // What the delete rules change beyond the resource removed (cascade,
                    // nullify) needs permissions of its own.
                    ctx.access
                        .check_delete_rules(&effects(&changes, &after, ty, &id))?;
                    changes = after;
                    shown.push(None);
                }
                (_, Some((rel, idents))) => {
                    let id = id.expect("a relationship operation names its resource");
                    let current = self.current(ty, &id, op, &changes).await?;
                    let idents = idents
                        .iter()
                        .map(|i| {
                            Ok(Identifier {
                                id: resolve_local(i, &locals)?,
                                local: false,
                                ..i.clone()
                            })
                        })
                        .collect::<Result<Vec<_>, ApiError>>()?;
                    let pointer = format!("{}/data", op.pointer);
                    self.stage_relationship(
                        current,
                        (ty, rel),
                        op.action(),
                        &idents,
                        &pointer,
                        &mut changes,
                    )
                    .await?;
                    shown.push(None);
                }
            }
        }
        let mut errors = Vec::new();
        for change in changes.changes().filter(|c| c.before.is_none()) {
            let Some(r) = &change.after else { continue };
            let ty = self.schema.resource_type(&r.ty).expect("known type");
            let at = made_by
                .get(&(r.ty.clone(), r.id.clone()))
                .copied()
                .unwrap_or("");
            for rel in ty
                .relationships
                .values()
                .filter(|rel| rel.required && r.related(&rel.name).is_none())
            {
                errors.push(
                    crate::values::not_blank()
                        .at(format!("{at}/data/relationships/{}/data", rel.name)),
                );
            }
        }
        if !errors.is_empty() {
            return Err(ApiErrors(errors).into());
        }
        let staged = match self.commit(Operation::Create, changes).await {
            Ok(staged) => staged,
            Err(CommitError::Exists { ty, id, .. }) => {
                let at = made_by.get(&(ty, id)).copied().unwrap_or("");
                return Err(ApiErrors::from(
                    ApiError::new(
                        StatusCode::CONFLICT,
                        title::CONFLICT,
                        "The entity already exists.",
                    )
                    .at(format!("{at}/data/id")),
                )
                .into());
            }
            Err(CommitError::Unique { ty, id, field, .. }) => {
                let at = made_by.get(&(ty, id)).copied().unwrap_or("");
                return Err(ApiErrors::from(
                    ApiError::bad_request(title::UNIQUE_ENTITY, "This value is already used.")
                        .at(format!("{at}/data/attributes/{field}")),
                )
                .into());
            }
            Err(e) => return Err(e),
        };
        Ok(Done { staged, shown })
    }

    /// The resource an operation changes, as the earlier operations left it.
    async fn current(
        &self,
        ty: &ResourceType,
        id: &str,
        op: &AtomicOp,
        changes: &ChangeSet,
    ) -> ApiResult<Resource> {
        let at = op
            .id
            .as_ref()
            .map_or(op.pointer.clone(), |i| i.pointer.clone());
        match changes.staged(&ty.name, id) {
            Some(Some(r)) => Ok(r.clone()),
            Some(None) => Err(ApiError::not_found().at(at).into()),
            None => {
                check_id(ty, id).map_err(|e| e.at(format!("{at}/id")))?;
                Ok(self
                    .load(ty, id)
                    .await?
                    .ok_or_else(|| ApiError::not_found().at(at))?)
            }
        }
    }

    /// The id of a resource an `add` creates: the client's (types with client ids), else the
    /// server's (a sequence id is taken now; one unused when the request fails is a gap).
    async fn new_id(
        &self,
        ty: &ResourceType,
        object: &ResourceObject,
        pointer: &str,
    ) -> ApiResult<String> {
        let id_at = format!("{pointer}/data/id");
        match (ty.id, &object.id) {
            (IdStrategy::Client, Some(id)) => {
                check_id(ty, id).map_err(|e| e.at(id_at))?;
                Ok(id.clone())
            }
            (IdStrategy::Client, None) => Err(ApiError::bad_request(
                title::ENTITY_IDENTIFIER,
                "The identifier is mandatory.",
            )
            .at(id_at)
            .into()),
            (_, Some(_)) => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                title::ACCESS_DENIED,
                format!("The server generates the ids of \"{}\"; remove \"id\" from the operation (a \"lid\" can name it).", ty.name),
            )
            .at(id_at)
            .into()),
            (IdStrategy::Sequence, None) => Ok(self.next_sequence(&ty.name).await?.to_string()),
            (IdStrategy::Ulid, None) => Ok(ulid::Ulid::new().to_string()),
        }
    }
}

/// The changes `after` stages beyond `before`, but that of the resource `(ty, id)` itself.
fn effects(before: &ChangeSet, after: &ChangeSet, ty: &ResourceType, id: &str) -> ChangeSet {
    let mut out = ChangeSet::default();
    for change in after.changes() {
        let Some(r) = change.after.as_ref().or(change.before.as_ref()) else {
            continue;
        };
        if (r.ty == ty.name && r.id == id)
            || before.staged(&r.ty, &r.id) == Some(change.after.as_ref())
        {
            continue;
        }
        match (&change.before, &change.after) {
            (_, Some(a)) => out.put(change.before.clone(), a.clone()),
            (Some(b), None) => out.delete(b.clone()),
            (None, None) => {}
        }
    }
    out
}

/// The id an identifier names: its own, or the one an earlier operation gave its lid.
fn resolve_local(ident: &Identifier, locals: &Locals) -> Result<String, ApiError> {
    if !ident.local {
        return Ok(ident.id.clone());
    }
    locals
        .get(&local_key(&ident.ty, &ident.id, true))
        .cloned()
        .ok_or_else(|| {
            ApiError::bad_request(
                title::REQUEST_DATA,
                format!(
                    "The lid \"{}\" does not name a resource an earlier operation adds.",
                    ident.id
                ),
            )
            .at(format!("{}/lid", ident.pointer))
        })
}
