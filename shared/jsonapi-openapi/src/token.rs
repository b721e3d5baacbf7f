//! The OAuth 2.0 side: the security scheme every API route uses, and the routes outside the
//! prefix that serve it (the engine's `AUTH_ROUTES`): the token endpoint and the JWKS document,
//! which speak plain JSON (RFC 6749), not JSON:API; and the helpers of every OAuth route's
//! description (the authorization endpoint's, `authorize`, too).

use jsonapi_config::Schema;
use jsonapi_engine::auth::{AUTHORIZE_PATH, JWKS_PATH, TOKEN_PATH};
use serde_json::{Map, Value, json};

use crate::schemas::ERRORS;
use crate::values::reference;
use crate::{MEDIA_TYPE, SECURITY_SCHEME};

/// The security schemes: OAuth 2.0 with the grants the API offers.
pub(crate) fn security_schemes(schema: &Schema, base_url: &str) -> Map<String, Value> {
    let token_url = format!("{base_url}{TOKEN_PATH}");
    let mut flows = json!({
        "clientCredentials": { "tokenUrl": token_url, "scopes": {} },
    });
    if schema.api.auth.users.is_some() {
        flows["password"] = json!({ "tokenUrl": token_url, "refreshUrl": token_url, "scopes": {} });
        flows["authorizationCode"] = json!({
            "authorizationUrl": format!("{base_url}{AUTHORIZE_PATH}"),
            "tokenUrl": token_url,
            "refreshUrl": token_url,
            "scopes": {},
        });
    }
    Map::from_iter([(
        SECURITY_SCHEME.to_owned(),
        json!({
            "type": "oauth2",
            "description": format!(
                "Access tokens (JWT, {} s) from `POST {TOKEN_PATH}`: the client credentials grant, or for a user the password grant or the authorization code grant with PKCE (S256; the user signs in at `{AUTHORIZE_PATH}`), both with a rotating refresh token. Tokens are signed by the keys of `{JWKS_PATH}`. Roles in the token decide what a caller may do (VIEW, CREATE, EDIT, DELETE per type).",
                schema.api.auth.access_token_lifetime
            ),
            "flows": flows,
        }),
    )])
}

/// The `Cache-Control` header of every OAuth answer that carries a token, an error or a page.
pub(crate) fn no_store() -> Value {
    json!({ "required": true, "schema": { "const": "no-store" } })
}

/// The `OPTIONS` operation of an OAuth route.
pub(crate) fn options(id: &str) -> Value {
    json!({
        "operationId": id,
        "tags": ["authentication"],
        "summary": "The methods this URL allows",
        "security": [],
        "responses": {
            "200": {
                "description": "The allowed methods.",
                "headers": { "Allow": { "required": true, "schema": { "type": "string" } } },
            },
        },
    })
}

/// The token endpoint and the JWKS document, with their schemas.
pub(crate) fn paths(schema: &Schema, schemas: &mut Map<String, Value>) -> Map<String, Value> {
    token_schemas(schema, schemas);
    Map::from_iter([
        (
            TOKEN_PATH.to_owned(),
            json!({ "post": token_operation(), "options": options("options-token") }),
        ),
        (
            JWKS_PATH.to_owned(),
            json!({ "get": jwks_operation(), "options": options("options-jwks") }),
        ),
    ])
}

/// The token request (the grants the configuration enables), answer and error.
fn token_schemas(schema: &Schema, schemas: &mut Map<String, Value>) {
    let users = schema.api.auth.users.is_some();
    let mut grants = vec!["client_credentials"];
    if users {
        grants.extend(["password", "authorization_code", "refresh_token"]);
    }
    schemas.insert(
        "token.request".into(),
        json!({
            "type": "object",
            "description": "The grant and its parameters; client credentials may come in HTTP Basic instead.",
            "properties": {
                "grant_type": { "type": "string", "enum": grants },
                "client_id": { "type": "string" },
                "client_secret": { "type": "string" },
                "username": { "type": "string" },
                "password": { "type": "string" },
                "refresh_token": { "type": "string" },
                "code": { "type": "string", "description": "The authorization code (single use)." },
                "redirect_uri": { "type": "string", "description": "The redirect URI the code was sent to." },
                "code_verifier": { "type": "string", "description": "The PKCE verifier of the code's challenge." },
                "scope": { "type": "string" },
            },
            "required": ["grant_type"],
        }),
    );
    schemas.insert(
        "token".into(),
        json!({
            "type": "object",
            "properties": {
                "token_type": { "const": "Bearer" },
                "expires_in": { "type": "integer" },
                "access_token": { "type": "string" },
                "refresh_token": { "type": "string" },
            },
            "required": ["token_type", "expires_in", "access_token"],
            "additionalProperties": false,
        }),
    );
    schemas.insert(
        "token.error".into(),
        json!({
            "type": "object",
            "properties": {
                "error": {
                    "type": "string",
                    "enum": ["invalid_request", "invalid_client", "invalid_grant", "unauthorized_client", "unsupported_grant_type", "invalid_scope", "slow_down", "server_error", "temporarily_unavailable"],
                },
                "error_description": { "type": "string" },
            },
            "required": ["error"],
            "additionalProperties": false,
        }),
    );
}

/// `POST` of the token endpoint.
fn token_operation() -> Value {
    let no_store = json!({ "Cache-Control": no_store() });
    let error = |description: &str, extra: Option<(&str, &str)>| {
        let mut headers = no_store.clone();
        if let Some((name, text)) = extra {
            headers[name] =
                json!({ "description": text, "required": true, "schema": { "type": "string" } });
        }
        json!({
            "description": description,
            "headers": headers,
            "content": { "application/json": { "schema": reference("token.error") } },
        })
    };
    let body = reference("token.request");
    json!({
        "operationId": "token",
        "tags": ["authentication"],
        "summary": "Get an access token",
        "description": "RFC 6749: a JSON or form body; client credentials in the body or in HTTP Basic. Failed attempts per client and per username are slowed down (429).",
        "security": [],
        "requestBody": {
            "required": true,
            "content": {
                "application/json": { "schema": body },
                "application/x-www-form-urlencoded": { "schema": body },
            },
        },
        "responses": {
            "200": {
                "description": "The tokens.",
                "headers": no_store,
                "content": { "application/json": { "schema": reference("token") } },
            },
            "400": error("The grant or its parameters are not valid (a code used, expired, or not bound to this client, redirect URI and verifier: `invalid_grant`).", None),
            "401": error("The client is unknown, revoked, or its secret is wrong.", Some(("WWW-Authenticate", "`Basic realm=\"oauth2-token\"`"))),
            "429": error("Too many failures for this client or username.", Some(("Retry-After", "Seconds to wait."))),
            "500": error("The token service cannot work (its signing key is unavailable).", None),
        },
    })
}

/// `GET` of the JWKS document.
fn jwks_operation() -> Value {
    json!({
        "operationId": "jwks",
        "tags": ["authentication"],
        "summary": "The keys that check access tokens",
        "security": [],
        "responses": {
            "200": {
                "description": "The public keys (none with an HS256 secret).",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": { "keys": { "type": "array", "items": { "type": "object" } } },
                            "required": ["keys"],
                        },
                    },
                },
            },
            "503": {
                "description": "The store is busy; retry later.",
                "content": { MEDIA_TYPE: { "schema": reference(ERRORS) } },
            },
        },
    })
}
