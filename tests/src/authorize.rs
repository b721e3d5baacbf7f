//! Driving the authorization endpoint as a browser would, without one: the pages' hidden
//! fields, the form-token cookie, the redirects' parameters, and PKCE pairs.

use std::collections::HashMap;

use hyper::Method;

use crate::{AUTHORIZE_PATH, ApiClient, TestResponse};

/// A PKCE verifier and its S256 challenge (RFC 7636).
#[derive(Debug, Clone)]
pub struct Pkce {
    /// `code_verifier`.
    pub verifier: String,
    /// `code_challenge`.
    pub challenge: String,
}

impl Pkce {
    /// A fresh random pair.
    pub fn new() -> Self {
        let verifier = jsonapi_auth::random_token(32);
        let challenge = jsonapi_auth::pkce::s256_challenge(&verifier);
        Self {
            verifier,
            challenge,
        }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

/// A user agent at the authorization endpoint: it keeps the form-token cookie the sign-in
/// page sets and sends it with its form posts.
#[derive(Debug, Clone)]
pub struct Browser {
    api: ApiClient,
    cookie: Option<String>,
}

impl Browser {
    /// A browser for the server of `api` (no bearer token).
    pub fn new(api: &ApiClient) -> Self {
        Self {
            api: api.anonymous(),
            cookie: None,
        }
    }

    /// `GET /oauth2-token/authorize?{query}`; keeps the cookie the answer sets.
    pub async fn open(&mut self, query: &[(&str, &str)]) -> TestResponse {
        let mut url = form_urlencoded::Serializer::new(format!("{AUTHORIZE_PATH}?"));
        url.extend_pairs(query);
        let response = self
            .api
            .request(Method::GET, &url.finish(), &[], None)
            .await;
        if let Some(set) = response.header("set-cookie") {
            let pair = set.split(';').next().unwrap_or_default().to_owned();
            self.cookie = Some(pair);
        }
        response
    }

    /// `POST /oauth2-token/authorize` of a form, with the cookie (and more headers).
    pub async fn post(
        &self,
        fields: &[(String, String)],
        headers: &[(&str, &str)],
    ) -> TestResponse {
        let mut body = form_urlencoded::Serializer::new(String::new());
        body.extend_pairs(fields);
        let body = body.finish();
        let mut all = vec![("Content-Type", "application/x-www-form-urlencoded")];
        if let Some(cookie) = &self.cookie {
            all.push(("Cookie", cookie.as_str()));
        }
        all.extend_from_slice(headers);
        self.api
            .request(Method::POST, AUTHORIZE_PATH, &all, Some(&body))
            .await
    }

    /// Submits the form of `page` with `fields` set (the page's hidden fields kept).
    pub async fn submit(&self, page: &TestResponse, fields: &[(&str, &str)]) -> TestResponse {
        let mut form = hidden_fields(&page.text());
        for (name, value) in fields {
            form.retain(|(n, _)| n != name);
            form.push(((*name).to_owned(), (*value).to_owned()));
        }
        self.post(&form, &[]).await
    }
}

/// The hidden fields of a page's form, unescaped.
pub fn hidden_fields(html: &str) -> Vec<(String, String)> {
    let attribute = |tag: &str, name: &str| {
        let start = tag.find(&format!("{name}=\""))? + name.len() + 2;
        let end = tag[start..].find('"')? + start;
        Some(unescape(&tag[start..end]))
    };
    html.split("<input")
        .skip(1)
        .filter_map(|rest| rest.split('>').next())
        .filter(|tag| tag.contains("type=\"hidden\""))
        .filter_map(|tag| Some((attribute(tag, "name")?, attribute(tag, "value")?)))
        .collect()
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// The query parameters of a redirect's `Location`.
///
/// # Panics
/// When the answer has no `Location`.
pub fn location_params(response: &TestResponse) -> HashMap<String, String> {
    let location = response
        .header("location")
        .unwrap_or_else(|| panic!("{}\nexpected a Location", response.describe()));
    let query = location.split_once('?').map_or("", |(_, q)| q);
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

/// The query of an authorization request of `client_id` to `redirect_uri`, with PKCE.
pub fn request_query<'a>(
    client_id: &'a str,
    redirect_uri: &'a str,
    pkce: &'a Pkce,
    state: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", redirect_uri),
        ("state", state),
        ("code_challenge", &pkce.challenge),
        ("code_challenge_method", "S256"),
    ]
}

/// Opens the authorization request, signs in as `username` and answers the consent question:
/// the final redirect back to the client.
///
/// # Panics
/// When a page is not the one expected.
pub async fn sign_in_and_answer(
    api: &ApiClient,
    query: &[(&str, &str)],
    username: &str,
    password: &str,
    allow: bool,
) -> TestResponse {
    let mut browser = Browser::new(api);
    let sign_in = browser.open(query).await;
    sign_in.assert_status(200);
    let consent = browser
        .submit(&sign_in, &[("username", username), ("password", password)])
        .await;
    consent.assert_status(200);
    assert!(
        consent.text().contains("Allow"),
        "{}\nexpected the consent page",
        consent.describe()
    );
    let decision = if allow { "allow" } else { "deny" };
    let answer = browser.submit(&consent, &[("decision", decision)]).await;
    answer.assert_status(303);
    answer
}
