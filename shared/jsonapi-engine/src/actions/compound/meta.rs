//! The meta option of a resource object: `meta.update`, `meta.upsert` (by id or by unique
//! fields) and `meta.validate`, read and checked against the type and the object's place.

use jsonapi_config::ResourceType;
use serde_json::Value;

use super::MetaOp;
use crate::document::ResourceObject;
use crate::error::{ApiError, ErrorKind};

pub(super) fn value_error(pointer: String, detail: &str) -> ApiError {
    ApiError::new(ErrorKind::Value, detail).at(pointer)
}

/// Reads and checks the meta options of a resource object.
pub(super) fn meta_op(
    object: &ResourceObject,
    ty: &ResourceType,
    primary: bool,
    patch: bool,
    errors: &mut Vec<ApiError>,
) -> MetaOp {
    let enabled: Vec<&String> = object.meta_options().collect();
    if enabled.len() > 1 {
        errors.push(
            ApiError::new(ErrorKind::RequestData, "Only one meta option can be used.")
                .at(object.meta_pointer("")),
        );
        return MetaOp::None;
    }
    let Some(key) = enabled.first() else {
        return MetaOp::None;
    };
    let value = &object.meta[*key];
    let checked = match key.as_str() {
        "validate" if primary && ty.validation && *value == Value::Bool(true) => {
            Ok(MetaOp::Validate)
        }
        "update" if !primary && *value == Value::Bool(true) => Ok(MetaOp::Update),
        "upsert" => upsert_op(value, ty, patch),
        _ => Err("The option is not supported."),
    };
    checked.unwrap_or_else(|detail| {
        errors.push(value_error(object.meta_pointer(key), detail));
        MetaOp::None
    })
}

/// `meta.upsert`: `true` (or `["id"]`) finds by id, a list of fields by those unique values;
/// the type must allow what it names. The refusal's detail otherwise.
fn upsert_op(value: &Value, ty: &ResourceType, patch: bool) -> Result<MetaOp, &'static str> {
    let fields: Option<Vec<String>> = match value {
        Value::Bool(true) => None,
        Value::Array(items) => match items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
        {
            Some(f) if f == ["id"] => None,
            Some(f) if !f.is_empty() => Some(f),
            _ => return Err(UPSERT_SHAPE),
        },
        _ => return Err(UPSERT_SHAPE),
    };
    match &fields {
        None if !ty.upsert.iter().any(|f| f == "id") => Err(
            "The upsert operation is not supported for resources with auto-generated identifier value.",
        ),
        Some(_) if patch => {
            Err("Only the entity identifier can be used by the upsert operation to find an entity.")
        }
        Some(f) if f.iter().any(|f| !ty.upsert.contains(f)) => {
            Err("The upsert operation cannot use this field to find an entity.")
        }
        _ => Ok(MetaOp::Upsert(fields)),
    }
}

const UPSERT_SHAPE: &str = "The upsert option must be true or a non-empty list of field names.";
