//! Turns the file as written ([`crate::raw`]) into a checked [`Schema`], naming the key of
//! every problem it finds.
//!
//! [`check`] runs the phases in order, each in the module that holds it: the `api` settings
//! (`batch` holds the batch API's, a type's own too); each type's names, `attributes`, `relationships` and the rest of `types`; then, once every
//! type is known, the inverses (`relationships`), sub-resources (`types`), what a list may ask
//! (`queries`), titles (`title`) and `auth`, which relies on the users and roles types;
//! last the storefront headers' attributes and CORS headers (`storefront`).
//! `problem` is what all of them report.

mod api;
mod attributes;
mod auth;
mod batch;
mod names;
mod problem;
mod queries;
mod relationships;
mod storefront;
mod title;
mod types;

use std::sync::Arc;

use indexmap::IndexMap;

use crate::raw::RawConfig;
use crate::schema::Schema;
use api::{check_api, check_operations, check_require_if_match};
use auth::check_auth;
use names::check_type_name;
use problem::{Checked, problem};
use queries::{check_filters, check_indexes, check_sorters};
use relationships::resolve_relationships;
use storefront::{allow_storefront_headers, check_storefront_attributes};
use title::check_title;
use types::{check_subresources, check_type};

pub(crate) fn check(raw: &RawConfig) -> Checked<Schema> {
    let mut api = check_api(&raw.api)?;
    if raw.types.is_empty() {
        return Err(problem(&["types"], "declare at least one resource type"));
    }
    let mut types = IndexMap::new();
    for (name, ty) in &raw.types {
        check_type_name(name)?;
        types.insert(name.clone(), check_type(name, ty, &raw.types, &api.batch)?);
    }
    resolve_relationships(raw, &mut types)?;
    check_subresources(raw, &mut types)?;
    for (name, ty) in &raw.types {
        let resolved = types.get_mut(name).expect("inserted above");
        resolved.filters = check_filters(resolved, &ty.filters)?;
        resolved.sorters = check_sorters(resolved, &ty.sorters)?;
        resolved.indexes = check_indexes(resolved, &ty.indexes)?;
    }
    for (name, ty) in &raw.types {
        let title = check_title(name, ty.title.as_ref(), &types)?;
        types.get_mut(name).expect("inserted above").title = title;
    }
    api.auth = check_auth(&raw.api.auth, &types)?;
    api.operations = check_operations(raw.api.operations, &types)?;
    for (name, ty) in &types {
        check_require_if_match(name, ty)?;
        check_storefront_attributes(ty, &api)?;
    }
    allow_storefront_headers(&mut api, types.values());
    Ok(Schema {
        api,
        types: types.into_iter().map(|(k, v)| (k, Arc::new(v))).collect(),
    })
}
