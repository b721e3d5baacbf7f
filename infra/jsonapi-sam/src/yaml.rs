//! The little YAML the template needs beyond its fixed text.

/// A double-quoted YAML scalar. YAML's double-quoted style takes JSON's escapes, and every
/// character this crate quotes is printable ASCII, so escaping `\` and `"` is enough.
pub(crate) fn quote(text: &str) -> String {
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A path segment API Gateway takes literally in a route (no `{…}`, no spaces, no `%`).
pub(crate) fn is_plain_segment(segment: &str) -> bool {
    !segment.is_empty()
        && segment
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// A CloudFormation logical id (letters and digits only) from words in a path or a name:
/// `get-list` is `GetList`, `/.well-known/jwks.json` is `WellKnownJwksJson`.
pub(crate) fn camel(words: &str) -> String {
    words
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first.into_iter().chain(chars).collect::<String>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_camel_case_letters_and_digits() {
        assert_eq!(camel("get-list"), "GetList");
        assert_eq!(camel("/.well-known/jwks.json"), "WellKnownJwksJson");
        assert_eq!(camel("/oauth2-token/authorize"), "Oauth2TokenAuthorize");
        assert_eq!(camel("/doc/{file}"), "DocFile");
    }

    #[test]
    fn quoting_escapes_what_would_end_the_scalar() {
        assert_eq!(quote("/api/{type}"), "\"/api/{type}\"");
        assert_eq!(quote(r#"a "b" \c"#), r#""a \"b\" \\c""#);
    }

    #[test]
    fn only_literal_segments_are_plain() {
        for ok in ["api", "v1.2", "my_api", "x-y"] {
            assert!(is_plain_segment(ok), "{ok}");
        }
        for bad in ["", "{type}", "a b", "50%", "é"] {
            assert!(!is_plain_segment(bad), "{bad}");
        }
    }
}
