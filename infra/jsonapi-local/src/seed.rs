//! The example domain's seed data: a few categories, fifty products, customers with orders.
//!
//! It is loaded through the API itself (the same validation, ids, indexes and order totals a
//! client gets) and only once per data folder: a marker item records that it was loaded.

use http::Method;
use jsonapi_store::{Condition, Item, Key, Store, Write};
use serde_json::{Value, json};

use jsonapi_engine::Engine;

fn marker() -> Key {
    Key::new("meta#seed", "#")
}

const CATEGORIES: [(&str, Option<usize>); 5] = [
    ("Electronics", None),
    ("Books", None),
    ("Home & Garden", None),
    ("Laptops", Some(1)),
    ("Phones", Some(1)),
];

const PRODUCT_NAMES: [&str; 10] = [
    "Wireless Mouse",
    "Mechanical Keyboard",
    "USB-C Hub",
    "Noise-Cancelling Headphones",
    "27-inch Monitor",
    "Paperback Novel",
    "Cookbook",
    "Garden Hose",
    "LED Desk Lamp",
    "Ceramic Mug",
];

/// Loads the seed data unless this data folder has it already.
pub(crate) async fn load<S: Store>(engine: &Engine<S>) -> Result<(), String> {
    if read_marker(engine.store(), &marker()).await?.is_some() {
        return Ok(());
    }
    let catalog = json!(["VIEW", "CREATE", "EDIT", "DELETE"]);
    for (label, id, permissions) in [
        ("Administrator", "admin", json!({"*": ["ALL"]})),
        (
            "Editor",
            "editor",
            json!({"categories": catalog, "products": catalog, "customers": ["VIEW"],
                   "orders": ["VIEW"], "orderlineitems": ["VIEW"]}),
        ),
        (
            "Viewer",
            "viewer",
            json!({"categories": ["VIEW"], "products": ["VIEW"]}),
        ),
    ] {
        post(
            engine,
            "roles",
            json!({"type": "roles", "id": id, "attributes": {"label": label, "permissions": permissions}}),
        )
        .await?;
    }
    let mut categories = Vec::new();
    for (name, parent) in CATEGORIES {
        let mut data = json!({"type": "categories", "attributes": {"name": name}});
        if let Some(p) = parent {
            data["relationships"] =
                json!({"parent": {"data": {"type": "categories", "id": categories[p - 1]}}});
        }
        categories.push(post(engine, "categories", data).await?);
    }
    let mut products = Vec::new();
    for n in 1..=50_usize {
        let name = PRODUCT_NAMES[(n - 1) % PRODUCT_NAMES.len()];
        let category = &categories[(n - 1) % categories.len()];
        let price = format!("{}.{:02}", 5 + (n * 7) % 95, (n * 13) % 100);
        let data = json!({
            "type": "products",
            "attributes": {
                "sku": format!("SKU-{n:04}"),
                "name": format!("{name} {n}"),
                "description": format!("Seed product number {n}."),
                "price": price,
                "status": if n % 10 == 0 { "disabled" } else { "enabled" },
                "quantity": (n * 3) % 40,
                "tags": if n % 2 == 0 { json!(["featured", "seed"]) } else { json!(["seed"]) },
            },
            "relationships": {"category": {"data": {"type": "categories", "id": category}}}
        });
        products.push(post(engine, "products", data).await?);
    }
    post(
        engine,
        "users",
        json!({"type": "users", "attributes": {"username": "admin", "email": "admin@example.com", "firstName": "Ada", "lastName": "Admin", "password": "change-me"},
               "relationships": {"roles": {"data": [{"type": "roles", "id": "admin"}]}}}),
    )
    .await?;
    for (c, (name, email)) in [
        ("Acme Ltd", "orders@acme.example"),
        ("Globex", "buying@globex.example"),
        ("Initech", "it@initech.example"),
    ]
    .into_iter()
    .enumerate()
    {
        let customer = post(
            engine,
            "customers",
            json!({"type": "customers", "attributes": {"name": name, "email": email}}),
        )
        .await?;
        for o in 0..2_usize {
            let order = post(
                engine,
                "orders",
                json!({"type": "orders", "attributes": {"poNumber": format!("PO-{}{}", c + 1, o + 1)},
                       "relationships": {"customer": {"data": {"type": "customers", "id": customer}}}}),
            )
            .await?;
            for l in 0..3_usize {
                let product = &products[(c * 7 + o * 3 + l) % products.len()];
                post(
                    engine,
                    "orderlineitems",
                    json!({"type": "orderlineitems", "attributes": {"quantity": l + 1, "price": format!("{}.50", 10 + l)},
                           "relationships": {"order": {"data": {"type": "orders", "id": order}},
                                             "product": {"data": {"type": "products", "id": product}}}}),
                )
                .await?;
            }
        }
    }
    write_marker(engine.store(), marker(), serde_json::Map::new()).await
}

/// A marker item: something done once per data folder (or table).
pub(crate) async fn read_marker<S: Store>(store: &S, key: &Key) -> Result<Option<Item>, String> {
    store.get(key).await.map_err(|e| e.to_string())
}

/// Records that something was done, unless a racing process recorded it first.
pub(crate) async fn write_marker<S: Store>(
    store: &S,
    key: Key,
    attrs: serde_json::Map<String, Value>,
) -> Result<(), String> {
    let put = Write::Put {
        item: Item { key, attrs },
        condition: Some(Condition::Absent),
    };
    store.transact(vec![put]).await.map_err(|e| e.to_string())
}

/// Creates one resource through the API (as the process itself) and returns its id.
async fn post<S: Store>(engine: &Engine<S>, ty: &str, data: Value) -> Result<String, String> {
    let path = format!("{}/{ty}", engine.schema().api.prefix);
    let body = json!({ "data": data });
    let response = engine
        .handle_as_system(crate::dev_client::request(Method::POST, path, Some(&body)))
        .await;
    let body: Value = serde_json::from_slice(&response.body).map_err(|e| e.to_string())?;
    if !response.status.is_success() {
        return Err(format!(
            "creating {ty} failed ({}): {body}",
            response.status
        ));
    }
    body["data"]["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| format!("no id in {body}"))
}
