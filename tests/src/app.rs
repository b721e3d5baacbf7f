//! The application under test: a `jsonapi-local` server of a test's own, on a fresh data folder,
//! started, restarted and stopped.

use std::fmt;
use std::net::SocketAddr;
use std::ops::Deref;
use std::path::Path;
use std::time::Duration;

use hyper::StatusCode;
use jsonapi_auth::SigningKey;
use jsonapi_local::{DevClient, Options, Server};
use serde_json::json;
use tempfile::TempDir;

use crate::client::{ApiClient, Credentials};
use crate::setup::{EXAMPLE_CONFIG, Setup, config_setup, dynamodb_backend, test_shards};
use crate::tally;

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

impl fmt::Debug for TestApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestApp")
            .field("base_url", &self.api.base_url())
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

pub(crate) async fn start_server(data: &Path, seed: bool, setup: &Setup) -> Server {
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
pub(crate) async fn authenticated_client(server: &Server) -> (ApiClient, Option<Credentials>) {
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
