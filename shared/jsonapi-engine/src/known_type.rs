//! A resource's type as the resource holds it: resolved once, where the resource is made (read
//! from the store, created by a request, or by an extension through
//! [`crate::extension::FlushContext::new_resource`]), so nothing that handles the resource
//! afterwards looks its type up by name, and no such lookup can fail.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use jsonapi_config::ResourceType;

/// One of the schema's types, held by a resource. It stands for the type's name wherever a
/// name is wanted (it dereferences to it, compares with it and displays as it), and gives
/// the type's declaration with [`KnownType::declaration`].
#[derive(Clone)]
pub struct KnownType(Arc<ResourceType>);

impl KnownType {
    /// The type, as the schema holds it.
    pub fn new(ty: &Arc<ResourceType>) -> Self {
        Self(Arc::clone(ty))
    }

    /// The type's declaration: its attributes, relationships and settings.
    pub fn declaration(&self) -> &ResourceType {
        &self.0
    }

    /// The type's name (its `type` member).
    pub fn name(&self) -> &str {
        &self.0.name
    }
}

impl Deref for KnownType {
    type Target = str;

    fn deref(&self) -> &str {
        self.name()
    }
}

/// Types are told apart by name: a schema declares each name once.
impl PartialEq for KnownType {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for KnownType {}

impl PartialEq<str> for KnownType {
    fn eq(&self, other: &str) -> bool {
        self.name() == other
    }
}

impl PartialEq<&str> for KnownType {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

impl PartialEq<String> for KnownType {
    fn eq(&self, other: &String) -> bool {
        self.name() == other
    }
}

/// The name only: the declaration is the schema's, and would bury the resource in a debug
/// print.
impl fmt::Debug for KnownType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.name(), f)
    }
}

impl fmt::Display for KnownType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
