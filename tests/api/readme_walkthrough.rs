//! The README's walk-through ("Try it"), run unchanged as a bash script against a fresh seeded
//! server, the way a newcomer pastes it: from the server's folder, with `jsonapi-local` on the
//! PATH, `H` naming the server (the block's one setting).

use jsonapi_tests::binary::{ServerProcess, server_binary};

/// The first `sh` block after the "## Try it" heading.
fn walkthrough() -> String {
    let readme = concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md");
    let text = std::fs::read_to_string(readme).expect("the README");
    let section = &text[text.find("\n## Try it\n").expect("a Try it section")..];
    let start = section.find("\n```sh\n").expect("a shell block") + "\n```sh\n".len();
    let end = start + section[start..].find("\n```\n").expect("the block's end");
    section[start..end].to_owned()
}

#[test]
fn the_walkthrough_runs_as_a_script() {
    let dir = tempfile::tempdir().expect("a folder");
    let data = dir.path().join("data");
    let server = ServerProcess::start(&[
        "--listen",
        "127.0.0.1:0",
        "--data",
        data.to_str().expect("UTF-8"),
        "--seed",
    ]);
    let bin_dir = server_binary().parent().expect("the binary's folder");
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let script = format!("set -euo pipefail\n{}\n", walkthrough());
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("PATH", path)
        .env("H", &server.base_url)
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}\n{stdout}\n{stderr}", out.status);
    // The token worked: no answer was a 401, and the create and the OPTIONS went through.
    assert!(!stdout.contains("\"status\":\"401\""), "{stdout}");
    assert!(stdout.contains("\"sku\":\"TEA-1\""), "{stdout}");
    assert!(
        stdout
            .to_ascii_lowercase()
            .contains("allow: options, get, head, patch, post, delete"),
        "{stdout}"
    );
    drop(server);
}
