//! Reading an atomic request: every operation's shape, `ref`, `data` and type checked, every
//! problem collected with its pointer, before anything is read or staged.

use std::collections::HashMap;
use std::sync::Arc;

use jsonapi_config::{Relationship, ResourceType};
use jsonapi_store::{Store, limits};
use serde_json::{Map, Value};

use super::{AtomicOp, OPERATIONS, Op};
use crate::actions::write::{check_identifier, wrong_type};
use crate::document::{self, Identifier, Linkage, ResourceObject, shape, string_member};
use crate::engine::Engine;
use crate::error::{ApiError, ApiErrors, ErrorKind};

/// Reads the operations of a request document, collecting every problem with its pointer.
pub(super) fn parse<S: Store>(engine: &Engine<S>, body: &[u8]) -> Result<Vec<AtomicOp>, ApiErrors> {
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
    check_size(items)?;
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
    check_lids(&ops, &mut errors);
    if errors.is_empty() {
        Ok(ops)
    } else {
        Err(ApiErrors(errors))
    }
}

/// The store's transaction limit, checked before anything is read or staged: every operation
/// writes at least one item.
fn check_size(items: &[Value]) -> Result<(), ApiErrors> {
    if items.len() <= limits::MAX_TRANSACTION_WRITES {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorKind::TooManyOperations,
        format!(
            "A request holds at most {} operations (the store writes them in one transaction); this one has {}. Split it into smaller requests.",
            limits::MAX_TRANSACTION_WRITES,
            items.len()
        ),
    )
    .at(format!("/{OPERATIONS}"))
    .into())
}

/// A lid names one resource: a second `add` giving it is refused.
fn check_lids(ops: &[AtomicOp], errors: &mut Vec<ApiError>) {
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
                ApiError::new(
                    ErrorKind::RequestData,
                    format!("The lid \"{lid}\" names the resource operation {first} adds already."),
                )
                .at(format!("{}/data/lid", op.pointer)),
            );
        }
    }
}

/// An operation's `ref`, as far as it could be read.
struct Ref {
    /// Whether the operation has one.
    given: bool,
    /// `/atomic:operations/N/ref`.
    at: String,
    ty: Option<String>,
    relationship: Option<String>,
    ident: Option<Identifier>,
}

/// An operation's `data`: a resource object, or the linkage of `ref.relationship`.
type Payload = (Option<ResourceObject>, Option<(String, Vec<Identifier>)>);

/// Reads one operation; `None` when it has errors (each pushed with its pointer).
fn one<S: Store>(
    engine: &Engine<S>,
    o: &Map<String, Value>,
    pointer: String,
    errors: &mut Vec<ApiError>,
) -> Option<AtomicOp> {
    let before = errors.len();
    check_keys(o, &pointer, errors);
    let op = op_kind(o, &pointer, errors)?;
    let reference = reference(o, &pointer, errors)?;
    check_ref(op, &reference, errors);
    if errors.len() > before {
        return None;
    }
    let data_at = format!("{pointer}/data");
    let (object, relationship) = payload(o, op, &reference, &pointer, errors)?;
    let ty = operation_type(engine, &reference, object.as_ref(), &data_at, errors)?;
    let id = match &object {
        Some(d) => named_resource(op, ty, d, reference.ident, &data_at, errors),
        None => reference.ident,
    };
    // An unknown relationship is refused (`None`): an operation with errors never runs.
    let relationship = relationship.and_then(|(name, idents)| {
        check_linkage(engine, ty, o, op, (&name, &idents), &pointer, errors)
            .map(|rel| (rel.clone(), idents))
    });
    Some(AtomicOp {
        op,
        ty: Arc::clone(ty),
        id,
        relationship,
        object,
        pointer,
    })
}

/// The members an operation may have.
fn check_keys(o: &Map<String, Value>, pointer: &str, errors: &mut Vec<ApiError>) {
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
}

fn op_kind(o: &Map<String, Value>, pointer: &str, errors: &mut Vec<ApiError>) -> Option<Op> {
    match o.get("op").and_then(Value::as_str) {
        Some("add") => Some(Op::Add),
        Some("update") => Some(Op::Update),
        Some("remove") => Some(Op::Remove),
        _ => {
            errors.push(shape(
                &format!("{pointer}/op"),
                "The 'op' property should be \"add\", \"update\" or \"remove\".",
            ));
            None
        }
    }
}

/// Reads `ref`: `None` only when it is not an object.
fn reference(o: &Map<String, Value>, pointer: &str, errors: &mut Vec<ApiError>) -> Option<Ref> {
    let at = format!("{pointer}/ref");
    let r = match o.get("ref") {
        None => None,
        Some(Value::Object(r)) => Some(r),
        Some(_) => {
            errors.push(shape(&at, "The 'ref' property should be an object."));
            return None;
        }
    };
    let ty = r.and_then(|r| string_member(r, "type", &at, errors));
    let relationship = r.and_then(|r| string_member(r, "relationship", &at, errors));
    let ident = r.and_then(|r| ref_identifier(r, ty.as_deref(), &at, errors));
    Some(Ref {
        given: r.is_some(),
        at,
        ty,
        relationship,
        ident,
    })
}

/// The resource a `ref` names by `id` or `lid`; its other members are refused.
fn ref_identifier(
    r: &Map<String, Value>,
    ty: Option<&str>,
    at: &str,
    errors: &mut Vec<ApiError>,
) -> Option<Identifier> {
    let id = string_member(r, "id", at, errors);
    let lid = string_member(r, "lid", at, errors);
    if let Some(key) = r
        .keys()
        .find(|k| !matches!(k.as_str(), "type" | "id" | "lid" | "relationship"))
    {
        errors.push(shape(
            &format!("{at}/{}", document::escape_pointer(key)),
            format!("The '{key}' property is not allowed in a ref."),
        ));
    }
    let (id, local) = match (id, lid) {
        (Some(id), _) => (id, false),
        (None, Some(lid)) => (lid, true),
        (None, None) => return None,
    };
    Some(Identifier {
        ty: ty.unwrap_or_default().to_owned(),
        id,
        local,
        pointer: at.to_owned(),
    })
}

/// What a `ref` must and must not hold for the operation.
fn check_ref(op: Op, r: &Ref, errors: &mut Vec<ApiError>) {
    if r.given && r.ty.is_none() {
        errors.push(shape(
            &format!("{}/type", r.at),
            "The 'type' property is required.",
        ));
    }
    if r.given && r.ident.is_none() {
        errors.push(shape(
            &format!("{}/id", r.at),
            "The 'id' or 'lid' property is required.",
        ));
    }
    if r.relationship.is_none() && op == Op::Add && r.given {
        errors.push(shape(
            &r.at,
            "An 'add' of a resource takes no 'ref': the resource object in 'data' is the new resource.",
        ));
    }
    if r.relationship.is_none() && op == Op::Remove && !r.given {
        errors.push(shape(
            &r.at,
            "A 'remove' operation names its resource with 'ref'.",
        ));
    }
}

/// Reads `data`: the linkage of `ref.relationship`, a resource object, or nothing (a remove).
fn payload(
    o: &Map<String, Value>,
    op: Op,
    r: &Ref,
    pointer: &str,
    errors: &mut Vec<ApiError>,
) -> Option<Payload> {
    let data_at = format!("{pointer}/data");
    match &r.relationship {
        Some(rel) => {
            let linkage = document::relationship(&Value::Object(o.clone()), pointer, errors)?;
            let idents = match linkage {
                Linkage::One(i) => i.into_iter().collect(),
                Linkage::Many(is) => is,
            };
            Some((None, Some((rel.clone(), idents))))
        }
        None if op == Op::Remove => Some((None, None)),
        None => match o.get("data") {
            Some(Value::Object(d)) => Some((document::resource_object(d, &data_at, errors), None)),
            _ => {
                errors.push(shape(
                    &data_at,
                    "The 'data' property of this operation should be a resource object.",
                ));
                None
            }
        },
    }
}

/// The type the operation acts on: `ref.type`, else the resource object's.
fn operation_type<'e, S: Store>(
    engine: &'e Engine<S>,
    r: &Ref,
    object: Option<&ResourceObject>,
    data_at: &str,
    errors: &mut Vec<ApiError>,
) -> Option<&'e Arc<ResourceType>> {
    let type_name =
        r.ty.clone()
            .or_else(|| object.map(|d| d.ty.clone()))
            .unwrap_or_default();
    let type_at = if r.ty.is_some() {
        format!("{}/type", r.at)
    } else {
        format!("{data_at}/type")
    };
    let ty = engine.schema.resource_type(&type_name);
    if ty.is_none() {
        errors.push(
            ApiError::new(
                ErrorKind::EntityType,
                format!("Unknown entity type: {type_name}."),
            )
            .at(type_at),
        );
    }
    ty
}

/// The resource an operation with a resource object names: the object must name the resource
/// `ref` names, when both do; without a `ref`, the object's id or lid.
fn named_resource(
    op: Op,
    ty: &ResourceType,
    d: &ResourceObject,
    from_ref: Option<Identifier>,
    data_at: &str,
    errors: &mut Vec<ApiError>,
) -> Option<Identifier> {
    if d.ty != ty.name {
        errors.push(
            ApiError::new(
                ErrorKind::Conflict,
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
    match (&from_ref, named) {
        (Some(r), Some((i, local))) if r.id != i || r.local != local => errors.push(
            ApiError::new(
                ErrorKind::Conflict,
                "The resource object should name the resource 'ref' names.",
            )
            .at(data_at.to_owned()),
        ),
        (None, Some((i, local))) if op == Op::Update || !local => {
            return Some(Identifier {
                ty: ty.name.clone(),
                id: i,
                local,
                pointer: data_at.to_owned(),
            });
        }
        (None, None) if op == Op::Update => errors.push(shape(
            &format!("{data_at}/id"),
            "The 'id' or 'lid' property is required to update a resource.",
        )),
        _ => {}
    }
    from_ref
}

/// The relationship `ref.relationship` names, if the type has it; then whether `data` has its
/// shape, the operation suits it, and the linkage names resources of its type (a lid's type is
/// checked now, the lid is resolved when its operation runs).
fn check_linkage<'t, S: Store>(
    engine: &Engine<S>,
    ty: &'t ResourceType,
    o: &Map<String, Value>,
    op: Op,
    (name, idents): (&str, &[Identifier]),
    pointer: &str,
    errors: &mut Vec<ApiError>,
) -> Option<&'t Relationship> {
    let Some(r) = ty.relationships.get(name) else {
        errors.push(
            ApiError::new(ErrorKind::Relationship, "Unsupported subresource.")
                .at(format!("{pointer}/ref/relationship")),
        );
        return None;
    };
    let data_at = format!("{pointer}/data");
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
        if ident.local {
            errors.extend(wrong_type(target, ident));
        } else {
            check_identifier(target, ident, errors);
        }
    }
    Some(r)
}
