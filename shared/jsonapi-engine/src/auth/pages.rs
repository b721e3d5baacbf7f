//! The HTML pages of the authorization endpoint: sign-in, consent and error. Self-contained
//! (inline style, no script, no external asset), every value escaped, and served with headers
//! that keep them out of caches and frames.

use bytes::Bytes;
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, HeaderValue, PRAGMA, REFERRER_POLICY,
    X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use http::{HeaderMap, StatusCode};

use crate::request::ApiResponse;

/// No script, no external request, no framing (a consent page in a frame invites clickjacking).
/// `form-action` is left out on purpose: browsers apply it to the redirect that follows a form
/// post, which goes to the client's redirect URI.
const POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'";

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;background:#f4f5f7;color:#1d2330;margin:0}\
main{max-width:24rem;margin:10vh auto;background:#fff;padding:2rem;border-radius:.5rem;box-shadow:0 1px 4px #0002}\
h1{font-size:1.4rem;margin:0 0 1rem}label{display:block;margin:.75rem 0 .25rem;font-weight:600}\
input{width:100%;box-sizing:border-box;padding:.5rem;border:1px solid #9aa3b2;border-radius:.25rem;font:inherit}\
button{margin:1.25rem .5rem 0 0;padding:.5rem 1.25rem;border:0;border-radius:.25rem;background:#2456c9;color:#fff;font:inherit;cursor:pointer}\
button.secondary{background:#e4e7ec;color:#1d2330}.error{color:#a4161a;font-weight:600}";

/// `text` with the characters HTML gives a meaning escaped (for text and attribute values).
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        escape(name),
        escape(value)
    )
}

fn page(status: StatusCode, title: &str, body: &str) -> ApiResponse {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
<title>{title}</title><style>{STYLE}</style></head><body><main><h1>{title}</h1>{body}</main></body></html>",
        title = escape(title),
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    for (name, value) in no_store() {
        headers.insert(name, value);
    }
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(POLICY));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    ApiResponse {
        status,
        headers,
        body: Bytes::from(html),
    }
}

/// What every answer of the authorization endpoint carries: never cached, and no `Referer`
/// to another origin (the client's redirect URI: the URL it leaves holds the request's
/// parameters). `same-origin` rather than `no-referrer`, which would also make the browser
/// send `Origin: null` with the page's own form posts.
pub(crate) fn no_store() -> [(http::HeaderName, HeaderValue); 3] {
    [
        (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        (PRAGMA, HeaderValue::from_static("no-cache")),
        (REFERRER_POLICY, HeaderValue::from_static("same-origin")),
    ]
}

/// The sign-in form: the authorization request's parameters ride along as hidden fields.
pub(crate) fn sign_in(
    status: StatusCode,
    client_name: &str,
    request: &[(&str, &str)],
    csrf: &str,
    username: &str,
    message: Option<&str>,
) -> ApiResponse {
    let fields: String = request.iter().map(|(n, v)| hidden(n, v)).collect();
    let message = message
        .map(|m| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(m)))
        .unwrap_or_default();
    let body = format!(
        "<p><strong>{client}</strong> asks to use this API on your behalf. Sign in to continue.</p>\
{message}<form method=\"post\" action=\"authorize\">{step}{csrf}{fields}\
<label for=\"username\">Username</label>\
<input id=\"username\" name=\"username\" autocomplete=\"username\" required autofocus value=\"{username}\">\
<label for=\"password\">Password</label>\
<input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
<button type=\"submit\">Sign in</button></form>",
        client = escape(client_name),
        step = hidden("step", "sign_in"),
        csrf = hidden("csrf", csrf),
        username = escape(username),
    );
    page(status, "Sign in", &body)
}

/// The consent question.
pub(crate) fn consent(client_name: &str, username: &str, ticket: &str, csrf: &str) -> ApiResponse {
    let body = format!(
        "<p>Signed in as <strong>{username}</strong>.</p>\
<p>Allow <strong>{client}</strong> to use this API as you? It gets access with your roles' \
permissions.</p><form method=\"post\" action=\"authorize\">{step}{csrf}{ticket}\
<button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
<button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button></form>",
        username = escape(username),
        client = escape(client_name),
        step = hidden("step", "consent"),
        csrf = hidden("csrf", csrf),
        ticket = hidden("ticket", ticket),
    );
    page(StatusCode::OK, "Allow access?", &body)
}

/// A request that cannot go on, told to the user (never redirected).
pub(crate) fn error(status: StatusCode, description: &str) -> ApiResponse {
    let body = format!(
        "<p class=\"error\" role=\"alert\">{}</p><p>Go back to the application and start again.</p>",
        escape(description)
    );
    page(status, "Sign-in is not possible", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped_in_text_and_attributes() {
        assert_eq!(
            escape(r#"<script>"x" & 'y'</script>"#),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
        let response = sign_in(
            StatusCode::OK,
            "<b>Evil</b>",
            &[("state", "\"><script>alert(1)</script>")],
            "c",
            "",
            None,
        );
        let html = String::from_utf8(response.body.to_vec()).unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<b>Evil"), "{html}");
        assert_eq!(
            response.headers[CONTENT_SECURITY_POLICY],
            HeaderValue::from_static(POLICY)
        );
        assert_eq!(response.headers[X_FRAME_OPTIONS], "DENY");
        assert_eq!(response.headers[CACHE_CONTROL], "no-store");
    }
}
