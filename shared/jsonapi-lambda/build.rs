//! Packages the API configuration into the functions: the file `JSONAPI_CONFIG_FILE` names
//! (relative to the repository root, or absolute), else the example domain, checked here with
//! the same `FILE:LINE: KEY: message` errors as `jsonapi-local check`, so a broken
//! configuration fails `sam build`, not the deployed functions' init. The text is copied into
//! the build's output folder and embedded from there (`src/packaged.rs`): the deployment
//! package holds `bootstrap` alone, and the configuration travels inside it.

use std::path::{Path, PathBuf};

fn main() {
    println!("cargo::rerun-if-env-changed=JSONAPI_CONFIG_FILE");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let named = std::env::var("JSONAPI_CONFIG_FILE")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let (name, path) = match named {
        Some(file) => {
            let path = PathBuf::from(&file);
            let path = if path.is_absolute() {
                path
            } else {
                root.join(path)
            };
            (file, path)
        }
        None => (
            jsonapi_config::EXAMPLE_DOMAIN_FILE.to_owned(),
            root.join(jsonapi_config::EXAMPLE_DOMAIN_FILE),
        ),
    };
    println!("cargo::rerun-if-changed={}", path.display());
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) => fail(&format!(
            "{name}: cannot read the API configuration (JSONAPI_CONFIG_FILE, relative to the \
             repository root or absolute): {e}"
        )),
    };
    if let Err(e) = jsonapi_config::parse(&name, &text) {
        fail(&e.to_string());
    }
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("api.yaml"), &text).expect("OUT_DIR is writable");
    println!("cargo::rustc-env=JSONAPI_PACKAGED_CONFIG_NAME={name}");
}

/// Stops the build with one line saying what is wrong (cargo shows it under the build
/// script's name).
fn fail(message: &str) -> ! {
    eprintln!("{message}");
    std::process::exit(1);
}
