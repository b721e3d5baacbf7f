//! The local shape of the engine: one process serving every route over HTTP/1.1 on the
//! embedded store in a data folder.
//!
//! # Layout
//! - [`Server`]: binds, serves until [`Server::stop`], shuts down gracefully so the data folder
//!   is released.
//! - `http`: the hyper adapter (HTTP request ↔ [`ApiRequest`]/[`jsonapi_engine::ApiResponse`]).
//! - `head_errors`: hyper's own answers to unreadable request heads (400, 414, 431) sent as
//!   JSON:API error documents.
//! - `seed`: the example domain's seed data, loaded once through the API itself.
//! - `dev_client`: the development API client, made once per data folder.
//! - [`clients`](ClientCommand): `jsonapi-local client add | list | revoke`.
//! - `control`: the control socket in the data folder, through which those commands reach a
//!   running server's embedded store.
//! - [`keys`](KeysCommand): `jsonapi-local keys rotate | list` (on a stopped server's data
//!   folder, or a table).
//! - [`inspect`]: `check`, `dump`, `config-dump` and `openapi` on a configuration file.
//!
//! The API's documentation (`{prefix}/doc`, crate `jsonapi-openapi`) is answered before the
//! engine is asked.

mod clients;
mod control;
mod dev_client;
mod head_errors;
mod http;
pub mod inspect;
mod keys;
mod seed;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

pub use clients::{ClientCommand, run_client_command};
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use jsonapi_auth::{ClientSpec, GrantType, NewClient, Registered, SigningKey};
use jsonapi_engine::Engine;
use jsonapi_engine::extension::BoxFuture;
use jsonapi_openapi::Docs;
use jsonapi_store::Store;
use jsonapi_store_redb::RedbStore;
pub use keys::{KeysCommand, run_keys_command};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How the server is started.
#[derive(Debug, Clone)]
pub struct Options {
    /// Address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// The URL clients reach the server at, which every link starts with (`--public-url`);
    /// `None` = the configuration's `api.publicUrl`, else `http://` and the bound address.
    /// Never the request's `Host`, which the client chooses.
    pub public_url: Option<String>,
    /// The data folder of the embedded store.
    pub data: PathBuf,
    /// A configuration file; `None` serves the example domain.
    pub config: Option<PathBuf>,
    /// Load the example seed data (once per data folder).
    pub seed: bool,
    /// Make the development API client (holding the `admin` role) unless the data folder has
    /// one; see [`Server::dev_client`].
    pub dev_client: bool,
    /// Serve from DynamoDB instead of the embedded store in `data`.
    pub dynamodb: Option<DynamoOptions>,
    /// How long client, user and role states are trusted before being read again; `None` =
    /// the engine's default ([`jsonapi_engine::auth::CACHE_TTL`]). Tests shorten it.
    pub auth_cache_ttl: Option<Duration>,
}

/// Where the DynamoDB backend's table is.
#[derive(Debug, Clone)]
pub struct DynamoOptions {
    /// An endpoint such as DynamoDB Local's `http://127.0.0.1:8000`; `None` = AWS.
    pub endpoint: Option<String>,
    /// The table.
    pub table: String,
    /// Create the table first when it does not exist.
    pub create_table: bool,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration file is unusable (the message names file, line and key).
    #[error("{0}")]
    Config(#[from] jsonapi_config::ConfigError),
    /// The data folder cannot be opened (in use by another process, missing, unusable).
    #[error("{0}")]
    DataFolder(#[from] jsonapi_store_redb::OpenError),
    /// The DynamoDB table cannot be used (no region or credentials, unreachable, refused,
    /// missing).
    #[cfg(feature = "dynamodb")]
    #[error("{0}{hint}", hint = if matches!(.0, jsonapi_store_dynamodb::ConnectError::NoTable { .. }) {
        " (add --create-table to create it)"
    } else {
        ""
    })]
    Table(#[from] jsonapi_store_dynamodb::ConnectError),
    /// `--store dynamodb` in a build without the DynamoDB backend.
    #[error("this build has no DynamoDB backend; build with the \"dynamodb\" feature")]
    NoDynamoDb,
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The seed data could not be loaded.
    #[error("cannot load the seed data: {0}")]
    Seed(String),
    /// The development client could not be made.
    #[error("cannot make the development client: {0}")]
    DevClient(String),
    /// A client or keys command failed.
    #[error("{0}")]
    Client(String),
    /// `--public-url` is not an absolute http(s) URL.
    #[error("--public-url {0}")]
    PublicUrl(String),
    /// `JWT_PRIVATE_KEY` or `JWT_SECRET` holds no usable key.
    #[error("the signing key in the environment is unusable: {0}")]
    SigningKey(#[from] jsonapi_auth::KeyError),
}

/// A running server.
pub struct Server {
    addr: SocketAddr,
    dev_client: DevClient,
    clients: Arc<dyn Clients>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .field("dev_client", &self.dev_client)
            .finish_non_exhaustive()
    }
}

/// The running engine's API clients, whatever its store (the `client` commands need the
/// embedded store free; tests create and revoke clients of a running server through this).
trait Clients: Send + Sync {
    fn create<'a>(
        &'a self,
        name: &'a str,
        roles: &'a [String],
        grants: &'a [GrantType],
    ) -> BoxFuture<'a, Result<NewClient, String>>;
    fn register<'a>(
        &'a self,
        spec: &'a ClientSpec,
        public: bool,
    ) -> BoxFuture<'a, Result<Registered, String>>;
    fn revoke<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), String>>;
}

impl<S: Store> Clients for Engine<S> {
    fn create<'a>(
        &'a self,
        name: &'a str,
        roles: &'a [String],
        grants: &'a [GrantType],
    ) -> BoxFuture<'a, Result<NewClient, String>> {
        Box::pin(async move {
            clients::client_store(self)
                .await?
                .create(name, roles, grants)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn register<'a>(
        &'a self,
        spec: &'a ClientSpec,
        public: bool,
    ) -> BoxFuture<'a, Result<Registered, String>> {
        Box::pin(async move {
            clients::client_store(self)
                .await?
                .register(spec, public)
                .await
                .map_err(|e| e.to_string())
        })
    }

    fn revoke<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            clients::client_store(self)
                .await?
                .revoke(id)
                .await
                .map_err(|e| e.to_string())
        })
    }
}

/// The development client of a data folder.
#[derive(Debug, Clone, Default)]
pub enum DevClient {
    /// Not asked for.
    #[default]
    None,
    /// Made at this start: the only time its secret is known.
    Created(NewClient),
    /// Made at an earlier start (its id).
    Existing(String),
}

/// How long in-flight requests get to finish when the server stops.
const DRAIN: Duration = Duration::from_secs(10);

impl Server {
    /// Loads the configuration, opens the store, seeds it if asked, and starts serving.
    ///
    /// # Errors
    /// See [`StartError`].
    pub async fn start(options: Options) -> Result<Self, StartError> {
        Self::start_with(options, None).await
    }

    /// [`Server::start`] signing tokens with `key` instead of the environment's
    /// (`JWT_PRIVATE_KEY` / `JWT_SECRET`) or the store's key; tests sign their own tokens so.
    ///
    /// # Errors
    /// See [`StartError`].
    pub async fn start_with_signing_key(
        options: Options,
        key: SigningKey,
    ) -> Result<Self, StartError> {
        Self::start_with(options, Some(key)).await
    }

    async fn start_with(options: Options, key: Option<SigningKey>) -> Result<Self, StartError> {
        let schema = jsonapi_example::load(options.config.as_deref())?;
        let listener =
            TcpListener::bind(options.listen)
                .await
                .map_err(|source| StartError::Listen {
                    addr: options.listen,
                    source,
                })?;
        let addr = listener.local_addr().map_err(|source| StartError::Listen {
            addr: options.listen,
            source,
        })?;
        let public_url = match (&options.public_url, &schema.api.public_url) {
            (Some(flag), _) => jsonapi_config::public_url(flag).map_err(StartError::PublicUrl)?,
            (None, Some(configured)) => configured.clone(),
            (None, None) => format!("http://{addr}"),
        };
        let (stop, stopped) = watch::channel(false);
        let (task, dev_client, clients) = open(
            &options,
            Opening::MayCreate,
            schema,
            Start {
                listener,
                public_url,
                stopped,
                options: &options,
                key,
            },
        )
        .await??;
        Ok(Self {
            addr,
            dev_client,
            clients,
            stop,
            task,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The development client, when [`Options::dev_client`] asked for it.
    pub fn dev_client(&self) -> &DevClient {
        &self.dev_client
    }

    /// Creates an API client of the running server (its secret is in the answer only).
    ///
    /// # Errors
    /// An invalid name or no grant type, or a store failure (as text).
    pub async fn create_client(
        &self,
        name: &str,
        roles: &[String],
        grants: &[GrantType],
    ) -> Result<NewClient, String> {
        self.clients.create(name, roles, grants).await
    }

    /// Registers an API client of the running server, public or confidential (with redirect
    /// URIs for the authorization code grant).
    ///
    /// # Errors
    /// An invalid name, grant list or redirect URI, or a store failure (as text).
    pub async fn register_client(
        &self,
        spec: &ClientSpec,
        public: bool,
    ) -> Result<Registered, String> {
        self.clients.register(spec, public).await
    }

    /// Revokes an API client of the running server: it gets no more tokens, and the tokens it
    /// holds are refused once the engine's cache of client states expires.
    ///
    /// # Errors
    /// An unknown client, or a store failure (as text).
    pub async fn revoke_client(&self, id: &str) -> Result<(), String> {
        self.clients.revoke(id).await
    }

    /// `http://ADDR`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets in-flight requests finish, and closes the store.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Work to do with an engine over the store the options name, whatever its type.
pub(crate) trait WithEngine {
    /// What the work gives.
    type Output;
    /// Does it.
    async fn run<S: Store>(self, engine: Engine<S>) -> Self::Output;
}

/// Runs a command of the command line on the store the options name; returns what to print.
pub(crate) async fn run_command<W: WithEngine<Output = Result<String, String>>>(
    options: &Options,
    opening: Opening,
    command: W,
) -> Result<String, StartError> {
    let schema = jsonapi_example::load(options.config.as_deref())?;
    open(options, opening, schema, command)
        .await?
        .map_err(StartError::Client)
}

/// Whether [`open`] may make a new store (a data folder, or with `--create-table` a table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opening {
    /// Serving, or adding a client: a new data folder is made.
    MayCreate,
    /// Commands that read or change what is there: a mistyped folder is an error, not a new
    /// empty store.
    Existing,
}

/// Opens the store the options name (the data folder, or a DynamoDB table), builds the engine
/// for `schema` with the environment's signing key, and hands it to `work`.
pub(crate) async fn open<W: WithEngine>(
    options: &Options,
    opening: Opening,
    schema: jsonapi_config::Schema,
    work: W,
) -> Result<W::Output, StartError> {
    let key = jsonapi_engine::auth::signing_key_from_env()?;
    match &options.dynamodb {
        None => {
            let store = match opening {
                Opening::MayCreate => RedbStore::open(&options.data)?,
                Opening::Existing => RedbStore::open_existing(&options.data)?,
            };
            Ok(work
                .run(configured(
                    jsonapi_example::engine(schema, store),
                    options,
                    key,
                ))
                .await)
        }
        #[cfg(not(feature = "dynamodb"))]
        Some(_) => Err(StartError::NoDynamoDb),
        #[cfg(feature = "dynamodb")]
        Some(d) => {
            let config = jsonapi_store_dynamodb::Config {
                endpoint: d.endpoint.clone(),
                table: d.table.clone(),
                region: None,
            };
            let store = if d.create_table {
                jsonapi_store_dynamodb::DynamoStore::connect_creating(config).await?
            } else {
                jsonapi_store_dynamodb::DynamoStore::connect(config).await?
            };
            let engine = jsonapi_example::engine(schema, store);
            Ok(work.run(configured(engine, options, key)).await)
        }
    }
}

/// The engine with what the options and the environment ask for.
fn configured<S: Store>(
    engine: Engine<S>,
    options: &Options,
    key: Option<SigningKey>,
) -> Engine<S> {
    let engine = match options.auth_cache_ttl {
        Some(ttl) => engine.with_auth_cache_ttl(ttl),
        None => engine,
    };
    keyed(engine, key)
}

/// How long a write may wait out concurrent writes of the resources it changes before it is
/// answered 503. One process serves every client here and its writers of one resource take
/// turns, so a write that waits is being served: it may wait longer than a Lambda function
/// (10 s timeout) can.
const RETRY_BUDGET: std::time::Duration = std::time::Duration::from_secs(45);

fn keyed<S: Store>(engine: Engine<S>, key: Option<jsonapi_auth::SigningKey>) -> Engine<S> {
    let engine = engine.with_retry_budget(RETRY_BUDGET);
    match key {
        Some(key) => engine.with_signing_key(key),
        None => engine,
    }
}

/// Starting the server: prepare the engine, then serve it.
struct Start<'a> {
    listener: TcpListener,
    /// What links start with.
    public_url: String,
    stopped: watch::Receiver<bool>,
    options: &'a Options,
    /// A signing key that replaces the environment's.
    key: Option<SigningKey>,
}

impl WithEngine for Start<'_> {
    type Output = Result<(JoinHandle<()>, DevClient, Arc<dyn Clients>), StartError>;

    async fn run<S: Store>(self, engine: Engine<S>) -> Self::Output {
        let (engine, client) = prepare(keyed(engine, self.key), self.options).await?;
        let clients = Arc::clone(&engine) as Arc<dyn Clients>;
        // The embedded store is this process's alone: client commands reach it through the
        // server. Without the socket they need the server stopped, as before.
        let control = match self.options.dynamodb {
            Some(_) => None,
            None => control::listen(&self.options.data, Arc::clone(&engine), self.stopped.clone())
                .inspect_err(|e| {
                    tracing::warn!(
                        error = %e,
                        "no control socket in the data folder: `jsonapi-local client` needs this server stopped"
                    );
                })
                .ok(),
        };
        let http = serve(self.listener, engine, self.public_url.into(), self.stopped);
        Ok((
            tokio::spawn(async move {
                http.await;
                // The store closes when the last engine reference is dropped: the control
                // task's too, before `Server::stop` returns.
                if let Some(control) = control {
                    let _ = control.await;
                }
            }),
            client,
            clients,
        ))
    }
}

/// Seeds the store and makes the development client when asked.
async fn prepare<S: Store>(
    engine: Engine<S>,
    options: &Options,
) -> Result<(Arc<Engine<S>>, DevClient), StartError> {
    if options.seed {
        seed::load(&engine).await.map_err(StartError::Seed)?;
    }
    let client = if options.dev_client {
        match dev_client::ensure(&engine)
            .await
            .map_err(StartError::DevClient)?
        {
            Some(created) => DevClient::Created(created),
            None => dev_client::existing(&engine)
                .await
                .map_or(DevClient::None, DevClient::Existing),
        }
    } else {
        DevClient::None
    };
    Ok((Arc::new(engine), client))
}

async fn serve<S: Store>(
    listener: TcpListener,
    engine: Arc<Engine<S>>,
    public_url: Arc<str>,
    mut stopped: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let docs = Arc::new(Docs::new(engine.schema()));
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let engine = Arc::clone(&engine);
                let public_url = Arc::clone(&public_url);
                let docs = Arc::clone(&docs);
                let service = hyper::service::service_fn(move |req| {
                    let engine = Arc::clone(&engine);
                    let public_url = Arc::clone(&public_url);
                    let docs = Arc::clone(&docs);
                    async move { Ok::<_, std::convert::Infallible>(http::answer(&engine, &docs, &public_url, req).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .max_buf_size(head_errors::MAX_HEAD_BYTES)
                    .max_headers(head_errors::MAX_HEADERS)
                    .serve_connection(TokioIo::new(head_errors::Documented::new(stream)), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    let _ = conn.await;
                });
            }
            _ = stopped.changed() => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections did not finish within {DRAIN:?}");
    }
}
