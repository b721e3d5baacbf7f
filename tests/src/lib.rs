//! Black-box test harness for the JSON:API served by `jsonapi-local`.
//!
//! A test talks over real HTTP with a small hyper client ([`ApiClient`]) to a server of its own,
//! started on a fresh data folder ([`TestApp::spawn`]), or to one the whole process shares: the
//! seeded one for reads ([`shared_seeded`]), a scratch one for tests that write only resources of
//! their own ([`shared_scratch`]). [`tally`] counts servers and requests. Every server is started
//! with its development client (role `admin`); the harness gets an access token for it once per server
//! (client credentials over HTTP) and the client sends it as `Authorization: Bearer …` on every
//! request that does not set its own `Authorization` ([`ApiClient::with_token`],
//! [`ApiClient::anonymous`] change that). Every response the harness sees is checked
//! before the test gets it ([`conformance`]): the body must be a JSON:API 1.1 document (validated
//! against the vendored 1.1 schema plus the structural rules the schema cannot express), served
//! as `application/vnd.api+json`, with `jsonapi.version` `1.1`; an error document's HTTP status
//! must follow the model's status-combination rule. A violation fails the test with every problem
//! listed. The token endpoint and the JWKS document speak plain JSON (RFC 6749), not JSON:API,
//! and are held to their own rules. A request whose headers do not name JSON:API gets the
//! plain view ([`plain`]), held to that view's rules and to the OpenAPI document's plain
//! schemas; [`ApiClient::with_format`] makes the helpers speak it, so that one case runs in
//! both formats.
//!
//! The harness's own modules: `app` (a server of a test's own: start, restart, stop), `setup`
//! (its configuration and store), `client` (the HTTP client, its helpers and the checks of every
//! response), `response` (a response and its accessors), `errors` (assertions on the errors it
//! lists), `documents` (request documents), `shared` (the servers the tests share).

pub use hyper::{HeaderMap, Method, StatusCode};
pub use serde_json::{Value, json};

pub use app::TestApp;
pub use client::{ApiClient, Credentials};
pub use documents::{resource_doc, to_many, to_one};
pub use errors::{Source, assert_error, assert_error_detail, assert_has_error, find_error};
pub use response::TestResponse;
pub use setup::{EXAMPLE_CONFIG, example_config_with};
pub use shared::{shared_scratch, shared_scratch_dev_client, shared_seeded, unique};

mod app;
pub mod authorize;
pub mod binary;
mod client;
pub mod conformance;
mod documents;
mod errors;
pub mod idp;
pub mod openapi;
pub mod plain;
mod response;
mod setup;
mod shared;
pub mod tally;
pub mod tokens;
pub mod values;

/// The JSON:API media type.
pub const MT: &str = "application/vnd.api+json";

/// The OAuth 2.0 token endpoint (plain JSON, not JSON:API).
pub const TOKEN_PATH: &str = "/oauth2-token";

/// The public keys that check the server's tokens (plain JSON, not JSON:API).
pub const JWKS_PATH: &str = "/.well-known/jwks.json";

/// The authorization endpoint (HTML pages and redirects).
pub const AUTHORIZE_PATH: &str = "/oauth2-token/authorize";
