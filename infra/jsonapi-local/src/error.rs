//! The local crate's one error type: why the server could not start, or why a command failed,
//! each in one sentence (the binary prints it after `jsonapi-local: `, on one line).

use std::net::SocketAddr;
use std::path::PathBuf;

use http::StatusCode;
use jsonapi_engine::ApiErrors;

/// Why the server could not start or a command failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
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
    /// `--public-url` is not an absolute http(s) URL (the configuration's check says why).
    #[error("--public-url {0}")]
    PublicUrl(#[from] jsonapi_config::InvalidUrl),
    /// `JWT_PRIVATE_KEY` or `JWT_SECRET` holds no usable key.
    #[error("the signing key in the environment is unusable: {0}")]
    SigningKey(#[from] jsonapi_auth::KeyError),
    /// The store failed.
    #[error("{0}")]
    Store(#[from] jsonapi_store::StoreError),
    /// The engine refused to hand out its API clients (its error document).
    #[error("{}", .0.to_document())]
    Engine(ApiErrors),
    /// An API client could not be made or listed (an invalid name or grant list, a store
    /// failure).
    #[error("{0}")]
    Client(#[from] jsonapi_auth::clients::ClientError),
    /// An API client could not be revoked.
    #[error("cannot revoke {id}: {source}")]
    Revoke {
        /// The client id.
        id: String,
        /// Why.
        source: jsonapi_auth::clients::ClientError,
    },
    /// A request the process made as itself was refused.
    #[error("{what} ({status}): {body}")]
    Refused {
        /// What the request was for (`creating products failed`).
        what: String,
        /// The answer's status.
        status: StatusCode,
        /// The answer's document.
        body: String,
    },
    /// The signing keys could not be rotated or listed.
    #[error("{0}")]
    Keys(#[from] jsonapi_engine::auth::KeysError),
    /// The running server that ran a command through the control socket answered that it
    /// failed (its sentence: the error itself stayed in that process).
    #[error("{0}")]
    Remote(String),
    /// The running server holding a data folder did not answer a command.
    #[error("the server holding {} did not answer the command: {reason}", .data.display())]
    Control {
        /// The data folder.
        data: PathBuf,
        /// Why (the socket failed, or the answer was not one).
        reason: String,
    },
    /// An import file cannot be read.
    #[error("cannot read {}: {source}", .path.display())]
    ImportFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An import was refused (its first errors, one a line).
    #[error("the import was refused:\n{0}")]
    ImportRefused(String),
    /// An import's operation ended `failed` (its summary and first errors).
    #[error("the import failed:\n{0}")]
    ImportFailed(String),
    /// The seed data could not be loaded.
    #[error("cannot load the seed data: {0}")]
    Seed(Box<Error>),
    /// The development client could not be made.
    #[error("cannot make the development client: {0}")]
    DevClient(Box<Error>),
}
