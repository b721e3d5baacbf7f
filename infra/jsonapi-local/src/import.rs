//! `jsonapi-local import FILE --type T [--sync]`: a file of resource objects (a JSON:API
//! document, or NDJSON) through the batch pipeline. By default it is streamed into one
//! asynchronous operation, which the command follows to its end; with `--sync` the file is
//! one synchronous batch (all or nothing, within the synchronous limits). `-` is standard
//! input, copied to a temporary file first (`commands::run_import`). A data folder a
//! running server holds is imported by that server (through its control socket: it reads the
//! file itself; module `commands` decides which); otherwise this process opens the store and
//! runs the batch worker itself.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

use http::{HeaderMap, HeaderValue, Method};
use jsonapi_engine::{ApiErrors, Engine, ImportFormat, OperationReport};
use serde_json::Value;

use crate::backend::Backend;
use crate::{Error, Options, system};

/// How many of an operation's errors the command prints.
const FIRST_ERRORS: usize = 10;
/// The largest file `--sync` reads (a synchronous batch holds at most a few hundred items).
const MAX_SYNC_FILE: u64 = 16 * 1024 * 1024;
/// How often a followed operation is looked at.
const POLL_EVERY: Duration = Duration::from_millis(200);

/// One import.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ImportCommand {
    /// The file (made absolute, so that a server reads the same file).
    pub file: PathBuf,
    /// The type of its `data` items.
    pub ty: String,
    /// NDJSON (one resource object a line) rather than a JSON:API document.
    pub ndjson: bool,
    /// One synchronous batch: all or nothing.
    pub sync: bool,
}

impl ImportCommand {
    /// Runs the command on `engine` (a server's, for a command from its control socket),
    /// telling `progress` how many items it stored: the operation's id, or what a synchronous
    /// batch printed.
    pub(crate) async fn execute(
        &self,
        engine: &Engine<Backend>,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<String, Error> {
        if self.sync {
            return self.sync_batch(engine).await;
        }
        Ok(self.start(engine, progress).await?.to_string())
    }

    pub(crate) async fn start(
        &self,
        engine: &Engine<Backend>,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<u64, Error> {
        let file = std::fs::File::open(&self.file).map_err(|source| Error::ImportFile {
            path: self.file.clone(),
            source,
        })?;
        let format = if self.ndjson {
            ImportFormat::Ndjson
        } else {
            ImportFormat::Document
        };
        let imported = engine
            .import(&self.ty, None, format, file, progress)
            .await
            .map_err(|e| Error::ImportRefused(error_lines(&e)))?;
        Ok(imported.operation)
    }

    /// The file as one `X-Mode: sync` batch.
    async fn sync_batch(&self, engine: &Engine<Backend>) -> Result<String, Error> {
        use std::io::Read as _;
        let unreadable = |source| Error::ImportFile {
            path: self.file.clone(),
            source,
        };
        let mut text = String::new();
        std::fs::File::open(&self.file)
            .map_err(unreadable)?
            .take(MAX_SYNC_FILE)
            .read_to_string(&mut text)
            .map_err(unreadable)?;
        if self.ndjson {
            let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
            text = format!("{{\"data\":[{}]}}", lines.join(","));
        }
        let mut headers = HeaderMap::new();
        headers.insert("x-mode", HeaderValue::from_static("sync"));
        let answer = system::call_with(engine, Method::PATCH, &self.ty, headers, text.into()).await;
        let doc: Value = serde_json::from_slice(&answer.body).unwrap_or_default();
        match doc["data"].as_array() {
            Some(items) if answer.status.is_success() => {
                Ok(format!("imported {} {} (sync)\n", items.len(), self.ty))
            }
            _ => Err(Error::ImportRefused(document_error_lines(&doc))),
        }
    }
}

/// Says what happens when the server holding the data folder imports the file: it reads the
/// file itself, with the configuration it was started with (its progress is shown as it
/// sends it).
pub(crate) fn tell_server_reads(options: &Options, command: &ImportCommand) {
    let data = options.data.display();
    if let Some(config) = &options.config {
        eprintln!(
            "--config {} is not used: the server holding {data} imports with the configuration it was started with",
            config.display()
        );
    }
    let size = std::fs::metadata(&command.file).map_or(0, |m| m.len());
    let then = if command.sync {
        "as one synchronous batch"
    } else {
        "then its operation is followed"
    };
    eprintln!(
        "the server holding {data} reads {} ({:.1} MB); {then}",
        command.file.display(),
        size as f64 / 1e6
    );
}

/// An operation's report from this process's engine.
pub(crate) async fn report(engine: &Engine<Backend>, id: u64) -> Result<OperationReport, Error> {
    engine
        .operation_report(id, FIRST_ERRORS)
        .await
        .map_err(Error::Engine)?
        .ok_or_else(|| Error::Remote(format!("operation {id} is gone")))
}

/// What a server answers to `Request::Progress`.
pub(crate) async fn remote_report(engine: &Engine<Backend>, id: u64) -> Result<String, Error> {
    let report = report(engine, id).await?;
    serde_json::to_string(&report).map_err(|e| Error::Remote(e.to_string()))
}

/// Follows operation `id` to its end, with a progress line on a terminal; the summary and
/// its first errors.
pub(crate) async fn follow<F, R>(id: u64, mut poll: F) -> Result<String, Error>
where
    F: FnMut() -> R,
    R: Future<Output = Result<OperationReport, Error>>,
{
    let terminal = std::io::stderr().is_terminal();
    if terminal {
        // Below the reading's progress line.
        eprintln!();
    }
    // Said at once: if this command stops, the operation goes on (a server, or the next
    // command on the data, resumes it), and this is how to find it.
    eprintln!("operation {id}: stored (GET /api/asyncoperations/{id}), applying");
    loop {
        let report = poll().await?;
        let attributes = &report.operation["attributes"];
        if terminal {
            let progress = attributes["progress"].as_f64().unwrap_or(0.0) * 100.0;
            eprint!("\roperation {id}: applying, {progress:.0}%   ");
        }
        if report.finished() {
            if terminal {
                eprintln!();
            }
            let summary = summary(id, &report);
            return if attributes["status"] == "failed" {
                Err(Error::ImportFailed(summary))
            } else {
                Ok(summary)
            };
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

pub(crate) fn reading_progress(read: usize) {
    if std::io::stderr().is_terminal() {
        eprint!("\rread {read} items   ");
    }
}

/// The lines printed when an operation ended.
fn summary(id: u64, report: &OperationReport) -> String {
    let a = &report.operation["attributes"];
    let s = &a["summary"];
    let n = |name: &str| s[name].as_u64().unwrap_or(0);
    let mut out = format!(
        "operation {id}: {}\nread {}, written {}, created {}, updated {}, errors {} ({} ms applying)\n",
        a["status"].as_str().unwrap_or("?"),
        n("readCount"),
        n("writeCount"),
        n("createCount"),
        n("updateCount"),
        n("errorCount"),
        n("aggregateTime"),
    );
    if !report.errors.is_empty() {
        out.push_str("first errors:\n");
        for e in &report.errors {
            let _ = writeln!(out, "{}", error_line(&e["attributes"]));
        }
    }
    out
}

/// Refusals, one a line.
fn error_lines(errors: &ApiErrors) -> String {
    document_error_lines(&errors.to_document())
}

/// The errors of an error document, one a line: pointer, title, detail.
fn document_error_lines(doc: &Value) -> String {
    let mut out = String::new();
    for e in doc["errors"].as_array().into_iter().flatten() {
        let _ = writeln!(out, "{}", error_line(e));
    }
    out.trim_end().to_owned()
}

/// An error object (or an error resource's attributes) as `  pointer: title: detail`.
fn error_line(e: &Value) -> String {
    format!(
        "  {}: {}: {}",
        e["source"]["pointer"]
            .as_str()
            .filter(|p| !p.is_empty())
            .unwrap_or("-"),
        e["title"].as_str().unwrap_or(""),
        e["detail"].as_str().unwrap_or("")
    )
}
