//! The sandbox page and its assets, embedded in the binary: the page and its start script
//! (ours, `sandbox/`), Swagger UI 5.35.0 (Apache-2.0, fetched and checked by `build.rs`) and
//! its licences.

/// A file served below `{prefix}/doc/`.
pub(crate) struct Asset {
    pub(crate) name: &'static str,
    pub(crate) content_type: &'static str,
    pub(crate) bytes: &'static [u8],
}

/// The page, served at `{prefix}/doc`; its links are relative to it (`doc/…`), so that a
/// stage in front of the prefix is kept.
pub(crate) const PAGE: &[u8] = include_bytes!("../sandbox/index.html");

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const TEXT: &str = "text/plain; charset=utf-8";

/// Every asset, by the file name the page asks for.
pub(crate) const ASSETS: [Asset; 7] = [
    Asset {
        name: "sandbox.js",
        content_type: JS,
        bytes: include_bytes!("../sandbox/sandbox.js"),
    },
    Asset {
        name: "sandbox.css",
        content_type: CSS,
        bytes: include_bytes!("../sandbox/sandbox.css"),
    },
    Asset {
        name: "swagger-ui-bundle.js",
        content_type: JS,
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/swagger-ui/swagger-ui-bundle.js")),
    },
    Asset {
        name: "swagger-ui.css",
        content_type: CSS,
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/swagger-ui/swagger-ui.css")),
    },
    Asset {
        name: "LICENSE",
        content_type: TEXT,
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/swagger-ui/LICENSE")),
    },
    Asset {
        name: "NOTICE",
        content_type: TEXT,
        bytes: include_bytes!(concat!(env!("OUT_DIR"), "/swagger-ui/NOTICE")),
    },
    Asset {
        name: "swagger-ui-bundle.js.LICENSE.txt",
        content_type: TEXT,
        bytes: include_bytes!(concat!(
            env!("OUT_DIR"),
            "/swagger-ui/swagger-ui-bundle.js.LICENSE.txt"
        )),
    },
];

/// The asset with this file name.
pub(crate) fn asset(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}
