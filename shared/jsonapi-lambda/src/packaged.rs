//! The API configuration packaged into every function at build time by `build.rs`: the file
//! `JSONAPI_CONFIG_FILE` named when the function was built (checked then), else the example
//! domain. Deployed functions read no configuration file: this text is their configuration.

/// The file the configuration came from, as named at build time (for messages).
pub(crate) const NAME: &str = env!("JSONAPI_PACKAGED_CONFIG_NAME");

/// The configuration's text.
pub(crate) const TEXT: &str = include_str!(concat!(env!("OUT_DIR"), "/api.yaml"));
