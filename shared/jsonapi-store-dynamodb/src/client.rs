//! Where the table is ([`Config`]), the SDK client built for it and checked once
//! ([`DynamoStore::connect`]: region, credentials, endpoint and table, each failure one
//! sentence of [`ConnectError`]), and the store that holds the client.

use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, ProvideCredentials, Region};
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use jsonapi_store::StoreError;

use crate::tls;

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
    pub(crate) client: Client,
    pub(crate) table: String,
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
        let unchecked = Self::open(config).await?;
        unchecked.check().await?;
        Ok(unchecked.store)
    }

    /// [`Self::connect`] in two steps, so that the table's check (a round trip) may run beside
    /// other first reads of a process (a Lambda function's init): the client, checked for a
    /// region and credentials, and the table still to check with [`Unchecked::check`].
    ///
    /// # Errors
    /// See [`ConnectError`] (all but the table's own).
    pub async fn open(config: Config) -> Result<Unchecked, ConnectError> {
        let (store, place) = Self::client_for(config).await?;
        Ok(Unchecked { store, place })
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
}

/// A store whose table has not been checked yet ([`DynamoStore::open`]).
#[derive(Debug, Clone)]
pub struct Unchecked {
    /// The store, usable now: a request to a table that does not exist fails as the check
    /// would.
    pub store: DynamoStore,
    /// Where it points, for messages.
    place: String,
}

impl Unchecked {
    /// Checks that the table exists (a DescribeTable), which also opens the client's first
    /// connection.
    ///
    /// # Errors
    /// See [`ConnectError`].
    pub async fn check(&self) -> Result<(), ConnectError> {
        let (store, place) = (&self.store, || self.place.clone());
        match store
            .client
            .describe_table()
            .table_name(&store.table)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(SdkError::ServiceError(service))
                if service.err().is_resource_not_found_exception() =>
            {
                Err(ConnectError::NoTable {
                    table: store.table.clone(),
                    place: place(),
                })
            }
            Err(SdkError::ServiceError(service)) => Err(ConnectError::Refused {
                place: place(),
                code: service.err().code().unwrap_or("unknown error").to_owned(),
                message: service.err().message().unwrap_or("no message").to_owned(),
            }),
            // Refused, unresolvable, timed out, or an endpoint that is no URL.
            Err(e) => Err(ConnectError::Unreachable {
                place: place(),
                cause: root_cause(&e),
            }),
        }
    }
}
