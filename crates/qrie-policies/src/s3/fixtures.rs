//! Test fixtures shared by the S3 policies' golden tests.

use crate::testing::{account_bpa, bucket, now, run_with};
use qrie_model::{PolicyDef, Resource, Verdict};
use serde_json::{json, Value};

pub const OTHER_ACCOUNT: &str = "111122223333";

/// A bucket policy document with these statements.
pub fn policy(statements: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// One Allow statement on the bucket's objects.
pub fn allow(principal: Value, action: Value) -> Value {
    json!({"Effect": "Allow", "Principal": principal, "Action": action, "Resource": "arn:aws:s3:::b/*"})
}

/// The same statement with a `Condition`.
pub fn with_condition(mut statement: Value, condition: Value) -> Value {
    statement["Condition"] = condition;
    statement
}

/// A bucket named `b` whose policy has these statements, with these bucket-level BPA settings.
pub fn bucket_with_policy(statements: Value, bucket_bpa: Value) -> Resource {
    bucket("b", json!({"Policy": policy(statements), "PublicAccessBlock": bucket_bpa}))
}

/// Runs `def` on `r` with the account's BPA settings (`None`: not in the inventory).
pub fn verdict(def: &PolicyDef, r: &Resource, account: Option<Value>) -> Verdict {
    let related: Vec<Resource> = account.map(account_bpa).into_iter().collect();
    run_with(def, r, &related, json!({}), now())
}

/// Asserts each case's verdict name: (name, resource, account BPA, expected).
pub fn check(def: &PolicyDef, cases: Vec<(&str, Resource, Option<Value>, &str)>) {
    for (name, r, account, expected) in cases {
        let v = verdict(def, &r, account);
        assert_eq!(v.name(), expected, "{}: {name}: {v:?}", def.id);
    }
}
