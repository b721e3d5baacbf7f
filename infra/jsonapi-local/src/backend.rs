//! The store the server runs on, picked at start: the embedded store in a data folder, or a
//! DynamoDB table. [`Backend`] is itself a [`Store`], so one engine type, `Engine<Backend>`,
//! serves either and everything in this crate is written once for it.

use jsonapi_auth::SigningKey;
use jsonapi_config::Schema;
use jsonapi_engine::Engine;
use jsonapi_store::{Item, Key, QueryPage, RangeQuery, Store, StoreResult, Write};
use jsonapi_store_redb::RedbStore;

use crate::{Error, Options};

/// One of the stores the server can run on.
#[derive(Debug)]
pub(crate) enum Backend {
    /// redb in the data folder.
    Embedded(RedbStore),
    /// A DynamoDB table (or DynamoDB Local's).
    #[cfg(feature = "dynamodb")]
    Dynamo(jsonapi_store_dynamodb::DynamoStore),
}

/// Whether [`Backend::open`] may make a new store (a data folder, or with `--create-table` a
/// table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opening {
    /// Serving, or adding a client: a new data folder is made.
    MayCreate,
    /// Commands that read or change what is there: a mistyped folder is an error, not a new
    /// empty store.
    Existing,
    /// An import: as `MayCreate`, with a small page cache (it reads little back), so that
    /// its memory stays flat however large the file.
    Import,
}

/// The embedded store's page cache during an import.
const IMPORT_CACHE_BYTES: usize = 64 << 20;

/// The same call on whichever store it is.
macro_rules! on_store {
    ($backend:expr, $store:ident => $call:expr) => {
        match $backend {
            Backend::Embedded($store) => $call,
            #[cfg(feature = "dynamodb")]
            Backend::Dynamo($store) => $call,
        }
    };
}

impl Store for Backend {
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        on_store!(self, s => s.get(key).await)
    }
    async fn batch_get(&self, keys: &[Key]) -> StoreResult<Vec<Item>> {
        on_store!(self, s => s.batch_get(keys).await)
    }
    async fn query(&self, query: &RangeQuery) -> StoreResult<QueryPage> {
        on_store!(self, s => s.query(query).await)
    }
    async fn count(&self, query: &RangeQuery) -> StoreResult<u64> {
        on_store!(self, s => s.count(query).await)
    }
    async fn allocate(&self, key: &Key, n: u64) -> StoreResult<u64> {
        on_store!(self, s => s.allocate(key, n).await)
    }
    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        on_store!(self, s => s.transact(writes).await)
    }
    async fn transact_deferred(&self, writes: Vec<Write>) -> StoreResult<()> {
        on_store!(self, s => s.transact_deferred(writes).await)
    }
    fn max_grouped_writes(&self) -> usize {
        on_store!(self, s => s.max_grouped_writes())
    }
}

impl Backend {
    /// Opens the store the options name: the data folder, or the DynamoDB table.
    async fn open(options: &Options, opening: Opening) -> Result<Self, Error> {
        let Some(d) = &options.dynamodb else {
            return Ok(Self::Embedded(match opening {
                Opening::MayCreate => RedbStore::open(&options.data)?,
                Opening::Existing => RedbStore::open_existing(&options.data)?,
                Opening::Import => RedbStore::open_with_cache(&options.data, IMPORT_CACHE_BYTES)?,
            }));
        };
        #[cfg(not(feature = "dynamodb"))]
        {
            let _ = d;
            Err(Error::NoDynamoDb)
        }
        #[cfg(feature = "dynamodb")]
        {
            use jsonapi_store_dynamodb::{Config, DynamoStore};
            let config = Config {
                endpoint: d.endpoint.clone(),
                table: d.table.clone(),
                region: None,
            };
            Ok(Self::Dynamo(if d.create_table {
                DynamoStore::connect_creating(config).await?
            } else {
                DynamoStore::connect(config).await?
            }))
        }
    }
}

/// How long a write may wait out concurrent writes of the resources it changes before it is
/// answered 503. One process serves every client here and its writers of one resource take
/// turns, so a write that waits is being served: it may wait longer than a Lambda function
/// (10 s timeout) can.
const RETRY_BUDGET: std::time::Duration = std::time::Duration::from_secs(45);

/// The engine serving `schema` (with the example's extensions that fit it) from the store the
/// options name, signing tokens with `key`, else the environment's key (`JWT_PRIVATE_KEY` /
/// `JWT_SECRET`), else the store's.
pub(crate) async fn engine(
    options: &Options,
    opening: Opening,
    schema: Schema,
    key: Option<SigningKey>,
) -> Result<Engine<Backend>, Error> {
    let from_env = jsonapi_engine::auth::signing_key_from_env()?;
    let store = Backend::open(options, opening).await?;
    let mut engine = jsonapi_example::engine(schema, store).with_retry_budget(RETRY_BUDGET);
    if let Some(ttl) = options.auth_cache_ttl {
        engine = engine.with_auth_cache_ttl(ttl);
    }
    Ok(match key.or(from_env) {
        Some(key) => engine.with_signing_key(key),
        None => engine,
    })
}

/// The engine a command of the command line runs on: the configuration the options name, and
/// the environment's signing key.
pub(crate) async fn command_engine(
    options: &Options,
    opening: Opening,
) -> Result<Engine<Backend>, Error> {
    let schema = jsonapi_example::load(options.config.as_deref())?;
    engine(options, opening, schema, None).await
}
