use jsonapi_store_redb::RedbStore;

use super::*;

fn setup() -> (
    tempfile::TempDir,
    Arc<RedbStore>,
    RefreshTokens<RedbStore>,
    Clock,
) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(RedbStore::open(dir.path()).unwrap());
    let clock = Clock::manual(1_000_000);
    let tokens = RefreshTokens::new(Arc::clone(&store))
        .with_ttl(600)
        .with_clock(clock.clone());
    (dir, store, tokens, clock)
}

fn roles() -> Vec<String> {
    vec!["editor".into()]
}

#[tokio::test]
async fn rotation_chains_tokens_in_one_family_and_stores_only_hashes() {
    let (_dir, store, tokens, clock) = setup();
    let first = tokens.issue("user:1", "app", &roles(), None).await.unwrap();
    assert_eq!(first.expires_in, 600);
    assert_eq!(first.token.expose().len(), 43);
    // Only the hash is a key; the token appears nowhere.
    assert!(
        store
            .get(&token_key(first.token.expose()))
            .await
            .unwrap()
            .is_some()
    );
    let item = store
        .get(&token_key(first.token.expose()))
        .await
        .unwrap()
        .unwrap();
    assert!(!item.key.pk.contains(first.token.expose()));
    assert!(
        !serde_json::to_string(&item.attrs)
            .unwrap()
            .contains(first.token.expose())
    );
    assert_eq!(u64_attr(&item.attrs, TTL_ATTRIBUTE), Some(1_000_600));

    clock.advance(100);
    let second = tokens.rotate(first.token.expose(), "app").await.unwrap();
    assert_eq!(second.subject, "user:1");
    assert_eq!(second.client_id, "app");
    assert_eq!(second.roles, roles());
    assert_eq!(second.token.family, first.family);
    assert_ne!(second.token.token.expose(), first.token.expose());
    let third = tokens
        .rotate(second.token.token.expose(), "app")
        .await
        .unwrap();
    assert_eq!(third.token.family, first.family);
    assert!(!tokens.is_family_revoked(&first.family).await.unwrap());
    // The new token lives a full lifetime from its rotation.
    let item = store
        .get(&token_key(third.token.token.expose()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(u64_attr(&item.attrs, "expires"), Some(1_000_700));
}

#[tokio::test]
async fn reuse_of_a_rotated_token_revokes_the_family() {
    let (_dir, _store, tokens, _clock) = setup();
    let first = tokens.issue("user:1", "app", &roles(), None).await.unwrap();
    let second = tokens.rotate(first.token.expose(), "app").await.unwrap();
    // Another, unrelated family is untouched.
    let other = tokens.issue("user:2", "app", &roles(), None).await.unwrap();

    assert!(matches!(
        tokens.rotate(first.token.expose(), "app").await,
        Err(RefreshError::Reused)
    ));
    assert!(tokens.is_family_revoked(&first.family).await.unwrap());
    // The thief's or the victim's newer token is dead too.
    assert!(matches!(
        tokens.rotate(second.token.token.expose(), "app").await,
        Err(RefreshError::Revoked)
    ));
    // And the first stays a reuse.
    assert!(matches!(
        tokens.rotate(first.token.expose(), "app").await,
        Err(RefreshError::Reused)
    ));
    assert!(tokens.rotate(other.token.expose(), "app").await.is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_rotations_of_one_token_cannot_both_succeed() {
    let (_dir, _store, tokens, _clock) = setup();
    for _ in 0..5 {
        let first = tokens.issue("user:1", "app", &roles(), None).await.unwrap();
        let (a, b) = tokio::join!(
            tokio::spawn({
                let tokens = tokens.clone();
                let t = first.token.clone();
                async move { tokens.rotate(t.expose(), "app").await }
            }),
            tokio::spawn({
                let tokens = tokens.clone();
                let t = first.token.clone();
                async move { tokens.rotate(t.expose(), "app").await }
            }),
        );
        let results = [a.unwrap(), b.unwrap()];
        let ok = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(ok, 1, "{results:?}");
        assert!(
            results
                .iter()
                .any(|r| matches!(r, Err(RefreshError::Reused))),
            "{results:?}"
        );
        // The loser's reuse revoked the family, so the winner's token is dead as well.
        let winner = results.into_iter().find_map(Result::ok).unwrap();
        assert!(matches!(
            tokens.rotate(winner.token.token.expose(), "app").await,
            Err(RefreshError::Revoked)
        ));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_rotations_yield_exactly_one_success() {
    let (_dir, _store, tokens, _clock) = setup();
    let first = tokens.issue("user:1", "app", &roles(), None).await.unwrap();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let tokens = tokens.clone();
            let t = first.token.clone();
            tokio::spawn(async move { tokens.rotate(t.expose(), "app").await })
        })
        .collect();
    let mut ok = 0;
    for h in handles {
        match h.await.unwrap() {
            Ok(_) => ok += 1,
            Err(RefreshError::Reused | RefreshError::Revoked) => {}
            Err(e) => panic!("{e:?}"),
        }
    }
    assert_eq!(ok, 1);
}

#[tokio::test]
async fn expired_unknown_and_foreign_tokens_are_refused() {
    let (_dir, _store, tokens, clock) = setup();
    let first = tokens.issue("user:1", "app", &roles(), None).await.unwrap();
    assert!(matches!(
        tokens.rotate("nope", "app").await,
        Err(RefreshError::Unknown)
    ));
    assert!(matches!(
        tokens.rotate("", "app").await,
        Err(RefreshError::Unknown)
    ));
    assert!(matches!(
        tokens.rotate(&"x".repeat(1000), "app").await,
        Err(RefreshError::Unknown)
    ));

    clock.advance(600);
    assert!(matches!(
        tokens.rotate(first.token.expose(), "app").await,
        Err(RefreshError::Expired)
    ));
    // Expiry does not revoke: a newer sibling would still work (none here).
    assert!(!tokens.is_family_revoked(&first.family).await.unwrap());

    let second = tokens.issue("user:1", "app", &roles(), None).await.unwrap();
    assert!(matches!(
        tokens.rotate(second.token.expose(), "other-app").await,
        Err(RefreshError::WrongClient)
    ));
    assert!(tokens.is_family_revoked(&second.family).await.unwrap());
    assert!(matches!(
        tokens.rotate(second.token.expose(), "app").await,
        Err(RefreshError::Revoked)
    ));
}

#[tokio::test]
async fn explicit_revocation_kills_the_family() {
    let (_dir, _store, tokens, _clock) = setup();
    let first = tokens.issue("user:1", "app", &roles(), None).await.unwrap();
    let second = tokens.rotate(first.token.expose(), "app").await.unwrap();
    tokens.revoke(second.token.token.expose()).await.unwrap();
    assert!(matches!(
        tokens.rotate(second.token.token.expose(), "app").await,
        Err(RefreshError::Revoked)
    ));
    tokens.revoke("unknown").await.unwrap();
    tokens.revoke_family(&first.family).await.unwrap();
    tokens.revoke_family("no-such-family").await.unwrap();
    assert!(tokens.is_family_revoked("no-such-family").await.unwrap());
}

#[test]
fn debug_hides_tokens() {
    let issued = IssuedRefresh {
        token: SecretString::new("the-refresh-token-value"),
        family: "fam".into(),
        expires_in: 5,
    };
    let rotated = Rotated {
        token: issued.clone(),
        subject: "user:1".into(),
        client_id: "app".into(),
        roles: vec![],
        stamp: None,
    };
    let shown = format!("{issued:?} {rotated:?}");
    assert!(!shown.contains("the-refresh-token-value"));
    assert!(shown.contains("fam"));
}
