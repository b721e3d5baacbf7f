//! Redirect URIs: which may be registered for a client, and the redirect that carries an
//! authorization response back to one.
//!
//! A registered URI is compared with the one a request names character for character (RFC 6749
//! §3.1.2.3; no prefix or pattern matching, which is how open redirectors happen). One may be
//! registered when it is absolute and has no fragment (§3.1.2) and is either `https`, `http` on
//! a loopback host (a native app's local listener, RFC 8252 §7.3), or a private-use scheme in
//! reverse-domain form such as `com.example.app:/callback` (RFC 8252 §7.1).

/// The longest redirect URI accepted.
pub const MAX_CHARS: usize = 2000;

/// A URI that cannot be registered as a redirect URI, and why (a message for the operator).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the redirect URI \"{uri}\" {why}")]
pub struct InvalidRedirectUri {
    /// The URI as given.
    pub uri: String,
    /// What is wrong with it.
    pub why: String,
}

/// Whether a URI may be registered as a redirect URI.
///
/// # Errors
/// Why it may not.
pub fn check(uri: &str) -> Result<(), InvalidRedirectUri> {
    let refuse = |why: &str| {
        Err(InvalidRedirectUri {
            uri: uri.to_owned(),
            why: why.to_owned(),
        })
    };
    if uri.is_empty() || uri.len() > MAX_CHARS {
        return refuse(&format!("must have 1 to {MAX_CHARS} characters"));
    }
    if uri
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || !c.is_ascii())
    {
        return refuse("must be ASCII without spaces (percent-encode the rest)");
    }
    if uri.contains('#') {
        return refuse("must not have a fragment (RFC 6749 §3.1.2)");
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        return refuse("must be absolute (a scheme such as https:)");
    };
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return refuse("must be absolute (a scheme such as https:)");
    }
    match scheme.to_ascii_lowercase().as_str() {
        "https" | "http" => {
            let Some(authority) = rest.strip_prefix("//") else {
                return refuse("must be of the form scheme://host/path");
            };
            let authority = authority.split(['/', '?']).next().unwrap_or_default();
            if authority.contains('@') {
                return refuse("must not hold credentials");
            }
            let host = host_of(authority);
            if host.is_empty() {
                return refuse("has no host");
            }
            if scheme.eq_ignore_ascii_case("http") && !is_loopback(host) {
                return refuse(
                    "must use https (http only for a loopback host: 127.0.0.1, [::1] or localhost)",
                );
            }
            Ok(())
        }
        // Private-use schemes of native apps: reverse domain names (RFC 8252 §7.1), so that
        // one app cannot claim a scheme as generic as "app:".
        _ if scheme.contains('.') => Ok(()),
        _ => refuse(
            "must use https, http on a loopback host, or a reverse-domain scheme such as com.example.app:",
        ),
    }
}

/// The host of an authority (`host[:port]`, `[v6][:port]`).
fn host_of(authority: &str) -> &str {
    if let Some(v6) = authority.strip_prefix('[') {
        return v6
            .split(']')
            .next()
            .map_or("", |h| &authority[..h.len() + 2]);
    }
    authority.split(':').next().unwrap_or_default()
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host == "[::1]"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// `uri` with `params` added to its query (RFC 6749 §4.1.2: the authorization response keeps
/// the query the client registered and appends to it).
pub fn with_params(uri: &str, params: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        query.append_pair(name, value);
    }
    let query = query.finish();
    let separator = match uri.split_once('?') {
        None => '?',
        Some((_, "")) => return format!("{uri}{query}"),
        Some(_) => '&',
    };
    format!("{uri}{separator}{query}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn web_native_and_loopback_uris_may_be_registered() {
        for ok in [
            "https://app.example.com/callback",
            "https://app.example.com:8443/cb?tenant=a",
            "http://127.0.0.1:53117/callback",
            "http://localhost/callback",
            "http://[::1]:9000/",
            "com.example.app:/oauth2redirect",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn unsafe_or_vague_uris_are_refused() {
        for bad in [
            "",
            "/callback",
            "app.example.com/callback",
            "https://app.example.com/cb#frag",
            "http://app.example.com/callback",
            "http://127.0.0.1.evil.com/callback",
            "https://user:pw@app.example.com/",
            "https:///path",
            "https:app.example.com",
            "myapp:/callback",
            "javascript:alert(1)",
            "https://app.example.com/a b",
            "https://app.exämple.com/",
        ] {
            assert!(check(bad).is_err(), "{bad}");
        }
        assert!(check(&format!("https://a.example/{}", "x".repeat(MAX_CHARS))).is_err());
        let message = check("http://app.example.com/cb").unwrap_err().to_string();
        assert!(message.contains("https"), "{message}");
    }

    #[test]
    fn parameters_are_appended_to_the_registered_query() {
        assert_eq!(
            with_params("https://a.example/cb", &[("code", "x y"), ("state", "s&t")]),
            "https://a.example/cb?code=x+y&state=s%26t"
        );
        assert_eq!(
            with_params("https://a.example/cb?tenant=1", &[("code", "c")]),
            "https://a.example/cb?tenant=1&code=c"
        );
        assert_eq!(
            with_params("https://a.example/cb?", &[("code", "c")]),
            "https://a.example/cb?code=c"
        );
    }
}
