//! Reading an import file as a stream: a JSON:API document (`{"data": [...], "included":
//! [...]}`) or NDJSON (one resource object a line), handed on item by item as the text it was
//! written in, so that a file of any size is never whole in memory. It runs on a blocking
//! thread (serde_json reads from `std::io::Read`) and sends each item over a bounded channel:
//! the reader waits while the store catches up.
//!
//! Pointers: a document's items are `/data/{n}` and `/included/{n}` as in a request; an NDJSON
//! line `L` is `/data/{L-1}` (blank lines count as lines and hold nothing).

use std::fmt;
use std::io::{BufRead, BufReader, Read};

use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use tokio::sync::mpsc::Sender;

use crate::document::shape;
use crate::error::{ApiError, ErrorKind};

/// How an import file is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    /// One JSON:API document: `data` (and `included`) arrays of resource objects.
    Document,
    /// Newline-delimited JSON: one resource object of `data` a line.
    Ndjson,
}

/// What the reader hands on, in file order.
#[derive(Debug)]
pub(crate) enum Piece {
    /// An item of `data` at its position.
    Data(usize, Box<RawValue>),
    /// An item of `included` at its position.
    Included(usize, Box<RawValue>),
    /// The end of `data`, with how many items it held.
    DataEnd(usize),
    /// Why the file cannot be imported (the reader stops after it).
    Refused(ApiError),
}

/// The message of the error that stops serde once a refusal was sent, or once the importer
/// stopped listening.
const STOPPED: &str = "import stopped";

/// Reads `reader` to its end (or to the first problem) and sends its pieces to `tx`.
pub(crate) fn read(format: ImportFormat, reader: impl Read, tx: &Sender<Piece>) {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    // A byte order mark (spreadsheet exports write one) is no part of the JSON.
    if reader
        .fill_buf()
        .is_ok_and(|start| start.starts_with(b"\xEF\xBB\xBF"))
    {
        reader.consume(3);
    }
    match format {
        ImportFormat::Document => read_document(reader, tx),
        ImportFormat::Ndjson => read_lines(reader, tx),
    }
}

fn read_document(reader: impl Read, tx: &Sender<Piece>) {
    let mut de = serde_json::Deserializer::from_reader(reader);
    let read = de::Deserializer::deserialize_any(&mut de, Top { tx }).and_then(|()| de.end());
    // serde adds where it stopped to the message ("import stopped at line 1 column 11").
    if let Err(e) = read
        && !e.to_string().starts_with(STOPPED)
    {
        let detail = if e.is_eof() && e.line() == 1 && e.column() == 0 {
            return refuse(tx, shape("", "The request data should not be empty."));
        } else {
            format!("Invalid json message received: {e}.")
        };
        refuse(tx, ApiError::new(ErrorKind::BadRequest, detail));
    }
}

fn read_lines(mut reader: impl BufRead, tx: &Sender<Piece>) {
    let mut line = String::new();
    let mut data = 0;
    for n in 0.. {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                let detail = format!("Line {} cannot be read: {e}.", n + 1);
                return refuse(
                    tx,
                    ApiError::new(ErrorKind::BadRequest, detail).at(format!("/data/{n}")),
                );
            }
        }
        let text = line.trim();
        if text.is_empty() {
            continue;
        }
        match serde_json::from_str::<Box<RawValue>>(text) {
            Ok(raw) => {
                if tx.blocking_send(Piece::Data(n, raw)).is_err() {
                    return;
                }
                data += 1;
            }
            Err(e) => {
                let detail = format!("Invalid json message received on line {}: {e}.", n + 1);
                return refuse(
                    tx,
                    ApiError::new(ErrorKind::BadRequest, detail).at(format!("/data/{n}")),
                );
            }
        }
    }
    let _ = tx.blocking_send(Piece::DataEnd(data));
}

fn refuse(tx: &Sender<Piece>, error: ApiError) {
    let _ = tx.blocking_send(Piece::Refused(error));
}

/// Sends a refusal and stops serde.
fn stop<E: de::Error>(tx: &Sender<Piece>, error: ApiError) -> Result<(), E> {
    refuse(tx, error);
    Err(E::custom(STOPPED))
}

/// The top level of a document: its members, `data` and `included` read as streams.
struct Top<'a> {
    tx: &'a Sender<Piece>,
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON:API document")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "data" => map.next_value_seed(Section {
                    tx: self.tx,
                    included: false,
                })?,
                "included" => map.next_value_seed(Section {
                    tx: self.tx,
                    included: true,
                })?,
                "jsonapi" | "meta" | "links" => {
                    map.next_value::<IgnoredAny>()?;
                }
                _ => {
                    let detail = format!(
                        "The '{key}' property is not allowed at the top level of a request document."
                    );
                    return stop(self.tx, shape(&format!("/{key}"), detail));
                }
            }
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.not_an_object()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_an_object()
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.not_an_object()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.not_an_object()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.not_an_object()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.not_an_object()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.not_an_object()
    }
}

impl Top<'_> {
    fn not_an_object<E: de::Error>(&self) -> Result<(), E> {
        stop(
            self.tx,
            shape("", "The request data should be a JSON object."),
        )
    }
}

/// `data` or `included`: an array whose items are sent one by one as they are read.
struct Section<'a> {
    tx: &'a Sender<Piece>,
    included: bool,
}

impl<'de> DeserializeSeed<'de> for Section<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Section<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of resource objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut n = 0;
        while let Some(raw) = seq.next_element::<Box<RawValue>>()? {
            let piece = if self.included {
                Piece::Included(n, raw)
            } else {
                Piece::Data(n, raw)
            };
            if self.tx.blocking_send(piece).is_err() {
                return Err(de::Error::custom(STOPPED));
            }
            n += 1;
        }
        if !self.included && self.tx.blocking_send(Piece::DataEnd(n)).is_err() {
            return Err(de::Error::custom(STOPPED));
        }
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        self.not_an_array()
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        self.not_an_array()
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.not_an_array()
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.not_an_array()
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.not_an_array()
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.not_an_array()
    }
    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.not_an_array()
    }
}

impl Section<'_> {
    fn not_an_array<E: de::Error>(&self) -> Result<(), E> {
        let error = if self.included {
            shape("/included", "The 'included' property should be an array.")
        } else {
            shape(
                "/data",
                "The primary data object collection should be an array.",
            )
        };
        stop(self.tx, error)
    }
}
