//! The model system's actions, one module per kind: reads and writes.

mod compound;
mod read;
mod relationships;
mod write;
