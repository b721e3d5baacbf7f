//! Signing keys (issue 19): `jsonapi-local keys rotate` makes a new key current; tokens of the
//! previous one stay valid until they expire (the JWKS lists both), then that key is retired;
//! `--retire-after 0` retires it at once (a leaked key).

use jsonapi_local::KeysCommand;
use jsonapi_tests::tokens::decode;
use jsonapi_tests::{JWKS_PATH, TestApp};

fn kid(token: &str) -> String {
    decode(token).0["kid"].as_str().expect("a kid").to_owned()
}

async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let jwks = app.anonymous().get(JWKS_PATH).await;
    jwks.assert_status(200);
    jwks.json()["keys"]
        .as_array()
        .expect("a keys list")
        .iter()
        .map(|k| k["kid"].as_str().expect("a kid").to_owned())
        .collect()
}

#[tokio::test]
async fn a_rotated_keys_tokens_stay_valid_until_they_expire_and_both_keys_are_published() {
    let mut app = TestApp::spawn().await;
    let old_token = app.token().expect("the harness's token").to_owned();
    let old_kid = kid(&old_token);
    assert_eq!(jwks_kids(&app).await, std::slice::from_ref(&old_kid));

    let printed = app
        .keys_command(KeysCommand::Rotate { retire_after: None })
        .await;
    assert!(
        printed.contains(&format!("retiring key: {old_kid}")),
        "{printed}"
    );

    // Signed by the new key now; the old key's token still works.
    let new_token = app.client_token(app.dev_client()).await;
    let new_kid = kid(&new_token);
    assert_ne!(new_kid, old_kid);
    app.get("/api/products").await.assert_status(200);
    app.with_token(Some(&new_token))
        .get("/api/products")
        .await
        .assert_status(200);
    let kids = jwks_kids(&app).await;
    assert_eq!(kids.len(), 2, "{kids:?}");
    assert!(
        kids.contains(&old_kid) && kids.contains(&new_kid),
        "{kids:?}"
    );

    let listed = app.keys_command(KeysCommand::List).await;
    assert!(
        listed.contains(&format!("{new_kid}\t")) && listed.contains("current"),
        "{listed}"
    );
    assert!(listed.contains("retiring at"), "{listed}");
}

#[tokio::test]
async fn a_key_retired_at_once_verifies_nothing_any_more() {
    let mut app = TestApp::spawn().await;
    let old_token = app.token().expect("the harness's token").to_owned();
    let old_kid = kid(&old_token);
    app.keys_command(KeysCommand::Rotate {
        retire_after: Some(0),
    })
    .await;
    let refused = app.with_token(Some(&old_token)).get("/api/products").await;
    refused.assert_status(401);
    assert!(
        refused
            .header("www-authenticate")
            .is_some_and(|h| h.contains("unknown key")),
        "{}",
        refused.describe()
    );
    assert!(!jwks_kids(&app).await.contains(&old_kid));
    let new_token = app.client_token(app.dev_client()).await;
    app.with_token(Some(&new_token))
        .get("/api/products")
        .await
        .assert_status(200);
}
