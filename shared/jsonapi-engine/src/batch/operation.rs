//! An asynchronous operation's record and the resources that show it: `asyncoperations`
//! (`GET {prefix}/asyncoperations/{id}`) and its `asyncoperationerrors`
//! (`GET {prefix}/asyncoperations/{id}/errors`, paged). An operation is visible to the caller
//! that started it and to admins (callers holding every permission on `asyncoperations`, as
//! `"*": ["ALL"]` does); to anyone else it does not exist.

use jsonapi_auth::Permission;
use jsonapi_config::{ASYNC_OPERATIONS_SEGMENT, Schema};
use jsonapi_store::Item;
use serde_json::{Map, Value, json};

use crate::auth::access::Access;
use crate::routing::encode_segment;
use crate::values;

/// The epoch second after which an operation started `now` is deleted (`api.batch.lifetime`,
/// the model's `lifetime`).
pub(crate) fn expires_at(schema: &Schema, now: time::OffsetDateTime) -> i64 {
    now.unix_timestamp()
        .saturating_add(i64::try_from(schema.api.operation_lifetime).unwrap_or(i64::MAX))
}

/// Where an operation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    New,
    Running,
    Success,
    Failed,
}

impl Status {
    fn name(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Running => "running",
            Self::Success => "success",
            Self::Failed => "failed",
        }
    }

    fn of(name: &str) -> Option<Self> {
        [Self::New, Self::Running, Self::Success, Self::Failed]
            .into_iter()
            .find(|s| s.name() == name)
    }
}

/// The counters of an operation (the model's `summary`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Counts {
    /// Items read from the request.
    pub(crate) read: u64,
    /// Items written.
    pub(crate) write: u64,
    /// Errors reported.
    pub(crate) error: u64,
    /// Items created.
    pub(crate) create: u64,
    /// Items updated.
    pub(crate) update: u64,
    /// Milliseconds spent applying the items.
    pub(crate) aggregate_ms: u64,
}

/// The names of an operation's `summary` counters, as the API shows them (the OpenAPI
/// document lists the same).
pub const COUNTERS: [&str; 6] = [
    "readCount",
    "writeCount",
    "errorCount",
    "createCount",
    "updateCount",
    "aggregateTime",
];

impl Counts {
    fn values(&self) -> [u64; 6] {
        [
            self.read,
            self.write,
            self.error,
            self.create,
            self.update,
            self.aggregate_ms,
        ]
    }

    /// The counters as the model's `summary` object.
    pub(crate) fn to_json(self) -> Value {
        Value::Object(
            COUNTERS
                .iter()
                .zip(self.values())
                .map(|(name, v)| ((*name).to_owned(), v.into()))
                .collect(),
        )
    }

    /// Counters written by [`Self::to_json`] (absent ones are 0).
    pub(crate) fn from_json(v: &Value) -> Self {
        let n = |name: &str| v.get(name).and_then(Value::as_u64).unwrap_or(0);
        Self {
            read: n(COUNTERS[0]),
            write: n(COUNTERS[1]),
            error: n(COUNTERS[2]),
            create: n(COUNTERS[3]),
            update: n(COUNTERS[4]),
            aggregate_ms: n(COUNTERS[5]),
        }
    }

    /// Adds another set of counters.
    pub(crate) fn add(&mut self, other: Self) {
        self.read += other.read;
        self.write += other.write;
        self.error += other.error;
        self.create += other.create;
        self.update += other.update;
        self.aggregate_ms += other.aggregate_ms;
    }
}

/// An operation as stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Record {
    pub(crate) id: u64,
    pub(crate) status: Status,
    /// The type the batch was sent to.
    pub(crate) entity_type: String,
    /// Who started it ([`Access::caller`]).
    pub(crate) owner: Option<String>,
    pub(crate) created_at: String,
    pub(crate) updated_at: String,
    /// When processing started and ended (epoch milliseconds).
    pub(crate) started_ms: Option<i64>,
    pub(crate) finished_ms: Option<i64>,
    pub(crate) chunks: usize,
    pub(crate) done_chunks: usize,
    /// Chunks ended without being applied, their runs having failed too often.
    pub(crate) given_up: usize,
    pub(crate) counts: Counts,
    /// The epoch second after which the operation is deleted.
    pub(crate) expires_at: i64,
}

impl Record {
    /// A new operation of `chunks` chunks, not started, made `now` by `owner` on `entity_type`.
    pub(crate) fn new(
        id: u64,
        entity_type: &str,
        owner: Option<String>,
        chunks: usize,
        now: time::OffsetDateTime,
        expires_at: i64,
    ) -> Self {
        let stamp = values::format_datetime(now);
        Self {
            id,
            status: Status::New,
            entity_type: entity_type.to_owned(),
            owner,
            created_at: stamp.clone(),
            updated_at: stamp,
            started_ms: None,
            finished_ms: None,
            chunks,
            done_chunks: 0,
            given_up: 0,
            counts: Counts::default(),
            expires_at,
        }
    }

    /// The stored item.
    pub(crate) fn to_item(&self) -> Item {
        let attrs = json!({
            "id": self.id.to_string(),
            "status": self.status.name(),
            "entityType": self.entity_type,
            "owner": self.owner,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "startedMs": self.started_ms,
            "finishedMs": self.finished_ms,
            "chunks": self.chunks,
            "doneChunks": self.done_chunks,
            "givenUpChunks": self.given_up,
            "summary": self.counts.to_json(),
            "expiresAt": self.expires_at,
        });
        Item {
            key: super::layout::record_key(self.id),
            attrs: match attrs {
                Value::Object(m) => m,
                _ => Map::new(),
            },
        }
    }

    /// The record an item holds (`None` when it is not one).
    pub(crate) fn from_item(item: &Item) -> Option<Self> {
        let a = &item.attrs;
        let text = |name: &str| a.get(name).and_then(Value::as_str).map(str::to_owned);
        let int = |name: &str| a.get(name).and_then(Value::as_i64);
        Some(Self {
            id: text("id")?.parse().ok()?,
            status: Status::of(&text("status")?)?,
            entity_type: text("entityType")?,
            owner: text("owner"),
            created_at: text("createdAt")?,
            updated_at: text("updatedAt")?,
            started_ms: int("startedMs"),
            finished_ms: int("finishedMs"),
            chunks: usize::try_from(int("chunks")?).ok()?,
            done_chunks: usize::try_from(int("doneChunks")?).ok()?,
            given_up: int("givenUpChunks")
                .and_then(|n| usize::try_from(n).ok())
                .unwrap_or(0),
            counts: Counts::from_json(a.get("summary")?),
            expires_at: int("expiresAt")?,
        })
    }

    /// Whether `access` may see the operation: its owner, and admins.
    pub(crate) fn visible_to(&self, access: &Access) -> bool {
        let admin = Permission::ALL
            .iter()
            .all(|p| access.allows(ASYNC_OPERATIONS_SEGMENT, *p));
        admin || (self.owner.is_some() && self.owner.as_deref() == access.caller())
    }

    /// The linkage of the user who started the operation, of type `users` (tokens of users
    /// speak for `user:{id}`); `null` for anyone else.
    fn owner_linkage(&self, users: Option<&str>) -> Value {
        let user = self.owner.as_deref().and_then(|o| o.strip_prefix("user:"));
        match (users, user) {
            (Some(ty), Some(id)) => json!({ "type": ty, "id": id }),
            _ => Value::Null,
        }
    }

    /// Whether the operation expired (kept until its TTL sweep or the embedded sweep).
    pub(crate) fn expired(&self, now_secs: i64) -> bool {
        self.expires_at <= now_secs
    }

    /// The `asyncoperations` resource object; `api_url` starts its link (`None`: no links).
    /// `users` is the type users sign in as: an operation a user started names the user as its
    /// `owner`; one an API client started (its token speaks for no user), none.
    pub(crate) fn resource(
        &self,
        api_url: Option<&str>,
        now_ms: i64,
        users: Option<&str>,
    ) -> Value {
        let progress = match self.status {
            Status::New => Value::Null,
            _ if self.chunks == 0 => json!(1),
            #[allow(clippy::cast_precision_loss)]
            _ => json!(self.done_chunks as f64 / self.chunks as f64),
        };
        let elapsed = self.started_ms.map_or(0, |s| {
            (self.finished_ms.unwrap_or(now_ms) - s).max(0) / 1000
        });
        let summary = match self.status {
            Status::Success | Status::Failed => self.counts.to_json(),
            Status::New | Status::Running => Value::Null,
        };
        let mut object = json!({
            "type": ASYNC_OPERATIONS_SEGMENT,
            "id": self.id.to_string(),
            "attributes": {
                "status": self.status.name(),
                "progress": progress,
                "createdAt": self.created_at,
                "updatedAt": self.updated_at,
                "elapsedTime": elapsed,
                "entityType": self.entity_type,
                "summary": summary,
            },
            "relationships": {
                "owner": { "data": self.owner_linkage(users) },
            },
        });
        if let Some(url) = api_url {
            object["links"] = json!({ "self": operation_url(url, self.id) });
        }
        object
    }
}

/// The URL of an operation below `api_url` (`{base}{prefix}`).
pub(crate) fn operation_url(api_url: &str, id: u64) -> String {
    format!(
        "{api_url}/{ASYNC_OPERATIONS_SEGMENT}/{}",
        encode_segment(&id.to_string())
    )
}
