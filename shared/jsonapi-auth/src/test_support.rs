//! What the unit tests of the token service share: users in memory, a service over a fresh
//! embedded store with a manual clock, and request builders.

use std::collections::HashMap;
use std::sync::Arc;

use jsonapi_store::StoreError;
use jsonapi_store_redb::RedbStore;
use serde_json::{Value, json};

use crate::backoff::BackoffPolicy;
use crate::clock::Clock;
use crate::grant_type::GrantType;
use crate::grants::{ServiceOptions, TokenResponse, TokenService, User, UserDirectory};
use crate::jwt::{TokenSigner, TokenVerifier};
use crate::keys::SigningKey;
use crate::oauth_error::OAuthError;
use crate::password::Passwords;
use crate::secret::SecretString;
use crate::token_request::TokenRequest;

pub(crate) const ISS: &str = "https://api.example.test";

#[derive(Clone, Default)]
pub(crate) struct Users(pub(crate) Arc<std::sync::Mutex<HashMap<String, (String, User)>>>);

impl Users {
    pub(crate) fn add(&self, name: &str, id: &str, password: &str, roles: &[&str]) {
        let hash = Passwords::insecure_fast_for_tests().hash(password).unwrap();
        let user = User {
            id: id.into(),
            password_hash: hash,
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
            enabled: true,
        };
        self.0
            .lock()
            .unwrap()
            .insert(id.into(), (name.into(), user));
    }

    pub(crate) fn update(&self, id: &str, f: impl FnOnce(&mut User)) {
        f(&mut self.0.lock().unwrap().get_mut(id).unwrap().1);
    }
}

impl UserDirectory for Users {
    async fn find_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        Ok(self
            .0
            .lock()
            .unwrap()
            .values()
            .find(|(name, _)| name == username)
            .map(|(_, u)| u.clone()))
    }

    async fn find_by_id(&self, id: &str) -> Result<Option<User>, StoreError> {
        Ok(self.0.lock().unwrap().get(id).map(|(_, u)| u.clone()))
    }
}

pub(crate) struct Fixture {
    pub(crate) _dir: tempfile::TempDir,
    pub(crate) service: TokenService<RedbStore, Users>,
    pub(crate) users: Users,
    pub(crate) clock: Clock,
    pub(crate) verifier: TokenVerifier,
    pub(crate) app: crate::NewClient,
    pub(crate) machine: crate::NewClient,
}

pub(crate) async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(RedbStore::open(dir.path()).unwrap());
    let clock = Clock::manual_now();
    let signer = TokenSigner::new(SigningKey::generate_es256().unwrap(), ISS, "jsonapi");
    let verifier = signer.verifier();
    let users = Users::default();
    users.add("alice", "1", "wonderland", &["editor"]);
    let options = ServiceOptions {
        refresh_ttl: 3600 * 24,
        passwords: Passwords::insecure_fast_for_tests(),
        backoff: BackoffPolicy::default(),
        clock: clock.clone(),
    };
    let service = TokenService::new(store, signer, users.clone(), options);
    let app = service
        .clients()
        .create("app", &[], &[GrantType::Password, GrantType::RefreshToken])
        .await
        .unwrap();
    let machine = service
        .clients()
        .create(
            "sync",
            &["integration".into()],
            &[GrantType::ClientCredentials],
        )
        .await
        .unwrap();
    Fixture {
        _dir: dir,
        service,
        users,
        clock,
        verifier,
        app,
        machine,
    }
}

impl Fixture {
    /// The error a JSON token request gets (it must be refused).
    pub(crate) async fn refused(&self, body: Value) -> OAuthError {
        self.service
            .exchange(json_request(&body))
            .await
            .expect_err("the request is refused")
    }

    /// alice's refresh token from a password sign-in.
    pub(crate) async fn sign_in(&self) -> SecretString {
        self.service
            .exchange(password_request(self, "alice", "wonderland"))
            .await
            .expect("alice signs in")
            .refresh_token
            .expect("a refresh token")
    }

    /// The refresh grant of `token`.
    pub(crate) async fn refresh(&self, token: &SecretString) -> Result<TokenResponse, OAuthError> {
        self.service
            .exchange(refresh_request(self, token.expose()))
            .await
    }
}

pub(crate) fn json_request(body: &Value) -> TokenRequest {
    TokenRequest::parse(Some("application/json"), body.to_string().as_bytes()).unwrap()
}

pub(crate) fn password_request(f: &Fixture, username: &str, password: &str) -> TokenRequest {
    json_request(&json!({
        "grant_type": "password", "client_id": f.app.id, "client_secret": f.app.secret.expose(),
        "username": username, "password": password,
    }))
}

pub(crate) fn refresh_request(f: &Fixture, token: &str) -> TokenRequest {
    json_request(&json!({
        "grant_type": "refresh_token", "client_id": f.app.id,
        "client_secret": f.app.secret.expose(), "refresh_token": token,
    }))
}

/// Where the test clients of the authorization code grant get their codes.
pub(crate) const REDIRECT: &str = "https://app.example/callback";

/// A PKCE verifier and its S256 challenge.
pub(crate) fn pkce_pair() -> (String, String) {
    let verifier = crate::util::random_token(32);
    let challenge = crate::pkce::s256_challenge(&verifier);
    (verifier, challenge)
}

/// Registers a client of the authorization code grant (and refresh), public or not; its id.
pub(crate) async fn code_client(f: &Fixture, public: bool) -> crate::Registered {
    let spec = crate::ClientSpec {
        name: "Shop app".into(),
        roles: Vec::new(),
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        redirect_uris: vec![REDIRECT.into()],
    };
    f.service.clients().register(&spec, public).await.unwrap()
}

/// A well-formed authorization request of `client_id` with this challenge.
pub(crate) fn authorization_request(
    client_id: &str,
    challenge: Option<&str>,
) -> crate::AuthorizationRequest {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("state", "st@te 1"),
    ];
    if let Some(challenge) = challenge {
        pairs.extend([
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
        ]);
    }
    crate::AuthorizationRequest::from_pairs(
        pairs
            .into_iter()
            .map(|(k, v)| (std::borrow::Cow::Borrowed(k), std::borrow::Cow::Borrowed(v))),
    )
}

/// The query parameters of a redirect's location.
pub(crate) fn redirect_params(location: &str) -> HashMap<String, String> {
    let (_, query) = location.split_once('?').expect("a query");
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// alice signs in for `request` and allows it: the authorization code.
pub(crate) async fn code_for(f: &Fixture, request: &crate::AuthorizationRequest) -> String {
    let client = f.service.check_authorization(request).await.unwrap();
    let consent = f
        .service
        .sign_in_to_authorize(request, &client, "alice", "wonderland")
        .await
        .unwrap();
    let location = f
        .service
        .consent(consent.ticket.expose(), true)
        .await
        .unwrap();
    assert!(location.starts_with(REDIRECT), "{location}");
    redirect_params(&location)["code"].clone()
}
