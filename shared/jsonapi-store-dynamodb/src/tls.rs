//! The SDK's HTTPS client, trusting a fixed root set: the Amazon Trust Services roots that
//! AWS service endpoints chain to, compiled in.
//!
//! The SDK's default client trusts the system's root store, which it reads and parses in full
//! (every file of `/etc/ssl/certs` on Debian, ~290) the first time a client is built: most of a
//! Lambda function's start-up, paid before its first answer. Five certificates in the binary
//! cost nothing to read. The price: an `https` endpoint whose certificate chains to another
//! authority (a self-signed local emulator) is refused; plain `http` endpoints (DynamoDB Local)
//! use no TLS at all.

use aws_sdk_dynamodb::config::SharedHttpClient;
use aws_smithy_http_client::Builder;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};

/// Amazon Root CA 1 to 4 and the Starfield Services root that cross-signs them (PEM).
const AMAZON_ROOTS: &str = include_str!("../roots/amazon-trust-services.pem");

/// The HTTPS client (rustls on aws-lc, as the SDK's default) with [`AMAZON_ROOTS`] only.
pub(crate) fn http_client() -> SharedHttpClient {
    let roots = TrustStore::empty().with_pem_certificate(AMAZON_ROOTS.as_bytes());
    // The builder never fails today (it checks nothing); were it to, the SDK's default
    // context (the system's roots) still connects, only slower to start.
    let context = TlsContext::builder()
        .with_trust_store(roots)
        .build()
        .unwrap_or_default();
    Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(context)
        .build_https()
}
