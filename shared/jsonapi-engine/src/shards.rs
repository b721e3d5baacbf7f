//! Write-sharded listing and index partitions: a type with `shards: N` (N > 1) spreads its
//! listing and each of its indexes over N partitions, `{partition}#s{k}`, so that its writes
//! are not all on one DynamoDB partition (1,000 write units/s each, whatever the table's
//! capacity). Unique-value and sequence items are not sharded; with `shards: 1` (the default)
//! the keys are exactly those of an unsharded layout.
//!
//! A resource's entries all go to the shard of its id: `k` is the low bits of a fixed hash of
//! the id (FNV-1a, not the standard library's hasher, whose output may change between
//! releases), so an update or a delete finds the entries it replaces with no extra read.
//!
//! A range read fans out to the N shards (in parallel on DynamoDB) and merges their entries
//! by sort key. Entry sort keys end with the resource's id key, so they are distinct across
//! shards and the merged order is exactly the unsharded order: the last key of a merged page
//! says where every shard resumes, and the engine's cursors (positions in the sort order) need
//! no per-shard state. A page of L entries costs N range reads of up to L entries each.

use futures_util::future::try_join_all;
use jsonapi_store::{Item, QueryPage, RangeQuery, Store, StoreResult};

/// The shard of a resource id among `shards` (a power of two).
pub fn shard_of(id: &str, shards: u32) -> u32 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let hash = id
        .bytes()
        .fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME));
    // Folding the high half in: FNV's low bits alone mix the last bytes poorly.
    ((hash ^ (hash >> 32)) as u32) & (shards - 1)
}

/// The partition that holds the entry of resource `id` in the listing or index `pk`.
pub fn entry_pk(pk: &str, shards: u32, id: &str) -> String {
    if shards <= 1 {
        pk.to_owned()
    } else {
        shard_pk(pk, shard_of(id, shards))
    }
}

/// The partition of shard `k` of the listing or index `pk`.
pub fn shard_pk(pk: &str, k: u32) -> String {
    format!("{pk}#s{k}")
}

/// Reads one page of a listing or index range over its shards, merged: the same entries, in
/// the same order, with the same continuation as the unsharded partition would give.
pub(crate) async fn query<S: Store>(
    store: &S,
    shards: u32,
    query: &RangeQuery,
) -> StoreResult<QueryPage> {
    if shards <= 1 {
        return store.query(query).await;
    }
    let pages = try_join_all((0..shards).map(|k| {
        let mut q = query.clone();
        q.pk = shard_pk(&query.pk, k);
        async move { store.query(&q).await }
    }))
    .await?;
    Ok(merge(pages, query.limit, query.reverse))
}

/// How many entries a listing or index range holds over its shards.
pub(crate) async fn count<S: Store>(
    store: &S,
    shards: u32,
    query: &RangeQuery,
) -> StoreResult<u64> {
    if shards <= 1 {
        return store.count(query).await;
    }
    let counts = try_join_all((0..shards).map(|k| {
        let mut q = query.clone();
        q.pk = shard_pk(&query.pk, k);
        async move { store.count(&q).await }
    }))
    .await?;
    Ok(counts.into_iter().sum())
}

/// Merges the shards' pages of one range read into the first `limit` entries in reading order.
///
/// A shard that has more to give may hold unread entries anywhere after its own continuation
/// key, so the merged page stops at the earliest such key: every entry up to it has been read
/// from every shard. The page's continuation is its last key whenever anything remains.
pub(crate) fn merge(pages: Vec<QueryPage>, limit: usize, reverse: bool) -> QueryPage {
    let before = |a: &str, b: &str| if reverse { a > b } else { a < b };
    let cutoff = pages
        .iter()
        .filter_map(|p| p.next.as_deref())
        .reduce(|a, b| if before(b, a) { b } else { a })
        .map(str::to_owned);
    let mut items: Vec<Item> = pages.into_iter().flat_map(|p| p.items).collect();
    items.sort_by(|a, b| {
        let o = a.key.sk.cmp(&b.key.sk);
        if reverse { o.reverse() } else { o }
    });
    let read = items.len();
    items.retain(|i| cutoff.as_deref().is_none_or(|c| !before(c, &i.key.sk)));
    let kept = items.len().min(limit);
    let more = cutoff.is_some() || kept < read;
    items.truncate(kept);
    let next = match items.last() {
        Some(last) if more => Some(last.key.sk.clone()),
        // Nothing before the earliest continuation: every shard resumes after it.
        None if more => cutoff,
        _ => None,
    };
    QueryPage { items, next }
}

#[cfg(test)]
mod tests {
    use jsonapi_store::Key;
    use proptest::prelude::*;

    use super::*;

    fn item(sk: &str) -> Item {
        Item {
            key: Key::new("p", sk),
            attrs: Default::default(),
        }
    }

    /// One shard's page of `keys` (sorted in reading order) after `after`, `limit` at most,
    /// stopping early after `short` items when given (DynamoDB's 1 MB pages).
    fn shard_page(
        keys: &[String],
        after: Option<&str>,
        limit: usize,
        reverse: bool,
        short: Option<usize>,
    ) -> QueryPage {
        let rest: Vec<&String> = keys
            .iter()
            .filter(|k| {
                after.is_none_or(|a| {
                    if reverse {
                        k.as_str() < a
                    } else {
                        k.as_str() > a
                    }
                })
            })
            .collect();
        let take = short.map_or(limit, |s| s.clamp(1, limit));
        let items: Vec<Item> = rest.iter().take(take).map(|k| item(k)).collect();
        let next = (rest.len() > take).then(|| items.last().unwrap().key.sk.clone());
        QueryPage { items, next }
    }

    /// Walks every key of `all` through merged pages over `shards` shards.
    fn walk(all: &[String], shards: u32, limit: usize, reverse: bool, short: usize) -> Vec<String> {
        let mut parts: Vec<Vec<String>> = vec![Vec::new(); shards as usize];
        for k in all {
            parts[shard_of(k, shards) as usize].push(k.clone());
        }
        for p in &mut parts {
            p.sort();
            if reverse {
                p.reverse();
            }
        }
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        for round in 0.. {
            assert!(round <= all.len() + 1, "the walk does not end");
            let pages = parts
                .iter()
                .enumerate()
                .map(|(k, p)| {
                    let short = (k == round % shards as usize).then_some(short);
                    shard_page(p, after.as_deref(), limit, reverse, short)
                })
                .collect();
            let page = merge(pages, limit, reverse);
            assert!(page.items.len() <= limit);
            seen.extend(page.items.iter().map(|i| i.key.sk.clone()));
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
        seen
    }

    proptest! {
        /// Any page size, any shard count, pages cut short on any shard: the merged walk is
        /// the unsharded order, every key once.
        #[test]
        fn merged_walks_give_the_unsharded_order(
            keys in proptest::collection::btree_set("[a-z0-9]{1,6}", 0..120),
            limit in 1usize..25,
            shards in prop_oneof![Just(1u32), Just(4u32), Just(16u32)],
            reverse in any::<bool>(),
            short in 1usize..25,
        ) {
            let mut all: Vec<String> = keys.into_iter().collect();
            if reverse {
                all.reverse();
            }
            prop_assert_eq!(walk(&all, shards, limit, reverse, short), all);
        }
    }

    #[test]
    fn shards_are_stable_and_spread() {
        // Fixed values: a changed hash would strand every stored entry in the wrong shard.
        assert_eq!(
            ["1", "2", "42", "01HZY3"].map(|id| shard_of(id, 16)),
            [0, 9, 4, 3]
        );
        let mut counts = [0u32; 16];
        for id in 1..=16_000 {
            counts[shard_of(&id.to_string(), 16) as usize] += 1;
        }
        assert!(counts.iter().all(|c| (800..1200).contains(c)), "{counts:?}");
        assert_eq!(entry_pk("list#t", 1, "7"), "list#t");
        assert_eq!(
            entry_pk("list#t", 4, "7"),
            format!("list#t#s{}", shard_of("7", 4))
        );
    }
}
