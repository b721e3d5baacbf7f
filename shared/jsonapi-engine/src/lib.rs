//! The JSON:API engine: the Oro Web API's behaviour for the resource types of a [`Schema`],
//! over any [`jsonapi_store::Store`].
//!
//! # Layout
//! - [`engine`]: [`Engine`], its entry points (`handle`, `handle_as` a Lambda function's
//!   operation), loading resources.
//! - `routing`: a request resolved once into its route, its [`Operation`] (the one vocabulary,
//!   from `jsonapi-config`) and its query parameters; the route tables the SAM template is
//!   checked against. `dispatch`: the path of a request top-down (token endpoints, the caller
//!   admitted, permissions, negotiation) and the one `match` from operation to action.
//! - `commit`: writing a change set in one transaction (or a dry run), with retries;
//!   `intent`: a synchronous batch too large for one transaction, written in steps that stay
//!   all or nothing (rolled back on failure and after a crash); `membership`: the stamps that let a write condition on who points at a resource;
//!   `turns`: writers that conflicted on one item take turns; `failpoint`: the test-only
//!   failures those paths can be told to inject.
//! - [`request`]: requests, responses, JSON:API content negotiation; [`format`]: which format
//!   a request speaks (JSON:API or the plain view), the one place that decides; `plain`: the
//!   plain view, converted to and from JSON:API documents.
//! - `query`: query parameters (paging…), checked against what an action supports.
//! - `document`: request documents (shape checks with pointers); `render`: response documents.
//! - `actions`: get, get_list, get_subresource, get_relationship, create, update, delete, and
//!   the atomic extension's operations (`POST {prefix}/operations`).
//! - `batch`: the batch API (`PATCH {prefix}/{type}`): its checks, its synchronous mode, and
//!   asynchronous operations (`{prefix}/asyncoperations/{id}`) with their worker.
//! - [`resource`]: a resource and its items in the logical table; [`known_type`]: the type a
//!   resource holds, resolved when the resource is made; [`shards`]: listing and
//!   index partitions spread over shards, and the merged reads of them; `values`: data types,
//!   constraints and order-preserving sort keys; `numbers`: numerals' exact values (no digit
//!   is dropped silently); `periods`: the period a partial date or datetime filter value names.
//! - [`extension`]: the hooks at named stages of the actions (the public API a domain plugs its
//!   own rules in with, [`Engine::with_extension`]); [`extensions`]: the engine's own, enabled
//!   by `api.auth`.
//! - [`auth`]: bearer tokens, role permissions, the token endpoint; `cors`: CORS headers.
//! - `precondition`: strong `ETag`s of stored resources, `If-Match` and `If-None-Match`.
//! - `stored_secret`: keys the engine keeps in its own store.
//! - `storefront`: the storefront headers (`X-Localization-ID`, `X-Currency`, a type's
//!   alternate id header such as `X-Product-ID: sku`).
//! - [`error`]: the one error type, mapped to JSON:API error objects, built from an
//!   [`ErrorKind`] that knows its status and title.
//!
//! The engine knows nothing of HTTP servers, Lambda or AWS: adapters build an [`ApiRequest`]
//! and send back the [`ApiResponse`], both through `edge`, the one conversion from and to
//! `http::Request<Bytes>` / `http::Response<Bytes>` ([`ApiRequest::from_http`]).

mod actions;
pub mod auth;
mod batch;
mod commit;
mod cors;
mod cursor;
mod dispatch;
mod document;
mod edge;
pub mod engine;
pub mod error;
pub mod extension;
pub mod extensions;
mod failpoint;
mod filter;
pub mod format;
mod intent;
pub mod known_type;
mod membership;
mod numbers;
mod periods;
mod plain;
mod plan;
mod precondition;
mod query;
mod render;
pub mod request;
pub mod resource;
mod routing;
pub mod shards;
mod stop;
mod stored_secret;
mod storefront;
mod turns;
mod values;

pub use batch::{
    BATCH_CHUNK_ATTEMPTS, BATCH_CHUNKS_AT_ONCE, BATCH_EXPIRES_AT, BATCH_PARTITION,
    BATCH_RELEASE_PREFIX, BATCH_STALL_AFTER, Claim, Delivery, IMPORT_DELIVERY_PARTITION,
    IMPORTS_PREFIX, ImportFormat, Imported, OPERATIONS_KEY_PREFIX, OperationReport,
    SUMMARY_COUNTERS,
};
pub use commit::SEQUENCE_BLOCK;
pub use cors::apply as apply_cors;
pub use engine::Engine;
pub use error::{ApiError, ApiErrors, ErrorKind};
pub use format::{Format, PLAIN_MEDIA_TYPE};
pub use jsonapi_config::Operation;
pub use jsonapi_config::Schema;
pub use known_type::KnownType;
pub use query::Accepts;
pub use request::{ApiRequest, ApiResponse, MEDIA_TYPE};
pub use routing::{AUTH_ROUTES, DOC_ROUTES, OPERATIONS_ROUTES, PathKind, ROUTES, allowed_methods};
