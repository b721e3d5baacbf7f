//! Importing a file of any size (`jsonapi-local import`, the cloud's `import` function): the
//! items `stream` reads are checked as a batch's are (shape, type), grouped into the same
//! chunks of whole units and stored as one asynchronous operation, which the worker applies
//! like any other. Only a window of one chunk's items (and a bounded backlog of `included`
//! items) is in memory at a time.
//!
//! - A file refused up front (malformed JSON, a wrong shape, an item of another type, two new
//!   items under one `id` or `lid`) stores nothing: the chunks stored so far are deleted and
//!   the first refusals are returned, as a batch request would be answered 400. The
//!   operation's record is stored last, with the releases of its chunks (`layout`): no worker
//!   starts on an import that is not whole, in this process or in the cloud, however long the
//!   file takes to read.
//! - `data` items are cut into windows of the type's `chunkSize`; a window's items that name
//!   each other form units as in a request; an item naming an item of another window by `lid`
//!   is reported by the worker (the `lid` names nothing in its unit).
//! - `included` items (read after `data`: a document whose `included` comes first has every
//!   included item reported as linked to no primary item) join the chunk of the first item
//!   they are linked to: a `data` item that names them or that they name (by `id` or `lid`),
//!   or an included item already placed. The importer keeps, for the whole file, a hash of
//!   each identifier the `data` items carry or link to (about 16 bytes each; items with no
//!   `id`, `lid` or relationship cost nothing) with its chunk; chunks that gain included items
//!   are stored again with them, in batches of [`INCLUDED_BACKLOG`] items. Included items
//!   linked to nothing go to chunks of their own (no `data`), where the worker reports them.

use std::collections::hash_map::{DefaultHasher, Entry};
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::io::Read;

use jsonapi_config::{Operation, ResourceType};
use jsonapi_store::Store;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::sync::mpsc;

use super::body::chunk_writes;
use super::layout;
use super::operation::{Record, expires_at};
use super::request::{foreign_type, meta_actions};
use super::stream::{self, ImportFormat, Piece};
use super::submit::chunk_item;
use super::units::{Unit, units};
use super::worker::Chunk;
use crate::actions::compound::{duplicate_of, own_key};
use crate::actions::write::local_key;
use crate::document::{
    Linkage, ResourceObject, not_an_object, parse_chunk, resource_object, shape,
};
use crate::engine::Engine;
use crate::error::{ApiError, ApiErrors, ApiResult, ErrorKind};

/// How many refusals are gathered before reading stops.
const MAX_REFUSALS: usize = 20;
/// How many placed included items wait before their chunks are stored again with them.
const INCLUDED_BACKLOG: usize = 1000;
/// How many items the reader may be ahead of the importer.
const READ_AHEAD: usize = 1024;

/// An import stored as an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    /// The operation's id (`GET {prefix}/asyncoperations/{id}`).
    pub operation: u64,
    /// `data` items read.
    pub data: usize,
    /// `included` items read.
    pub included: usize,
}

impl<S: Store> Engine<S> {
    /// Reads an import of `type_name` items from `reader` and stores it as an asynchronous
    /// operation owned by `owner` (an API client or user id; `None`: admins only), which the
    /// batch worker then applies. `progress` is told how many `data` items were stored so far.
    ///
    /// # Errors
    /// The type does not exist or does not enable update_list; the file is refused (the first
    /// refusals, pointing into it; nothing is stored); the store failed.
    pub async fn import(
        &self,
        type_name: &str,
        owner: Option<String>,
        format: ImportFormat,
        reader: impl Read + Send + 'static,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<Imported, ApiErrors> {
        let ty = self
            .schema
            .resource_type(type_name)
            .filter(|t| t.actions.allows(Operation::UpdateList))
            .ok_or_else(|| {
                ApiError::new(
                    ErrorKind::MethodNotAllowed,
                    format!("No type \"{type_name}\" accepts batches (update_list)."),
                )
            })?;
        let id = self.store.allocate(&layout::sequence_key(), 1).await?;
        let now = time::OffsetDateTime::now_utc();
        let (tx, mut rx) = mpsc::channel(READ_AHEAD);
        let reading = tokio::task::spawn_blocking(move || stream::read(format, reader, &tx));
        let mut import = Import::new(self, ty, id, expires_at(&self.schema, now));
        let outcome = import.read(&mut rx, progress).await;
        // The reader stops at its next item once nobody listens.
        drop(rx);
        let _ = reading.await;
        let outcome = match outcome {
            Ok(()) => import.finish().await,
            Err(e) => Err(e),
        };
        if let Err(refused) = outcome {
            self.delete_partition(&layout::partition(id)).await?;
            return Err(refused);
        }
        let record = Record::new(id, &ty.name, owner, import.chunks, now, import.expires_at);
        self.store_operation(record).await?;
        Ok(Imported {
            operation: id,
            data: import.data.unwrap_or(0),
            included: import.included,
        })
    }
}

/// An import being read.
struct Import<'a, S: Store> {
    engine: &'a Engine<S>,
    ty: &'a ResourceType,
    op: u64,
    expires_at: i64,
    /// The `data` items of the chunk being filled, with their positions, and as read.
    window: Vec<(usize, Box<RawValue>)>,
    objects: Vec<ResourceObject>,
    /// Chunks stored so far.
    chunks: usize,
    /// The chunk of each identifier (hashed) that a placed item carries or links to.
    links: HashMap<u64, usize>,
    /// The position of each new `data` item that carries an identifier (hashed).
    created: HashMap<u64, usize>,
    /// Included items waiting to be stored with their chunk.
    waiting: BTreeMap<usize, Vec<(usize, Box<RawValue>)>>,
    waiting_len: usize,
    /// Included items linked to no item.
    unlinked: Vec<(usize, Box<RawValue>)>,
    /// How many `data` items the file had, once its `data` was read.
    data: Option<usize>,
    included: usize,
    refusals: Vec<ApiError>,
}

impl<'a, S: Store> Import<'a, S> {
    fn new(engine: &'a Engine<S>, ty: &'a ResourceType, op: u64, expires_at: i64) -> Self {
        Self {
            engine,
            ty,
            op,
            expires_at,
            window: Vec::new(),
            objects: Vec::new(),
            chunks: 0,
            links: HashMap::new(),
            created: HashMap::new(),
            waiting: BTreeMap::new(),
            waiting_len: 0,
            unlinked: Vec::new(),
            data: None,
            included: 0,
            refusals: Vec::new(),
        }
    }

    /// Takes the reader's pieces until the end of the file or enough refusals.
    async fn read(
        &mut self,
        rx: &mut mpsc::Receiver<Piece>,
        progress: &(dyn Fn(usize) + Sync),
    ) -> ApiResult<()> {
        let mut read = 0;
        while let Some(piece) = rx.recv().await {
            match piece {
                Piece::Data(n, raw) => {
                    read += 1;
                    self.add_data(n, raw);
                    if self.window.len() >= self.ty.batch.chunk_size {
                        self.store_window().await?;
                        progress(read);
                    }
                }
                Piece::Included(n, raw) => {
                    self.included += 1;
                    self.add_included(n, raw).await?;
                }
                Piece::DataEnd(n) => {
                    self.data = Some(n);
                    self.store_window().await?;
                    progress(read);
                }
                Piece::Refused(e) => self.refusals.push(e),
            }
            if self.refusals.len() >= MAX_REFUSALS {
                break;
            }
        }
        Ok(())
    }

    /// Stores what is left; the refusals when there are any.
    async fn finish(&mut self) -> ApiResult<()> {
        match self.data {
            // A file refused while its `data` was read has no end of `data`.
            _ if !self.refusals.is_empty() => {}
            None => self.refusals.push(shape(
                "/data",
                "The primary data object collection should exist.",
            )),
            Some(0) => self.refusals.push(shape(
                "/data",
                "The primary data object collection should not be empty.",
            )),
            Some(_) => {}
        }
        if !self.refusals.is_empty() {
            return Err(ApiErrors(std::mem::take(&mut self.refusals)));
        }
        self.store_window().await?;
        self.store_waiting().await?;
        self.store_unlinked().await
    }

    fn add_data(&mut self, n: usize, raw: Box<RawValue>) {
        let pointer = format!("/data/{n}");
        let object = read_object(&raw, &pointer, &mut self.refusals);
        if let Some(object) = object {
            let foreign = foreign_type(self.ty, &object, &self.refusals);
            self.refusals.extend(foreign);
            self.refuse_repeated(n, &object);
            if self.refusals.is_empty() {
                self.objects.push(object);
                self.window.push((n, raw));
            }
        }
    }

    /// Refuses a new item under the `id` or `lid` of an earlier new item, as a request is.
    fn refuse_repeated(&mut self, n: usize, object: &ResourceObject) {
        if meta_actions(object) != [Operation::Create] {
            return;
        }
        let Some(own) = own_key(object) else { return };
        match self.created.entry(hashed(&own)) {
            Entry::Occupied(first) => self.refusals.push(duplicate_of(object, first.get())),
            Entry::Vacant(slot) => {
                slot.insert(n);
            }
        }
    }

    /// Stores the window as the next chunk (nothing once the import is refused).
    async fn store_window(&mut self) -> ApiResult<()> {
        if self.window.is_empty() || !self.refusals.is_empty() {
            return Ok(());
        }
        let n = self.chunks;
        let window = std::mem::take(&mut self.window);
        let objects = std::mem::take(&mut self.objects);
        for object in &objects {
            for key in identifiers(object) {
                self.links.entry(key).or_insert(n);
            }
        }
        // Positions in the window as positions in the file.
        let units: Vec<Unit> = units(&objects, &[])
            .into_iter()
            .map(|u| Unit {
                data: u.data.iter().map(|&k| window[k].0).collect(),
                included: Vec::new(),
            })
            .collect();
        let text = |i: usize| match window.binary_search_by_key(&i, |(at, _)| *at) {
            Ok(k) => window[k].1.get(),
            Err(_) => "null",
        };
        let item = chunk_item(self.op, n, &units, &text, &|_| "null", self.expires_at);
        self.engine.store_chunk(item).await?;
        self.chunks += 1;
        Ok(())
    }

    async fn add_included(&mut self, n: usize, raw: Box<RawValue>) -> ApiResult<()> {
        // The last window gets its chunk number first.
        self.store_window().await?;
        let pointer = format!("/included/{n}");
        let Some(object) = read_object(&raw, &pointer, &mut self.refusals) else {
            return Ok(());
        };
        if !self.refusals.is_empty() {
            return Ok(());
        }
        let keys = identifiers(&object);
        match keys.iter().find_map(|k| self.links.get(k).copied()) {
            Some(chunk) => {
                for key in keys {
                    self.links.entry(key).or_insert(chunk);
                }
                self.waiting.entry(chunk).or_default().push((n, raw));
                self.waiting_len += 1;
                if self.waiting_len >= INCLUDED_BACKLOG {
                    self.store_waiting().await?;
                }
            }
            None => {
                self.unlinked.push((n, raw));
                if self.unlinked.len() >= self.ty.batch.included_chunk_size {
                    self.store_unlinked().await?;
                }
            }
        }
        Ok(())
    }

    /// Stores again each chunk that included items joined, with them.
    async fn store_waiting(&mut self) -> ApiResult<()> {
        for (n, joining) in std::mem::take(&mut self.waiting) {
            let key = layout::chunk_key(self.op, n);
            let stored = self.engine.store.get(&key).await?;
            let stored = stored
                .ok_or_else(|| ApiError::internal(&format!("import chunk {n} is unreadable")))?;
            let chunk = self.engine.load_chunk(&stored).await?;
            let item = chunk.joined(self.op, n, &joining)?;
            for write in chunk_writes(item, None) {
                self.engine.store.transact_deferred(vec![write]).await?;
            }
        }
        self.waiting_len = 0;
        Ok(())
    }

    /// Stores the included items linked to nothing as a chunk of their own.
    async fn store_unlinked(&mut self) -> ApiResult<()> {
        if self.unlinked.is_empty() {
            return Ok(());
        }
        let unlinked = std::mem::take(&mut self.unlinked);
        let units: Vec<Unit> = unlinked
            .iter()
            .map(|(at, _)| Unit {
                data: Vec::new(),
                included: vec![*at],
            })
            .collect();
        let text = |i: usize| match unlinked.iter().find(|(at, _)| *at == i) {
            Some((_, raw)) => raw.get(),
            None => "null",
        };
        let item = chunk_item(
            self.op,
            self.chunks,
            &units,
            &|_| "null",
            &text,
            self.expires_at,
        );
        self.engine.store_chunk(item).await?;
        self.chunks += 1;
        Ok(())
    }
}

impl Chunk {
    /// The chunk stored again with `joining` included items (with their positions in the
    /// file), its units made again.
    fn joined(
        &self,
        op: u64,
        n: usize,
        joining: &[(usize, Box<RawValue>)],
    ) -> ApiResult<jsonapi_store::Item> {
        #[derive(serde::Deserialize)]
        struct Body<'b> {
            #[serde(borrow)]
            data: Vec<&'b RawValue>,
            #[serde(borrow)]
            included: Vec<&'b RawValue>,
        }
        let unreadable = || ApiError::internal(&format!("import chunk {n} is unreadable"));
        let body: Body<'_> = serde_json::from_str(&self.body).map_err(|_| unreadable())?;
        let mut included: Vec<&str> = body.included.iter().map(|r| r.get()).collect();
        let mut included_index = self.included_index.clone();
        for (at, raw) in joining {
            included.push(raw.get());
            included_index.push(*at);
        }
        let data: Vec<&str> = body.data.iter().map(|r| r.get()).collect();
        let text = format!(
            "{{\"data\":[{}],\"included\":[{}]}}",
            data.join(","),
            included.join(",")
        );
        let batch = parse_chunk(text.as_bytes())?;
        // Positions in the file, to the text of the item.
        let data_at: HashMap<usize, &str> = self.data_index.iter().copied().zip(data).collect();
        let included_at: HashMap<usize, &str> =
            included_index.iter().copied().zip(included).collect();
        let units: Vec<Unit> = units(&batch.primary, &batch.included)
            .into_iter()
            .map(|u| Unit {
                data: u.data.iter().map(|&k| self.data_index[k]).collect(),
                included: u.included.iter().map(|&k| included_index[k]).collect(),
            })
            .collect();
        Ok(chunk_item(
            op,
            n,
            &units,
            &|i| data_at.get(&i).copied().unwrap_or("null"),
            &|i| included_at.get(&i).copied().unwrap_or("null"),
            self.expires_at,
        ))
    }
}

/// A resource object of the file, or why it is not one.
fn read_object(
    raw: &RawValue,
    pointer: &str,
    refusals: &mut Vec<ApiError>,
) -> Option<ResourceObject> {
    match serde_json::from_str::<Value>(raw.get()) {
        Ok(Value::Object(o)) => resource_object(&o, pointer, refusals),
        _ => {
            refusals.push(not_an_object(pointer));
            None
        }
    }
}

/// An identifier as the importer keeps it.
fn hashed(key: &(String, String)) -> u64 {
    let mut h = DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

/// The identifiers an item carries (`id`, `lid`) and links to, hashed.
fn identifiers(object: &ResourceObject) -> Vec<u64> {
    let own = [(&object.id, false), (&object.lid, true)]
        .into_iter()
        .filter_map(|(v, local)| v.as_ref().map(|v| local_key(&object.ty, v, local)));
    let linked = object
        .relationships
        .values()
        .flat_map(Linkage::identifiers)
        .map(|ident| local_key(&ident.ty, &ident.id, ident.local));
    own.chain(linked).map(|k| hashed(&k)).collect()
}
