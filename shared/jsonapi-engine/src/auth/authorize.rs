//! `GET` / `POST /oauth2-token/authorize`: the browser side of the authorization code grant
//! (RFC 6749 §4.1, RFC 7636). [`jsonapi_auth::authorize`] decides; this module speaks HTTP.
//!
//! - `GET` with the authorization request in the query: the sign-in page, or an error page
//!   (unusable client or redirect URI), or a redirect back to the client with `error=`.
//! - `POST` of the sign-in form (`step=sign_in`, the request's parameters, `username`,
//!   `password`): the consent page holding a single-use ticket, or the sign-in page again.
//! - `POST` of the consent form (`step=consent`, `ticket`, `decision=allow|deny`): a `303`
//!   to the client's redirect URI with the code and `state`, or with `error=access_denied`.
//!
//! Forms are protected from cross-site posts by a double-submit token: the `GET` sets a random
//! value in an `HttpOnly`, `SameSite=Strict` cookie and in the form, and a post must bring both,
//! equal; a post a browser marks as cross-site (`Sec-Fetch-Site`) or from another origin
//! (`Origin`) is refused as well.

use http::header::{CONTENT_TYPE, COOKIE, HeaderValue, LOCATION, RETRY_AFTER, SET_COOKIE};
use http::{Method, StatusCode};
use jsonapi_auth::{AuthorizationRequest, AuthorizeError, ConsentError, SignInError};
use jsonapi_store::Store;

use super::pages;
use crate::engine::Engine;
use crate::request::{ApiRequest, ApiResponse};
use crate::routing::AUTHORIZE_PATH;

/// The cookie holding the form token.
const CSRF_COOKIE: &str = "jsonapi_authorize";
/// How long a sign-in form can be sent back, in seconds.
const CSRF_MAX_AGE: u64 = 3600;
/// The largest form read.
const MAX_FORM_BYTES: usize = 16 * 1024;

/// The parameters of the forms besides the authorization request's.
const FORM_FIELDS: [&str; 6] = ["step", "csrf", "username", "password", "ticket", "decision"];

fn redirect(status: StatusCode, location: &str) -> ApiResponse {
    let mut response = ApiResponse::empty(status);
    match HeaderValue::from_str(location) {
        Ok(value) => {
            response.headers.insert(LOCATION, value);
        }
        // Registered URIs are ASCII and parameters are percent-encoded: cannot happen.
        Err(_) => return pages::error(StatusCode::INTERNAL_SERVER_ERROR, "Invalid redirect."),
    }
    for (name, value) in pages::no_store() {
        response.headers.insert(name, value);
    }
    response
}

fn refused(e: AuthorizeError, status_of_redirect: StatusCode) -> ApiResponse {
    match e {
        AuthorizeError::Page {
            status,
            description,
        } => pages::error(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            &description,
        ),
        AuthorizeError::Redirect { location } => redirect(status_of_redirect, &location),
    }
}

fn store_failed(e: &jsonapi_store::StoreError) -> ApiResponse {
    let (status, description) = match e {
        jsonapi_store::StoreError::Unavailable { .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The service is temporarily unavailable; try again shortly.",
        ),
        _ => {
            tracing::error!(error = %e, "authorization endpoint storage failure");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "The request could not be served.",
            )
        }
    };
    pages::error(status, description)
}

/// The value of one cookie of the request.
fn cookie<'a>(req: &'a ApiRequest, name: &str) -> Option<&'a str> {
    req.headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// The `Set-Cookie` of a new form token, scoped to the endpoint's path under the public URL.
fn csrf_cookie(req: &ApiRequest, token: &str) -> Option<HeaderValue> {
    let (scheme, rest) = req.base_url.split_once("://")?;
    let base_path = rest.find('/').map_or("", |i| &rest[i..]);
    let secure = if scheme == "https" { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{CSRF_COOKIE}={token}; Path={base_path}{AUTHORIZE_PATH}; Max-Age={CSRF_MAX_AGE}; HttpOnly; SameSite=Strict{secure}"
    ))
    .ok()
}

/// Whether a form post comes from this endpoint's own page.
fn same_origin_post(req: &ApiRequest, form_token: Option<&str>) -> bool {
    let header = |name: &str| req.headers.get(name).and_then(|v| v.to_str().ok());
    if header("sec-fetch-site").is_some_and(|site| site == "cross-site") {
        return false;
    }
    // `null` is what a browser sends when it will not tell (privacy settings): the form
    // token decides then.
    if let Some(origin) = header("origin").filter(|o| *o != "null") {
        let ours = req
            .base_url
            .split_once("://")
            .map(|(scheme, rest)| format!("{scheme}://{}", rest.split('/').next().unwrap_or("")));
        if ours.as_deref() != Some(origin) {
            return false;
        }
    }
    match (cookie(req, CSRF_COOKIE), form_token) {
        (Some(cookie), Some(form)) if !form.is_empty() => {
            jsonapi_auth::same_secret(cookie.as_bytes(), form.as_bytes())
        }
        _ => false,
    }
}

impl<S: Store> Engine<S> {
    /// Answers the authorization endpoint.
    pub(crate) async fn authorization_endpoint(&self, req: &ApiRequest) -> ApiResponse {
        if self.schema.api.auth.users.is_none() || !self.schema.api.auth.enabled {
            return pages::error(
                StatusCode::NOT_FOUND,
                "This API has no users who could sign in.",
            );
        }
        let Ok(Some(service)) = self.token_service(true).await else {
            return pages::error(
                StatusCode::SERVICE_UNAVAILABLE,
                "The service is temporarily unavailable; try again shortly.",
            );
        };
        if req.method == Method::POST {
            return self.authorization_form(service, req).await;
        }
        let query = req.query.as_deref().unwrap_or_default();
        let request = AuthorizationRequest::from_pairs(form_urlencoded::parse(query.as_bytes()));
        match service.check_authorization(&request).await {
            Ok(client) => {
                let token = jsonapi_auth::random_token(32);
                let mut page = pages::sign_in(
                    StatusCode::OK,
                    &client.name,
                    &request.pairs(),
                    &token,
                    "",
                    None,
                );
                if let Some(cookie) = csrf_cookie(req, &token) {
                    page.headers.insert(SET_COOKIE, cookie);
                }
                page
            }
            Err(e) => refused(e, StatusCode::FOUND),
        }
    }

    async fn authorization_form(
        &self,
        service: &jsonapi_auth::TokenService<S, super::users::Users<S>>,
        req: &ApiRequest,
    ) -> ApiResponse {
        let form_type = req
            .headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase());
        if form_type.as_deref() != Some("application/x-www-form-urlencoded")
            || req.body.len() > MAX_FORM_BYTES
        {
            return pages::error(StatusCode::BAD_REQUEST, "The form could not be read.");
        }
        let form = Form(form_urlencoded::parse(&req.body).into_owned().collect());
        if !same_origin_post(req, form.field("csrf")) {
            return pages::error(
                StatusCode::FORBIDDEN,
                "This form has expired or was not sent from this page.",
            );
        }
        match form.field("step") {
            Some("consent") => {
                let allow = form.field("decision") == Some("allow");
                match service
                    .consent(form.field("ticket").unwrap_or_default(), allow)
                    .await
                {
                    Ok(location) => redirect(StatusCode::SEE_OTHER, &location),
                    Err(ConsentError::Expired) => pages::error(
                        StatusCode::BAD_REQUEST,
                        "This sign-in has expired or was already answered.",
                    ),
                    Err(ConsentError::Store(e)) => store_failed(&e),
                }
            }
            Some("sign_in") => Self::sign_in_form(service, req, &form).await,
            _ => pages::error(StatusCode::BAD_REQUEST, "The form could not be read."),
        }
    }

    /// The sign-in form's answer: the consent page, or the sign-in page again with what was
    /// wrong.
    async fn sign_in_form(
        service: &jsonapi_auth::TokenService<S, super::users::Users<S>>,
        req: &ApiRequest,
        form: &Form,
    ) -> ApiResponse {
        let request = AuthorizationRequest::from_pairs(
            form_urlencoded::parse(&req.body)
                .filter(|(name, _)| !FORM_FIELDS.contains(&name.as_ref())),
        );
        let client = match service.check_authorization(&request).await {
            Ok(client) => client,
            Err(e) => return refused(e, StatusCode::SEE_OTHER),
        };
        let csrf = form.field("csrf").unwrap_or_default();
        let username = form.field("username").unwrap_or_default();
        let password = form.field("password").unwrap_or_default();
        let again = |status, message: &str| {
            pages::sign_in(
                status,
                &client.name,
                &request.pairs(),
                csrf,
                username,
                Some(message),
            )
        };
        match service
            .sign_in_to_authorize(&request, &client, username, password)
            .await
        {
            Ok(consent) => pages::consent(
                &consent.client_name,
                &consent.username,
                consent.ticket.expose(),
                csrf,
            ),
            Err(SignInError::Refused) => {
                again(StatusCode::OK, "The username or password is incorrect.")
            }
            Err(SignInError::SlowDown(retry)) => {
                let seconds = retry.0.max(1);
                let mut page = again(
                    StatusCode::TOO_MANY_REQUESTS,
                    &format!("Too many failed attempts; try again in {seconds} s."),
                );
                page.headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
                page
            }
            Err(SignInError::Store(e)) => store_failed(&e),
        }
    }
}

/// The fields of a posted form.
struct Form(Vec<(String, String)>);

impl Form {
    /// The first value of the field `name`.
    fn field(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}
