//! The routes that read asynchronous operations: `{prefix}/asyncoperations/{id}` and
//! `{prefix}/asyncoperations/{id}/errors` answer `GET` (and `HEAD`) and `OPTIONS`; other
//! methods are 405 with `Allow: OPTIONS, GET, HEAD`; every other path below the segment is 404.

use std::sync::Arc;

use http::header::{ALLOW, CONTENT_LENGTH, HeaderValue};
use http::{Method, StatusCode};
use jsonapi_config::{Operation, TypeRef};
use jsonapi_store::{RangeQuery, Store};
use serde_json::{Value, json};

use super::layout;
use super::operation::{Record, operation_url};
use crate::actions::read::number_links;
use crate::auth::access::Access;
use crate::engine::{Ctx, Engine};
use crate::error::{ApiError, ApiResult};
use crate::format::Format;
use crate::query::{self, Accepts, PageSize, QueryParams};
use crate::render;
use crate::request::{ApiRequest, ApiResponse};
use crate::routing::Route;

/// The methods the routes allow.
const ALLOWED: &str = "OPTIONS, GET, HEAD";

/// The type of an operation's errors.
const ERRORS_TYPE: &str = "asyncoperationerrors";

impl<S: Store> Engine<S> {
    /// Whether a route is below `{prefix}/asyncoperations` while some type enables the batch
    /// API (no type has that name).
    pub(crate) fn is_async_operations(&self, route: &Route) -> bool {
        route.ty() == jsonapi_config::ASYNC_OPERATIONS_SEGMENT
            && self
                .schema
                .types()
                .any(|t| t.actions.allows(Operation::UpdateList))
    }

    /// An operation's resource object as of now; `api_url` starts its link (`None`: none).
    pub(crate) fn operation_resource(&self, record: &Record, api_url: Option<&str>) -> Value {
        let users = self.schema.api.auth.users.as_ref().map(TypeRef::name);
        record.resource(api_url, now_ms(), users)
    }

    /// Answers a request below `{prefix}/asyncoperations`.
    pub(crate) async fn async_operations_route(
        &self,
        req: &ApiRequest,
        route: &Route,
        access: Arc<Access>,
        format: Format,
    ) -> ApiResult<ApiResponse> {
        let (id, errors) = match route {
            Route::Item { id, .. } => (id, false),
            Route::Related { id, rel, .. } if rel == "errors" => (id, true),
            _ => {
                return Err(ApiError::no_route(&req.method, &req.path).into());
            }
        };
        let allow = HeaderValue::from_static(ALLOWED);
        match req.method {
            Method::OPTIONS => {
                let mut r = ApiResponse::empty(StatusCode::OK);
                r.headers.insert(ALLOW, allow);
                r.headers.insert(CONTENT_LENGTH, HeaderValue::from(0));
                return Ok(r);
            }
            Method::GET | Method::HEAD => {}
            _ => {
                let mut r =
                    ApiResponse::errors(&ApiError::method_not_allowed(&req.method, ALLOWED).into());
                r.headers.insert(ALLOW, allow);
                return Ok(r);
            }
        }
        format.negotiate(&req.method, &req.headers, !req.body.is_empty())?;
        let ctx = self.context(req, access, query::pairs(req.query.as_deref()))?;
        // The query is read before the lookup, as on every route.
        let paging = if errors {
            Some(self.errors_paging(req.query.as_deref())?)
        } else {
            if let Some((name, _)) = query::pairs(req.query.as_deref()).into_iter().next() {
                return Err(query::unsupported(&name).param(name).into());
            }
            None
        };
        let record = self.visible_operation(&ctx.access, id).await?;
        if let Some(q) = paging {
            self.operation_errors(&ctx, &record, &q).await
        } else {
            let url = ctx.hateoas.then_some(ctx.api_url.as_str());
            let data = self.operation_resource(&record, url);
            Ok(ApiResponse::document(
                StatusCode::OK,
                &render::document(data, None, None),
            ))
        }
    }

    /// The operation with this id, when the caller may see it (404 otherwise, as for an id
    /// that names nothing; 400 for one that is no integer, as for a sequence type's).
    pub(crate) async fn visible_operation(&self, access: &Access, id: &str) -> ApiResult<Record> {
        let Ok(id) = u64::try_from(crate::engine::sequence_id(id)?) else {
            return Err(ApiError::not_found().into());
        };
        let record = self
            .store
            .get(&layout::record_key(id))
            .await?
            .and_then(|item| Record::from_item(&item))
            .filter(|r| !r.expired(now_ms() / 1000) && r.visible_to(access));
        record.ok_or_else(|| ApiError::not_found().into())
    }

    /// The paging of an errors page (`page[number]`, `page[size]`; nothing else).
    fn errors_paging(&self, query_string: Option<&str>) -> ApiResult<QueryParams> {
        // Only paging is read, which no type's fields change: any type that has batches will do.
        let ty = self
            .schema
            .types()
            .find(|t| t.actions.allows(Operation::UpdateList))
            .ok_or_else(ApiError::not_found)?;
        let accepts = Accepts {
            paging: true,
            ..Accepts::default()
        };
        let q = query::parse(&self.schema, ty, query::pairs(query_string), accepts)?;
        for (name, set) in [
            ("page[after]", q.paging.after.is_some()),
            ("page[before]", q.paging.before.is_some()),
        ] {
            if set {
                return Err(query::unsupported(name).param(name).into());
            }
        }
        Ok(q)
    }

    /// A page of an operation's errors, in chunk order.
    async fn operation_errors(
        &self,
        ctx: &Ctx,
        record: &Record,
        q: &QueryParams,
    ) -> ApiResult<ApiResponse> {
        let size = match q.paging.size {
            PageSize::Size(n) => n,
            PageSize::Unpaged => self.schema.api.max_results.unwrap_or(usize::MAX),
        };
        let skip = (q.paging.number - 1).saturating_mul(size);
        // Items read to answer the page and tell whether more follow; saturating, as a page
        // number past the end (even one near `usize::MAX / size`) is an empty page, not a panic.
        let wanted = skip.saturating_add(size).saturating_add(1);
        let mut range = RangeQuery::prefix(layout::partition(record.id), layout::ERRORS_PREFIX, 1);
        let mut errors = Vec::new();
        let mut seen = 0usize;
        let more = loop {
            range.limit = wanted.saturating_sub(seen).clamp(1, 1000);
            let page = self.store.query(&range).await?;
            for item in page.items {
                seen += 1;
                if seen > skip && errors.len() <= size {
                    errors.push(error_resource(record.id, &item.attrs));
                }
            }
            if errors.len() > size {
                errors.truncate(size);
                break true;
            }
            match page.next {
                Some(next) if seen < wanted => range.after = Some(next),
                _ => break false,
            }
        };
        let url = format!("{}/errors", operation_url(&ctx.api_url, record.id));
        let links = ctx.hateoas.then(|| number_links(&url, q, more));
        let mut response = ApiResponse::document(
            StatusCode::OK,
            &render::document(Value::Array(errors), None, links),
        );
        if ctx.total_count {
            range.after = None;
            let total = self.store.count(&range).await?;
            response
                .headers
                .insert("x-include-total-count", HeaderValue::from(total));
        }
        Ok(response)
    }
}

/// An operation as its owner sees it, for a command line that follows an import.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct OperationReport {
    /// The `asyncoperations` resource object (status, progress, summary...).
    pub operation: Value,
    /// Its first `asyncoperationerrors` resource objects.
    pub errors: Vec<Value>,
}

impl OperationReport {
    /// Whether the operation ended (its summary is final).
    pub fn finished(&self) -> bool {
        matches!(
            self.operation["attributes"]["status"].as_str(),
            Some("success" | "failed" | "cancelled")
        )
    }
}

impl<S: Store> Engine<S> {
    /// Operation `id` and its first `first_errors` errors; `None` when there is none.
    ///
    /// # Errors
    /// The store failed.
    pub async fn operation_report(
        &self,
        id: u64,
        first_errors: usize,
    ) -> ApiResult<Option<OperationReport>> {
        let stored = self.store.get(&layout::record_key(id)).await?;
        let Some(record) = stored.as_ref().and_then(Record::from_item) else {
            return Ok(None);
        };
        let range = RangeQuery::prefix(
            layout::partition(id),
            layout::ERRORS_PREFIX,
            first_errors.max(1),
        );
        let errors = self.store.query(&range).await?.items;
        Ok(Some(OperationReport {
            operation: self.operation_resource(&record, None),
            errors: errors
                .iter()
                .take(first_errors)
                .map(|e| error_resource(id, &e.attrs))
                .collect(),
        }))
    }
}

/// An `asyncoperationerrors` resource object from a stored error.
fn error_resource(op: u64, attrs: &serde_json::Map<String, Value>) -> Value {
    let get = |name: &str| attrs.get(name).cloned().unwrap_or(Value::Null);
    let mut attributes = json!({
        "status": get("status"),
        "title": get("title"),
        "detail": get("detail"),
    });
    if let Some(pointer) = attrs.get("pointer").filter(|p| p.is_string()) {
        attributes["source"] = json!({ "pointer": pointer });
    }
    json!({
        "type": ERRORS_TYPE,
        "id": format!("{op}-{}-{}", get("chunk"), get("n")),
        "attributes": attributes,
    })
}

/// Now, in epoch milliseconds.
pub(crate) fn now_ms() -> i64 {
    i64::try_from(time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000)
        .unwrap_or(i64::MAX)
}
