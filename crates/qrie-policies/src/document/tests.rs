//! Golden cases for policy documents: hand-made tricky ones, then every
//! recorded bucket policy and IAM document.

use super::AccessLevel::*;
use super::*;
use crate::testing::{recorded, recorded_files, testdata_dir};
use serde_json::json;

const OWN: &str = "123456789012";

fn doc(statements: Value) -> PolicyDocument {
    PolicyDocument::parse(&json!({"Version": "2012-10-17", "Statement": statements}), "Policy").unwrap()
}

fn allow_all(principal: Value, action: Value, condition: Option<Value>) -> Value {
    let mut s = json!({"Effect": "Allow", "Principal": principal, "Action": action, "Resource": "arn:aws:s3:::b/*"});
    if let Some(c) = condition {
        s["Condition"] = c;
    }
    s
}

/// The access levels of the public grants, statement by statement.
fn public(statements: Value) -> Vec<(usize, Vec<AccessLevel>)> {
    doc(statements).public_grants("s3").into_iter().map(|m| (m.index, m.access)).collect()
}

#[test]
fn principals_in_all_their_forms() {
    let cases = [
        (json!("*"), vec![Principal::Anyone]),
        (json!({"AWS": "*"}), vec![Principal::Anyone]),
        (json!({"AWS": ["*"]}), vec![Principal::Anyone]),
        (json!({"AWS": "111122223333"}), vec![Principal::Account("111122223333".into())]),
        (json!({"AWS": "arn:aws:iam::111122223333:root"}), vec![Principal::Account("111122223333".into())]),
        (
            json!({"AWS": ["arn:aws:iam::111122223333:role/r", "arn:aws:sts::444455556666:assumed-role/r/s"]}),
            vec![
                Principal::Arn { arn: "arn:aws:iam::111122223333:role/r".into(), account: "111122223333".into() },
                Principal::Arn {
                    arn: "arn:aws:sts::444455556666:assumed-role/r/s".into(),
                    account: "444455556666".into(),
                },
            ],
        ),
        (json!({"Service": ["cloudtrail.amazonaws.com"]}), vec![Principal::Service("cloudtrail.amazonaws.com".into())]),
        (
            json!({"Federated": "cognito-identity.amazonaws.com"}),
            vec![Principal::Federated("cognito-identity.amazonaws.com".into())],
        ),
        (json!({"CanonicalUser": "79a5"}), vec![Principal::CanonicalUser("79a5".into())]),
        (json!({"AWS": "AIDAEXAMPLEUNIQUEID"}), vec![Principal::Other("AIDAEXAMPLEUNIQUEID".into())]),
        (json!("arn:aws:iam::111122223333:root"), vec![Principal::Account("111122223333".into())]),
    ];
    for (principal, want) in cases {
        let d = doc(json!([{"Effect": "Allow", "Principal": principal, "Action": "s3:GetObject", "Resource": "*"}]));
        assert_eq!(d.statements[0].principals.as_ref().unwrap(), &want, "{principal}");
    }
    // Identity-policy statements have no principal.
    let d = doc(json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}]));
    assert_eq!(d.statements[0].principals, None);
    assert!(!d.statements[0].applies_to_anyone());
}

#[test]
fn statement_forms_and_paths() {
    // A single Statement object.
    let d = PolicyDocument::parse(
        &json!({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}}),
        "Policy",
    )
    .unwrap();
    assert_eq!(d.statements.len(), 1);
    assert_eq!(d.statements[0].path, "Policy.Statement");
    let m = &d.public_grants("s3")[0];
    assert_eq!(m.path, "Policy.Statement");
    assert_eq!(m.evidence()["Reason"], "Principal * with no condition");
    assert_eq!(m.evidence()["Access"], json!(["read"]));
    // Paths in a list, and the statement itself in the evidence.
    let d = doc(json!([
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "s3:*", "Resource": "*"},
        {"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"},
    ]));
    let m = &d.public_grants("s3")[0];
    assert_eq!((m.index, m.path.as_str()), (1, "Policy.Statement[1]"));
    assert_eq!(m.evidence()["Statement"]["Sid"], "Public");
    assert_eq!(d.statements[1].sid.as_deref(), Some("Public"));
    // No statements at all.
    assert!(PolicyDocument::parse(&json!({"Version": "2012-10-17"}), "P").unwrap().statements.is_empty());
    assert_eq!(PolicyDocument::parse_optional(&Value::Null, "Policy"), Ok(None));
}

#[test]
fn documents_as_strings_and_url_encoded_strings() {
    let text = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}]}"#;
    let from_text = PolicyDocument::parse(&json!(text), "Policy").unwrap();
    let encoded: String = text
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    assert!(encoded.starts_with("%7B%22Version%22"));
    let from_encoded = PolicyDocument::parse(&json!(encoded), "Policy").unwrap();
    assert_eq!(from_text, from_encoded);
    assert_eq!(from_text.public_grants("s3").len(), 1);
    // IAM's own encoding leaves some characters alone.
    let iam = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22*%22%2C%22Resource%22%3A%22*%22%7D%5D%7D";
    assert_eq!(PolicyDocument::parse(&json!(iam), "P").unwrap().grants_all().len(), 1);
    assert_eq!(percent_decode("a%20b+c"), Ok("a b+c".to_string()));
    assert!(percent_decode("%zz").is_err());
    assert!(percent_decode("%2").is_err());
}

#[test]
fn malformed_documents_are_errors_not_empty_policies() {
    for (bad, why) in [
        (json!("not json"), "not a JSON document"),
        (json!(["x"]), "not a policy document"),
        (json!({"Statement": "x"}), "unexpected shape"),
        (json!({"Statement": [{"Effect": "Maybe", "Action": "*"}]}), "Effect"),
        (json!({"Statement": [{"Effect": "Allow", "Resource": "*"}]}), "neither Action nor NotAction"),
        (json!({"Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "s3:*"}]}), "both Action and NotAction"),
        (json!({"Statement": [{"Effect": "Allow", "Action": [1], "Resource": "*"}]}), "not a list of strings"),
        (json!({"Statement": [{"Effect": "Allow", "Principal": {"Alien": "x"}, "Action": "*"}]}), "unknown principal"),
        (json!({"Statement": [{"Effect": "Allow", "Principal": 7, "Action": "*"}]}), "unexpected shape"),
        (json!({"Statement": [{"Effect": "Allow", "Action": "*", "Condition": {"Bool": 1}}]}), "not an object"),
    ] {
        let e = PolicyDocument::parse(&bad, "Policy").unwrap_err();
        assert!(e.0.contains(why), "{bad}: {e}");
        let m: MissingData = e.into();
        assert!(m.0.starts_with("policy document not understood"));
    }
}

#[test]
fn public_grants_table() {
    let get = json!("s3:GetObject");
    let vpce = json!({"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}});
    type Expected = Vec<(usize, Vec<AccessLevel>)>;
    let cases: Vec<(&str, Value, Expected)> = vec![
        ("Principal *", json!([allow_all(json!("*"), get.clone(), None)]), vec![(0, vec![Read])]),
        ("AWS *", json!([allow_all(json!({"AWS": "*"}), get.clone(), None)]), vec![(0, vec![Read])]),
        ("an account is not anyone", json!([allow_all(json!({"AWS": "111122223333"}), get.clone(), None)]), vec![]),
        (
            "a service is not anyone",
            json!([allow_all(json!({"Service": "logging.s3.amazonaws.com"}), json!("s3:PutObject"), None)]),
            vec![],
        ),
        ("s3:Get* is read, not write", json!([allow_all(json!("*"), json!("s3:Get*"), None)]), vec![(0, vec![Read])]),
        (
            "s3:* is everything",
            json!([allow_all(json!("*"), json!("s3:*"), None)]),
            vec![(0, AccessLevel::ALL.to_vec())],
        ),
        ("* is everything", json!([allow_all(json!("*"), json!("*"), None)]), vec![(0, AccessLevel::ALL.to_vec())]),
        ("PutObject is write", json!([allow_all(json!("*"), json!(["s3:PutObject"]), None)]), vec![(0, vec![Write])]),
        ("other services do not count", json!([allow_all(json!("*"), json!("sqs:*"), None)]), vec![]),
        (
            "NotAction grants everything else",
            json!([{"Effect": "Allow", "Principal": "*", "NotAction": "s3:DeleteBucket", "Resource": "*"}]),
            vec![(0, AccessLevel::ALL.to_vec())],
        ),
        (
            "NotAction s3:* grants nothing in S3",
            json!([{"Effect": "Allow", "Principal": "*", "NotAction": "s3:*", "Resource": "*"}]),
            vec![],
        ),
        (
            "NotPrincipal in an Allow is everyone else",
            json!([{"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:GetObject", "Resource": "*"}]),
            vec![(0, vec![Read])],
        ),
        ("SourceVpce restricts", json!([allow_all(json!("*"), get.clone(), Some(vpce.clone()))]), vec![]),
        (
            "PrincipalOrgID restricts",
            json!([allow_all(
                json!({"AWS": "*"}),
                json!("s3:*"),
                Some(json!({"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}))
            )]),
            vec![],
        ),
        (
            "private SourceIp restricts",
            json!([allow_all(
                json!("*"),
                get.clone(),
                Some(json!({"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "192.168.0.0/16"]}}))
            )]),
            vec![],
        ),
        (
            "0.0.0.0/0 does not",
            json!([allow_all(json!("*"), get.clone(), Some(json!({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}})))]),
            vec![(0, vec![Read])],
        ),
        (
            "IfExists does not",
            json!([allow_all(
                json!("*"),
                get.clone(),
                Some(json!({"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}}))
            )]),
            vec![(0, vec![Read])],
        ),
        (
            "StringNotEquals does not",
            json!([allow_all(json!("*"), get.clone(), Some(json!({"StringNotEquals": {"aws:SourceVpce": "vpce-1"}})))]),
            vec![(0, vec![Read])],
        ),
        (
            "Referer does not",
            json!([allow_all(
                json!("*"),
                get.clone(),
                Some(json!({"StringLike": {"aws:Referer": "https://example.com/*"}}))
            )]),
            vec![(0, vec![Read])],
        ),
        (
            "one restricting condition among others restricts",
            json!([allow_all(
                json!("*"),
                get.clone(),
                Some(json!({"Bool": {"aws:SecureTransport": "true"}, "StringEquals": {"aws:SourceVpce": "vpce-1"}}))
            )]),
            vec![],
        ),
        (
            "an unconditional Deny of the same actions overrides",
            json!([allow_all(json!("*"), get.clone(), None), {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}]),
            vec![],
        ),
        (
            "a Deny of writes leaves the reads",
            json!([allow_all(json!("*"), json!(["s3:GetObject", "s3:PutObject"]), None), {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:Put*", "Resource": "*"}]),
            vec![(0, vec![Read])],
        ),
        (
            "a Deny on other resources does not override",
            json!([allow_all(json!("*"), get.clone(), None), {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/private/*"}]),
            vec![(0, vec![Read])],
        ),
        (
            "a Deny for one account does not override",
            json!([allow_all(json!("*"), get.clone(), None), {"Effect": "Deny", "Principal": {"AWS": "111122223333"}, "Action": "s3:*", "Resource": "*"}]),
            vec![(0, vec![Read])],
        ),
        (
            "a conditional Deny (insecure transport) does not override",
            json!([allow_all(json!("*"), get.clone(), None), {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]),
            vec![(0, vec![Read])],
        ),
        (
            "a Deny outside a VPC endpoint restricts",
            json!([allow_all(json!("*"), get.clone(), None), {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}]),
            vec![],
        ),
        (
            "a Deny grants nothing",
            json!([{"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}]),
            vec![],
        ),
    ];
    for (name, statements, want) in cases {
        assert_eq!(public(statements), want, "{name}");
    }
}

#[test]
fn reasons_name_the_principal_form() {
    let d = doc(json!([
        allow_all(json!("*"), json!("s3:GetObject"), Some(json!({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}))),
        {"Effect": "Allow", "NotPrincipal": {"AWS": "111122223333"}, "Action": "s3:GetObject", "Resource": "*"},
    ]));
    let reasons: Vec<String> = d.public_grants("s3").into_iter().map(|m| m.reason).collect();
    assert_eq!(
        reasons,
        [
            "Principal * with no condition that limits the caller to known parties",
            "NotPrincipal (everyone except the listed principals) with no condition",
        ]
    );
}

#[test]
fn grants_with_wildcards_not_action_and_deny() {
    let d = doc(json!([
        {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "arn:aws:s3:::b/*"},
        {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:GetObjectAcl", "Resource": "*"},
    ]));
    let idx = |ms: Vec<Match>| ms.into_iter().map(|m| m.index).collect::<Vec<_>>();
    assert_eq!(idx(d.grants("s3:GetObject", Some("arn:aws:s3:::b/k"))), [0, 1]);
    assert_eq!(idx(d.grants("s3:getobject", Some("arn:aws:s3:::other/k"))), [1]);
    assert_eq!(idx(d.grants("s3:PutObject", None)), [1]);
    assert_eq!(idx(d.grants("iam:CreateUser", None)), Vec::<usize>::new());
    // Taken back by the Deny, for everyone holding this policy.
    assert_eq!(idx(d.grants("s3:GetObjectAcl", None)), Vec::<usize>::new());
    // A pattern query: any s3 write.
    assert_eq!(idx(d.grants("s3:Put*", None)), [1]);
    let m = &d.grants("s3:GetObject", None)[0];
    assert_eq!((m.reason.as_str(), m.access.as_slice()), ("Action grants s3:GetObject", &[Read][..]));
    assert_eq!(d.grants("s3:GetObject", None)[1].reason, "NotAction grants s3:GetObject");
}

#[test]
fn grants_all_is_star_on_star() {
    let cases = [
        (json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}]), 1),
        (json!([{"Effect": "Allow", "Action": ["s3:*", "*"], "Resource": ["*"]}]), 1),
        (json!([{"Effect": "Allow", "Action": "*:*", "Resource": "*"}]), 1),
        (json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]), 0),
        (json!([{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b"}]), 0),
        (json!([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]), 0),
        (
            json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": "*", "Resource": "*"}]),
            0,
        ),
        (
            json!([{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}]),
            1,
        ),
    ];
    for (statements, n) in cases {
        assert_eq!(doc(statements.clone()).grants_all().len(), n, "{statements}");
    }
}

#[test]
fn cross_account_principals_table() {
    let accounts = |statements: Value| -> Vec<(String, String)> {
        doc(statements).cross_account_principals(OWN).into_iter().map(|c| (c.account, c.via)).collect()
    };
    let get = json!("s3:GetObject");
    assert_eq!(
        accounts(json!([allow_all(
            json!({"AWS": ["arn:aws:iam::123456789012:root", "arn:aws:iam::111122223333:role/r", "444455556666"]}),
            get.clone(),
            None
        )])),
        [
            ("111122223333".to_string(), "AWS:arn:aws:iam::111122223333:role/r".to_string()),
            ("444455556666".to_string(), "AWS:444455556666".to_string()),
        ]
    );
    // Anyone restricted to a foreign account by condition.
    assert_eq!(
        accounts(json!([allow_all(
            json!("*"),
            get.clone(),
            Some(json!({"StringEquals": {"aws:PrincipalAccount": "111122223333"}}))
        )])),
        [(
            "111122223333".to_string(),
            r#"Policy.Statement[0].Condition.StringEquals["aws:PrincipalAccount"]"#.to_string()
        )]
    );
    // Own account, services, anyone without a condition, Deny statements: none.
    assert!(accounts(json!([allow_all(json!({"AWS": OWN}), get.clone(), None)])).is_empty());
    assert!(accounts(json!([allow_all(json!({"Service": "cloudtrail.amazonaws.com"}), get.clone(), None)])).is_empty());
    assert!(accounts(json!([allow_all(json!("*"), get.clone(), None)])).is_empty());
    assert!(accounts(
        json!([{"Effect": "Deny", "Principal": {"AWS": "111122223333"}, "Action": "*", "Resource": "*"}])
    )
    .is_empty());
    let c = &doc(json!([allow_all(json!({"AWS": "111122223333"}), json!("s3:Get*"), None)]))
        .cross_account_principals(OWN)[0];
    assert_eq!(c.grant.access, [Read]);
    assert_eq!(c.grant.reason, "Principal AWS:111122223333 is in account 111122223333");
}

#[test]
fn trust_policy_questions() {
    // What the IAM policies ask of a role's AssumeRolePolicyDocument.
    let d = doc(json!([
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "sts:AssumeRole",
         "Condition": {"StringEquals": {"sts:ExternalId": "abc"}}},
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"},
    ]));
    assert_eq!(d.public_grants("sts").iter().map(|m| m.index).collect::<Vec<_>>(), [1]);
    let cross = d.cross_account_principals(OWN);
    assert_eq!(cross.len(), 1);
    let s = &d.statements[cross[0].grant.index];
    assert_eq!(s.conditions_on("STS:EXTERNALID").count(), 1);
    assert_eq!(s.conditions_on("aws:MultiFactorAuthPresent").count(), 0);
    assert_eq!(d.grants("sts:AssumeRole", None).len(), 2);
}

fn recorded_bucket_policies() -> Vec<(String, PolicyDocument)> {
    recorded_files("s3.GetBucketPolicy")
        .into_iter()
        .map(|f| {
            let data = recorded("s3.GetBucketPolicy", &f);
            let d = PolicyDocument::parse(&data["Policy"], "Policy").unwrap_or_else(|e| panic!("{f}: {e}"));
            (f, d)
        })
        .collect()
}

#[test]
fn recorded_bucket_policies_parse_and_are_judged() {
    let docs = recorded_bucket_policies();
    assert_eq!(docs.len(), 20);
    let mut public: Vec<(&str, Vec<AccessLevel>)> = Vec::new();
    let mut cross: Vec<(&str, String)> = Vec::new();
    for (file, d) in &docs {
        assert!(!d.statements.is_empty(), "{file}");
        for m in d.public_grants("s3") {
            public.push((file.as_str(), m.access));
        }
        for c in d.cross_account_principals("619193117841") {
            cross.push((file.as_str(), c.account));
        }
    }
    assert_eq!(
        public,
        [
            // `StringEquals s3:DataAccessPointAccount 644160558196` limits both
            // dataaccesspointaccount policies to access points of one account, and
            // every `Principal *` Deny grants nothing. What remains: an Allow of
            // PutObject to anyone whose only condition is on the encryption header.
            ("test_s3_no_encryption_statement__s3.GetBucketPolicy_3.json", vec![Write]),
        ]
    );
    // The CloudTrail buckets name two other accounts (each in two statements);
    // the access-point policies name their access points' accounts.
    let named: std::collections::BTreeSet<(&str, &str)> = cross.iter().map(|(f, a)| (*f, a.as_str())).collect();
    let trail = ["086441151436", "113285607260"];
    let expected: std::collections::BTreeSet<(&str, &str)> = [
        "test_s3_encrypt_policy__s3.GetBucketPolicy_3.json",
        "test_s3_has_statement__s3.GetBucketPolicy_4.json",
        "test_s3_missing_policy__s3.GetBucketPolicy_4.json",
        "test_s3_remove_empty_policy__s3.GetBucketPolicy_4.json",
        "test_s3_remove_policy__s3.GetBucketPolicy_4.json",
    ]
    .into_iter()
    .flat_map(|f| trail.map(|a| (f, a)))
    .chain([
        ("test_s3_dataaccesspointaccount_cross_account__s3.GetBucketPolicy_1.json", "644160558196"),
        ("test_s3_dataaccesspointaccount_cross_account__s3.GetBucketPolicy_2.json", "111111111111"),
    ])
    .collect();
    assert_eq!(named, expected);
    assert_eq!(cross.len(), 22);
    // The dataaccesspointaccount policy names a foreign account through its condition.
    let (_, d) =
        docs.iter().find(|(f, _)| f.contains("dataaccesspointaccount_cross_account__s3.GetBucketPolicy_2")).unwrap();
    let c = d.cross_account_principals("644160558196");
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].account, "111111111111");
    assert_eq!(c[0].via, r#"Policy.Statement[0].Condition.StringEquals["s3:DataAccessPointAccount"]"#);
}

fn authorization_details() -> Value {
    let path =
        testdata_dir().join("aws-responses/iam-GetAccountAuthorizationDetails/cloudsplaining_example_996ef75a.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

#[test]
fn recorded_iam_documents_parse_and_are_judged() {
    let details = authorization_details();
    let mut all_star = Vec::new();
    let mut parsed = 0;
    for p in details["Policies"].as_array().unwrap() {
        for (i, v) in p["PolicyVersionList"].as_array().unwrap().iter().enumerate() {
            let path = format!("PolicyVersionList[{i}].Document");
            let d = PolicyDocument::parse(&v["Document"], &path).unwrap_or_else(|e| panic!("{}: {e}", p["PolicyName"]));
            parsed += 1;
            if v["IsDefaultVersion"] == true && !d.grants_all().is_empty() {
                all_star.push(p["PolicyName"].as_str().unwrap());
            }
        }
    }
    all_star.sort();
    // `deny-all` denies `*`; `fn4-exploitableNotAction` allows everything but a few iam verbs.
    assert_eq!(
        all_star,
        [
            "AdministratorAccess",
            "fp2-allow-all",
            "privesc-AssumeRole-high-priv-policy",
            "privesc-high-priv-service-policy"
        ]
    );
    for (list, inline) in [
        ("UserDetailList", "UserPolicyList"),
        ("GroupDetailList", "GroupPolicyList"),
        ("RoleDetailList", "RolePolicyList"),
    ] {
        for e in details[list].as_array().unwrap() {
            for p in e[inline].as_array().into_iter().flatten() {
                PolicyDocument::parse(&p["PolicyDocument"], "PolicyDocument").unwrap();
                parsed += 1;
            }
        }
    }
    // Trust policies: no role is open to anyone; two trust the management account.
    let mut foreign = Vec::new();
    for r in details["RoleDetailList"].as_array().unwrap() {
        let d = PolicyDocument::parse(&r["AssumeRolePolicyDocument"], "Role.AssumeRolePolicyDocument").unwrap();
        parsed += 1;
        assert!(d.public_grants("sts").is_empty(), "{}", r["RoleName"]);
        for c in d.cross_account_principals("200611803367") {
            foreign.push((r["RoleName"].as_str().unwrap(), c.account));
        }
    }
    assert_eq!(
        foreign,
        [
            ("OrganizationAccountAccessRole", "072528804237".to_string()),
            ("stacksets-exec-b5520cb2730c2f54b523d6375a319abb", "072528804237".to_string()),
        ]
    );
    assert!(parsed > 150, "{parsed}");
    // The NotAction policy grants iam:PassRole but not iam:CreateUser.
    let not_action =
        details["Policies"].as_array().unwrap().iter().find(|p| p["PolicyName"] == "fn4-exploitableNotAction").unwrap();
    let d = PolicyDocument::parse(&not_action["PolicyVersionList"][0]["Document"], "Document").unwrap();
    assert_eq!(d.grants("iam:PassRole", None).len(), 1);
    assert!(d.grants("iam:CreateUser", None).is_empty());
    assert!(d.grants("iam:UpdateAssumeRolePolicy", None).is_empty());
}

#[test]
fn handwritten_authorization_details_parse() {
    let path = testdata_dir().join(
        "aws-responses/iam-GetAccountAuthorizationDetails/cloudsplaining_test_example-authz-details_HANDWRITTEN.json",
    );
    let details: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for p in details["Policies"].as_array().unwrap() {
        for v in p["PolicyVersionList"].as_array().unwrap() {
            PolicyDocument::parse(&v["Document"], "Document").unwrap_or_else(|e| panic!("{}: {e}", p["PolicyName"]));
        }
    }
}
