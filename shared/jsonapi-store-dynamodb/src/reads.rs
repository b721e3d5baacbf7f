//! The reads of the port: GetItem, BatchGetItem and Query (pages and counts), all consistent.
//! A range becomes its key condition in [`plan`].

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnConsumedCapacity, Select};
use jsonapi_store::{Item, Key, QueryPage, RangeQuery, StoreResult};

use crate::capacity::log_capacity;
use crate::client::DynamoStore;
use crate::codec::{AttrMap, item_from, key_map};
use crate::errors::{build_error, sdk_error, unavailable};
use crate::plan::{self, Plan, SkTest};
use crate::table::{PARTITION_KEY, SORT_KEY};

/// Rounds of re-requesting `UnprocessedKeys` of a batch get before giving up.
const BATCH_GET_ROUNDS: u32 = 8;

/// A DynamoDB `Limit` for `n` items.
fn limit(n: usize) -> i32 {
    i32::try_from(n.max(1)).unwrap_or(i32::MAX)
}

impl DynamoStore {
    /// `get`: one GetItem, consistent.
    pub(crate) async fn get_item(&self, key: &Key) -> StoreResult<Option<Item>> {
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

    /// `batch_get`: BatchGetItem in chunks of the request limit, each key asked once, the
    /// `UnprocessedKeys` asked again with backoff; the items in the order of `keys`.
    pub(crate) async fn batch_get_item(&self, keys: &[Key]) -> StoreResult<Vec<Item>> {
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

    /// `query`: one page of a range, over as many Query pages as it takes.
    pub(crate) async fn query_range(&self, query: &RangeQuery) -> StoreResult<QueryPage> {
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

    /// `count`: Query with `Select=COUNT`, every page.
    pub(crate) async fn count_range(&self, query: &RangeQuery) -> StoreResult<u64> {
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
