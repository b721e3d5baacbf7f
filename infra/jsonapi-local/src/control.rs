//! The running server's control socket, `control.sock` in its data folder: the server is the
//! one owner of its embedded store (redb locks the file), so `jsonapi-local client …` on a
//! folder a server holds asks that server to run the command on its own engine. A revoked
//! client's tokens then stop working at once, as on DynamoDB, where both share the table.
//!
//! One connection carries one command: the command as JSON, then the server's [`Answer`]s,
//! one JSON a line: while an import reads its file, how many items it stored so far (at most
//! a few times a second), and at the end what to print or why the command failed. Who may
//! connect is decided by the file system: the socket is readable and writable by the server's
//! user only, like the data folder's store file it stands for.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jsonapi_engine::Engine;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::backend::Backend;
use crate::import::{self, ImportCommand};
use crate::{ClientCommand, Error};

/// The socket's file name in the data folder.
const SOCKET_FILE: &str = "control.sock";

/// The largest command read (a client's name and roles are far smaller).
const MAX_COMMAND: u64 = 64 * 1024;

/// How often an import's progress is sent at most.
const PROGRESS_EVERY: Duration = Duration::from_millis(200);

/// What a command line sends to the server.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) enum Request {
    /// `client add | list | revoke`.
    Client(ClientCommand),
    /// `import`: the server reads the file, telling how many items it stored as it goes, and
    /// answers the operation's id (or, for `--sync`, what to print).
    Import(ImportCommand),
    /// An import's operation, as an [`jsonapi_engine::OperationReport`] in JSON.
    Progress(u64),
}

impl Request {
    async fn execute(
        self,
        engine: &Engine<Backend>,
        progress: &(dyn Fn(usize) + Sync),
    ) -> Result<String, Error> {
        match self {
            Self::Client(command) => command.execute(engine).await,
            Self::Import(command) => command.execute(engine, progress).await,
            Self::Progress(id) => import::remote_report(engine, id).await,
        }
    }
}

/// What the server sends back, a line each: the error itself stays in the server's process,
/// its sentence is what the command prints.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
enum Answer {
    /// An import's `data` items stored so far; more lines follow.
    Stored(usize),
    /// The text to print; the last line.
    Printed(String),
    /// Why the command failed; the last line.
    Failed(String),
}

/// Sends `command` to the server holding `data`; `None` when no server listens there (no
/// socket, or one left by a server that was killed), for the caller to open the store itself.
pub(crate) async fn send(data: &Path, command: &Request) -> Option<Result<String, Error>> {
    let stream = connect(data).await?;
    Some(exchange(data, stream, command, &|_| {}).await)
}

/// A connection to the server holding `data`; `None` as for [`send`].
pub(crate) async fn connect(data: &Path) -> Option<UnixStream> {
    UnixStream::connect(data.join(SOCKET_FILE)).await.ok()
}

/// Sends `command` on a connection to the server holding `data` and reads its answer;
/// `progress` is told each count of stored items the server sends before it.
pub(crate) async fn exchange(
    data: &Path,
    mut stream: UnixStream,
    command: &Request,
    progress: &dyn Fn(usize),
) -> Result<String, Error> {
    let unanswered = |reason: String| Error::Control {
        data: data.to_owned(),
        reason,
    };
    let request = serde_json::to_vec(command).map_err(|e| unanswered(e.to_string()));
    let exchange = async {
        stream
            .write_all(&request?)
            .await
            .map_err(|e| unanswered(e.to_string()))?;
        stream
            .shutdown()
            .await
            .map_err(|e| unanswered(e.to_string()))?;
        let mut lines = BufReader::new(stream).lines();
        loop {
            let line = lines
                .next_line()
                .await
                .map_err(|e| unanswered(e.to_string()))?
                .ok_or_else(|| unanswered("the server closed the connection".into()))?;
            match serde_json::from_str::<Answer>(&line) {
                Ok(Answer::Stored(read)) => progress(read),
                Ok(Answer::Printed(text)) => return Ok(text),
                Ok(Answer::Failed(reason)) => return Err(Error::Remote(reason)),
                Err(e) => return Err(unanswered(e.to_string())),
            }
        }
    };
    exchange.await
}

/// Listens on the data folder's socket until `stopped`, running each command on `engine`.
/// The task ends (and drops its engine, so that the store is closed) when the server stops.
///
/// # Errors
/// The socket cannot be made (e.g. a path longer than a socket address allows).
pub(crate) fn listen(
    data: &Path,
    engine: Arc<Engine<Backend>>,
    mut stopped: watch::Receiver<bool>,
) -> std::io::Result<JoinHandle<()>> {
    let path = data.join(SOCKET_FILE);
    // A socket left by a server that was killed: this process holds the store's lock, so no
    // other server can be listening on it.
    match std::fs::remove_file(&path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = UnixListener::bind(&path)?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
    Ok(tokio::spawn(async move {
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    // One at a time: commands are rare, and an answered command holds no
                    // engine reference once the server stops.
                    if let Ok((stream, _)) = accepted {
                        answer(stream, &engine).await;
                    }
                }
                _ = stopped.changed() => break,
            }
        }
        remove(&path);
    }))
}

fn remove(path: &PathBuf) {
    if let Err(e) = std::fs::remove_file(path)
        && e.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(path = %path.display(), error = %e, "cannot remove the control socket");
    }
}

async fn answer(mut stream: UnixStream, engine: &Engine<Backend>) {
    let mut request = Vec::new();
    let read = (&mut stream)
        .take(MAX_COMMAND)
        .read_to_end(&mut request)
        .await;
    let command = read
        .map_err(|e| e.to_string())
        .and_then(|_| serde_json::from_slice::<Request>(&request).map_err(|e| e.to_string()));
    let answer = match command {
        Ok(command) => {
            tracing::info!(?command, "command from the control socket");
            match execute_telling_progress(command, engine, &mut stream).await {
                Ok(text) => Answer::Printed(text),
                Err(e) => Answer::Failed(e.to_string()),
            }
        }
        Err(e) => Answer::Failed(format!("not a command: {e}")),
    };
    let _ = write_line(&mut stream, &answer).await;
    let _ = stream.shutdown().await;
}

/// Runs `command`, sending the latest count of stored items while it runs (every
/// [`PROGRESS_EVERY`] when it changed). A command line gone away stops the sending, not the
/// command.
async fn execute_telling_progress(
    command: Request,
    engine: &Engine<Backend>,
    stream: &mut UnixStream,
) -> Result<String, Error> {
    let (stored, mut told) = watch::channel(0);
    let progress = move |read| {
        stored.send_replace(read);
    };
    let run = command.execute(engine, &progress);
    tokio::pin!(run);
    let mut every = tokio::time::interval(PROGRESS_EVERY);
    let mut listening = true;
    loop {
        tokio::select! {
            outcome = &mut run => {
                // The last count, which the command line shows before the outcome.
                if listening && told.has_changed().unwrap_or(false) {
                    let read = *told.borrow_and_update();
                    let _ = write_line(stream, &Answer::Stored(read)).await;
                }
                return outcome;
            }
            _ = every.tick(), if listening => {
                if told.has_changed().unwrap_or(false) {
                    let read = *told.borrow_and_update();
                    listening = write_line(stream, &Answer::Stored(read)).await.is_ok();
                }
            }
        }
    }
}

async fn write_line(stream: &mut UnixStream, answer: &Answer) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(answer).map_err(std::io::Error::other)?;
    line.push(b'\n');
    stream.write_all(&line).await
}
