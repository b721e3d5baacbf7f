//! Running the real `jsonapi-local` binary as a child process.
//!
//! The binary is looked up next to the test executable (`<target>/<profile>/jsonapi-local`; the
//! test runs from `<target>/<profile>/deps/`). `cargo test -p jsonapi-tests` builds only the
//! server's library, so the binary may be missing or stale: under cargo (`$CARGO` set) it is
//! always brought up to date with `$CARGO build -p jsonapi-local --bin jsonapi-local` into that
//! same target folder (a no-op when fresh); without cargo it is built only when missing.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::Duration;

/// How long the binary may take to stop after a signal, or to print a line it owes.
pub const PROCESS_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the binary may take to start: `--seed` on a DynamoDB Local that already holds a
/// whole test pass's items took past a minute in CI (the seeding, not the tests, is slow).
pub const START_TIMEOUT: Duration = Duration::from_secs(180);

/// The path of an up-to-date `jsonapi-local` binary (built once per test run when needed).
///
/// # Panics
/// When the binary cannot be found or built.
pub fn server_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(locate_or_build)
}

fn locate_or_build() -> PathBuf {
    let exe = std::env::current_exe().expect("the test executable's path");
    let deps = exe.parent().expect("the test executable's folder");
    let profile_dir = if deps.file_name().is_some_and(|n| n == "deps") {
        deps.parent().expect("the profile folder")
    } else {
        deps
    };
    let binary = profile_dir.join(format!("jsonapi-local{}", std::env::consts::EXE_SUFFIX));
    if std::env::var_os("CARGO").is_some() || !binary.is_file() {
        build(profile_dir);
    }
    assert!(binary.is_file(), "{} was not built", binary.display());
    binary
}

fn build(profile_dir: &Path) {
    let target_dir = profile_dir.parent().expect("the target folder");
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .expect("the profile folder's name");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "build",
            "--quiet",
            "-p",
            "jsonapi-local",
            "--bin",
            "jsonapi-local",
        ])
        .arg("--target-dir")
        .arg(target_dir);
    match profile {
        "debug" => {}
        "release" => {
            command.arg("--release");
        }
        other => {
            command.args(["--profile", other]);
        }
    }
    let status = command.status().expect("cargo runs");
    assert!(status.success(), "building jsonapi-local failed: {status}");
}

/// A `jsonapi-local` child process that printed its `listening on` line.
#[derive(Debug)]
pub struct ServerProcess {
    child: Option<Child>,
    /// `http://ADDR` from the `listening on` line.
    pub base_url: String,
    stdout: mpsc::Receiver<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl ServerProcess {
    /// Starts the binary with `args` and waits for its `listening on http://ADDR` line.
    ///
    /// # Panics
    /// When it cannot start, exits, or prints no such line within [`START_TIMEOUT`].
    pub fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    /// A server on a free loopback port over the data folder `data`, with `--seed` (which
    /// prints the development client it makes on a first start: [`Self::dev_client`]).
    pub fn start_seeded(data: &str) -> Self {
        Self::start(&["--listen", "127.0.0.1:0", "--data", data, "--seed"])
    }

    /// [`ServerProcess::start`] with extra environment variables (e.g. `RUST_LOG`).
    ///
    /// # Panics
    /// As [`ServerProcess::start`].
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        crate::tally::count("server process");
        let mut child = Command::new(server_binary())
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("jsonapi-local starts");
        let (lines, stdout) = mpsc::channel();
        let out = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                // Keep draining even when nobody listens any more, so the child never blocks.
                let _ = lines.send(line);
            }
        });
        let err = child.stderr.take().expect("piped stderr");
        let stderr = std::thread::spawn(move || read_all(err));
        let base_url = loop {
            match stdout.recv_timeout(START_TIMEOUT) {
                Ok(line) => {
                    if let Some(url) = line.trim().strip_prefix("listening on ") {
                        break url.trim_end_matches('/').to_owned();
                    }
                }
                Err(e) => {
                    let _ = child.kill();
                    let status = child.wait().ok();
                    let stderr = stderr.join().unwrap_or_default();
                    panic!(
                        "jsonapi-local {args:?} printed no `listening on` line ({e}); exit: {status:?}; stderr:\n{stderr}"
                    );
                }
            }
        };
        Self {
            child: Some(child),
            base_url,
            stdout,
            stderr: Some(stderr),
        }
    }

    /// The development client the server printed after its `listening on` line
    /// (`… client_id=ID client_secret=SECRET`, printed when `--seed` made it); `None` when the
    /// next line printed within [`PROCESS_TIMEOUT`] names none.
    pub fn dev_client(&self) -> Option<crate::Credentials> {
        let line = self.stdout.recv_timeout(PROCESS_TIMEOUT).ok()?;
        let value = |name: &str| {
            line.split_whitespace()
                .find_map(|word| word.strip_prefix(name))
                .map(str::to_owned)
        };
        Some(crate::Credentials {
            id: value("client_id=")?,
            secret: value("client_secret=")?,
        })
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Sends `signal` (`TERM`, `INT`) with the `kill` command.
    ///
    /// # Panics
    /// When `kill` fails.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{signal} {} failed", self.pid());
    }

    /// Waits for the child to exit; returns its status, the rest of its stdout and its stderr.
    ///
    /// # Panics
    /// When it does not exit within [`PROCESS_TIMEOUT`] (it is killed then).
    pub fn wait(mut self) -> (ExitStatus, Vec<String>, String) {
        let mut child = self.child.take().expect("the child is running");
        let pid = child.id();
        let (done, exited) = mpsc::channel();
        let waiter = std::thread::spawn(move || {
            let status = child.wait();
            let _ = done.send(());
            (child, status)
        });
        if exited.recv_timeout(PROCESS_TIMEOUT).is_err() {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            let _ = waiter.join();
            panic!("jsonapi-local (pid {pid}) did not exit within {PROCESS_TIMEOUT:?}");
        }
        let (_child, status) = waiter.join().expect("the waiter thread");
        let status = status.expect("the exit status");
        let rest: Vec<String> = self.stdout.try_iter().collect();
        let stderr = self
            .stderr
            .take()
            .map(|t| t.join().unwrap_or_default())
            .unwrap_or_default();
        (status, rest, stderr)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // Only reached when a test fails before `wait`: never leave the child running.
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn read_all(mut reader: impl Read) -> String {
    let mut text = String::new();
    let _ = reader.read_to_string(&mut text);
    text
}

/// Runs the binary with `args` to completion (it must exit on its own); returns the exit status,
/// stdout and stderr.
///
/// # Panics
/// When it does not exit within [`PROCESS_TIMEOUT`] (it is killed then).
pub fn run_to_exit(args: &[&str]) -> (ExitStatus, String, String) {
    run_to_exit_with_env(args, &[], &[])
}

/// [`run_to_exit`] with the variables `set` added to its environment and `removed` taken out.
///
/// # Panics
/// As [`run_to_exit`].
pub fn run_to_exit_with_env(
    args: &[&str],
    set: &[(&str, &str)],
    removed: &[&str],
) -> (ExitStatus, String, String) {
    run(args, set, removed, None)
}

/// [`run_to_exit`] with `input` on its standard input.
///
/// # Panics
/// As [`run_to_exit`].
pub fn run_to_exit_with_input(args: &[&str], input: Vec<u8>) -> (ExitStatus, String, String) {
    run(args, &[], &[], Some(input))
}

/// [`run_to_exit`] on a terminal (a pseudo-terminal from util-linux's `script`, which the
/// command's standard output and error both reach): the exit status and what it showed.
///
/// # Panics
/// As [`run_to_exit`], or `script` is not installed.
pub fn run_on_terminal(args: &[&str]) -> (ExitStatus, String) {
    let line = std::iter::once(server_binary().to_str().expect("a UTF-8 path"))
        .chain(args.iter().copied())
        .map(|arg| format!("'{}'", arg.replace('\'', r"'\''")))
        .collect::<Vec<_>>()
        .join(" ");
    let mut command = Command::new("script");
    command.args(["--quiet", "--return", "--command", &line, "/dev/null"]);
    let (status, shown, _) = run_command(command, args, &[], &[], None);
    (status, shown)
}

fn run(
    args: &[&str],
    set: &[(&str, &str)],
    removed: &[&str],
    input: Option<Vec<u8>>,
) -> (ExitStatus, String, String) {
    let mut command = Command::new(server_binary());
    command.args(args);
    run_command(command, args, set, removed, input)
}

fn run_command(
    mut command: Command,
    args: &[&str],
    set: &[(&str, &str)],
    removed: &[&str],
    input: Option<Vec<u8>>,
) -> (ExitStatus, String, String) {
    crate::tally::count("command process");
    for name in removed {
        command.env_remove(name);
    }
    let mut child = command
        .envs(set.iter().copied())
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("jsonapi-local starts");
    // Written from a thread of its own, so that a child that writes much before it reads all
    // of its input cannot block on a full pipe while this one blocks on its input's.
    if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
        std::thread::spawn(move || {
            use std::io::Write as _;
            let _ = stdin.write_all(&input);
        });
    }
    let out = child.stdout.take().expect("piped stdout");
    let err = child.stderr.take().expect("piped stderr");
    let stdout = std::thread::spawn(move || read_all(out));
    let stderr = std::thread::spawn(move || read_all(err));
    let pid = child.id();
    let (done, exited) = mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let status = child.wait();
        let _ = done.send(());
        status
    });
    if exited.recv_timeout(PROCESS_TIMEOUT).is_err() {
        let _ = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
        let _ = waiter.join();
        panic!("jsonapi-local {args:?} did not exit within {PROCESS_TIMEOUT:?}");
    }
    let status = waiter
        .join()
        .expect("the waiter thread")
        .expect("the exit status");
    (
        status,
        stdout.join().unwrap_or_default(),
        stderr.join().unwrap_or_default(),
    )
}
