//! Names and descriptions: what a type, member, header name or description may be.

use super::problem::{Checked, problem};
use crate::schema::{ASYNC_OPERATIONS_SEGMENT, DOC_SEGMENT};

/// Type names are URL segments and key prefixes: lowercase letters and digits only.
pub(super) fn check_type_name(name: &str) -> Checked<()> {
    if name == DOC_SEGMENT {
        return Err(problem(
            &["types", name],
            "\"doc\" is reserved: {prefix}/doc serves the API's documentation",
        ));
    }
    if name == ASYNC_OPERATIONS_SEGMENT {
        return Err(problem(
            &["types", name],
            "\"asyncoperations\" is reserved: {prefix}/asyncoperations/{id} serves the batch API's operations",
        ));
    }
    let ok = name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(problem(
            &["types", name],
            "a type name must be lowercase letters and digits, starting with a letter (e.g. \"orderlineitems\")",
        ))
    }
}

/// Member names must be valid JSON:API member names and may not be `id` or `type`.
pub(super) fn check_member_name(path: &[&str], name: &str) -> Checked<()> {
    let ok = name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name != "id"
        && name != "type";
    if ok {
        Ok(())
    } else {
        Err(problem(
            path,
            "a field name must be letters, digits or \"_\", start with a letter, and not be \"id\" or \"type\"",
        ))
    }
}

/// A description is text for people: present and not blank (leave the key out instead).
pub(super) fn check_description(path: &[&str], text: Option<&String>) -> Checked<Option<String>> {
    match text {
        None => Ok(None),
        Some(t) if t.trim().is_empty() => {
            let mut p = path.to_vec();
            p.push("description");
            Err(problem(
                &p,
                "must not be empty; leave the key out when there is nothing to say",
            ))
        }
        Some(t) => Ok(Some(t.trim().to_owned())),
    }
}

/// An RFC 9110 token (what a header name is made of).
pub(super) fn http_token(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}
