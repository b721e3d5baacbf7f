//! The authorization code grant with PKCE (RFC 6749 §4.1, RFC 7636; Oro §12.2): a user signs
//! in at `/oauth2-token/authorize` and consents, the client gets a code at its redirect URI and
//! exchanges it, with the PKCE verifier, for the user's tokens. Driven here as a browser would
//! (form posts with the page's cookie), without one; `tests/browser` does it in Chromium.

use jsonapi_auth::{ClientSpec, GrantType, Registered};
use jsonapi_tests::authorize::{Browser, Pkce, location_params, request_query, sign_in_and_answer};
use jsonapi_tests::{TestApp, TestResponse, Value, json, to_many};

/// Where the test clients get their codes (nothing listens: the redirect is read, not followed).
const REDIRECT: &str = "http://127.0.0.1:9/callback";
const STATE: &str = "af0ifjsldkj & more";

/// A server with user `ada` (role `admin`, password `analytical-1843`) and a client of the
/// authorization code grant (public, or confidential with a secret).
async fn app_with_client(public: bool) -> (TestApp, Registered) {
    let app = TestApp::spawn().await;
    app.create(
        "users",
        json!({ "username": "ada", "email": "ada@example.com", "password": "analytical-1843" }),
        json!({ "roles": to_many("roles", &["admin"]) }),
    )
    .await;
    let spec = ClientSpec {
        name: "Shop <app>".into(),
        roles: Vec::new(),
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        redirect_uris: vec![REDIRECT.into()],
    };
    let client = app
        .server()
        .register_client(&spec, public)
        .await
        .expect("the client is registered");
    (app, client)
}

/// The token request exchanging `code`, with these parameters added.
fn exchange(client: &Registered, code: &str, extra: &Value) -> Value {
    let mut body = json!({ "grant_type": "authorization_code", "client_id": client.id(),
                           "code": code, "redirect_uri": REDIRECT });
    if let Registered::Confidential(c) = client {
        body["client_secret"] = json!(c.secret.expose());
    }
    for (k, v) in extra.as_object().expect("an object") {
        body[k] = v.clone();
    }
    body
}

/// Signs `ada` in for `client` with `pkce` and allows it: the code.
async fn code(app: &TestApp, client: &Registered, pkce: &Pkce) -> String {
    let query = request_query(client.id(), REDIRECT, pkce, STATE);
    let answer = sign_in_and_answer(app, &query, "ada", "analytical-1843", true).await;
    let location = answer.header("location").expect("a Location");
    assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
    let params = location_params(&answer);
    assert_eq!(params["state"], STATE, "the state comes back as sent");
    params["code"].clone()
}

fn assert_oauth_error(response: &TestResponse, code: &str) {
    response.assert_status(400);
    assert_eq!(response.json()["error"], code, "{}", response.describe());
}

#[tokio::test]
async fn a_public_client_gets_the_users_tokens_for_its_code_and_verifier_once() {
    let (app, client) = app_with_client(true).await;
    let pkce = Pkce::new();
    let code = code(&app, &client, &pkce).await;
    let request = exchange(&client, &code, &json!({ "code_verifier": pkce.verifier }));
    let tokens = app.token_request(&request).await;
    tokens.assert_status(200);
    let access = tokens.json()["access_token"].as_str().expect("a token");
    let (_, claims) = jsonapi_tests::tokens::decode(access);
    assert!(
        claims["sub"]
            .as_str()
            .is_some_and(|s| s.starts_with("user:")),
        "{claims}"
    );
    assert_eq!(claims["client_id"], client.id());
    // The user's token works (ada is an admin), and the client may refresh it without a secret.
    app.with_token(Some(access))
        .get("/api/products")
        .await
        .assert_status(200);
    let refresh = tokens.json()["refresh_token"]
        .as_str()
        .expect("a refresh token");
    app.token_request(
        &json!({ "grant_type": "refresh_token", "client_id": client.id(),
                               "refresh_token": refresh }),
    )
    .await
    .assert_status(200);
    // The code again: spent.
    assert_oauth_error(&app.token_request(&request).await, "invalid_grant");
}

#[tokio::test]
async fn wrong_verifiers_redirect_uris_and_replays_are_invalid_grant() {
    let (app, client) = app_with_client(true).await;
    let pkce = Pkce::new();
    let cases = [
        json!({ "code_verifier": Pkce::new().verifier }),
        json!({ "code_verifier": pkce.challenge }),
        json!({}),
        json!({ "code_verifier": pkce.verifier, "redirect_uri": "http://127.0.0.1:9/other" }),
    ];
    for extra in cases {
        let code = code(&app, &client, &pkce).await;
        let refused = app.token_request(&exchange(&client, &code, &extra)).await;
        assert_oauth_error(&refused, "invalid_grant");
        // The failed attempt spent the code: the right request is a replay now.
        let right = exchange(&client, &code, &json!({ "code_verifier": pkce.verifier }));
        assert_oauth_error(&app.token_request(&right).await, "invalid_grant");
    }
    // A made-up code, and a missing one.
    let made_up = exchange(
        &client,
        "not-a-code",
        &json!({ "code_verifier": pkce.verifier }),
    );
    assert_oauth_error(&app.token_request(&made_up).await, "invalid_grant");
    let mut missing = made_up;
    missing.as_object_mut().unwrap().remove("code");
    assert_oauth_error(&app.token_request(&missing).await, "invalid_request");
}

#[tokio::test]
async fn an_unusable_client_or_redirect_uri_gets_a_page_never_a_redirect() {
    let (app, client) = app_with_client(true).await;
    let pkce = Pkce::new();
    for (client_id, redirect) in [
        (client.id(), "https://evil.example/callback"),
        (client.id(), "http://127.0.0.1:9/callback/"),
        ("no-such-client", REDIRECT),
    ] {
        let page = Browser::new(&app)
            .open(&request_query(client_id, redirect, &pkce, STATE))
            .await;
        page.assert_status(400);
        assert!(page.header("location").is_none(), "{}", page.describe());
        assert!(
            page.text().contains("Go back to the application"),
            "{}",
            page.text()
        );
    }
}

#[tokio::test]
async fn other_problems_go_back_to_the_client_with_the_rfcs_error_and_the_state() {
    let (app, client) = app_with_client(true).await;
    let pkce = Pkce::new();
    let base = request_query(client.id(), REDIRECT, &pkce, STATE);
    let with = |name: &'static str, value: &'static str| {
        let mut query: Vec<(&str, &str)> =
            base.iter().filter(|(n, _)| *n != name).copied().collect();
        if !value.is_empty() {
            query.push((name, value));
        }
        query
    };
    for (query, error) in [
        (with("code_challenge_method", "plain"), "invalid_request"),
        (with("code_challenge", ""), "invalid_request"),
        (with("code_challenge_method", ""), "invalid_request"),
        (with("response_type", "token"), "unsupported_response_type"),
    ] {
        let answer = Browser::new(&app).open(&query).await;
        answer.assert_status(302);
        let params = location_params(&answer);
        assert_eq!(params["error"], error, "{query:?}");
        assert_eq!(params["state"], STATE);
        assert!(!params.contains_key("code"));
    }
    // The user may say no.
    let denied = sign_in_and_answer(&app, &base, "ada", "analytical-1843", false).await;
    let params = location_params(&denied);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], STATE);
}

#[tokio::test]
async fn the_sign_in_form_refuses_wrong_passwords_and_cross_site_posts() {
    let (app, client) = app_with_client(true).await;
    let pkce = Pkce::new();
    let mut browser = Browser::new(&app);
    let page = browser
        .open(&request_query(client.id(), REDIRECT, &pkce, STATE))
        .await;
    page.assert_status(200);
    // The client's name is shown, escaped.
    assert!(page.text().contains("Shop &lt;app&gt;"), "{}", page.text());
    let cookie = page.header("set-cookie").expect("a form-token cookie");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );

    let wrong = browser
        .submit(&page, &[("username", "ada"), ("password", "babbage")])
        .await;
    wrong.assert_status(200);
    assert!(wrong.text().contains("incorrect"), "{}", wrong.text());
    assert!(!wrong.text().contains("ticket"));

    // Without the cookie, with another origin, or marked cross-site by the browser: refused.
    let mut form = jsonapi_tests::authorize::hidden_fields(&page.text());
    form.push(("username".into(), "ada".into()));
    form.push(("password".into(), "analytical-1843".into()));
    let cookieless = Browser::new(&app).post(&form, &[]).await;
    cookieless.assert_status(403);
    for header in [
        ("Origin", "https://evil.example"),
        ("Sec-Fetch-Site", "cross-site"),
    ] {
        browser.post(&form, &[header]).await.assert_status(403);
    }
    // The page's own post goes through, once the consent ticket is used it is spent.
    let consent = browser.post(&form, &[]).await;
    consent.assert_status(200);
    let first = browser.submit(&consent, &[("decision", "allow")]).await;
    first.assert_status(303);
    let again = browser.submit(&consent, &[("decision", "allow")]).await;
    again.assert_status(400);
}

#[tokio::test]
async fn a_confidential_client_authenticates_to_exchange_its_code() {
    let (app, client) = app_with_client(false).await;
    let pkce = Pkce::new();
    let code = code(&app, &client, &pkce).await;
    let mut request = exchange(&client, &code, &json!({ "code_verifier": pkce.verifier }));
    request["client_secret"] = json!("a-wrong-secret");
    let refused = app.token_request(&request).await;
    refused.assert_status(401);
    assert_eq!(refused.json()["error"], "invalid_client");
    // The refused client did not spend the code.
    let request = exchange(&client, &code, &json!({ "code_verifier": pkce.verifier }));
    app.token_request(&request).await.assert_status(200);
}
