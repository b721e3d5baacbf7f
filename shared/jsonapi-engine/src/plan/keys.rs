//! The keys of a scan read in the requested order: how its entries are keyed, where reading
//! resumes, and the groups of entries whose value keys were cut (ordered in memory).

use std::cmp::Ordering;
use std::ops::Bound;

use jsonapi_store::prefix_end;

use super::{KeyRange, Position};
use crate::values::{SEPARATOR, index_key, is_cut};

/// How the entries of a scan that is in the requested order are keyed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyOrder {
    /// `{prefix}{id key}`: the listing (empty prefix), or one value's entries of an index.
    Id { prefix: String },
    /// `{prefix}{cut value key of the first sort field}\u{1}{id key}`: a field's index (empty
    /// prefix), or a composite index within one value of its first field.
    Value { prefix: String, budget: usize },
}

impl KeyOrder {
    /// The sort key of the index entry of a resource at `position`.
    pub(super) fn entry_key(&self, position: &Position) -> String {
        match self {
            Self::Id { prefix } => format!("{prefix}{}", position.id_key()),
            Self::Value { prefix, budget } => format!(
                "{prefix}{}{SEPARATOR}{}",
                index_key(&position.0[0], *budget),
                position.id_key()
            ),
        }
    }

    /// For an entry whose value key was cut: the prefix every entry of its group starts with.
    pub(super) fn group_of(&self, entry_key: &str) -> Option<String> {
        let Self::Value { prefix, budget } = self else {
            return None;
        };
        let value = entry_key
            .strip_prefix(prefix.as_str())?
            .split(SEPARATOR)
            .next()?;
        is_cut(value, *budget).then(|| format!("{prefix}{value}{SEPARATOR}"))
    }

    /// Where reading resumes after `position` (in the reading direction): just past its entry,
    /// or at the start of its group when its value key was cut (the group is then ordered in
    /// memory and what precedes the position is dropped).
    pub(super) fn resume_at(&self, position: &Position, reverse: bool) -> Bound<String> {
        let entry = self.entry_key(position);
        match (self.group_of(&entry), reverse) {
            (None, _) => Bound::Excluded(entry),
            (Some(group), false) => Bound::Included(group),
            (Some(group), true) => group_end(&group),
        }
    }
}

/// The upper bound of a group's entries.
pub(super) fn group_end(group: &str) -> Bound<String> {
    prefix_end(group).map_or(Bound::Unbounded, Bound::Excluded)
}

/// Where reading resumes once a group is read: past it in the reading direction.
pub(super) fn past_group(group: &str, reverse: bool) -> Bound<String> {
    if reverse {
        Bound::Excluded(group.to_owned())
    } else {
        match group_end(group) {
            Bound::Excluded(end) => Bound::Included(end),
            other => other,
        }
    }
}

/// Of two lower bounds the higher (`keep` = `Greater`), of two upper bounds the lower (`Less`).
pub(super) fn tighter(a: Bound<String>, b: Bound<String>, keep: Ordering) -> Bound<String> {
    match (&a, &b) {
        (Bound::Unbounded, _) => b,
        (_, Bound::Unbounded) => a,
        (Bound::Included(x) | Bound::Excluded(x), Bound::Included(y) | Bound::Excluded(y)) => {
            match x.cmp(y) {
                Ordering::Equal if matches!(a, Bound::Excluded(_)) => a,
                Ordering::Equal => b,
                o if o == keep => a,
                _ => b,
            }
        }
    }
}

/// The part of `range` from `start` on, in the reading direction.
pub(super) fn from_start(
    range: &KeyRange,
    start: Option<&Bound<String>>,
    reverse: bool,
) -> KeyRange {
    let (lo, hi) = range.clone();
    match start {
        None => (lo, hi),
        Some(s) if reverse => (lo, tighter(hi, s.clone(), Ordering::Less)),
        Some(s) => (tighter(lo, s.clone(), Ordering::Greater), hi),
    }
}

/// Whether no key lies within a range.
pub(super) fn is_empty((lo, hi): &KeyRange) -> bool {
    match (lo, hi) {
        (Bound::Included(a) | Bound::Excluded(a), Bound::Included(b) | Bound::Excluded(b)) => {
            a > b || (a == b && !matches!((lo, hi), (Bound::Included(_), Bound::Included(_))))
        }
        _ => false,
    }
}
