//! Requests no well-behaved client sends, sent byte for byte: every answer is still a JSON:API
//! error document (JSON:API 1.1 §7; the model system's `… http exception` titles), whether the
//! engine or the HTTP layer below it refuses the request, and the server keeps serving.

use jsonapi_tests::{ApiClient, Source, TestResponse, assert_error, shared_scratch};

/// `POST /api/products` with a `Content-Length` of `declared` and `sent` bytes of body.
fn post_with_length(declared: usize, sent: usize) -> Vec<u8> {
    let mut request = format!(
        "POST /api/products HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/vnd.api+json\r\nContent-Length: {declared}\r\n\r\n"
    )
    .into_bytes();
    request.extend(std::iter::repeat_n(b' ', sent));
    request
}

async fn still_serving(app: &ApiClient) {
    app.get("/api/products").await.assert_status(200);
}

fn assert_refused(response: &TestResponse, status: u16, title: &str) {
    assert_error(response, status, title, Source::Absent);
    assert_eq!(
        response.header("content-type"),
        Some("application/vnd.api+json"),
        "{}",
        response.describe()
    );
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_is_400_not_413() {
    let app = shared_scratch();
    let response = app.raw(post_with_length(200, 20), true).await;
    assert_refused(&response, 400, "bad request http exception");
    // A body over the limit is the 413.
    let response = app
        .raw(post_with_length(8 * 1024 * 1024 + 1, 0), true)
        .await;
    assert_refused(&response, 413, "payload too large http exception");
    still_serving(&app).await;
}

#[tokio::test]
async fn a_uri_longer_than_the_server_reads_is_a_414_document() {
    let app = shared_scratch();
    let long = "a".repeat(70_000);
    let request =
        format!("GET /api/products?filter[name]={long} HTTP/1.1\r\nHost: localhost\r\n\r\n");
    let response = app.raw(request.into_bytes(), false).await;
    assert_refused(&response, 414, "uri too long http exception");
    still_serving(&app).await;
}

#[tokio::test]
async fn too_many_header_fields_are_a_431_document() {
    let app = shared_scratch();
    let mut request = String::from("GET /api/products HTTP/1.1\r\nHost: localhost\r\n");
    for n in 0..150 {
        request.push_str(&format!("X-Filler-{n}: {n}\r\n"));
    }
    request.push_str("\r\n");
    let response = app.raw(request.into_bytes(), false).await;
    assert_refused(
        &response,
        431,
        "request header fields too large http exception",
    );
    still_serving(&app).await;
}

#[tokio::test]
async fn a_malformed_request_head_is_a_400_document() {
    let app = shared_scratch();
    for request in [
        "GET /api/products HTTP/1.1\r\nHost: localhost\r\nNot a header line\r\n\r\n",
        "GET /api/products HTTP/1.1\r\nHost: localhost\r\nBad Name: x\r\n\r\n",
        "BR\u{1}KEN / HTTP/1.1\r\nHost: localhost\r\n\r\n",
    ] {
        let response = app.raw(request.as_bytes().to_vec(), false).await;
        assert_refused(&response, 400, "bad request http exception");
    }
    still_serving(&app).await;
}
