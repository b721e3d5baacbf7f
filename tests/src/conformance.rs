//! The rules every response must follow, whatever the test asserts on top.
//!
//! - A body is JSON served as exactly `application/vnd.api+json` and validates against the
//!   vendored JSON:API 1.1 schema (`tests/conformance/jsonapi-schema-1.1/schema.json`, registered
//!   under its `$id` in a local registry, so no reference is ever fetched).
//! - The structural rules of the JSON:API checklist (section B) the schema cannot express: no
//!   `data` with `errors`, `included` only with `data`, string `type`/`id`/`lid`, no duplicate
//!   `type`+`id`, no `type`/`id` fields, no name shared by an attribute and a relationship, legal
//!   member names, `jsonapi.version` `1.1`.
//! - Error documents: string statuses, a title, no stack traces, no storage key, partition or
//!   table name (the engine's key prefixes, the test tables' names); the HTTP status follows the
//!   model's combination rule; an error status (4xx/5xx) always comes with an error document,
//!   except for `HEAD`; a server error (5xx) is never acceptable.
//! - A response in the plain view (`application/json`) follows that view's rules instead
//!   ([`crate::plain::problems`]).
//! - HATEOAS links, where present, have the documented shapes (`{base}/api/{type}/{id}`,
//!   `…/relationships/{name}`, `…/{name}`).
//! - The authorization endpoint's pages are the only HTML: `text/html; charset=utf-8`, never
//!   cached, no framing, a content security policy with no script; its redirects carry a
//!   `Location` and are never cached either.

use std::collections::HashSet;
use std::sync::OnceLock;

use hyper::Method;
use serde_json::{Value, json};

use crate::{MT, TestResponse};

/// The schema's `$id`.
pub const SCHEMA_ID: &str = "https://jsonapi.org/schemas/spec/v1.1/draft";

/// The vendored JSON:API 1.1 response schema.
pub const SCHEMA: &str = include_str!("../conformance/jsonapi-schema-1.1/schema.json");

/// What would show how the data is stored: the partitions of the engine's items (index
/// entries, unique values, listings, sequences, metadata, auth items) and the names of the
/// tests' tables and data folders.
const STORAGE_NAMES: &[&str] = &[
    "idx#",
    "uniq#",
    "list#",
    "seq#",
    "meta#",
    "auth#",
    "jsonapi-tests-",
];

/// The API prefix of the example domain.
const PREFIX: &str = "/api";

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema: Value = serde_json::from_str(SCHEMA).expect("the vendored schema is JSON");
        assert_eq!(schema["$id"], SCHEMA_ID, "the vendored schema's $id");
        let registry = jsonschema::Registry::new()
            .add(SCHEMA_ID, schema)
            .expect("the schema's $id is a valid URI")
            .prepare()
            .expect("the schema registry");
        jsonschema::options()
            .offline()
            .with_registry(&registry)
            .build(&json!({ "$ref": SCHEMA_ID }))
            .expect("the JSON:API 1.1 schema compiles")
    })
}

/// Problems found by the JSON:API 1.1 schema in `document`, one line each.
pub fn schema_problems(document: &Value) -> Vec<String> {
    validator()
        .iter_errors(document)
        .map(|e| format!("schema: {e} (at {})", e.instance_path()))
        .collect()
}

/// Every rule `response` breaks, one line each; empty when it conforms. `base_url` is the
/// server's `http://host:port`, `links_base` what its links start with (the same, unless the
/// server has another public URL).
pub fn check(response: &TestResponse, base_url: &str, links_base: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let status = response.status.as_u16();
    if response.status.is_server_error() {
        problems.push(format!("server error {status}"));
    }
    let head = response.method == Method::HEAD;
    if head && !response.raw.is_empty() {
        problems.push("a HEAD response has a body".to_owned());
    }
    if status == 204 && !response.raw.is_empty() {
        problems.push("a 204 response has a body".to_owned());
    }
    if status >= 400 && !head && response.raw.is_empty() {
        problems.push(format!(
            "an error status {status} without an error document"
        ));
    }
    if is_authorize_path(response, base_url) && response.header("content-type") != Some(MT) {
        problems.extend(page_problems(response));
        return problems;
    }
    if response
        .header("content-type")
        .is_some_and(|c| c.starts_with("text/html"))
        && !is_docs_path(&response.url, base_url)
    {
        problems.push("an HTML answer outside the authorization endpoint and the docs".to_owned());
    }
    let Some(document) = &response.body else {
        if is_docs_path(&response.url, base_url) && response.status.is_success() {
            problems.extend(docs_problems(response));
        }
        return problems;
    };
    if is_oauth_path(response, base_url) && response.header("content-type") != Some(MT) {
        problems.extend(oauth_problems(response, document));
        return problems;
    }
    if is_docs_path(&response.url, base_url) && response.status.is_success() {
        problems.extend(docs_problems(response));
        return problems;
    }
    if response.header("content-type") == Some(crate::plain::MEDIA_TYPE) {
        problems.extend(crate::plain::problems(document, status));
        return problems;
    }
    match response.header("content-type") {
        Some(MT) => {}
        // The atomic extension's results: each result's `data` is held to the rules of a
        // document with that primary data.
        Some(ATOMIC_MT) if document.get("atomic:results").is_some() => {
            problems.extend(atomic_problems(document, links_base));
            return problems;
        }
        other => problems.push(format!("Content-Type is {other:?}, expected {MT:?}")),
    }
    problems.extend(schema_problems(document));
    problems.extend(structure_problems(document));
    problems.extend(error_problems(document, status));
    problems.extend(link_problems(document, links_base));
    problems
}

/// Whether `url` answers with pages rather than JSON: the authorization endpoint or the API's
/// documentation.
pub fn serves_pages(url: &str, base_url: &str) -> bool {
    is_docs_path(url, base_url) || url_path(url, base_url) == crate::AUTHORIZE_PATH
}

/// Whether `url` is the API's documentation (`/api/doc`, its assets and its OpenAPI
/// document), which is not JSON:API (its errors are).
pub fn is_docs_path(url: &str, base_url: &str) -> bool {
    let path = url_path(url, base_url);
    let docs = format!("{PREFIX}/doc");
    path == docs || path.starts_with(&format!("{docs}/"))
}

/// The rules of the documentation's answers: the page is HTML that may load nothing from
/// another origin, the OpenAPI document is an OpenAPI 3.1 JSON document, nothing is sniffed.
fn docs_problems(response: &TestResponse) -> Vec<String> {
    let mut problems = Vec::new();
    let content_type = response.header("content-type").unwrap_or_default();
    if response.header("x-content-type-options") != Some("nosniff") {
        problems.push("docs: no X-Content-Type-Options: nosniff".to_owned());
    }
    if response.method == Method::OPTIONS {
        return Vec::new();
    }
    if response.url.ends_with("/doc") || response.url.contains("/doc?") {
        if content_type != "text/html; charset=utf-8" {
            problems.push(format!("docs: the page is served as {content_type:?}"));
        }
        let policy = response
            .header("content-security-policy")
            .unwrap_or_default();
        if !policy.contains("default-src 'self'") {
            problems.push(format!(
                "docs: the page's Content-Security-Policy is {policy:?}"
            ));
        }
    } else if response.url.contains("/doc/openapi.json") {
        if content_type != "application/json" {
            problems.push(format!("docs: the document is served as {content_type:?}"));
        }
        if response.method != Method::HEAD
            && response.body.as_ref().map(|d| &d["openapi"]) != Some(&json!("3.1.0"))
        {
            problems.push("docs: the document is not OpenAPI 3.1.0".to_owned());
        }
    }
    problems
}

/// Whether the response comes from the token endpoint or the JWKS document, which answer in
/// plain JSON (their 405 and the API-off 404 are JSON:API error documents and checked as such).
fn is_oauth_path(response: &TestResponse, base_url: &str) -> bool {
    let path = url_path(&response.url, base_url);
    path == crate::TOKEN_PATH || path == crate::JWKS_PATH
}

/// The path of `url` on the server at `base_url`, without query or fragment.
fn url_path<'a>(url: &'a str, base_url: &str) -> &'a str {
    url.strip_prefix(base_url)
        .unwrap_or(url)
        .split(['?', '#'])
        .next()
        .unwrap_or_default()
}

/// Whether the response comes from the authorization endpoint (pages and redirects; its 405
/// is a JSON:API error document and checked as such).
fn is_authorize_path(response: &TestResponse, base_url: &str) -> bool {
    url_path(&response.url, base_url) == crate::AUTHORIZE_PATH
}

/// The rules of the authorization endpoint's answers.
fn page_problems(response: &TestResponse) -> Vec<String> {
    let mut problems = Vec::new();
    let header = |name| response.header(name);
    if header("cache-control") != Some("no-store") {
        problems.push(format!(
            "authorize: Cache-Control is {:?}, expected \"no-store\"",
            header("cache-control")
        ));
    }
    if header("referrer-policy") != Some("same-origin") {
        problems.push("authorize: no Referrer-Policy: same-origin".to_owned());
    }
    if response.status.is_redirection() {
        if header("location").is_none() {
            problems.push("authorize: a redirect without Location".to_owned());
        }
        return problems;
    }
    if header("content-type") != Some("text/html; charset=utf-8") {
        problems.push(format!(
            "authorize: Content-Type is {:?}, expected an HTML page",
            header("content-type")
        ));
    }
    if header("x-frame-options") != Some("DENY") {
        problems.push("authorize: the page may be framed".to_owned());
    }
    let policy = header("content-security-policy").unwrap_or_default();
    if !policy.contains("default-src 'none'") || !policy.contains("frame-ancestors 'none'") {
        problems.push(format!("authorize: content security policy {policy:?}"));
    }
    let html = String::from_utf8_lossy(&response.raw);
    if !html.starts_with("<!doctype html>") || html.contains("<script") {
        problems.push("authorize: not a script-free HTML page".to_owned());
    }
    problems
}

/// The rules of the OAuth answers (RFC 6749 §5): `application/json`, never cached when they
/// carry a token or an error, an object body; errors name a registered `error` code.
fn oauth_problems(response: &TestResponse, document: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    if response.header("content-type") != Some("application/json") {
        problems.push(format!(
            "OAuth: Content-Type is {:?}, expected \"application/json\"",
            response.header("content-type")
        ));
    }
    let Some(body) = document.as_object() else {
        return vec!["OAuth: the body is not a JSON object".to_owned()];
    };
    let token_endpoint = response.url.contains(crate::TOKEN_PATH);
    if token_endpoint && response.header("cache-control") != Some("no-store") {
        problems.push(format!(
            "OAuth: Cache-Control is {:?}, expected \"no-store\"",
            response.header("cache-control")
        ));
    }
    if response.status.is_success() {
        if token_endpoint {
            for member in ["access_token", "token_type", "expires_in"] {
                if !body.contains_key(member) {
                    problems.push(format!("OAuth: a token answer without {member}"));
                }
            }
        } else if !body.get("keys").is_some_and(Value::is_array) {
            problems.push("JWKS: no keys array".to_owned());
        }
    } else {
        const CODES: [&str; 8] = [
            "invalid_request",
            "invalid_client",
            "invalid_grant",
            "unauthorized_client",
            "unsupported_grant_type",
            "invalid_scope",
            "slow_down",
            "temporarily_unavailable",
        ];
        match body.get("error").and_then(Value::as_str) {
            Some(code) if CODES.contains(&code) => {}
            other => problems.push(format!("OAuth: error code {other:?}")),
        }
        if body.contains_key("access_token") {
            problems.push("OAuth: an error answer carries a token".to_owned());
        }
    }
    problems
}

/// The structural rules (checklist B1–B11) the schema does not express.
pub fn structure_problems(document: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(top) = document.as_object() else {
        return vec!["the document is not an object".to_owned()];
    };
    if !["data", "errors", "meta"]
        .iter()
        .any(|m| top.contains_key(*m))
    {
        problems.push("B1: none of data, errors, meta at the top level".to_owned());
    }
    if top.contains_key("data") && top.contains_key("errors") {
        problems.push("B2: data together with errors".to_owned());
    }
    if top.contains_key("included") && !top.contains_key("data") {
        problems.push("B3: included without data".to_owned());
    }
    match top.get("jsonapi").and_then(|j| j.get("version")) {
        Some(Value::String(v)) if v == "1.1" => {}
        other => problems.push(format!(
            "B11: jsonapi.version is {other:?}, expected \"1.1\""
        )),
    }
    let mut seen = HashSet::new();
    let primary: Vec<&Value> = match top.get("data") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(Value::Object(_)) => vec![&top["data"]],
        _ => Vec::new(),
    };
    let included: Vec<&Value> = top
        .get("included")
        .and_then(Value::as_array)
        .map(|items| items.iter().collect())
        .unwrap_or_default();
    for (where_, resource) in primary
        .iter()
        .map(|r| ("data", *r))
        .chain(included.iter().map(|r| ("included", *r)))
    {
        problems.extend(resource_problems(where_, resource));
        if let (Some(ty), Some(id)) = (
            resource.get("type").and_then(Value::as_str),
            resource.get("id").and_then(Value::as_str),
        ) && !seen.insert((ty.to_owned(), id.to_owned()))
        {
            problems.push(format!("B5: {ty}/{id} appears twice in data and included"));
        }
    }
    problems
}

fn resource_problems(where_: &str, resource: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for member in ["type", "id", "lid"] {
        if let Some(value) = resource.get(member)
            && !value.is_string()
        {
            problems.push(format!("B4: {where_}: {member} is not a string: {value}"));
        }
    }
    if !resource.get("type").is_some_and(Value::is_string) {
        problems.push(format!("B4: {where_}: a resource without a string type"));
    }
    let fields = |member: &str| -> Vec<String> {
        resource
            .get(member)
            .and_then(Value::as_object)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let attributes = fields("attributes");
    let relationships = fields("relationships");
    for name in attributes.iter().chain(&relationships) {
        if name == "type" || name == "id" {
            problems.push(format!("B10: {where_}: a field named {name:?}"));
        }
        if !is_member_name(name) {
            problems.push(format!("B9: {where_}: illegal member name {name:?}"));
        }
    }
    for name in &attributes {
        if relationships.contains(name) {
            problems.push(format!(
                "B10: {where_}: {name:?} is both an attribute and a relationship"
            ));
        }
    }
    if let Some(rels) = resource.get("relationships").and_then(Value::as_object) {
        for (name, rel) in rels {
            match rel.get("data") {
                None | Some(Value::Null) => {}
                Some(Value::Object(linkage)) => {
                    problems.extend(linkage_problems(where_, name, linkage))
                }
                Some(Value::Array(items)) => {
                    for item in items {
                        match item.as_object() {
                            Some(linkage) => {
                                problems.extend(linkage_problems(where_, name, linkage))
                            }
                            None => problems
                                .push(format!("{where_}: {name}: linkage item is not an object")),
                        }
                    }
                }
                Some(other) => problems.push(format!("{where_}: {name}: linkage is {other}")),
            }
        }
    }
    problems
}

fn linkage_problems(
    where_: &str,
    name: &str,
    linkage: &serde_json::Map<String, Value>,
) -> Vec<String> {
    ["type", "id"]
        .iter()
        .filter(|m| !linkage.get(**m).is_some_and(Value::is_string))
        .map(|m| format!("B4: {where_}: relationship {name}: linkage {m} is not a string"))
        .collect()
}

/// JSON:API member names: letters, digits, `-`, `_`, space and non-ASCII, not starting or ending
/// with `-`, `_` or space (a leading `@` marks an @-member).
pub fn is_member_name(name: &str) -> bool {
    let name = name.strip_prefix('@').unwrap_or(name);
    let allowed = |c: char| c.is_ascii_alphanumeric() || !c.is_ascii();
    let inner = |c: char| allowed(c) || c == '-' || c == '_' || c == ' ';
    let (Some(first), Some(last)) = (name.chars().next(), name.chars().last()) else {
        return false;
    };
    allowed(first) && allowed(last) && name.chars().all(inner)
}

/// The model's rule for one HTTP status out of several error statuses: group by hundreds, take
/// the highest group; one distinct code in it → that code; a 4xx group holding 409 → 409;
/// otherwise the group's base (400, 500). An error without a status counts as 500.
pub fn combined_status(statuses: &[u16]) -> u16 {
    let Some(group) = statuses.iter().map(|s| s / 100).max() else {
        return 500;
    };
    let mut in_group: Vec<u16> = statuses
        .iter()
        .copied()
        .filter(|s| s / 100 == group)
        .collect();
    in_group.sort_unstable();
    in_group.dedup();
    match in_group.as_slice() {
        [single] => *single,
        codes if group == 4 && codes.contains(&409) => 409,
        _ => group * 100,
    }
}

fn error_problems(document: &Value, http_status: u16) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(errors) = document.get("errors") else {
        if http_status >= 400 {
            problems.push(format!(
                "status {http_status} with a document without errors"
            ));
        }
        return problems;
    };
    let Some(errors) = errors.as_array() else {
        return vec!["errors is not an array".to_owned()];
    };
    if errors.is_empty() {
        problems.push("errors is empty".to_owned());
    }
    if http_status < 400 {
        problems.push(format!(
            "an error document with the success status {http_status}"
        ));
    }
    let mut statuses = Vec::new();
    for (i, error) in errors.iter().enumerate() {
        match error.get("status").and_then(Value::as_str) {
            Some(s) => match s.parse::<u16>() {
                Ok(code) if (400..600).contains(&code) && s.len() == 3 => statuses.push(code),
                _ => problems.push(format!("errors/{i}: status {s:?} is not an error code")),
            },
            None => {
                problems.push(format!("errors/{i}: no string status"));
                statuses.push(500);
            }
        }
        match error.get("title").and_then(Value::as_str) {
            Some(t) if !t.is_empty() => {}
            _ => problems.push(format!("errors/{i}: no title")),
        }
        problems.extend(
            leaks(error)
                .into_iter()
                .map(|text| format!("errors/{i}: internals leak into the message: {text:?}")),
        );
    }
    if !statuses.is_empty() {
        let expected = combined_status(&statuses);
        if expected != http_status {
            problems.push(format!(
                "HTTP status {http_status} but the errors {statuses:?} combine to {expected}"
            ));
        }
    }
    problems
}

/// The texts of an error object (title, detail) that show internals: a panic, a source file,
/// a storage key, partition or table name.
pub(crate) fn leaks(error: &Value) -> Vec<&str> {
    ["title", "detail"]
        .iter()
        .filter_map(|m| error.get(*m).and_then(Value::as_str))
        .filter(|text| {
            let lower = text.to_ascii_lowercase();
            ["panicked", "backtrace", "stack trace", "src/", ".rs:"]
                .iter()
                .chain(STORAGE_NAMES)
                .any(|needle| lower.contains(needle))
        })
        .collect()
}

fn link_problems(document: &Value, base_url: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let resources: Vec<&Value> = match document.get("data") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(data @ Value::Object(_)) => vec![data],
        _ => Vec::new(),
    };
    let included = document.get("included").and_then(Value::as_array);
    for resource in resources.into_iter().chain(included.into_iter().flatten()) {
        // Resource identifier objects (relationship endpoints) carry no fields; skip them.
        if resource.get("attributes").is_none() && resource.get("relationships").is_none() {
            continue;
        }
        let (Some(ty), Some(id)) = (
            resource.get("type").and_then(Value::as_str),
            resource.get("id").and_then(Value::as_str),
        ) else {
            continue;
        };
        let own = format!("{base_url}{PREFIX}/{ty}/{}", encode_segment(id));
        if let Some(links) = resource.get("links") {
            match links.get("self").and_then(link_href) {
                Some(href) if href == own => {}
                other => problems.push(format!(
                    "{ty}/{id}: links.self is {other:?}, expected {own:?}"
                )),
            }
        }
        let Some(rels) = resource.get("relationships").and_then(Value::as_object) else {
            continue;
        };
        for (name, rel) in rels {
            let Some(links) = rel.get("links") else {
                continue;
            };
            let expected_self = format!("{own}/relationships/{name}");
            let expected_related = format!("{own}/{name}");
            match links.get("self").and_then(link_href) {
                Some(href) if href == expected_self => {}
                other => problems.push(format!(
                    "{ty}/{id}: relationship {name}: links.self is {other:?}, expected {expected_self:?}"
                )),
            }
            match links.get("related").and_then(link_href) {
                Some(href) if href == expected_related => {}
                other => problems.push(format!(
                    "{ty}/{id}: relationship {name}: links.related is {other:?}, expected {expected_related:?}"
                )),
            }
        }
    }
    problems
}

/// The URL of a link: a string, or a link object's `href`.
pub fn link_href(link: &Value) -> Option<&str> {
    match link {
        Value::String(s) => Some(s),
        Value::Object(o) => o.get("href").and_then(Value::as_str),
        _ => None,
    }
}

/// Percent-encodes the characters that cannot stand in a path segment.
fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The media type of the atomic extension's documents.
pub const ATOMIC_MT: &str = "application/vnd.api+json; ext=\"https://jsonapi.org/ext/atomic\"";

/// The rules an `atomic:results` document breaks: its members, and each result as a document
/// of its own.
fn atomic_problems(document: &Value, links_base: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(results) = document["atomic:results"].as_array() else {
        return vec!["atomic:results is not an array".to_owned()];
    };
    if let Some(extra) = document
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
        .find(|k| !matches!(k.as_str(), "atomic:results" | "jsonapi" | "meta" | "links"))
    {
        problems.push(format!("atomic: unexpected top-level member {extra}"));
    }
    for (n, result) in results.iter().enumerate() {
        let Some(data) = result.get("data") else {
            if result != &serde_json::json!({}) && result.get("meta").is_none() {
                problems.push(format!(
                    "atomic:results/{n}: neither data nor meta nor empty"
                ));
            }
            continue;
        };
        let alone = serde_json::json!({ "jsonapi": { "version": "1.1" }, "data": data });
        for p in schema_problems(&alone)
            .into_iter()
            .chain(structure_problems(&alone))
            .chain(link_problems(&alone, links_base))
        {
            problems.push(format!("atomic:results/{n}: {p}"));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_combine_as_the_model_says() {
        assert_eq!(combined_status(&[400]), 400);
        assert_eq!(combined_status(&[404, 404]), 404);
        assert_eq!(combined_status(&[400, 403]), 400);
        assert_eq!(combined_status(&[400, 409]), 409);
        assert_eq!(combined_status(&[403, 404, 409]), 409);
        assert_eq!(combined_status(&[400, 500]), 500);
        assert_eq!(combined_status(&[500, 503]), 500);
    }

    #[test]
    fn the_schema_accepts_a_valid_document_and_rejects_data_with_errors() {
        let valid = json!({"jsonapi": {"version": "1.1"}, "data": [{"type": "a", "id": "1", "attributes": {"x": 1}}],
            "links": {"self": "http://h/api/a", "next": null}});
        assert!(
            schema_problems(&valid).is_empty(),
            "{:?}",
            schema_problems(&valid)
        );
        let invalid = json!({"data": null, "errors": [{"status": "400"}]});
        assert!(!schema_problems(&invalid).is_empty());
        let missing_type = json!({"data": {"id": "1"}});
        assert!(!schema_problems(&missing_type).is_empty());
    }

    #[test]
    fn structure_rules_catch_what_the_schema_lets_through() {
        let doc = json!({"jsonapi": {"version": "1.0"}, "data": [
            {"type": "a", "id": "1", "attributes": {"name": 1}, "relationships": {"name": {"data": null}}},
            {"type": "a", "id": "1"}]});
        let problems = structure_problems(&doc);
        assert!(
            problems.iter().any(|p| p.starts_with("B11")),
            "{problems:?}"
        );
        assert!(problems.iter().any(|p| p.starts_with("B5")), "{problems:?}");
        assert!(
            problems.iter().any(|p| p.starts_with("B10")),
            "{problems:?}"
        );
    }

    #[test]
    fn member_names_follow_the_allowed_characters() {
        assert!(is_member_name("createdAt"));
        assert!(is_member_name("line-items_2"));
        assert!(is_member_name("@context"));
        assert!(!is_member_name("a.b"));
        assert!(!is_member_name("_hidden"));
        assert!(!is_member_name(""));
    }
}
