//! The configuration file as written: serde structures that mirror the YAML one to one.
//!
//! Everything here is checked for shape only (unknown keys are refused); the meaning is checked
//! when [`crate::Schema`] is built from it, so every error can name the key it is about.

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub(crate) api: RawApi,
    pub(crate) types: IndexMap<String, RawType>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawApi {
    pub(crate) enabled: Option<bool>,
    #[serde(default)]
    pub(crate) batch: RawBatch,
    pub(crate) public_url: Option<String>,
    pub(crate) prefix: Option<String>,
    pub(crate) page_size: Option<i64>,
    pub(crate) max_results: Option<i64>,
    pub(crate) max_related: Option<usize>,
    pub(crate) max_delete: Option<usize>,
    pub(crate) openapi: Option<bool>,
    pub(crate) sandbox: Option<bool>,
    pub(crate) operations: Option<bool>,
    #[serde(default)]
    pub(crate) auth: RawAuth,
    #[serde(default)]
    pub(crate) cors: RawCors,
    /// `X-Localization-ID`: localization ids, each with the one it falls back to.
    #[serde(default)]
    pub(crate) localizations: IndexMap<String, Option<RawLocalization>>,
    /// `X-Currency`: the currencies money attributes are converted to.
    pub(crate) currencies: Option<RawCurrencies>,
}

/// One localization (`api.localizations.{id}`).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawLocalization {
    pub(crate) fallback: Option<String>,
}

/// `api.currencies`: the currency amounts are stored in, and the others by rate.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawCurrencies {
    pub(crate) default: String,
    pub(crate) rates: IndexMap<String, Value>,
    #[serde(default)]
    pub(crate) decimals: IndexMap<String, u32>,
}

/// `types.{type}.alternateId`: a header that makes item routes name resources by a unique
/// attribute.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawAlternateId {
    pub(crate) header: String,
    pub(crate) value: String,
    pub(crate) attribute: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawAuth {
    pub(crate) enabled: Option<bool>,
    pub(crate) issuer: Option<String>,
    pub(crate) audience: Option<String>,
    pub(crate) access_token_lifetime: Option<u64>,
    pub(crate) refresh_token_lifetime: Option<u64>,
    #[serde(default)]
    pub(crate) anonymous: Vec<String>,
    pub(crate) users: Option<String>,
    pub(crate) roles: Option<String>,
    #[serde(default)]
    pub(crate) external_issuers: Vec<RawIssuer>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawIssuer {
    pub(crate) issuer: String,
    #[serde(default)]
    pub(crate) audiences: Vec<String>,
    pub(crate) roles_claim: Option<String>,
    pub(crate) jwks: Option<Value>,
    pub(crate) jwks_uri: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawBatch {
    pub(crate) chunk_size: Option<u64>,
    pub(crate) included_chunk_size: Option<u64>,
    pub(crate) sync_limit: Option<u64>,
    pub(crate) sync_included_limit: Option<u64>,
    /// Seconds (fractions allowed).
    pub(crate) sync_wait: Option<f64>,
    /// Seconds; API-wide only (a type's `batch` refuses it).
    pub(crate) lifetime: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawCors {
    #[serde(default)]
    pub(crate) allow_origins: Vec<String>,
    pub(crate) allow_credentials: Option<bool>,
    #[serde(default)]
    pub(crate) allow_headers: Vec<String>,
    #[serde(default)]
    pub(crate) expose_headers: Vec<String>,
    pub(crate) preflight_max_age: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawType {
    pub(crate) id: IdStrategy,
    pub(crate) description: Option<String>,
    #[serde(default)]
    pub(crate) title: Option<TitleSpec>,
    #[serde(default)]
    pub(crate) attributes: IndexMap<String, RawAttribute>,
    #[serde(default)]
    pub(crate) relationships: IndexMap<String, RawRelationship>,
    #[serde(default)]
    pub(crate) filters: IndexMap<String, Option<RawFilter>>,
    #[serde(default)]
    pub(crate) sorters: Vec<String>,
    #[serde(default)]
    pub(crate) actions: IndexMap<String, bool>,
    #[serde(default)]
    pub(crate) validation: bool,
    #[serde(default)]
    pub(crate) require_if_match: bool,
    #[serde(default)]
    pub(crate) upsert: Vec<String>,
    #[serde(default)]
    pub(crate) indexes: Vec<Vec<String>>,
    #[serde(default)]
    pub(crate) shards: Option<u64>,
    #[serde(default)]
    pub(crate) subresources: IndexMap<String, RawSubresource>,
    pub(crate) alternate_id: Option<RawAlternateId>,
    /// The type's own batch sizes, over `api.batch`.
    pub(crate) batch: Option<RawBatch>,
}

/// A sub-resource an extension serves (`types.{type}.subresources.{name}`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawSubresource {
    pub(crate) method: SubresourceMethod,
    pub(crate) description: Option<String>,
    #[serde(default)]
    pub(crate) returns: Option<String>,
    #[serde(default)]
    pub(crate) many: bool,
}

/// The method of a sub-resource route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum SubresourceMethod {
    /// A computed sub-resource: `GET /{type}/{id}/{name}` reads, never writes.
    Get,
    /// A sub-resource action: `POST /{type}/{id}/{name}` may write, in one transaction.
    Post,
}

/// How the identifiers of a type are made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IdStrategy {
    /// 1, 2, 3, … allocated by the store, never repeated.
    Sequence,
    /// A generated ULID.
    Ulid,
    /// Chosen by the client; required on create.
    Client,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum TitleSpec {
    One(String),
    FirstOf(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawAttribute {
    #[serde(rename = "type")]
    pub(crate) data_type: DataType,
    pub(crate) description: Option<String>,
    #[serde(default)]
    pub(crate) required: bool,
    pub(crate) nullable: Option<bool>,
    pub(crate) max_length: Option<usize>,
    pub(crate) min_length: Option<usize>,
    pub(crate) min: Option<Value>,
    pub(crate) max: Option<Value>,
    pub(crate) values: Option<Vec<String>>,
    pub(crate) format: Option<Format>,
    #[serde(default)]
    pub(crate) unique: bool,
    pub(crate) default: Option<Value>,
    #[serde(default)]
    pub(crate) read_only: bool,
    #[serde(default)]
    pub(crate) direction: Direction,
    pub(crate) timestamp: Option<Timestamp>,
    #[serde(default)]
    pub(crate) localizable: bool,
    #[serde(default)]
    pub(crate) money: bool,
}

/// The data type of an attribute (and of the filters on it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    /// A short string (an optional `maxLength`).
    String,
    /// A long string; filtered only by `exists` unless more operators are enabled.
    Text,
    /// A 64-bit signed integer, a JSON number.
    Integer,
    /// A 64-bit signed integer sent as a JSON string, as the model system does.
    Bigint,
    /// An exact decimal, sent as a JSON string (`"12.50"`).
    Decimal,
    /// A double-precision number.
    Float,
    /// `true` or `false`.
    Boolean,
    /// `YYYY-MM-DD`.
    Date,
    /// `YYYY-MM-DDTHH:MM:SSZ`, always UTC.
    Datetime,
    /// One of the configured `values`.
    Enum,
    /// An array of strings.
    Strings,
    /// Any JSON object.
    Json,
}

/// A format check on a string attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// An e-mail address.
    Email,
}

/// Whether a field is accepted in requests, returned in responses, or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Accepted and returned.
    #[default]
    Bidirectional,
    /// Accepted, never returned.
    InputOnly,
    /// Returned; sending it is an `extra fields constraint` error.
    OutputOnly,
}

/// A timestamp the engine maintains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Timestamp {
    /// Set when the resource is created.
    Created,
    /// Set when the resource is created and on every change.
    Updated,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawRelationship {
    pub(crate) target: String,
    pub(crate) description: Option<String>,
    #[serde(default)]
    pub(crate) many: bool,
    pub(crate) inverse: Option<String>,
    #[serde(default)]
    pub(crate) required: bool,
    pub(crate) on_delete: Option<OnDelete>,
}

/// What deleting the target of a to-one relationship does to the resources that point at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnDelete {
    /// Refuse the delete with a 409 while such resources exist.
    Restrict,
    /// Clear the relationship (only for relationships that are not required).
    Nullify,
    /// Delete those resources too.
    Cascade,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RawFilter {
    #[serde(default)]
    pub(crate) operators: Vec<String>,
    pub(crate) description: Option<String>,
    pub(crate) allow_array: Option<bool>,
    pub(crate) allow_range: Option<bool>,
}
