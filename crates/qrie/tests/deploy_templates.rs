//! The CloudFormation templates in deploy/: cfn-lint passes them with no error,
//! warning or note, and they keep the contract the binary and the store rely
//! on (docs/lambda.md, docs/deploy.md): the four functions, the schedules and
//! their payloads, the event path, the tables exactly as
//! `qrie_store_dynamodb::schema` defines them, and the read role's policy
//! exactly as docs/aws-access.md lists it.
//!
//! cfn-lint comes from the venv that scripts/setup-python makes; a missing
//! cfn-lint is a failure, never a skip. The templates are read through
//! cfn-lint's own YAML loader (it knows the short-form tags such as !Ref and
//! !Sub) and handed over as JSON.

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn venv_tool(name: &str) -> PathBuf {
    let path = root().join(".venv/bin").join(name);
    assert!(path.exists(), "{} is missing: run scripts/setup-python (it pins cfn-lint) and retry", path.display());
    path
}

fn templates() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(root().join("deploy"))
        .expect("deploy/ exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    out.sort();
    out
}

/// A template as JSON, short-form tags in their long form (`{"Ref": ...}`).
fn load(name: &str) -> Value {
    let path = root().join("deploy").join(name);
    let out = Command::new(venv_tool("python"))
        .args([
            "-c",
            "import json, sys\nfrom cfnlint.decode import cfn_yaml\njson.dump(cfn_yaml.load(sys.argv[1]), sys.stdout)",
        ])
        .arg(&path)
        .output()
        .expect("run python");
    assert!(out.status.success(), "loading {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("the loader prints JSON")
}

fn resources<'a>(t: &'a Value, kind: &str) -> Vec<(&'a str, &'a Value)> {
    t["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(name, r)| (name.as_str(), r))
        .collect()
}

/// The logical name a `{"Ref": X}` or `{"Fn::GetAtt": [X, ...]}` points at.
fn target(v: &Value) -> Option<&str> {
    v["Ref"].as_str().or_else(|| v["Fn::GetAtt"][0].as_str())
}

#[test]
fn cfn_lint_passes_every_template() {
    let files = templates();
    assert!(files.len() >= 2, "deploy/ holds the QOP and onboarding templates: {files:?}");
    let out = Command::new(venv_tool("cfn-lint")).args(&files).output().expect("run cfn-lint");
    assert!(
        out.status.success(),
        "cfn-lint found problems (exit {:?}):\n{}{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn qop_functions_come_from_one_zip_with_their_roles() {
    let t = load("qrie-qop.yaml");
    let functions = resources(&t, "AWS::Lambda::Function");
    let mut by_mode: BTreeMap<String, (&str, &Value)> = BTreeMap::new();
    for (name, f) in &functions {
        let p = &f["Properties"];
        assert_eq!(p["Runtime"], "provided.al2023", "{name}");
        assert_eq!(p["Handler"], "bootstrap", "{name}");
        assert_eq!(p["Architectures"], json!(["x86_64"]), "{name}");
        assert_eq!(p["Code"]["S3Bucket"], json!({"Ref": "CodeS3Bucket"}), "{name}");
        assert_eq!(p["Code"]["S3Key"], json!({"Ref": "CodeS3Key"}), "{name}");
        let env = &p["Environment"]["Variables"];
        assert_eq!(env["QRIE_STORE"], json!({"Fn::Sub": "dynamodb://?prefix=${TablePrefix}&region=${AWS::Region}"}));
        let mode = env["QRIE_LAMBDA"].as_str().unwrap_or_else(|| panic!("{name} has no QRIE_LAMBDA"));
        assert!(by_mode.insert(mode.to_string(), (name, f)).is_none(), "two functions are {mode}");
    }
    let modes: Vec<&str> = by_mode.keys().map(String::as_str).collect();
    assert_eq!(modes, ["api", "events", "inventory", "scanner"]);

    // The API hands policy sweeps to the scanner and inventory sweeps to the
    // inventory function: their names, and the right to invoke them.
    let (_, api) = by_mode["api"];
    let api_role = &t["Resources"][target(&api["Properties"]["Role"]).expect("a role")];
    let statements: Vec<&Value> = api_role["Properties"]["Policies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_array().unwrap())
        .collect();
    for (var, mode) in [("QRIE_SCANNER_FUNCTION", "scanner"), ("QRIE_INVENTORY_FUNCTION", "inventory")] {
        let (function, f) = by_mode[mode];
        assert_eq!(target(&api["Properties"]["Environment"]["Variables"][var]), Some(function), "{var}");
        assert!(
            statements.iter().any(|s| s["Action"] == "lambda:InvokeFunction"
                && s["Resource"].as_array().is_some_and(|r| r.iter().any(|r| target(r) == Some(function)))),
            "the api role may invoke the {mode}: {statements:?}"
        );
        // Queued jobs are failed as lost once an invoke that old is dropped
        // (QUEUE_MAX_AGE_SECONDS in crates/qrie/src/lambda/launcher.rs).
        let config = resources(&t, "AWS::Lambda::EventInvokeConfig")
            .into_iter()
            .find(|(_, c)| target(&c["Properties"]["FunctionName"]) == Some(function))
            .unwrap_or_else(|| panic!("no invoke config for the {mode}"));
        assert_eq!(config.1["Properties"]["MaximumEventAgeInSeconds"], 1800, "{mode}");
        assert_eq!(f["Properties"]["Timeout"], 900, "{mode}");
    }
    // Behind a Function URL.
    let urls = resources(&t, "AWS::Lambda::Url");
    assert_eq!(urls.len(), 1);
    assert_eq!(target(&urls[0].1["Properties"]["TargetFunctionArn"]), Some(by_mode["api"].0));
}

/// The managed policies a role attaches, by logical name, whatever the condition.
fn managed_policies(role: &Value) -> Vec<&str> {
    role["Properties"]["ManagedPolicyArns"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| match p["Fn::If"].as_array() {
            Some(branches) => branches[1..].iter().filter_map(target).collect::<Vec<_>>(),
            None => target(p).into_iter().collect(),
        })
        .filter(|name| *name != "AWS::NoValue")
        .collect()
}

#[test]
fn qop_organizations_discovery_is_opt_in_for_the_inventory_and_api_roles() {
    let t = load("qrie-qop.yaml");
    assert_eq!(t["Parameters"]["EnableOrganizationsDiscovery"]["Default"], "false");
    let policy = &t["Resources"]["DiscoverAccountsPolicy"];
    assert_eq!(policy["Condition"], "OrganizationsDiscovery");
    // The calls docs/aws-access.md lists for discovery, no more.
    let doc = std::fs::read_to_string(root().join("docs/aws-access.md")).unwrap();
    let section = &doc[doc.find("## Organizations discovery").expect("the discovery section")..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |end| end + 3)];
    let listed: BTreeSet<String> =
        section.split('"').filter(|w| w.starts_with("organizations:")).map(String::from).collect();
    assert_eq!(actions(&policy["Properties"]["PolicyDocument"]["Statement"]), listed);
    for (role, with) in [("InventoryRole", true), ("ApiRole", true), ("ScannerRole", false), ("EventsRole", false)] {
        let attached = managed_policies(&t["Resources"][role]);
        assert_eq!(attached.contains(&"DiscoverAccountsPolicy"), with, "{role}: {attached:?}");
    }
}

#[test]
fn qop_schedules_invoke_the_sweeps_with_anti_entropy_payloads() {
    let t = load("qrie-qop.yaml");
    let mode_of =
        |logical: &str| t["Resources"][logical]["Properties"]["Environment"]["Variables"]["QRIE_LAMBDA"].clone();
    let mut schedules = BTreeMap::new();
    for (name, rule) in resources(&t, "AWS::Events::Rule") {
        let Some(cron) = rule["Properties"]["ScheduleExpression"].as_str() else { continue };
        let targets = rule["Properties"]["Targets"].as_array().unwrap();
        assert_eq!(targets.len(), 1, "{name}");
        // An input is JSON text, or a Fn::Sub of it over parameters (taken at their defaults).
        let text = match &targets[0]["Input"] {
            Value::String(s) => s.clone(),
            sub => {
                let mut s = sub["Fn::Sub"].as_str().expect("an Input or a Fn::Sub of one").to_string();
                for (name, p) in t["Parameters"].as_object().unwrap() {
                    let default = p["Default"].as_str().map(str::to_string).unwrap_or_else(|| p["Default"].to_string());
                    s = s.replace(&format!("${{{name}}}"), &default);
                }
                s
            }
        };
        let input: Value = serde_json::from_str(&text).expect("JSON Input");
        let function = target(&targets[0]["Arn"]).expect("a function");
        schedules.insert(cron.to_string(), (mode_of(function), input));
        // EventBridge may invoke that function from this rule, and only from it.
        let allowed = resources(&t, "AWS::Lambda::Permission").into_iter().any(|(_, p)| {
            target(&p["Properties"]["FunctionName"]) == Some(function)
                && target(&p["Properties"]["SourceArn"]) == Some(name)
                && p["Properties"]["Principal"] == "events.amazonaws.com"
        });
        assert!(allowed, "{name} has no invoke permission");
    }
    assert_eq!(
        schedules,
        BTreeMap::from([
            (
                "cron(0 0 ? * SAT *)".to_string(),
                (json!("inventory"), json!({"service": "all", "scan_type": "anti-entropy"}))
            ),
            ("cron(0 4 * * ? *)".to_string(), (json!("scanner"), json!({"scan_type": "anti-entropy"}))),
            ("cron(0 3 ? * SUN *)".to_string(), (json!("scanner"), json!({"archive_older_than_days": 400}))),
            ("rate(5 minutes)".to_string(), (json!("scanner"), json!({"dispatch_notifications": true}))),
        ])
    );
    // The retention and notifications payloads are ones the scanner decodes.
    let retention = &schedules["cron(0 3 ? * SUN *)"].1;
    serde_json::from_value::<ArchivePayloadShape>(retention.clone()).expect("the scanner's archive payload");
    let notify = &schedules["rate(5 minutes)"].1;
    serde_json::from_value::<DispatchPayloadShape>(notify.clone()).expect("the scanner's notifications payload");
}

/// The scanner's notifications payload (crates/qrie/src/lambda/scanner.rs).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct DispatchPayloadShape {
    dispatch_notifications: bool,
}

/// The scanner's archive payload (crates/qrie/src/lambda/scanner.rs), as the schedule must send it.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ArchivePayloadShape {
    archive_older_than_days: u32,
}

#[test]
fn qop_archive_bucket_is_private_encrypted_and_written_by_api_and_scanner_only() {
    let t = load("qrie-qop.yaml");
    let bucket = &t["Resources"]["ArchiveBucket"]["Properties"];
    assert_eq!(
        bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
            ["SSEAlgorithm"],
        "AES256"
    );
    for flag in ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"] {
        assert_eq!(bucket["PublicAccessBlockConfiguration"][flag], true, "{flag}");
    }
    let writers: Vec<&str> = resources(&t, "AWS::IAM::Role")
        .into_iter()
        .filter(|(_, r)| managed_policies(r).contains(&"WriteArchivePolicy"))
        .map(|(name, _)| name)
        .collect();
    assert_eq!(writers, ["ApiRole", "ScannerRole"]);
    for function in ["ApiFunction", "ScannerFunction"] {
        let to = &t["Resources"][function]["Properties"]["Environment"]["Variables"]["QRIE_ARCHIVE_TO"];
        assert_eq!(to, &json!({"Fn::Sub": "s3://${ArchiveBucket}/findings/"}), "{function}");
    }
}

#[test]
fn qop_event_path_is_bus_to_queue_with_dlq_to_events_function() {
    let t = load("qrie-qop.yaml");
    let buses = resources(&t, "AWS::Events::EventBus");
    assert_eq!(buses.len(), 1);
    assert_eq!(buses[0].1["Properties"]["Name"], "qrie-events");
    let bus = buses[0].0;
    // The bus admits the organization or the listed accounts.
    let policies: Vec<Value> = resources(&t, "AWS::Events::EventBusPolicy")
        .iter()
        .map(|(_, p)| p["Properties"]["Statement"].clone())
        .collect();
    assert!(policies.iter().any(|s| s["Condition"]["StringEquals"]["aws:PrincipalOrgID"]["Ref"] == "OrganizationId"));
    assert!(policies.iter().any(|s| s["Principal"]["AWS"]["Ref"] == "MemberAccountIds"));

    let rules: Vec<(&str, &Value)> = resources(&t, "AWS::Events::Rule")
        .into_iter()
        .filter(|(_, r)| target(&r["Properties"]["EventBusName"]) == Some(bus))
        .collect();
    assert_eq!(rules.len(), 1);
    let rule = &rules[0].1["Properties"];
    let pattern = &rule["EventPattern"];
    assert_eq!(pattern["source"], json!([{"prefix": "aws."}]));
    let detail_types = pattern["detail-type"].as_array().unwrap();
    assert!(detail_types.contains(&json!("AWS API Call via CloudTrail")), "{detail_types:?}");
    assert!(detail_types.iter().all(|d| d.as_str().unwrap().ends_with("via CloudTrail")), "{detail_types:?}");

    let queue = target(&rule["Targets"][0]["Arn"]).expect("the rule targets a queue");
    let q = &t["Resources"][queue];
    assert_eq!(q["Type"], "AWS::SQS::Queue");
    let redrive = &q["Properties"]["RedrivePolicy"];
    assert_eq!(redrive["maxReceiveCount"], 5);
    assert_eq!(t["Resources"][target(&redrive["deadLetterTargetArn"]).unwrap()]["Type"], "AWS::SQS::Queue");

    let mappings: Vec<_> = resources(&t, "AWS::Lambda::EventSourceMapping")
        .into_iter()
        .filter(|(_, m)| target(&m["Properties"]["EventSourceArn"]) == Some(queue))
        .collect();
    assert_eq!(mappings.len(), 1);
    let m = &mappings[0].1["Properties"];
    assert_eq!(m["FunctionResponseTypes"], json!(["ReportBatchItemFailures"]));
    let function = target(&m["FunctionName"]).unwrap();
    assert_eq!(t["Resources"][function]["Properties"]["Environment"]["Variables"]["QRIE_LAMBDA"], "events");
}

#[test]
fn qop_sweeps_fan_out_over_a_fifo_unit_queue_the_inventory_function_works_off() {
    let t = load("qrie-qop.yaml");
    let (name, function) = resources(&t, "AWS::Lambda::Function")
        .into_iter()
        .find(|(_, f)| f["Properties"]["Environment"]["Variables"]["QRIE_LAMBDA"] == "inventory")
        .unwrap();
    let queue = target(&function["Properties"]["Environment"]["Variables"]["QRIE_UNITS_QUEUE_URL"])
        .expect("the inventory function names its units queue");
    let q = &t["Resources"][queue]["Properties"];
    assert_eq!(q["FifoQueue"], true, "grouped by account");
    // A dead worker's message comes back only after its claim (its invocation) ended.
    let timeout = function["Properties"]["Timeout"].as_u64().unwrap();
    assert!(q["VisibilityTimeout"].as_u64().unwrap() > timeout);
    // More receives than a unit's attempts (3): the DLQ holds only what no worker could read.
    assert!(q["RedrivePolicy"]["maxReceiveCount"].as_u64().unwrap() > 3);
    let dlq = &t["Resources"][target(&q["RedrivePolicy"]["deadLetterTargetArn"]).unwrap()]["Properties"];
    assert_eq!(dlq["FifoQueue"], true);

    let (_, m) = resources(&t, "AWS::Lambda::EventSourceMapping")
        .into_iter()
        .find(|(_, m)| target(&m["Properties"]["EventSourceArn"]) == Some(queue))
        .expect("the units queue is mapped to a function");
    let m = &m["Properties"];
    assert_eq!(target(&m["FunctionName"]), Some(name));
    assert_eq!((&m["BatchSize"], &m["FunctionResponseTypes"]), (&json!(1), &json!(["ReportBatchItemFailures"])));
    assert_eq!(m["ScalingConfig"]["MaximumConcurrency"]["Ref"], "SweepMaximumConcurrency");

    // The inventory role may send to and consume the units queue, and no other queue.
    let role = target(&function["Properties"]["Role"]).unwrap();
    let statements = &t["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"];
    for s in statements.as_array().unwrap() {
        let acts = s["Action"].as_array().cloned().unwrap_or_else(|| vec![s["Action"].clone()]);
        if acts.iter().any(|a| a.as_str().unwrap().starts_with("sqs:")) {
            assert_eq!(target(&s["Resource"]), Some(queue), "{s}");
        }
    }
    assert!(actions(statements).contains("sqs:SendMessage"));

    // The scanner fans policy sweeps out over the same queue: it may send, not consume.
    let (_, scanner) = resources(&t, "AWS::Lambda::Function")
        .into_iter()
        .find(|(_, f)| f["Properties"]["Environment"]["Variables"]["QRIE_LAMBDA"] == "scanner")
        .unwrap();
    let sent_to = target(&scanner["Properties"]["Environment"]["Variables"]["QRIE_UNITS_QUEUE_URL"]);
    assert_eq!(sent_to, Some(queue), "policy sweeps fan out over the units queue");
    let role = target(&scanner["Properties"]["Role"]).unwrap();
    let statements = &t["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"];
    let sqs: Vec<_> = statements
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Action"].to_string().contains("sqs:"))
        .map(|s| (s["Action"].clone(), target(&s["Resource"])))
        .collect();
    assert_eq!(sqs, [(json!("sqs:SendMessage"), Some(queue))]);
}

/// `{"AttributeName": a, "KeyType": k}` lists as `[(a, k)]`.
fn keys(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .map(|k| (k["AttributeName"].as_str().unwrap().to_string(), k["KeyType"].as_str().unwrap().to_string()))
        .collect()
}

fn key_of(hash: &str, range: Option<&str>) -> Vec<(String, String)> {
    let mut out = vec![(hash.to_string(), "HASH".to_string())];
    out.extend(range.map(|r| (r.to_string(), "RANGE".to_string())));
    out
}

#[test]
fn qop_tables_match_the_dynamodb_store_schema() {
    let t = load("qrie-qop.yaml");
    let tables = resources(&t, "AWS::DynamoDB::Table");
    assert_eq!(tables.len(), qrie_store_dynamodb::schema::ALL.len());
    for def in qrie_store_dynamodb::schema::ALL {
        let name = json!({"Fn::Sub": format!("${{TablePrefix}}{}", def.base)});
        let (logical, table) = tables
            .iter()
            .find(|(_, r)| r["Properties"]["TableName"] == name)
            .unwrap_or_else(|| panic!("no table named {name}"));
        let p = &table["Properties"];
        assert_eq!(keys(&p["KeySchema"]), key_of(def.hash, def.range), "{logical}");
        let indexes: BTreeMap<String, Vec<(String, String)>> = p["GlobalSecondaryIndexes"]
            .as_array()
            .unwrap_or(&Vec::new())
            .iter()
            .map(|i| {
                assert_eq!(i["Projection"]["ProjectionType"], "ALL", "{logical}");
                (i["IndexName"].as_str().unwrap().to_string(), keys(&i["KeySchema"]))
            })
            .collect();
        let want: BTreeMap<String, Vec<(String, String)>> =
            def.indexes.iter().map(|i| (i.name.to_string(), key_of(i.hash, i.range))).collect();
        assert_eq!(indexes, want, "{logical}");
        assert_eq!(p["TimeToLiveSpecification"]["AttributeName"].as_str(), def.ttl, "{logical}");
        assert_eq!(p["BillingMode"], "PAY_PER_REQUEST", "{logical}");
        assert_eq!(p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true, "{logical}");
        assert!(p["SSESpecification"].is_object() && p["DeletionProtectionEnabled"].is_object(), "{logical}");
    }
}

/// Whether condition `name` (or one it is built from) holds `needle`.
fn condition_holds(t: &Value, name: &str, needle: &Value) -> bool {
    fn walk(t: &Value, v: &Value, needle: &Value) -> bool {
        if v == needle {
            return true;
        }
        match v {
            Value::Object(o) => o.iter().any(|(k, x)| {
                if k == "Condition" {
                    x.as_str().is_some_and(|n| walk(t, &t["Conditions"][n], needle))
                } else {
                    walk(t, x, needle)
                }
            }),
            Value::Array(a) => a.iter().any(|x| walk(t, x, needle)),
            _ => false,
        }
    }
    walk(t, &t["Conditions"][name], needle)
}

#[test]
fn onboarding_role_trusts_the_qop_account_and_forwards_the_right_events() {
    let t = load("qrie-customer-onboarding.yaml");
    let text = std::fs::read_to_string(root().join("deploy/qrie-customer-onboarding.yaml")).unwrap();
    for (file, body) in
        [("onboarding", text), ("qop", std::fs::read_to_string(root().join("deploy/qrie-qop.yaml")).unwrap())]
    {
        let digits: Vec<&str> = body.split(|c: char| !c.is_ascii_digit()).filter(|d| d.len() == 12).collect();
        assert!(digits.is_empty(), "{file}: a hard-coded account id? {digits:?} (StackSets need parameters)");
    }

    let roles = resources(&t, "AWS::IAM::Role");
    let (_, read) =
        roles.iter().find(|(_, r)| r["Properties"]["RoleName"]["Ref"] == "ReadRoleName").expect("read role");
    let trust = &read["Properties"]["AssumeRolePolicyDocument"]["Statement"][0];
    assert_eq!(trust["Principal"]["AWS"], json!({"Fn::Sub": "arn:${AWS::Partition}:iam::${QopAccountId}:root"}));
    assert_eq!(trust["Condition"]["StringEquals"]["sts:ExternalId"], json!({"Ref": "ExternalId"}));
    // The role is global: one region's stack makes it.
    let role_condition = read["Condition"].as_str().expect("the read role is conditional");
    assert!(condition_holds(&t, role_condition, &json!({"Ref": "RoleRegion"})));

    let mut sources = BTreeMap::new();
    for (name, rule) in resources(&t, "AWS::Events::Rule") {
        let p = &rule["Properties"];
        assert_eq!(p["Targets"][0]["Arn"], json!({"Ref": "QopEventBusArn"}), "{name}");
        assert!(p["Targets"][0]["RoleArn"].is_object(), "{name}: cross-account PutEvents needs a role");
        let source = p["EventPattern"]["source"][0].as_str().unwrap().to_string();
        let detail_type = p["EventPattern"]["detail-type"][0].as_str().unwrap().to_string();
        let only_us_east_1 = rule["Condition"]
            .as_str()
            .is_some_and(|c| condition_holds(&t, c, &json!({"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]})));
        sources.insert(source, (detail_type, only_us_east_1));
    }
    let api_call = "AWS API Call via CloudTrail".to_string();
    assert_eq!(
        sources,
        BTreeMap::from([
            ("aws.ec2".to_string(), (api_call.clone(), false)),
            ("aws.iam".to_string(), (api_call.clone(), true)),
            ("aws.s3".to_string(), (api_call, false)),
            ("aws.signin".to_string(), ("AWS Console Sign In via CloudTrail".to_string(), false)),
        ])
    );
}

/// Every action of the least-privilege read policy, as a set.
fn actions(statements: &Value) -> BTreeSet<String> {
    statements
        .as_array()
        .expect("statements")
        .iter()
        .flat_map(|s| match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_string()).collect(),
            other => panic!("unexpected Action {other}"),
        })
        .collect()
}

#[test]
fn onboarding_least_privilege_policy_is_the_one_docs_list() {
    let t = load("qrie-customer-onboarding.yaml");
    let roles = resources(&t, "AWS::IAM::Role");
    let (_, read) = roles.iter().find(|(_, r)| r["Properties"]["RoleName"]["Ref"] == "ReadRoleName").unwrap();
    // Policies: [!If [LeastPrivilege, {policy}, !Ref AWS::NoValue]]
    let policy = &read["Properties"]["Policies"][0]["Fn::If"][1];
    let template = actions(&policy["PolicyDocument"]["Statement"]);

    let doc = std::fs::read_to_string(root().join("docs/aws-access.md")).unwrap();
    let block = doc.split("```json").nth(1).and_then(|b| b.split("```").next()).expect("a JSON policy in the doc");
    let documented: Value = serde_json::from_str(block).expect("the doc's policy is JSON");
    assert_eq!(
        template,
        actions(&documented["Statement"]),
        "deploy/qrie-customer-onboarding.yaml vs docs/aws-access.md"
    );
}

/// The DynamoDB operations (as IAM action names) the store's sources call.
fn dynamodb_calls_in_store_sources() -> BTreeSet<String> {
    let ops = [
        ("get_item", "GetItem"),
        ("put_item", "PutItem"),
        ("update_item", "UpdateItem"),
        ("delete_item", "DeleteItem"),
        ("batch_write_item", "BatchWriteItem"),
        ("batch_get_item", "BatchGetItem"),
        // IAM has no TransactWriteItems action: a transaction is authorized
        // per action in it. The store's hold conditional Puts (PutItem, above)
        // and policy checks (ConditionCheckItem).
        ("transact_write_items", "ConditionCheckItem"),
        ("transact_get_items", "TransactGetItems"),
        ("query", "Query"),
        ("scan", "Scan"),
        ("describe_table", "DescribeTable"),
        ("create_table", "CreateTable"),
        ("update_table", "UpdateTable"),
        ("describe_time_to_live", "DescribeTimeToLive"),
        ("update_time_to_live", "UpdateTimeToLive"),
    ];
    let dir = root().join("crates/qrie-store-dynamodb/src");
    let sources: String = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    ops.iter()
        .filter(|(call, _)| sources.contains(&format!(".{call}()")))
        .map(|(_, action)| format!("dynamodb:{action}"))
        .collect()
}

#[test]
fn qop_store_policy_grants_the_store_calls_and_docs_list_them() {
    let t = load("qrie-qop.yaml");
    let granted = actions(&t["Resources"]["StoreAccessPolicy"]["Properties"]["PolicyDocument"]["Statement"]);
    // Table management is the operator's (`qrie store init`), never a function's.
    let management: BTreeSet<String> =
        ["DescribeTable", "CreateTable", "UpdateTable", "DescribeTimeToLive", "UpdateTimeToLive"]
            .iter()
            .map(|a| format!("dynamodb:{a}"))
            .collect();
    let calls = dynamodb_calls_in_store_sources();
    assert!(calls.is_superset(&management), "the store's init calls moved: {calls:?}");
    let item_calls: BTreeSet<String> = calls.difference(&management).cloned().collect();
    assert_eq!(granted, item_calls, "the functions' store policy is exactly the store's item calls");

    // docs/deploy.md's permissions section names the same item actions and the init ones.
    let doc = std::fs::read_to_string(root().join("docs/deploy.md")).unwrap();
    let section = &doc[doc.find("### DynamoDB permissions").expect("the permissions section")..];
    let section = &section[..section[4..].find("\n### ").map_or(section.len(), |end| end + 4)];
    let named = |a: &str| section.contains(&format!("`{a}`")) || section.contains(&format!("`dynamodb:{a}`"));
    for action in calls.iter().map(|a| a.trim_start_matches("dynamodb:")) {
        assert!(named(action), "docs/deploy.md's DynamoDB permissions do not name {action}");
    }
}
