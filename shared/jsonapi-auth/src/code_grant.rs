//! The token endpoint's `authorization_code` grant (RFC 6749 §4.1.3, RFC 7636 §4.5): the
//! client exchanges the code the authorization endpoint sent to its redirect URI, with the same
//! redirect URI and the PKCE verifier, for the tokens of the user who signed in.
//!
//! The code is taken (deleted) before anything else is checked, so a code is spent by its
//! first presentation whatever happens next: a replayed, intercepted or mistyped code never
//! works twice. Every refusal about the code itself is `invalid_grant`.

use jsonapi_store::Store;

use crate::authorization::{Stage, TakeError};
use crate::clients::ClientInfo;
use crate::grants::{TokenResponse, TokenService, UserDirectory};
use crate::oauth_error::OAuthError;
use crate::pkce;
use crate::token_request::TokenRequest;

impl<S: Store, U: UserDirectory> TokenService<S, U> {
    pub(crate) async fn authorization_code(
        &self,
        client: &ClientInfo,
        request: &TokenRequest,
    ) -> Result<TokenResponse, OAuthError> {
        let (Some(code), Some(redirect_uri)) = (&request.code, &request.redirect_uri) else {
            return Err(OAuthError::invalid_request(
                "The code and redirect_uri parameters are required",
            ));
        };
        let granted = match self.authorizations.take(Stage::Code, code.expose()).await {
            Ok(granted) => granted,
            Err(TakeError::Store(e)) => return Err(OAuthError::from_store(&e)),
            Err(reason) => {
                tracing::warn!(client_id = %client.id, %reason, "authorization code refused");
                return Err(OAuthError::invalid_grant(match reason {
                    TakeError::Expired => "The authorization code has expired",
                    _ => "The authorization code is invalid or was used before",
                }));
            }
        };
        let refuse = |why: &'static str| {
            tracing::warn!(client_id = %client.id, why, "authorization code refused");
            Err(OAuthError::invalid_grant(why))
        };
        if granted.client_id != client.id {
            return refuse("The authorization code was issued to another client");
        }
        if granted.redirect_uri != *redirect_uri {
            return refuse("The redirect_uri differs from the authorization request's");
        }
        let verifier = request.code_verifier.as_ref().map(|v| v.expose());
        match (&granted.code_challenge, verifier) {
            (Some(challenge), Some(verifier)) if pkce::verify(verifier, challenge) => {}
            (Some(_), Some(_)) => {
                return refuse("The code_verifier does not match the code_challenge");
            }
            (Some(_), None) => return refuse("The code_verifier is required for this code"),
            // A verifier for a code that had no challenge: someone is guessing (OAuth 2.1 §4.1.3).
            (None, Some(_)) => return refuse("This code was issued without a code_challenge"),
            (None, None) => {}
        }
        let user = self
            .active_user(&granted.user_id, Some(&granted.stamp))
            .await
            .map_err(|e| OAuthError::from_store(&e))?;
        let Some(user) = user else {
            return refuse(
                "The user who signed in has been disabled, deleted or given a new password",
            );
        };
        self.user_tokens(client, &user).await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use crate::Registered;
    use crate::oauth_error::{ErrorCode, OAuthError};
    use crate::test_support::{
        Fixture, REDIRECT, authorization_request, code_client, code_for, fixture, json_request,
        pkce_pair,
    };

    /// A token request of the authorization code grant by `client` (its secret when it has
    /// one), with these parameters added.
    fn exchange(client: &Registered, extra: &Value) -> crate::TokenRequest {
        let mut body = json!({"grant_type": "authorization_code", "client_id": client.id(),
                              "redirect_uri": REDIRECT});
        if let Registered::Confidential(c) = client {
            body["client_secret"] = json!(c.secret.expose());
        }
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        json_request(&body)
    }

    async fn refused(f: &Fixture, request: crate::TokenRequest) -> OAuthError {
        f.service.exchange(request).await.expect_err("refused")
    }

    /// The refusal of `code` with `verifier`.
    async fn refused_code(
        f: &Fixture,
        client: &Registered,
        code: &str,
        verifier: &str,
    ) -> OAuthError {
        refused(
            f,
            exchange(client, &json!({"code": code, "code_verifier": verifier})),
        )
        .await
    }

    #[tokio::test]
    async fn a_public_client_exchanges_its_code_and_verifier_for_the_users_tokens_once() {
        let f = fixture().await;
        let client = code_client(&f, true).await;
        let (verifier, challenge) = pkce_pair();
        let code = code_for(&f, &authorization_request(client.id(), Some(&challenge))).await;
        let request = exchange(&client, &json!({"code": code, "code_verifier": verifier}));
        let tokens = f.service.exchange(request.clone()).await.unwrap();
        let principal = f.verifier.verify(tokens.access_token.expose()).unwrap();
        assert_eq!(principal.subject, "user:1");
        assert_eq!(principal.roles, ["editor"]);
        assert_eq!(principal.client_id.as_deref(), Some(client.id()));
        // The client may refresh; the refresh token works without a secret too.
        let refresh = tokens.refresh_token.expect("a refresh token");
        let refreshed = f
            .service
            .exchange(json_request(&json!({"grant_type": "refresh_token",
                "client_id": client.id(), "refresh_token": refresh.expose()})))
            .await;
        assert!(refreshed.is_ok(), "{refreshed:?}");
        // The same code again: spent.
        let replay = refused(&f, request).await;
        assert_eq!(replay.code, ErrorCode::InvalidGrant);
    }

    #[tokio::test]
    async fn wrong_verifiers_redirect_uris_and_clients_spend_the_code() {
        let f = fixture().await;
        let client = code_client(&f, true).await;
        let other = code_client(&f, true).await;
        let (verifier, challenge) = pkce_pair();
        let request = authorization_request(client.id(), Some(&challenge));
        let (other_verifier, _) = pkce_pair();
        let cases = [
            (
                exchange(&client, &json!({"code_verifier": other_verifier})),
                "does not match",
            ),
            (exchange(&client, &json!({})), "required"),
            (
                exchange(
                    &client,
                    &json!({"code_verifier": verifier, "redirect_uri": "https://app.example/other"}),
                ),
                "redirect_uri",
            ),
            (
                exchange(&other, &json!({"code_verifier": verifier})),
                "another client",
            ),
        ];
        for (mut token_request, why) in cases {
            let code = code_for(&f, &request).await;
            token_request.code = Some(code.clone().into());
            let e = refused(&f, token_request.clone()).await;
            assert_eq!(
                (e.code, e.status()),
                (ErrorCode::InvalidGrant, 400),
                "{why}"
            );
            assert!(e.description.contains(why), "{}", e.description);
            // Spent by the failed attempt: the right request fails now too.
            let right = exchange(&client, &json!({"code": code, "code_verifier": verifier}));
            assert_eq!(refused(&f, right).await.code, ErrorCode::InvalidGrant);
        }
    }

    #[tokio::test]
    async fn a_confidential_client_authenticates_and_may_skip_pkce_but_not_add_it_later() {
        let f = fixture().await;
        let client = code_client(&f, false).await;
        let code = code_for(&f, &authorization_request(client.id(), None)).await;
        // Its secret is required.
        let mut no_secret = exchange(&client, &json!({"code": code}));
        no_secret.client_secret = None;
        assert_eq!(refused(&f, no_secret).await.code, ErrorCode::InvalidClient);
        // (The failed authentication did not spend the code.)
        let ok = f
            .service
            .exchange(exchange(&client, &json!({"code": code})))
            .await;
        assert!(ok.is_ok(), "{ok:?}");
        // A verifier for a code issued without a challenge: refused.
        let code = code_for(&f, &authorization_request(client.id(), None)).await;
        let (verifier, _) = pkce_pair();
        let e = refused_code(&f, &client, &code, &verifier).await;
        assert_eq!(e.code, ErrorCode::InvalidGrant);
    }

    #[tokio::test]
    async fn codes_expire_after_sixty_seconds_and_die_with_the_users_password() {
        let f = fixture().await;
        let client = code_client(&f, true).await;
        let (verifier, challenge) = pkce_pair();
        let request = authorization_request(client.id(), Some(&challenge));
        let code = code_for(&f, &request).await;
        f.clock.advance(crate::authorization::CODE_TTL);
        let e = refused_code(&f, &client, &code, &verifier).await;
        assert_eq!(e.code, ErrorCode::InvalidGrant);
        assert!(e.description.contains("expired"), "{}", e.description);

        let code = code_for(&f, &request).await;
        let rehashed = crate::Passwords::insecure_fast_for_tests()
            .hash("wonderland")
            .unwrap();
        f.users.update("1", |u| u.password_hash = rehashed);
        let e = refused_code(&f, &client, &code, &verifier).await;
        assert_eq!(e.code, ErrorCode::InvalidGrant);
    }

    #[tokio::test]
    async fn missing_parameters_are_invalid_request_and_public_clients_cannot_use_other_grants() {
        let f = fixture().await;
        let client = code_client(&f, true).await;
        let mut no_code = exchange(&client, &json!({}));
        no_code.code = None;
        assert_eq!(refused(&f, no_code).await.code, ErrorCode::InvalidRequest);
        let mut no_redirect = exchange(&client, &json!({"code": "x"}));
        no_redirect.redirect_uri = None;
        assert_eq!(
            refused(&f, no_redirect).await.code,
            ErrorCode::InvalidRequest
        );
        // A public client presenting a secret is not authenticated.
        let mut with_secret = exchange(&client, &json!({"code": "x"}));
        with_secret.client_secret = Some("guess".into());
        assert_eq!(
            refused(&f, with_secret).await.code,
            ErrorCode::InvalidClient
        );
        // The password grant is not among its grants.
        let e = f
            .refused(json!({"grant_type": "password", "client_id": client.id(),
                            "username": "alice", "password": "wonderland"}))
            .await;
        assert_eq!(e.code, ErrorCode::UnauthorizedClient);
    }
}
