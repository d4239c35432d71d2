//! The demo estate shows every policy of the catalog: each one fails on some
//! simulated resource and passes on another, and nothing ends in Error (the
//! estate only produces data the policies can read).

use chrono::Utc;
use qrie_engine::sim::{SimEstate, SimSpec};
use qrie_model::{EvalContext, Resource, Verdict};
use std::collections::{BTreeMap, HashMap};

#[test]
fn every_policy_fails_and_passes_somewhere_in_the_demo_estate() {
    // The size `qrie demo` uses by default.
    let estate =
        SimEstate::generate(SimSpec { seed: 42, accounts: 3, resources_per_account: 200, created_at: Utc::now() });
    let all: HashMap<String, Resource> = estate.iter().map(|r| (r.arn.clone(), r.clone())).collect();
    let now = Utc::now();
    let mut tally: BTreeMap<&str, (usize, usize, Vec<String>)> = BTreeMap::new();
    for policy in qrie_policies::catalog() {
        let params = policy.resolve_params(&BTreeMap::new()).unwrap();
        let ctx = EvalContext { params: &params, now, related: &all };
        let entry = tally.entry(policy.id).or_default();
        for r in estate.iter().filter(|r| r.resource_type == policy.resource_type) {
            match policy.run(r, &ctx) {
                Verdict::Fail(_) => entry.0 += 1,
                Verdict::Pass => entry.1 += 1,
                Verdict::Error(e) => entry.2.push(format!("{}: {e}", r.arn)),
                Verdict::NotApplicable => {}
            }
        }
    }
    let problems: Vec<String> = tally
        .iter()
        .filter(|(_, (fail, pass, errors))| *fail == 0 || *pass == 0 || !errors.is_empty())
        .map(|(id, (fail, pass, errors))| {
            format!("{id}: {fail} fail, {pass} pass, errors {:?}", &errors[..errors.len().min(2)])
        })
        .collect();
    assert!(problems.is_empty(), "policies the demo estate does not show both ways:\n{}", problems.join("\n"));
}
