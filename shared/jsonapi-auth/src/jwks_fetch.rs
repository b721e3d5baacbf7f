//! Fetching an external issuer's public keys: its JWKS document at a known `jwks_uri`, or found
//! through OpenID Connect discovery (`{issuer}/.well-known/openid-configuration`, whose `issuer`
//! must be the issuer itself: OpenID Connect Discovery §4.3).
//!
//! One small HTTP/1.1 client (hyper, rustls with the system's root certificates), built on first
//! use, so a deployment without such an issuer never loads the certificates. Answers are read
//! within [`FETCH_TIMEOUT`] and up to [`MAX_DOCUMENT_BYTES`]; redirects are not followed.

use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Empty, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// The longest a fetch may take.
pub const FETCH_TIMEOUT: Duration = Duration::from_secs(5);
/// The largest document read.
pub const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// Why a document could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchError {
    /// The URL is not one this client fetches (https, or http on a loopback host).
    #[error("unusable URL: {0}")]
    Url(String),
    /// No connection, TLS failure, or the answer broke off.
    #[error("request failed: {0}")]
    Transport(String),
    /// No answer within [`FETCH_TIMEOUT`].
    #[error("no answer within {} s", FETCH_TIMEOUT.as_secs())]
    Timeout,
    /// An answer other than 200.
    #[error("answered HTTP {0}")]
    Status(u16),
    /// The answer is not what was expected.
    #[error("{0}")]
    Document(String),
}

type HttpClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

fn client() -> Result<&'static HttpClient, FetchError> {
    static CLIENT: OnceLock<Result<HttpClient, FetchError>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let connector = hyper_rustls::HttpsConnectorBuilder::new()
                .with_native_roots()
                .map_err(|e| FetchError::Transport(format!("no root certificates: {e}")))?
                .https_or_http()
                .enable_http1()
                .build();
            Ok(Client::builder(TokioExecutor::new()).build(connector))
        })
        .as_ref()
        .map_err(FetchError::clone)
}

/// Whether keys may be fetched from `url`: https, or http on a loopback host (a local
/// identity provider in development and tests).
pub fn fetchable(url: &str) -> bool {
    let Ok(uri) = url.parse::<http::Uri>() else {
        return false;
    };
    let loopback = uri.host().is_some_and(|h| {
        h == "localhost"
            || h.trim_start_matches('[')
                .trim_end_matches(']')
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    });
    match uri.scheme_str() {
        Some("https") => uri.host().is_some(),
        Some("http") => loopback,
        _ => false,
    }
}

/// A JSON object fetched with `GET url`.
///
/// # Errors
/// See [`FetchError`].
pub async fn get_json(url: &str) -> Result<serde_json::Map<String, Value>, FetchError> {
    if !fetchable(url) {
        return Err(FetchError::Url(url.to_owned()));
    }
    let request = http::Request::get(url)
        .header(http::header::ACCEPT, "application/json")
        .body(Empty::new())
        .map_err(|e| FetchError::Url(e.to_string()))?;
    let client = client()?;
    let exchange = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| FetchError::Transport(e.to_string()))?;
        if response.status() != http::StatusCode::OK {
            return Err(FetchError::Status(response.status().as_u16()));
        }
        Limited::new(response.into_body(), MAX_DOCUMENT_BYTES)
            .collect()
            .await
            .map(|body| body.to_bytes())
            .map_err(|e| FetchError::Transport(e.to_string()))
    };
    let body = tokio::time::timeout(FETCH_TIMEOUT, exchange)
        .await
        .map_err(|_| FetchError::Timeout)??;
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(FetchError::Document(
            "the answer is not a JSON object".into(),
        )),
    }
}

/// The `jwks_uri` of `issuer`'s OpenID configuration.
///
/// # Errors
/// The document cannot be fetched, names another issuer, or has no usable `jwks_uri`.
pub async fn discover_jwks_uri(issuer: &str) -> Result<String, FetchError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let document = get_json(&url).await?;
    if document.get("issuer").and_then(Value::as_str) != Some(issuer) {
        return Err(FetchError::Document(format!(
            "the OpenID configuration at {url} is not the issuer's own (its \"issuer\" differs)"
        )));
    }
    match document.get("jwks_uri").and_then(Value::as_str) {
        Some(uri) if fetchable(uri) => Ok(uri.to_owned()),
        Some(uri) => Err(FetchError::Url(uri.to_owned())),
        None => Err(FetchError::Document(format!(
            "the OpenID configuration at {url} has no jwks_uri"
        ))),
    }
}

/// The JWKS document at `uri` (an object with a `keys` list).
///
/// # Errors
/// The document cannot be fetched or is not a JWKS.
pub async fn jwks(uri: &str) -> Result<Value, FetchError> {
    let document = get_json(uri).await?;
    if !document.get("keys").is_some_and(Value::is_array) {
        return Err(FetchError::Document(format!(
            "the document at {uri} is not a JWKS (no \"keys\" list)"
        )));
    }
    Ok(Value::Object(document))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_fetched_over_https_or_from_loopback_only() {
        for ok in [
            "https://cognito-idp.eu-west-1.amazonaws.com/pool/.well-known/jwks.json",
            "http://127.0.0.1:8123/jwks",
            "http://localhost/jwks",
            "http://[::1]:9/jwks",
        ] {
            assert!(fetchable(ok), "{ok}");
        }
        for bad in [
            "http://idp.example.com/jwks",
            "ftp://idp.example.com/jwks",
            "idp.example.com/jwks",
            "http://127.0.0.1.example.com/jwks",
        ] {
            assert!(!fetchable(bad), "{bad}");
        }
    }
}
