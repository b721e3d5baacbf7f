//! The hot-partition simulation: one second of traffic on one type of many resources, with the
//! keys the engine itself builds, tallied per DynamoDB partition key and per item against
//! DynamoDB's per-partition limits (1,000 write units/s, 3,000 read units/s).
//!
//! Writes are what the engine would commit for each create (`Engine::planned_writes`: the
//! resource item, its listing and index entries in their shards, its unique value, the
//! category's membership stamp and existence check), plus one sequence block per
//! [`SEQUENCE_BLOCK`] creates. Reads follow the planner's round trips: a GET is one GetItem; a
//! list page of 10 is one Query per shard of the listing (11 entries each: the page and one
//! more) and one BatchGetItem of the 10 resources; a filtered page (one category, by price,
//! descending, `include=category`) the same on the `[category, price]` composite index, plus
//! the category.
//!
//! Units as DynamoDB bills them: a transactional write 2 units per KB of each item it touches
//! (condition checks too), the sequence's UpdateItem 1 per KB; a strongly consistent read
//! (the store's) 1 unit per 4 KB, per item for GetItem and BatchGetItem, over the summed
//! items for a Query.
//!
//! `cargo run --release -p jsonapi-bench --bin hot-partitions`

use std::collections::HashMap;
use std::sync::Arc;

use clap::Parser;
use jsonapi_config::ResourceType;
use jsonapi_engine::extension::ChangeSet;
use jsonapi_engine::resource::{self, Resource};
use jsonapi_engine::shards::shard_pk;
use jsonapi_engine::{Engine, SEQUENCE_BLOCK};
use jsonapi_store::limits::item_size;
use jsonapi_store::{Key, Write};
use serde_json::Value;

#[derive(Debug, Parser)]
struct Args {
    /// Resources of the type already stored (ids 1..=N).
    #[arg(long, default_value_t = 10_000_000)]
    resources: u64,
    /// Creates per second.
    #[arg(long, default_value_t = 10_000)]
    creates: u64,
    /// Reads per second.
    #[arg(long, default_value_t = 50_000)]
    reads: u64,
    /// Categories the products are spread over.
    #[arg(long, default_value_t = 100)]
    categories: u64,
    /// Shard counts to compare.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16,32")]
    shards: Vec<u32>,
    /// Of the reads, per cent GET one (the rest: list pages, then filtered pages).
    #[arg(long, default_value_t = 70)]
    get_percent: u64,
    /// Of the reads, per cent list pages of 10 (half the first page, half at a random cursor).
    #[arg(long, default_value_t = 20)]
    list_percent: u64,
}

const WRITE_UNIT: usize = 1024;
const READ_UNIT: usize = 4096;
/// DynamoDB's per-partition limits.
const PARTITION_WCU: f64 = 1000.0;
const PARTITION_RCU: f64 = 3000.0;
const PAGE: usize = 10;

/// Deterministic samples (SplitMix64), so that every run prints the same figures.
struct Sampler(u64);

impl Sampler {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % n
    }
}

/// Units and requests per partition key and per item over the simulated second.
#[derive(Default)]
struct Tally {
    partitions: HashMap<String, Load>,
    items: HashMap<Key, Load>,
}

#[derive(Default, Clone, Copy)]
struct Load {
    wcu: f64,
    rcu: f64,
    writes: f64,
    reads: f64,
    /// Bytes written.
    bytes: f64,
}

impl Tally {
    fn write(&mut self, key: &Key, size: usize, units_per_kb: f64) {
        let units = units_per_kb * size.div_ceil(WRITE_UNIT) as f64;
        for load in [
            self.partitions.entry(key.pk.clone()).or_default(),
            self.items.entry(key.clone()).or_default(),
        ] {
            load.wcu += units;
            load.writes += 1.0;
            load.bytes += size as f64;
        }
    }

    /// One GetItem (or one item of a BatchGetItem).
    fn get(&mut self, key: &Key, size: usize) {
        let units = size.div_ceil(READ_UNIT) as f64;
        for load in [
            self.partitions.entry(key.pk.clone()).or_default(),
            self.items.entry(key.clone()).or_default(),
        ] {
            load.rcu += units;
            load.reads += 1.0;
        }
    }

    /// One Query returning `keys` of `size` bytes each: units over their summed size, shared
    /// among them for the per-item figures.
    fn query(&mut self, pk: &str, keys: &[Key], size: usize) {
        // (Entries are a few dozen bytes: a page's range is one unit whatever the shard.)
        let total = (keys.len() * size).max(1);
        let units = total.div_ceil(READ_UNIT) as f64;
        let load = self.partitions.entry(pk.to_owned()).or_default();
        load.rcu += units;
        load.reads += 1.0;
        for key in keys {
            let item = self.items.entry(key.clone()).or_default();
            item.rcu += units / keys.len() as f64;
            item.reads += 1.0;
        }
    }

    /// The key with the most load by `by`, and its load; ties go to the first key in key
    /// order, so that every run names the same one.
    fn hottest<K: Clone + Ord>(map: &HashMap<K, Load>, by: fn(&Load) -> f64) -> (K, Load) {
        map.iter()
            .max_by(|a, b| by(a.1).total_cmp(&by(b.1)).then_with(|| b.0.cmp(a.0)))
            .map(|(k, l)| (k.clone(), *l))
            .expect("some traffic")
    }
}

/// The example domain with `shards` on its products.
fn schema(shards: u32) -> jsonapi_engine::Schema {
    let text = jsonapi_config::EXAMPLE_DOMAIN.replacen(
        "\n  products:\n",
        &format!("\n  products:\n    shards: {shards}\n"),
        1,
    );
    jsonapi_config::parse("example.yaml", &text).expect("the example with shards is valid")
}

/// A product (of `products`, the type) as the engine stores it.
fn product(products: &Arc<ResourceType>, id: u64, category: u64) -> Resource {
    let mut r = Resource::new(products, &id.to_string());
    r.version = 1;
    for (name, value) in [
        ("sku", Value::from(format!("SKU-{id:08}"))),
        ("name", Value::from(format!("Product {id}"))),
        (
            "price",
            Value::from(format!("{}.{:02}", id % 500, id % 100)),
        ),
        ("status", Value::from("enabled")),
        ("quantity", Value::from(id % 50)),
        ("createdAt", Value::from("2026-12-06T12:00:00.000000Z")),
        ("updatedAt", Value::from("2026-12-06T12:00:00.000000Z")),
    ] {
        r.attributes.insert(name.to_owned(), value);
    }
    r.to_one
        .insert("category".to_owned(), Some(category.to_string()));
    r
}

/// One simulated second with `shards` shards on the products' listing and indexes.
fn simulate<S: jsonapi_store::Store>(engine: &Engine<S>, args: &Args, shards: u32) -> Tally {
    let schema = engine.schema();
    let ty = schema.resource_type("products").expect("products");
    let mut tally = Tally::default();
    let mut sample = Sampler(u64::from(shards));
    for n in 0..args.creates {
        let id = args.resources + 1 + n;
        let mut changes = ChangeSet::default();
        changes.put(None, product(ty, id, 1 + sample.below(args.categories)));
        for w in engine
            .planned_writes(&changes)
            .expect("one create's writes")
        {
            tally.write(w.key(), write_size(&w), 2.0);
        }
        if n % SEQUENCE_BLOCK == 0 {
            tally.write(&resource::sequence_key("products"), 40, 1.0);
        }
    }
    let (resource_size, entry_size) = sizes(engine, args.resources / 2);
    for _ in 0..args.reads {
        let roll = sample.below(100);
        let id = 1 + sample.below(args.resources);
        if roll < args.get_percent {
            tally.get(
                &resource::resource_key("products", &id.to_string()),
                resource_size,
            );
            continue;
        }
        let (pk, start) = if roll < args.get_percent + args.list_percent {
            // Half the list pages are the first one (the most read page of any list).
            let start = if sample.below(2) == 0 { 1 } else { id };
            (resource::listing_pk("products"), start)
        } else {
            let category = 1 + sample.below(args.categories);
            let include = resource::resource_key("categories", &category.to_string());
            tally.get(&include, 200);
            (resource::composite_pk("products", "category", "price"), id)
        };
        // Every shard's range gives up to a page and one more entry; the page's resources
        // are read by one batch.
        // (The entries' ids stand for the shard's entries from `start` on: what matters is
        // that the same page reads the same entries.)
        for k in 0..shards {
            let shard = if shards > 1 {
                shard_pk(&pk, k)
            } else {
                pk.clone()
            };
            let entries: Vec<Key> = (start..=start + PAGE as u64)
                .map(|i| i * u64::from(shards) + u64::from(k))
                .map(|i| Key::new(shard.clone(), resource::id_key(ty, &i.to_string())))
                .collect();
            tally.query(&shard, &entries, entry_size);
        }
        for id in start..start + PAGE as u64 {
            let key = resource::resource_key("products", &id.to_string());
            tally.get(&key, resource_size);
        }
    }
    tally
}

/// The bytes a write is billed on: the item put, or for a delete or a check the item it
/// touches (a small one in this model: an entry, a stamp or a category).
fn write_size(w: &Write) -> usize {
    match w {
        Write::Put { item, .. } => item_size(item),
        Write::Delete { key, .. } | Write::Check { key, .. } => key.pk.len() + key.sk.len(),
    }
}

/// The items and transactional write units of one change set.
fn transaction_units<S: jsonapi_store::Store>(
    engine: &Engine<S>,
    changes: &ChangeSet,
) -> (usize, usize) {
    let writes = engine.planned_writes(changes).expect("the change's writes");
    let units = writes
        .iter()
        .map(|w| 2 * write_size(w).div_ceil(WRITE_UNIT))
        .sum();
    (writes.len(), units)
}

/// Prints what one create and one price update of a product write, for the cost table.
fn per_request<S: jsonapi_store::Store>(engine: &Engine<S>) {
    let products = engine.schema().resource_type("products").expect("products");
    let before = product(products, 42, 1);
    let mut create = ChangeSet::default();
    create.put(None, before.clone());
    let mut after = before.clone();
    after.version += 1;
    after
        .attributes
        .insert("price".to_owned(), Value::from("12.50"));
    after.attributes.insert(
        "updatedAt".to_owned(),
        Value::from("2026-12-06T13:00:00.000000Z"),
    );
    let mut update = ChangeSet::default();
    update.put(Some(before), after);
    let (items, units) = transaction_units(engine, &create);
    println!(
        "a product create writes {items} items in one transaction: {units} write units (+1 per {SEQUENCE_BLOCK} creates for the sequence block)"
    );
    let (items, units) = transaction_units(engine, &update);
    println!("a product price update (PATCH) writes {items} items: {units} write units");
}

/// An engine over a store in a fresh temporary folder (the engine writes nothing here; it
/// needs a store to exist).
fn engine(shards: u32) -> (Engine<jsonapi_store_redb::RedbStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = jsonapi_store_redb::RedbStore::open(dir.path()).expect("a store");
    (Engine::new(schema(shards), store), dir)
}

/// The sizes of a product's resource item and of its listing entry, as the engine writes them.
fn sizes<S: jsonapi_store::Store>(engine: &Engine<S>, id: u64) -> (usize, usize) {
    let products = engine.schema().resource_type("products").expect("products");
    let mut changes = ChangeSet::default();
    changes.put(None, product(products, id, 1));
    let writes = engine
        .planned_writes(&changes)
        .expect("one create's writes");
    let size_of = |pk: &str| {
        writes.iter().find_map(|w| match w {
            Write::Put { item, .. } if item.key.pk.starts_with(pk) => Some(item_size(item)),
            _ => None,
        })
    };
    let resource = resource::resource_key("products", &id.to_string()).pk;
    (
        size_of(&resource).expect("a create puts the resource item"),
        size_of(&resource::listing_pk("products")).expect("a create puts a listing entry"),
    )
}

fn main() {
    let args = Args::parse();
    println!(
        "one second: {} creates and {} reads ({}% GET one, {}% list page of {PAGE}, the rest a filtered page) on products, {} stored, {} categories",
        args.creates,
        args.reads,
        args.get_percent,
        args.list_percent,
        args.resources,
        args.categories
    );
    per_request(&engine(1).0);
    println!(
        "| shards | hottest partition by writes: write units/s (× 1,000 limit), writes/s × bytes | hottest partition by reads: read units/s (× 3,000 limit), reads/s | hottest item by writes: write units/s | hottest item by reads: read units/s, reads/s | all write units/s | all read units/s |"
    );
    println!("|---:|---|---|---|---|---:|---:|");
    for &shards in &args.shards {
        let (engine, _dir) = engine(shards);
        let tally = simulate(&engine, &args, shards);
        let (pk_w, hot_w) = Tally::hottest(&tally.partitions, |l| l.wcu);
        let (pk_r, hot_r) = Tally::hottest(&tally.partitions, |l| l.rcu);
        let (item_w, at_w) = Tally::hottest(&tally.items, |l| l.wcu);
        let (item_r, at_r) = Tally::hottest(&tally.items, |l| l.rcu);
        let all_w: f64 = tally.partitions.values().map(|l| l.wcu).sum();
        let all_r: f64 = tally.partitions.values().map(|l| l.rcu).sum();
        println!(
            "| {shards} | `{pk_w}` {:.0} (×{:.2}), {:.0} × {:.0} B | `{pk_r}` {:.0} (×{:.2}), {:.0} | `{}` `{}` {:.0} | `{}` `{}` {:.0}, {:.0} | {all_w:.0} | {all_r:.0} |",
            hot_w.wcu,
            hot_w.wcu / PARTITION_WCU,
            hot_w.writes,
            hot_w.bytes / hot_w.writes.max(1.0),
            hot_r.rcu,
            hot_r.rcu / PARTITION_RCU,
            hot_r.reads,
            item_w.pk,
            item_w.sk.escape_default(),
            at_w.wcu,
            item_r.pk,
            item_r.sk.escape_default(),
            at_r.rcu,
            at_r.reads,
        );
    }
}
