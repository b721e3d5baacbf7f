use jsonapi_store_redb::RedbStore;

use super::*;

pub(crate) fn store() -> (tempfile::TempDir, Arc<RedbStore>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(RedbStore::open(dir.path()).unwrap());
    (dir, store)
}

fn clients(store: &Arc<RedbStore>) -> ClientStore<RedbStore> {
    ClientStore::new(Arc::clone(store), Passwords::insecure_fast_for_tests())
}

#[tokio::test]
async fn created_client_authenticates_and_stores_only_a_hash() {
    let (_dir, store) = store();
    let c = clients(&store);
    let new = c
        .create(
            "Shop sync",
            &["integration".into()],
            &[GrantType::ClientCredentials],
        )
        .await
        .unwrap();
    assert_eq!(new.id.len(), 22);
    assert!(new.secret.expose().len() >= 43);

    let info = c
        .authenticate(&new.id, Some(new.secret.expose()))
        .await
        .unwrap();
    assert_eq!(info.name, "Shop sync");
    assert_eq!(info.roles, vec!["integration".to_owned()]);
    assert!(info.allows(GrantType::ClientCredentials));
    assert!(!info.allows(GrantType::Password));
    assert!(!info.revoked);
    assert!(info.created.ends_with('Z'), "{}", info.created);

    // The stored item holds a digest and never the secret.
    let item = store.get(&client_key(&new.id)).await.unwrap().unwrap();
    let stored = serde_json::to_string(&item.attrs).unwrap();
    assert!(!stored.contains(new.secret.expose()));
    assert_eq!(
        str_attr(&item.attrs, "secret_hash").unwrap(),
        secret_digest(new.secret.expose())
    );
}

#[tokio::test]
async fn a_client_stored_with_an_argon2id_hash_still_authenticates() {
    let (_dir, store) = store();
    let c = clients(&store);
    let new = c
        .create("old", &[], &[GrantType::ClientCredentials])
        .await
        .unwrap();
    let mut item = store.get(&client_key(&new.id)).await.unwrap().unwrap();
    let hash = Passwords::insecure_fast_for_tests()
        .hash(new.secret.expose())
        .unwrap();
    item.attrs
        .insert("secret_hash".into(), hash.as_str().into());
    store
        .transact(vec![Write::Put {
            item,
            condition: None,
        }])
        .await
        .unwrap();
    assert!(
        c.authenticate(&new.id, Some(new.secret.expose()))
            .await
            .is_ok()
    );
    assert!(matches!(
        c.authenticate(&new.id, Some("nope")).await,
        Err(ClientAuthError::WrongSecret)
    ));
}

#[tokio::test]
async fn wrong_secret_unknown_and_revoked_clients_are_refused() {
    let (_dir, store) = store();
    let c = clients(&store);
    let new = c
        .create("a", &[], &[GrantType::ClientCredentials])
        .await
        .unwrap();
    assert!(matches!(
        c.authenticate(&new.id, Some("nope")).await,
        Err(ClientAuthError::WrongSecret)
    ));
    assert!(matches!(
        c.authenticate("unknownclientid", Some(new.secret.expose()))
            .await,
        Err(ClientAuthError::Unknown)
    ));
    assert!(matches!(
        c.authenticate("bad#id", Some(new.secret.expose())).await,
        Err(ClientAuthError::Unknown)
    ));
    assert!(matches!(
        c.authenticate("", Some("")).await,
        Err(ClientAuthError::Unknown)
    ));

    c.revoke(&new.id).await.unwrap();
    assert!(matches!(
        c.authenticate(&new.id, Some(new.secret.expose())).await,
        Err(ClientAuthError::Revoked)
    ));
    // Revoking twice is fine; an unknown id is NotFound.
    c.revoke(&new.id).await.unwrap();
    assert!(matches!(
        c.revoke("nobody").await,
        Err(ClientError::NotFound)
    ));
    assert!(c.get(&new.id).await.unwrap().unwrap().revoked);
}

#[tokio::test]
async fn list_shows_every_client_without_secrets() {
    let (_dir, store) = store();
    let clock = Clock::manual(1_700_000_000);
    let c = clients(&store).with_clock(clock.clone());
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(
            c.create(
                &format!("client {i}"),
                &["r".into()],
                &[
                    GrantType::Password,
                    GrantType::Password,
                    GrantType::RefreshToken,
                ],
            )
            .await
            .unwrap(),
        );
        clock.advance(1);
    }
    c.revoke(&made[2].id).await.unwrap();
    let list = c.list().await.unwrap();
    assert_eq!(list.len(), 5);
    let names: Vec<&str> = list.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        ["client 0", "client 1", "client 2", "client 3", "client 4"]
    );
    assert_eq!(list[0].created, "2023-11-14T22:13:20Z");
    assert_eq!(
        list[0].grant_types,
        vec![GrantType::Password, GrantType::RefreshToken]
    );
    assert!(list[2].revoked);
    let shown = serde_json::to_string(&list).unwrap() + &format!("{list:?}");
    for m in &made {
        assert!(!shown.contains(m.secret.expose()));
    }
    assert!(!shown.contains("argon2"));
}

#[tokio::test]
async fn invalid_creations_are_refused() {
    let (_dir, store) = store();
    let c = clients(&store);
    assert!(matches!(
        c.create("  ", &[], &[GrantType::Password]).await,
        Err(ClientError::Invalid(_))
    ));
    assert!(matches!(
        c.create(&"x".repeat(201), &[], &[GrantType::Password])
            .await,
        Err(ClientError::Invalid(_))
    ));
    assert!(matches!(
        c.create("a", &[], &[]).await,
        Err(ClientError::Invalid(_))
    ));
    assert!(c.list().await.unwrap().is_empty());
}

#[tokio::test]
async fn debug_of_a_new_client_hides_the_secret() {
    let (_dir, store) = store();
    let c = clients(&store);
    let new = c.create("a", &[], &[GrantType::Password]).await.unwrap();
    let shown = format!("{new:?} {c:?}");
    assert!(shown.contains(&new.id));
    assert!(!shown.contains(new.secret.expose()));
}

#[tokio::test]
async fn public_clients_have_no_secret_and_only_the_grants_of_a_signed_in_user() {
    let (_dir, store) = store();
    let c = clients(&store);
    let spec = ClientSpec {
        name: "Shop app".into(),
        roles: Vec::new(),
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        redirect_uris: vec!["com.example.shop:/callback".into()],
    };
    let Registered::Public { id } = c.register(&spec, true).await.unwrap() else {
        panic!("a public client");
    };
    let item = store.get(&client_key(&id)).await.unwrap().unwrap();
    assert!(item.attrs.get("secret_hash").is_none());
    let info = c.authenticate(&id, None).await.unwrap();
    assert!(info.public);
    assert!(info.has_redirect_uri("com.example.shop:/callback"));
    assert!(!info.has_redirect_uri("com.example.shop:/callback/"));
    // A secret is no way in for it, not even an empty one.
    for secret in ["", "guess"] {
        assert!(matches!(
            c.authenticate(&id, Some(secret)).await,
            Err(ClientAuthError::WrongKind)
        ));
    }
    // Without a secret, a confidential client is refused.
    let confidential = c
        .create("sync", &[], &[GrantType::ClientCredentials])
        .await
        .unwrap();
    assert!(matches!(
        c.authenticate(&confidential.id, None).await,
        Err(ClientAuthError::WrongKind)
    ));
    c.revoke(&id).await.unwrap();
    assert!(matches!(
        c.authenticate(&id, None).await,
        Err(ClientAuthError::Revoked)
    ));

    let refused = |spec: ClientSpec, public: bool| {
        let c = c.clone();
        async move {
            match c.register(&spec, public).await {
                Err(ClientError::Invalid(message)) => message,
                other => panic!("refused: {other:?}"),
            }
        }
    };
    let mut password = spec.clone();
    password.grant_types.push(GrantType::Password);
    assert!(refused(password, true).await.contains("password"));
    let mut roles = spec.clone();
    roles.roles = vec!["admin".into()];
    assert!(refused(roles, true).await.contains("roles"));
    let mut no_uri = spec.clone();
    no_uri.redirect_uris.clear();
    assert!(refused(no_uri, false).await.contains("redirect URI"));
    let mut bad_uri = spec.clone();
    bad_uri.redirect_uris = vec!["http://app.example.com/cb".into()];
    assert!(refused(bad_uri, false).await.contains("https"));
    let stray = ClientSpec {
        grant_types: vec![GrantType::ClientCredentials],
        ..spec
    };
    assert!(refused(stray, false).await.contains("authorization_code"));
}
