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
            (Some(_), Some(_)) => return refuse("The code_verifier does not match the code_challenge"),
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
            return refuse("The user who signed in has been disabled, deleted or given a new password");
        };
        self.user_tokens(client, &user).await
    }
}
