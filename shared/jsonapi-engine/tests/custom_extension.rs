//! An extension of a user's own, registered from outside the engine crate through its public
//! API (`Engine::with_extension`), acting on requests at each stage: it computes a read-only
//! attribute before the write is stored, refuses a request (nothing stored), adds a value to
//! every resource read, and is told of each committed write.

use std::sync::{Arc, Mutex};

use http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use jsonapi_engine::error::{ApiError, ApiResult, ErrorKind};
use jsonapi_engine::extension::{BoxFuture, ChangeSet, Extension, FlushContext};
use jsonapi_engine::resource::Resource;
use jsonapi_engine::{ApiRequest, Engine, MEDIA_TYPE};
use jsonapi_store_redb::RedbStore;
use serde_json::{Value, json};

const CONFIG: &str = "
types:
  notes:
    id: sequence
    attributes:
      text: { type: string, required: true }
      words: { type: integer, readOnly: true }
      shouted: { type: string, readOnly: true }
";

/// Keeps `notes.words` equal to the number of words of `notes.text`, refuses notes that say
/// "forbidden", shows every note's text upper-cased as `shouted`, and records what was saved.
#[derive(Debug, Default)]
struct WordCount {
    saved: Arc<Mutex<Vec<String>>>,
}

impl Extension for WordCount {
    fn pre_flush<'a>(&'a self, ctx: &'a mut FlushContext<'_>) -> BoxFuture<'a, ApiResult<()>> {
        Box::pin(async move {
            let notes: Vec<Resource> = ctx
                .changes
                .changes()
                .filter_map(|c| c.after.clone())
                .filter(|r| r.ty == "notes")
                .collect();
            for mut note in notes {
                let text = note.attributes["text"].as_str().unwrap_or_default();
                if text.contains("forbidden") {
                    return Err(ApiError::new(
                        ErrorKind::Constraint("note constraint"),
                        "A note may not say \"forbidden\".",
                    )
                    .into());
                }
                let words = text.split_whitespace().count();
                note.attributes.insert("words".into(), words.into());
                ctx.stage(note);
            }
            Ok(())
        })
    }

    fn customize_loaded_data(&self, resource: &mut Resource) {
        if let Some(text) = resource.attributes.get("text").and_then(Value::as_str) {
            let shouted = text.to_uppercase();
            resource.attributes.insert("shouted".into(), shouted.into());
        }
    }

    fn post_save(&self, _action: jsonapi_config::Operation, changes: &ChangeSet) {
        let mut saved = self.saved.lock().unwrap();
        saved.extend(
            changes
                .changes()
                .filter_map(|c| c.after.as_ref().map(|r| r.id.clone())),
        );
    }
}

async fn call(
    engine: &Engine<RedbStore>,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(MEDIA_TYPE));
    let response = engine
        .handle_as_system(ApiRequest {
            method,
            path: path.to_owned(),
            query: None,
            headers,
            body: body.map(|b| b.to_string().into()).unwrap_or_default(),
            base_url: "http://test".to_owned(),
        })
        .await;
    (
        response.status,
        serde_json::from_slice(&response.body).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn a_custom_extension_acts_on_every_stage_of_a_request() {
    let dir = tempfile::tempdir().unwrap();
    let schema = jsonapi_config::parse("notes.yaml", CONFIG).expect("a valid configuration");
    let extension = WordCount::default();
    let saved = Arc::clone(&extension.saved);
    let engine = Engine::new(schema, RedbStore::open(dir.path()).unwrap())
        .with_extension(Box::new(extension));

    // Computed before the write is stored, and shown on every read.
    let (status, doc) = call(
        &engine,
        Method::POST,
        "/api/notes",
        Some(json!({"data": {"type": "notes", "attributes": {"text": "three little words"}}})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{doc}");
    let id = doc["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(doc["data"]["attributes"]["words"], 3, "{doc}");
    let (_, doc) = call(&engine, Method::GET, &format!("/api/notes/{id}"), None).await;
    assert_eq!(doc["data"]["attributes"]["words"], 3, "stored: {doc}");
    assert_eq!(doc["data"]["attributes"]["shouted"], "THREE LITTLE WORDS");

    // Kept current by an update.
    let (status, doc) = call(
        &engine,
        Method::PATCH,
        &format!("/api/notes/{id}"),
        Some(json!({"data": {"type": "notes", "id": id, "attributes": {"text": "two words"}}})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert_eq!(doc["data"]["attributes"]["words"], 2, "{doc}");

    // A refusal is the request's error document, and nothing is stored.
    let (status, doc) = call(
        &engine,
        Method::POST,
        "/api/notes",
        Some(json!({"data": {"type": "notes", "attributes": {"text": "a forbidden note"}}})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{doc}");
    assert_eq!(doc["errors"][0]["title"], "note constraint", "{doc}");
    let (_, doc) = call(&engine, Method::GET, "/api/notes", None).await;
    assert_eq!(doc["data"].as_array().map(Vec::len), Some(1), "{doc}");

    // Told of the two committed writes, not of the refused one.
    assert_eq!(*saved.lock().unwrap(), [id.clone(), id]);
}
