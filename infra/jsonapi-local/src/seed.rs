//! The example domain's seed data: a few categories, fifty products, customers with orders,
//! and the checkout's shipping and payment methods with a shopping list to check out.
//!
//! It is loaded through the API itself (the same validation, ids, indexes and order totals a
//! client gets) and only once per data folder: a marker item records that it was loaded.

use jsonapi_engine::Engine;
use jsonapi_store::Key;
use serde_json::{Value, json};

use crate::backend::Backend;
use crate::{Error, markers, system};

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
pub(crate) async fn load(engine: &Engine<Backend>) -> Result<(), Error> {
    if markers::read(engine.store(), &marker()).await?.is_some() {
        return Ok(());
    }
    roles(engine).await?;
    let categories = categories(engine).await?;
    let products = products(engine, &categories).await?;
    localized_names(engine, &products).await?;
    post(
        engine,
        "users",
        json!({"type": "users", "attributes": {"username": "admin", "email": "admin@example.com", "firstName": "Ada", "lastName": "Admin", "password": "change-me"},
               "relationships": {"roles": {"data": [{"type": "roles", "id": "admin"}]}}}),
    )
    .await?;
    let customer = customers_with_orders(engine, &products).await?;
    checkout_choices(engine, &customer, &products).await?;
    markers::write(engine.store(), marker(), serde_json::Map::new()).await
}

/// `admin` (everything), `editor` (the catalog, and batches of it) and `viewer` (reads of the
/// catalog).
async fn roles(engine: &Engine<Backend>) -> Result<(), Error> {
    let catalog = json!(["VIEW", "CREATE", "EDIT", "DELETE"]);
    for (label, id, permissions) in [
        ("Administrator", "admin", json!({"*": ["ALL"]})),
        (
            "Editor",
            "editor",
            json!({"categories": catalog, "products": catalog, "customers": ["VIEW"],
                   "orders": ["VIEW"], "orderlineitems": ["VIEW"],
                   "asyncoperations": ["VIEW", "CREATE"]}),
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
    Ok(())
}

/// The categories' ids, in the order of [`CATEGORIES`].
async fn categories(engine: &Engine<Backend>) -> Result<Vec<String>, Error> {
    let mut categories = Vec::new();
    for (name, parent) in CATEGORIES {
        let mut data = json!({"type": "categories", "attributes": {"name": name}});
        if let Some(p) = parent {
            data["relationships"] =
                json!({"parent": {"data": {"type": "categories", "id": categories[p - 1]}}});
        }
        categories.push(post(engine, "categories", data).await?);
    }
    Ok(categories)
}

/// Fifty products over the categories; their ids.
async fn products(engine: &Engine<Backend>, categories: &[String]) -> Result<Vec<String>, Error> {
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
    Ok(products)
}

/// The first ten products' names in German and French (`X-Localization-ID`); `fr_CA` falls
/// back to French, and the other products to their default names.
async fn localized_names(engine: &Engine<Backend>, products: &[String]) -> Result<(), Error> {
    for (n, id) in products.iter().enumerate().take(LOCALIZED_NAMES.len()) {
        for (localization, name) in [("de", LOCALIZED_NAMES[n].0), ("fr", LOCALIZED_NAMES[n].1)] {
            let mut headers = http::HeaderMap::new();
            headers.insert(
                "x-localization-id",
                http::HeaderValue::from_static(localization),
            );
            let body = json!({"data": {"type": "products", "id": id,
                                       "attributes": {"name": format!("{name} {}", n + 1)}}});
            let response = system::call_with(
                engine,
                http::Method::PATCH,
                &format!("products/{id}"),
                headers,
                body.to_string().into(),
            )
            .await;
            if !response.status.is_success() {
                return Err(Error::Refused {
                    what: format!("localizing product {id} ({localization}) failed"),
                    status: response.status,
                    body: String::from_utf8_lossy(&response.body).into_owned(),
                });
            }
        }
    }
    Ok(())
}

/// [`PRODUCT_NAMES`] in German and French.
const LOCALIZED_NAMES: [(&str, &str); 10] = [
    ("Kabellose Maus", "Souris sans fil"),
    ("Mechanische Tastatur", "Clavier mécanique"),
    ("USB-C-Hub", "Hub USB-C"),
    (
        "Kopfhörer mit Geräuschunterdrückung",
        "Casque à réduction de bruit",
    ),
    ("27-Zoll-Monitor", "Écran 27 pouces"),
    ("Taschenbuchroman", "Roman de poche"),
    ("Kochbuch", "Livre de cuisine"),
    ("Gartenschlauch", "Tuyau d'arrosage"),
    ("LED-Schreibtischlampe", "Lampe de bureau LED"),
    ("Keramikbecher", "Tasse en céramique"),
];

/// Three customers with two orders of three line items each; the first customer's id.
async fn customers_with_orders(
    engine: &Engine<Backend>,
    products: &[String],
) -> Result<String, Error> {
    let mut first = None;
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
        first.get_or_insert_with(|| customer.clone());
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
    Ok(first.unwrap_or_default())
}

/// The checkout's choices (two shipping methods, a payment-term and a redirect payment
/// method), an address, and a shopping list of the first customer ready to check out.
async fn checkout_choices(
    engine: &Engine<Backend>,
    customer: &str,
    products: &[String],
) -> Result<(), Error> {
    for (id, label, price) in [
        ("flat-rate", "Flat rate", "5.00"),
        ("express", "Express", "15.00"),
    ] {
        post(
            engine,
            "shippingmethods",
            json!({"type": "shippingmethods", "id": id, "attributes": {"label": label, "price": price}}),
        )
        .await?;
    }
    for (id, label, kind) in [
        ("payment-term", "Payment term (net 30)", "paymentTerm"),
        ("card", "Card at the payment provider", "redirect"),
    ] {
        post(
            engine,
            "paymentmethods",
            json!({"type": "paymentmethods", "id": id, "attributes": {"label": label, "kind": kind}}),
        )
        .await?;
    }
    post(
        engine,
        "addresses",
        json!({"type": "addresses", "attributes": {"street": "1 Main Street", "city": "Springfield", "postalCode": "12345", "country": "US"}}),
    )
    .await?;
    let list = post(
        engine,
        "shoppinglists",
        json!({"type": "shoppinglists", "attributes": {"name": "Office supplies"},
               "relationships": {"customer": {"data": {"type": "customers", "id": customer}}}}),
    )
    .await?;
    for (i, product) in products.iter().take(2).enumerate() {
        post(
            engine,
            "shoppinglistitems",
            json!({"type": "shoppinglistitems", "attributes": {"quantity": i + 1},
                   "relationships": {"shoppingList": {"data": {"type": "shoppinglists", "id": list}},
                                     "product": {"data": {"type": "products", "id": product}}}}),
        )
        .await?;
    }
    Ok(())
}

/// Creates one resource through the API (as the process itself) and returns its id.
async fn post(engine: &Engine<Backend>, ty: &str, data: Value) -> Result<String, Error> {
    system::create(engine, ty, data, || format!("creating {ty} failed")).await
}
