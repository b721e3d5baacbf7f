//! The authorization endpoint (`/oauth2-token/authorize`, RFC 6749 §4.1 with RFC 7636 PKCE),
//! offered when the API has users who can sign in: its answers are HTML pages for a person
//! and redirects back to the client, not JSON.

use jsonapi_engine::auth::AUTHORIZE_PATH;
use serde_json::{Map, Value, json};

use crate::token::{no_store, options};

/// An HTML page of the endpoint, never cached.
fn page(description: &str) -> Value {
    json!({
        "description": description,
        "headers": { "Cache-Control": no_store() },
        "content": { "text/html": { "schema": { "type": "string" } } },
    })
}

/// A redirect to the client's registered redirect URI, never cached.
fn redirect(description: &str) -> Value {
    json!({
        "description": description,
        "headers": {
            "Cache-Control": no_store(),
            "Location": {
                "description": "The client's redirect URI with `code` and `state`, or with `error`, `error_description` and `state` (RFC 6749 §4.1.2).",
                "required": true,
                "schema": { "type": "string" },
            },
        },
    })
}

/// The parameters of an authorization request, in the query of the `GET` and repeated as
/// hidden fields of the sign-in form.
fn request_properties() -> Map<String, Value> {
    let string = |description: &str| json!({ "type": "string", "description": description });
    Map::from_iter([
        (
            "response_type".to_owned(),
            json!({ "type": "string", "enum": ["code"] }),
        ),
        ("client_id".to_owned(), string("The client's id.")),
        (
            "redirect_uri".to_owned(),
            string("One of the client's registered redirect URIs, character for character."),
        ),
        (
            "state".to_owned(),
            string("Returned unchanged with the code or the error."),
        ),
        (
            "code_challenge".to_owned(),
            string(
                "BASE64URL(SHA-256(code_verifier)), 43 characters; required for public clients.",
            ),
        ),
        (
            "code_challenge_method".to_owned(),
            json!({ "type": "string", "enum": ["S256"], "description": "`plain` is refused." }),
        ),
        (
            "scope".to_owned(),
            string("Ignored: roles decide what a token may do."),
        ),
    ])
}

/// The endpoint's path item.
pub(crate) fn paths() -> Map<String, Value> {
    let failures = [
        ("500", "The request could not be served."),
        ("503", "The store is busy; retry later."),
    ];
    let mut get_responses = sign_in_responses();
    let mut post_responses = form_responses();
    for (status, description) in failures {
        get_responses.insert(status.to_owned(), page(description));
        post_responses.insert(status.to_owned(), page(description));
    }
    Map::from_iter([(
        AUTHORIZE_PATH.to_owned(),
        json!({
            "get": sign_in_operation(&get_responses),
            "post": form_operation(&post_responses),
            "options": options("options-authorize"),
        }),
    )])
}

/// `GET`: the page a browser is sent to, its parameters those of the authorization request.
fn sign_in_operation(responses: &Map<String, Value>) -> Value {
    let parameters: Vec<Value> = request_properties()
        .into_iter()
        .map(|(name, schema)| {
            let required = matches!(
                name.as_str(),
                "response_type" | "client_id" | "redirect_uri"
            );
            json!({ "name": name, "in": "query", "required": required, "schema": schema })
        })
        .collect();
    json!({
        "operationId": "authorize",
        "tags": ["authentication"],
        "summary": "Sign in and allow a client (authorization code grant)",
        "description": "The start of the authorization code grant (RFC 6749 §4.1) with PKCE (RFC 7636, S256): a browser is sent here, the person signs in and allows the client, and the browser goes back to the client's redirect URI with a code, which the client exchanges at the token endpoint with its `code_verifier`.",
        "security": [],
        "parameters": parameters,
        "responses": responses,
    })
}

/// `POST`: the sign-in and consent forms the endpoint's own pages send.
fn form_operation(responses: &Map<String, Value>) -> Value {
    let mut form = request_properties();
    form.extend([
        ("step".to_owned(), json!({ "type": "string", "enum": ["sign_in", "consent"] })),
        (
            "csrf".to_owned(),
            json!({ "type": "string", "description": "The form token the page holds; the same as its cookie's." }),
        ),
        ("username".to_owned(), json!({ "type": "string" })),
        ("password".to_owned(), json!({ "type": "string" })),
        (
            "ticket".to_owned(),
            json!({ "type": "string", "description": "The consent page's single-use ticket." }),
        ),
        ("decision".to_owned(), json!({ "type": "string", "enum": ["allow", "deny"] })),
    ]);
    json!({
        "operationId": "authorize-form",
        "tags": ["authentication"],
        "summary": "The sign-in and consent forms",
        "description": "Sent by the endpoint's own pages, with the form token of their cookie.",
        "security": [],
        "requestBody": {
            "required": true,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": { "type": "object", "properties": form, "required": ["step", "csrf"] },
                },
            },
        },
        "responses": responses,
    })
}

/// What `GET` answers but the failures common to both methods.
fn sign_in_responses() -> Map<String, Value> {
    Map::from_iter([
        (
            "200".to_owned(),
            json!({
                "description": "The sign-in page.",
                "headers": {
                    "Cache-Control": no_store(),
                    "Set-Cookie": {
                        "description": "The form token, `HttpOnly; SameSite=Strict`, for this path only.",
                        "required": true,
                        "schema": { "type": "string" },
                    },
                },
                "content": { "text/html": { "schema": { "type": "string" } } },
            }),
        ),
        (
            "302".to_owned(),
            redirect(
                "The request is refused (`invalid_request`, `unauthorized_client`, `unsupported_response_type`), told to the client.",
            ),
        ),
        (
            "400".to_owned(),
            page(
                "The client or the redirect URI is missing, unknown or not registered: told to the person, never redirected.",
            ),
        ),
    ])
}

/// What `POST` answers but the failures common to both methods.
fn form_responses() -> Map<String, Value> {
    Map::from_iter([
        (
            "200".to_owned(),
            page(
                "The consent page after a sign-in, or the sign-in page again with what was wrong.",
            ),
        ),
        (
            "303".to_owned(),
            redirect(
                "The consent's answer: the code (single use, 60 s) and `state`, or `error=access_denied`.",
            ),
        ),
        (
            "400".to_owned(),
            page(
                "The form cannot be read, the consent has expired or was answered, or the request is not usable.",
            ),
        ),
        (
            "403".to_owned(),
            page("The form was not sent from this endpoint's page (no matching form token)."),
        ),
        (
            "429".to_owned(),
            json!({
                "description": "Too many failed sign-ins for this username: the sign-in page again.",
                "headers": {
                    "Cache-Control": no_store(),
                    "Retry-After": { "description": "Seconds to wait.", "required": true, "schema": { "type": "string" } },
                },
                "content": { "text/html": { "schema": { "type": "string" } } },
            }),
        ),
    ])
}
