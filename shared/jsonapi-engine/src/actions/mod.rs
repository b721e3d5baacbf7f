//! The model system's actions, one module per kind: reads and writes.

pub(crate) mod atomic;
mod compound;
mod read;
mod relationships;
mod write;
