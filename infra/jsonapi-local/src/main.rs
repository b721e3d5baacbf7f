//! `jsonapi-local`: serves the API of a configuration file (the example domain by default) on
//! the embedded store, until SIGINT or SIGTERM; manages its API clients; and inspects a
//! configuration file without serving it (`check`, `dump`, `config-dump`, `openapi`, `template`).

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};
use jsonapi_auth::{ClientSpec, GrantType};
use jsonapi_config::Operation;
use jsonapi_local::inspect::{self, DumpFilter};
use jsonapi_local::{
    ClientCommand, DevClient, DynamoOptions, ImportCommand, KeysCommand, Options, Server,
    run_client_command, run_import, run_keys_command,
};
use tracing_subscriber::EnvFilter;

/// A request and a batch allocate many small strings and maps, which glibc's allocator served
/// slowly (a third of an import's CPU); the Lambda functions keep the system's (smaller binary).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Serve a JSON:API from one configuration file on the embedded store.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The URL clients reach the server at, which links start with (default: the
    /// configuration's api.publicUrl, else http:// and the listen address).
    #[arg(long, value_parser = jsonapi_config::public_url)]
    public_url: Option<String>,
    /// Data folder of the embedded store.
    #[arg(long, default_value = "./data", global = true)]
    data: PathBuf,
    /// API configuration file (default: the example domain).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Load the example seed data (once per data folder).
    #[arg(long)]
    seed: bool,
    /// Storage backend.
    #[arg(long, value_enum, default_value_t = Backend::Embedded, global = true)]
    store: Backend,
    /// DynamoDB endpoint, e.g. DynamoDB Local's http://127.0.0.1:8000 (default: AWS).
    #[arg(long, global = true)]
    endpoint: Option<String>,
    /// DynamoDB table.
    #[arg(long, default_value = "jsonapi", global = true)]
    table: String,
    /// Create the DynamoDB table when it does not exist.
    #[arg(long, global = true)]
    create_table: bool,
    /// Log lines as text (coloured only on a terminal) or as JSON objects.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// One line per event; ANSI colours only when standard error is a terminal.
    Text,
    /// One JSON object per event, for log collectors.
    Json,
}

/// Logs to standard error at `RUST_LOG` (default `info`). The AWS SDK's own warnings (e.g. a
/// region looked up where there is no instance metadata service) are left out by default:
/// start-up reports what is wrong with the store in one sentence of its own.
fn init_logs(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,aws_config=error,aws_smithy_runtime=error"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs.json().init(),
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Manage the API clients that may ask for tokens (a server running on the same data
    /// folder runs the command itself; a DynamoDB table is shared).
    #[command(subcommand)]
    Client(ClientArgs),
    /// Manage the keys that sign access tokens, when the environment gives none (stop a
    /// server using the same data folder first; a DynamoDB table may stay in use).
    #[command(subcommand)]
    Keys(KeysArgs),
    /// Import a file of resource objects of one type through the batch pipeline: a JSON:API
    /// document ({"data": [...], "included": [...]}) or NDJSON (one resource object a line),
    /// of any size, streamed; prints the operation's summary and its first errors (a server
    /// running on the same data folder does the import).
    Import {
        /// The file (NDJSON when it ends in .ndjson or .jsonl); `-` reads standard input (a
        /// JSON:API document unless --ndjson).
        file: PathBuf,
        /// The type of its data items.
        #[arg(long = "type", value_name = "TYPE")]
        ty: String,
        /// One synchronous batch: all or nothing, within the synchronous limits.
        #[arg(long)]
        sync: bool,
        /// Read the file as NDJSON whatever its name.
        #[arg(long)]
        ndjson: bool,
    },
    /// Check the configuration file; exit 1 with FILE:LINE: KEY: message when it is unusable.
    Check,
    /// The types and the actions each enables (YAML).
    Dump {
        /// Only types that enable this action (get_list, update_list, ...).
        #[arg(long)]
        action: Option<String>,
        /// Only types whose writes accept meta.upsert.
        #[arg(long)]
        upsert: bool,
        /// Only types whose writes accept meta.validate.
        #[arg(long)]
        validate: bool,
    },
    /// One type's configuration as the engine uses it, defaults resolved (YAML).
    ConfigDump {
        /// The type.
        #[arg(value_name = "TYPE")]
        ty: String,
    },
    /// The OpenAPI 3.1 document of the API (JSON), as GET {prefix}/doc/openapi.json serves it.
    Openapi {
        /// The base URL the API is served at (scheme, host, port, and a stage if any).
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        server_url: String,
    },
    /// The SAM template (YAML) that deploys the API to AWS: its routes, functions and IAM
    /// follow the configuration (template.yaml is this for the example domain).
    Template,
}

#[derive(Debug, Subcommand)]
enum KeysArgs {
    /// Make a new signing key current; tokens signed by the previous ones stay valid until
    /// they expire, then those keys are retired.
    Rotate {
        /// Seconds the previous keys' tokens may still live (default: the configuration's
        /// accessTokenLifetime; give the deployment's TokenLifetimeSeconds when it differs;
        /// 0 retires them at once, for a leaked key).
        #[arg(long)]
        retire_after: Option<u64>,
    },
    /// List the published public keys: current, retiring and retired.
    List,
}

#[derive(Debug, Subcommand)]
enum ClientArgs {
    /// Create a client; prints its id and its secret, which is shown only this once.
    Add {
        /// A human name.
        #[arg(long)]
        name: String,
        /// Role ids its own tokens carry, comma-separated (e.g. admin or editor,viewer): a
        /// client without a role may do nothing but what anonymous types allow, so the
        /// client_credentials grant needs one (a user's tokens carry the user's roles).
        #[arg(long, value_delimiter = ',')]
        roles: Vec<String>,
        /// Grants it may use, comma-separated (a public client: authorization_code and
        /// refresh_token).
        #[arg(long, value_delimiter = ',', default_value = "client_credentials")]
        grants: Vec<String>,
        /// Where authorization codes may be sent, comma-separated (the authorization_code
        /// grant needs one; compared character for character).
        #[arg(long, value_delimiter = ',')]
        redirect_uris: Vec<String>,
        /// A public client (a browser or mobile app that cannot keep a secret): no secret,
        /// PKCE required.
        #[arg(long)]
        public: bool,
    },
    /// List the clients (never their secrets).
    List,
    /// Revoke a client: no new tokens, and its tokens stop working within seconds.
    Revoke {
        /// The client id.
        id: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Backend {
    /// redb in the data folder.
    Embedded,
    /// DynamoDB (or DynamoDB Local with --endpoint).
    Dynamodb,
}

fn main() -> ExitCode {
    // Requests are served on the runtime's worker threads, and an unoptimised (debug) build's
    // futures are large: a compound write on DynamoDB comes near tokio's default 2 MiB stack.
    // 8 MiB is address space reserved, not memory used.
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(8 << 20)
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("jsonapi-local: cannot start its runtime: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> ExitCode {
    let args = Args::parse();
    init_logs(args.log_format);
    let dynamodb = (args.store == Backend::Dynamodb).then_some(DynamoOptions {
        endpoint: args.endpoint,
        table: args.table,
        create_table: args.create_table,
    });
    let options = Options {
        listen: args.listen,
        public_url: args.public_url,
        data: args.data,
        config: args.config,
        seed: args.seed,
        dev_client: args.seed,
        dynamodb,
        auth_cache_ttl: None,
    };
    match args.command {
        Some(Command::Client(command)) => return client(&options, command).await,
        Some(Command::Keys(command)) => {
            let command = match command {
                KeysArgs::Rotate { retire_after } => KeysCommand::Rotate { retire_after },
                KeysArgs::List => KeysCommand::List,
            };
            return printed(run_keys_command(&options, command).await);
        }
        Some(Command::Import {
            file,
            ty,
            sync,
            ndjson,
        }) => {
            let ndjson = ndjson
                || file
                    .extension()
                    .is_some_and(|e| e == "ndjson" || e == "jsonl");
            let command = ImportCommand {
                file,
                ty,
                ndjson,
                sync,
            };
            return printed(run_import(&options, command).await);
        }
        Some(command) => return inspect(options.config.as_deref(), command),
        None => {}
    }
    // Installed before the server starts: a signal that arrives as soon as it is listening
    // must stop it cleanly, not kill it with the signal's default action.
    let shutdown = shutdown_signal();
    let server = match Server::start(options).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("jsonapi-local: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The one line scripts and tests wait for.
    println!("listening on {}", server.base_url());
    match server.dev_client() {
        DevClient::Created(client) => println!(
            "development client (its secret is shown only now; keep it): client_id={} client_secret={}",
            client.id,
            client.secret.expose()
        ),
        DevClient::Existing(id) => println!(
            "development client: client_id={id} (its secret was shown when it was made; `jsonapi-local client add` makes another)"
        ),
        DevClient::None => {}
    }
    tracing::info!("API at {}/api (stop with Ctrl-C)", server.base_url());
    shutdown.await;
    server.stop().await;
    ExitCode::SUCCESS
}

async fn client(options: &Options, args: ClientArgs) -> ExitCode {
    let command = match args {
        ClientArgs::Add {
            name,
            roles,
            grants,
            redirect_uris,
            public,
        } => {
            let mut parsed = Vec::new();
            for grant in &grants {
                match GrantType::parse(grant.trim()) {
                    Some(g) => parsed.push(g),
                    None => {
                        eprintln!(
                            "jsonapi-local: unknown grant \"{grant}\" (expected {})",
                            GrantType::names()
                        );
                        return ExitCode::FAILURE;
                    }
                }
            }
            if roles.is_empty() && parsed.contains(&GrantType::ClientCredentials) {
                Args::command()
                    .error(
                        clap::error::ErrorKind::MissingRequiredArgument,
                        "--roles is required for the client_credentials grant (the client's own \
                         tokens carry its roles; a user's tokens carry the user's)",
                    )
                    .exit();
            }
            ClientCommand::Add {
                spec: ClientSpec {
                    name,
                    roles,
                    grant_types: parsed,
                    redirect_uris,
                },
                public,
            }
        }
        ClientArgs::List => ClientCommand::List,
        ClientArgs::Revoke { id } => ClientCommand::Revoke { id },
    };
    printed(run_client_command(options, command).await)
}

/// Prints what a command gives, or why it failed.
fn printed(outcome: Result<String, jsonapi_local::Error>) -> ExitCode {
    match outcome {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("jsonapi-local: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The commands that read the configuration file and nothing else.
fn inspect(config: Option<&Path>, command: Command) -> ExitCode {
    let schema = match jsonapi_example::load(config) {
        Ok(schema) => schema,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let file = config.map_or_else(
        || jsonapi_config::EXAMPLE_DOMAIN_FILE.to_owned(),
        |p| p.display().to_string(),
    );
    let out = match command {
        Command::Check => format!("{file}: ok, {} types\n", schema.types().count()),
        Command::Dump {
            action,
            upsert,
            validate,
        } => {
            let action = match action.as_deref().map(|a| (a, Operation::of_type_named(a))) {
                None => None,
                Some((_, Some(a))) => Some(a),
                Some((name, None)) => {
                    let known: Vec<_> = Operation::OF_TYPES.iter().map(|a| a.name()).collect();
                    eprintln!(
                        "jsonapi-local: unknown action \"{name}\"; known actions: {}",
                        known.join(", ")
                    );
                    return ExitCode::FAILURE;
                }
            };
            let filter = DumpFilter {
                action,
                upsert,
                validate,
            };
            inspect::dump(&schema, &filter)
        }
        Command::ConfigDump { ty } => match inspect::config_dump(&schema, &ty) {
            Some(out) => out,
            None => {
                let known: Vec<_> = schema.types().map(|t| t.name.as_str()).collect();
                eprintln!(
                    "jsonapi-local: {file} has no type \"{ty}\"; its types: {}",
                    known.join(", ")
                );
                return ExitCode::FAILURE;
            }
        },
        Command::Openapi { server_url } => {
            let doc = jsonapi_openapi::document(&schema, server_url.trim_end_matches('/'));
            let mut text = serde_json::to_string_pretty(&doc).expect("documents serialize");
            text.push('\n');
            text
        }
        Command::Template => match template(config, &file, &schema) {
            Some(template) => template,
            None => return ExitCode::FAILURE,
        },
        Command::Client(_) | Command::Keys(_) | Command::Import { .. } => {
            unreachable!("handled apart")
        }
    };
    print!("{out}");
    ExitCode::SUCCESS
}

/// The SAM template of the configuration in `config` (the example's without one); `None`
/// once the reason it cannot be made is printed.
fn template(config: Option<&Path>, file: &str, schema: &jsonapi_config::Schema) -> Option<String> {
    // The template carries the digest of the text the functions will be built with.
    let text = match config.map(std::fs::read_to_string).transpose() {
        Ok(text) => text,
        Err(e) => {
            eprintln!("jsonapi-local: {file}: {e}");
            return None;
        }
    };
    let text = text.as_deref().unwrap_or(jsonapi_config::EXAMPLE_DOMAIN);
    let config = jsonapi_sam::Configuration { file, text, schema };
    jsonapi_sam::template(config)
        .inspect_err(|e| eprintln!("jsonapi-local: {file}: {e}"))
        .ok()
}

/// Resolves on SIGTERM or SIGINT. The handlers are registered when this is called, not when
/// the future is first polled.
fn shutdown_signal() -> impl Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let handlers = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    );
    async move {
        let (Ok(mut term), Ok(mut int)) = handlers else {
            // Without signal handlers the process can only be killed; serve until then.
            std::future::pending::<()>().await;
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
}
