//! `ceiling`: the fastest server we could reasonably write with the same
//! stack as the engine (hyper 1, HTTP/1.1, multi-threaded tokio, keep-alive).
//!
//! It answers every request with one fixed JSON:API document, so the load
//! generator's figures against it are the upper bound ("ceiling") for the
//! engine on this machine: engine rps / ceiling rps says how much the JSON:API
//! work itself costs, independent of how fast or noisy the machine is.

use std::convert::Infallible;
use std::io::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use jsonapi_bench::{CEILING_BODY, JSONAPI_MEDIA_TYPE};
use tokio::net::TcpListener;

#[derive(Debug, Parser)]
#[command(about = "Minimal hyper server answering every request with a fixed JSON:API body")]
struct Args {
    /// Address to listen on; port 0 picks a free port (printed on startup).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
}

/// Answers any request with the fixed document.
async fn handle(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    // Read the request body like a real handler would: it keeps the POST
    // comparison fair and lets the connection be reused cleanly. A broken
    // body is ignored; the client will see the connection fail anyway.
    let _ = req.into_body().collect().await;
    let mut res = Response::new(Full::new(Bytes::from_static(CEILING_BODY.as_bytes())));
    res.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSONAPI_MEDIA_TYPE));
    Ok(res)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    // Bind before announcing, so the address printed is the real one (port 0
    // resolved) and connections are already queued by the kernel from then on.
    let listener = TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://{addr}")?;
    // Flush explicitly: the launcher blocks on this line and stdout is a pipe.
    stdout.flush()?;
    drop(stdout);

    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                // Usually fd exhaustion under load: back off instead of
                // exiting, the way a production server would.
                eprintln!("accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        // Small request/response pairs: don't let Nagle delay them.
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            // Keep-alive is hyper's default for HTTP/1.1; stated for clarity.
            let conn = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service_fn(handle));
            // Peers resetting connections is normal at the end of a run.
            let _ = conn.await;
        });
    }
}
