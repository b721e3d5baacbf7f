//! The authorization endpoint's logic (`GET` / `POST /oauth2-token/authorize`, RFC 6749 §4.1,
//! RFC 7636): check an authorization request, sign the user in, ask for consent, and send the
//! user back to the client with a code. The engine serves the pages; this module decides.
//!
//! 1. [`TokenService::check_authorization`]: the client must exist, and the redirect URI must
//!    be one it registered, character for character; otherwise the user is told on a page and
//!    never redirected (§4.1.2.1: an unchecked redirect is an open redirector). Every other
//!    problem goes back to the client as `error=` on its redirect URI, with its `state`.
//!    `response_type` must be `code`; PKCE is `S256` only (`plain` is refused), required of
//!    public clients and checked when any client sends it.
//! 2. [`TokenService::sign_in_to_authorize`]: the username and password, as for the password
//!    grant (same back-off per username); success keeps a consent ticket for [`CONSENT_TTL`].
//! 3. [`TokenService::consent`]: takes the ticket once; "allow" keeps an authorization code
//!    for [`CODE_TTL`] (bound to client, redirect URI, PKCE challenge and the user's password)
//!    and returns the redirect carrying it, "deny" the redirect carrying `access_denied`.
//!
//! [`CONSENT_TTL`]: crate::authorization::CONSENT_TTL
//! [`CODE_TTL`]: crate::authorization::CODE_TTL

use std::borrow::Cow;

use jsonapi_store::{Store, StoreError};

use crate::authorization::{Authorization, Stage, TakeError};
use crate::clients::{ClientError, ClientInfo};
use crate::grant_type::GrantType;
use crate::grants::{TokenService, UserDirectory};
use crate::oauth_error::ErrorCode;
use crate::pkce;
use crate::redirect_uri;
use crate::secret::SecretString;
use crate::sign_in::SignInError;

/// The longest parameter value read (a longer one is `invalid_request`).
pub const MAX_PARAMETER_CHARS: usize = 2048;

/// The parameters of an authorization request (RFC 6749 §4.1.1, RFC 7636 §4.3), as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthorizationRequest {
    /// `response_type` (must be `code`).
    pub response_type: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `redirect_uri`.
    pub redirect_uri: Option<String>,
    /// `state`, returned to the client as it was sent.
    pub state: Option<String>,
    /// `code_challenge` (PKCE).
    pub code_challenge: Option<String>,
    /// `code_challenge_method` (must be `S256`).
    pub code_challenge_method: Option<String>,
    /// `scope` (accepted and ignored: the user's roles decide what the token may do).
    pub scope: Option<String>,
    /// The first parameter that was given twice, or was too long.
    malformed: Option<(String, &'static str)>,
}

impl AuthorizationRequest {
    /// The parameters of an authorization request from a query string or a form body;
    /// unknown ones are ignored, empty ones count as omitted (RFC 6749 §3.1).
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (Cow<'a, str>, Cow<'a, str>)>) -> Self {
        let mut request = Self::default();
        for (name, value) in pairs {
            let field = match name.as_ref() {
                "response_type" => &mut request.response_type,
                "client_id" => &mut request.client_id,
                "redirect_uri" => &mut request.redirect_uri,
                "state" => &mut request.state,
                "code_challenge" => &mut request.code_challenge,
                "code_challenge_method" => &mut request.code_challenge_method,
                "scope" => &mut request.scope,
                _ => continue,
            };
            if value.is_empty() {
                continue;
            }
            let problem = if field.is_some() {
                Some("is repeated")
            } else if value.chars().count() > MAX_PARAMETER_CHARS {
                Some("is too long")
            } else {
                *field = Some(value.into_owned());
                None
            };
            if let Some(problem) = problem
                && request.malformed.is_none()
            {
                request.malformed = Some((name.into_owned(), problem));
            }
        }
        request
    }

    /// The parameters as name and value, to carry them through the sign-in form.
    pub fn pairs(&self) -> Vec<(&'static str, &str)> {
        [
            ("response_type", &self.response_type),
            ("client_id", &self.client_id),
            ("redirect_uri", &self.redirect_uri),
            ("state", &self.state),
            ("code_challenge", &self.code_challenge),
            ("code_challenge_method", &self.code_challenge_method),
            ("scope", &self.scope),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_deref().map(|v| (name, v)))
        .collect()
    }
}

/// Why an authorization request is not served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Tell the user, and do not redirect: the client or the redirect URI cannot be trusted
    /// (or the store failed before they could be checked).
    Page {
        /// The HTTP status of the page.
        status: u16,
        /// What is wrong, for the user.
        description: String,
    },
    /// Send the user back to the client: `location` is its redirect URI with `error`,
    /// `error_description` and `state`.
    Redirect {
        /// The URL to redirect to.
        location: String,
    },
}

impl AuthorizeError {
    fn page(status: u16, description: impl Into<String>) -> Self {
        Self::Page {
            status,
            description: description.into(),
        }
    }

    fn from_store(e: &StoreError) -> Self {
        match e {
            StoreError::Unavailable { .. } => Self::page(
                503,
                "The service is temporarily unavailable; try again shortly.",
            ),
            _ => {
                tracing::error!(error = %e, "authorization endpoint storage failure");
                Self::page(500, "The request could not be served.")
            }
        }
    }
}

/// The redirect that carries an error back to the client (RFC 6749 §4.1.2.1).
fn error_location(
    redirect_uri: &str,
    code: ErrorCode,
    description: &str,
    state: Option<&str>,
) -> String {
    let mut params = vec![("error", code.as_str()), ("error_description", description)];
    params.extend(state.map(|s| ("state", s)));
    redirect_uri::with_params(redirect_uri, &params)
}

/// A signed-in user asked to consent.
#[derive(Debug)]
pub struct ConsentRequest {
    /// The ticket the consent form sends back (single use).
    pub ticket: SecretString,
    /// The client's name.
    pub client_name: String,
    /// The name the user signed in with.
    pub username: String,
}

/// Why the consent form's answer cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConsentError {
    /// The ticket is unknown, used or expired: the user starts again from the client.
    #[error("this sign-in has expired or was already answered")]
    Expired,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why a request whose client and redirect URI are fine is refused, if it is: the `error`
/// and description that go back to the client.
fn redirect_refusal(
    request: &AuthorizationRequest,
    client: &ClientInfo,
) -> Option<(ErrorCode, Cow<'static, str>)> {
    if let Some((name, problem)) = &request.malformed {
        return Some((
            ErrorCode::InvalidRequest,
            format!("The {name} parameter {problem}").into(),
        ));
    }
    let refusal = match request.response_type.as_deref() {
        Some("code") => None,
        None => Some((
            ErrorCode::InvalidRequest,
            "The response_type parameter is missing",
        )),
        Some(_) => Some((
            ErrorCode::UnsupportedResponseType,
            "Only the response_type code is supported",
        )),
    };
    let refusal = refusal.or_else(|| {
        (!client.allows(GrantType::AuthorizationCode)).then_some((
            ErrorCode::UnauthorizedClient,
            "This client may not use the authorization_code grant",
        ))
    });
    refusal
        .or_else(|| pkce_refusal(request, client))
        .map(|(code, description)| (code, description.into()))
}

/// PKCE: `S256` only (no method means `plain`, refused), required of public clients.
fn pkce_refusal(
    request: &AuthorizationRequest,
    client: &ClientInfo,
) -> Option<(ErrorCode, &'static str)> {
    let method = request.code_challenge_method.as_deref();
    let description = match (request.code_challenge.as_deref(), method) {
        (_, Some(m)) if m != pkce::S256 => "The code_challenge_method is not supported; use S256",
        // RFC 7636 §4.3: no method means `plain`, which is refused.
        (Some(_), None) => "The code_challenge_method S256 is required with a code_challenge",
        (Some(challenge), Some(_)) if !pkce::is_s256_challenge(challenge) => {
            "The code_challenge is not an S256 challenge (43 base64url characters)"
        }
        (None, Some(_)) => "The code_challenge parameter is missing",
        (None, None) if client.public => "A public client must send a code_challenge (PKCE, S256)",
        _ => return None,
    };
    Some((ErrorCode::InvalidRequest, description))
}

impl<S: Store, U: UserDirectory> TokenService<S, U> {
    /// Checks an authorization request; the client it names when it is fine.
    ///
    /// # Errors
    /// A page for the user (unusable client or redirect URI), or a redirect with the RFC 6749
    /// `error` for the client.
    pub async fn check_authorization(
        &self,
        request: &AuthorizationRequest,
    ) -> Result<ClientInfo, AuthorizeError> {
        let (client, redirect) = self.client_and_redirect(request).await?;
        // From here on the redirect URI is the client's own: errors go back to it.
        match redirect_refusal(request, &client) {
            None => Ok(client),
            Some((code, description)) => Err(AuthorizeError::Redirect {
                location: error_location(redirect, code, &description, request.state.as_deref()),
            }),
        }
    }

    /// The client the request names and its redirect URI, registered by it; until both are
    /// known to be fine, every problem is told on a page (never redirected).
    async fn client_and_redirect<'r>(
        &self,
        request: &'r AuthorizationRequest,
    ) -> Result<(ClientInfo, &'r str), AuthorizeError> {
        if let Some((name, problem)) = &request.malformed
            && matches!(name.as_str(), "client_id" | "redirect_uri")
        {
            return Err(AuthorizeError::page(
                400,
                format!("The {name} parameter {problem}."),
            ));
        }
        let Some(client_id) = &request.client_id else {
            return Err(AuthorizeError::page(
                400,
                "The client_id parameter is missing.",
            ));
        };
        // Any client names itself by its id here; a confidential one authenticates later, at
        // the token endpoint.
        let client = match self.clients.get(client_id).await {
            Ok(Some(client)) if !client.revoked => client,
            Ok(_) => {
                return Err(AuthorizeError::page(
                    400,
                    "The client_id names no client of this API.",
                ));
            }
            Err(ClientError::Store(e)) => return Err(AuthorizeError::from_store(&e)),
            Err(e) => {
                return Err(AuthorizeError::from_store(&StoreError::Internal(
                    e.to_string(),
                )));
            }
        };
        let Some(redirect) = &request.redirect_uri else {
            return Err(AuthorizeError::page(
                400,
                "The redirect_uri parameter is missing.",
            ));
        };
        if !client.has_redirect_uri(redirect) {
            return Err(AuthorizeError::page(
                400,
                "The redirect_uri is not one this client registered.",
            ));
        }
        Ok((client, redirect))
    }

    /// Signs the user in for an authorization request already checked with
    /// [`TokenService::check_authorization`]; the consent to ask for.
    ///
    /// # Errors
    /// Wrong credentials, too many failures, or a store failure.
    pub async fn sign_in_to_authorize(
        &self,
        request: &AuthorizationRequest,
        client: &ClientInfo,
        username: &str,
        password: &str,
    ) -> Result<ConsentRequest, SignInError> {
        let user = self.sign_in(username, password).await?;
        let authorization = Authorization {
            client_id: client.id.clone(),
            redirect_uri: request.redirect_uri.clone().unwrap_or_default(),
            code_challenge: request.code_challenge.clone(),
            state: request.state.clone(),
            user_id: user.id.clone(),
            username: username.to_owned(),
            stamp: user.credential_stamp(),
        };
        let ticket = self
            .authorizations
            .issue(Stage::Consent, &authorization)
            .await?;
        Ok(ConsentRequest {
            ticket,
            client_name: client.name.clone(),
            username: username.to_owned(),
        })
    }

    /// The user's answer to the consent question: the redirect back to the client, carrying
    /// an authorization code (`allow`) or `access_denied`, and the client's `state`.
    ///
    /// # Errors
    /// The ticket is unknown, used or expired, or a store failure.
    pub async fn consent(&self, ticket: &str, allow: bool) -> Result<String, ConsentError> {
        let granted = match self.authorizations.take(Stage::Consent, ticket).await {
            Ok(granted) => granted,
            Err(TakeError::Store(e)) => return Err(e.into()),
            Err(_) => return Err(ConsentError::Expired),
        };
        let state = granted.state.as_deref();
        if !allow {
            tracing::info!(client_id = %granted.client_id, "the user denied the authorization");
            return Ok(error_location(
                &granted.redirect_uri,
                ErrorCode::AccessDenied,
                "The user denied the request",
                state,
            ));
        }
        let code = self.authorizations.issue(Stage::Code, &granted).await?;
        tracing::info!(client_id = %granted.client_id, "authorization code issued");
        let mut params = vec![("code", code.expose())];
        params.extend(state.map(|s| ("state", s)));
        Ok(redirect_uri::with_params(&granted.redirect_uri, &params))
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::test_support::{
        REDIRECT, authorization_request, code_client, fixture, pkce_pair, redirect_params,
    };

    fn with(request: &AuthorizationRequest, name: &str, value: &str) -> AuthorizationRequest {
        let mut pairs: Vec<(String, String)> = request
            .pairs()
            .into_iter()
            .filter(|(n, _)| *n != name)
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect();
        pairs.push((name.to_owned(), value.to_owned()));
        AuthorizationRequest::from_pairs(
            pairs
                .into_iter()
                .map(|(n, v)| (Cow::Owned(n), Cow::Owned(v))),
        )
    }

    fn page(e: AuthorizeError) -> String {
        match e {
            AuthorizeError::Page {
                status,
                description,
            } => {
                assert_eq!(status, 400, "{description}");
                description
            }
            other => panic!("expected a page, got {other:?}"),
        }
    }

    /// The `error` of a redirect, and the `state` it carries.
    fn redirected(e: AuthorizeError) -> (String, Option<String>) {
        match e {
            AuthorizeError::Redirect { location } => {
                assert!(location.starts_with(REDIRECT), "{location}");
                let params = redirect_params(&location);
                (params["error"].clone(), params.get("state").cloned())
            }
            other => panic!("expected a redirect, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn an_unusable_client_or_redirect_uri_is_shown_never_redirected_to() {
        let f = fixture().await;
        let client = code_client(&f, true).await;
        let (_, challenge) = pkce_pair();
        let good = authorization_request(client.id(), Some(&challenge));
        assert!(f.service.check_authorization(&good).await.is_ok());
        let check = |r: AuthorizationRequest| {
            let service = &f.service;
            async move { page(service.check_authorization(&r).await.unwrap_err()) }
        };
        for (name, value) in [
            ("redirect_uri", "https://evil.example/callback"),
            ("redirect_uri", "https://app.example/callback/"),
            ("redirect_uri", "https://app.example/callback?x=1"),
            ("client_id", "no-such-client"),
        ] {
            let description = check(with(&good, name, value)).await;
            assert!(description.contains(name), "{description}");
        }
        // Missing, and given twice.
        let mut missing = good.clone();
        missing.redirect_uri = None;
        assert!(check(missing).await.contains("redirect_uri"));
        let mut pairs: Vec<(Cow<'_, str>, Cow<'_, str>)> = good
            .pairs()
            .into_iter()
            .map(|(n, v)| (Cow::Borrowed(n), Cow::Borrowed(v)))
            .collect();
        pairs.push((Cow::Borrowed("redirect_uri"), Cow::Borrowed(REDIRECT)));
        let twice = check(AuthorizationRequest::from_pairs(pairs)).await;
        assert!(twice.contains("repeated"), "{twice}");
        // A revoked client is no client; a client of other grants has no redirect URI.
        f.service.clients().revoke(client.id()).await.unwrap();
        assert!(check(good).await.contains("client_id"));
        let other = authorization_request(&f.app.id, Some(&challenge));
        assert!(check(other).await.contains("redirect_uri"));
    }

    #[tokio::test]
    async fn other_problems_go_back_to_the_client_with_its_state() {
        let f = fixture().await;
        let public = code_client(&f, true).await;
        let confidential = code_client(&f, false).await;
        let (_, challenge) = pkce_pair();
        let good = authorization_request(public.id(), Some(&challenge));
        let cases = [
            (
                with(&good, "response_type", "token"),
                "unsupported_response_type",
            ),
            (
                with(&good, "code_challenge_method", "plain"),
                "invalid_request",
            ),
            (
                with(&good, "code_challenge", "too-short"),
                "invalid_request",
            ),
            (
                with(&good, "state", &"s".repeat(MAX_PARAMETER_CHARS + 1)),
                "invalid_request",
            ),
            // Public clients must use PKCE.
            (authorization_request(public.id(), None), "invalid_request"),
        ];
        for (request, error) in cases {
            let (got, state) =
                redirected(f.service.check_authorization(&request).await.unwrap_err());
            assert_eq!(got, error, "{request:?}");
            if request.state.as_deref() == Some("st@te 1") {
                assert_eq!(state.as_deref(), Some("st@te 1"));
            }
        }
        let mut no_method = good.clone();
        no_method.code_challenge_method = None;
        let (error, _) = redirected(f.service.check_authorization(&no_method).await.unwrap_err());
        assert_eq!(error, "invalid_request", "no method means plain, refused");
        let mut no_type = good;
        no_type.response_type = None;
        let (error, _) = redirected(f.service.check_authorization(&no_type).await.unwrap_err());
        assert_eq!(error, "invalid_request");
        // A confidential client may go without PKCE.
        let plain = authorization_request(confidential.id(), None);
        assert!(f.service.check_authorization(&plain).await.is_ok());
    }

    #[tokio::test]
    async fn consent_is_answered_once_and_a_denial_says_access_denied() {
        let f = fixture().await;
        let client = code_client(&f, true).await;
        let (_, challenge) = pkce_pair();
        let request = authorization_request(client.id(), Some(&challenge));
        let info = f.service.check_authorization(&request).await.unwrap();
        assert!(matches!(
            f.service
                .sign_in_to_authorize(&request, &info, "alice", "nope")
                .await,
            Err(SignInError::Refused)
        ));
        let consent = f
            .service
            .sign_in_to_authorize(&request, &info, "alice", "wonderland")
            .await
            .unwrap();
        assert_eq!(
            (consent.client_name.as_str(), consent.username.as_str()),
            ("Shop app", "alice")
        );
        let location = f
            .service
            .consent(consent.ticket.expose(), false)
            .await
            .unwrap();
        let params = redirect_params(&location);
        assert_eq!(params["error"], "access_denied");
        assert_eq!(params["state"], "st@te 1");
        assert!(!params.contains_key("code"));
        assert!(matches!(
            f.service.consent(consent.ticket.expose(), true).await,
            Err(ConsentError::Expired)
        ));
        // A ticket waits ten minutes at most.
        let late = f
            .service
            .sign_in_to_authorize(&request, &info, "alice", "wonderland")
            .await
            .unwrap();
        f.clock.advance(crate::authorization::CONSENT_TTL);
        assert!(matches!(
            f.service.consent(late.ticket.expose(), true).await,
            Err(ConsentError::Expired)
        ));
    }

    #[tokio::test]
    async fn sign_in_failures_are_slowed_down_per_username() {
        let f = fixture().await;
        let client = code_client(&f, true).await;
        let (_, challenge) = pkce_pair();
        let request = authorization_request(client.id(), Some(&challenge));
        let info = f.service.check_authorization(&request).await.unwrap();
        for _ in 0..6 {
            let _ = f
                .service
                .sign_in_to_authorize(&request, &info, "alice", "guess")
                .await;
        }
        assert!(matches!(
            f.service
                .sign_in_to_authorize(&request, &info, "alice", "wonderland")
                .await,
            Err(SignInError::SlowDown(_))
        ));
    }
}
