//! The `api` settings apart from auth: prefixes, batches, the atomic extension, CORS.

use indexmap::IndexMap;

use super::batch::{check_api_batch, check_lifetime};
use super::names::http_token;
use super::problem::{Checked, problem};
use super::storefront::{check_currencies, check_localizations};
use crate::operation::Operation;
use crate::raw::{RawApi, RawCors};
use crate::schema::{ApiSettings, AuthSettings, CorsSettings, OPERATIONS_SEGMENT, ResourceType};

pub(super) fn check_api(raw: &RawApi) -> Checked<ApiSettings> {
    let prefix = raw.prefix.clone().unwrap_or_else(|| "/api".to_owned());
    if !prefix.starts_with('/') || prefix.ends_with('/') && prefix.len() > 1 {
        return Err(problem(
            &["api", "prefix"],
            "must start with \"/\" and not end with one, like \"/api\"",
        ));
    }
    let page_size = match raw.page_size {
        None => 10,
        Some(n) if n >= 1 => n as usize,
        Some(_) => return Err(problem(&["api", "pageSize"], "must be at least 1")),
    };
    let max_results = match raw.max_results {
        None | Some(-1) => None,
        Some(n) if n >= 1 => Some(n as usize),
        Some(_) => {
            return Err(problem(
                &["api", "maxResults"],
                "must be -1 (unlimited) or at least 1",
            ));
        }
    };
    if max_results.is_some_and(|m| m < page_size) {
        return Err(problem(
            &["api", "maxResults"],
            "must not be smaller than pageSize",
        ));
    }
    let public_url = raw
        .public_url
        .as_deref()
        .map(crate::public_url)
        .transpose()
        .map_err(|e| problem(&["api", "publicUrl"], e.to_string()))?;
    let openapi = raw.openapi.unwrap_or(true);
    let sandbox = raw.sandbox.unwrap_or(true);
    if sandbox && !openapi {
        return Err(problem(
            &["api", "sandbox"],
            "the sandbox page is built on the OpenAPI document: set it to false too, or api.openapi to true",
        ));
    }
    Ok(ApiSettings {
        enabled: raw.enabled.unwrap_or(true),
        public_url,
        prefix: if prefix == "/" { String::new() } else { prefix },
        page_size,
        max_results,
        max_related: raw.max_related.unwrap_or(1000).max(1),
        max_delete: raw.max_delete.unwrap_or(100).max(1),
        batch: check_api_batch(&raw.batch)?,
        operation_lifetime: check_lifetime(&raw.batch)?,
        openapi,
        sandbox,
        operations: false,
        auth: AuthSettings {
            enabled: true,
            issuer: String::new(),
            audience: String::new(),
            access_token_lifetime: 0,
            refresh_token_lifetime: 0,
            anonymous: Vec::new(),
            users: None,
            roles: None,
            external_issuers: Vec::new(),
        },
        cors: check_cors(&raw.cors)?,
        localizations: check_localizations(&raw.localizations)?,
        currencies: check_currencies(raw.currencies.as_ref())?,
        storefront_headers: Vec::new(),
    })
}

/// `api.operations` (the atomic extension at `{prefix}/operations`) writes through the
/// types' own create, update and delete actions: with none enabled it could do nothing.
pub(super) fn check_operations(
    raw: Option<bool>,
    types: &IndexMap<String, ResourceType>,
) -> Checked<bool> {
    let enabled = raw.unwrap_or(false);
    let writable = types.values().any(|ty| {
        [Operation::Create, Operation::Update, Operation::Delete]
            .into_iter()
            .any(|a| ty.actions.allows(a))
    });
    if enabled && types.contains_key(OPERATIONS_SEGMENT) {
        return Err(problem(
            &["types", OPERATIONS_SEGMENT],
            "with api.operations on, {prefix}/operations is the atomic extension's endpoint: rename the type, or set api.operations to false",
        ));
    }
    if enabled && !writable {
        return Err(problem(
            &["api", "operations"],
            "no type enables create, update or delete, so atomic operations could change nothing: enable one, or set this to false",
        ));
    }
    Ok(enabled)
}

/// `requireIfMatch` guards the writes of a known resource; a type that allows none of them
/// would declare a rule that never applies, which is a mistake worth naming.
pub(super) fn check_require_if_match(name: &str, ty: &ResourceType) -> Checked<()> {
    let guarded = [
        Operation::Update,
        Operation::Delete,
        Operation::UpdateRelationship,
        Operation::AddRelationship,
        Operation::DeleteRelationship,
    ];
    if ty.require_if_match && !guarded.into_iter().any(|a| ty.actions.allows(a)) {
        return Err(problem(
            &["types", name, "requireIfMatch"],
            "the type enables no update, delete or relationship write for If-Match to guard: remove it, or enable one",
        ));
    }
    Ok(())
}

pub(super) fn check_cors(raw: &RawCors) -> Checked<CorsSettings> {
    for (n, origin) in raw.allow_origins.iter().enumerate() {
        let ok = origin == "*"
            || (origin.starts_with("http://") || origin.starts_with("https://"))
                && !origin.ends_with('/')
                && !origin.contains(char::is_whitespace);
        if !ok {
            return Err(problem(
                &["api", "cors", "allowOrigins", &n.to_string()],
                "must be \"*\" or an origin such as \"https://app.example.com\" (scheme and host, no path)",
            ));
        }
    }
    let header_names = |key: &str, names: &[String]| -> Checked<Vec<String>> {
        names
            .iter()
            .enumerate()
            .map(|(n, h)| {
                http_token(h).then(|| h.clone()).ok_or_else(|| {
                    problem(
                        &["api", "cors", key, &n.to_string()],
                        "is not a header name",
                    )
                })
            })
            .collect()
    };
    Ok(CorsSettings {
        allow_origins: raw.allow_origins.clone(),
        allow_credentials: raw.allow_credentials.unwrap_or(false),
        allow_headers: header_names("allowHeaders", &raw.allow_headers)?,
        expose_headers: header_names("exposeHeaders", &raw.expose_headers)?,
        preflight_max_age: raw.preflight_max_age.unwrap_or(600),
    })
}
