//! The batch API's settings: `api.batch` for every type, a type's own `batch` over them.

use std::time::Duration;

use super::problem::{Checked, problem};
use crate::raw::RawBatch;
use crate::schema::BatchSettings;

/// The model's sizes and wait, where `api.batch` sets none.
const DEFAULTS: BatchSettings = BatchSettings {
    chunk_size: 100,
    included_chunk_size: 50,
    sync_limit: 100,
    sync_included_limit: 50,
    sync_wait: Duration::from_secs(25),
};

/// The most items of a chunk or a synchronous batch: a chunk is stored as one item (400 KB
/// at most on DynamoDB), and a synchronous batch is held in memory and answered whole.
const MOST_ITEMS: u64 = 1000;

/// The longest synchronous wait: past it a client is better served by the asynchronous mode
/// (and HTTP clients and gateways time out long before).
const MOST_WAIT_SECS: f64 = 900.0;

/// The model's operation lifetime (30 days), and its bounds: an operation must outlive its
/// own processing, and ten years is longer than anyone polls one.
const DEFAULT_LIFETIME_SECS: u64 = 30 * 24 * 3600;
const LEAST_LIFETIME_SECS: u64 = 60;
const MOST_LIFETIME_SECS: u64 = 3650 * 24 * 3600;

/// `api.batch`'s sizes and wait.
pub(super) fn check_api_batch(raw: &RawBatch) -> Checked<BatchSettings> {
    check_batch(&["api", "batch"], raw, &DEFAULTS)
}

/// `api.batch.lifetime`, in seconds.
pub(super) fn check_lifetime(raw: &RawBatch) -> Checked<u64> {
    match raw.lifetime {
        None => Ok(DEFAULT_LIFETIME_SECS),
        Some(n) if (LEAST_LIFETIME_SECS..=MOST_LIFETIME_SECS).contains(&n) => Ok(n),
        Some(_) => Err(problem(
            &["api", "batch", "lifetime"],
            format!(
                "must be a number of seconds from {LEAST_LIFETIME_SECS} to {MOST_LIFETIME_SECS} (3650 days); the default is {DEFAULT_LIFETIME_SECS} (30 days)"
            ),
        )),
    }
}

/// A type's `batch` over the API-wide settings (`api`).
pub(super) fn check_type_batch(
    name: &str,
    raw: Option<&RawBatch>,
    api: &BatchSettings,
) -> Checked<BatchSettings> {
    let Some(raw) = raw else {
        return Ok(*api);
    };
    if raw.lifetime.is_some() {
        return Err(problem(
            &["types", name, "batch", "lifetime"],
            "an operation's lifetime is API-wide: set it in api.batch.lifetime",
        ));
    }
    check_batch(&["types", name, "batch"], raw, api)
}

/// Settings at `path`, each one absent taken from `fallback`.
fn check_batch(path: &[&str], raw: &RawBatch, fallback: &BatchSettings) -> Checked<BatchSettings> {
    let count = |key: &str, value: Option<u64>, least: u64, default: usize| -> Checked<usize> {
        match value {
            None => Ok(default),
            Some(n) if (least..=MOST_ITEMS).contains(&n) => Ok(usize::try_from(n).unwrap_or(0)),
            Some(_) => Err(problem(
                &[path, &[key]].concat(),
                format!("must be a number of items from {least} to {MOST_ITEMS}"),
            )),
        }
    };
    let sync_wait = match raw.sync_wait {
        None => fallback.sync_wait,
        Some(s) if s > 0.0 && s <= MOST_WAIT_SECS => Duration::from_secs_f64(s),
        Some(_) => {
            return Err(problem(
                &[path, &["syncWait"]].concat(),
                format!(
                    "must be a number of seconds above 0 and at most {MOST_WAIT_SECS} (fractions allowed, like 0.5); the default is 25"
                ),
            ));
        }
    };
    Ok(BatchSettings {
        chunk_size: count("chunkSize", raw.chunk_size, 1, fallback.chunk_size)?,
        included_chunk_size: count(
            "includedChunkSize",
            raw.included_chunk_size,
            1,
            fallback.included_chunk_size,
        )?,
        sync_limit: count("syncLimit", raw.sync_limit, 1, fallback.sync_limit)?,
        sync_included_limit: count(
            "syncIncludedLimit",
            raw.sync_included_limit,
            0,
            fallback.sync_included_limit,
        )?,
        sync_wait,
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::{ConfigError, parse};

    const TYPES: &str =
        "types:\n  products:\n    id: sequence\n    actions: { update_list: true }\n";

    fn schema(api: &str, product: &str) -> Result<crate::Schema, ConfigError> {
        parse("api.yaml", &format!("api:\n{api}{TYPES}{product}"))
    }

    #[test]
    fn a_type_sets_its_own_batch_sizes_over_the_api_wide_ones() {
        let schema = schema(
            "  batch: { chunkSize: 20, syncWait: 0.5, lifetime: 3600 }\n",
            "    batch: { syncLimit: 10, includedChunkSize: 7 }\n",
        )
        .expect("valid");
        assert_eq!(schema.api.operation_lifetime, 3600);
        let b = schema.resource_type("products").expect("declared").batch;
        assert_eq!(
            (
                b.chunk_size,
                b.included_chunk_size,
                b.sync_limit,
                b.sync_included_limit
            ),
            (20, 7, 10, 50)
        );
        assert_eq!(b.sync_wait, Duration::from_millis(500));
        let defaults = parse("api.yaml", TYPES).expect("valid");
        assert_eq!(defaults.api.operation_lifetime, 30 * 24 * 3600);
        assert_eq!(defaults.api.batch.sync_wait, Duration::from_secs(25));
    }

    #[test]
    fn zero_or_absurd_batch_settings_are_refused_by_key() {
        for (api, product, key) in [
            ("  batch: { chunkSize: 0 }\n", "", "api.batch.chunkSize"),
            (
                "  batch: { syncLimit: 100000 }\n",
                "",
                "api.batch.syncLimit",
            ),
            ("  batch: { syncWait: 0 }\n", "", "api.batch.syncWait"),
            ("  batch: { syncWait: 3600 }\n", "", "api.batch.syncWait"),
            ("  batch: { lifetime: 5 }\n", "", "api.batch.lifetime"),
            ("  batch: { chunkSize: -1 }\n", "", "api.batch.chunkSize"),
            (
                "",
                "    batch: { includedChunkSize: 0 }\n",
                "types.products.batch.includedChunkSize",
            ),
            (
                "",
                "    batch: { lifetime: 3600 }\n",
                "types.products.batch.lifetime",
            ),
        ] {
            let e = schema(api, product).expect_err(key);
            assert_eq!(e.key, key, "{e}");
            assert!(e.line.is_some(), "{e}");
        }
        let e = schema("  batch: { chunkSize: 0 }\n", "").expect_err("zero");
        assert!(e.message.contains("from 1 to 1000"), "{e}");
    }
}
