//! The cloud backend: the storage port on one DynamoDB table.
//!
//! Items are stored as they are: the key in the table's `pk`/`sk` (both `S`), each attribute as
//! one top-level attribute (see [`codec`] for the JSON mapping). DynamoDB orders the sort keys of
//! a partition byte-wise, as the embedded backend does, so both answer every range alike.
//!
//! | port | DynamoDB |
//! |---|---|
//! | `get` | GetItem, consistent read |
//! | `batch_get` | BatchGetItem, consistent read, `UnprocessedKeys` retried with backoff |
//! | `query` | Query with a key condition on `sk` (module `plan`), `ScanIndexForward`, `Limit`, `ExclusiveStartKey` |
//! | `count` | Query with `Select=COUNT`, paged |
//! | `allocate` | UpdateItem `SET next = if_not_exists(next, 1) + n`, `UPDATED_NEW` |
//! | `transact` | TransactWriteItems (Put / Delete / ConditionCheck with condition expressions) |
//!
//! Every name and value travels as an expression attribute name or value. Throttling and
//! transient failures are retried by the SDK (standard mode); when retries run out they become
//! [`StoreError::Unavailable`]. The table is described once, in [`table`].

pub mod codec;
mod plan;
pub mod table;
mod tls;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, ProvideCredentials, Region};
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, ConsumedCapacity, Delete, KeysAndAttributes, Put,
    ReturnConsumedCapacity, ReturnValue, Select, TableStatus, TransactWriteItem,
};
use jsonapi_store::{
    Condition, Item, Key, QueryPage, RangeQuery, Store, StoreError, StoreResult, Write,
};

use crate::codec::{AttrMap, escape_name, item_from, item_map, key_map, to_attribute};
use crate::plan::{Plan, SkTest};
use crate::table::{PARTITION_KEY, SORT_KEY};

/// Where the table is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// An endpoint URL such as `http://127.0.0.1:8000` for a local server; `None` for AWS (or
    /// whatever `AWS_ENDPOINT_URL_DYNAMODB` says).
    pub endpoint: Option<String>,
    /// The table name.
    pub table: String,
    /// The region; `None` takes it from the environment (`AWS_REGION`…), or `us-east-1` for a
    /// local endpoint.
    pub region: Option<String>,
}

/// How many attempts the SDK makes for one request (standard retry mode, with backoff).
pub const MAX_ATTEMPTS: u32 = 4;
/// Rounds of re-requesting `UnprocessedKeys` of a batch get before giving up.
const BATCH_GET_ROUNDS: u32 = 8;
/// Seconds a client is told to wait when the table is throttled or unreachable.
const RETRY_AFTER_SECONDS: u64 = 1;

/// Why [`DynamoStore::connect`] found no usable table; each says in one sentence what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// [`Config::table`] is empty.
    #[error("no DynamoDB table name was given")]
    NoTableName,
    /// No endpoint and no region: the SDK cannot tell where DynamoDB is.
    #[error(
        "no AWS region is configured: set AWS_REGION (or a region in ~/.aws/config), or give the endpoint of a local DynamoDB"
    )]
    NoRegion,
    /// The SDK's credential chain found nothing usable.
    #[error(
        "no usable AWS credentials were found (environment, ~/.aws, SSO, or an instance role): {0}"
    )]
    NoCredentials(String),
    /// The endpoint does not answer (refused, unresolvable, timed out).
    #[error("DynamoDB at {place} cannot be reached: {cause}")]
    Unreachable {
        /// The endpoint, or the AWS region.
        place: String,
        /// The innermost cause.
        cause: String,
    },
    /// DynamoDB answered, and refused (bad credentials, no permission...).
    #[error("DynamoDB at {place} refused to describe the table: {code}: {message}")]
    Refused {
        /// The endpoint, or the AWS region.
        place: String,
        /// The service's error code.
        code: String,
        /// Its message.
        message: String,
    },
    /// The table does not exist (see [`DynamoStore::connect_creating`]).
    #[error("the DynamoDB table \"{table}\" does not exist at {place}")]
    NoTable {
        /// The table.
        table: String,
        /// The endpoint, or the AWS region.
        place: String,
    },
    /// Creating the table failed.
    #[error("cannot create the DynamoDB table: {0}")]
    Create(StoreError),
}

/// The innermost error of a chain, what the user can act on ("Connection refused"), in one
/// line: the SDK's credential chain, for one, lists every provider it tried on lines of their
/// own after "Attempted:".
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut e = e;
    while let Some(source) = e.source() {
        e = source;
    }
    let text = e.to_string();
    let first = text.lines().next().unwrap_or_default();
    first.trim_end_matches("Attempted:").trim_end().to_owned()
}

/// The DynamoDB store: one client (built once, cheap to clone) and the table name.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

impl DynamoStore {
    /// Builds the client and opens its connection (a DescribeTable of the table, which must
    /// exist) so that the first request does not pay for it, and so that a wrong region,
    /// credentials, endpoint or table name is reported now, in one sentence, rather than on
    /// every request.
    ///
    /// With an `endpoint` and no `AWS_ACCESS_KEY_ID` in the environment, the client signs with
    /// the static dummy credentials `test`/`test`, which local servers accept.
    ///
    /// # Errors
    /// See [`ConnectError`].
    pub async fn connect(config: Config) -> Result<Self, ConnectError> {
        let (store, place) = Self::client_for(config).await?;
        match store
            .client
            .describe_table()
            .table_name(&store.table)
            .send()
            .await
        {
            Ok(_) => Ok(store),
            Err(SdkError::ServiceError(service))
                if service.err().is_resource_not_found_exception() =>
            {
                Err(ConnectError::NoTable {
                    table: store.table,
                    place,
                })
            }
            Err(SdkError::ServiceError(service)) => Err(ConnectError::Refused {
                place,
                code: service.err().code().unwrap_or("unknown error").to_owned(),
                message: service.err().message().unwrap_or("no message").to_owned(),
            }),
            // Refused, unresolvable, timed out, or an endpoint that is no URL.
            Err(e) => Err(ConnectError::Unreachable {
                place,
                cause: root_cause(&e),
            }),
        }
    }

    /// [`Self::connect`], creating the table first when it does not exist.
    ///
    /// # Errors
    /// See [`ConnectError`].
    pub async fn connect_creating(config: Config) -> Result<Self, ConnectError> {
        let (store, _) = Self::client_for(config).await?;
        store.create_table().await.map_err(ConnectError::Create)?;
        Ok(store)
    }

    /// The client for `config`, checked for a region and credentials, and where it points
    /// (for messages).
    async fn client_for(config: Config) -> Result<(Self, String), ConnectError> {
        if config.table.is_empty() {
            return Err(ConnectError::NoTableName);
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(tls::http_client())
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(Duration::from_millis(50))
                    .with_max_backoff(Duration::from_secs(2)),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(3))
                    .operation_attempt_timeout(Duration::from_secs(10))
                    .build(),
            );
        if let Some(region) = &config.region {
            loader = loader.region(Region::new(region.clone()));
        }
        if let Some(endpoint) = &config.endpoint {
            loader = loader.endpoint_url(endpoint.clone());
            // A local endpoint needs no real region; naming one keeps the SDK's region chain
            // from asking the instance metadata service, which exists only on AWS.
            let region_in_env = ["AWS_REGION", "AWS_DEFAULT_REGION"]
                .iter()
                .any(|v| std::env::var_os(v).is_some());
            if config.region.is_none() && !region_in_env {
                loader = loader.region(Region::new("us-east-1"));
            }
            if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
                loader = loader
                    .credentials_provider(Credentials::new("test", "test", None, None, "static"));
            }
        }
        let sdk_config = loader.load().await;
        let Some(region) = sdk_config.region() else {
            return Err(ConnectError::NoRegion);
        };
        let place = config
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("AWS region {region}"));
        // Asked now, the chain's failure is one clear sentence; asked by the first request,
        // it would be an opaque dispatch failure.
        match sdk_config.credentials_provider() {
            Some(provider) => {
                provider
                    .provide_credentials()
                    .await
                    .map_err(|e| ConnectError::NoCredentials(root_cause(&e)))?;
            }
            None => {
                return Err(ConnectError::NoCredentials(
                    "no credential provider is configured".to_owned(),
                ));
            }
        }
        let client =
            Client::from_conf(aws_sdk_dynamodb::config::Builder::from(&sdk_config).build());
        Ok((Self::from_client(client, config.table), place))
    }

    /// A store on a client built elsewhere (shared with other code, or configured specially).
    pub fn from_client(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
        }
    }

    /// The table name.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// The SDK client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Creates the table as [`table`] describes it, unless it exists, and waits until it is
    /// active.
    ///
    /// # Errors
    /// The table cannot be created, or does not become active within five minutes.
    pub async fn create_table(&self) -> StoreResult<()> {
        match table::create_table_request(&self.client, &self.table)?
            .send()
            .await
        {
            Ok(_) => tracing::info!(table = %self.table, "created the DynamoDB table"),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) => {}
            Err(e) => return Err(sdk_error("CreateTable", &e)),
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
        loop {
            let described = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(|e| sdk_error("DescribeTable", &e))?;
            let status = described.table().and_then(|t| t.table_status());
            if status == Some(&TableStatus::Active) {
                return Ok(());
            }
            if tokio::time::Instant::now() > deadline {
                return Err(StoreError::Unavailable {
                    detail: format!("table {} is still {status:?} after 5 minutes", self.table),
                    retry_after: 60,
                });
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Deletes the table (for tests that made their own).
    ///
    /// # Errors
    /// The request fails (a missing table is fine).
    pub async fn delete_table(&self) -> StoreResult<()> {
        match self
            .client
            .delete_table()
            .table_name(&self.table)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_not_found_exception()) =>
            {
                Ok(())
            }
            Err(e) => Err(sdk_error("DeleteTable", &e)),
        }
    }

    /// A Query request for the plan, without paging state.
    fn query_request(&self, pk: &str, plan: &Plan) -> QueryFluentBuilder {
        let request = self
            .client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .scan_index_forward(plan.forward)
            .expression_attribute_names("#pk", PARTITION_KEY)
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()));
        let with_sk = |request: QueryFluentBuilder, test: &str| {
            request
                .key_condition_expression(format!("#pk = :pk AND {test}"))
                .expression_attribute_names("#sk", SORT_KEY)
        };
        let value = |v: &String| AttributeValue::S(v.clone());
        match &plan.test {
            SkTest::Any => request.key_condition_expression("#pk = :pk"),
            SkTest::Ge(v) => {
                with_sk(request, "#sk >= :a").expression_attribute_values(":a", value(v))
            }
            SkTest::Gt(v) => {
                with_sk(request, "#sk > :a").expression_attribute_values(":a", value(v))
            }
            SkTest::Le(v) => {
                with_sk(request, "#sk <= :b").expression_attribute_values(":b", value(v))
            }
            SkTest::Lt(v) => {
                with_sk(request, "#sk < :b").expression_attribute_values(":b", value(v))
            }
            SkTest::Between(a, b) => with_sk(request, "#sk BETWEEN :a AND :b")
                .expression_attribute_values(":a", value(a))
                .expression_attribute_values(":b", value(b)),
            SkTest::BeginsWith(p) => {
                with_sk(request, "begins_with(#sk, :a)").expression_attribute_values(":a", value(p))
            }
        }
    }
}

/// A DynamoDB `Limit` for `n` items.
fn limit(n: usize) -> i32 {
    i32::try_from(n.max(1)).unwrap_or(i32::MAX)
}

/// Error codes that mean "try again later".
const TRANSIENT_CODES: [&str; 6] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
];

fn unavailable(detail: String) -> StoreError {
    StoreError::Unavailable {
        detail,
        retry_after: RETRY_AFTER_SECONDS,
    }
}

/// What went wrong, for the logs: the service's code and message, else the whole error chain.
fn describe<E, R>(operation: &str, err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match err {
        SdkError::ServiceError(service) => format!(
            "DynamoDB {operation}: {}: {}",
            service.err().code().unwrap_or("unknown error"),
            service.err().message().unwrap_or("no message")
        ),
        _ => format!("DynamoDB {operation}: {}", DisplayErrorContext(err)),
    }
}

/// A failed request (after the SDK's retries) as a store error.
fn sdk_error<E, R>(operation: &str, err: &SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let detail = describe(operation, err);
    match err {
        SdkError::TimeoutError(_) | SdkError::ResponseError(_) => unavailable(detail),
        SdkError::DispatchFailure(failure) if !failure.is_user() => unavailable(detail),
        SdkError::ServiceError(service) => match service.err().code() {
            Some("TransactionConflictException") => StoreError::Conflict,
            Some(code) if TRANSIENT_CODES.contains(&code) => unavailable(detail),
            _ => StoreError::Internal(detail),
        },
        _ => StoreError::Internal(detail),
    }
}

/// A cancelled transaction as a store error: the first failed condition, else a conflict.
fn cancelled(
    reasons: &[aws_sdk_dynamodb::types::CancellationReason],
    detail: String,
) -> StoreError {
    let codes: Vec<&str> = reasons.iter().map(|r| r.code().unwrap_or("None")).collect();
    if let Some(index) = codes.iter().position(|c| *c == "ConditionalCheckFailed") {
        return StoreError::ConditionFailed { index };
    }
    if codes.contains(&"TransactionConflict") {
        return StoreError::Conflict;
    }
    if codes.iter().any(|c| {
        matches!(
            *c,
            "ThrottlingError" | "ProvisionedThroughputExceeded" | "RequestLimitExceeded"
        )
    }) {
        return unavailable(detail);
    }
    StoreError::Internal(format!("{detail} (reasons: {})", codes.join(", ")))
}

/// A condition as a condition expression with its names and values.
struct Expression {
    text: &'static str,
    names: HashMap<String, String>,
    values: Option<AttrMap>,
}

fn expression(condition: &Condition) -> Expression {
    let key_name = || HashMap::from([("#pk".to_owned(), PARTITION_KEY.to_owned())]);
    match condition {
        Condition::Absent => Expression {
            text: "attribute_not_exists(#pk)",
            names: key_name(),
            values: None,
        },
        Condition::Present => Expression {
            text: "attribute_exists(#pk)",
            names: key_name(),
            values: None,
        },
        Condition::Equals { name, value } => Expression {
            // `attribute_exists` is implied on DynamoDB; spelled out, emulators agree too (moto
            // takes a missing attribute as equal to NULL).
            text: "attribute_exists(#a) AND #a = :v",
            names: HashMap::from([("#a".to_owned(), escape_name(name, true))]),
            values: Some(HashMap::from([(":v".to_owned(), to_attribute(value))])),
        },
    }
}

fn build_error(e: impl std::fmt::Display) -> StoreError {
    StoreError::Internal(format!("cannot build a DynamoDB request: {e}"))
}

/// One action of TransactWriteItems.
fn transact_item(table: &str, write: &Write) -> StoreResult<TransactWriteItem> {
    let condition = write.condition().map(expression);
    let (text, names, values) = match condition {
        Some(e) => (Some(e.text.to_owned()), Some(e.names), e.values),
        None => (None, None, None),
    };
    let item = match write {
        Write::Put { item, .. } => TransactWriteItem::builder().put(
            Put::builder()
                .table_name(table)
                .set_item(Some(item_map(item)))
                .set_condition_expression(text)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .build()
                .map_err(build_error)?,
        ),
        Write::Delete { key, .. } => TransactWriteItem::builder().delete(
            Delete::builder()
                .table_name(table)
                .set_key(Some(key_map(&key.pk, &key.sk)))
                .set_condition_expression(text)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .build()
                .map_err(build_error)?,
        ),
        Write::Check { key, .. } => TransactWriteItem::builder().condition_check(
            ConditionCheck::builder()
                .table_name(table)
                .set_key(Some(key_map(&key.pk, &key.sk)))
                .set_condition_expression(text)
                .set_expression_attribute_names(names)
                .set_expression_attribute_values(values)
                .build()
                .map_err(build_error)?,
        ),
    };
    Ok(item.build())
}

/// Logs the capacity a request consumed, at debug level (`RUST_LOG=jsonapi_store_dynamodb=debug`).
fn log_capacity<'a>(operation: &str, consumed: impl Iterator<Item = &'a ConsumedCapacity>) {
    if tracing::enabled!(tracing::Level::DEBUG) {
        let units: f64 = consumed.filter_map(ConsumedCapacity::capacity_units).sum();
        tracing::debug!(operation, capacity_units = units, "DynamoDB request");
    }
}

impl Store for DynamoStore {
    async fn get(&self, key: &Key) -> StoreResult<Option<Item>> {
        let found = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_map(&key.pk, &key.sk)))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| sdk_error("GetItem", &e))?;
        log_capacity("GetItem", found.consumed_capacity().into_iter());
        found.item().map(item_from).transpose()
    }

    async fn batch_get(&self, keys: &[Key]) -> StoreResult<Vec<Item>> {
        // DynamoDB refuses a key twice in one request: ask once, answer for each occurrence.
        let mut seen = HashSet::with_capacity(keys.len());
        let mut repeated = HashSet::new();
        let mut unique = Vec::with_capacity(keys.len());
        for key in keys {
            if seen.insert(key) {
                unique.push(key);
            } else {
                repeated.insert(key);
            }
        }
        let mut found: HashMap<Key, Item> = HashMap::with_capacity(unique.len());
        for chunk in unique.chunks(jsonapi_store::limits::MAX_BATCH_GET) {
            let mut pending: Vec<AttrMap> = chunk.iter().map(|k| key_map(&k.pk, &k.sk)).collect();
            let mut round = 0;
            while !pending.is_empty() {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(pending))
                    .consistent_read(true)
                    .build()
                    .map_err(build_error)?;
                let mut answer = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await
                    .map_err(|e| sdk_error("BatchGetItem", &e))?;
                log_capacity("BatchGetItem", answer.consumed_capacity().iter());
                for map in answer
                    .responses()
                    .and_then(|r| r.get(&self.table))
                    .map_or(&[][..], Vec::as_slice)
                {
                    let item = item_from(map)?;
                    found.insert(item.key.clone(), item);
                }
                pending = answer
                    .unprocessed_keys
                    .as_mut()
                    .and_then(|u| u.remove(&self.table))
                    .map(|u| u.keys)
                    .unwrap_or_default();
                if !pending.is_empty() {
                    round += 1;
                    if round > BATCH_GET_ROUNDS {
                        return Err(unavailable(format!(
                            "DynamoDB BatchGetItem: {} keys still unprocessed after {BATCH_GET_ROUNDS} retries",
                            pending.len()
                        )));
                    }
                    tracing::debug!(keys = pending.len(), round, "retrying unprocessed keys");
                    let backoff = Duration::from_millis(25 << round.min(6));
                    tokio::time::sleep(backoff).await;
                }
            }
        }
        let mut items = Vec::with_capacity(found.len());
        for key in keys {
            let item = if repeated.contains(key) {
                found.get(key).cloned()
            } else {
                found.remove(key)
            };
            items.extend(item);
        }
        Ok(items)
    }

    async fn query(&self, query: &RangeQuery) -> StoreResult<QueryPage> {
        let (from, to) = query.remaining_bounds();
        let Some(plan) = plan::plan(from, to, !query.reverse) else {
            return Ok(QueryPage::default());
        };
        // One item more than asked tells whether another page follows.
        let wanted = query.limit.saturating_add(1);
        let slack = usize::from(plan.drop_last.is_some());
        let request = self.query_request(&query.pk, &plan);
        let mut start = plan.start_after.as_deref().map(|sk| key_map(&query.pk, sk));
        let mut items = Vec::new();
        'pages: loop {
            let page = request
                .clone()
                .limit(limit(
                    wanted.saturating_sub(items.len()).saturating_add(slack),
                ))
                .set_exclusive_start_key(start.take())
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(|e| sdk_error("Query", &e))?;
            log_capacity("Query", page.consumed_capacity().into_iter());
            for map in page.items() {
                let item = item_from(map)?;
                if plan.drop_last.as_ref() == Some(&item.key.sk) {
                    break 'pages;
                }
                items.push(item);
            }
            if items.len() >= wanted {
                break;
            }
            match page.last_evaluated_key {
                Some(last) => start = Some(last),
                None => break,
            }
        }
        let more = items.len() > query.limit;
        items.truncate(query.limit);
        let next = if more {
            items.last().map(|i| i.key.sk.clone())
        } else {
            None
        };
        Ok(QueryPage { items, next })
    }

    async fn count(&self, query: &RangeQuery) -> StoreResult<u64> {
        let (from, to) = query.remaining_bounds();
        let Some(plan) = plan::count_plan(from, to) else {
            return Ok(0);
        };
        let request = self.query_request(&query.pk, &plan).select(Select::Count);
        let mut start = plan.start_after.as_deref().map(|sk| key_map(&query.pk, sk));
        let mut total = 0u64;
        loop {
            let page = request
                .clone()
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_error("Query (count)", &e))?;
            total += u64::try_from(page.count).unwrap_or_default();
            match page.last_evaluated_key {
                Some(last) => start = Some(last),
                None => return Ok(total),
            }
        }
    }

    async fn allocate(&self, key: &Key, n: u64) -> StoreResult<u64> {
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key_map(&key.pk, &key.sk)))
            .update_expression("SET #next = if_not_exists(#next, :one) + :n")
            .expression_attribute_names("#next", "next")
            .expression_attribute_values(":one", AttributeValue::N("1".to_owned()))
            .expression_attribute_values(":n", AttributeValue::N(n.to_string()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| sdk_error("UpdateItem", &e))?;
        let next = updated
            .attributes()
            .and_then(|a| a.get("next"))
            .and_then(|v| v.as_n().ok())
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| {
                StoreError::Internal(format!(
                    "the counter {} / {} is not a number",
                    key.pk, key.sk
                ))
            })?;
        next.checked_sub(n).ok_or_else(|| {
            StoreError::Internal(format!(
                "the counter {} / {} went backwards",
                key.pk, key.sk
            ))
        })
    }

    async fn transact(&self, writes: Vec<Write>) -> StoreResult<()> {
        if writes.is_empty() {
            return Ok(());
        }
        let items = writes
            .iter()
            .map(|w| transact_item(&self.table, w))
            .collect::<StoreResult<Vec<_>>>()?;
        match self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
        {
            Ok(out) => {
                log_capacity("TransactWriteItems", out.consumed_capacity().iter());
                Ok(())
            }
            Err(e) => match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancel)) => {
                    Err(cancelled(
                        cancel.cancellation_reasons(),
                        describe("TransactWriteItems", &e),
                    ))
                }
                _ => Err(sdk_error("TransactWriteItems", &e)),
            },
        }
    }
}
