//! The document against the engine it describes: every route of `jsonapi_engine::ROUTES` that
//! a type enables is in it with exactly the methods `OPTIONS` would allow, and nothing else is;
//! every reference and link points at something that exists; the configuration's words reach
//! it. (That it is valid OpenAPI 3.1 is `openapi-spec-validator`'s to say, in
//! `infra/test.sh`; that the engine's answers fit it, the black-box suite's.)

use std::collections::BTreeSet;

use jsonapi_config::{Schema, parse};
use jsonapi_engine::{OPERATIONS_ROUTES, PathKind, ROUTES, allowed_methods};
use jsonapi_openapi::document;
use serde_json::Value;

const BASE: &str = "http://127.0.0.1:8080";

/// The (method, path) pairs the engine serves for `schema`: every route of `ROUTES` on every
/// type, for every relationship where the route names one, when `allowed_methods` allows it
/// (`HEAD`, answered as `GET`, is not listed, in the engine's table or in the document).
fn engine_routes(schema: &Schema) -> BTreeSet<(String, String)> {
    let prefix = &schema.api.prefix;
    let mut out = BTreeSet::new();
    for ty in schema.types() {
        for (method, kind, _) in &ROUTES {
            let rels: Vec<Option<&str>> = match kind {
                PathKind::List | PathKind::Item => vec![None],
                // A declared sub-resource has a related path of its own.
                PathKind::Related => ty
                    .relationships
                    .keys()
                    .chain(ty.subresources.keys())
                    .map(|r| Some(r.as_str()))
                    .collect(),
                _ => ty.relationships.keys().map(|r| Some(r.as_str())).collect(),
            };
            for rel in rels {
                let allowed = allowed_methods(ty, *kind, rel);
                // Only OPTIONS: the route does not exist for this type (404).
                if allowed.len() == 1 || !allowed.contains(&method.as_str()) {
                    continue;
                }
                let path = kind
                    .template()
                    .replace("{type}", &ty.name)
                    .replace("{relationship}", rel.unwrap_or_default());
                out.insert((method.to_string(), format!("{prefix}{path}")));
            }
        }
    }
    // The batch API: `PATCH` on the list path of the types that enable it, and the routes of
    // its asynchronous operations.
    let mut batches = false;
    for ty in schema.types() {
        if ty.actions.allows(jsonapi_config::Operation::UpdateList) {
            out.insert(("PATCH".to_owned(), format!("{prefix}/{}", ty.name)));
            batches = true;
        }
    }
    if batches {
        for path in ["/asyncoperations/{id}", "/asyncoperations/{id}/errors"] {
            for method in ["GET", "OPTIONS"] {
                out.insert((method.to_owned(), format!("{prefix}{path}")));
            }
        }
    }
    // The atomic extension's endpoint, when the configuration enables it.
    if schema.api.operations {
        for (method, path) in &OPERATIONS_ROUTES {
            out.insert((method.to_string(), format!("{prefix}{path}")));
        }
    }
    out
}

/// The (method, path) pairs of the document's operations below the API prefix.
fn documented(doc: &Value, prefix: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        if !path.starts_with(&format!("{prefix}/")) {
            continue;
        }
        for method in item.as_object().expect("a path item").keys() {
            if method != "parameters" {
                out.insert((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    out
}

fn assert_same_routes(schema: &Schema) {
    let doc = document(schema, BASE);
    let engine = engine_routes(schema);
    let doc = documented(&doc, &schema.api.prefix);
    let missing: Vec<_> = engine.difference(&doc).collect();
    let extra: Vec<_> = doc.difference(&engine).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "routes the document lacks: {missing:?}\nroutes it should not have: {extra:?}"
    );
}

/// A small API: actions switched off, a to-one without inverse, auth off, another prefix.
const SMALL: &str = "api:
  prefix: /v1
  auth:
    enabled: false
types:
  notes:
    id: client
    description: Short texts.
    attributes:
      text: { type: text, required: true, description: What the note says. }
      pinned: { type: boolean, default: false, nullable: false }
    relationships:
      author: { target: people, description: Who wrote it. }
    filters:
      pinned: { description: 'Only pinned notes, or only the others.' }
    actions: { delete_list: false, update_relationship: false, get_subresource: false }
  people:
    id: ulid
    attributes:
      name: { type: string, maxLength: 40 }
    actions: { create: false, update: false, delete: false }
";

#[test]
fn every_route_of_the_engine_is_documented_with_the_methods_it_allows() {
    assert_same_routes(&jsonapi_config::example_domain());
    let small = parse("small.yaml", SMALL).expect("a valid configuration");
    assert_same_routes(&small);
    // Every kind of route of the engine appears for some type of the example.
    let example = jsonapi_config::example_domain();
    let doc = documented(&document(&example, BASE), &example.api.prefix);
    for (method, kind, _) in &ROUTES {
        // The prefix adds one segment to the template's.
        let segments = kind.template().split('/').count() + 1;
        assert!(
            doc.iter()
                .any(|(m, p)| m == method.as_str() && p.split('/').count() == segments),
            "no {method} {} in the document",
            kind.template()
        );
    }
}

/// Every `{"$ref": "#/..."}` in `value`, with where it sits.
fn refs<'a>(value: &'a Value, at: &str, out: &mut Vec<(String, &'a str)>) {
    match value {
        Value::Object(o) => {
            for (k, v) in o {
                if k == "$ref"
                    && let Some(target) = v.as_str()
                {
                    out.push((at.to_owned(), target));
                }
                refs(v, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                refs(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_reference_and_link_points_at_something() {
    for schema in [
        jsonapi_config::example_domain(),
        parse("small.yaml", SMALL).expect("valid"),
    ] {
        let doc = document(&schema, BASE);
        let mut found = Vec::new();
        refs(&doc, "", &mut found);
        assert!(!found.is_empty());
        for (at, target) in found {
            let pointer = target.strip_prefix('#').expect("local references only");
            assert!(doc.pointer(pointer).is_some(), "{at}: dangling {target}");
        }
        // openapi-spec-validator does not check links' operation ids.
        let mut ids = BTreeSet::new();
        for item in doc["paths"].as_object().unwrap().values() {
            for (method, op) in item.as_object().unwrap() {
                if method != "parameters" {
                    let id = op["operationId"]
                        .as_str()
                        .expect("every operation has an id");
                    assert!(ids.insert(id.to_owned()), "operationId {id} twice");
                }
            }
        }
        // Ids are public (client generators name methods after them, the sandbox's anchors
        // too): the kebab-case operation, then the path (no type here has an underscore).
        assert!(ids.iter().all(|id| !id.contains('_')), "{ids:?}");
        for item in doc["paths"].as_object().unwrap().values() {
            for op in item.as_object().unwrap().values() {
                for response in op["responses"].as_object().into_iter().flatten() {
                    for link in response.1["links"].as_object().into_iter().flatten() {
                        let id = link.1["operationId"].as_str().unwrap();
                        assert!(ids.contains(id), "a link to the unknown operation {id}");
                    }
                }
            }
        }
    }
}

#[test]
fn the_configurations_descriptions_and_switches_reach_the_document() {
    let schema = parse("small.yaml", SMALL).expect("valid");
    let doc = document(&schema, BASE);
    let tag = doc["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "notes")
        .expect("a tag per type");
    assert!(
        tag["description"]
            .as_str()
            .unwrap()
            .starts_with("Short texts."),
        "{tag}"
    );
    let attributes = &doc["components"]["schemas"]["notes.attributes"]["properties"];
    assert_eq!(attributes["text"]["description"], "What the note says.");
    let relationship = &doc["components"]["schemas"]["notes.relationships"]["properties"];
    assert_eq!(relationship["author"]["description"], "Who wrote it.");
    let filter = &doc["components"]["parameters"]["notes.filter.pinned"];
    assert_eq!(filter["name"], "filter[pinned]");
    assert!(
        filter["description"]
            .as_str()
            .unwrap()
            .starts_with("Only pinned notes, or only the others."),
        "{filter}"
    );
    // Auth off: no security scheme, no 401/403, no token routes.
    assert!(doc.get("security").is_none());
    assert!(doc["components"].get("securitySchemes").is_none());
    assert!(doc["paths"].get("/oauth2-token").is_none());
    let get = &doc["paths"]["/v1/notes/{id}"]["get"]["responses"];
    assert!(get.get("401").is_none() && get.get("404").is_some());
    assert_eq!(doc["servers"][0]["url"], BASE);
}

#[test]
fn the_security_scheme_names_the_token_endpoint_and_the_grants() {
    let doc = document(&jsonapi_config::example_domain(), BASE);
    let flows = &doc["components"]["securitySchemes"]["oauth2"]["flows"];
    assert_eq!(
        flows["clientCredentials"]["tokenUrl"],
        format!("{BASE}/oauth2-token")
    );
    // The example has a users type: the password grant (with refresh tokens) is offered, and
    // the authorization code grant, whose endpoint serves pages and redirects.
    assert_eq!(
        flows["password"]["refreshUrl"],
        format!("{BASE}/oauth2-token")
    );
    assert_eq!(
        flows["authorizationCode"]["authorizationUrl"],
        format!("{BASE}/oauth2-token/authorize")
    );
    assert_eq!(
        flows["authorizationCode"]["tokenUrl"],
        format!("{BASE}/oauth2-token")
    );
    let grants = &doc["components"]["schemas"]["token.request"]["properties"];
    assert!(
        grants["grant_type"]["enum"]
            .as_array()
            .unwrap()
            .contains(&"authorization_code".into())
            && grants["code_verifier"].is_object(),
        "{grants}"
    );
    // Every route of the engine outside the prefix is documented (HEAD as GET).
    for (method, path) in &jsonapi_engine::AUTH_ROUTES {
        let method = method.as_str().to_ascii_lowercase();
        assert!(doc["paths"][path][&method].is_object(), "{method} {path}");
    }
    let authorize = &doc["paths"]["/oauth2-token/authorize"];
    assert!(authorize["get"]["responses"]["200"]["content"]["text/html"].is_object());
    assert!(authorize["get"]["responses"]["302"]["headers"]["Location"]["required"] == true);
    assert!(authorize["post"]["responses"]["303"]["headers"]["Location"]["required"] == true);
    // Without users nobody can sign in: no authorization endpoint, no code grant.
    let mut no_users = jsonapi_config::example_domain();
    no_users.api.auth.users = None;
    let doc = document(&no_users, BASE);
    assert!(doc["paths"].get("/oauth2-token/authorize").is_none());
    assert!(
        doc["components"]["securitySchemes"]["oauth2"]["flows"]
            .get("authorizationCode")
            .is_none()
    );
    let get = &doc["paths"]["/api/products/{id}"]["get"];
    assert!(get["responses"]["401"]["$ref"].is_string());
    assert!(get.get("security").is_none(), "the document's default");
    // A type anyone may read: its reads need no token.
    let text = jsonapi_config::EXAMPLE_DOMAIN.replace(
        "  maxDelete: 100\n",
        "  maxDelete: 100\n  auth:\n    anonymous: [products]\n",
    );
    let schema = parse("api.yaml", &text).expect("valid");
    let doc = document(&schema, BASE);
    let get = &doc["paths"]["/api/products/{id}"]["get"];
    assert_eq!(get["security"][0], serde_json::json!({}));
    assert!(
        doc["paths"]["/api/products/{id}"]["patch"]
            .get("security")
            .is_none()
    );
}

#[test]
fn query_parameters_follow_what_each_route_accepts() {
    let doc = document(&jsonapi_config::example_domain(), BASE);
    let names = |path: &str, method: &str| -> BTreeSet<String> {
        doc["paths"][path][method]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let p = match p["$ref"].as_str() {
                    Some(r) => doc.pointer(r.trim_start_matches('#')).unwrap(),
                    None => p,
                };
                p["name"].as_str().unwrap().to_owned()
            })
            .collect()
    };
    let list = names("/api/products", "get");
    for expected in [
        "filter[price]",
        "filter[price][gt]",
        "filter[name][contains]",
        "filter[tags][contains]",
        "sort",
        "page[number]",
        "page[size]",
        "page[after]",
        "page[before]",
        "include",
        "fields[products]",
        "fields[categories]",
        "meta",
        "X-Include",
    ] {
        assert!(
            list.contains(expected),
            "GET /api/products lacks {expected}"
        );
    }
    // No equality on a filter that only offers `exists`/`contains`.
    assert!(!list.contains("filter[tags]"));
    let one = names("/api/products/{id}", "get");
    assert!(one.contains("include") && !one.contains("filter[price]") && !one.contains("sort"));
    let delete = names("/api/products/{id}", "delete");
    assert_eq!(
        delete,
        BTreeSet::from(["If-Match", "X-Include", "X-Product-ID"].map(str::to_owned))
    );
    let one = names("/api/products/{id}", "get");
    assert!(one.contains("If-Match") && one.contains("If-None-Match"));
    let delete_list = names("/api/products", "delete");
    assert!(delete_list.contains("filter[price]") && !delete_list.contains("page[size]"));
    let linkage = names("/api/categories/{id}/relationships/products", "get");
    assert!(linkage.contains("filter[price]") && !linkage.contains("include"));
    let to_one = names("/api/products/{id}/relationships/category", "get");
    assert_eq!(
        to_one,
        BTreeSet::from(["X-Include", "X-Product-ID"].map(str::to_owned))
    );
    // The storefront headers: localization and currency where products are shown, the SKU
    // header on the products' item paths only.
    let storefront = ["X-Localization-ID", "X-Currency", "X-Product-ID"];
    let one = names("/api/products/{id}", "get");
    assert!(storefront.iter().all(|h| one.contains(*h)), "{one:?}");
    assert!(list.contains("X-Localization-ID") && list.contains("X-Currency"));
    assert!(!list.contains("X-Product-ID"));
    let related = names("/api/categories/{id}/products", "get");
    assert!(related.contains("X-Currency") && !related.contains("X-Product-ID"));
    let category = names("/api/categories/{id}", "get");
    assert!(
        storefront.iter().all(|h| !category.contains(*h)),
        "{category:?}"
    );
    let header = doc["paths"]["/api/products/{id}"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "X-Currency")
        .unwrap();
    assert_eq!(
        header["schema"]["enum"],
        serde_json::json!(["USD", "EUR", "GBP", "JPY"])
    );
    assert_eq!(
        doc["paths"]["/api/products/{id}"]["parameters"][0]["schema"],
        serde_json::json!({ "type": "string", "minLength": 1, "examples": ["1"] })
    );
}
