//! Every response the harness sees, held to the OpenAPI document its server publishes
//! (`GET /api/doc/openapi.json`): the status must be one the operation documents, with the
//! documented content type, required headers and body schema. So the whole black-box suite
//! checks the document against the engine's real answers, on both stores.
//!
//! The document is fetched once per server (not at all when the server publishes none, or
//! under another prefix); the validators are compiled once per distinct document, whatever
//! the port it names.

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex, OnceLock};

use hyper::Method;
use serde_json::{Value, json};

use crate::TestResponse;

/// Where the servers under test publish their document.
pub const OPENAPI_PATH: &str = "/api/doc/openapi.json";

/// One published document and the validators compiled from it.
pub struct Document {
    doc: Value,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

impl std::fmt::Debug for Document {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Document").finish_non_exhaustive()
    }
}

/// The documents by their content (the parts that name the server left out).
fn documents() -> &'static Mutex<HashMap<u64, Arc<Document>>> {
    static DOCS: OnceLock<Mutex<HashMap<u64, Arc<Document>>>> = OnceLock::new();
    DOCS.get_or_init(Mutex::default)
}

impl Document {
    /// The document for this published text, shared with every server publishing the same.
    pub fn shared(doc: Value) -> Arc<Self> {
        let mut key = doc.clone();
        if let Some(o) = key.as_object_mut() {
            o.remove("servers");
        }
        if let Some(c) = key.get_mut("components").and_then(Value::as_object_mut) {
            c.remove("securitySchemes");
        }
        let mut hasher = DefaultHasher::new();
        key.to_string().hash(&mut hasher);
        let mut docs = documents().lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(docs.entry(hasher.finish()).or_insert_with(|| {
            Arc::new(Self {
                doc,
                validators: Mutex::default(),
            })
        }))
    }

    /// The validator of the schema at `pointer` (a JSON pointer into the document), whose
    /// `$ref`s resolve inside the document.
    fn validator(&self, pointer: &str) -> Arc<jsonschema::Validator> {
        let mut validators = self.validators.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(validators.entry(pointer.to_owned()).or_insert_with(|| {
            // The document itself is the root schema (its other members are unknown keywords,
            // ignored), so that `#/components/schemas/…` resolves.
            let mut root = self.doc.clone();
            // A fragment may not hold `{` or `}` (path templates) unencoded.
            let fragment = pointer.replace('{', "%7B").replace('}', "%7D");
            root["$ref"] = json!(format!("#{fragment}"));
            Arc::new(
                jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft202012)
                    .should_validate_formats(true)
                    .offline()
                    .build(&root)
                    .unwrap_or_else(|e| panic!("the schema at {pointer} does not compile: {e}")),
            )
        }))
    }

    /// The path template of the document that `path` matches (literal segments equal,
    /// `{param}` any non-empty segment).
    fn template(&self, path: &str) -> Option<&str> {
        let segments: Vec<&str> = path.split('/').collect();
        self.doc["paths"].as_object()?.keys().find_map(|t| {
            let parts: Vec<&str> = t.split('/').collect();
            let fits = parts.len() == segments.len()
                && parts.iter().zip(&segments).all(|(p, s)| {
                    p == s || p.starts_with('{') && p.ends_with('}') && !s.is_empty()
                });
            fits.then_some(t.as_str())
        })
    }

    /// Every way `response` departs from the document, one line each; nothing for a request
    /// the document does not describe (another path or method).
    pub fn problems(&self, response: &TestResponse, path: &str) -> Vec<String> {
        let Some(template) = self.template(path) else {
            return Vec::new();
        };
        // HEAD is answered as GET (the document says so once, and lists only GET).
        let method = if response.method == Method::HEAD {
            "get".to_owned()
        } else {
            response.method.as_str().to_ascii_lowercase()
        };
        let escaped = template.replace('~', "~0").replace('/', "~1");
        let operation = format!("/paths/{escaped}/{method}");
        if self.doc.pointer(&operation).is_none() {
            return Vec::new();
        }
        let status = response.status.as_u16().to_string();
        let at = format!("OpenAPI {} {template} {status}", response.method);
        let Some(mut declared) = self.doc.pointer(&format!("{operation}/responses/{status}"))
        else {
            return vec![format!("{at}: the status is not documented")];
        };
        let mut pointer = format!("{operation}/responses/{status}");
        if let Some(target) = declared.get("$ref").and_then(Value::as_str) {
            pointer = target.trim_start_matches('#').to_owned();
            declared = match self.doc.pointer(&pointer) {
                Some(d) => d,
                None => return vec![format!("{at}: dangling {target}")],
            };
        }
        let mut problems = Vec::new();
        for (name, header) in declared["headers"].as_object().into_iter().flatten() {
            if header["required"] == true && response.header(name).is_none() {
                problems.push(format!("{at}: no {name} header"));
            }
        }
        let content = declared["content"].as_object();
        if response.raw.is_empty() || response.method == Method::HEAD {
            return problems;
        }
        let Some(content) = content else {
            problems.push(format!("{at}: a body where the document has none"));
            return problems;
        };
        let content_type = response.header("content-type").unwrap_or_default();
        let media = content_type.split(';').next().unwrap_or_default().trim();
        if !content.contains_key(media) {
            problems.push(format!(
                "{at}: Content-Type {content_type:?} is not documented ({:?})",
                content.keys().collect::<Vec<_>>()
            ));
            return problems;
        }
        let Some(body) = &response.body else {
            return problems;
        };
        let escaped_media = media.replace('~', "~0").replace('/', "~1");
        let schema = format!("{pointer}/content/{escaped_media}/schema");
        if self.doc.pointer(&schema).is_some() {
            let validator = self.validator(&schema);
            problems.extend(validator.iter_errors(body).take(5).map(|e| {
                format!(
                    "{at}: the body breaks the schema at {} ({}): {}",
                    e.instance_path(),
                    e.schema_path(),
                    short(&e.to_string())
                )
            }));
        }
        problems
    }
}

/// The first line of a validation message, cut short: messages quote the whole instance.
fn short(message: &str) -> String {
    let line = message.lines().next().unwrap_or_default();
    if line.chars().count() > 160 {
        format!("{}…", line.chars().take(160).collect::<String>())
    } else {
        line.to_owned()
    }
}
