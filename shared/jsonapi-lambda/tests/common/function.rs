//! Real function binaries, built as the running test was, and run as Lambda runs them:
//! against the Runtime API fake of [`super::runtime_api`], with Lambda's environment only.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long any one thing may take before the test gives up.
pub const WAIT: Duration = Duration::from_secs(30);

/// Builds a function binary of the workspace (same profile and target directory as this test),
/// with the example domain built in, and returns its path.
pub fn build(package: &str) -> PathBuf {
    build_with(package, None)
}

/// `cargo build -p package` as this test was built (profile, target directory), with
/// `JSONAPI_CONFIG_FILE` set to `config` (unset: the example domain).
pub fn cargo_build(package: &str, config: Option<&str>) -> Command {
    let profile_dir = profile_dir();
    let target_dir = profile_dir.parent().expect("a target dir");
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args(["build", "--quiet", "-p", package])
        .env("CARGO_TARGET_DIR", target_dir)
        .env_remove("JSONAPI_CONFIG_FILE")
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    if let Some(config) = config {
        cargo.env("JSONAPI_CONFIG_FILE", config);
    }
    if profile_dir.ends_with("release") {
        cargo.arg("--release");
    }
    cargo
}

/// Builds a function binary with the API configuration `config` built in (unset: the
/// example domain) and returns its path.
pub fn build_with(package: &str, config: Option<&str>) -> PathBuf {
    let mut cargo = cargo_build(package, config);
    let mut child = cargo.spawn().expect("cargo runs");
    let deadline = Instant::now() + Duration::from_secs(900);
    loop {
        if let Some(status) = child.try_wait().expect("cargo") {
            assert!(status.success(), "cargo build -p {package} failed");
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("cargo build -p {package} took more than 15 minutes");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    profile_dir().join(package)
}

/// The cargo profile folder this test binary was built into (`<target>/<profile>/deps/<test>`).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary");
    exe.parent()
        .and_then(Path::parent)
        .expect("a profile dir")
        .to_owned()
}

/// A running function process, killed when dropped; its stdout (the logs) is collected.
pub struct Function {
    pub child: Child,
    pub logs: Arc<Mutex<String>>,
}

impl Function {
    /// Starts `binary` with the environment Lambda gives a function, plus `env`.
    pub fn start(binary: &Path, runtime_api: &str, env: &[(&str, &str)]) -> Self {
        let mut command = Command::new(binary);
        // Only what Lambda would set: no credentials or settings of the machine leak in.
        command
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", "fn-get")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH", "true")
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = command.spawn().expect("the function starts");
        let logs = Arc::new(Mutex::new(String::new()));
        let mut stdout = child.stdout.take().expect("stdout");
        let sink = Arc::clone(&logs);
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = stdout.read(&mut buf) {
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Self { child, logs }
    }

    /// The log lines, as JSON.
    pub fn log_lines(&self) -> Vec<Value> {
        self.logs
            .lock()
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|_| panic!("a JSON log line: {l}")))
            .collect()
    }

    /// The log lines once `done` holds for them, or as they are after [`WAIT`]: a request's line
    /// is written around its answer, and the pipe is read by a thread, so a loaded machine may
    /// show the answer first.
    pub fn log_lines_when(&self, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + WAIT;
        loop {
            let lines = self.log_lines();
            if done(&lines) || Instant::now() >= deadline {
                return lines;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (bounded) for the process to exit, and says whether it failed.
    pub fn exit_failed(&mut self) -> bool {
        let deadline = Instant::now() + WAIT;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("the process") {
                return !status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("the function did not exit within {WAIT:?}");
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        // It long-polls `/next` forever.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
