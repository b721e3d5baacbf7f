//! The templates against the code they deploy, for the example domain (the committed
//! `template.yaml`) and for a second configuration (`infra/api/library.yaml`, its template
//! generated here as `jsonapi-local template` prints it): the routes of
//! `jsonapi_engine::ROUTES` and `AUTH_ROUTES` under each prefix, a function for each operation
//! the configuration uses and one `functions/*` crate per function, least-privilege IAM per
//! function (the private signing key readable by the token function alone), the token and
//! sign-in routes' throttling, the configuration's digest, and the table of
//! `jsonapi_store_dynamodb::table`. cfn-lint and `sam validate` (infra/sam/validate.sh) check
//! the templates' form; this checks their meaning, which no linter knows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use http::Method;
use jsonapi_engine::auth::{AUTHORIZE_PATH, TOKEN_PATH};
use jsonapi_engine::{AUTH_ROUTES, DOC_ROUTES, OPERATIONS_ROUTES, Operation, ROUTES};
use serde_json::{Value, json};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// YAML as JSON, CloudFormation's short tags in their long form (`!Ref X` is `{"Ref": "X"}`,
/// `!GetAtt A.B` is `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` is `{"Fn::Sub": s}`, …).
fn to_json(value: serde_norway::Value) -> Value {
    use serde_norway::Value as Y;
    match value {
        Y::Null => Value::Null,
        Y::Bool(b) => b.into(),
        Y::Number(n) => n
            .as_i64()
            .map(Value::from)
            .or_else(|| n.as_f64().map(Value::from))
            .unwrap_or(Value::Null),
        Y::String(s) => s.into(),
        Y::Sequence(items) => items.into_iter().map(to_json).collect(),
        Y::Mapping(map) => map
            .into_iter()
            .map(|(k, v)| (k.as_str().expect("string keys").to_owned(), to_json(v)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        Y::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let tag = tag.trim_start_matches('!');
            let value = to_json(tagged.value);
            match (tag, value) {
                ("Ref", v) => json!({ "Ref": v }),
                ("GetAtt", Value::String(s)) => {
                    json!({ "Fn::GetAtt": s.split('.').collect::<Vec<_>>() })
                }
                (tag, v) => json!({ format!("Fn::{tag}"): v }),
            }
        }
    }
}

/// A configuration's template: the committed one for the example domain, the generated one
/// for the second configuration CI deploys (infra/api/library.yaml, another prefix).
struct Deployment {
    name: &'static str,
    schema: jsonapi_config::Schema,
    /// The SHA-256 of the configuration's text.
    digest: String,
    template: Value,
}

fn yaml(text: &str) -> Value {
    to_json(serde_norway::from_str(text).expect("a template is YAML"))
}

fn templates() -> Vec<Deployment> {
    let committed = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    let text = std::fs::read_to_string(root().join(LIBRARY)).expect("library.yaml");
    let library = jsonapi_config::parse(LIBRARY, &text).expect("library.yaml is valid");
    let generated = jsonapi_sam::template(jsonapi_sam::Configuration {
        file: LIBRARY,
        text: &text,
        schema: &library,
    })
    .expect("library.yaml deploys");
    vec![
        Deployment {
            name: "template.yaml",
            schema: jsonapi_config::example_domain(),
            digest: jsonapi_config::digest(jsonapi_config::EXAMPLE_DOMAIN),
            template: yaml(&committed),
        },
        Deployment {
            name: LIBRARY,
            schema: library,
            digest: jsonapi_config::digest(&text),
            template: yaml(&generated),
        },
    ]
}

const LIBRARY: &str = "infra/api/library.yaml";

/// The operations whose functions the template has, in [`Operation::FUNCTIONS`]'s order.
fn deployed(t: &Value) -> Vec<Operation> {
    let binaries = functions(t);
    Operation::FUNCTIONS
        .into_iter()
        .filter(|op| binaries.contains_key(&binary(*op)))
        .collect()
}

/// The template's functions by the binary each is built from (`fn-get` …), with logical ids.
fn functions(t: &Value) -> BTreeMap<String, (String, Value)> {
    let mut out = BTreeMap::new();
    for (id, r) in t["Resources"].as_object().expect("Resources") {
        if r["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        assert_eq!(r["Metadata"]["BuildMethod"], "rust-cargolambda", "{id}");
        let binary = r["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{id} has no Metadata.BuildProperties.Binary"));
        let previous = out.insert(binary.to_owned(), (id.clone(), r.clone()));
        assert!(previous.is_none(), "two functions build {binary}");
    }
    out
}

/// The function the table's stream feeds with batch chunks.
const BATCH_WORKER: &str = "fn-batch-worker";
/// The function the import bucket's notifications invoke.
const IMPORT: &str = "fn-import";

fn binary(op: Operation) -> String {
    format!("fn-{}", op.function_name())
}

#[test]
fn every_route_goes_to_the_function_of_its_operation_and_no_other_route_exists() {
    for d in templates() {
        let t = &d.template;
        let prefix = &d.schema.api.prefix;
        let ops = deployed(t);
        let mut expected = BTreeSet::new();
        for (method, kind, op) in &ROUTES {
            let path = format!("{prefix}{}", kind.template());
            expected.insert((method.to_string(), path.clone(), binary(*op)));
            // HEAD is answered as GET (RFC 9110), by the same function.
            if *method == Method::GET {
                expected.insert(("HEAD".to_owned(), path, binary(*op)));
            }
        }
        // The API's documentation: below the prefix, one function.
        for (method, path) in &DOC_ROUTES {
            let docs = binary(Operation::Docs);
            let path = format!("{prefix}{path}");
            expected.insert((method.to_string(), path.clone(), docs.clone()));
            if *method == Method::GET {
                expected.insert(("HEAD".to_owned(), path, docs));
            }
        }
        // The atomic extension: below the prefix, one function.
        for (method, path) in &OPERATIONS_ROUTES {
            let path = format!("{prefix}{path}");
            expected.insert((method.to_string(), path, binary(Operation::Operations)));
        }
        // The token endpoint and the JWKS document: outside the API prefix, one function.
        for (method, path) in &AUTH_ROUTES {
            let token = binary(Operation::Token);
            expected.insert((method.to_string(), (*path).to_owned(), token.clone()));
            if *method == Method::GET {
                expected.insert(("HEAD".to_owned(), (*path).to_owned(), token));
            }
        }
        let mut actual = BTreeSet::new();
        for (binary, (id, f)) in functions(t) {
            // Their events are the bucket's and the schedule's (their own tests, below).
            if binary == IMPORT || binary == BATCH_WORKER {
                continue;
            }
            for (name, event) in f["Properties"]["Events"].as_object().into_iter().flatten() {
                assert_eq!(
                    event["Type"], "HttpApi",
                    "{id}.{name}: only HTTP API events"
                );
                let p = &event["Properties"];
                assert_eq!(p["ApiId"], json!({"Ref": "Api"}), "{id}.{name}");
                let route = (
                    p["Method"].as_str().expect("Method").to_owned(),
                    p["Path"].as_str().expect("Path").to_owned(),
                    binary.clone(),
                );
                assert!(actual.insert(route), "{id}.{name} is a duplicate");
            }
        }
        // A function of the API that no route reaches serves nothing (the batch API's had
        // none while the route table lacked it, and every other check here passed).
        for (binary, (id, f)) in functions(t) {
            if binary == IMPORT || binary == BATCH_WORKER {
                continue;
            }
            let events = f["Properties"]["Events"].as_object();
            assert!(
                events.is_some_and(|e| !e.is_empty()),
                "{}: {id} has no route",
                d.name
            );
        }
        // Only the functions the configuration uses are deployed (the next test checks which).
        expected.retain(|(_, _, function)| ops.iter().any(|op| binary(*op) == *function));
        let missing: Vec<_> = expected.difference(&actual).collect();
        let extra: Vec<_> = actual.difference(&expected).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{}: routes missing: {missing:?}\nroutes it should not have: {extra:?}",
            d.name
        );
    }
}

#[test]
fn each_configuration_deploys_the_functions_of_the_operations_it_uses() {
    let [example, library] = &templates()[..] else {
        panic!("two configurations")
    };
    assert_eq!(
        deployed(&example.template),
        Operation::FUNCTIONS,
        "the example domain uses every operation"
    );
    // No type of the library enables delete_list or update_list, it has no atomic
    // operations, and it declares no sub-resource action.
    let unused = [
        Operation::DeleteList,
        Operation::UpdateList,
        Operation::Operations,
        Operation::AddSubresource,
    ];
    let used: Vec<Operation> = Operation::FUNCTIONS
        .into_iter()
        .filter(|op| !unused.contains(op))
        .collect();
    assert_eq!(deployed(&library.template), used, "{}", library.name);
}

#[test]
fn every_function_crate_has_its_function_and_every_function_its_crate() {
    {
        let t = &templates().swap_remove(0).template;
        let in_template: BTreeSet<String> = functions(t).into_keys().collect();
        let mut crates = BTreeSet::new();
        for entry in std::fs::read_dir(root().join("functions")).expect("functions/") {
            let dir = entry.expect("entry").path();
            let folder = dir.file_name().unwrap().to_string_lossy().into_owned();
            let main = std::fs::read_to_string(dir.join("src/main.rs")).expect("main.rs");
            // The batch worker serves no route: the table's stream invokes it.
            if folder == "batch-worker" {
                assert!(
                    main.contains("jsonapi_lambda::run_batch_worker()"),
                    "{folder}"
                );
                crates.insert(BATCH_WORKER.to_owned());
                continue;
            }
            // Nor does the import function: the bucket's notifications invoke it.
            if folder == "import" {
                assert!(main.contains("jsonapi_lambda::run_import()"), "{folder}");
                crates.insert(IMPORT.to_owned());
                continue;
            }
            let op = Operation::FUNCTIONS
                .into_iter()
                .find(|op| op.function_name() == folder)
                .unwrap_or_else(|| panic!("functions/{folder} is not the name of an Operation"));
            let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("Cargo.toml");
            assert!(
                manifest.contains(&format!("name = \"{}\"", binary(op))),
                "functions/{folder}: the package must be {}",
                binary(op)
            );
            // The docs function has its own entry: it builds no engine and opens no table.
            let run = if op == Operation::Docs {
                "jsonapi_lambda::run_docs()".to_owned()
            } else {
                format!("jsonapi_lambda::run(jsonapi_lambda::Operation::{op:?})")
            };
            assert!(
                main.contains(&run),
                "functions/{folder}/src/main.rs must call {run}"
            );
            crates.insert(binary(op));
        }
        let mut every_function: BTreeSet<String> =
            Operation::FUNCTIONS.into_iter().map(binary).collect();
        every_function.insert(BATCH_WORKER.to_owned());
        every_function.insert(IMPORT.to_owned());
        assert_eq!(crates, every_function, "one crate per function");
        assert_eq!(in_template, crates, "one template function per crate");
    }
}

/// The DynamoDB actions of the store (shared/jsonapi-store-dynamodb/src/lib.rs). Transactions
/// are authorised per item (PutItem, DeleteItem, ConditionCheckItem); there is no IAM action
/// named after TransactWriteItems.
const READ: [&str; 4] = [
    "dynamodb:GetItem",
    "dynamodb:BatchGetItem",
    "dynamodb:Query",
    "dynamodb:DescribeTable",
];
const WRITE: [&str; 4] = [
    "dynamodb:PutItem",
    "dynamodb:DeleteItem",
    "dynamodb:UpdateItem",
    "dynamodb:ConditionCheckItem",
];
/// The partition of the item holding the cursor-signing key (shared/jsonapi-engine/src/cursor.rs,
/// `secret_key`), which listing functions create on first use.
const CURSOR_SECRET_PK: &str = "meta#cursor-secret";
/// The partition of the item holding the private token signing key when the deployment gives
/// none (`jsonapi_auth::stored_keys`); only the token function reads or makes it.
const SIGNING_KEY_PK: &str = jsonapi_auth::stored_keys::SIGNING_KEY_PK;
/// The partition of the published public keys, which every verifying function reads.
const PUBLIC_KEYS_PK: &str = jsonapi_auth::stored_keys::PUBLIC_KEYS_PK;

fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::String(a) => vec![a.clone()],
        Value::Array(a) => a.iter().map(|a| a.as_str().unwrap().to_owned()).collect(),
        other => panic!("Action {other}"),
    }
}

/// What one function may do: actions on the whole table, and actions limited to partitions
/// (`dynamodb:LeadingKeys` patterns, `*` for any rest); and what it is denied, by partition.
#[derive(Debug, Default)]
struct Granted {
    table: BTreeSet<String>,
    partitions: Vec<(Vec<String>, Vec<String>)>,
    denied: Vec<(Vec<String>, Vec<String>)>,
}

fn grants_of(id: &str, f: &Value) -> Granted {
    let table = json!({"Fn::GetAtt": ["Table", "Arn"]});
    let mut out = Granted::default();
    let policies = f["Properties"].get("Policies");
    for policy in policies.map_or(&[][..], |p| p.as_array().expect("Policies")) {
        // Inline statements only: no managed policy, no SAM policy template (their action
        // lists are wider than what the engine uses).
        let keys: Vec<&String> = policy
            .as_object()
            .expect("a policy document")
            .keys()
            .collect();
        assert_eq!(keys, ["Statement"], "{id}: inline statements only");
        for s in policy["Statement"].as_array().expect("Statement") {
            assert_eq!(s["Resource"], table, "{id}: the table only");
            // A denial: of reads, in any partition the request names (ForAnyValue: one key of
            // a batch is enough to refuse it).
            if s["Effect"] == "Deny" {
                let test = &s["Condition"]["ForAnyValue:StringEquals"];
                assert_eq!(s["Condition"].as_object().map(|c| c.len()), Some(1), "{id}");
                let patterns: Vec<String> = test["dynamodb:LeadingKeys"]
                    .as_array()
                    .expect("the denied partitions")
                    .iter()
                    .map(|p| p.as_str().expect("a partition").to_owned())
                    .collect();
                out.denied.push((actions(s), patterns));
                continue;
            }
            assert_eq!(s["Effect"], "Allow", "{id}");
            let acts = actions(s);
            for a in &acts {
                assert!(
                    READ.contains(&a.as_str()) || WRITE.contains(&a.as_str()),
                    "{id}: {a} is not an action the store makes"
                );
            }
            let Some(condition) = s.get("Condition") else {
                out.table.extend(acts);
                continue;
            };
            // The only conditions: the partitions of the items written (ForAllValues: every
            // key of the request must match). DescribeTable names no partition, so it would
            // pass any such condition.
            let condition = condition.as_object().expect("a condition");
            assert_eq!(condition.len(), 1, "{id}: {condition:?}");
            let (operator, test) = condition.iter().next().unwrap();
            assert!(
                ["ForAllValues:StringEquals", "ForAllValues:StringLike"]
                    .contains(&operator.as_str()),
                "{id}: {operator}"
            );
            let test = test.as_object().expect("a condition test");
            assert_eq!(
                test.keys().collect::<Vec<_>>(),
                ["dynamodb:LeadingKeys"],
                "{id}"
            );
            let patterns: Vec<String> = test["dynamodb:LeadingKeys"]
                .as_array()
                .expect("a list of partitions")
                .iter()
                .map(|p| p.as_str().expect("a partition").to_owned())
                .collect();
            assert!(
                operator == "ForAllValues:StringLike"
                    || patterns.iter().all(|p| !p.contains(['*', '?'])),
                "{id}: wildcards need StringLike"
            );
            assert!(
                !acts.contains(&"dynamodb:DescribeTable".to_owned()),
                "{id}: DescribeTable has no partition to limit"
            );
            out.partitions.push((acts, patterns));
        }
    }
    out
}

/// What a function whose statements also name other resources than the table may do with
/// the table, and those other statements.
fn grants_and_others<'f>(id: &str, f: &'f Value) -> (Granted, Vec<&'f Value>) {
    let statements = f["Properties"]["Policies"][0]["Statement"]
        .as_array()
        .expect("statements");
    let table = json!({"Fn::GetAtt": ["Table", "Arn"]});
    let (on_table, elsewhere): (Vec<&Value>, Vec<&Value>) =
        statements.iter().partition(|s| s["Resource"] == table);
    let policy = json!({"Properties": {"Policies": [{"Statement": on_table}]}});
    (grants_of(id, &policy), elsewhere)
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn each_function_may_only_use_its_operations_dynamodb_actions_on_the_table() {
    for d in templates() {
        let t = &d.template;
        assert!(
            t["Globals"]["Function"].get("Policies").is_none(),
            "permissions are per function"
        );
        for op in deployed(t) {
            let (id, f) = &functions(t)[&binary(op)];
            let granted = grants_of(id, f);
            if op == Operation::Docs {
                // Built from the configuration alone: no access to the table at all.
                assert!(
                    f["Properties"].get("Policies").is_none()
                        && granted.table.is_empty()
                        && granted.partitions.is_empty(),
                    "{id} needs no permission on the table"
                );
                continue;
            }
            // Every other function connects with DescribeTable during init.
            assert!(granted.table.contains("dynamodb:DescribeTable"), "{id}");
            if op == Operation::Token {
                continue; // its own test, below
            }
            let writes: Vec<_> = granted
                .table
                .iter()
                .filter(|a| WRITE.contains(&a.as_str()))
                .collect();
            // Collections page with signed cursors, whose key may have to be created: the one
            // partition-limited grant of the API functions.
            let pages = matches!(
                op,
                Operation::GetList | Operation::GetSubresource | Operation::GetRelationship
            );
            let cursor_key = (strings(&["dynamodb:PutItem"]), strings(&[CURSOR_SECRET_PK]));
            let expected = if pages { vec![cursor_key] } else { vec![] };
            assert_eq!(
                granted.partitions, expected,
                "{id}: partition-limited grants"
            );
            if op.read_only() {
                assert!(writes.is_empty(), "{id} only reads, but may {writes:?}");
            } else {
                assert!(
                    granted.table.contains("dynamodb:PutItem")
                        && granted.table.contains("dynamodb:DeleteItem"),
                    "{id} writes"
                );
                // Writes check that what they link to still exists and that no member joined what
                // they read (condition-only actions of their transactions).
                assert!(
                    granted.table.contains("dynamodb:ConditionCheckItem"),
                    "{id}: ConditionCheckItem"
                );
                // Sequence ids are drawn with UpdateItem, by the creating functions only (a
                // sub-resource action may create resources of any type).
                assert_eq!(
                    granted.table.contains("dynamodb:UpdateItem"),
                    matches!(
                        op,
                        Operation::Create
                            | Operation::Operations
                            | Operation::UpdateList
                            | Operation::AddSubresource
                    ),
                    "{id}: UpdateItem"
                );
            }
            // The private signing key is for the token function only: every read this function
            // can make (no Scan, no PartiQL, no transactional read) is denied on its partition.
            assert!(
                !granted.table.iter().any(|a| a.contains("Scan")
                    || a.contains("ExecuteStatement")
                    || a.contains("TransactGetItems")),
                "{id}: a read LeadingKeys cannot limit"
            );
            assert_eq!(
                granted.denied,
                [(
                    strings(&[
                        "dynamodb:GetItem",
                        "dynamodb:BatchGetItem",
                        "dynamodb:Query"
                    ]),
                    strings(&[SIGNING_KEY_PK])
                )],
                "{id}: the private signing key is denied"
            );
            // Every route but OPTIONS checks its bearer token: the published public keys (when kept
            // in the table), the client's revocation (auth#client#{id}) are single reads, the
            // caller's roles one batch read, all with the reads the function has on the whole
            // table.
            if op != Operation::Options {
                for read in ["dynamodb:GetItem", "dynamodb:BatchGetItem"] {
                    assert!(granted.table.contains(read), "{id}: {read}");
                }
            }
        }
    }
}

#[test]
fn the_token_function_may_only_touch_auth_items_the_signing_keys_and_users() {
    for d in templates() {
        let t = &d.template;
        let (id, f) = &functions(t)[&binary(Operation::Token)];
        let granted = grants_of(id, f);
        // Nothing on the whole table but connecting.
        assert_eq!(
            granted.table,
            BTreeSet::from(["dynamodb:DescribeTable".to_owned()]),
            "{id}"
        );
        // Clients, refresh tokens, families, failure counters, consent tickets and authorization
        // codes (shared/jsonapi-auth: pk `auth#…`), and the signing keys it creates when the
        // deployment gives none (the private one, the published public ones): read, put
        // (conditional puts: no ConditionCheckItem), delete (a counter reset, a code taken). No
        // UpdateItem: the token service draws no sequence.
        let auth_items = (
            strings(&[
                "dynamodb:GetItem",
                "dynamodb:PutItem",
                "dynamodb:DeleteItem",
            ]),
            strings(&["auth#*", SIGNING_KEY_PK, PUBLIC_KEYS_PK]),
        );
        assert!(granted.denied.is_empty(), "{id}");
        // The password grant's users: by unique username (`uniq#{type}#username#{name}`), then the
        // user (`{type}#{id}`), single reads, nothing written.
        let users = d
            .schema
            .api
            .auth
            .users
            .as_deref()
            .expect("both configurations have users");
        let user_items = (
            strings(&["dynamodb:GetItem"]),
            vec![format!("{users}#*"), format!("uniq#{users}#username#*")],
        );
        assert_eq!(granted.partitions, [auth_items, user_items], "{id}");
        // No other function creates the signing key.
        for (name, (other, f)) in functions(t) {
            // The batch worker's and the import function's table grants are checked by their
            // own tests (the import function reads clients).
            if name != binary(Operation::Token) && name != BATCH_WORKER && name != IMPORT {
                let granted = grants_of(&other, &f);
                assert!(
                    granted.partitions.iter().all(|(_, keys)| !keys
                        .iter()
                        .any(|k| k == SIGNING_KEY_PK || k.starts_with("auth#"))),
                    "{other}"
                );
            }
        }
    }
}

#[test]
fn the_token_and_sign_in_routes_are_throttled_harder_than_the_others() {
    for d in templates() {
        let t = &d.template;
        let limits = &t["Mappings"]["Throttling"];
        for key in ["RateLimit", "BurstLimit"] {
            assert!(
                limits["OAuth2Token"][key].as_i64() < limits["Default"][key].as_i64(),
                "the token route's {key} is stricter than the default"
            );
        }
        let api = &t["Resources"]["Api"]["Properties"];
        assert_eq!(
            api["DefaultRouteSettings"],
            json!({
                "ThrottlingRateLimit": {"Fn::FindInMap": ["Throttling", "Default", "RateLimit"]},
                "ThrottlingBurstLimit": {"Fn::FindInMap": ["Throttling", "Default", "BurstLimit"]},
            })
        );
        // Keyed by the route key, which must be a route of the API (API Gateway refuses settings
        // for one that does not exist): the token endpoint and the sign-in form, where secrets and
        // passwords are guessed.
        let strict = json!({
            "ThrottlingRateLimit": {"Fn::FindInMap": ["Throttling", "OAuth2Token", "RateLimit"]},
            "ThrottlingBurstLimit": {"Fn::FindInMap": ["Throttling", "OAuth2Token", "BurstLimit"]},
        });
        let throttled = [
            format!("POST {TOKEN_PATH}"),
            format!("POST {AUTHORIZE_PATH}"),
        ];
        assert_eq!(
            api["RouteSettings"],
            json!({ throttled[0].clone(): strict, throttled[1].clone(): strict })
        );
        let (_, token) = &functions(t)[&binary(Operation::Token)];
        let routes: Vec<String> = token["Properties"]["Events"]
            .as_object()
            .expect("Events")
            .values()
            .map(|e| {
                format!(
                    "{} {}",
                    e["Properties"]["Method"].as_str().unwrap(),
                    e["Properties"]["Path"].as_str().unwrap()
                )
            })
            .collect();
        for route in &throttled {
            assert!(routes.contains(route), "{routes:?}");
        }
    }
}

#[test]
fn the_table_is_the_one_the_store_describes() {
    for d in templates() {
        let t = &d.template;
        let table = &t["Resources"]["Table"];
        assert_eq!(table["Type"], "AWS::DynamoDB::Table");
        let mut props = table["Properties"].as_object().expect("Properties").clone();
        // Operational settings the store does not care about, but the deployment must have.
        assert_eq!(
            props.remove("PointInTimeRecoverySpecification"),
            Some(json!({"PointInTimeRecoveryEnabled": true}))
        );
        assert_eq!(
            props.remove("SSESpecification"),
            Some(json!({"SSEEnabled": true}))
        );
        assert_eq!(
            Value::Object(props),
            jsonapi_store_dynamodb::table::cloudformation_properties()
        );
        assert_eq!(
            table["DeletionPolicy"], "Retain",
            "the data outlives the stack"
        );
    }
}

#[test]
fn functions_run_as_the_lambda_edge_expects() {
    for d in templates() {
        let t = &d.template;
        let g = &t["Globals"]["Function"];
        assert_eq!(g["Runtime"], "provided.al2023");
        assert_eq!(g["Handler"], "bootstrap");
        assert_eq!(g["Architectures"], json!(["arm64"]));
        assert_eq!(g["LoggingConfig"]["LogFormat"], "JSON");
        let env = &g["Environment"]["Variables"];
        assert_eq!(env["TABLE_NAME"], json!({"Ref": "Table"}));
        assert_eq!(env["AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH"], "true");
        assert_eq!(env["JSONAPI_PUBLIC_URL"], json!({"Ref": "PublicUrl"}));
        // The configuration the template follows is the one the functions must carry.
        assert_eq!(
            env["JSONAPI_CONFIG_SHA256"],
            d.digest.as_str(),
            "{}",
            d.name
        );
        // The token signing key and lifetime reach every function (each checks bearer tokens);
        // the secret is never echoed, and the lifetime's bounds are the configuration's
        // (api.auth.accessTokenLifetime, 60 to 86400 s, which the functions check again).
        assert_eq!(env["JWT_SECRET"], json!({"Ref": "JwtSecret"}));
        assert_eq!(
            env["TOKEN_LIFETIME_SECONDS"],
            json!({"Ref": "TokenLifetimeSeconds"})
        );
        let params = &t["Parameters"];
        assert_eq!(params["JwtSecret"]["NoEcho"], true);
        assert_eq!(
            params["JwtSecret"]["Default"], "",
            "empty: the key kept in the table"
        );
        assert_eq!(params["TokenLifetimeSeconds"]["MinValue"], 60);
        assert_eq!(params["TokenLifetimeSeconds"]["MaxValue"], 86_400);
        assert!(t["Outputs"]["ApiUrl"].is_object());
        let api = &t["Resources"]["Api"];
        assert_eq!(api["Type"], "AWS::Serverless::HttpApi");
        assert_eq!(api["Properties"]["StageName"], json!({"Ref": "Stage"}));
    }
}

#[test]
fn the_batch_worker_sees_only_chunk_releases_reports_partial_failures_and_may_only_do_its_work() {
    for d in templates() {
        let t = &d.template;
        // Only where some type takes batches (the library's take none).
        let batches = d
            .schema
            .types()
            .any(|ty| ty.actions.allows(Operation::UpdateList));
        let Some((id, f)) = functions(t).get(BATCH_WORKER).cloned() else {
            assert!(!batches, "{}: no batch worker", d.name);
            assert!(t["Resources"].get("BatchFailures").is_none(), "{}", d.name);
            continue;
        };
        let (id, f) = (&id, &f);
        // Its table rights: those of any write (a batch's items may touch any type), the
        // private signing key denied as to every function but the token one.
        let (granted, elsewhere) = grants_and_others(id, f);
        let every: BTreeSet<String> = READ.iter().chain(&WRITE).map(|a| (*a).to_owned()).collect();
        assert_eq!(granted.table, every, "{id}");
        assert!(granted.partitions.is_empty(), "{id}");
        assert_eq!(granted.denied.len(), 1, "{id}: the signing key is denied");
        // Elsewhere: the table's stream (ListStreams on the table's streams, as it names no
        // one stream) and the failure queue, nothing else.
        let resources: Vec<&Value> = elsewhere.iter().map(|s| &s["Resource"]).collect();
        assert_eq!(
            resources,
            [
                &json!({"Fn::GetAtt": ["Table", "StreamArn"]}),
                &json!({"Fn::Sub": "${Table.Arn}/stream/*"}),
                &json!({"Fn::GetAtt": ["BatchFailures", "Arn"]})
            ],
            "{id}"
        );
        assert_eq!(
            actions(elsewhere[0]),
            [
                "dynamodb:DescribeStream",
                "dynamodb:GetRecords",
                "dynamodb:GetShardIterator"
            ]
        );
        assert_eq!(actions(elsewhere[1]), ["dynamodb:ListStreams"]);
        assert_eq!(actions(elsewhere[2]), ["sqs:SendMessage"]);
        // No managed policy (a SAM DynamoDB event would add one reading every stream).
        assert!(f["Properties"].get("ManagedPolicies").is_none(), "{id}");
        // Its one event: the sweep of stalled operations, as often as an operation may stall.
        let events = f["Properties"]["Events"].as_object().expect("Events");
        assert_eq!(events.len(), 1, "{id}: {events:?}");
        let sweep = &events["StalledChunks"];
        assert_eq!(sweep["Type"], "Schedule", "{id}");
        let minutes = jsonapi_engine::BATCH_STALL_AFTER.as_secs() / 60;
        assert_eq!(
            sweep["Properties"]["Schedule"],
            format!("rate({minutes} minutes)"),
            "{id}"
        );
        let mapping = &t["Resources"]["BatchWorkerChunks"]["Properties"];
        assert_eq!(
            mapping["FunctionName"],
            json!({"Ref": "BatchWorkerFunction"})
        );
        assert_eq!(mapping["EventSourceArn"], resources[0].clone());
        assert_eq!(
            mapping["FunctionResponseTypes"],
            json!(["ReportBatchItemFailures"])
        );
        assert_eq!(mapping["BisectBatchOnFunctionError"], true);
        assert!(
            mapping["MaximumRetryAttempts"]
                .as_u64()
                .is_some_and(|n| n <= 100)
        );
        assert!(mapping["MaximumRecordAgeInSeconds"].as_u64().is_some());
        assert_eq!(
            mapping["DestinationConfig"]["OnFailure"]["Destination"],
            resources[2].clone()
        );
        assert_eq!(
            t["Resources"]["BatchFailures"]["Type"], "AWS::SQS::Queue",
            "{}",
            d.name
        );
        let pattern: Value = serde_json::from_str(
            mapping["FilterCriteria"]["Filters"][0]["Pattern"]
                .as_str()
                .expect("a pattern"),
        )
        .expect("JSON");
        assert_eq!(
            pattern,
            json!({"eventName": ["INSERT"], "dynamodb": {"Keys": {
                "pk": {"S": [{"prefix": jsonapi_engine::BATCH_PARTITION}]},
                "sk": {"S": [{"prefix": jsonapi_engine::BATCH_RELEASE_PREFIX}]}}}})
        );
        // The operations' items expire by the table's TTL attribute.
        assert_eq!(
            t["Resources"]["Table"]["Properties"]["TimeToLiveSpecification"],
            json!({"AttributeName": jsonapi_engine::BATCH_EXPIRES_AT, "Enabled": true})
        );
    }
}

#[test]
fn the_import_bucket_is_private_and_notifies_the_import_function_which_may_only_do_its_work() {
    for d in templates() {
        let t = &d.template;
        let Some((id, f)) = functions(t).get(IMPORT).cloned() else {
            assert!(!functions(t).contains_key(BATCH_WORKER), "{}", d.name);
            assert!(t["Resources"].get("ImportBucket").is_none(), "{}", d.name);
            continue;
        };
        let id = &id;
        let bucket = &t["Resources"]["ImportBucket"];
        assert_eq!(bucket["Type"], "AWS::S3::Bucket");
        let props = &bucket["Properties"];
        let sse = &props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0];
        assert_eq!(
            sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"],
            "AES256"
        );
        for block in [
            "BlockPublicAcls",
            "BlockPublicPolicy",
            "IgnorePublicAcls",
            "RestrictPublicBuckets",
        ] {
            assert_eq!(
                props["PublicAccessBlockConfiguration"][block], true,
                "{block}"
            );
        }
        let rule = &props["LifecycleConfiguration"]["Rules"][0];
        assert_eq!(rule["Prefix"], jsonapi_engine::IMPORTS_PREFIX);
        assert!(rule["ExpirationInDays"].as_u64().is_some_and(|d| d > 0));
        // Objects created under imports/ invoke the function (SAM's S3 event: the bucket's
        // notification and the function's permission).
        let events = f["Properties"]["Events"].as_object().expect("Events");
        assert_eq!(events.len(), 1, "{id}");
        let event = events.values().next().unwrap();
        assert_eq!(event["Type"], "S3", "{id}");
        let p = &event["Properties"];
        assert_eq!(p["Bucket"], json!({"Ref": "ImportBucket"}));
        assert_eq!(p["Events"], "s3:ObjectCreated:*");
        assert_eq!(
            p["Filter"]["S3Key"]["Rules"],
            json!([{"Name": "prefix", "Value": jsonapi_engine::IMPORTS_PREFIX}])
        );
        // Its table rights: connect; the operations' items and the uploads' claims; clients
        // read. Nothing on the whole table, so no resource of any type.
        let (granted, elsewhere) = grants_and_others(id, &f);
        assert_eq!(
            granted.table,
            BTreeSet::from(["dynamodb:DescribeTable".to_owned()]),
            "{id}"
        );
        let operations = vec![
            format!("{}*", jsonapi_engine::OPERATIONS_KEY_PREFIX),
            format!("{}*", jsonapi_engine::IMPORT_DELIVERY_PARTITION),
        ];
        assert_eq!(
            granted.partitions,
            [
                (
                    strings(&[
                        "dynamodb:GetItem",
                        "dynamodb:Query",
                        "dynamodb:PutItem",
                        "dynamodb:DeleteItem",
                        "dynamodb:UpdateItem",
                        "dynamodb:ConditionCheckItem",
                    ]),
                    operations
                ),
                (strings(&["dynamodb:GetItem"]), strings(&["auth#client#*"])),
            ],
            "{id}"
        );
        // Elsewhere: reading the objects under imports/ of that bucket, named as the bucket
        // names itself (a reference to the bucket would be a circular dependency).
        assert_eq!(elsewhere.len(), 1, "{id}");
        assert_eq!(
            actions(elsewhere[0]),
            ["s3:GetObject", "s3:GetObjectVersion"]
        );
        let name = &props["BucketName"]["Fn::Sub"];
        let objects = &elsewhere[0]["Resource"]["Fn::Sub"];
        assert_eq!(
            objects[0].as_str().unwrap(),
            format!(
                "arn:${{AWS::Partition}}:s3:::{}/{}*",
                name[0].as_str().unwrap(),
                jsonapi_engine::IMPORTS_PREFIX
            )
        );
        assert_eq!(objects[1], name[1], "{id}");
        assert_eq!(
            f["Properties"]["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Destination"],
            json!({"Fn::GetAtt": ["BatchFailures", "Arn"]})
        );
        assert_eq!(
            t["Outputs"]["ImportBucket"]["Value"],
            json!({"Ref": "ImportBucket"})
        );
    }
}
