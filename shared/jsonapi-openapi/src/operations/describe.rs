//! What an operation says of itself: its summary, and a description of what it does and which
//! options a write offers.

use jsonapi_config::Operation;

use super::Route;

/// How filters reach related resources, for the operations that filter.
const PATHS: &str = "A filter of a related type applies through the relationship with a dotted path, at any depth: `filter[category.name]=Tea`, `filter[category.name][contains]=Te`.";

impl Route<'_> {
    pub(super) fn describe(&self, operation: Operation) -> (String, String) {
        let t = &self.ty.name;
        let rel = self.rel.map(|r| r.name.as_str()).unwrap_or_default();
        let target = &self.target().name;
        let (summary, description) = match operation {
            Operation::GetList => (
                format!("List {t}"),
                format!(
                    "A page of `{t}` resources, filtered and sorted by the declared filters and sorters. {PATHS} A query too long for a URL can be sent as `POST` with `X-HTTP-Method-Override: GET` and the parameters as a JSON object in the body."
                ),
            ),
            Operation::Get => (format!("Get one {t} resource"), String::new()),
            Operation::Create => (
                format!("Create a {t} resource"),
                format!(
                    "Creates the resource (201, with `Location`), together with the resources in `included` in one transaction. {}",
                    self.options_text()
                ),
            ),
            Operation::Update => (
                format!("Update a {t} resource"),
                format!(
                    "Changes the members sent; absent members are left as they are. {}",
                    self.options_text()
                ),
            ),
            Operation::Delete => (
                format!("Delete a {t} resource"),
                "Also applies the delete rules of the relationships pointing at it (restrict, nullify, cascade).".to_owned(),
            ),
            Operation::DeleteList => (
                format!("Delete the {t} resources a filter selects"),
                format!(
                    "Deletes at most {} resources per request; at least one filter is needed. {PATHS} The filters may also be sent as a JSON object in the body.",
                    self.schema.api.max_delete
                ),
            ),
            Operation::GetSubresource => (
                format!("Get the {target} resources of {t}.{rel}"),
                self.rel
                    .and_then(|r| r.description.clone())
                    .into_iter()
                    .chain(self.rel.filter(|r| r.many).map(|_| PATHS.to_owned()))
                    .collect::<Vec<_>>()
                    .join(" "),
            ),
            Operation::GetRelationship => (
                format!("Get the linkage of {t}.{rel}"),
                "The identifiers of the related resources.".to_owned(),
            ),
            Operation::UpdateRelationship => (
                format!("Replace the linkage of {t}.{rel}"),
                String::new(),
            ),
            Operation::AddRelationship => (
                format!("Add members to {t}.{rel}"),
                "Members already there are left as they are.".to_owned(),
            ),
            Operation::DeleteRelationship => (
                format!("Remove members from {t}.{rel}"),
                "Members that are not there are ignored.".to_owned(),
            ),
            Operation::Options
            | Operation::AddSubresource
            | Operation::UpdateList
            | Operation::Token
            | Operation::Authorize
            | Operation::Jwks
            | Operation::Operations
            | Operation::Docs => {
                unreachable!("not a route of a type")
            }
        };
        (summary, description)
    }

    /// The meta options a write of the type offers.
    fn options_text(&self) -> String {
        let mut text = Vec::new();
        if self.ty.validation {
            text.push("`meta.validate: true` runs every check and answers as if written, but writes nothing.".to_owned());
        }
        let fields: Vec<&String> = self.ty.upsert.iter().filter(|f| *f != "id").collect();
        if self.ty.upsert.iter().any(|f| f == "id") {
            text.push(
                "`meta.upsert: true` updates the resource with this id, or creates it.".to_owned(),
            );
        }
        if !fields.is_empty() {
            text.push(format!(
                "`meta.upsert: [field]` (on create) updates the resource with the same value of {}, or creates it.",
                fields
                    .iter()
                    .map(|f| format!("`{f}`"))
                    .collect::<Vec<_>>()
                    .join(" or ")
            ));
        }
        text.join(" ")
    }
}
