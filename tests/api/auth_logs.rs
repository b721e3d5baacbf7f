//! No secret reaches the log: the real binary, logging at `debug`, is driven through every
//! authentication path (client credentials, password, refresh, failures of each, a refused
//! bearer, a user's password written), and its log must hold none of the secrets it saw.

use jsonapi_tests::binary::ServerProcess;
use jsonapi_tests::{ApiClient, json};

fn field(response: &jsonapi_tests::TestResponse, name: &str) -> String {
    response.assert_status(200);
    response.json()[name]
        .as_str()
        .unwrap_or_else(|| panic!("{}\nno {name}", response.describe()))
        .to_owned()
}

#[test]
fn the_debug_log_holds_no_secret() {
    let data = tempfile::tempdir().expect("a data folder");
    let data_arg = data.path().to_str().expect("a UTF-8 path");
    let server = ServerProcess::start_with_env(
        &["--listen", "127.0.0.1:0", "--data", data_arg, "--seed"],
        &[("RUST_LOG", "debug"), ("RUST_LOG_STYLE", "never")],
    );
    let client = server
        .dev_client()
        .expect("--seed prints the development client");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut secrets: Vec<(String, String)> = vec![
        ("the client secret".into(), client.secret.clone()),
        ("the seed user's password".into(), "change-me".into()),
    ];
    runtime.block_on(async {
        let api = ApiClient::new(server.base_url.clone());
        let access = api.client_token(&client).await;
        let admin = api.with_token(Some(&access));
        admin.get("/api/products").await.assert_status(200);

        let password = |username: &str, password: &str| {
            json!({ "grant_type": "password", "client_id": client.id,
                    "client_secret": client.secret, "username": username, "password": password })
        };
        let refresh = |token: &str| {
            json!({ "grant_type": "refresh_token", "client_id": client.id,
                    "client_secret": client.secret, "refresh_token": token })
        };
        let signed_in = api.token_request(&password("admin", "change-me")).await;
        let user_access = field(&signed_in, "access_token");
        let first_refresh = field(&signed_in, "refresh_token");
        let refreshed = api.token_request(&refresh(&first_refresh)).await;
        let refreshed_access = field(&refreshed, "access_token");
        let second_refresh = field(&refreshed, "refresh_token");
        api.with_token(Some(&refreshed_access))
            .get("/api/users")
            .await
            .assert_status(200);

        // Failures of every kind.
        let wrong = api
            .token_request(&password("admin", "wrong-password-4711"))
            .await;
        wrong.assert_status(400);
        let wrong = api
            .token_request(
                &json!({ "grant_type": "client_credentials", "client_id": client.id,
                                    "client_secret": "wrong-secret-0815" }),
            )
            .await;
        wrong.assert_status(401);
        api.token_request(&refresh(&first_refresh))
            .await
            .assert_status(400);
        let (signed, _) = user_access.rsplit_once('.').expect("a JWT");
        let forged = format!("{signed}.Zm9yZ2VkLXNpZ25hdHVyZS1ieS10aGUtdGVzdA");
        api.with_token(Some(&forged))
            .get("/api/products")
            .await
            .assert_status(401);

        // A password written through the API.
        admin
            .create(
                "users",
                json!({ "username": "grace", "email": "grace@example.com",
                        "password": "user-pass-1906" }),
                json!({}),
            )
            .await;

        for (what, token) in [
            ("the client's access token", &access),
            ("the user's access token", &user_access),
            ("the refreshed access token", &refreshed_access),
        ] {
            secrets.push((what.into(), token.clone()));
            // Not even a part of it: the claims or the signature.
            for (n, part) in token.split('.').enumerate().skip(1) {
                secrets.push((format!("part {n} of {what}"), part.to_owned()));
            }
        }
        secrets.push(("the first refresh token".into(), first_refresh));
        secrets.push(("the second refresh token".into(), second_refresh));
        secrets.push(("a wrong password".into(), "wrong-password-4711".into()));
        secrets.push(("a wrong client secret".into(), "wrong-secret-0815".into()));
        secrets.push(("a forged token".into(), forged));
        secrets.push(("a written password".into(), "user-pass-1906".into()));
    });
    drop(runtime);
    server.signal("TERM");
    let (status, _stdout, stderr) = server.wait();
    assert_eq!(status.code(), Some(0), "exit status {status}");

    // The log was on, and saw these requests.
    for expected in ["DEBUG", "token issued", "sign-in refused", "/oauth2-token"] {
        assert!(
            stderr.contains(expected),
            "the log lacks {expected:?}; was debug logging on?\n{stderr}"
        );
    }
    for (what, secret) in &secrets {
        assert!(!stderr.contains(secret.as_str()), "the log holds {what}");
    }
    for hash in ["$argon2", "PRIVATE KEY", "secret_hash"] {
        assert!(!stderr.contains(hash), "the log holds {hash:?}");
    }
}
