//! The local shape of the engine: one process serving every route over HTTP/1.1 on the
//! embedded store in a data folder (or on a DynamoDB table).
//!
//! # Layout
//! - [`Server`] (`server`): binds, prepares the store, serves until [`Server::stop`], shuts
//!   down gracefully so the data folder is released.
//! - `backend`: the store picked at start (`Backend`: the data folder or a DynamoDB table, itself
//!   a store) and the engine over it, with the example's extensions that fit the configuration
//!   (crate `jsonapi-example`, which also loads "the configuration file or the example").
//! - `http`: the hyper adapter (the body read, bounded; the engine's one HTTP conversion).
//! - `head_errors`: hyper's own answers to unreadable request heads (400, 414, 431) sent as
//!   JSON:API error documents.
//! - `seed`: the example domain's seed data, loaded once through the API itself; `dev_client`:
//!   the development API client, made once per data folder; `roles`: the `admin` role they
//!   need; `system`: requests the process makes as itself; `markers`: what is done once per
//!   store.
//! - [`commands`](run_client_command): where `jsonapi-local client …` and `keys …` run;
//!   [`clients`](ClientCommand): `client add | list | revoke`; [`keys`](KeysCommand):
//!   `keys rotate | list`; `control`: the control socket in the data folder, through which
//!   client commands reach a running server's embedded store.
//! - [`import`](run_import): `import FILE --type T [--sync]`, a file streamed into the batch
//!   pipeline (through a running server's control socket when one holds the data folder).
//! - [`inspect`]: `check`, `dump`, `config-dump` and `openapi` on a configuration file.
//! - [`Error`]: the crate's one error type.
//!
//! The API's documentation (`{prefix}/doc`, crate `jsonapi-openapi`) is answered before the
//! engine is asked.

mod backend;
mod clients;
mod commands;
mod control;
mod dev_client;
mod error;
mod head_errors;
mod http;
mod import;
pub mod inspect;
mod keys;
mod markers;
mod roles;
mod seed;
mod server;
mod system;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use clients::ClientCommand;
pub use commands::{run_client_command, run_keys_command};
pub use error::Error;
pub use import::{ImportCommand, run_import};
pub use keys::KeysCommand;
pub use server::{DevClient, Server};

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
