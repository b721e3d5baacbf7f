//! The whole API over HTTP, one test binary, one module per feature.
//!
//! Starting a server (a fresh data folder or DynamoDB table, a development client, a token) is
//! the suite's main cost, so tests share the process's servers wherever sharing cannot change
//! what they see: tests that only read the seed data share one seeded server
//! (`jsonapi_tests::shared_seeded`); tests that create the resources they look at, with unique
//! values where the model wants them unique, share one scratch server
//! (`jsonapi_tests::shared_scratch`). A test starts its own `jsonapi-local` on a fresh data
//! folder (`jsonapi_tests::TestApp`) when it lists or counts a whole type (a census before and
//! after a refused write, sequence ids, total counts), needs an empty store, changes settings,
//! clients, keys or roles others rely on, or restarts the server. Every response is checked
//! against the JSON:API 1.1 schema, the structural rules and the OpenAPI document by the
//! harness before the test looks at it.
//!
//! `JSONAPI_TEST_BACKEND=dynamodb` with `JSONAPI_DYNAMODB_ENDPOINT=http://127.0.0.1:PORT` runs
//! the same suite on DynamoDB (one table per server) instead of the embedded store.

mod api_disabled;
mod atomic_operations;
mod auth_acl;
mod auth_attacks;
mod auth_code;
mod auth_external;
mod auth_keys;
mod auth_logs;
mod auth_settings;
mod auth_tokens;
mod batch_async;
mod batch_sync;
mod batch_wait;
mod checkout;
mod client_commands;
mod compound_writes;
mod concurrency;
mod concurrent_links;
mod cors;
mod creating;
mod cursor_paging;
mod cursor_plans;
mod cursor_walks;
mod delete_list;
mod deleting;
mod documentation;
mod errors;
mod exactness;
mod fetching;
mod filtering;
mod fixtures;
mod formats;
mod http_edges;
mod import_command;
mod including;
mod inspect_commands;
mod invariants;
mod links;
mod long_values;
mod meta_title;
mod method_override;
mod negotiation;
mod order_total;
mod paging;
mod persistence;
mod plain_view;
mod preconditions;
mod process;
mod query_support;
mod readme_walkthrough;
mod relationship_writes;
mod repeated_values;
mod sorting;
mod sparse_fields;
mod startup_errors;
mod storefront;
mod total_count;
mod updating;
mod upsert;
mod user_access;
mod validate;
mod write_properties;
