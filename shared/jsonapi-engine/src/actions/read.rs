//! The read actions: get, get_list, get_subresource, get_relationship.

use http::StatusCode;
use http::header::HeaderValue;
use jsonapi_config::{RelationshipStorage, ResourceType};
use jsonapi_store::{RangeQuery, Store};
use serde_json::{Map, Value};

use crate::engine::{Ctx, Engine, check_id};
use crate::error::{ApiError, ApiResult};
use crate::query::{self, Accepts, PageSize, Paging, QueryParams};
use crate::render::{self, Linkage, linkage_data, resource_url};
use crate::request::ApiResponse;
use crate::resource::{self, Resource};

/// Where a collection's ids come from.
enum Source<'a> {
    /// The type's listing (all resources, by id).
    Listing,
    /// An inverse to-many: resources of `target` whose `field` points at `id`.
    Inverse {
        owner: &'a ResourceType,
        id: &'a str,
        field: &'a str,
    },
    /// An owned to-many's ids.
    Ids(Vec<String>),
}

/// One page of ids and what the paging links need.
struct IdPage {
    ids: Vec<String>,
    more: bool,
}

impl<S: Store> Engine<S> {
    pub(crate) async fn get(
        &self,
        ctx: &Ctx,
        ty: &ResourceType,
        id: &str,
        query: Option<&str>,
    ) -> ApiResult<ApiResponse> {
        check_id(ty, id)?;
        query::parse(query, Accepts::default(), &self.schema.api)?;
        let r = self.load(ty, id).await?.ok_or_else(ApiError::not_found)?;
        let linkage = self.linkage(ty, &r).await?;
        let data = self.resource_object(ctx, ty, &r, &linkage);
        Ok(ApiResponse::document(
            StatusCode::OK,
            &render::document(data, None),
        ))
    }

    pub(crate) async fn get_list(
        &self,
        ctx: &Ctx,
        ty: &ResourceType,
        query: Option<&str>,
    ) -> ApiResult<ApiResponse> {
        let q = query::parse(query, Accepts { paging: true }, &self.schema.api)?;
        let url = format!("{}/{}", ctx.api_url, ty.name);
        self.collection(ctx, ty, Source::Listing, &q, &url, None)
            .await
    }

    pub(crate) async fn get_related(
        &self,
        ctx: &Ctx,
        ty: &ResourceType,
        id: &str,
        rel: &str,
        query: Option<&str>,
    ) -> ApiResult<ApiResponse> {
        self.related_document(ctx, ty, id, rel, query, false).await
    }

    pub(crate) async fn get_relationship(
        &self,
        ctx: &Ctx,
        ty: &ResourceType,
        id: &str,
        rel: &str,
        query: Option<&str>,
    ) -> ApiResult<ApiResponse> {
        self.related_document(ctx, ty, id, rel, query, true).await
    }

    async fn related_document(
        &self,
        ctx: &Ctx,
        ty: &ResourceType,
        id: &str,
        rel_name: &str,
        query: Option<&str>,
        identifiers: bool,
    ) -> ApiResult<ApiResponse> {
        check_id(ty, id)?;
        let rel = &ty.relationships[rel_name];
        let q = query::parse(query, Accepts { paging: rel.many }, &self.schema.api)?;
        let owner = self.load(ty, id).await?.ok_or_else(ApiError::not_found)?;
        let target = self.target_of(ty, rel_name);
        let base = resource_url(ctx, &ty.name, id);
        let url = if identifiers {
            format!("{base}/relationships/{rel_name}")
        } else {
            format!("{base}/{rel_name}")
        };
        if rel.many {
            let source = match &rel.storage {
                RelationshipStorage::Owned => {
                    Source::Ids(owner.to_many.get(rel_name).cloned().unwrap_or_default())
                }
                RelationshipStorage::InverseOf { field } => Source::Inverse {
                    owner: ty,
                    id,
                    field,
                },
            };
            let related = identifiers.then(|| format!("{base}/{rel_name}"));
            return self
                .collection(ctx, target, source, &q, &url, related)
                .await;
        }
        let related_id = match self.linkage(ty, &owner).await?.swap_remove(rel_name) {
            Some(Linkage::One(id)) => id,
            _ => None,
        };
        let mut links = Map::new();
        if ctx.hateoas {
            links.insert("self".into(), url.into());
            if identifiers {
                links.insert("related".into(), format!("{base}/{rel_name}").into());
            }
        }
        let data = match related_id {
            Some(rid) if identifiers => linkage_data(&target.name, &Linkage::One(Some(rid))),
            Some(rid) => match self.load(target, &rid).await? {
                Some(r) => {
                    let linkage = self.linkage(target, &r).await?;
                    self.resource_object(ctx, target, &r, &linkage)
                }
                None => Value::Null,
            },
            None => Value::Null,
        };
        Ok(ApiResponse::document(
            StatusCode::OK,
            &render::document(data, Some(links)),
        ))
    }

    /// A paged collection of `ty` resources from a source of ids; with `related` (the URL of
    /// the related resources), a relationship document of their identifiers.
    async fn collection(
        &self,
        ctx: &Ctx,
        ty: &ResourceType,
        source: Source<'_>,
        q: &QueryParams,
        url: &str,
        related: Option<String>,
    ) -> ApiResult<ApiResponse> {
        let identifiers = related.is_some();
        let (skip, limit) = page_window(q.paging, self.schema.api.max_results);
        let page = self.page_ids(ty, &source, skip, limit).await?;
        let data = if identifiers {
            linkage_data(
                &ty.name,
                &Linkage::Many {
                    ids: page.ids.clone(),
                    more: false,
                },
            )
        } else {
            let resources: Vec<Resource> = self.load_many(ty, &page.ids).await?;
            Value::Array(self.resource_objects(ctx, ty, &resources).await?)
        };
        let links = ctx.hateoas.then(|| {
            let mut links = paging_links(url, q, page.more);
            if let Some(related) = related {
                links.insert("related".into(), related.into());
            }
            links
        });
        let mut response = ApiResponse::document(StatusCode::OK, &render::document(data, links));
        if ctx.total_count {
            let total = self.count_ids(ty, &source).await?;
            response
                .headers
                .insert("x-include-total-count", HeaderValue::from(total));
        }
        Ok(response)
    }

    async fn page_ids(
        &self,
        ty: &ResourceType,
        source: &Source<'_>,
        skip: usize,
        limit: usize,
    ) -> ApiResult<IdPage> {
        if limit == 0 {
            return Ok(IdPage {
                ids: Vec::new(),
                more: false,
            });
        }
        let (ids, more) = match source {
            Source::Listing => {
                let query = RangeQuery::partition(resource::listing_pk(&ty.name), limit + 1);
                self.range_ids(query, skip, limit).await?
            }
            Source::Inverse { owner, id, field } => {
                self.inverse_ids(owner, id, ty, field, skip, limit).await?
            }
            Source::Ids(ids) => {
                let mut ids = ids.clone();
                ids.sort_by_key(|id| resource::id_key(ty, id));
                let window: Vec<String> = ids.iter().skip(skip).take(limit).cloned().collect();
                let more = ids.len() > skip + window.len();
                (window, more)
            }
        };
        Ok(IdPage { ids, more })
    }

    async fn count_ids(&self, ty: &ResourceType, source: &Source<'_>) -> ApiResult<u64> {
        Ok(match source {
            Source::Listing => {
                self.store
                    .count(&RangeQuery::partition(resource::listing_pk(&ty.name), 1))
                    .await?
            }
            Source::Inverse { owner, id, field } => {
                let query = RangeQuery::prefix(
                    resource::index_pk(&ty.name, field),
                    &resource::linkage_prefix(owner, id),
                    1,
                );
                self.store.count(&query).await?
            }
            Source::Ids(ids) => ids.len() as u64,
        })
    }
}

/// Items to skip and the page size.
fn page_window(paging: Paging, max_results: Option<usize>) -> (usize, usize) {
    match paging.size {
        PageSize::Size(n) => ((paging.number - 1).saturating_mul(n), n),
        PageSize::Unpaged => (0, max_results.unwrap_or(usize::MAX / 2)),
    }
}

/// `self`, and `first`/`prev`/`next` only where they lead somewhere (the model has no `last`).
fn paging_links(url: &str, q: &QueryParams, more: bool) -> Map<String, Value> {
    let with = |number: Option<usize>| {
        let qs = query::link_query(&q.pairs, number);
        if qs.is_empty() {
            url.to_owned()
        } else {
            format!("{url}?{qs}")
        }
    };
    let mut links = Map::new();
    links.insert("self".into(), with(Some(q.paging.number)).into());
    if let PageSize::Size(size) = q.paging.size {
        if q.paging.number > 1 && size > 0 {
            links.insert("first".into(), with(None).into());
            links.insert("prev".into(), with(Some(q.paging.number - 1)).into());
        }
        if more && size > 0 {
            links.insert("next".into(), with(Some(q.paging.number + 1)).into());
        }
    }
    links
}
