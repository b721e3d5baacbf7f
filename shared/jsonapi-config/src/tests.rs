use super::*;

#[test]
fn the_example_domain_is_valid() {
    let schema = example_domain();
    assert!(schema.resource_type("products").is_some());
}

fn error(text: &str) -> ConfigError {
    parse("api.yaml", text).expect_err("the file is invalid")
}

#[test]
fn an_unknown_key_names_its_line_and_path() {
    let e = error(
        "types:\n  products:\n    id: sequence\n    attributes:\n      sku:\n        type: string\n        maxLenght: 64\n",
    );
    assert_eq!(e.line, Some(7), "{e}");
    assert!(e.to_string().starts_with("api.yaml:7: "), "{e}");
    assert!(e.message.contains("maxLenght"), "{e}");
}

#[test]
fn a_wrong_value_names_its_key() {
    let e = error("types:\n  products:\n    id: counter\n");
    assert_eq!(e.line, Some(3), "{e}");
    assert_eq!(e.key, "types.products.id", "{e}");
}

#[test]
fn a_meaning_error_names_line_and_key() {
    let e = error(
        "types:\n  products:\n    id: sequence\n    relationships:\n      category: { target: categories }\n",
    );
    assert_eq!(e.key, "types.products.relationships.category.target");
    assert_eq!(e.line, Some(5), "{e}");
    assert!(e.message.contains("categories"), "{e}");
}

#[test]
fn shards_are_a_power_of_two_up_to_the_most() {
    let ty = |shards: &str| format!("types:\n  a:\n    id: sequence\n{shards}");
    let shards_of = |text: &str| {
        parse("api.yaml", text)
            .expect("valid")
            .resource_type("a")
            .map(|t| t.shards)
    };
    assert_eq!(shards_of(&ty("")), Some(1));
    assert_eq!(shards_of(&ty("    shards: 16\n")), Some(16));
    assert_eq!(shards_of(&ty("    shards: 64\n")), Some(64));
    for bad in ["0", "3", "128", "4294967296"] {
        let e = error(&ty(&format!("    shards: {bad}\n")));
        assert_eq!((e.key.as_str(), e.line), ("types.a.shards", Some(4)), "{e}");
        assert!(e.message.contains("power of two"), "{e}");
    }
}

#[test]
fn inverse_pairs_must_agree() {
    let e = error(
        "types:\n  a:\n    id: sequence\n    relationships:\n      b: { target: b, inverse: a }\n  b:\n    id: sequence\n    relationships:\n      a: { target: a, many: true }\n",
    );
    assert_eq!(e.key, "types.a.relationships.b.inverse", "{e}");
}

#[test]
fn the_public_url_is_an_absolute_http_url() {
    assert_eq!(
        public_url("https://api.example.com/").as_deref(),
        Ok("https://api.example.com")
    );
    assert_eq!(
        public_url("http://127.0.0.1:8080/v1").as_deref(),
        Ok("http://127.0.0.1:8080/v1")
    );
    for bad in [
        "api.example.com",
        "ftp://api.example.com",
        "https://",
        "https:///api",
        "https://:8080",
        "https://api.example.com/?x=1",
        "https://api.example.com/#top",
        "https://user:pw@api.example.com",
        "https://api.example .com",
    ] {
        assert!(public_url(bad).is_err(), "{bad}");
    }
    let e = error(&with_api("  publicUrl: api.example.com\n"));
    assert_eq!((e.key.as_str(), e.line), ("api.publicUrl", Some(2)), "{e}");
    let schema = parse(
        "api.yaml",
        &with_api("  publicUrl: https://shop.example/v1/\n"),
    )
    .expect("valid");
    assert_eq!(
        schema.api.public_url.as_deref(),
        Some("https://shop.example/v1")
    );
}

/// A small API with users and roles, `api:` settings inserted at line 2.
fn with_api(settings: &str) -> String {
    format!(
        "api:\n{settings}types:\n  users:\n    id: sequence\n    attributes:\n      username: {{ type: string, unique: true }}\n      password: {{ type: string }}\n    relationships:\n      roles: {{ target: roles, many: true }}\n  roles:\n    id: client\n    attributes:\n      permissions: {{ type: json }}\n"
    )
}

#[test]
fn the_auth_defaults_and_settings_are_read() {
    let schema = parse("api.yaml", &with_api("")).expect("valid");
    let auth = &schema.api.auth;
    assert!(auth.enabled);
    assert_eq!(
        (auth.issuer.as_str(), auth.audience.as_str()),
        ("jsonapi", "jsonapi")
    );
    assert_eq!(auth.access_token_lifetime, 3600);
    assert_eq!(auth.refresh_token_lifetime, 18_144_000);
    assert_eq!(auth.users.as_deref(), Some("users"));
    assert_eq!(auth.roles.as_deref(), Some("roles"));
    assert!(auth.anonymous.is_empty());
    assert!(schema.api.cors.allow_origins.is_empty());
    assert_eq!(schema.api.cors.preflight_max_age, 600);

    let schema = parse(
        "api.yaml",
        &with_api("  auth:\n    enabled: false\n    issuer: https://api.example.com\n    accessTokenLifetime: 600\n    anonymous: [roles]\n  cors:\n    allowOrigins: [\"https://app.example.com\"]\n    allowCredentials: true\n"),
    )
    .expect("valid");
    assert!(!schema.api.auth.enabled);
    assert_eq!(schema.api.auth.issuer, "https://api.example.com");
    assert_eq!(schema.api.auth.access_token_lifetime, 600);
    assert_eq!(schema.api.auth.anonymous, ["roles"]);
    assert_eq!(schema.api.cors.allow_origins, ["https://app.example.com"]);
    assert!(schema.api.cors.allow_credentials);
}

#[test]
fn an_unknown_anonymous_type_names_its_entry() {
    let e = error(&with_api(
        "  auth:\n    anonymous:\n      - roles\n      - ghosts\n",
    ));
    assert_eq!(e.key, "api.auth.anonymous.1", "{e}");
    assert_eq!(e.line, Some(5), "{e}");
    assert!(
        e.to_string()
            .starts_with("api.yaml:5: api.auth.anonymous.1: "),
        "{e}"
    );
    assert!(e.message.contains("ghosts"), "{e}");
    let e = error(&with_api("  auth:\n    anonymous: [ghosts]\n"));
    assert_eq!(e.key, "api.auth.anonymous.0", "{e}");
    assert_eq!(e.line, Some(3), "{e}");
}

#[test]
fn a_roles_type_needs_a_json_permissions_attribute() {
    let text = with_api("  auth:\n    roles: users\n");
    let e = error(&text);
    assert_eq!(e.key, "api.auth.roles", "{e}");
    assert_eq!(e.line, Some(3), "{e}");
    assert!(
        e.to_string().starts_with("api.yaml:3: api.auth.roles: "),
        "{e}"
    );
    assert!(e.message.contains("permissions"), "{e}");
    let text = with_api("  auth:\n    roles: roles\n").replace(
        "permissions: { type: json }",
        "permissions: { type: string }",
    );
    let e = error(&text);
    assert_eq!(e.key, "api.auth.roles", "{e}");
    assert!(e.message.contains("\"roles\""), "{e}");
    // Unnamed, a type called `roles` is the roles type, and must qualify: ignoring it
    // would let every authenticated caller do everything.
    let e = error(&with_api("").replace(
        "permissions: { type: json }",
        "permissions: { type: string }",
    ));
    assert_eq!(e.key, "api.auth.roles", "{e}");
    assert!(e.message.contains("\"permissions\""), "{e}");
    let e = error(&with_api("  auth:\n    roles: nothing\n"));
    assert_eq!(e.key, "api.auth.roles", "{e}");
    assert!(e.message.contains("nothing"), "{e}");
}

#[test]
fn a_users_type_needs_username_password_and_roles() {
    for (from, to) in [
        (
            "username: { type: string, unique: true }",
            "login: { type: string }",
        ),
        (
            "username: { type: string, unique: true }",
            "username: { type: string }",
        ),
        ("password: { type: string }", "password: { type: integer }"),
    ] {
        let e = error(&with_api("  auth:\n    users: users\n").replace(from, to));
        assert_eq!(e.key, "api.auth.users", "{e}");
        assert_eq!(e.line, Some(3), "{e}");
        assert!(
            e.to_string().starts_with("api.yaml:3: api.auth.users: "),
            "{e}"
        );
        assert!(
            e.message.contains("username") && e.message.contains("password"),
            "{e}"
        );
    }
    let e = error(&with_api("  auth:\n    users: users\n").replace(
        "roles: { target: roles, many: true }",
        "roles: { target: roles }",
    ));
    assert_eq!(e.key, "api.auth.users", "{e}");
    assert!(e.message.contains("to-many \"roles\""), "{e}");
    let e = error(&with_api("  auth:\n    users: people\n"));
    assert_eq!(e.key, "api.auth.users", "{e}");
    assert!(e.message.contains("people"), "{e}");
}

#[test]
fn token_lifetimes_must_be_in_range() {
    for value in ["59", "86401"] {
        let e = error(&with_api(&format!(
            "  auth:\n    accessTokenLifetime: {value}\n"
        )));
        assert_eq!(e.key, "api.auth.accessTokenLifetime", "{e}");
        assert_eq!(e.line, Some(3), "{e}");
        assert!(
            e.to_string()
                .starts_with("api.yaml:3: api.auth.accessTokenLifetime: "),
            "{e}"
        );
    }
    let e = error(&with_api("  auth:\n    accessTokenLifetime: -5\n"));
    assert_eq!(e.key, "api.auth.accessTokenLifetime", "{e}");
    let e = error(&with_api(
        "  auth:\n    accessTokenLifetime: 7200\n    refreshTokenLifetime: 3600\n",
    ));
    assert_eq!(e.key, "api.auth.refreshTokenLifetime", "{e}");
    assert_eq!(e.line, Some(4), "{e}");
}

#[test]
fn an_external_issuers_keys_are_inline_fetched_from_a_url_or_discovered() {
    let issuers = |entry: &str| {
        parse(
            "api.yaml",
            &with_api(&format!("  auth:\n    externalIssuers:\n      - {entry}\n")),
        )
        .map(|s| s.api.auth.external_issuers[0].keys.clone())
    };
    assert_eq!(
        issuers("issuer: https://idp.example.com\n        jwks: { keys: [] }").unwrap(),
        IssuerKeys::Inline(serde_json::json!({"keys": []}))
    );
    assert_eq!(
        issuers("issuer: x\n        jwksUri: https://idp.example.com/keys").unwrap(),
        IssuerKeys::Uri("https://idp.example.com/keys".into())
    );
    assert_eq!(
        issuers("issuer: https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc").unwrap(),
        IssuerKeys::Discovery
    );
    assert_eq!(
        issuers("issuer: http://127.0.0.1:9000/realm").unwrap(),
        IssuerKeys::Discovery
    );
    for (entry, key) in [
        ("issuer: http://idp.example.com", "issuer"),
        ("issuer: not-a-url", "issuer"),
        (
            "issuer: x\n        jwksUri: http://idp.example.com/keys",
            "jwksUri",
        ),
        (
            "issuer: x\n        jwksUri: https://idp.example.com/k\n        jwks: { keys: [] }",
            "jwksUri",
        ),
    ] {
        let e = issuers(entry).unwrap_err();
        assert_eq!(e.key, format!("api.auth.externalIssuers.0.{key}"), "{e}");
    }
}

#[test]
fn an_external_issuer_needs_an_issuer_and_a_jwks_document() {
    let e = error(&with_api(
        "  auth:\n    externalIssuers:\n      - issuer: https://idp.example.com\n        jwks: { nokeys: [] }\n",
    ));
    assert_eq!(e.key, "api.auth.externalIssuers.0.jwks", "{e}");
    assert_eq!(e.line, Some(5), "{e}");
    let e = error(&with_api(
        "  auth:\n    externalIssuers:\n      - issuer: \" \"\n        jwks: { keys: [] }\n",
    ));
    assert_eq!(e.key, "api.auth.externalIssuers.0.issuer", "{e}");
    let e = error(&with_api(
        "  auth:\n    externalIssuers:\n      - jwks: { keys: [] }\n",
    ));
    assert_eq!(e.line, Some(4), "{e}");
    assert_eq!(e.key, "api.auth.externalIssuers.0", "{e}");
    assert_eq!(e.message, "missing field `issuer`", "{e}");
    assert!(e.message.contains("missing field `issuer`"), "{e}");
}

#[test]
fn an_unknown_auth_or_cors_key_is_named() {
    let e = error(&with_api("  auth:\n    anonymus: [roles]\n"));
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.to_string().starts_with("api.yaml:3: api.auth"), "{e}");
    assert!(e.message.contains("anonymus"), "{e}");
    let e = error(&with_api(
        "  cors:\n    allowOrigin: [\"https://a.example\"]\n",
    ));
    assert_eq!(e.line, Some(3), "{e}");
    assert!(e.message.contains("allowOrigin"), "{e}");
}

#[test]
fn a_bad_cors_origin_or_header_is_named() {
    for origin in [
        "app.example.com",
        "https://app.example.com/",
        "https://app.example.com/path/",
        "ftp://x.example",
    ] {
        let e = error(&with_api(&format!(
            "  cors:\n    allowOrigins:\n      - https://ok.example.com\n      - \"{origin}\"\n"
        )));
        assert_eq!(e.key, "api.cors.allowOrigins.1", "{origin}: {e}");
        assert_eq!(e.line, Some(5), "{origin}: {e}");
        assert!(
            e.to_string()
                .starts_with("api.yaml:5: api.cors.allowOrigins.1: "),
            "{e}"
        );
    }
    let e = error(&with_api(
        "  cors:\n    allowOrigins: [\"*\"]\n    allowHeaders: [\"X Bad\"]\n",
    ));
    assert_eq!(e.key, "api.cors.allowHeaders.0", "{e}");
    assert_eq!(e.line, Some(4), "{e}");
    let e = error(&with_api("  cors:\n    exposeHeaders: [\"\"]\n"));
    assert_eq!(e.key, "api.cors.exposeHeaders.0", "{e}");
}

#[test]
fn descriptions_are_read_for_types_fields_and_filters() {
    let schema = parse(
        "api.yaml",
        "types:\n  products:\n    id: sequence\n    description: What we sell.\n    attributes:\n      name: { type: string, description: \"The name on the shelf.\" }\n    relationships:\n      parent: { target: products, description: A bundle it belongs to }\n    filters:\n      name: { operators: [contains], description: By name }\n      parent:\n",
    )
    .expect("valid");
    let ty = schema.resource_type("products").expect("declared");
    assert_eq!(ty.description.as_deref(), Some("What we sell."));
    assert_eq!(
        ty.attributes["name"].description.as_deref(),
        Some("The name on the shelf.")
    );
    assert_eq!(
        ty.relationships["parent"].description.as_deref(),
        Some("A bundle it belongs to")
    );
    assert_eq!(ty.filters["name"].description.as_deref(), Some("By name"));
    assert_eq!(ty.filters["parent"].description, None);
    assert!(schema.api.openapi && schema.api.sandbox, "on by default");
}

#[test]
fn a_blank_description_names_its_line_and_key() {
    for (text, key, line) in [
        (
            "types:\n  a:\n    id: sequence\n    description: \" \"\n",
            "types.a.description",
            4,
        ),
        (
            "types:\n  a:\n    id: sequence\n    attributes:\n      n: { type: string, description: \"\" }\n",
            "types.a.attributes.n.description",
            5,
        ),
        (
            "types:\n  a:\n    id: sequence\n    relationships:\n      b:\n        target: a\n        description: \"\"\n",
            "types.a.relationships.b.description",
            7,
        ),
        (
            "types:\n  a:\n    id: sequence\n    filters:\n      id: { description: \"  \" }\n",
            "types.a.filters.id.description",
            5,
        ),
    ] {
        let e = error(text);
        assert_eq!(e.key, key, "{e}");
        assert_eq!(e.line, Some(line), "{e}");
        assert!(
            e.to_string()
                .starts_with(&format!("api.yaml:{line}: {key}: ")),
            "{e}"
        );
    }
    let e = error("types:\n  a:\n    id: sequence\n    description: [x]\n");
    assert_eq!(e.key, "types.a.description", "{e}");
    assert_eq!(e.line, Some(4), "{e}");
}

#[test]
fn the_doc_segment_names_no_type() {
    let e = error("types:\n  products:\n    id: sequence\n  doc:\n    id: sequence\n");
    assert_eq!(e.key, "types.doc", "{e}");
    assert_eq!(e.line, Some(4), "{e}");
    assert!(e.message.contains("reserved"), "{e}");
}

#[test]
fn atomic_operations_need_a_writable_type_and_their_path() {
    let schema = parse("api.yaml", "types:\n  a:\n    id: sequence\n").expect("valid");
    assert!(!schema.api.operations, "off by default");
    let on = "api:\n  operations: true\n";
    let e = error(&format!(
        "{on}types:\n  a:\n    id: sequence\n    actions: {{ create: false, update: false, delete: false }}\n"
    ));
    assert_eq!(e.key, "api.operations", "{e}");
    assert_eq!(e.line, Some(2), "{e}");
    let e = error(&format!(
        "{on}types:\n  a:\n    id: sequence\n  operations:\n    id: sequence\n"
    ));
    assert_eq!(e.key, "types.operations", "{e}");
    assert_eq!(e.line, Some(6), "{e}");
    let schema =
        parse("api.yaml", &format!("{on}types:\n  a:\n    id: sequence\n")).expect("valid");
    assert!(schema.api.operations);
}

#[test]
fn require_if_match_needs_a_write_to_guard() {
    let e = error(
        "types:\n  a:\n    id: sequence\n    requireIfMatch: true\n    actions: { update: false, delete: false, update_relationship: false, add_relationship: false, delete_relationship: false }\n",
    );
    assert_eq!(e.key, "types.a.requireIfMatch", "{e}");
    assert_eq!(e.line, Some(4), "{e}");
    let schema = parse(
        "api.yaml",
        "types:\n  a:\n    id: sequence\n    requireIfMatch: true\n",
    )
    .expect("valid");
    assert!(schema.resource_type("a").unwrap().require_if_match);
}

#[test]
fn the_sandbox_needs_the_openapi_document() {
    let e = error("api:\n  openapi: false\ntypes:\n  a:\n    id: sequence\n");
    assert_eq!(e.key, "api.sandbox", "{e}");
    assert!(e.message.contains("api.openapi"), "{e}");
    let schema = parse(
        "api.yaml",
        "api:\n  openapi: false\n  sandbox: false\ntypes:\n  a:\n    id: sequence\n",
    )
    .expect("valid");
    assert!(!schema.api.openapi && !schema.api.sandbox);
    let schema = parse(
        "api.yaml",
        "api:\n  sandbox: false\ntypes:\n  a:\n    id: sequence\n",
    )
    .expect("valid");
    assert!(schema.api.openapi && !schema.api.sandbox);
}

#[test]
fn invalid_yaml_is_reported_with_its_line() {
    let e = error("types:\n  products: [\n");
    assert!(e.line.is_some(), "{e}");
}
