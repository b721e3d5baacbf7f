//! Where a command of the command line runs: a data folder a running server holds is reached
//! through that server's control socket (module `control`); otherwise the command opens the
//! store itself (a DynamoDB table is shared, so it always does).

use std::path::Path;
use std::sync::Arc;

use tempfile::NamedTempFile;

use crate::backend::{self, Opening};
use crate::control::{self, Request};
use crate::import::{follow, reading_progress, report, tell_server_reads};
use crate::{ClientCommand, Error, ImportCommand, KeysCommand, Options};

/// Runs a client command on the store the options name; returns what to print.
///
/// # Errors
/// The store cannot be opened, or the command failed (unknown client, bad name...).
pub async fn run_client_command(
    options: &Options,
    command: ClientCommand,
) -> Result<String, Error> {
    if options.dynamodb.is_none()
        && let Some(answer) = control::send(&options.data, &Request::Client(command.clone())).await
    {
        return answer;
    }
    let opening = match command {
        ClientCommand::Add { .. } => Opening::MayCreate,
        ClientCommand::List | ClientCommand::Revoke { .. } => Opening::Existing,
    };
    command
        .execute(&backend::command_engine(options, opening).await?)
        .await
}

/// Runs a keys command on the store the options name; returns what to print.
///
/// # Errors
/// The store cannot be opened, or the command failed (a key given by the environment).
pub async fn run_keys_command(options: &Options, command: KeysCommand) -> Result<String, Error> {
    // The keys of a store that does not exist yet are made by its first server.
    command
        .execute(&backend::command_engine(options, Opening::Existing).await?)
        .await
}

/// Runs an import on the store the options name; returns what to print.
///
/// # Errors
/// The file cannot be read or is refused, the store cannot be opened or failed.
pub async fn run_import(options: &Options, mut command: ImportCommand) -> Result<String, Error> {
    // Standard input is imported as a file: a server reads its imports by path.
    let _spooled = if command.file.as_os_str() == "-" {
        let spooled = spool_stdin(&options.data).await?;
        command.file = spooled.path().to_path_buf();
        Some(spooled)
    } else {
        None
    };
    command.file = std::fs::canonicalize(&command.file).map_err(|source| Error::ImportFile {
        path: command.file.clone(),
        source,
    })?;
    if options.dynamodb.is_none()
        && let Some(server) = control::connect(&options.data).await
    {
        tell_server_reads(options, &command);
        let request = Request::Import(command.clone());
        let answer = control::exchange(&options.data, server, &request, &reading_progress).await?;
        if command.sync {
            return Ok(answer);
        }
        let id = answer.trim().parse().map_err(|_| Error::Remote(answer))?;
        return follow(id, || async {
            let report = control::send(&options.data, &Request::Progress(id)).await;
            let text = report.unwrap_or_else(|| Err(Error::Remote("the server stopped".into())))?;
            serde_json::from_str(&text).map_err(|e| Error::Remote(e.to_string()))
        })
        .await;
    }
    let engine = Arc::new(backend::command_engine(options, Opening::Import).await?);
    // As at a server's start: a synchronous batch a stopped process left half-written is
    // rolled back before this import reads or writes (its items would clash with them).
    engine
        .recover_commits(options.dynamodb.is_none())
        .await
        .map_err(Error::Engine)?;
    if command.sync {
        return command.execute(&engine, &|_| {}).await;
    }
    // This process's own worker applies the operation (a server on the same DynamoDB table
    // may share the work: chunks and units are applied once whoever runs them).
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(Arc::clone(&engine).run_batch_worker(async {
        let _ = stopped.await;
    }));
    let outcome = async {
        let id = command.start(&engine, &reading_progress).await?;
        follow(id, || async { report(&engine, id).await }).await
    }
    .await;
    let _ = stop.send(());
    let _ = worker.await;
    outcome
}

/// Standard input copied to a temporary file, removed when dropped: in the data folder when it
/// exists (a server holding the folder can read it there, even with a private `/tmp`), else in
/// the system's temporary folder.
async fn spool_stdin(data: &Path) -> Result<NamedTempFile, Error> {
    let folder = if data.is_dir() {
        data.to_path_buf()
    } else {
        std::env::temp_dir()
    };
    let failed = |source| Error::ImportFile {
        path: "-".into(),
        source,
    };
    tokio::task::spawn_blocking(move || {
        let mut file = tempfile::Builder::new()
            .prefix(".import-stdin-")
            .tempfile_in(folder)?;
        std::io::copy(&mut std::io::stdin().lock(), &mut file)?;
        Ok(file)
    })
    .await
    .map_err(|e| failed(std::io::Error::other(e)))?
    .map_err(failed)
}
