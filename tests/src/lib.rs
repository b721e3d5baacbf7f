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

use std::fmt;
use std::net::SocketAddr;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{HeaderName, HeaderValue};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use jsonapi_auth::SigningKey;
use jsonapi_local::{DevClient, DynamoOptions, Options, Server};
use tempfile::TempDir;

pub use hyper::{HeaderMap, Method, StatusCode};
pub use serde_json::{Value, json};
pub use shared::{shared_scratch, shared_scratch_dev_client, shared_seeded, unique};

pub mod authorize;
pub mod binary;
pub mod conformance;
pub mod idp;
pub mod openapi;
pub mod plain;
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

/// How long one request may take before the test fails (a hung server must not hang the suite).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------------
// The application under test
// ---------------------------------------------------------------------------------------------

/// A running `jsonapi-local` on a fresh temporary data folder, plus a client for it.
///
/// Dereferences to its [`ApiClient`], so `app.get("/api/products")` works directly.
pub struct TestApp {
    api: ApiClient,
    server: Option<Server>,
    setup: Setup,
    dev_client: Option<Credentials>,
    data_dir: TempDir,
}

/// How the servers of one [`TestApp`] are started (the same at every restart).
#[derive(Clone, Default)]
struct Setup {
    /// The configuration file; `None` = the example domain. Its folder lives as long as the app.
    config: Option<(Arc<TempDir>, PathBuf)>,
    /// A signing key given to the server instead of the one it keeps in its store.
    key: Option<SigningKey>,
    /// How long the server trusts client, user and role states (`None`: its default).
    auth_cache_ttl: Option<Duration>,
    /// `Options::public_url`.
    public_url: Option<String>,
}

/// An API client's id and secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// `client_id`.
    pub id: String,
    /// `client_secret`.
    pub secret: String,
}

impl fmt::Debug for TestApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestApp")
            .field("base_url", &self.api.base_url)
            .field("data_dir", &self.data_dir.path())
            .field("running", &self.server.is_some())
            .finish()
    }
}

impl TestApp {
    /// A server for the example domain on an empty store.
    pub async fn spawn() -> Self {
        Self::spawn_with(false).await
    }

    /// A server for the example domain loaded with the example seed data.
    pub async fn spawn_seeded() -> Self {
        Self::spawn_with(true).await
    }

    async fn spawn_with(seed: bool) -> Self {
        Self::spawn_setup(Setup::default(), seed).await
    }

    /// A server for the API of this configuration file text (written to a temporary file),
    /// loaded with the example seed data when `seed` (which needs the example domain's types).
    /// When the configuration turns the API off there is no token (the token endpoint is off).
    pub async fn spawn_with_config(yaml: &str, seed: bool) -> Self {
        Self::spawn_setup(config_setup(yaml), seed).await
    }

    /// A seeded server for the API of this configuration file text started with `url` as its
    /// public URL (`Options::public_url`, the `--public-url` flag). Its links start with `url`,
    /// so check them through `client().with_links_base(url)`.
    pub async fn spawn_with_public_url(yaml: &str, url: &str) -> Self {
        let setup = Setup {
            public_url: Some(url.to_owned()),
            ..config_setup(yaml)
        };
        Self::spawn_setup(setup, true).await
    }

    /// A server for the example domain that signs (and checks) tokens with `key` instead of a
    /// key of its own, so that a test can sign tokens the server trusts.
    pub async fn spawn_with_signing_key(key: SigningKey, seed: bool) -> Self {
        let setup = Setup {
            key: Some(key),
            ..Setup::default()
        };
        Self::spawn_setup(setup, seed).await
    }

    /// A server for the example domain (with the seed data if `seed`) that trusts the states of
    /// clients, users and roles for `ttl` instead of its default (5 s): a short one so that a
    /// test of what follows a change of them need not wait that long, a long one so that a test
    /// that changes them on the way keeps its caller's access.
    pub async fn spawn_with_auth_cache_ttl(ttl: Duration, seed: bool) -> Self {
        let setup = Setup {
            auth_cache_ttl: Some(ttl),
            ..Setup::default()
        };
        Self::spawn_setup(setup, seed).await
    }

    async fn spawn_setup(setup: Setup, seed: bool) -> Self {
        // Under `JSONAPI_TEST_SHARDS` the example domain is served from a configuration file
        // too, so that its types can be sharded.
        let setup = match (&setup.config, test_shards()) {
            (None, Some(_)) => Setup {
                config: config_setup(EXAMPLE_CONFIG).config,
                ..setup
            },
            _ => setup,
        };
        let data_dir = tempfile::Builder::new()
            .prefix("jsonapi-tests-")
            .tempdir()
            .expect("a temporary data folder");
        let server = start_server(data_dir.path(), seed, &setup).await;
        let (api, dev_client) = authenticated_client(&server).await;
        Self {
            api,
            server: Some(server),
            setup,
            dev_client,
            data_dir,
        }
    }

    /// The development client (role `admin`) the harness's token belongs to; `None` when the
    /// API is off.
    ///
    /// # Panics
    /// When the server made no development client.
    pub fn dev_client(&self) -> &Credentials {
        self.dev_client
            .as_ref()
            .expect("the server made its development client")
    }

    /// The running server (to create or revoke API clients while it runs).
    ///
    /// # Panics
    /// When the server is stopped.
    pub fn server(&self) -> &Server {
        self.server.as_ref().expect("the server is running")
    }

    /// The folder the server keeps its data in.
    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    /// The address the server listens on.
    ///
    /// # Panics
    /// When the server is stopped.
    pub fn addr(&self) -> SocketAddr {
        self.server.as_ref().expect("the server is running").addr()
    }

    /// The client for this server (cheap to clone; for concurrent requests).
    pub fn client(&self) -> ApiClient {
        self.api.clone()
    }

    /// Stops the server gracefully and starts a new one on the same data folder (without seed).
    /// The new server listens on another port; the client follows it.
    pub async fn restart(&mut self) {
        self.restart_with(false).await;
    }

    /// Like [`TestApp::restart`], asking the new server to load the seed data.
    pub async fn restart_with_seed(&mut self) {
        self.restart_with(true).await;
    }

    async fn restart_with(&mut self, seed: bool) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
        let server = start_server(self.data_dir.path(), seed, &self.setup).await;
        // The signing key is kept in the store: the token of the first start stays valid.
        self.api = self.api.rebased(server.base_url());
        self.server = Some(server);
    }

    /// Stops the server, runs `jsonapi-local keys …` on its store as an operator would, and
    /// starts the server again; what the command printed.
    ///
    /// # Panics
    /// When the command fails.
    pub async fn keys_command(&mut self, command: jsonapi_local::KeysCommand) -> String {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
        let printed = jsonapi_local::run_keys_command(
            &options(self.data_dir.path(), false, &self.setup),
            command,
        )
        .await
        .unwrap_or_else(|e| panic!("jsonapi-local keys failed: {e}"));
        self.restart_with(false).await;
        printed
    }

    /// Stops the server gracefully (the data folder is removed when the app is dropped).
    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
    }
}

impl Deref for TestApp {
    type Target = ApiClient;
    fn deref(&self) -> &ApiClient {
        &self.api
    }
}

/// How the server of a data folder is started (the command-line commands open its store alike).
fn options(data: &Path, seed: bool, setup: &Setup) -> Options {
    Options {
        listen: SocketAddr::from(([127, 0, 0, 1], 0)),
        public_url: setup.public_url.clone(),
        data: data.to_path_buf(),
        config: setup.config.as_ref().map(|(_, path)| path.clone()),
        seed,
        dev_client: true,
        dynamodb: dynamodb_backend(data),
        auth_cache_ttl: setup.auth_cache_ttl,
    }
}

async fn start_server(data: &Path, seed: bool, setup: &Setup) -> Server {
    tally::count(if seed {
        "server seeded"
    } else {
        "server empty"
    });
    let options = options(data, seed, setup);
    let key = setup.key.clone();
    // A task of its own rather than a part of the test's future: the seeding sends a hundred
    // requests through the engine, whose unoptimised futures nested inside the test's came
    // near the test thread's 2 MiB stack (a DynamoDB-backed seeding overflowed it).
    let started = tokio::spawn(async move {
        match key {
            Some(key) => Server::start_with_signing_key(options, key).await,
            None => Server::start(options).await,
        }
    })
    .await
    .expect("starting the server does not panic");
    match started {
        Ok(server) => server,
        Err(e) => panic!("jsonapi-local did not start on {}: {e}", data.display()),
    }
}

/// A client for a server just started on a fresh data folder, holding an access token of its
/// development client (none when the API is off), and that client's credentials.
async fn authenticated_client(server: &Server) -> (ApiClient, Option<Credentials>) {
    let api = ApiClient::new(server.base_url());
    let DevClient::Created(client) = server.dev_client() else {
        panic!(
            "a fresh data folder gets a new development client, got {:?}",
            server.dev_client()
        );
    };
    let credentials = Credentials {
        id: client.id.clone(),
        secret: client.secret.expose().to_owned(),
    };
    let response = api
        .token_request(&json!({
            "grant_type": "client_credentials",
            "client_id": credentials.id,
            "client_secret": credentials.secret,
        }))
        .await;
    if response.status == StatusCode::NOT_FOUND {
        // The API is off, the token endpoint with it.
        return (api, Some(credentials));
    }
    response.assert_status(200);
    let token = response.json()["access_token"]
        .as_str()
        .unwrap_or_else(|| panic!("{}\nno access_token", response.describe()))
        .to_owned();
    (api.with_token(Some(&token)), Some(credentials))
}

/// The setup of a server for this configuration file text (written to a temporary file that
/// lives as long as the app).
fn config_setup(yaml: &str) -> Setup {
    let dir = tempfile::Builder::new()
        .prefix("jsonapi-tests-config-")
        .tempdir()
        .expect("a temporary configuration folder");
    let path = dir.path().join("api.yaml");
    let yaml = test_shards().map_or_else(|| yaml.to_owned(), |n| with_shards(yaml, n));
    std::fs::write(&path, yaml).expect("the configuration file is written");
    Setup {
        config: Some((Arc::new(dir), path)),
        ..Setup::default()
    }
}

/// `JSONAPI_TEST_SHARDS=N`: every test server's types are spread over N shards (`shards: N`
/// on each type that sets none), so that the suite checks sharded listings and indexes.
fn test_shards() -> Option<u64> {
    let n = std::env::var("JSONAPI_TEST_SHARDS").ok()?;
    Some(
        n.parse()
            .unwrap_or_else(|_| panic!("JSONAPI_TEST_SHARDS={n:?}: expected a number")),
    )
}

/// A configuration with `shards: n` on every type that sets none. A text that is not a
/// configuration (a startup-error test's) is left as it is.
fn with_shards(yaml: &str, n: u64) -> String {
    use serde_norway::Value as Yaml;
    let Ok(mut doc) = serde_norway::from_str::<Yaml>(yaml) else {
        return yaml.to_owned();
    };
    let Some(types) = doc.get_mut("types").and_then(Yaml::as_mapping_mut) else {
        return yaml.to_owned();
    };
    for (_, ty) in types.iter_mut() {
        if let Some(ty) = ty.as_mapping_mut()
            && !ty.contains_key("shards")
        {
            ty.insert("shards".into(), n.into());
        }
    }
    serde_norway::to_string(&doc).expect("a parsed configuration serialises")
}

/// The example domain's configuration (`infra/api/example.yaml`).
pub const EXAMPLE_CONFIG: &str = include_str!("../../infra/api/example.yaml");

/// The example domain's configuration with `settings` (YAML lines at the indentation of the
/// keys under `api:`, e.g. `"  auth:\n    anonymous: [products]\n"`) added to its `api:`
/// section.
///
/// # Panics
/// When the example configuration has no `api:` section.
pub fn example_config_with(settings: &str) -> String {
    let at = EXAMPLE_CONFIG
        .find("\napi:\n")
        .expect("the example configuration has an api section")
        + "\napi:\n".len();
    format!(
        "{}{settings}{}",
        &EXAMPLE_CONFIG[..at],
        &EXAMPLE_CONFIG[at..]
    )
}

/// The store the servers under test use, from the environment:
/// `JSONAPI_TEST_BACKEND` unset or `embedded` → the embedded store in the data folder;
/// `dynamodb` → DynamoDB at `JSONAPI_DYNAMODB_ENDPOINT` (e.g. DynamoDB Local on loopback), one
/// table per test app, named after its data folder (so a restart finds the same table).
fn dynamodb_backend(data: &Path) -> Option<DynamoOptions> {
    match std::env::var("JSONAPI_TEST_BACKEND").as_deref() {
        Err(_) | Ok("" | "embedded") => None,
        Ok("dynamodb") => {
            let endpoint = std::env::var("JSONAPI_DYNAMODB_ENDPOINT")
                .expect("JSONAPI_DYNAMODB_ENDPOINT names the DynamoDB endpoint");
            let folder = data
                .file_name()
                .and_then(|n| n.to_str())
                .expect("a data folder name");
            let table: String = folder
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' {
                        c
                    } else {
                        '-'
                    }
                })
                .collect();
            Some(DynamoOptions {
                endpoint: Some(endpoint),
                table,
                create_table: true,
            })
        }
        Ok(other) => panic!("JSONAPI_TEST_BACKEND={other:?}: expected embedded or dynamodb"),
    }
}

// ---------------------------------------------------------------------------------------------
// The HTTP client
// ---------------------------------------------------------------------------------------------

/// A small HTTP/1.1 client bound to one server's base URL, sending its bearer token (if any) on
/// every request that sets no `Authorization` of its own. Every response is checked by
/// [`conformance::check`] before it is returned.
#[derive(Clone, Debug)]
pub struct ApiClient {
    base_url: String,
    client: Client<HttpConnector, Full<Bytes>>,
    token: Option<Arc<str>>,
    /// What the server's links start with, when not `base_url` (a server with a public URL).
    links_base: Option<Arc<str>>,
    /// The server's OpenAPI document, fetched on the first request ([`openapi`]).
    openapi: Arc<tokio::sync::OnceCell<Option<Arc<openapi::Document>>>>,
    /// The format the helpers (`get`, `post`, …) speak ([`ApiClient::with_format`]).
    format: plain::Format,
}

impl ApiClient {
    /// A client for `base_url` (`http://127.0.0.1:PORT`, no trailing slash).
    pub fn new(base_url: impl Into<String>) -> Self {
        let mut base_url = base_url.into();
        while base_url.ends_with('/') {
            base_url.pop();
        }
        let client = Client::builder(TokioExecutor::new()).build_http();
        Self {
            base_url,
            client,
            token: None,
            links_base: None,
            openapi: Arc::default(),
            format: plain::Format::JsonApi,
        }
    }

    /// This client speaking `format`: its helpers send that media type in `Accept` (and
    /// `Content-Type`), and turn the JSON:API documents they are given into plain bodies
    /// ([`plain::body_from_json_api`]), so that one case runs in both formats.
    #[must_use]
    pub fn with_format(&self, format: plain::Format) -> Self {
        Self {
            format,
            ..self.clone()
        }
    }

    /// This client for a server whose links start with `url` (its public URL) rather than with
    /// the address the client connects to; the harness checks links against it.
    #[must_use]
    pub fn with_links_base(&self, url: &str) -> Self {
        Self {
            links_base: Some(Arc::from(url)),
            ..self.clone()
        }
    }

    /// The OpenAPI document the server publishes, if it publishes one at
    /// [`openapi::OPENAPI_PATH`].
    async fn openapi(&self) -> Option<Arc<openapi::Document>> {
        let fetch = async {
            let request = hyper::Request::get(self.url(openapi::OPENAPI_PATH))
                .body(Full::new(Bytes::new()))
                .expect("a valid request");
            let response = tokio::time::timeout(REQUEST_TIMEOUT, self.client.request(request))
                .await
                .ok()?
                .ok()?;
            if response.status() != StatusCode::OK {
                return None;
            }
            let body = response.into_body().collect().await.ok()?.to_bytes();
            let doc: Value = serde_json::from_slice(&body).ok()?;
            Some(openapi::Document::shared(doc))
        };
        self.openapi.get_or_init(|| fetch).await.clone()
    }

    /// This client with another bearer token (`None`: requests carry no `Authorization`).
    #[must_use]
    pub fn with_token(&self, token: Option<&str>) -> Self {
        Self {
            token: token.map(Arc::from),
            ..self.clone()
        }
    }

    /// This client without a token.
    #[must_use]
    pub fn anonymous(&self) -> Self {
        self.with_token(None)
    }

    /// The bearer token sent, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// This client (and its token) for another base URL.
    fn rebased(&self, base_url: String) -> Self {
        Self {
            token: self.token.clone(),
            links_base: self.links_base.clone(),
            format: self.format,
            ..Self::new(base_url)
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The absolute URL of `path` (returned unchanged when it is already absolute).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_owned()
        } else {
            format!("{}{path}", self.base_url)
        }
    }

    /// Sends the given headers and body; the only header added is `Authorization: Bearer …`
    /// when the client has a token and `headers` set no `Authorization`.
    ///
    /// # Panics
    /// When the request cannot be sent or times out, or when the response breaks a conformance
    /// rule (see [`conformance::check`]).
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> TestResponse {
        tally::count("request");
        let url = self.url(path);
        let mut builder = hyper::Request::builder().method(method.clone()).uri(&url);
        let bearer = self.token.as_ref().map(|t| format!("Bearer {t}"));
        let mut headers = headers.to_vec();
        if let Some(bearer) = &bearer
            && !headers
                .iter()
                .any(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        {
            headers.push(("Authorization", bearer.as_str()));
        }
        for (name, value) in &headers {
            let name = HeaderName::from_bytes(name.as_bytes()).expect("a valid header name");
            let value = HeaderValue::from_str(value).expect("a valid header value");
            builder = builder.header(name, value);
        }
        let body = Full::new(Bytes::from(body.unwrap_or_default().to_owned()));
        let request = builder.body(body).expect("a valid request");
        let response = tokio::time::timeout(REQUEST_TIMEOUT, async {
            let response = self
                .client
                .request(request)
                .await
                .unwrap_or_else(|e| panic!("{method} {url}: the request failed: {e:?}"));
            let (parts, body) = response.into_parts();
            let raw = body
                .collect()
                .await
                .unwrap_or_else(|e| panic!("{method} {url}: reading the body failed: {e}"))
                .to_bytes();
            (parts, raw)
        })
        .await;
        let Ok((parts, raw)) = response else {
            panic!("{method} {url}: no response within {REQUEST_TIMEOUT:?}");
        };
        // The authorization endpoint's pages, the sandbox page and its scripts and styles are
        // not JSON (conformance checks them).
        let text = parts
            .headers
            .get(hyper::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|t| t.starts_with("text/"));
        let body = if raw.is_empty() || text && conformance::serves_pages(&url, &self.base_url) {
            None
        } else {
            match serde_json::from_slice::<Value>(&raw) {
                Ok(value) => Some(value),
                Err(e) => panic!(
                    "{method} {url} -> {}: the body is not JSON ({e}):\n{}",
                    parts.status,
                    String::from_utf8_lossy(&raw)
                ),
            }
        };
        let response = TestResponse {
            method,
            url,
            status: parts.status,
            headers: parts.headers,
            body,
            raw,
        };
        let links_base = self.links_base.as_deref().unwrap_or(&self.base_url);
        let mut problems = conformance::check(&response, &self.base_url, links_base);
        // An API answer is in the format the request's headers designate (Oro §2.1).
        let served_plain = response.header("content-type") == Some(plain::MEDIA_TYPE);
        let api_path = response.url[self.base_url.len()..].starts_with("/api/")
            && !conformance::is_docs_path(&response.url, &self.base_url);
        if api_path
            && response.body.is_some()
            && served_plain == plain::designates_json_api(&headers)
        {
            problems.push(format!(
                "the answer is {:?}, not in the format the request's headers designate",
                response.header("content-type")
            ));
        }
        if let Some(document) = self.openapi().await {
            let path = response
                .url
                .strip_prefix(&self.base_url)
                .unwrap_or_default();
            let path = path.split(['?', '#']).next().unwrap_or_default();
            problems.extend(document.problems(&response, path));
        }
        if !problems.is_empty() {
            panic!(
                "{}\nthe response breaks {} conformance rule(s):\n  - {}",
                response.describe(),
                problems.len(),
                problems.join("\n  - ")
            );
        }
        response
    }

    /// Sends `request` as it is (bytes no HTTP client would send) on a new connection, half
    /// closes it when `close_write`, and reads the answer until the server closes. Checked like
    /// every response.
    ///
    /// # Panics
    /// When the server cannot be reached, sends no HTTP/1.1 answer within the timeout, or the
    /// answer breaks a conformance rule.
    pub async fn raw(&self, request: Vec<u8>, close_write: bool) -> TestResponse {
        use std::io::{Read as _, Write as _};
        tally::count("request");
        let addr = self
            .base_url
            .strip_prefix("http://")
            .expect("an http base URL")
            .to_owned();
        let received = tokio::task::spawn_blocking(move || {
            let mut stream = std::net::TcpStream::connect(&addr).expect("the server accepts");
            stream.set_read_timeout(Some(REQUEST_TIMEOUT)).ok();
            stream.write_all(&request).expect("the request is sent");
            if close_write {
                stream.shutdown(std::net::Shutdown::Write).ok();
            }
            let mut received = Vec::new();
            stream
                .read_to_end(&mut received)
                .expect("an answer before the timeout");
            received
        })
        .await
        .expect("the raw request ran");
        let end = received
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no HTTP head in {:?}", String::from_utf8_lossy(&received)));
        let head = String::from_utf8_lossy(&received[..end]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|c| c.parse::<u16>().ok())
            .and_then(|c| StatusCode::from_u16(c).ok())
            .unwrap_or_else(|| panic!("no status line in {head:?}"));
        let mut headers = HeaderMap::new();
        for line in lines {
            let (name, value) = line.split_once(':').expect("a header line");
            headers.append(
                HeaderName::from_bytes(name.trim().as_bytes()).expect("a header name"),
                HeaderValue::from_str(value.trim()).expect("a header value"),
            );
        }
        let raw = Bytes::copy_from_slice(&received[end + 4..]);
        let body = (!raw.is_empty()).then(|| {
            serde_json::from_slice(&raw).unwrap_or_else(|e| {
                panic!(
                    "the body is not JSON ({e}): {}",
                    String::from_utf8_lossy(&raw)
                )
            })
        });
        let response = TestResponse {
            method: Method::GET,
            url: self.base_url.clone(),
            status,
            headers,
            body,
            raw,
        };
        let problems = conformance::check(&response, &self.base_url, &self.base_url);
        assert!(
            problems.is_empty(),
            "{}\nthe answer breaks conformance rules:\n  - {}",
            response.describe(),
            problems.join("\n  - ")
        );
        response
    }

    /// The client format's media type (`application/vnd.api+json` unless
    /// [`Self::with_format`] says otherwise).
    fn media(&self) -> &'static str {
        self.format.media_type()
    }

    /// A request document as the client's format sends it: as it is, or (plain) as a plain
    /// body; bodies of another kind (query parameters) are sent as they are.
    fn body_text(&self, path: &str, body: &Value) -> String {
        match self.format {
            plain::Format::Plain if body.get("data").is_some() => {
                plain::body_from_json_api(body, path.contains("/relationships/")).to_string()
            }
            _ => body.to_string(),
        }
    }

    /// `GET` with `Accept: application/vnd.api+json` (the client's format).
    pub async fn get(&self, path: &str) -> TestResponse {
        self.get_with(path, &[]).await
    }

    /// `GET` with `Accept: application/vnd.api+json` (the client's format) and extra headers.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> TestResponse {
        let headers = with_defaults(&[("Accept", self.media())], headers);
        self.request(Method::GET, path, &headers, None).await
    }

    /// `POST` of a JSON document with the JSON:API `Content-Type` and `Accept` (the client's
    /// format).
    pub async fn post(&self, path: &str, body: &Value) -> TestResponse {
        self.post_with(path, body, &[]).await
    }

    /// `POST` with extra headers.
    pub async fn post_with(
        &self,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let headers = with_defaults(
            &[("Accept", self.media()), ("Content-Type", self.media())],
            headers,
        );
        let body = self.body_text(path, body);
        self.request(Method::POST, path, &headers, Some(&body))
            .await
    }

    /// `PATCH` of a JSON document with the JSON:API `Content-Type` and `Accept` (the client's
    /// format).
    pub async fn patch(&self, path: &str, body: &Value) -> TestResponse {
        self.patch_with(path, body, &[]).await
    }

    /// `PATCH` with extra headers.
    pub async fn patch_with(
        &self,
        path: &str,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let headers = with_defaults(
            &[("Accept", self.media()), ("Content-Type", self.media())],
            headers,
        );
        let body = self.body_text(path, body);
        self.request(Method::PATCH, path, &headers, Some(&body))
            .await
    }

    /// `DELETE` with the JSON:API `Accept` (the client's format).
    pub async fn delete(&self, path: &str) -> TestResponse {
        self.request(Method::DELETE, path, &[("Accept", self.media())], None)
            .await
    }

    /// `OPTIONS` with the JSON:API `Accept` (the client's format).
    pub async fn options(&self, path: &str) -> TestResponse {
        self.request(Method::OPTIONS, path, &[("Accept", self.media())], None)
            .await
    }

    /// `HEAD` with the JSON:API `Accept` (the client's format).
    pub async fn head(&self, path: &str) -> TestResponse {
        self.head_with(path, &[]).await
    }

    /// `HEAD` with extra headers.
    pub async fn head_with(&self, path: &str, headers: &[(&str, &str)]) -> TestResponse {
        let headers = with_defaults(&[("Accept", self.media())], headers);
        self.request(Method::HEAD, path, &headers, None).await
    }

    /// `POST /oauth2-token` of `body` as JSON, without a bearer token.
    pub async fn token_request(&self, body: &Value) -> TestResponse {
        let body = body.to_string();
        self.anonymous()
            .request(
                Method::POST,
                TOKEN_PATH,
                &[
                    ("Content-Type", "application/json"),
                    ("Accept", "application/json"),
                ],
                Some(&body),
            )
            .await
    }

    /// An access token for a client (client credentials grant); asserts `200`.
    pub async fn client_token(&self, client: &Credentials) -> String {
        let response = self
            .token_request(&json!({
                "grant_type": "client_credentials",
                "client_id": client.id,
                "client_secret": client.secret,
            }))
            .await;
        response.assert_status(200);
        response.json()["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{}\nno access_token", response.describe()))
            .to_owned()
    }

    /// `POST /api/{ty}` of `{"data": {"type": ty, attributes, relationships}}`; asserts `201` and
    /// returns the created resource object.
    pub async fn create(&self, ty: &str, attributes: Value, relationships: Value) -> Value {
        let response = self
            .post(
                &format!("/api/{ty}"),
                &resource_doc(ty, None, attributes, relationships),
            )
            .await;
        response.assert_status(201);
        response.data().clone()
    }

    /// `GET /api/{ty}/{id}`; asserts `200` and returns the resource object.
    pub async fn fetch(&self, ty: &str, id: &str) -> Value {
        let response = self.get(&format!("/api/{ty}/{id}")).await;
        response.assert_status(200);
        response.data().clone()
    }

    /// Every resource of `ty` (`page[size]=-1`), in the server's default order.
    pub async fn list_all(&self, ty: &str) -> Vec<Value> {
        let response = self.get(&format!("/api/{ty}?page[size]=-1")).await;
        response.assert_status(200);
        response
            .data()
            .as_array()
            .unwrap_or_else(|| panic!("{}\nthe data is not an array", response.describe()))
            .clone()
    }
}

/// `defaults` overridden (by case-insensitive name) by `extra`.
fn with_defaults<'a>(
    defaults: &[(&'a str, &'a str)],
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut headers: Vec<(&str, &str)> = defaults
        .iter()
        .filter(|(name, _)| !extra.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)))
        .copied()
        .collect();
    headers.extend_from_slice(extra);
    headers
}

// ---------------------------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------------------------

/// One response, its body read and parsed.
#[derive(Debug, Clone)]
pub struct TestResponse {
    /// The request's method.
    pub method: Method,
    /// The request's absolute URL.
    pub url: String,
    /// The response status.
    pub status: StatusCode,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body parsed as JSON; `None` when the body is empty.
    pub body: Option<Value>,
    /// The body as received.
    pub raw: Bytes,
}

impl TestResponse {
    /// The first value of header `name` as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The whole document.
    ///
    /// # Panics
    /// When the body is empty.
    pub fn json(&self) -> &Value {
        match &self.body {
            Some(body) => body,
            None => panic!("{}\nexpected a body", self.describe()),
        }
    }

    /// The body as text (an HTML page).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    /// The top-level `data` member.
    ///
    /// # Panics
    /// When the document has no `data`.
    pub fn data(&self) -> &Value {
        match self.json().get("data") {
            Some(data) => data,
            None => panic!("{}\nexpected a top-level data member", self.describe()),
        }
    }

    /// The resource objects of a collection document.
    ///
    /// # Panics
    /// When `data` is not an array.
    pub fn items(&self) -> &[Value] {
        match self.data().as_array() {
            Some(items) => items,
            None => panic!("{}\nexpected data to be an array", self.describe()),
        }
    }

    /// The ids of a collection document's resources, in order.
    pub fn ids(&self) -> Vec<String> {
        self.items()
            .iter()
            .map(|r| values::id_of(r).to_owned())
            .collect()
    }

    /// The top-level `errors` member (empty when absent).
    pub fn errors(&self) -> &[Value] {
        self.body
            .as_ref()
            .and_then(|b| b.get("errors"))
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// Asserts the status code, showing the whole response when it differs.
    ///
    /// # Panics
    /// When the status differs.
    pub fn assert_status(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "{}\nexpected status {status}",
            self.describe()
        );
        self
    }

    /// The methods listed in the `Allow` header, in order.
    ///
    /// # Panics
    /// When there is no `Allow` header.
    pub fn allow(&self) -> Vec<String> {
        let Some(allow) = self.header("allow") else {
            panic!("{}\nexpected an Allow header", self.describe());
        };
        allow
            .split(',')
            .map(|m| m.trim().to_ascii_uppercase())
            .filter(|m| !m.is_empty())
            .collect()
    }

    /// `METHOD URL -> STATUS`, the headers and the body, for failure messages.
    pub fn describe(&self) -> String {
        let mut out = format!("{} {} -> {}\n", self.method, self.url, self.status);
        for (name, value) in &self.headers {
            out.push_str(&format!(
                "{name}: {}\n",
                value.to_str().unwrap_or("<binary>")
            ));
        }
        match &self.body {
            Some(body) => {
                out.push_str(&serde_json::to_string_pretty(body).unwrap_or_default());
            }
            None if self.raw.is_empty() => out.push_str("<empty body>"),
            None => out.push_str(&String::from_utf8_lossy(&self.raw)),
        }
        out
    }
}

// ---------------------------------------------------------------------------------------------
// Error assertions
// ---------------------------------------------------------------------------------------------

/// What an error's `source` member must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source<'a> {
    /// `source.pointer` equal to this.
    Pointer(&'a str),
    /// `source.parameter` equal to this.
    Parameter(&'a str),
    /// `source.header` equal to this.
    Header(&'a str),
    /// No `source` member.
    Absent,
    /// Anything (the source is not part of the contract for this error).
    Any,
}

impl Source<'_> {
    fn matches(self, error: &Value) -> bool {
        let source = error.get("source");
        let member = |name: &str, expected: &str| {
            source.and_then(|s| s.get(name)).and_then(Value::as_str) == Some(expected)
        };
        match self {
            Source::Pointer(p) => member("pointer", p),
            Source::Parameter(p) => member("parameter", p),
            Source::Header(h) => member("header", h),
            Source::Absent => source.is_none(),
            Source::Any => true,
        }
    }
}

/// The error of `response` with this status, title and source, if any.
pub fn find_error<'r>(
    response: &'r TestResponse,
    status: u16,
    title: &str,
    source: Source<'_>,
) -> Option<&'r Value> {
    let status = status.to_string();
    response.errors().iter().find(|e| {
        e.get("status").and_then(Value::as_str) == Some(status.as_str())
            && e.get("title").and_then(Value::as_str) == Some(title)
            && source.matches(e)
    })
}

/// Asserts that `response` lists an error with this status, title and source (whatever the HTTP
/// status); returns it.
///
/// # Panics
/// When no such error is listed.
pub fn assert_has_error<'r>(
    response: &'r TestResponse,
    status: u16,
    title: &str,
    source: Source<'_>,
) -> &'r Value {
    match find_error(response, status, title, source) {
        Some(error) => error,
        None => panic!(
            "{}\nexpected an error {{status: \"{status}\", title: \"{title}\", source: {source:?}}}",
            response.describe()
        ),
    }
}

/// Asserts the HTTP status and that an error with this status, title and source is listed;
/// returns that error.
///
/// # Panics
/// When the status differs or no such error is listed.
pub fn assert_error<'r>(
    response: &'r TestResponse,
    status: u16,
    title: &str,
    source: Source<'_>,
) -> &'r Value {
    response.assert_status(status);
    assert_has_error(response, status, title, source)
}

/// Asserts [`assert_error`] and that the error's `detail` is exactly `detail`.
///
/// # Panics
/// As [`assert_error`], or when the detail differs.
pub fn assert_error_detail<'r>(
    response: &'r TestResponse,
    status: u16,
    title: &str,
    source: Source<'_>,
    detail: &str,
) -> &'r Value {
    let error = assert_error(response, status, title, source);
    assert_eq!(
        error.get("detail").and_then(Value::as_str),
        Some(detail),
        "{}\nexpected the detail {detail:?}",
        response.describe()
    );
    error
}

// ---------------------------------------------------------------------------------------------
// Request documents
// ---------------------------------------------------------------------------------------------

/// `{"data": {"type", "id"?, "attributes", "relationships"?}}`; empty objects are left out.
pub fn resource_doc(ty: &str, id: Option<&str>, attributes: Value, relationships: Value) -> Value {
    let mut data = serde_json::Map::new();
    data.insert("type".to_owned(), json!(ty));
    if let Some(id) = id {
        data.insert("id".to_owned(), json!(id));
    }
    if !is_empty_object(&attributes) {
        data.insert("attributes".to_owned(), attributes);
    }
    if !is_empty_object(&relationships) {
        data.insert("relationships".to_owned(), relationships);
    }
    json!({ "data": data })
}

fn is_empty_object(value: &Value) -> bool {
    value.is_null() || value.as_object().is_some_and(serde_json::Map::is_empty)
}

/// A to-one relationship object: `{"data": {"type", "id"}}`.
pub fn to_one(ty: &str, id: &str) -> Value {
    json!({ "data": { "type": ty, "id": id } })
}

/// A to-many relationship object: `{"data": [{"type", "id"}, …]}`.
pub fn to_many(ty: &str, ids: &[&str]) -> Value {
    let data: Vec<Value> = ids
        .iter()
        .map(|id| json!({ "type": ty, "id": id }))
        .collect();
    json!({ "data": data })
}
