//! The batch API (`PATCH /{type}`, the model's update_list): many resource objects of one type
//! in one request, with their `included` items.
//!
//! - `request`: what every batch is checked for before anything is written (the `X-Mode`
//!   header, the document's shape, the endpoint's type, the caller's permissions, limits).
//! - `sync`: `X-Mode: sync`, every item written in request order as one all-or-nothing change,
//!   answered with every primary resource; `degrade`: such a batch not done within its wait
//!   answered 202, going on as an operation.
//! - The asynchronous mode (the default): `submit` stores the request as an operation in
//!   chunks of whole `units` (items linked to each other), then `release` stores the
//!   operation's record with what releases the chunks, and it answers 202; `worker` applies
//!   them chunk by chunk, a module per phase (in this process, or in the cloud's
//!   `batch-worker` function, which the table's stream hands each chunk's release);
//!   `operation` is the operation's record and resource, `reads` the routes that show it and
//!   its errors, `layout` where it all lives in the store, `body` a chunk's body too large for
//!   one stored item.
//! - Imports (a file of any size, from the command line or an S3 object): `stream` reads it
//!   item by item, `import` checks the items and stores them as an asynchronous operation in
//!   the same chunks; `delivery` makes an import an event delivers (at least once) happen
//!   once, and records one refused as a failed operation.

mod body;
mod degrade;
mod delivery;
mod import;
mod layout;
mod operation;
pub(crate) mod reads;
mod release;
mod request;
mod stream;
mod submit;
mod sync;
mod units;
mod worker;

pub use delivery::{Claim, Delivery, IMPORTS_PREFIX};
pub use import::Imported;
pub use layout::{
    DELIVERY_PARTITION as IMPORT_DELIVERY_PARTITION, EXPIRES_AT as BATCH_EXPIRES_AT,
    OPERATIONS_KEY_PREFIX, PARTITION as BATCH_PARTITION, RELEASE_PREFIX as BATCH_RELEASE_PREFIX,
};
pub use operation::COUNTERS as SUMMARY_COUNTERS;
pub use reads::OperationReport;
pub use release::STALL_AFTER as BATCH_STALL_AFTER;
pub use stream::ImportFormat;
pub use worker::{CHUNK_ATTEMPTS as BATCH_CHUNK_ATTEMPTS, CHUNKS_AT_ONCE as BATCH_CHUNKS_AT_ONCE};

use std::sync::Arc;

use jsonapi_config::ResourceType;
use jsonapi_store::Store;

use crate::engine::{Ctx, Engine};
use crate::error::ApiResult;
use crate::query::{self, Accepts};
use crate::request::{ApiRequest, ApiResponse};
use jsonapi_config::Operation;

pub(crate) use request::Mode;

impl<S: Store> Engine<S> {
    /// `PATCH /{type}`: checks the whole request, then runs it in the mode asked for.
    pub(crate) async fn update_list(
        &self,
        ctx: &Ctx,
        ty: &Arc<ResourceType>,
        req: &ApiRequest,
    ) -> ApiResult<ApiResponse> {
        let mode = Mode::of(&req.headers)?;
        // The synchronous answer is shaped as a create's (`fields`, `include`, `meta`).
        let q = query::parse(
            &self.schema,
            ty,
            ctx.query.clone(),
            Accepts::of(Operation::Create, false),
        )?;
        let batch = self.check_batch(ctx, ty, &req.body, mode)?;
        match mode {
            Mode::Sync => self.run_sync(ctx, ty, &q, &req.body, &batch).await,
            Mode::Async => self.start_async(ctx, ty, &req.body, &batch).await,
        }
    }
}
