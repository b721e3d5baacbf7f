//! Role permissions: VIEW, CREATE, EDIT and DELETE per resource type, and what each action of
//! the API needs (Oro's default ACL, spec §12.4).
//!
//! A role's `permissions` is a JSON object from a resource type (or `*` for every type) to a
//! list of permission names: `{"products": ["VIEW", "EDIT"], "*": ["VIEW"]}`; `ALL` stands for
//! the four. Permissions only add up: a principal holding several roles may do whatever any of
//! them allows, on the type itself or through `*`.

use std::collections::HashMap;
use std::fmt;

use jsonapi_config::Operation;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One permission on a resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Permission {
    /// Read.
    View,
    /// Create.
    Create,
    /// Update.
    Edit,
    /// Delete.
    Delete,
}

impl Permission {
    /// The four permissions.
    pub const ALL: [Self; 4] = [Self::View, Self::Create, Self::Edit, Self::Delete];

    /// `VIEW`, `CREATE`, `EDIT` or `DELETE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::View => "VIEW",
            Self::Create => "CREATE",
            Self::Edit => "EDIT",
            Self::Delete => "DELETE",
        }
    }

    /// Parses a permission name, in any case.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(name.trim()))
    }

    fn bit(self) -> u8 {
        match self {
            Self::View => 1,
            Self::Create => 2,
            Self::Edit => 4,
            Self::Delete => 8,
        }
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const VIEW: &[Permission] = &[Permission::View];
const CREATE: &[Permission] = &[Permission::Create, Permission::View];
const EDIT: &[Permission] = &[Permission::Edit, Permission::View];
const DELETE: &[Permission] = &[Permission::Delete];

/// The permissions an operation needs on its resource type (Oro's default ACL). `options` needs
/// none (it never requires authentication), nor do the operations on no type (the token
/// endpoint, the documentation) and those on many resources at once (atomic operations and
/// update_list), each of whose items is checked as the create or update it is.
pub fn required(operation: Operation) -> &'static [Permission] {
    match operation {
        Operation::Get
        | Operation::GetList
        | Operation::GetSubresource
        | Operation::GetRelationship => VIEW,
        Operation::Create => CREATE,
        Operation::Update
        | Operation::UpdateRelationship
        | Operation::AddRelationship
        | Operation::DeleteRelationship
        // A sub-resource action changes its parent (a checkout's payment); what else it
        // writes is the serving extension's business, as a model processor's is.
        | Operation::AddSubresource => EDIT,
        Operation::Delete | Operation::DeleteList => DELETE,
        Operation::Options
        | Operation::UpdateList
        | Operation::Token
        | Operation::Authorize
        | Operation::Jwks
        | Operation::Operations
        | Operation::Docs => &[],
    }
}

/// Why a role's permissions could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PermissionError {
    /// Not an object of type → list of names.
    #[error("role permissions must be an object of resource type to a list of permissions")]
    Shape,
    /// An unknown permission name.
    #[error("unknown permission \"{0}\" (expected VIEW, CREATE, EDIT, DELETE or ALL)")]
    Unknown(String),
}

/// The permissions of one role.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RolePermissions {
    by_type: HashMap<String, u8>,
    wildcard: u8,
}

fn bits_of(names: &Value) -> Result<u8, PermissionError> {
    let Value::Array(names) = names else {
        return Err(PermissionError::Shape);
    };
    let mut bits = 0;
    for name in names {
        let name = name.as_str().ok_or(PermissionError::Shape)?;
        if name.trim().eq_ignore_ascii_case("ALL") {
            bits |= Permission::ALL.iter().fold(0, |b, p| b | p.bit());
        } else {
            bits |= Permission::parse(name)
                .ok_or_else(|| PermissionError::Unknown(name.to_owned()))?
                .bit();
        }
    }
    Ok(bits)
}

impl RolePermissions {
    /// Reads a role's `permissions` JSON (`null` = none).
    ///
    /// # Errors
    /// A wrong shape or an unknown permission name.
    pub fn parse(permissions: &Value) -> Result<Self, PermissionError> {
        let mut role = Self::default();
        match permissions {
            Value::Null => {}
            Value::Object(map) => {
                for (ty, names) in map {
                    let bits = bits_of(names)?;
                    if ty == "*" {
                        role.wildcard |= bits;
                    } else {
                        *role.by_type.entry(ty.clone()).or_default() |= bits;
                    }
                }
            }
            _ => return Err(PermissionError::Shape),
        }
        Ok(role)
    }

    /// Grants `permission` on `resource_type` (`*` for every type).
    #[must_use]
    pub fn with(mut self, resource_type: &str, permission: Permission) -> Self {
        if resource_type == "*" {
            self.wildcard |= permission.bit();
        } else {
            *self.by_type.entry(resource_type.to_owned()).or_default() |= permission.bit();
        }
        self
    }

    /// Whether this role allows `permission` on `resource_type`.
    pub fn allows(&self, resource_type: &str, permission: Permission) -> bool {
        let bits = self.wildcard | self.by_type.get(resource_type).copied().unwrap_or(0);
        bits & permission.bit() != 0
    }
}

/// The union of several roles' permissions: what a principal may do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    role: RolePermissions,
}

impl Grants {
    /// No permission at all.
    pub fn new() -> Self {
        Self::default()
    }

    /// The union of `roles`.
    pub fn from_roles<'a>(roles: impl IntoIterator<Item = &'a RolePermissions>) -> Self {
        let mut grants = Self::new();
        for role in roles {
            grants.add(role);
        }
        grants
    }

    /// Adds one role's permissions.
    pub fn add(&mut self, role: &RolePermissions) {
        self.role.wildcard |= role.wildcard;
        for (ty, bits) in &role.by_type {
            *self.role.by_type.entry(ty.clone()).or_default() |= bits;
        }
    }

    /// Whether `permission` is granted on `resource_type`.
    pub fn allows(&self, resource_type: &str, permission: Permission) -> bool {
        self.role.allows(resource_type, permission)
    }

    /// Whether every one of `permissions` is granted on `resource_type`.
    pub fn allows_all(&self, resource_type: &str, permissions: &[Permission]) -> bool {
        permissions.iter().all(|p| self.allows(resource_type, *p))
    }

    /// Whether `operation` may run on `resource_type`.
    pub fn allows_operation(&self, resource_type: &str, operation: Operation) -> bool {
        self.allows_all(resource_type, required(operation))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use Permission::{Create, Delete, Edit, View};

    #[test]
    fn operations_map_to_the_default_acl() {
        let cases: [(Operation, &[Permission]); 14] = [
            (Operation::Get, &[View]),
            (Operation::GetList, &[View]),
            (Operation::GetSubresource, &[View]),
            (Operation::GetRelationship, &[View]),
            (Operation::Create, &[Create, View]),
            (Operation::Update, &[Edit, View]),
            (Operation::Delete, &[Delete]),
            (Operation::DeleteList, &[Delete]),
            (Operation::UpdateRelationship, &[Edit, View]),
            (Operation::AddRelationship, &[Edit, View]),
            (Operation::DeleteRelationship, &[Edit, View]),
            (Operation::AddSubresource, &[Edit, View]),
            (Operation::UpdateList, &[]),
            (Operation::Options, &[]),
        ];
        for (operation, needed) in cases {
            assert_eq!(required(operation), needed, "{operation}");
        }
    }

    #[test]
    fn role_permissions_parse_and_union() {
        let editor =
            RolePermissions::parse(&json!({"products": ["VIEW", "EDIT"], "*": ["VIEW"]})).unwrap();
        assert!(editor.allows("products", Edit));
        assert!(editor.allows("orders", View));
        assert!(!editor.allows("orders", Edit));
        assert!(!editor.allows("products", Delete));

        let cleaner = RolePermissions::parse(&json!({"orders": ["delete"]})).unwrap();
        let grants = Grants::from_roles([&editor, &cleaner]);
        assert!(grants.allows("orders", Delete));
        assert!(grants.allows("orders", View));
        assert!(!grants.allows("orders", Create));
        assert!(grants.allows_operation("products", Operation::Update));
        assert!(!grants.allows_operation("products", Operation::Create));
        assert!(grants.allows_operation("orders", Operation::DeleteList));
        assert!(!grants.allows_operation("orders", Operation::UpdateRelationship));
        assert!(grants.allows_operation("anything", Operation::Get));
        assert!(grants.allows_operation("anything", Operation::Options));
        assert!(grants.allows_all("products", &[View, Edit]));
        assert!(!grants.allows_all("products", &[View, Delete]));

        let admin = RolePermissions::parse(&json!({"*": ["ALL"]})).unwrap();
        let g = Grants::from_roles([&admin]);
        assert!(Permission::ALL.iter().all(|p| g.allows("x", *p)));

        let nothing = Grants::new();
        assert!(!nothing.allows("products", View));
        assert!(nothing.allows_operation("products", Operation::Options));

        let built = RolePermissions::default()
            .with("products", Create)
            .with("*", View);
        assert!(built.allows("products", Create) && built.allows("other", View));
        assert!(!built.allows("other", Create));
    }

    #[test]
    fn bad_permissions_are_refused() {
        assert_eq!(
            RolePermissions::parse(&json!(null)).unwrap(),
            RolePermissions::default()
        );
        assert_eq!(
            RolePermissions::parse(&json!([])),
            Err(PermissionError::Shape)
        );
        assert_eq!(
            RolePermissions::parse(&json!({"products": "VIEW"})),
            Err(PermissionError::Shape)
        );
        assert_eq!(
            RolePermissions::parse(&json!({"products": [1]})),
            Err(PermissionError::Shape)
        );
        assert_eq!(
            RolePermissions::parse(&json!({"products": ["READ"]})),
            Err(PermissionError::Unknown("READ".into()))
        );
    }

    #[test]
    fn permission_names_round_trip() {
        for p in Permission::ALL {
            assert_eq!(Permission::parse(p.as_str()), Some(p));
            assert_eq!(serde_json::to_value(p).unwrap(), json!(p.as_str()));
            assert_eq!(p.to_string(), p.as_str());
        }
        assert_eq!(Permission::parse(" view "), Some(View));
        assert_eq!(Permission::parse("ALL"), None);
    }
}
