//! `X-Include: totalCount` on filtered lists, cursor pages, to-many related collections and
//! relationship endpoints: the number of matches whatever the page (Oro §2.3; acceptance row
//! 26). Every count is computed here from the seed data read with plain GETs.

use jsonapi_tests::values::{attr, to_one_id};
use jsonapi_tests::{ApiClient, Value};

use crate::query_support::{all_of, dec_attr, dec_units, get_ok, str_attr};

async fn total_count(api: &ApiClient, path: &str) -> usize {
    let response = api.get_with(path, &[("X-Include", "totalCount")]).await;
    response.assert_status(200);
    match response.header("x-include-total-count") {
        Some(count) => count
            .parse()
            .unwrap_or_else(|_| panic!("{}\nthe count is not a number", response.describe())),
        None => panic!("{}\nexpected X-Include-Total-Count", response.describe()),
    }
}

fn count(items: &[Value], keep: impl Fn(&Value) -> bool) -> usize {
    items.iter().filter(|r| keep(r)).count()
}

#[tokio::test]
async fn the_total_count_of_a_filtered_list_ignores_paging() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let categories = all_of(&app, "categories").await;
    let enabled = |p: &Value| str_attr(p, "status") == "enabled";
    assert_eq!(
        total_count(&app, "/api/products?filter[status]=enabled&page[size]=3").await,
        count(&products, enabled)
    );
    assert_eq!(
        total_count(
            &app,
            "/api/products?filter[status]=enabled&sort=-price&page[size]=3&page[number]=4"
        )
        .await,
        count(&products, enabled)
    );
    assert_eq!(
        total_count(
            &app,
            "/api/products?filter[category]=2&filter[price][gt]=30&page[size]=1"
        )
        .await,
        count(&products, |p| {
            to_one_id(p, "category") == Some("2") && dec_attr(p, "price") > dec_units("30")
        })
    );
    assert_eq!(
        total_count(&app, "/api/products?filter[tags][contains]=featured").await,
        count(&products, |p| {
            attr(p, "tags")
                .as_array()
                .is_some_and(|t| t.iter().any(|t| t == "featured"))
        })
    );
    assert_eq!(
        total_count(&app, "/api/products?filter[category.parent]=1&page[size]=2").await,
        count(&products, |p| {
            to_one_id(p, "category").is_some_and(|c| {
                categories
                    .iter()
                    .any(|cat| cat["id"] == c && to_one_id(cat, "parent") == Some("1"))
            })
        })
    );
    assert_eq!(
        total_count(&app, "/api/products?filter[id]=3,9,27").await,
        3
    );
    assert_eq!(
        total_count(&app, "/api/products?filter[name][contains]=no-such-name").await,
        0
    );
    // A cursor page counts the same.
    assert_eq!(
        total_count(
            &app,
            "/api/products?filter[status]=enabled&page[size]=4&page[after]="
        )
        .await,
        count(&products, enabled)
    );
}

#[tokio::test]
async fn the_total_count_of_a_related_collection_and_a_relationship_counts_its_members() {
    let app = jsonapi_tests::shared_seeded();
    let products = all_of(&app, "products").await;
    let orders = all_of(&app, "orders").await;
    let in_two = |p: &Value| to_one_id(p, "category") == Some("2");
    assert_eq!(
        total_count(&app, "/api/categories/2/products?page[size]=2").await,
        count(&products, in_two)
    );
    assert_eq!(
        total_count(
            &app,
            "/api/categories/2/relationships/products?page[size]=2"
        )
        .await,
        count(&products, in_two)
    );
    assert_eq!(
        total_count(
            &app,
            "/api/categories/2/products?filter[price][lt]=50&page[size]=1"
        )
        .await,
        count(&products, |p| in_two(p)
            && dec_attr(p, "price") < dec_units("50"))
    );
    let customer = to_one_id(&orders[0], "customer")
        .expect("a customer")
        .to_owned();
    let of_customer = |o: &Value| to_one_id(o, "customer") == Some(customer.as_str());
    assert_eq!(
        total_count(
            &app,
            &format!("/api/customers/{customer}/orders?page[size]=1")
        )
        .await,
        count(&orders, of_customer)
    );
    assert_eq!(
        total_count(
            &app,
            &format!("/api/customers/{customer}/relationships/orders")
        )
        .await,
        count(&orders, of_customer)
    );
    let response = get_ok(&app, "/api/categories/2/products").await;
    assert_eq!(response.header("x-include-total-count"), None);
}
