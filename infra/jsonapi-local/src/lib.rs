//! The local shape of the engine: one process serving every route over HTTP/1.1 on the
//! embedded store in a data folder.
//!
//! # Layout
//! - [`Server`]: binds, serves until [`Server::stop`], shuts down gracefully so the data folder
//!   is released.
//! - `http`: the hyper adapter (HTTP request ↔ [`ApiRequest`]/[`jsonapi_engine::ApiResponse`]).
//! - `seed`: the example domain's seed data, loaded once through the API itself.

mod http;
mod seed;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use jsonapi_engine::Engine;
use jsonapi_store::Store;
use jsonapi_store_redb::RedbStore;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How the server is started.
#[derive(Debug, Clone)]
pub struct Options {
    /// Address to listen on (port 0 picks a free port).
    pub listen: SocketAddr,
    /// The data folder of the embedded store.
    pub data: PathBuf,
    /// A configuration file; `None` serves the example domain.
    pub config: Option<PathBuf>,
    /// Load the example seed data (once per data folder).
    pub seed: bool,
    /// Serve from DynamoDB instead of the embedded store in `data`.
    pub dynamodb: Option<DynamoOptions>,
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
    /// The store cannot be opened (data folder, or DynamoDB table).
    #[error("cannot open the store: {0}")]
    Store(#[from] jsonapi_store::StoreError),
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
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

/// How long in-flight requests get to finish when the server stops.
const DRAIN: Duration = Duration::from_secs(10);

impl Server {
    /// Loads the configuration, opens the store, seeds it if asked, and starts serving.
    ///
    /// # Errors
    /// See [`StartError`].
    pub async fn start(options: Options) -> Result<Self, StartError> {
        let schema = match &options.config {
            Some(path) => jsonapi_config::load_file(path)?,
            None => jsonapi_config::example_domain(),
        };
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
        let (stop, stopped) = watch::channel(false);
        let task = match &options.dynamodb {
            None => {
                let engine = Engine::new(schema, RedbStore::open(&options.data)?);
                tokio::spawn(serve(
                    listener,
                    prepare(engine, options.seed).await?,
                    addr,
                    stopped,
                ))
            }
            #[cfg(not(feature = "dynamodb"))]
            Some(_) => return Err(StartError::NoDynamoDb),
            #[cfg(feature = "dynamodb")]
            Some(d) => {
                let config = jsonapi_store_dynamodb::Config {
                    endpoint: d.endpoint.clone(),
                    table: d.table.clone(),
                    region: None,
                };
                let store = jsonapi_store_dynamodb::DynamoStore::connect(config).await?;
                if d.create_table {
                    store.create_table().await?;
                }
                let engine = Engine::new(schema, store);
                tokio::spawn(serve(
                    listener,
                    prepare(engine, options.seed).await?,
                    addr,
                    stopped,
                ))
            }
        };
        Ok(Self { addr, stop, task })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
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

/// Seeds the store when asked.
async fn prepare<S: Store>(engine: Engine<S>, seed: bool) -> Result<Arc<Engine<S>>, StartError> {
    if seed {
        seed::load(&engine).await.map_err(StartError::Seed)?;
    }
    Ok(Arc::new(engine))
}

async fn serve<S: Store>(
    listener: TcpListener,
    engine: Arc<Engine<S>>,
    addr: SocketAddr,
    mut stopped: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let _ = stream.set_nodelay(true);
                let engine = Arc::clone(&engine);
                let service = hyper::service::service_fn(move |req| {
                    let engine = Arc::clone(&engine);
                    async move { Ok::<_, std::convert::Infallible>(http::answer(&engine, addr, req).await) }
                });
                let conn = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service);
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
