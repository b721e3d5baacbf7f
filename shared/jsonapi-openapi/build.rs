//! Brings Swagger UI, which the sandbox page is built on, into the build: the npm package
//! `swagger-ui-dist` at one pinned version, checked against the registry's SHA-512 integrity,
//! and the five files the page serves unpacked into `OUT_DIR/swagger-ui/` for
//! `src/sandbox.rs` to embed. Fetched rather than committed: 1.9 MB of someone else's minified
//! build output has no place in the repository, and the hash pins exactly what is embedded.
//!
//! Offline builds: download the tarball once and name it in `JSONAPI_SWAGGER_UI_TARBALL`.
//! To upgrade: change the version in the URL and the integrity below, then run the browser
//! test (`bash infra/sandbox/browser-test.sh`).

use std::error::Error;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine as _;
use sha2::{Digest, Sha512};

const TARBALL_URL: &str = "https://registry.npmjs.org/swagger-ui-dist/-/swagger-ui-dist-5.35.0.tgz";
/// The package's `dist.integrity` as the registry publishes it (`npm view swagger-ui-dist@5.35.0
/// dist.integrity`).
const INTEGRITY: &str = "sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ==";
/// What the page serves: the bundle, its style sheet and the licences that go with them.
const FILES: [&str; 5] = [
    "swagger-ui-bundle.js",
    "swagger-ui.css",
    "LICENSE",
    "NOTICE",
    "swagger-ui-bundle.js.LICENSE.txt",
];
const TARBALL_ENV: &str = "JSONAPI_SWAGGER_UI_TARBALL";

fn main() -> Result<(), Box<dyn Error>> {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed={TARBALL_ENV}");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").ok_or("cargo sets OUT_DIR")?);
    let target = out.join("swagger-ui");
    if FILES.iter().all(|file| target.join(file).is_file()) {
        return Ok(());
    }
    let tarball = match std::env::var_os(TARBALL_ENV) {
        Some(path) => {
            println!("cargo::rerun-if-changed={}", Path::new(&path).display());
            fs::read(&path).map_err(|e| format!("{TARBALL_ENV}: {e}"))?
        }
        None => download(&out)?,
    };
    check_integrity(&tarball)?;
    unpack(&tarball, &target)
}

/// The tarball through `curl`, which every platform the engine builds on has, so the build
/// needs no TLS stack of its own.
fn download(out: &Path) -> Result<Vec<u8>, Box<dyn Error>> {
    let file = out.join("swagger-ui-dist.tgz");
    let status = Command::new("curl")
        .args(["--fail", "--silent", "--show-error", "--location"])
        .args(["--retry", "3", "--output"])
        .arg(&file)
        .arg(TARBALL_URL)
        .status()
        .map_err(|e| format!("running curl to fetch {TARBALL_URL}: {e}"))?;
    if !status.success() {
        return Err(format!(
            "could not fetch {TARBALL_URL} ({status}); offline, download it elsewhere and set \
             {TARBALL_ENV} to its path"
        )
        .into());
    }
    Ok(fs::read(&file)?)
}

fn check_integrity(tarball: &[u8]) -> Result<(), Box<dyn Error>> {
    let digest = base64::engine::general_purpose::STANDARD.encode(Sha512::digest(tarball));
    if INTEGRITY.strip_prefix("sha512-") == Some(digest.as_str()) {
        Ok(())
    } else {
        Err(format!(
            "the Swagger UI tarball is not the pinned one: sha512-{digest}, expected {INTEGRITY}"
        )
        .into())
    }
}

fn unpack(tarball: &[u8], target: &Path) -> Result<(), Box<dyn Error>> {
    fs::create_dir_all(target)?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tarball));
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        // npm packs every file below `package/`.
        let Some(name) = path.strip_prefix("package").ok().and_then(Path::to_str) else {
            continue;
        };
        if FILES.contains(&name) {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes)?;
            fs::write(target.join(name), bytes)?;
        }
    }
    match FILES.iter().find(|file| !target.join(file).is_file()) {
        Some(missing) => Err(format!("the Swagger UI tarball has no package/{missing}").into()),
        None => Ok(()),
    }
}
