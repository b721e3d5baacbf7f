//! The running server: binds, prepares the store (seed data, the development client), serves
//! HTTP/1.1 until [`Server::stop`], and shuts down gracefully so that the data folder is
//! released.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use jsonapi_auth::{ClientSpec, GrantType, NewClient, Registered, SigningKey};
use jsonapi_engine::Engine;
use jsonapi_openapi::Docs;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::backend::{self, Backend, Opening};
use crate::{Error, Options, clients, control, dev_client, head_errors, http, seed};

/// A running server.
pub struct Server {
    addr: SocketAddr,
    dev_client: DevClient,
    engine: Arc<Engine<Backend>>,
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
    /// See [`Error`].
    pub async fn start(options: Options) -> Result<Self, Error> {
        Self::start_with(options, None).await
    }

    /// [`Server::start`] signing tokens with `key` instead of the environment's
    /// (`JWT_PRIVATE_KEY` / `JWT_SECRET`) or the store's key; tests sign their own tokens so.
    ///
    /// # Errors
    /// See [`Error`].
    pub async fn start_with_signing_key(options: Options, key: SigningKey) -> Result<Self, Error> {
        Self::start_with(options, Some(key)).await
    }

    async fn start_with(options: Options, key: Option<SigningKey>) -> Result<Self, Error> {
        let schema = jsonapi_example::load(options.config.as_deref())?;
        let listen_error = |source| Error::Listen {
            addr: options.listen,
            source,
        };
        let listener = TcpListener::bind(options.listen)
            .await
            .map_err(listen_error)?;
        let addr = listener.local_addr().map_err(listen_error)?;
        let public_url = match (&options.public_url, &schema.api.public_url) {
            (Some(flag), _) => jsonapi_config::public_url(flag)?,
            (None, Some(configured)) => configured.clone(),
            (None, None) => format!("http://{addr}"),
        };
        let engine = backend::engine(&options, Opening::MayCreate, schema, key).await?;
        // A batch written in steps that a stopped process left half-written is rolled back
        // before anyone reads it: all of them on the embedded store (this process's alone),
        // those whose lease is over on a shared table (the others by `recover_later`).
        let pending = engine
            .recover_commits(options.dynamodb.is_none())
            .await
            .map_err(Error::Engine)?;
        let dev_client = prepare(&engine, &options).await?;
        let engine = Arc::new(engine);
        let (stop, stopped) = watch::channel(false);
        // The embedded store is this process's alone: client commands reach it through the
        // server. Without the socket they need the server stopped, as before.
        let control = match options.dynamodb {
            Some(_) => None,
            None => control::listen(&options.data, Arc::clone(&engine), stopped.clone())
                .inspect_err(|e| {
                    tracing::warn!(
                        error = %e,
                        "no control socket in the data folder: `jsonapi-local client` needs this server stopped"
                    );
                })
                .ok(),
        };
        // The batch API's asynchronous operations run beside the server, and resume after a
        // restart; the worker stops with it, between two units of work.
        let mut stopping = stopped.clone();
        let worker = tokio::spawn(Arc::clone(&engine).run_batch_worker(async move {
            let _ = stopping.wait_for(|stopped| *stopped).await;
        }));
        let recovery = tokio::spawn(recover_later(Arc::clone(&engine), pending, stopped.clone()));
        let http = serve(listener, Arc::clone(&engine), public_url.into(), stopped);
        let task = tokio::spawn(async move {
            http.await;
            let _ = worker.await;
            let _ = recovery.await;
            // The store closes when the last engine reference is dropped: the control task's
            // too, before `Server::stop` returns.
            if let Some(control) = control {
                let _ = control.await;
            }
        });
        Ok(Self {
            addr,
            dev_client,
            engine,
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
    /// An invalid name or no grant type, or a store failure.
    pub async fn create_client(
        &self,
        name: &str,
        roles: &[String],
        grants: &[GrantType],
    ) -> Result<NewClient, Error> {
        let clients = clients::client_store(&self.engine).await?;
        Ok(clients.create(name, roles, grants).await?)
    }

    /// Registers an API client of the running server, public or confidential (with redirect
    /// URIs for the authorization code grant).
    ///
    /// # Errors
    /// An invalid name, grant list or redirect URI, or a store failure.
    pub async fn register_client(
        &self,
        spec: &ClientSpec,
        public: bool,
    ) -> Result<Registered, Error> {
        let clients = clients::client_store(&self.engine).await?;
        Ok(clients.register(spec, public).await?)
    }

    /// Revokes an API client of the running server: it gets no more tokens, and the tokens it
    /// holds are refused once the engine's cache of client states expires.
    ///
    /// # Errors
    /// An unknown client, or a store failure.
    pub async fn revoke_client(&self, id: &str) -> Result<(), Error> {
        let clients = clients::client_store(&self.engine).await?;
        Ok(clients.revoke(id).await?)
    }

    /// `http://ADDR`
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets in-flight requests finish, and closes the store.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        // The HTTP and control tasks hold the other references: once they end, the store
        // closes.
        drop(self.engine);
        let _ = self.task.await;
    }
}

/// Seeds the store and makes the development client when asked.
async fn prepare(engine: &Engine<Backend>, options: &Options) -> Result<DevClient, Error> {
    if options.seed {
        seed::load(engine)
            .await
            .map_err(|e| Error::Seed(Box::new(e)))?;
    }
    if !options.dev_client {
        return Ok(DevClient::None);
    }
    let created = dev_client::ensure(engine)
        .await
        .map_err(|e| Error::DevClient(Box::new(e)))?;
    Ok(match created {
        Some(created) => DevClient::Created(created),
        None => dev_client::existing(engine)
            .await
            .map_or(DevClient::None, DevClient::Existing),
    })
}

/// Rolls back the changes of other processes found unfinished at start once their leases are
/// over (`wait` until the first), until the server stops.
async fn recover_later(
    engine: Arc<Engine<Backend>>,
    mut wait: Option<Duration>,
    mut stopped: watch::Receiver<bool>,
) {
    while let Some(pause) = wait {
        tokio::select! {
            _ = stopped.wait_for(|stopped| *stopped) => return,
            () = tokio::time::sleep(pause) => {}
        }
        wait = match engine.recover_commits(false).await {
            Ok(next) => next,
            Err(e) => {
                tracing::warn!(error = ?e, "rolling back an unfinished change failed; trying again");
                Some(Duration::from_secs(1))
            }
        };
    }
}

async fn serve(
    listener: TcpListener,
    engine: Arc<Engine<Backend>>,
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
