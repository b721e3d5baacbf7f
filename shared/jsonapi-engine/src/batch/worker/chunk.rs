//! A chunk as stored: its part of the request, its units, and its items' places in the request.

use jsonapi_store::Item;
use serde_json::Value;

use crate::batch::layout;
use crate::error::{ApiErrors, Source};

/// The attribute that marks a chunk *atomic*: a synchronous batch that went on as an
/// operation (`batch::degrade`), one unit written all or nothing, in steps when it needs more
/// than one transaction.
pub(crate) const ATOMIC: &str = "atomic";

/// A chunk as stored.
pub(crate) struct Chunk {
    pub(crate) body: String,
    pub(crate) data_index: Vec<usize>,
    pub(crate) included_index: Vec<usize>,
    pub(super) units: Vec<(Vec<usize>, Vec<usize>)>,
    pub(crate) expires_at: i64,
    pub(super) atomic: bool,
}

impl Chunk {
    pub(crate) fn of(item: &Item) -> Option<Self> {
        let a = &item.attrs;
        let list = |v: &Value| -> Option<Vec<usize>> {
            v.as_array()?
                .iter()
                .map(|n| n.as_u64().and_then(|n| usize::try_from(n).ok()))
                .collect()
        };
        let units = a
            .get("units")?
            .as_array()?
            .iter()
            .map(|u| Some((list(u.get(0)?)?, list(u.get(1)?)?)))
            .collect::<Option<Vec<_>>>()?;
        Some(Self {
            body: a.get("body")?.as_str()?.to_owned(),
            data_index: list(a.get("dataIndex")?)?,
            included_index: list(a.get("includedIndex")?)?,
            units,
            expires_at: a.get(layout::EXPIRES_AT)?.as_i64()?,
            atomic: a.get(ATOMIC).and_then(Value::as_bool).unwrap_or(false),
        })
    }

    /// Errors of the chunk's items, their pointers into the original request.
    pub(super) fn in_request(&self, mut errors: ApiErrors) -> ApiErrors {
        for e in &mut errors.0 {
            if let Some(Source::Pointer(p)) = &e.source {
                e.source = Some(Source::Pointer(self.original_pointer(p)));
            }
        }
        errors
    }

    /// A pointer into the chunk as a pointer into the original request.
    fn original_pointer(&self, pointer: &str) -> String {
        let mut parts = pointer.splitn(4, '/');
        let (_, section, index) = (parts.next(), parts.next(), parts.next());
        let rest = parts.next();
        let index: Option<usize> = index.and_then(|i| i.parse().ok());
        let original = match (section, index) {
            (Some("data"), Some(i)) => self.data_index.get(i),
            (Some("included"), Some(i)) => self.included_index.get(i),
            _ => None,
        };
        match (section, original) {
            (Some(section), Some(i)) => match rest {
                Some(rest) => format!("/{section}/{i}/{rest}"),
                None => format!("/{section}/{i}"),
            },
            _ => pointer.to_owned(),
        }
    }
}
