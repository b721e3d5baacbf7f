//! The SAM template of a configuration: `jsonapi-local template [--config FILE]` prints it,
//! and the committed `template.yaml` is what it prints for the example domain (the drift test
//! in `tests/drift.rs` compares them byte for byte).
//!
//! What follows the configuration: the route paths (`api.prefix`), which functions exist (an
//! operation that no type enables has no function and no route; the token function only with
//! `api.auth.enabled`, the docs function only with `api.sandbox` or `api.openapi`, the
//! operations function only with `api.operations`), the token function's reads of the users
//! type (`api.auth.users`), and the token parameters and throttling (only with auth on).
//! What does not: the table (`jsonapi_store_dynamodb::table`), the stack's parameters, logging
//! and throttling figures.
//!
//! # Layout
//! - [`functions`]: per operation, whether the configuration deploys it, what its function
//!   is described as, and which routes it serves. A new operation starts here.
//! - [`policy`]: per operation, the IAM statements of its function. A new operation's
//!   permissions go here.
//! - [`worker`]: the batch worker (fed by the table's stream) and its failure queue, when
//!   some type enables `update_list`.
//! - [`imports`]: with the worker, the bucket that takes files to import and the `import`
//!   function its notifications invoke.
//! - [`text`]: the parts of the template that are the same for every configuration, and the
//!   few settings that change them.
//! - [`yaml`]: quoting and the names CloudFormation allows for logical ids.

mod functions;
mod imports;
mod policy;
mod text;
mod worker;
mod yaml;

use jsonapi_config::Schema;

/// Why no template can be made for a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `api.enabled: false`: every route answers 404, so there is nothing to deploy.
    #[error("api.enabled is false: the API serves nothing, so there is nothing to deploy")]
    ApiDisabled,
    /// The prefix holds characters API Gateway does not take in a route path.
    #[error(
        "api.prefix \"{0}\" cannot be an API Gateway route path: use letters, digits, '-', '_', \
         '.' and '/' between segments"
    )]
    Prefix(String),
}

/// The configuration a template is made for.
#[derive(Debug, Clone, Copy)]
pub struct Configuration<'a> {
    /// The file, as the template's comments name it.
    pub file: &'a str,
    /// Its text: the template carries its digest, which the functions compare with the
    /// configuration they were built with.
    pub text: &'a str,
    /// Its checked schema.
    pub schema: &'a Schema,
}

/// The SAM template (YAML) deploying the API of a configuration.
///
/// # Errors
/// The configuration cannot be deployed ([`TemplateError`]).
pub fn template(config: Configuration<'_>) -> Result<String, TemplateError> {
    let Configuration { file, text, schema } = config;
    if !schema.api.enabled {
        return Err(TemplateError::ApiDisabled);
    }
    let prefix = &schema.api.prefix;
    if !prefix.split('/').skip(1).all(yaml::is_plain_segment) {
        return Err(TemplateError::Prefix(prefix.clone()));
    }
    let auth = schema.api.auth.enabled;
    let mut out = String::new();
    let batches = worker::deploys(schema);
    text::head(
        &mut out,
        file,
        &jsonapi_config::digest(text),
        prefix,
        auth,
        batches,
    );
    for deployed in functions::deployed(schema) {
        out.push('\n');
        deployed.write(&mut out, schema);
    }
    if batches {
        worker::write(&mut out);
        imports::write(&mut out);
    }
    text::outputs(&mut out, prefix, auth, batches);
    Ok(out)
}
