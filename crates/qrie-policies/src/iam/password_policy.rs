//! The account password policy, one requirement per policy.
//!
//! Each requirement (length, reuse, complexity, expiry) is its own policy, so
//! that each maps to its own compliance controls, can be launched or tuned
//! alone, and a finding says which requirement is unmet. They share this
//! evaluator: read `PasswordPolicy`, treat "no policy" (GetAccountPasswordPolicy's
//! NoSuchEntity, stored as `null`) as failing every requirement, and report the
//! unmet settings with their paths.

use qrie_model::{EvalContext, MissingData, Params, Resource, Verdict};
use serde_json::{json, Value};

use crate::config::required;

/// One unmet setting: its path, what it is, and what the requirement wants.
pub(crate) struct Shortfall {
    pub key: &'static str,
    pub actual: Value,
    pub required: Value,
}

/// A requirement: the unmet settings of a password policy (none: met).
pub(crate) type Check = fn(&Value, &Params) -> Result<Vec<Shortfall>, MissingData>;

/// Without a password policy IAM applies its defaults: at least 8 characters
/// with three character classes, no reuse prevention and no expiry, which meets
/// none of the requirements.
pub(crate) fn evaluate(r: &Resource, ctx: &EvalContext, check: Check) -> Result<Verdict, MissingData> {
    let policy = r.field("PasswordPolicy")?;
    if policy.is_null() {
        return Ok(Verdict::Fail(json!({"Path": "PasswordPolicy", "Value": null,
            "Reason": "the account has no password policy (NoSuchEntity); IAM's default applies"})));
    }
    if !policy.is_object() {
        return Err(MissingData(format!("PasswordPolicy has an unexpected shape: {policy}")));
    }
    let unmet = check(policy, ctx.params)?;
    if unmet.is_empty() {
        return Ok(Verdict::Pass);
    }
    let unmet: Vec<Value> = unmet
        .into_iter()
        .map(|s| json!({"Path": format!("PasswordPolicy.{}", s.key), "Value": s.actual, "Required": s.required}))
        .collect();
    Ok(Verdict::Fail(json!({"Unmet": unmet})))
}

/// A non-negative integer parameter.
pub(crate) fn limit(params: &Params, name: &str) -> Result<i64, MissingData> {
    let v = params.int(name)?;
    if v < 0 {
        return Err(MissingData(format!("parameter {name} must not be negative, got {v}")));
    }
    Ok(v)
}

/// A setting IAM always returns.
pub(crate) fn setting<'a, T>(
    policy: &'a Value,
    key: &str,
    as_type: fn(&'a Value) -> Option<T>,
) -> Result<T, MissingData> {
    required(policy, "PasswordPolicy", key, as_type)
}

/// A setting IAM omits when it is off (PasswordReusePrevention, MaxPasswordAge):
/// absent is "not set", a value of the wrong type is unreadable.
pub(crate) fn optional_int(policy: &Value, key: &str) -> Result<Option<i64>, MissingData> {
    match policy.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| MissingData(format!("PasswordPolicy.{key} has an unexpected shape: {v}"))),
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use qrie_model::ids::pseudo_arn;
    use qrie_model::Resource;
    use serde_json::{json, Value};

    use crate::testing::{recorded, resource, ACCOUNT};

    /// A password policy meeting every default requirement; `overrides` replaces
    /// settings (`null` removes one, as IAM omits unset settings).
    pub fn strong(overrides: Value) -> Value {
        let mut p = json!({"MinimumPasswordLength": 14, "RequireSymbols": true, "RequireNumbers": true,
            "RequireUppercaseCharacters": true, "RequireLowercaseCharacters": true,
            "AllowUsersToChangePassword": true, "ExpirePasswords": true, "MaxPasswordAge": 90,
            "PasswordReusePrevention": 24, "HardExpiry": false});
        for (k, v) in overrides.as_object().expect("overrides are an object") {
            if v.is_null() {
                p.as_object_mut().unwrap().remove(k);
            } else {
                p[k] = v.clone();
            }
        }
        p
    }

    pub fn account(policy: Value) -> Resource {
        resource(
            "AWS::IAM::AccountPasswordPolicy",
            &pseudo_arn::iam_password_policy(ACCOUNT),
            "account-password-policy",
            json!({"PasswordPolicy": policy}),
        )
    }

    /// The recorded GetAccountPasswordPolicy responses, as stored: the three
    /// policies (lengths 10, 12, 12 with symbols and numbers) and the account
    /// without one (404 NoSuchEntity → null).
    pub fn recorded_accounts() -> Vec<(&'static str, Resource)> {
        let op = "iam.GetAccountPasswordPolicy";
        let mut out: Vec<(&'static str, Resource)> = [
            "test_account_password_policy_update__iam.GetAccountPasswordPolicy_1.json",
            "test_account_password_policy_update__iam.GetAccountPasswordPolicy_3.json",
            "test_account_password_policy_update_first_time__iam.GetAccountPasswordPolicy_2.json",
        ]
        .into_iter()
        .map(|f| (f, account(recorded(op, f)["PasswordPolicy"].clone())))
        .collect();
        out.push(("test_account_missing_password_policy (NoSuchEntity)", account(Value::Null)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;
    use crate::testing::*;

    fn min_length_10(p: &Value, _: &Params) -> Result<Vec<Shortfall>, MissingData> {
        let n = setting(p, "MinimumPasswordLength", Value::as_i64)?;
        Ok(if n < 10 {
            vec![Shortfall { key: "MinimumPasswordLength", actual: json!(n), required: json!(10) }]
        } else {
            vec![]
        })
    }

    fn eval(r: &Resource) -> Verdict {
        let params = Params::default();
        let ctx = EvalContext { params: &params, now: now(), related: &qrie_model::NoRelated };
        evaluate(r, &ctx, min_length_10).unwrap_or_else(Verdict::from)
    }

    #[test]
    fn the_shared_evaluator() {
        assert_eq!(eval(&account(strong(json!({})))), Verdict::Pass);
        assert_eq!(
            evidence(eval(&account(strong(json!({"MinimumPasswordLength": 8}))))),
            json!({"Unmet": [{"Path": "PasswordPolicy.MinimumPasswordLength", "Value": 8, "Required": 10}]})
        );
        assert_eq!(evidence(eval(&account(Value::Null)))["Path"], "PasswordPolicy");
        assert_eq!(eval(&account(json!("weird"))).name(), "error");
        assert_eq!(eval(&unreadable(account(Value::Null), "PasswordPolicy")).name(), "error");
        assert_eq!(eval(&account(json!({}))).name(), "error");
        assert_eq!(optional_int(&json!({"A": 3}), "A"), Ok(Some(3)));
        assert_eq!(optional_int(&json!({}), "A"), Ok(None));
        assert!(optional_int(&json!({"A": "3"}), "A").is_err());
    }
}
