//! `jsonapi-local client …` while a server holds the data folder: the command runs in that
//! server (through its control socket), so clients are managed without stopping it, and a
//! revoked client's tokens stop working at once. The real binary, as an operator runs it.

use jsonapi_tests::binary::{ServerProcess, run_to_exit};
use jsonapi_tests::{ApiClient, Credentials};

/// Runs `jsonapi-local client ARGS --data DATA`; asserts it succeeds and returns its output.
fn client(data: &str, args: &[&str]) -> String {
    let args = [&["client"], args, &["--data", data]].concat();
    let (status, stdout, stderr) = run_to_exit(&args);
    assert_eq!(status.code(), Some(0), "{args:?}: {stdout}\n{stderr}");
    stdout
}

fn printed(output: &str, name: &str) -> String {
    output
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name}= in:\n{output}"))
        .to_owned()
}

#[test]
fn clients_are_added_listed_and_revoked_while_the_server_runs() {
    let dir = tempfile::tempdir().expect("a data folder");
    let data = dir.path().to_str().expect("UTF-8");
    let server = ServerProcess::start(&["--listen", "127.0.0.1:0", "--data", data]);

    let added = client(data, &["add", "--name", "ops", "--roles", "admin"]);
    let credentials = Credentials {
        id: printed(&added, "client_id"),
        secret: printed(&added, "client_secret"),
    };
    let listed = client(data, &["list"]);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(&format!("{}\tops\tadmin\t", credentials.id))),
        "{listed}"
    );

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let api = ApiClient::new(server.base_url.clone());
    let token = runtime.block_on(api.client_token(&credentials));
    let api = api.with_token(Some(&token));
    runtime
        .block_on(api.get("/api/categories"))
        .assert_status(200);

    let revoked = client(data, &["revoke", &credentials.id]);
    assert_eq!(revoked, format!("client {} revoked\n", credentials.id));
    // Within the 5 s that revocation promises (the engine trusts a client's state that long).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(6);
    loop {
        let status = runtime.block_on(api.get("/api/categories")).status;
        if status == 401 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the revoked client's token still answers {status}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }

    // Stopped, the server leaves no socket behind, and the commands open the folder
    // themselves.
    server.signal("TERM");
    let (status, _, stderr) = server.wait();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(
        !dir.path().join("control.sock").exists(),
        "the control socket outlived the server"
    );
    let listed = client(data, &["list"]);
    assert!(
        listed.contains(&format!("{}\tops\tadmin\t", credentials.id)),
        "{listed}"
    );
}
