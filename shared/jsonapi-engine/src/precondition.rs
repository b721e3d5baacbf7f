//! Optimistic concurrency over HTTP (RFC 9110 §8.8.3, §13): the strong `ETag` of a stored
//! resource, and the `If-Match` / `If-None-Match` preconditions checked against it.
//!
//! The entity tag is a digest of the resource item itself: its type, id, version and stored
//! content (attributes and owned linkage, hashed with object keys sorted, so that a backend
//! handing back members in another order gives the same tag). The version alone would repeat
//! when a resource is deleted and created again under the same id; the digest does not, unless
//! the content is the same too, and then the representation is. Inverse linkage (read from the
//! other side) and included resources are not part of the item, so not part of the tag.
//!
//! One resource has several representations at one URL, chosen by headers that `Vary` names:
//! the plain view or JSON:API (`Accept`), a localization or a currency. Each gets a tag of
//! its own ([`Variant`]: the item's digest, then `.` and a digest of those headers), so that
//! a cache never takes one representation's `304` for another's. `If-Match` asks whether the
//! resource is still the one read, whatever its representation: it compares the item's part.
//!
//! `If-Match` is checked against the resource as the write read it, and the write's
//! transaction requires that very version (its own condition on the item, or a check the
//! [`crate::extension::ChangeSet`] guard adds when the item is not rewritten): a write that
//! lost a race re-runs from fresh reads and then fails the precondition, so of many writers
//! holding one tag exactly one succeeds.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::header::{IF_MATCH, IF_NONE_MATCH};
use http::{HeaderMap, HeaderName};
use jsonapi_config::ResourceType;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ErrorKind};
use crate::format::Format;
use crate::resource::Resource;

/// Bytes of the digest kept in a tag: 128 bits, 22 base64url characters.
const TAG_BYTES: usize = 16;

/// Bytes of the digest of a [`Variant`]: 48 bits, 8 base64url characters.
const VARIANT_BYTES: usize = 6;

/// What besides the stored resource chooses a response's representation: its format and the
/// values of the storefront headers (`api.storefrontHeaders`). The default one (JSON:API, no
/// storefront header) adds nothing to a tag.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Variant(Option<String>);

impl Variant {
    /// The variant a request asks for.
    pub(crate) fn of(format: Format, headers: &HeaderMap, storefront_headers: &[String]) -> Self {
        let sent: Vec<(&String, &[u8])> = storefront_headers
            .iter()
            .filter_map(|name| Some((name, headers.get(name.as_str())?.as_bytes())))
            .collect();
        if format == Format::JsonApi && sent.is_empty() {
            return Self(None);
        }
        let mut hasher = Sha256::new();
        hasher.update([u8::from(format == Format::Plain)]);
        for (name, value) in sent {
            hasher.update(name.to_ascii_lowercase().as_bytes());
            hasher.update([0]);
            hasher.update(value);
            hasher.update([0]);
        }
        let digest = hasher.finalize();
        Self(Some(URL_SAFE_NO_PAD.encode(&digest[..VARIANT_BYTES])))
    }
}

/// The strong entity tag of a stored resource in `variant`, quoted as the `ETag` header
/// carries it.
pub(crate) fn etag(r: &Resource, variant: &Variant) -> String {
    match &variant.0 {
        None => format!("\"{}\"", item_digest(r)),
        Some(v) => format!("\"{}.{v}\"", item_digest(r)),
    }
}

/// The part of a quoted tag that names the stored item (base64url has no `.`).
fn item_part(tag: &str) -> &str {
    let opaque = tag.trim_matches('"');
    opaque.split_once('.').map_or(opaque, |(item, _)| item)
}

/// The digest of the stored item, unquoted.
fn item_digest(r: &Resource) -> String {
    let mut hasher = Sha256::new();
    for part in [r.ty.name(), r.id.as_str(), &r.version.to_string()] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    let mut text = Vec::with_capacity(512);
    canonical_object(&r.attributes, &mut text);
    // Empty linkage is left out: a resource just written may not list the relationships a
    // stored one reads back empty.
    for (name, id) in r
        .to_one
        .iter()
        .filter_map(|(n, id)| Some((n, id.as_ref()?)))
    {
        string(name, &mut text);
        string(id, &mut text);
    }
    for (name, ids) in r.to_many.iter().filter(|(_, ids)| !ids.is_empty()) {
        string(name, &mut text);
        sequence(ids, *b"[]", &mut text, |id, out| string(id, out));
    }
    hasher.update(&text);
    let digest = hasher.finalize();
    URL_SAFE_NO_PAD.encode(&digest[..TAG_BYTES])
}

/// JSON text with the members of every object in key order, written straight from the
/// stored values (a tag is computed for every resource answered: nothing is copied).
fn canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => canonical_object(map, out),
        Value::Array(items) => sequence(items, *b"[]", out, canonical),
        scalar => serde_json::to_writer(out, scalar).expect("JSON values serialize"),
    }
}

fn canonical_object(map: &Map<String, Value>, out: &mut Vec<u8>) {
    let mut members: Vec<(&String, &Value)> = map.iter().collect();
    members.sort_unstable_by_key(|(k, _)| *k);
    sequence(&members, *b"{}", out, |(k, v), out| {
        string(k, out);
        out.push(b':');
        canonical(v, out);
    });
}

/// Items between `open` and `close`, separated by commas.
fn sequence<T>(
    items: &[T],
    [open, close]: [u8; 2],
    out: &mut Vec<u8>,
    each: impl Fn(&T, &mut Vec<u8>),
) {
    out.push(open);
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        each(item, out);
    }
    out.push(close);
}

/// A JSON string, escaped as `serde_json` escapes it.
fn string(s: &str, out: &mut Vec<u8>) {
    serde_json::to_writer(out, s).expect("strings serialize");
}

/// The tags a precondition header lists.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Tags {
    /// `*`: any current representation.
    Any,
    /// Entity tags, each with its weakness (`W/`).
    List(Vec<(bool, String)>),
}

impl Tags {
    /// Reads one precondition header (every field line of it).
    fn parse(headers: &HeaderMap, name: &HeaderName) -> Result<Option<Self>, ApiError> {
        let malformed = || {
            ApiError::new(
                ErrorKind::BadRequest,
                format!(
                    "The \"{name}\" header must be \"*\" or a list of entity tags such as \"\\\"abc\\\"\" (as the \"ETag\" header gives them)."
                ),
            )
            .header(canonical_name(name))
        };
        let mut lines = headers.get_all(name).iter().peekable();
        if lines.peek().is_none() {
            return Ok(None);
        }
        let mut tags = Vec::new();
        for line in lines {
            let line = line.to_str().map_err(|_| malformed())?;
            for member in line.split(',').map(str::trim).filter(|m| !m.is_empty()) {
                if member == "*" {
                    return Ok(Some(Self::Any));
                }
                let (weak, quoted) = match member.strip_prefix("W/") {
                    Some(rest) => (true, rest),
                    None => (false, member),
                };
                let opaque = quoted
                    .strip_prefix('"')
                    .and_then(|q| q.strip_suffix('"'))
                    .filter(|o| !o.contains('"'))
                    .ok_or_else(malformed)?;
                tags.push((weak, format!("\"{opaque}\"")));
            }
        }
        if tags.is_empty() {
            return Err(malformed());
        }
        Ok(Some(Self::List(tags)))
    }

    /// `If-Match` (strong comparison): a weak tag never matches; a tag of any representation
    /// of the current resource does.
    fn matches_strongly(&self, current: Option<&str>) -> bool {
        match (self, current) {
            (_, None) => false,
            (Self::Any, Some(_)) => true,
            (Self::List(tags), Some(c)) => tags
                .iter()
                .any(|(weak, t)| !weak && item_part(t) == item_part(c)),
        }
    }

    /// `If-None-Match` (weak comparison): the weakness of a tag is ignored.
    fn matches_weakly(&self, current: &str) -> bool {
        match self {
            Self::Any => true,
            Self::List(tags) => tags.iter().any(|(_, t)| t == current),
        }
    }
}

/// The header names as this API writes them in `source.header`.
fn canonical_name(name: &HeaderName) -> &'static str {
    if name == IF_MATCH {
        "If-Match"
    } else {
        "If-None-Match"
    }
}

/// A request's preconditions.
#[derive(Debug, Clone, Default)]
pub(crate) struct Preconditions {
    if_match: Option<Tags>,
    if_none_match: Option<Tags>,
}

impl Preconditions {
    /// Reads `If-Match` and `If-None-Match`.
    ///
    /// # Errors
    /// A 400 naming the header when one is not `*` or a list of entity tags.
    pub(crate) fn of(headers: &HeaderMap) -> Result<Self, ApiError> {
        Ok(Self {
            if_match: Tags::parse(headers, &IF_MATCH)?,
            if_none_match: Tags::parse(headers, &IF_NONE_MATCH)?,
        })
    }

    /// Whether the request carries `If-Match` (the write must then hold the version it checked
    /// against, even when it changes nothing on the resource itself).
    pub(crate) fn has_if_match(&self) -> bool {
        self.if_match.is_some()
    }

    /// The check a write of a known resource (`PATCH`, `DELETE`, a relationship endpoint)
    /// makes against the resource as it read it (`None`: it does not exist).
    ///
    /// # Errors
    /// 428 `precondition required` when the type requires `If-Match` and the request has
    /// none; 412 `precondition failed` when its tags do not name the current version.
    pub(crate) fn check_write(
        &self,
        ty: &ResourceType,
        current: Option<&Resource>,
    ) -> Result<(), ApiError> {
        let Some(tags) = &self.if_match else {
            // A write that creates (an upsert by PATCH) has no version to name.
            if ty.require_if_match && current.is_some() {
                return Err(ApiError::new(
                    ErrorKind::PreconditionRequired,
                    format!(
                        "Writes of \"{}\" must say which version they change: send \"If-Match\" with the \"ETag\" of the resource as last read.",
                        ty.name
                    ),
                )
                .header("If-Match"));
            }
            return Ok(());
        };
        let tag = current.map(|r| etag(r, &Variant::default()));
        if tags.matches_strongly(tag.as_deref()) {
            return Ok(());
        }
        let detail = if current.is_some() {
            "The resource has changed since the version \"If-Match\" names; read it again (its \"ETag\" names the current version) and retry the change on it."
        } else {
            "The resource does not exist, so no version of it matches \"If-Match\"."
        };
        Err(ApiError::new(ErrorKind::PreconditionFailed, detail).header("If-Match"))
    }

    /// Whether a `GET` / `HEAD` of a resource with this tag is answered `304 Not Modified`
    /// (`If-Match`, when also given, must hold first; a failed one is 412).
    ///
    /// # Errors
    /// 412 when `If-Match` does not name the current version.
    pub(crate) fn not_modified(&self, tag: &str) -> Result<bool, ApiError> {
        if let Some(tags) = &self.if_match
            && !tags.matches_strongly(Some(tag))
        {
            return Err(ApiError::new(
                ErrorKind::PreconditionFailed,
                "The resource's current version is not one \"If-Match\" names.",
            )
            .header("If-Match"));
        }
        Ok(self
            .if_none_match
            .as_ref()
            .is_some_and(|tags| tags.matches_weakly(tag)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&HeaderName, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn tags_are_parsed_as_rfc_9110_writes_them() {
        let tags = |v: &str| Tags::parse(&headers(&[(&IF_MATCH, v)]), &IF_MATCH);
        assert_eq!(tags("*").unwrap(), Some(Tags::Any));
        assert_eq!(
            tags("\"a\", W/\"b\"").unwrap(),
            Some(Tags::List(vec![
                (false, "\"a\"".into()),
                (true, "\"b\"".into())
            ]))
        );
        for bad in ["a", "\"a", "W/a", ",", "\"a\"b\""] {
            let e = tags(bad).unwrap_err();
            assert_eq!(e.kind, ErrorKind::BadRequest, "{bad}");
            assert_eq!(
                e.source,
                Some(crate::error::Source::Header("If-Match".into()))
            );
        }
        assert_eq!(Tags::parse(&HeaderMap::new(), &IF_MATCH).unwrap(), None);
    }

    /// An empty resource of a one-type schema's `products`.
    fn product(id: &str) -> Resource {
        let schema = jsonapi_config::parse("test.yaml", "types:\n  products:\n    id: sequence\n")
            .expect("a valid configuration");
        Resource::new(schema.resource_type("products").expect("declared"), id)
    }

    #[test]
    fn the_tag_follows_the_stored_state_not_the_order_of_members() {
        let mut a = product("1");
        a.version = 3;
        a.attributes.insert("x".into(), 1.into());
        a.attributes.insert("y".into(), 2.into());
        let mut b = product("1");
        b.version = 3;
        b.attributes.insert("y".into(), 2.into());
        b.attributes.insert("x".into(), 1.into());
        assert_eq!(etag(&a, &Variant::default()), etag(&b, &Variant::default()));
        b.version = 4;
        assert_ne!(etag(&a, &Variant::default()), etag(&b, &Variant::default()));
        b.version = 3;
        b.attributes.insert("x".into(), 5.into());
        assert_ne!(etag(&a, &Variant::default()), etag(&b, &Variant::default()));
    }

    #[test]
    fn a_stored_resource_keeps_its_tag_across_releases() {
        // Clients hold tags between requests: the canonical text and its digest must not
        // change with the code that writes them.
        let mut r = product("7");
        r.version = 2;
        r.attributes
            .insert("name".into(), "Caf\u{e9} \"noir\"\n".into());
        r.attributes.insert(
            "dims".into(),
            serde_json::json!({"w": 1.5, "h": [1, null, true], "a": {"z": -3, "b": "x"}}),
        );
        r.attributes.insert("price".into(), "9.99".into());
        r.to_one.insert("category".into(), Some("3".into()));
        r.to_one.insert("brand".into(), None);
        r.to_many
            .insert("tags".into(), vec!["a".into(), "b\\".into()]);
        r.to_many.insert("empty".into(), Vec::new());
        assert_eq!(etag(&r, &Variant::default()), "\"j-l97OefSguoggglGemE3w\"");
    }

    #[test]
    fn if_match_compares_strongly_and_if_none_match_weakly() {
        let r = product("1");
        let tag = etag(&r, &Variant::default());
        let weak = format!("W/{tag}");
        let strong = Preconditions::of(&headers(&[(&IF_MATCH, &tag)])).unwrap();
        assert!(strong.not_modified(&tag).is_ok_and(|m| !m));
        let weak_match = Preconditions::of(&headers(&[(&IF_MATCH, &weak)])).unwrap();
        assert_eq!(
            weak_match.not_modified(&tag).unwrap_err().kind,
            ErrorKind::PreconditionFailed
        );
        let none_match = Preconditions::of(&headers(&[(&IF_NONE_MATCH, &weak)])).unwrap();
        assert!(none_match.not_modified(&tag).unwrap());
    }
}
