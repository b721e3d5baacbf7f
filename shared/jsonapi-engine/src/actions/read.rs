//! The read actions: get, get_list, get_subresource, get_relationship (and the reading half of
//! delete_list: which resources a filter selects).

use std::sync::Arc;

use http::StatusCode;
use http::header::HeaderValue;
use jsonapi_config::{Operator, Relationship, RelationshipStorage, ResourceType};
use jsonapi_store::Store;
use serde_json::{Map, Value};

use crate::engine::{Ctx, Engine, check_id};
use crate::error::{ApiError, ApiErrors, ApiResult, ErrorKind};
use crate::filter::{Field, Operand, PathPredicate, Predicate};
use crate::plan::{self, PlanPage, Window};
use crate::precondition;
use crate::query::{self, Accepts, PageSize, QueryParams};
use crate::render::{self, Linkage, Shape, linkage_data, resource_url};
use crate::request::ApiResponse;
use crate::resource::Resource;
use jsonapi_config::Operation;

/// Most ids a dotted filter (`filter[category.name]=…`) may resolve to.
const MAX_PATH_MATCHES: usize = 1000;

impl<S: Store> Engine<S> {
    pub(crate) async fn get(
        &self,
        ctx: &Ctx,
        ty: &Arc<ResourceType>,
        id: &str,
    ) -> ApiResult<ApiResponse> {
        check_id(ty, id)?;
        let q = query::parse(
            &self.schema,
            ty,
            ctx.query.clone(),
            Accepts::of(Operation::Get, false),
        )?;
        let r = self.load(ty, id).await?.ok_or_else(ApiError::not_found)?;
        let tag = precondition::etag(&r, &ctx.variant);
        if ctx.preconditions.not_modified(&tag)? {
            return Ok(ApiResponse::empty(StatusCode::NOT_MODIFIED).with_etag(&tag));
        }
        let rendered = self.render(ctx, ty, vec![r], Shape::of(&q)).await?;
        Ok(render::single(rendered, None, StatusCode::OK).with_etag(&tag))
    }

    pub(crate) async fn get_list(
        &self,
        ctx: &Ctx,
        ty: &Arc<ResourceType>,
    ) -> ApiResult<ApiResponse> {
        let q = query::parse(
            &self.schema,
            ty,
            ctx.query.clone(),
            Accepts::of(Operation::GetList, false),
        )?;
        ctx.access.check_filter_paths(&q.filters)?;
        let url = format!("{}/{}", ctx.api_url, ty.name);
        self.collection(ctx, ty, Vec::new(), &q, &url, None).await
    }

    pub(crate) async fn get_related(
        &self,
        ctx: &Ctx,
        ty: &Arc<ResourceType>,
        id: &str,
        rel: &Relationship,
    ) -> ApiResult<ApiResponse> {
        self.related_document(ctx, ty, id, rel, false).await
    }

    pub(crate) async fn get_relationship(
        &self,
        ctx: &Ctx,
        ty: &Arc<ResourceType>,
        id: &str,
        rel: &Relationship,
    ) -> ApiResult<ApiResponse> {
        self.related_document(ctx, ty, id, rel, true).await
    }

    async fn related_document(
        &self,
        ctx: &Ctx,
        ty: &Arc<ResourceType>,
        id: &str,
        rel: &Relationship,
        identifiers: bool,
    ) -> ApiResult<ApiResponse> {
        check_id(ty, id)?;
        let rel_name = &rel.name;
        let operation = if identifiers {
            Operation::GetRelationship
        } else {
            Operation::GetSubresource
        };
        let accepts = Accepts::of(operation, rel.many);
        let target = Arc::clone(self.schema.target(rel));
        let q = query::parse(&self.schema, &target, ctx.query.clone(), accepts)?;
        ctx.access.check_filter_paths(&q.filters)?;
        let owner = self.load(ty, id).await?.ok_or_else(ApiError::not_found)?;
        let base = resource_url(ctx, &ty.name, id);
        let related_url = format!("{base}/{rel_name}");
        let url = if identifiers {
            format!("{base}/relationships/{rel_name}")
        } else {
            related_url.clone()
        };
        if rel.many {
            // The members are the target resources that match one more predicate.
            let member = member_predicate(rel, &owner, id);
            let related = identifiers.then_some(related_url);
            return self
                .collection(ctx, &target, vec![member], &q, &url, related)
                .await;
        }
        let related_id = match self
            .linkage(ty, &owner, Shape::FULL)
            .await?
            .swap_remove(rel_name)
        {
            Some(Linkage::One(id)) => id,
            _ => None,
        };
        let mut links = Map::new();
        if ctx.hateoas {
            links.insert("self".into(), url.into());
            if identifiers {
                links.insert("related".into(), related_url.into());
            }
        }
        if identifiers {
            let data = linkage_data(&target.name, &Linkage::One(related_id));
            return Ok(ApiResponse::document(
                StatusCode::OK,
                &render::document(data, None, Some(links)),
            ));
        }
        let resources = match related_id {
            Some(rid) => self.load(&target, &rid).await?.into_iter().collect(),
            None => Vec::new(),
        };
        let rendered = self.render(ctx, &target, resources, Shape::of(&q)).await?;
        Ok(render::single(rendered, Some(links), StatusCode::OK))
    }

    /// Turns dotted filters into predicates on the primary type: `filter[category.name]=x`
    /// becomes "category is one of the categories whose name is x".
    pub(crate) async fn resolve_filters(
        &self,
        filters: &[PathPredicate],
    ) -> ApiResult<Vec<Predicate>> {
        let mut out = Vec::new();
        for f in filters {
            if f.path.is_empty() {
                out.push(f.predicate.clone());
                continue;
            }
            // Walk from the last type back to the primary one, one planned read per step.
            let mut predicate = f.predicate.clone();
            for rel in f.path.iter().rev() {
                let target = self.schema.target(rel);
                let plan = self
                    .choose(plan::plan(
                        &self.schema,
                        target,
                        vec![predicate.clone()],
                        Vec::new(),
                    ))
                    .await?;
                let page = self
                    .execute(
                        target,
                        &plan,
                        Window::Offset {
                            skip: 0,
                            limit: MAX_PATH_MATCHES,
                        },
                    )
                    .await?;
                if page.more {
                    return Err(ApiError::new(
                        ErrorKind::Filter,
                        format!("The filter matches more than {MAX_PATH_MATCHES} related resources; narrow it."),
                    )
                    .param(&f.predicate.parameter)
                    .into());
                }
                let ids = page
                    .resources
                    .into_iter()
                    .map(|r| Value::String(r.id))
                    .collect();
                predicate = match &rel.storage {
                    RelationshipStorage::Owned => Predicate {
                        parameter: f.predicate.parameter.clone(),
                        field: Field::Relationship(rel.name.clone(), rel.many),
                        op: Operator::Eq,
                        operand: Operand::List(ids),
                    },
                    RelationshipStorage::InverseOf { field } => {
                        // "the owner has a member matching": owners are the members' `field`.
                        let members = self
                            .load_many(
                                target,
                                &ids.iter()
                                    .filter_map(|v| v.as_str().map(str::to_owned))
                                    .collect::<Vec<_>>(),
                            )
                            .await?;
                        let owners = members
                            .iter()
                            .filter_map(|m| m.related(field))
                            .map(|s| Value::String(s.to_owned()))
                            .collect();
                        Predicate {
                            parameter: f.predicate.parameter.clone(),
                            field: Field::Id,
                            op: Operator::Eq,
                            operand: Operand::List(owners),
                        }
                    }
                };
            }
            out.push(predicate);
        }
        Ok(out)
    }

    /// A page of `ty` resources matching the query's filters and `extra`; with `related` (the
    /// URL of the related resources), a relationship document of their identifiers.
    async fn collection(
        &self,
        ctx: &Ctx,
        ty: &Arc<ResourceType>,
        extra: Vec<Predicate>,
        q: &QueryParams,
        url: &str,
        related: Option<String>,
    ) -> ApiResult<ApiResponse> {
        let mut predicates = extra;
        predicates.extend(self.resolve_filters(&q.filters).await?);
        let plan = self
            .choose(plan::plan(&self.schema, ty, predicates, q.sort.clone()))
            .await?;
        let page_size = match q.paging.size {
            PageSize::Size(n) => n,
            PageSize::Unpaged => self.schema.api.max_results.unwrap_or(usize::MAX / 4),
        };
        let cursor_mode = q.paging.after.is_some() || q.paging.before.is_some();
        // Cursors are bound to the query as asked (the collection, its filters as given, the
        // sort), not to its plan or to what the filters resolve to, which change as resources
        // come and go.
        let path = url.strip_prefix(ctx.api_url.as_str()).unwrap_or(url);
        let scope = format!("{path}|{:?}|{:?}", q.filters, q.sort);
        let window = self.window(q, &scope, plan.sort.len(), page_size).await?;
        let page = self.execute(ty, &plan, window).await?;
        let links = if ctx.hateoas {
            let mut links = if cursor_mode {
                self.cursor_links(url, q, &scope, &page).await?
            } else {
                number_links(url, q, page.more)
            };
            if let Some(related) = &related {
                links.insert("related".into(), related.clone().into());
            }
            Some(links)
        } else {
            None
        };
        let doc = if related.is_some() {
            let ids = page.resources.iter().map(|r| r.id.clone()).collect();
            render::document(
                linkage_data(&ty.name, &Linkage::Many { ids, more: false }),
                None,
                links,
            )
        } else {
            let rendered = self
                .render_list(ctx, ty, page.resources, Shape::of(q))
                .await?;
            render::document(Value::Array(rendered.data), rendered.included, links)
        };
        let mut response = ApiResponse::document(StatusCode::OK, &doc);
        if ctx.total_count {
            let total = self.count(ty, &plan).await?;
            response
                .headers
                .insert("x-include-total-count", HeaderValue::from(total));
        }
        Ok(response)
    }

    /// The slice of the results a query's paging asks for: after or before a cursor, or a
    /// page number.
    async fn window(
        &self,
        q: &QueryParams,
        scope: &str,
        sort_fields: usize,
        page_size: usize,
    ) -> ApiResult<Window> {
        Ok(match (&q.paging.after, &q.paging.before) {
            (Some(c), _) => Window::Cursor {
                from: if c.is_empty() {
                    None
                } else {
                    Some(
                        self.decode_cursor(scope, sort_fields, c, "page[after]")
                            .await?,
                    )
                },
                backwards: false,
                limit: page_size,
            },
            (None, Some(c)) => Window::Cursor {
                from: Some(
                    self.decode_cursor(scope, sort_fields, c, "page[before]")
                        .await?,
                ),
                backwards: true,
                limit: page_size,
            },
            // Without paging (`page[size]=-1`) `page[number]` is ignored.
            (None, None) if q.paging.size == PageSize::Unpaged => Window::Offset {
                skip: 0,
                limit: page_size,
            },
            (None, None) => Window::Offset {
                skip: (q.paging.number - 1).saturating_mul(page_size),
                limit: page_size,
            },
        })
    }

    async fn cursor_links(
        &self,
        url: &str,
        q: &QueryParams,
        scope: &str,
        page: &PlanPage,
    ) -> ApiResult<Map<String, Value>> {
        let link = |paging: &[(&str, String)]| {
            let qs = query::link_query(&q.pairs, paging);
            if qs.is_empty() {
                url.to_owned()
            } else {
                format!("{url}?{qs}")
            }
        };
        let mut links = Map::new();
        let self_paging: Vec<(&str, String)> = match (&q.paging.after, &q.paging.before) {
            (Some(c), _) => vec![("page[after]", c.clone())],
            (None, Some(c)) => vec![("page[before]", c.clone())],
            (None, None) => Vec::new(),
        };
        links.insert("self".into(), link(&self_paging).into());
        let backwards = q.paging.before.is_some();
        let started = q.paging.after.as_deref().is_some_and(|c| !c.is_empty());
        let (has_next, has_prev) = if backwards {
            (true, page.more)
        } else {
            (page.more, started)
        };
        if let (true, Some(last)) = (has_next, &page.last) {
            links.insert(
                "next".into(),
                link(&[("page[after]", self.encode_cursor(scope, last).await?)]).into(),
            );
        }
        if let (true, Some(first)) = (has_prev, &page.first) {
            links.insert(
                "prev".into(),
                link(&[("page[before]", self.encode_cursor(scope, first).await?)]).into(),
            );
        }
        Ok(links)
    }

    /// The resources a `DELETE /api/{type}` selects: at most `limit`, and how many match.
    pub(crate) async fn select_for_delete(
        &self,
        ty: &ResourceType,
        q: &QueryParams,
        limit: usize,
        count: bool,
    ) -> ApiResult<(Vec<Resource>, Option<u64>)> {
        if q.filters.is_empty() {
            return Err(ApiErrors::from(ApiError::new(
                ErrorKind::Filter,
                "At least one filter must be provided.",
            )));
        }
        let predicates = self.resolve_filters(&q.filters).await?;
        let plan = self
            .choose(plan::plan(&self.schema, ty, predicates, Vec::new()))
            .await?;
        let page = self
            .execute(ty, &plan, Window::Offset { skip: 0, limit })
            .await?;
        let total = if count {
            Some(self.count(ty, &plan).await?)
        } else {
            None
        };
        Ok((page.resources, total))
    }
}

/// `self`, and `first`/`prev`/`next` only where they lead somewhere (the model has no `last`).
pub(crate) fn number_links(url: &str, q: &QueryParams, more: bool) -> Map<String, Value> {
    let with = |number: usize| {
        let paging: Vec<(&str, String)> = if number > 1 {
            vec![("page[number]", number.to_string())]
        } else {
            Vec::new()
        };
        let qs = query::link_query(&q.pairs, &paging);
        if qs.is_empty() {
            url.to_owned()
        } else {
            format!("{url}?{qs}")
        }
    };
    let mut links = Map::new();
    links.insert("self".into(), with(q.paging.number).into());
    if let PageSize::Size(size) = q.paging.size {
        if q.paging.number > 1 && size > 0 {
            links.insert("first".into(), with(1).into());
            links.insert("prev".into(), with(q.paging.number - 1).into());
        }
        if more && size > 0 {
            links.insert("next".into(), with(q.paging.number + 1).into());
        }
    }
    links
}

/// The members of a to-many relationship, as a predicate on the target type: ids among the
/// owner's (owned), or a to-one pointing at the owner (inverse).
fn member_predicate(rel: &Relationship, owner: &Resource, id: &str) -> Predicate {
    match &rel.storage {
        RelationshipStorage::Owned => Predicate {
            parameter: String::new(),
            field: Field::Id,
            op: Operator::Eq,
            operand: Operand::List(
                owner
                    .to_many
                    .get(&rel.name)
                    .into_iter()
                    .flatten()
                    .cloned()
                    .map(Value::String)
                    .collect(),
            ),
        },
        RelationshipStorage::InverseOf { field } => Predicate {
            parameter: String::new(),
            field: Field::Relationship(field.clone(), false),
            op: Operator::Eq,
            operand: Operand::One(Value::String(id.to_owned())),
        },
    }
}
