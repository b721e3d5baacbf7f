//! A user signing in, by the password grant or at the authorization endpoint: one check of the
//! username and password, slowed down per username after failures, and the tokens a signed-in
//! user gets.

use jsonapi_store::{Store, StoreError};

use crate::backoff::{self, RetryAfter};
use crate::clients::ClientInfo;
use crate::grant_type::GrantType;
use crate::grants::{TokenResponse, TokenService, User, UserDirectory};
use crate::oauth_error::OAuthError;

/// Why a sign-in failed.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// Unknown user, wrong password or disabled user: one answer for all three, so that the
    /// answer tells nothing of which names exist.
    #[error("the username or password is incorrect")]
    Refused,
    /// Too many failures for this username lately.
    #[error("too many failed attempts; retry in {} s", .0.0)]
    SlowDown(RetryAfter),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<SignInError> for OAuthError {
    fn from(e: SignInError) -> Self {
        match e {
            SignInError::Refused => Self::invalid_grant("The user credentials are incorrect"),
            SignInError::SlowDown(retry) => Self::slow_down(retry),
            SignInError::Store(e) => Self::from_store(&e),
        }
    }
}

impl<S: Store, U: UserDirectory> TokenService<S, U> {
    /// Checks a username and password; an unknown username costs as much time as a known one.
    pub(crate) async fn sign_in(
        &self,
        username: &str,
        password: &str,
    ) -> Result<User, SignInError> {
        let key = backoff::username_key(username);
        self.backoff
            .check(&key)
            .await
            .map_err(SignInError::SlowDown)?;
        let user = self
            .users
            .find_by_username(username)
            .await
            .map_err(SignInError::Store)?;
        let hash = user.as_ref().map(|u| u.password_hash.as_str());
        let matches = self.passwords.verify_blocking(password, hash).await;
        match user {
            Some(user) if matches && user.enabled => {
                self.backoff.record_success(&key).await;
                Ok(user)
            }
            user => {
                let wait = self.backoff.record_failure(&key).await;
                let reason = match user {
                    None => "unknown user",
                    Some(_) if !matches => "wrong password",
                    Some(_) => "disabled user",
                };
                tracing::warn!(reason, wait, "sign-in refused");
                Err(SignInError::Refused)
            }
        }
    }

    /// The user `id` if it still exists, is enabled, and (with `stamp`) has not had its
    /// password set since the sign-in that recorded the stamp.
    pub(crate) async fn active_user(
        &self,
        id: &str,
        stamp: Option<&str>,
    ) -> Result<Option<User>, StoreError> {
        let user = self.users.find_by_id(id).await?;
        Ok(user.filter(|user| {
            user.enabled && stamp.is_none_or(|stamp| stamp == user.credential_stamp())
        }))
    }

    /// The tokens of a signed-in user: an access token with the user's roles, and a refresh
    /// token (a new family recording the user's credential stamp) when the client may refresh.
    pub(crate) async fn user_tokens(
        &self,
        client: &ClientInfo,
        user: &User,
    ) -> Result<TokenResponse, OAuthError> {
        let subject = format!("user:{}", user.id);
        let refresh = if client.allows(GrantType::RefreshToken) {
            Some(
                self.refresh
                    .issue(
                        &subject,
                        &client.id,
                        &user.roles,
                        Some(&user.credential_stamp()),
                    )
                    .await
                    .map_err(|e| crate::grants::refresh_error(&e))?,
            )
        } else {
            None
        };
        self.sign(&subject, &user.roles, client, refresh)
    }
}
