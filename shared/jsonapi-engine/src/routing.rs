//! URL paths to routes, and the methods each route allows for a type.

use jsonapi_config::{Action, ResourceType};

use crate::operation::PathKind;

/// A parsed API path (segments percent-decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Route {
    /// `/{type}`
    List { ty: String },
    /// `/{type}/{id}`
    Item { ty: String, id: String },
    /// `/{type}/{id}/{relationship}`
    Related { ty: String, id: String, rel: String },
    /// `/{type}/{id}/relationships/{relationship}`
    Relationship { ty: String, id: String, rel: String },
}

impl Route {
    pub(crate) fn ty(&self) -> &str {
        match self {
            Self::List { ty }
            | Self::Item { ty, .. }
            | Self::Related { ty, .. }
            | Self::Relationship { ty, .. } => ty,
        }
    }

    /// The shape of the path.
    pub(crate) fn kind(&self) -> PathKind {
        match self {
            Self::List { .. } => PathKind::List,
            Self::Item { .. } => PathKind::Item,
            Self::Related { .. } => PathKind::Related,
            Self::Relationship { .. } => PathKind::Relationship,
        }
    }

    /// Splits a path under `prefix` into a route; `None` when it is not an API path.
    pub(crate) fn parse(prefix: &str, path: &str) -> Option<Self> {
        let rest = path.strip_prefix(prefix)?.strip_prefix('/')?;
        let segments: Option<Vec<String>> = rest
            .split('/')
            .map(|s| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8()
                    .ok()
                    .map(|c| c.into_owned())
                    .filter(|s| !s.is_empty())
            })
            .collect();
        let mut segments = segments?.into_iter();
        let ty = segments.next()?;
        let Some(id) = segments.next() else {
            return Some(Self::List { ty });
        };
        let Some(third) = segments.next() else {
            return Some(Self::Item { ty, id });
        };
        match (third.as_str(), segments.next(), segments.next()) {
            (_, None, _) => Some(Self::Related { ty, id, rel: third }),
            ("relationships", Some(rel), None) => Some(Self::Relationship { ty, id, rel }),
            _ => None,
        }
    }

    /// The methods this route allows for `ty`, `OPTIONS` first, as the `Allow` header lists them.
    pub(crate) fn allowed_methods(&self, ty: &ResourceType) -> Vec<&'static str> {
        let rel = match self {
            Self::Related { rel, .. } | Self::Relationship { rel, .. } => Some(rel.as_str()),
            Self::List { .. } | Self::Item { .. } => None,
        };
        allowed_methods(ty, self.kind(), rel)
    }
}

/// The methods a path of `kind` allows for `ty` (`relationship`: the relationship a related or
/// relationship path names), `OPTIONS` first, as the `Allow` header lists them; only
/// `OPTIONS` when the type enables no action there.
pub fn allowed_methods(
    ty: &ResourceType,
    kind: PathKind,
    relationship: Option<&str>,
) -> Vec<&'static str> {
    let a = &ty.actions;
    let mut methods = vec!["OPTIONS"];
    let mut add = |enabled: bool, names: &[&'static str]| {
        if enabled {
            methods.extend_from_slice(names);
        }
    };
    match kind {
        PathKind::List => {
            add(a.allows(Action::GetList), &["GET", "HEAD"]);
            add(a.allows(Action::UpdateList), &["PATCH"]);
            add(a.allows(Action::Create), &["POST"]);
            add(a.allows(Action::DeleteList), &["DELETE"]);
        }
        PathKind::Item => {
            add(a.allows(Action::Get), &["GET", "HEAD"]);
            add(a.allows(Action::Update), &["PATCH"]);
            add(a.allows(Action::Delete), &["DELETE"]);
        }
        PathKind::Related => add(a.allows(Action::GetSubresource), &["GET", "HEAD"]),
        PathKind::Relationship => {
            let many = relationship
                .and_then(|rel| ty.relationships.get(rel))
                .is_some_and(|r| r.many);
            add(a.allows(Action::GetRelationship), &["GET", "HEAD"]);
            add(a.allows(Action::UpdateRelationship), &["PATCH"]);
            add(many && a.allows(Action::AddRelationship), &["POST"]);
            add(many && a.allows(Action::DeleteRelationship), &["DELETE"]);
        }
    }
    methods
}

/// Percent-encodes an id for use in a URL path segment.
pub(crate) fn encode_segment(s: &str) -> String {
    const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::Route;

    #[test]
    fn paths_become_routes() {
        let p = |s| Route::parse("/api", s);
        assert_eq!(
            p("/api/products"),
            Some(Route::List {
                ty: "products".into()
            })
        );
        assert_eq!(
            p("/api/products/1"),
            Some(Route::Item {
                ty: "products".into(),
                id: "1".into()
            })
        );
        assert_eq!(
            p("/api/products/1/category"),
            Some(Route::Related {
                ty: "products".into(),
                id: "1".into(),
                rel: "category".into()
            })
        );
        assert_eq!(
            p("/api/products/1/relationships/category"),
            Some(Route::Relationship {
                ty: "products".into(),
                id: "1".into(),
                rel: "category".into()
            })
        );
        assert_eq!(
            p("/api/roles/a%20b"),
            Some(Route::Item {
                ty: "roles".into(),
                id: "a b".into()
            })
        );
        assert_eq!(p("/api"), None);
        assert_eq!(p("/api/"), None);
        assert_eq!(p("/api/products/"), None);
        assert_eq!(p("/apix/products"), None);
        assert_eq!(p("/api/a/b/c/d"), None);
    }
}
