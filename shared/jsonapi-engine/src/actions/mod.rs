//! The model system's actions, one module per kind: reads and writes.

mod read;
mod write;
