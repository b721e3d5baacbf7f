//! `template.yaml` against the code it deploys: the routes of `jsonapi_engine::ROUTES`, one
//! function per `functions/*` crate, least-privilege IAM per function, and the table of
//! `jsonapi_store_dynamodb::table`. cfn-lint and `sam validate` (infra/sam/validate.sh) check
//! the template's form; this checks its meaning, which no linter knows.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use http::Method;
use jsonapi_engine::{Operation, ROUTES};
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

fn template() -> Value {
    let text = std::fs::read_to_string(root().join("template.yaml")).expect("template.yaml");
    to_json(serde_norway::from_str(&text).expect("template.yaml is YAML"))
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

fn binary(op: Operation) -> String {
    format!("fn-{}", op.name())
}

#[test]
fn every_route_goes_to_the_function_of_its_operation_and_no_other_route_exists() {
    let t = template();
    let prefix = jsonapi_config::example_domain().api.prefix;
    let mut expected = BTreeSet::new();
    for (method, kind, op) in &ROUTES {
        let path = format!("{prefix}{}", kind.template());
        expected.insert((method.to_string(), path.clone(), binary(*op)));
        // HEAD is answered as GET (RFC 9110), by the same function.
        if *method == Method::GET {
            expected.insert(("HEAD".to_owned(), path, binary(*op)));
        }
    }
    let mut actual = BTreeSet::new();
    for (binary, (id, f)) in functions(&t) {
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
    let missing: Vec<_> = expected.difference(&actual).collect();
    let extra: Vec<_> = actual.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "routes missing from template.yaml: {missing:?}\nroutes template.yaml should not have: {extra:?}"
    );
}

#[test]
fn every_function_crate_has_its_function_and_every_function_its_crate() {
    let t = template();
    let in_template: BTreeSet<String> = functions(&t).into_keys().collect();
    let mut crates = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("functions")).expect("functions/") {
        let dir = entry.expect("entry").path();
        let folder = dir.file_name().unwrap().to_string_lossy().into_owned();
        let op = Operation::ALL
            .into_iter()
            .find(|op| op.name() == folder)
            .unwrap_or_else(|| panic!("functions/{folder} is not the name of an Operation"));
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("Cargo.toml");
        assert!(
            manifest.contains(&format!("name = \"{}\"", binary(op))),
            "functions/{folder}: the package must be {}",
            binary(op)
        );
        let main = std::fs::read_to_string(dir.join("src/main.rs")).expect("main.rs");
        assert!(
            main.contains(&format!(
                "jsonapi_lambda::run(jsonapi_lambda::Operation::{op:?})"
            )),
            "functions/{folder}/src/main.rs must run Operation::{op:?}"
        );
        crates.insert(binary(op));
    }
    let every_operation: BTreeSet<String> = Operation::ALL.into_iter().map(binary).collect();
    assert_eq!(crates, every_operation, "one crate per Operation");
    assert_eq!(in_template, crates, "one template function per crate");
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

fn actions(statement: &Value) -> Vec<String> {
    match &statement["Action"] {
        Value::String(a) => vec![a.clone()],
        Value::Array(a) => a.iter().map(|a| a.as_str().unwrap().to_owned()).collect(),
        other => panic!("Action {other}"),
    }
}

#[test]
fn each_function_may_only_use_its_operations_dynamodb_actions_on_the_table() {
    let t = template();
    assert!(
        t["Globals"]["Function"].get("Policies").is_none(),
        "permissions are per function"
    );
    let table = json!({"Fn::GetAtt": ["Table", "Arn"]});
    for op in Operation::ALL {
        let (id, f) = &functions(&t)[&binary(op)];
        let mut granted = BTreeSet::new();
        for policy in f["Properties"]["Policies"].as_array().expect("Policies") {
            // Inline statements only: no managed policy, no SAM policy template (their action
            // lists are wider than what the engine uses).
            let keys: Vec<&String> = policy
                .as_object()
                .expect("a policy document")
                .keys()
                .collect();
            assert_eq!(keys, ["Statement"], "{id}: inline statements only");
            for s in policy["Statement"].as_array().expect("Statement") {
                assert_eq!(s["Effect"], "Allow", "{id}");
                assert_eq!(s["Resource"], table, "{id}: the table only");
                let acts = actions(s);
                for a in &acts {
                    assert!(
                        READ.contains(&a.as_str()) || WRITE.contains(&a.as_str()),
                        "{id}: {a} is not an action the store makes"
                    );
                }
                if let Some(condition) = s.get("Condition") {
                    // The only conditioned grant: the cursor key's item, and nothing else.
                    assert_eq!(acts, ["dynamodb:PutItem"], "{id}");
                    assert_eq!(
                        condition,
                        &json!({"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": [CURSOR_SECRET_PK]}}),
                        "{id}"
                    );
                    granted.insert("cursor-secret".to_owned());
                } else {
                    granted.extend(acts);
                }
            }
        }
        // Every function connects with DescribeTable during init.
        assert!(granted.contains("dynamodb:DescribeTable"), "{id}");
        let writes: Vec<_> = granted
            .iter()
            .filter(|a| WRITE.contains(&a.as_str()))
            .collect();
        if op.read_only() {
            assert!(writes.is_empty(), "{id} only reads, but may {writes:?}");
            // Collections page with signed cursors, whose key may have to be created.
            let pages = matches!(
                op,
                Operation::GetList | Operation::GetSubresource | Operation::GetRelationship
            );
            assert_eq!(granted.contains("cursor-secret"), pages, "{id}: cursor key");
        } else {
            assert!(
                granted.contains("dynamodb:PutItem") && granted.contains("dynamodb:DeleteItem"),
                "{id} writes"
            );
            // Sequence ids are drawn with UpdateItem, by create only.
            assert_eq!(
                granted.contains("dynamodb:UpdateItem"),
                op == Operation::Create,
                "{id}: UpdateItem"
            );
        }
    }
}

#[test]
fn the_table_is_the_one_the_store_describes() {
    let t = template();
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

#[test]
fn functions_run_as_the_lambda_edge_expects() {
    let t = template();
    let g = &t["Globals"]["Function"];
    assert_eq!(g["Runtime"], "provided.al2023");
    assert_eq!(g["Handler"], "bootstrap");
    assert_eq!(g["Architectures"], json!(["arm64"]));
    assert_eq!(g["LoggingConfig"]["LogFormat"], "JSON");
    let env = &g["Environment"]["Variables"];
    assert_eq!(env["TABLE_NAME"], json!({"Ref": "Table"}));
    assert_eq!(env["AWS_LAMBDA_HTTP_IGNORE_STAGE_IN_PATH"], "true");
    assert_eq!(env["JSONAPI_PUBLIC_URL"], json!({"Ref": "PublicUrl"}));
    assert_eq!(t["Parameters"]["JwtSecret"]["NoEcho"], true);
    assert!(t["Outputs"]["ApiUrl"].is_object());
    let api = &t["Resources"]["Api"];
    assert_eq!(api["Type"], "AWS::Serverless::HttpApi");
    assert_eq!(api["Properties"]["StageName"], json!({"Ref": "Stage"}));
    let limits = &t["Mappings"]["Throttling"];
    for key in ["RateLimit", "BurstLimit"] {
        assert!(
            limits["OAuth2Token"][key].as_i64() < limits["Default"][key].as_i64(),
            "the token route's {key} is stricter than the default"
        );
    }
}
