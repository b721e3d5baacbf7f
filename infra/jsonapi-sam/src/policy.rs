//! The IAM statements of each function: only the DynamoDB actions its operation makes
//! (shared/jsonapi-store-dynamodb/src/lib.rs), on the one table. A new operation's
//! permissions are an arm of [`access`].

use std::fmt::Write as _;

use jsonapi_auth::stored_keys::{PUBLIC_KEYS_PK, SIGNING_KEY_PK};
use jsonapi_config::Schema;
use jsonapi_engine::Operation;

/// The partition of the key that signs `page[after]` / `page[before]` cursors
/// (shared/jsonapi-engine/src/cursor.rs), created by the first function that pages.
const CURSOR_SECRET_PK: &str = "meta#cursor-secret";

/// What an operation's function does with the table.
enum Access {
    /// Nothing: it never opens the table.
    None,
    /// Connects (DescribeTable) and reads nothing.
    Connect,
    /// Reads; `pages` when it may have to create the cursor-signing key.
    Read { pages: bool },
    /// Reads and writes transactions; `draws_ids` when it draws sequence ids (UpdateItem).
    Write { draws_ids: bool },
    /// Whatever any writing operation may do (the atomic extension: any operation on any type).
    AnyWrite,
    /// The token function's own items only.
    Token,
}

fn access(op: Operation) -> Access {
    match op {
        Operation::Get => Access::Read { pages: false },
        Operation::GetList | Operation::GetSubresource | Operation::GetRelationship => {
            Access::Read { pages: true }
        }
        Operation::Create | Operation::UpdateList => Access::Write { draws_ids: true },
        // A sub-resource action is an extension's: it may write any type (a checkout's payment
        // creates an order and its line items, and takes the products' stock).
        Operation::Operations | Operation::AddSubresource => Access::AnyWrite,
        Operation::Update
        | Operation::Delete
        | Operation::DeleteList
        | Operation::UpdateRelationship
        | Operation::AddRelationship
        | Operation::DeleteRelationship => Access::Write { draws_ids: false },
        Operation::Options => Access::Connect,
        Operation::Token | Operation::Authorize | Operation::Jwks => Access::Token,
        Operation::Docs => Access::None,
    }
}

/// The comment above a function whose permissions need a word.
pub(crate) fn comment(out: &mut String, op: Operation) {
    match access(op) {
        Access::Token => out.push_str(TOKEN_COMMENT),
        Access::None => out.push_str(NO_TABLE_COMMENT),
        _ => {}
    }
}

const TOKEN_COMMENT: &str = r"  # POST /oauth2-token (every grant), the authorization endpoint (sign-in and consent pages) and
  # the JWKS document. Its writes (one TransactWriteItems each, only Put and Delete actions in
  # it) are limited to the auth items of shared/jsonapi-auth (clients, refresh tokens and
  # families, failure counters, consent tickets and authorization codes) and the signing keys
  # (the private one it alone reads, and the published public ones); its reads to those and the
  # signing-in users (api.auth.users: {type}#{id}, found through uniq#{type}#username#{name}).
  # LeadingKeys conditions with ForAllValues hold for GetItem/PutItem/DeleteItem, which always
  # name their partition.
";

const NO_TABLE_COMMENT: &str = r"  # The API's documentation (jsonapi_engine::DOC_ROUTES): the sandbox page and its assets, and
  # the OpenAPI document, built from the configuration inside the function. It never opens the
  # table, so it has no permission on it (only the logging and tracing every function gets).
  # Set api.sandbox / api.openapi to false in the configuration to answer 404 instead.
";

const WRITES_ALL_COMMENT: &str = r"      # The union of what create, update, delete and the relationship writes need: any
      # operation may be any of them (UpdateItem draws sequence ids for adds).
";

const CURSOR_COMMENT: &str = r"            # The key that signs page[after]/page[before] cursors is one item, created
            # on first use (shared/jsonapi-engine/src/cursor.rs): this function may put
            # that item and no other.
";

const READS: [&str; 4] = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:DescribeTable",
];
const WRITES: [&str; 3] = [
    "dynamodb:PutItem",
    "dynamodb:DeleteItem",
    "dynamodb:ConditionCheckItem",
];

/// The function's `Policies`, at six spaces under `Properties` (nothing when it needs none).
pub(crate) fn write(out: &mut String, op: Operation, schema: &Schema) {
    let access = access(op);
    if matches!(access, Access::None) {
        return;
    }
    if let Access::AnyWrite = access {
        out.push_str(WRITES_ALL_COMMENT);
    }
    out.push_str("      Policies:\n        - Statement:\n");
    let actions: Vec<&str> = match access {
        Access::Token => return token(out, schema),
        Access::None | Access::Connect => vec!["dynamodb:DescribeTable"],
        Access::Read { .. } => READS.to_vec(),
        Access::Write { draws_ids: false } => [&READS[..], &WRITES[..]].concat(),
        Access::Write { draws_ids: true } | Access::AnyWrite => {
            [&READS[..], &WRITES[..], &["dynamodb:UpdateItem"]].concat()
        }
    };
    deny_signing_key(out);
    statement(out, &actions, None);
    if let Access::Read { pages: true } = access {
        out.push_str(CURSOR_COMMENT);
        statement(
            out,
            &["dynamodb:PutItem"],
            Some(("ForAllValues:StringEquals", &[CURSOR_SECRET_PK])),
        );
    }
}

/// Every function but the token function is denied every read of the private signing key
/// (ForAnyValue: one key of a batch is enough to refuse it).
fn deny_signing_key(out: &mut String) {
    let _ = writeln!(
        out,
        "            - Effect: Deny\n              Action:\n                - dynamodb:GetItem\n                \
         - dynamodb:BatchGetItem\n                - dynamodb:Query\n              Resource: !GetAtt \
         Table.Arn\n              Condition:\n                ForAnyValue:StringEquals:\n                  \
         dynamodb:LeadingKeys: [\"{SIGNING_KEY_PK}\"]"
    );
}

/// One `Allow` statement on the table, limited to partitions when `partitions` is given.
fn statement(out: &mut String, actions: &[&str], partitions: Option<(&str, &[&str])>) {
    out.push_str("            - Effect: Allow\n              Action:\n");
    for action in actions {
        let _ = writeln!(out, "                - {action}");
    }
    out.push_str("              Resource: !GetAtt Table.Arn\n");
    if let Some((operator, keys)) = partitions {
        let keys: Vec<String> = keys.iter().map(|k| crate::yaml::quote(k)).collect();
        let _ = writeln!(
            out,
            "              Condition:\n                {operator}:\n                  \
             dynamodb:LeadingKeys: [{}]",
            keys.join(", ")
        );
    }
}

/// The token function: connect, its own items, and the signing-in users (when the
/// configuration has a users type: the password grant and the sign-in form).
fn token(out: &mut String, schema: &Schema) {
    statement(out, &["dynamodb:DescribeTable"], None);
    statement(
        out,
        &[
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "dynamodb:DeleteItem",
        ],
        Some((
            "ForAllValues:StringLike",
            &["auth#*", SIGNING_KEY_PK, PUBLIC_KEYS_PK],
        )),
    );
    if let Some(users) = schema.api.auth.users.as_deref() {
        statement(
            out,
            &["dynamodb:GetItem"],
            Some((
                "ForAllValues:StringLike",
                &[&format!("{users}#*"), &format!("uniq#{users}#username#*")],
            )),
        );
    }
}

/// The batch worker's `Policies`: any write on the table (a batch's items may create, update
/// and link resources of any type, as the atomic extension may), its stream, and the queue
/// of what it could not apply.
pub(crate) fn batch_worker(out: &mut String) {
    out.push_str(BATCH_WORKER_COMMENT);
    out.push_str("      Policies:\n        - Statement:\n");
    deny_signing_key(out);
    statement(
        out,
        &[&READS[..], &WRITES[..], &["dynamodb:UpdateItem"]].concat(),
        None,
    );
    out.push_str(BATCH_WORKER_STREAM);
}

const BATCH_WORKER_COMMENT: &str = r"      # Its writes are the batch's items' (any type they link to, ids drawn with UpdateItem)
      # and the operation's own items; Lambda reads the stream with the function's role.
";

const BATCH_WORKER_STREAM: &str = r#"            - Effect: Allow
              Action:
                - dynamodb:DescribeStream
                - dynamodb:GetRecords
                - dynamodb:GetShardIterator
              Resource: !GetAtt Table.StreamArn
            # ListStreams names no one stream: it is granted on the table's streams.
            - Effect: Allow
              Action: dynamodb:ListStreams
              Resource: !Sub "${Table.Arn}/stream/*"
            - Effect: Allow
              Action: sqs:SendMessage
              Resource: !GetAtt BatchFailures.Arn
"#;
