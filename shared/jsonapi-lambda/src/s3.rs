//! Reading one S3 object as a stream (GetObject), for the `import` function: a request
//! signed with SigV4 (`aws-sigv4`, which the AWS SDK's DynamoDB client already brings)
//! and sent with hyper, rather than `aws-sdk-s3`, whose generated client would be most of
//! the function's code for the one call it makes.
//!
//! Credentials and region come from the Lambda environment (`AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`). `JSONAPI_S3_ENDPOINT` points
//! at another S3 (a local one in tests), addressed path-style; otherwise the bucket is
//! addressed virtual-host style at the region's endpoint.

use std::io::{self, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::SystemTime;

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
    UriPathNormalizationMode, sign,
};
use aws_sigv4::sign::v4;
use bytes::Bytes;
use futures_util::TryStreamExt as _;
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use tokio_util::io::{StreamReader, SyncIoBridge};

/// What an object key keeps as it is in a URL path: S3's unreserved characters and `/`.
const KEY_PATH: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b'/');

/// The user metadata that names the client owning an import (`--metadata client=...`).
const CLIENT_METADATA: &str = "x-amz-meta-client";

/// Why an object could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum S3Error {
    /// The environment lacks what a request needs (region, credentials, a usable endpoint).
    Setup(String),
    /// S3 answered with this status and error code (`NoSuchKey`, `AccessDenied`...).
    Refused { status: u16, code: String },
    /// No answer (connection, TLS, a transfer that broke off).
    Transport(String),
}

impl std::fmt::Display for S3Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Setup(why) => write!(f, "S3 cannot be called: {why}"),
            Self::Refused { status, code } => write!(f, "S3 answered {status} {code}"),
            Self::Transport(why) => write!(f, "S3 could not be reached: {why}"),
        }
    }
}

impl std::error::Error for S3Error {}

impl S3Error {
    /// Whether trying again later may work (S3 or the network failed, not the request).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Refused { status, .. } => *status >= 500 || *status == 429,
            Self::Transport(_) => true,
            Self::Setup(_) => false,
        }
    }
}

/// One object version to read.
#[derive(Debug, Clone, Copy)]
pub struct ObjectRef<'a> {
    pub bucket: &'a str,
    /// The key, decoded.
    pub key: &'a str,
    /// The version the event names, when the bucket keeps versions.
    pub version: Option<&'a str>,
    /// The ETag the event names: a later upload under the same key is not read in its place.
    pub etag: Option<&'a str>,
}

/// An object being read: its content as it arrives (read it on a blocking thread: it waits
/// for the network).
pub struct Object {
    /// The client its user metadata names.
    pub client: Option<String>,
    /// Set when the transfer broke off (the content then ends early with an I/O error).
    pub broken: Arc<AtomicBool>,
    body: SyncIoBridge<StreamReader<BodyStream, Bytes>>,
}

type BodyStream = futures_util::stream::MapErr<
    http_body_util::BodyDataStream<Incoming>,
    fn(hyper::Error) -> io::Error,
>;

impl std::fmt::Debug for Object {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Object")
            .field("client", &self.client)
            .finish_non_exhaustive()
    }
}

type HttpClient = Client<HttpsConnector<HttpConnector>, Empty<Bytes>>;

/// An S3 client for the function's life.
#[derive(Debug, Clone)]
pub struct S3 {
    client: HttpClient,
    endpoint: Option<String>,
}

impl S3 {
    /// A client for the environment's S3 (`JSONAPI_S3_ENDPOINT` when set).
    ///
    /// # Errors
    /// The system has no root certificates.
    pub fn from_env() -> Result<Self, S3Error> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| S3Error::Setup(format!("no root certificates: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        let endpoint = std::env::var("JSONAPI_S3_ENDPOINT")
            .ok()
            .map(|e| e.trim().trim_end_matches('/').to_owned())
            .filter(|e| !e.is_empty());
        Ok(Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            endpoint,
        })
    }

    /// Starts reading an object (GetObject): its metadata, and its content as a reader.
    ///
    /// # Errors
    /// S3 refused (the object is gone, or was replaced: `PreconditionFailed`), or cannot be
    /// reached.
    pub async fn get(&self, object: ObjectRef<'_>) -> Result<Object, S3Error> {
        let request = self.signed_get(object)?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| S3Error::Transport(e.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.into_body().collect().await.map(|b| b.to_bytes());
            let body = body.unwrap_or_default();
            return Err(S3Error::Refused {
                status: status.as_u16(),
                code: error_code(&String::from_utf8_lossy(&body)),
            });
        }
        let client = response
            .headers()
            .get(CLIENT_METADATA)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty());
        let stream: BodyStream = response
            .into_body()
            .into_data_stream()
            .map_err(io::Error::other as fn(hyper::Error) -> io::Error);
        Ok(Object {
            client,
            broken: Arc::new(AtomicBool::new(false)),
            body: SyncIoBridge::new(StreamReader::new(stream)),
        })
    }

    /// The GetObject request, signed with the environment's credentials.
    fn signed_get(&self, object: ObjectRef<'_>) -> Result<http::Request<Empty<Bytes>>, S3Error> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let region =
            env("AWS_REGION").ok_or_else(|| S3Error::Setup("AWS_REGION is not set".into()))?;
        let (Some(id), Some(secret)) = (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"))
        else {
            return Err(S3Error::Setup(
                "no AWS credentials in the environment".into(),
            ));
        };
        let path = utf8_percent_encode(object.key, KEY_PATH);
        let mut url = match &self.endpoint {
            Some(endpoint) => format!("{endpoint}/{}/{path}", object.bucket),
            None => format!("https://{}.s3.{region}.amazonaws.com/{path}", object.bucket),
        };
        if let Some(version) = object.version {
            let version = utf8_percent_encode(version, NON_ALPHANUMERIC);
            url.push_str(&format!("?versionId={version}"));
        }
        let mut builder = http::Request::get(&url);
        if let Some(etag) = object.etag {
            builder = builder.header(http::header::IF_MATCH, format!("\"{etag}\""));
        }
        let mut request = builder
            .body(Empty::new())
            .map_err(|e| S3Error::Setup(format!("unusable URL {url}: {e}")))?;
        let credentials =
            Credentials::new(id, secret, env("AWS_SESSION_TOKEN"), None, "environment");
        sign_s3(&mut request, credentials, &region, SystemTime::now())?;
        Ok(request)
    }
}

/// Signs a bodiless S3 request (SigV4, the headers it carries included, the empty payload's
/// hash in `x-amz-content-sha256` as S3 requires).
fn sign_s3<B>(
    request: &mut http::Request<B>,
    credentials: Credentials,
    region: &str,
    time: SystemTime,
) -> Result<(), S3Error> {
    let unusable = |e: &dyn std::fmt::Display| S3Error::Setup(format!("cannot sign: {e}"));
    let identity = credentials.into();
    let mut settings = SigningSettings::default();
    // S3 takes the path as sent (not encoded twice, not normalised).
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("s3")
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| unusable(&e))?
        .into();
    let url = request.uri().to_string();
    let headers = request
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)));
    let signable = SignableRequest::new("GET", &url, headers, SignableBody::Bytes(&[]))
        .map_err(|e| unusable(&e))?;
    let (instructions, _) = sign(signable, &params)
        .map_err(|e| unusable(&e))?
        .into_parts();
    instructions.apply_to_request_http1x(request);
    Ok(())
}

impl Read for Object {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        // Only the transfer fails a read: the body stream's errors are its.
        let read = self.body.read(buf);
        if read.is_err() {
            self.broken.store(true, Ordering::SeqCst);
        }
        read
    }
}

/// The `<Code>` of an S3 error document (S3 answers errors in XML).
fn error_code(body: &str) -> String {
    body.split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map_or_else(|| "(no error code)".to_owned(), |(code, _)| code.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_code_is_read_from_the_xml_document() {
        let body =
            "<?xml version=\"1.0\"?><Error><Code>NoSuchKey</Code><Message>x</Message></Error>";
        assert_eq!(error_code(body), "NoSuchKey");
        assert_eq!(error_code(""), "(no error code)");
    }

    /// The example of AWS's S3 SigV4 documentation ("Example: GET Object", in "Signature
    /// Calculations for the Authorization Header: Transferring Payload in a Single Chunk"),
    /// whose signature is published.
    #[test]
    fn a_get_is_signed_as_awss_documented_example() {
        let mut request = http::Request::get("https://examplebucket.s3.amazonaws.com/test.txt")
            .header("range", "bytes=0-9")
            .body(())
            .unwrap();
        let credentials = Credentials::new(
            "AKIAIOSFODNN7EXAMPLE",
            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            None,
            None,
            "test",
        );
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_369_353_600);
        sign_s3(&mut request, credentials, "us-east-1", at).expect("signed");
        let authorization = request.headers()["authorization"].to_str().unwrap();
        assert_eq!(
            authorization,
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, \
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, \
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn a_key_keeps_its_slashes_and_unreserved_characters_in_the_path() {
        let path = utf8_percent_encode("imports/products/my file+1~(é).json", KEY_PATH);
        assert_eq!(
            path.to_string(),
            "imports/products/my%20file%2B1~%28%C3%A9%29.json"
        );
    }
}
