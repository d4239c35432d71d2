//! Decoding tests on recorded real EC2 responses (../shared/testdata/aws-responses,
//! botocore-parsed JSON). Each recording is written back as the XML EC2 sends,
//! using botocore's model of the EC2 API for the element names, answered to the
//! SDK by a canned HTTP client, and decoded by the collector's own conversions.
//! What comes out must be what the recording holds (same names, same values,
//! times in one format) and give every EC2 policy the same verdict.

use aws_sdk_ec2::config::{BehaviorVersion, Credentials, Region};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use qrie_model::{Resource, Service};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use super::convert;

const ACCOUNT: &str = "644160558196";

fn testdata() -> PathBuf {
    let dir = std::env::var_os("QRIE_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata"));
    assert!(dir.is_dir(), "test data not found at {} (set QRIE_TESTDATA to shared/testdata)", dir.display());
    dir.join("aws-responses/cloud-custodian-placebo")
}

/// botocore's EC2 model: `QRIE_BOTOCORE_DATA`, else the repository's .venv (scripts/setup-python).
fn model() -> &'static Value {
    static MODEL: OnceLock<Value> = OnceLock::new();
    MODEL.get_or_init(|| {
        let data = std::env::var_os("QRIE_BOTOCORE_DATA").map(PathBuf::from).unwrap_or_else(|| {
            let lib = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/lib");
            std::fs::read_dir(&lib)
                .ok()
                .and_then(|e| {
                    e.filter_map(Result::ok).map(|e| e.path().join("site-packages/botocore/data")).find(|p| p.is_dir())
                })
                .unwrap_or_else(|| panic!("botocore not found under {}: run scripts/setup-python", lib.display()))
        });
        let gz = std::fs::read(data.join("ec2/2016-11-15/service-2.json.gz")).expect("botocore's EC2 model");
        let mut text = String::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut text).expect("gzip");
        serde_json::from_str(&text).expect("model JSON")
    })
}

fn shape(name: &str) -> &'static Value {
    &model()["shapes"][name]
}

/// A recorded time in any of its encodings (placebo objects, ISO variants).
fn recorded_time(v: &Value) -> chrono::DateTime<chrono::Utc> {
    use chrono::TimeZone;
    if let Some(o) = v.as_object() {
        let n = |k: &str| o[k].as_u64().unwrap_or(0) as u32;
        return chrono::Utc
            .with_ymd_and_hms(
                o["year"].as_i64().unwrap_or(0) as i32,
                n("month"),
                n("day"),
                n("hour"),
                n("minute"),
                n("second"),
            )
            .single()
            .expect("a valid recorded time");
    }
    let s = v.as_str().unwrap_or_else(|| panic!("a time: {v}"));
    chrono::DateTime::parse_from_rfc3339(s)
        .or_else(|_| chrono::DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%:z"))
        .unwrap_or_else(|e| panic!("time {s}: {e}"))
        .with_timezone(&chrono::Utc)
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// `value` (of model shape `name`) as the XML EC2 sends.
fn xml(name: &str, value: &Value, out: &mut String) {
    let s = shape(name);
    match s["type"].as_str() {
        Some("structure") => {
            for (member, spec) in s["members"].as_object().expect("members") {
                let Some(v) = value.get(member).filter(|v| !v.is_null()) else { continue };
                let tag = spec["locationName"].as_str().unwrap_or(member);
                out.push_str(&format!("<{tag}>"));
                xml(spec["shape"].as_str().expect("member shape"), v, out);
                out.push_str(&format!("</{tag}>"));
            }
        }
        Some("list") => {
            let item = s["member"]["locationName"].as_str().unwrap_or("member");
            for v in value.as_array().unwrap_or_else(|| panic!("{name}: a list, got {value}")) {
                out.push_str(&format!("<{item}>"));
                xml(s["member"]["shape"].as_str().expect("item shape"), v, out);
                out.push_str(&format!("</{item}>"));
            }
        }
        Some("timestamp") => out.push_str(&recorded_time(value).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()),
        Some("string") => out.push_str(&escape(value.as_str().unwrap_or_else(|| panic!("{name}: {value}")))),
        _ => out.push_str(&value.to_string()),
    }
}

/// The recording with its times as the collector writes them.
fn normalized(name: &str, value: &Value) -> Value {
    let s = shape(name);
    match (s["type"].as_str(), value) {
        (Some("structure"), Value::Object(o)) => {
            let members = s["members"].as_object().expect("members");
            let map: Map<String, Value> = o
                .iter()
                .filter(|(k, _)| k.as_str() != "ResponseMetadata")
                .map(|(k, v)| match members.get(k) {
                    Some(spec) => (k.clone(), normalized(spec["shape"].as_str().expect("shape"), v)),
                    None => (k.clone(), v.clone()),
                })
                .collect();
            Value::Object(map)
        }
        (Some("list"), Value::Array(items)) => {
            Value::Array(items.iter().map(|v| normalized(s["member"]["shape"].as_str().expect("shape"), v)).collect())
        }
        (Some("timestamp"), v) => {
            let t = recorded_time(v);
            let t = aws_smithy_types::DateTime::from_secs_and_nanos(t.timestamp(), t.timestamp_subsec_nanos());
            crate::json::time(Some(&t)).expect("time")
        }
        _ => value.clone(),
    }
}

/// Answers every request with one canned response.
#[derive(Debug, Clone)]
struct Canned(u16, Arc<String>);

impl HttpConnector for Canned {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        let status = self.0.try_into().expect("status");
        HttpConnectorFuture::ready(Ok(HttpResponse::new(status, SdkBody::from(self.1.as_str().to_string()))))
    }
}

impl HttpClient for Canned {
    fn http_connector(&self, _: &HttpConnectorSettings, _: &RuntimeComponents) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

fn client(status: u16, body: String) -> aws_sdk_ec2::Client {
    let config = aws_sdk_ec2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("a", "b", None, None, "test"))
        .http_client(Canned(status, Arc::new(body)))
        .build();
    aws_sdk_ec2::Client::from_conf(config)
}

fn read(operation: &str, file: &str) -> Value {
    let path = testdata().join(format!("ec2.{operation}")).join(file);
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The recordings of one operation, as (file, HTTP status, data).
fn recordings(operation: &str) -> Vec<(String, u16, Value)> {
    let dir = testdata().join(format!("ec2.{operation}"));
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no recordings of {operation}");
    files
        .into_iter()
        .map(|f| {
            let r = read(operation, &f);
            (f, r["status_code"].as_u64().expect("status") as u16, r["data"].clone())
        })
        .collect()
}

/// A client whose every call answers the recording, written as EC2 writes it.
fn replaying(operation: &str, status: u16, data: &Value) -> aws_sdk_ec2::Client {
    let body = if status == 200 {
        let output = model()["operations"][operation]["output"]["shape"].as_str().expect("output shape");
        let mut members = String::new();
        xml(output, data, &mut members);
        format!(
            "<{operation}Response xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId>{members}</{operation}Response>"
        )
    } else {
        let (code, message) =
            (data["Error"]["Code"].as_str().expect("code"), data["Error"]["Message"].as_str().unwrap_or(""));
        format!(
            "<Response><Errors><Error><Code>{code}</Code><Message>{}</Message></Error></Errors><RequestID>r</RequestID></Response>",
            escape(message)
        )
    };
    client(status, body)
}

/// Whether `mine` says nothing `recorded` does not: every field of `mine` is in
/// the recording with the same value. Fields of the recording that `mine`
/// leaves out (other than nulls a hand edit put there) go to `left_out`.
fn covered(mine: &Value, recorded: &Value, path: &str, left_out: &mut BTreeSet<String>) -> Result<(), String> {
    match (mine, recorded) {
        (Value::Object(m), Value::Object(r)) => {
            for (k, v) in m {
                match r.get(k) {
                    Some(rv) => covered(v, rv, &format!("{path}.{k}"), left_out)?,
                    None => return Err(format!("{path}.{k} = {v} is not in the recording")),
                }
            }
            left_out.extend(
                r.iter().filter(|(k, v)| !v.is_null() && !m.contains_key(*k)).map(|(k, _)| format!("{path}.{k}")),
            );
            Ok(())
        }
        (Value::Array(m), Value::Array(r)) if m.len() == r.len() => {
            m.iter().zip(r).try_for_each(|(a, b)| covered(a, b, &format!("{path}[]"), left_out))
        }
        _ if mine == recorded => Ok(()),
        _ => Err(format!("{path}: decoded {mine}, recorded {recorded}")),
    }
}

/// Two resources of one type, from the decoded and the recorded item.
fn pair(resource_type: &str, key: &str, decoded: Value, recorded: Value, extra: &[(&str, Value)]) -> [Resource; 2] {
    [decoded, recorded].map(|item| {
        let mut config = Map::new();
        config.insert(key.to_string(), item);
        for (k, v) in extra {
            config.insert(k.to_string(), v.clone());
        }
        Resource::new(
            format!("arn:aws:ec2:us-east-1:{ACCOUNT}:x/y"),
            ACCOUNT,
            "us-east-1",
            Service::Ec2,
            resource_type,
            "x",
            BTreeMap::new(),
            Value::Object(config),
            BTreeMap::new(),
            chrono::Utc::now(),
        )
    })
}

/// Every EC2 policy for the type gives the decoded and the recorded item the same verdict.
fn same_verdicts(r: &[Resource; 2], file: &str) {
    for def in qrie_policies::for_resource_type(&r[0].resource_type) {
        let params = def.resolve_params(&Default::default()).expect("params");
        let related = std::collections::HashMap::new();
        let ctx = qrie_model::EvalContext { params: &params, now: chrono::Utc::now(), related: &related };
        let (a, b) = (def.run(&r[0], &ctx), def.run(&r[1], &ctx));
        assert_eq!(a.name(), b.name(), "{file}: {}: decoded {a:?}, recorded {b:?}", def.id);
    }
}

/// Runs `decode` over every recording of `operation` and checks each item it
/// yields against the recorded one at `list_key`. Returns the recorded fields
/// the conversion left out, for the caller to hold to a list.
fn check_items(
    operation: &str,
    items_of: impl Fn(&Value) -> Vec<Value>,
    decode: impl Fn(&aws_sdk_ec2::Client, &tokio::runtime::Runtime) -> Vec<Value>,
    item_shape: &str,
    resource: (&str, &str),
) -> BTreeSet<String> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mut left_out = BTreeSet::new();
    let mut seen = 0;
    for (file, status, data) in recordings(operation) {
        if status != 200 {
            continue;
        }
        let client = replaying(operation, status, &data);
        let decoded = decode(&client, &rt);
        let recorded: Vec<Value> = items_of(&data).iter().map(|i| normalized(item_shape, i)).collect();
        assert_eq!(decoded.len(), recorded.len(), "{file}");
        for (d, r) in decoded.into_iter().zip(recorded) {
            covered(&d, &r, resource.1, &mut left_out).unwrap_or_else(|e| panic!("{file}: {e}"));
            same_verdicts(&pair(resource.0, resource.1, d, r, &[]), &file);
            seen += 1;
        }
    }
    assert!(seen > 0, "no {operation} items decoded");
    left_out
}

/// Every field of the recordings is kept: the configuration is the full description.
fn assert_left_out(left_out: BTreeSet<String>) {
    assert!(left_out.is_empty(), "recorded fields the conversion drops: {left_out:?}");
}

#[test]
fn security_groups_decode_as_recorded() {
    let left_out = check_items(
        "DescribeSecurityGroups",
        |d| d["SecurityGroups"].as_array().cloned().unwrap_or_default(),
        |c, rt| {
            let out = rt.block_on(c.describe_security_groups().send()).expect("decoded");
            out.security_groups().iter().map(convert::security_group).collect()
        },
        "SecurityGroup",
        ("AWS::EC2::SecurityGroup", "SecurityGroup"),
    );
    assert_left_out(left_out);
}

#[test]
fn instances_decode_as_recorded() {
    let left_out = check_items(
        "DescribeInstances",
        |d| {
            let reservations = d["Reservations"].as_array().cloned().unwrap_or_default();
            reservations.iter().flat_map(|r| r["Instances"].as_array().cloned().unwrap_or_default()).collect()
        },
        |c, rt| {
            let out = rt.block_on(c.describe_instances().send()).expect("decoded");
            out.reservations().iter().flat_map(|r| r.instances()).map(convert::instance).collect()
        },
        "Instance",
        ("AWS::EC2::Instance", "Instance"),
    );
    assert_left_out(left_out);
}

#[test]
fn volumes_decode_as_recorded() {
    let left_out = check_items(
        "DescribeVolumes",
        |d| d["Volumes"].as_array().cloned().unwrap_or_default(),
        |c, rt| {
            let out = rt.block_on(c.describe_volumes().send()).expect("decoded");
            out.volumes().iter().map(convert::volume).collect()
        },
        "Volume",
        ("AWS::EC2::Volume", "Volume"),
    );
    assert_left_out(left_out);
}

#[test]
fn snapshots_decode_as_recorded() {
    let left_out = check_items(
        "DescribeSnapshots",
        |d| d["Snapshots"].as_array().cloned().unwrap_or_default(),
        |c, rt| {
            let out = rt.block_on(c.describe_snapshots().send()).expect("decoded");
            out.snapshots().iter().map(convert::snapshot).collect()
        },
        "Snapshot",
        ("AWS::EC2::Snapshot", "Snapshot"),
    );
    assert_left_out(left_out);
}

#[test]
fn images_decode_as_recorded() {
    let left_out = check_items(
        "DescribeImages",
        |d| d["Images"].as_array().cloned().unwrap_or_default(),
        |c, rt| {
            let out = rt.block_on(c.describe_images().send()).expect("decoded");
            out.images().iter().map(convert::image).collect()
        },
        "Image",
        ("AWS::EC2::Image", "Image"),
    );
    assert_left_out(left_out);
}

/// Permissions, user data and EBS encryption by default: the recorded answer,
/// decoded, is the value stored under the resource's key.
#[test]
fn attributes_and_settings_decode_as_recorded() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mut seen = 0;
    for (file, _, data) in recordings("DescribeSnapshotAttribute") {
        let c = replaying("DescribeSnapshotAttribute", 200, &data);
        let out = rt.block_on(
            c.describe_snapshot_attribute().snapshot_id("snap-1").attribute("createVolumePermission".into()).send(),
        );
        let decoded: Vec<Value> =
            out.expect("decoded").create_volume_permissions().iter().map(convert::create_volume_permission).collect();
        let recorded = data["CreateVolumePermissions"].as_array().cloned().unwrap_or_default();
        assert_eq!(Value::Array(decoded), Value::Array(recorded), "{file}");
        seen += 1;
    }
    for (file, _, data) in recordings("DescribeImageAttribute") {
        let c = replaying("DescribeImageAttribute", 200, &data);
        let out =
            rt.block_on(c.describe_image_attribute().image_id("ami-1").attribute("launchPermission".into()).send());
        let decoded: Vec<Value> =
            out.expect("decoded").launch_permissions().iter().map(convert::launch_permission).collect();
        let recorded = data["LaunchPermissions"].as_array().cloned().unwrap_or_default();
        assert_eq!(Value::Array(decoded), Value::Array(recorded), "{file}");
        seen += 1;
    }
    let mut user_data = 0;
    for (file, _, data) in recordings("DescribeInstanceAttribute") {
        let c = replaying("DescribeInstanceAttribute", 200, &data);
        let out = rt.block_on(c.describe_instance_attribute().instance_id("i-1").attribute("userData".into()).send());
        let decoded = out.expect("decoded").user_data().and_then(|u| u.value()).map(str::to_string);
        let recorded = data["UserData"]["Value"].as_str().map(str::to_string);
        assert_eq!(decoded, recorded, "{file}");
        user_data += usize::from(recorded.is_some());
    }
    assert!(user_data > 0, "some recording carries user data");
    for (file, _, data) in recordings("GetEbsEncryptionByDefault") {
        let c = replaying("GetEbsEncryptionByDefault", 200, &data);
        let out = rt.block_on(c.get_ebs_encryption_by_default().send()).expect("decoded");
        assert_eq!(out.ebs_encryption_by_default(), data["EbsEncryptionByDefault"].as_bool(), "{file}");
        seen += 1;
    }
    assert!(seen > 10);
}

/// Recorded not-found answers decode to the codes the collector reads as "gone".
#[test]
fn recorded_not_found_errors_mean_gone() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let mut seen = 0;
    for operation in ["DescribeSecurityGroups", "DescribeVolumes", "DescribeSnapshots"] {
        for (file, status, data) in recordings(operation) {
            if status == 200 {
                continue;
            }
            let c = replaying(operation, status, &data);
            let gone = match operation {
                "DescribeSecurityGroups" => super::pages(
                    rt.block_on(c.describe_security_groups().group_ids("sg-1").send()).map(|o| vec![o]),
                    &["InvalidGroup.NotFound"],
                )
                .map(|p| p.is_none()),
                "DescribeVolumes" => super::pages(
                    rt.block_on(c.describe_volumes().volume_ids("vol-1").send()).map(|o| vec![o]),
                    &["InvalidVolume.NotFound"],
                )
                .map(|p| p.is_none()),
                _ => super::pages(
                    rt.block_on(c.describe_snapshots().snapshot_ids("snap-1").send()).map(|o| vec![o]),
                    super::SNAPSHOT_GONE,
                )
                .map(|p| p.is_none()),
            };
            assert_eq!(gone.ok(), Some(true), "{operation}/{file}");
            seen += 1;
        }
    }
    assert_eq!(seen, 5, "the recorded not-found answers");
}
