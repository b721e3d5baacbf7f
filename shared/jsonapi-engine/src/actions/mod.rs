//! The model system's actions, one module per kind: reads and writes.

pub(crate) mod atomic;
pub(crate) mod compound;
pub(crate) mod read;
mod relationships;
mod subresource;
pub(crate) mod write;
