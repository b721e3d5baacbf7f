//! What an operator's mistake at start-up gets: one sentence naming the cause and what to do,
//! a non-zero exit, and no `listening on` line; and commands that only read never leave a
//! store behind. The real binary, as an operator runs it.

use jsonapi_tests::binary::{ServerProcess, run_to_exit, run_to_exit_with_env};

/// The binary's exit code and standard error, checked to be one line and to name no listener.
fn refused(args: &[&str], set: &[(&str, &str)], removed: &[&str]) -> String {
    let (status, stdout, stderr) = run_to_exit_with_env(args, set, removed);
    assert_eq!(status.code(), Some(1), "{args:?}: {stdout}\n{stderr}");
    assert!(!stdout.contains("listening on"), "{stdout}");
    let stderr = stderr.trim_end().to_owned();
    assert!(
        !stderr.contains('\n') && stderr.starts_with("jsonapi-local: "),
        "{args:?} should print one line, printed:\n{stderr}"
    );
    stderr
}

#[test]
fn a_data_folder_in_use_by_a_running_server_is_named() {
    let dir = tempfile::tempdir().expect("a folder");
    let data = dir.path().to_str().expect("UTF-8");
    let server = ServerProcess::start(&["--listen", "127.0.0.1:0", "--data", data]);
    let message = refused(&["--listen", "127.0.0.1:0", "--data", data], &[], &[]);
    assert_eq!(
        message,
        format!(
            "jsonapi-local: the data folder {data} is in use by another process (a server already serving it?): stop that process or use another folder"
        )
    );
    drop(server);
}

#[test]
fn commands_that_read_never_create_a_store() {
    let dir = tempfile::tempdir().expect("a folder");
    let typo = dir.path().join("dta");
    let typo = typo.to_str().expect("UTF-8");
    for args in [
        ["client", "list", "--data", typo].as_slice(),
        ["client", "revoke", "some-id", "--data", typo].as_slice(),
    ] {
        let message = refused(args, &[], &[]);
        assert_eq!(
            message,
            format!(
                "jsonapi-local: the data folder {typo} holds no store (nothing was ever served from it)"
            )
        );
    }
    assert!(
        !std::path::Path::new(typo).exists(),
        "a read-only command made {typo}"
    );
}

#[test]
fn a_client_needs_roles() {
    let dir = tempfile::tempdir().expect("a folder");
    let data = dir.path().to_str().expect("UTF-8");
    let (status, _, stderr) = run_to_exit(&["client", "add", "--name", "ci", "--data", data]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("--roles"), "{stderr}");
}

/// The variables through which the AWS SDK finds a region or credentials; a test that must
/// find none removes them all (and points HOME at an empty folder, for ~/.aws).
const AWS_VARIABLES: [&str; 8] = [
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
];

#[test]
fn no_region_or_no_credentials_is_one_sentence() {
    let home = tempfile::tempdir().expect("a folder");
    let home = home.path().to_str().expect("UTF-8");
    // No instance metadata service either: the SDK would otherwise ask it (and wait).
    let base = [("HOME", home), ("AWS_EC2_METADATA_DISABLED", "true")];
    let serve = ["--listen", "127.0.0.1:0", "--store", "dynamodb"];
    let message = refused(&serve, &base, &AWS_VARIABLES);
    assert_eq!(
        message,
        "jsonapi-local: no AWS region is configured: set AWS_REGION (or a region in ~/.aws/config), or give the endpoint of a local DynamoDB"
    );
    let with_region = [base[0], base[1], ("AWS_REGION", "eu-west-1")];
    let message = refused(&serve, &with_region, &AWS_VARIABLES);
    assert!(
        message.starts_with(
            "jsonapi-local: no usable AWS credentials were found (environment, ~/.aws, SSO, or an instance role): "
        ),
        "{message}"
    );
}

#[test]
fn an_unreachable_endpoint_is_named_with_its_cause() {
    // Port 9 (discard) is closed on loopback: the connection is refused at once.
    let message = refused(
        &[
            "--listen",
            "127.0.0.1:0",
            "--store",
            "dynamodb",
            "--endpoint",
            "http://127.0.0.1:9",
        ],
        &[],
        &[],
    );
    assert!(
        message.starts_with("jsonapi-local: DynamoDB at http://127.0.0.1:9 cannot be reached: ")
            && message.contains("refused"),
        "{message}"
    );
}

#[test]
fn a_missing_table_suggests_create_table() {
    let Ok(endpoint) = std::env::var("JSONAPI_DYNAMODB_ENDPOINT") else {
        eprintln!("skipped: JSONAPI_DYNAMODB_ENDPOINT is not set (infra/test.sh sets it)");
        return;
    };
    let table = format!("jsonapi-missing-{}", std::process::id());
    let args = [
        "--listen",
        "127.0.0.1:0",
        "--store",
        "dynamodb",
        "--endpoint",
        &endpoint,
        "--table",
        &table,
    ];
    let message = refused(&args, &[], &[]);
    assert_eq!(
        message,
        format!(
            "jsonapi-local: the DynamoDB table \"{table}\" does not exist at {endpoint} (add --create-table to create it)"
        )
    );
    let list = ["client", "list"];
    let message = refused(&[&list[..], &args[2..]].concat(), &[], &[]);
    assert!(
        message.ends_with("(add --create-table to create it)"),
        "{message}"
    );
}

#[test]
fn logs_written_to_a_file_carry_no_colour_and_json_logs_are_json() {
    let dir = tempfile::tempdir().expect("a folder");
    let data = dir.path().to_str().expect("UTF-8");
    let server = ServerProcess::start(&["--listen", "127.0.0.1:0", "--data", data]);
    server.signal("TERM");
    let (_, _, stderr) = server.wait();
    assert!(stderr.contains("INFO"), "{stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes in a pipe:\n{stderr}"
    );

    let server = ServerProcess::start(&[
        "--listen",
        "127.0.0.1:0",
        "--data",
        data,
        "--log-format",
        "json",
    ]);
    server.signal("TERM");
    let (_, _, stderr) = server.wait();
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(!lines.is_empty(), "no logs");
    for line in lines {
        let event: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(event.get("level").is_some(), "{line}");
    }
}
