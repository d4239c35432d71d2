//! The estate itself: generation from a spec, lookups, and persistence.

use chrono::Duration;
use qrie_model::{Resource, Service, Timestamp};
use qrie_store::Store;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

use super::generate::{self as g, BucketSpec, InstanceSpec, KeySlot, SecurityGroupSpec, UserSpec};
use crate::EngineError;

const NS: &str = "sim";
const NS_OVERRIDES: &str = "sim-overrides";
const ALL_REGIONS: [&str; 5] = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"];
const ORG_ROOT: &str = "r-q7x2";

/// What an estate is generated from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SimSpec {
    pub seed: u64,
    pub accounts: usize,
    /// Resources per account besides the account-level settings.
    pub resources_per_account: usize,
    /// Creation dates in the estate are relative to this.
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SimAccount {
    pub account_id: String,
    pub name: String,
    pub regions: Vec<String>,
    pub org_path: Vec<String>,
    /// The S3 canonical user id of the account.
    #[serde(skip)]
    pub owner_id: String,
}

type Key = (String, Service, String);

pub struct SimEstate {
    pub spec: SimSpec,
    accounts: Vec<SimAccount>,
    resources: BTreeMap<Key, Resource>,
    key_of: HashMap<String, Key>,
    /// Overrides not yet saved: a resource, or `None` for a deletion.
    dirty: BTreeMap<String, Option<Resource>>,
    /// Feeds ids of resources that changes create, and the default seed of the
    /// next batch of changes, so that successive batches differ.
    pub serial: u64,
}

impl SimEstate {
    pub fn generate(spec: SimSpec) -> Self {
        let mut estate = SimEstate {
            accounts: Vec::new(),
            resources: BTreeMap::new(),
            key_of: HashMap::new(),
            dirty: BTreeMap::new(),
            serial: 0,
            spec: spec.clone(),
        };
        let mut ids = ChaCha8Rng::seed_from_u64(spec.seed);
        for index in 0..spec.accounts {
            let account_id = loop {
                let id = format!("{:012}", ids.random_range(100_000_000_000u64..1_000_000_000_000));
                if !estate.accounts.iter().any(|a| a.account_id == id) {
                    break id;
                }
            };
            let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let account = new_account(&mut rng, index, account_id);
            for r in generate_account(&mut rng, &account, index, &spec) {
                estate.insert(r);
            }
            estate.accounts.push(account);
        }
        estate
    }

    pub fn accounts(&self) -> &[SimAccount] {
        &self.accounts
    }

    pub fn account(&self, account_id: &str) -> Option<&SimAccount> {
        self.accounts.iter().find(|a| a.account_id == account_id)
    }

    pub fn len(&self) -> usize {
        self.resources.len()
    }

    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    pub fn get(&self, arn: &str) -> Option<&Resource> {
        self.key_of.get(arn).and_then(|k| self.resources.get(k))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Resource> {
        self.resources.values()
    }

    pub fn resources_of<'a>(
        &'a self,
        account_id: &'a str,
        service: Service,
    ) -> impl Iterator<Item = &'a Resource> + 'a {
        self.resources
            .range((account_id.to_string(), service, String::new())..)
            .take_while(move |((a, s, _), _)| a == account_id && *s == service)
            .map(|(_, r)| r)
    }

    fn insert(&mut self, r: Resource) {
        let key = (r.account_id.clone(), r.service, r.arn.clone());
        self.key_of.insert(r.arn.clone(), key.clone());
        self.resources.insert(key, r);
    }

    /// Creates or replaces a resource (a simulated change).
    pub fn upsert(&mut self, mut r: Resource) {
        r.rehash();
        self.dirty.insert(r.arn.clone(), Some(r.clone()));
        self.insert(r);
    }

    /// Deletes a resource (a simulated change). Returns what was there.
    pub fn remove(&mut self, arn: &str) -> Option<Resource> {
        let key = self.key_of.remove(arn)?;
        self.dirty.insert(arn.to_string(), None);
        self.resources.remove(&key)
    }

    /// Loads the estate saved in this store, if any.
    pub async fn load(store: &dyn Store) -> Result<Option<SimEstate>, EngineError> {
        let Some(spec) = store.kv_get(NS, "spec").await? else {
            return Ok(None);
        };
        let spec: SimSpec = decode("sim/spec", spec)?;
        let mut estate = SimEstate::generate(spec);
        if let Some(state) = store.kv_get(NS, "state").await? {
            estate.serial = state.get("Serial").and_then(Value::as_u64).unwrap_or(0);
        }
        for (arn, value) in store.kv_list(NS_OVERRIDES).await? {
            match value.get("Resource") {
                Some(r) => estate.insert(decode(&arn, r.clone())?),
                None => {
                    if let Some(key) = estate.key_of.remove(&arn) {
                        estate.resources.remove(&key);
                    }
                }
            }
        }
        Ok(Some(estate))
    }

    /// Saves a newly generated estate, replacing any earlier one.
    pub async fn create(store: &dyn Store, spec: SimSpec) -> Result<SimEstate, EngineError> {
        let estate = SimEstate::generate(spec);
        store.kv_clear(NS_OVERRIDES).await?;
        store.kv_put(NS, "spec", json!(estate.spec)).await?;
        store.kv_put(NS, "state", json!({"Serial": 0})).await?;
        Ok(estate)
    }

    /// Saves the changes made since the last save.
    pub async fn save(&mut self, store: &dyn Store) -> Result<(), EngineError> {
        let entries: Vec<(String, Value)> = std::mem::take(&mut self.dirty)
            .into_iter()
            .map(|(arn, r)| {
                let v = match r {
                    Some(r) => json!({ "Resource": r }),
                    None => json!({ "Deleted": true }),
                };
                (arn, v)
            })
            .collect();
        store.kv_put_many(NS_OVERRIDES, entries).await?;
        store.kv_put(NS, "state", json!({"Serial": self.serial})).await?;
        Ok(())
    }
}

fn decode<T: serde::de::DeserializeOwned>(key: &str, v: Value) -> Result<T, EngineError> {
    serde_json::from_value(v)
        .map_err(|e| EngineError::Store(qrie_store::StoreError::Decode { key: key.to_string(), reason: e.to_string() }))
}

const ACCOUNT_NAMES: [&str; 8] = [
    "prod-payments",
    "prod-web",
    "staging",
    "dev-sandbox",
    "data-lake",
    "security-tooling",
    "shared-services",
    "analytics",
];

fn new_account(rng: &mut ChaCha8Rng, index: usize, account_id: String) -> SimAccount {
    let base = ACCOUNT_NAMES[index % ACCOUNT_NAMES.len()];
    let name =
        if index < ACCOUNT_NAMES.len() { base.to_string() } else { format!("{base}-{}", index / ACCOUNT_NAMES.len()) };
    let mut regions = vec!["us-east-1".to_string()];
    let extra = 1 + rng.random_range(0..2);
    while regions.len() < 1 + extra {
        let r = ALL_REGIONS[rng.random_range(1..ALL_REGIONS.len())].to_string();
        if !regions.contains(&r) {
            regions.push(r);
        }
    }
    let ou = if name.starts_with("prod") { "ou-q7x2-prod0001" } else { "ou-q7x2-work0002" };
    SimAccount {
        owner_id: g::hex_id(rng, 64),
        account_id,
        name,
        regions,
        org_path: vec![ORG_ROOT.to_string(), ou.to_string()],
    }
}

fn tags(rng: &mut ChaCha8Rng, account: &SimAccount) -> BTreeMap<String, String> {
    let env = if account.name.starts_with("prod") { "prod" } else { ["staging", "dev"][rng.random_range(0..2)] };
    let team = ["payments", "platform", "data", "web", "security"][rng.random_range(0..5)];
    BTreeMap::from([("env".to_string(), env.to_string()), ("team".to_string(), team.to_string())])
}

/// Splits `n` resources over the kinds (buckets, security groups, instances,
/// volumes, users), at least one of each once `n` allows.
fn split(n: usize) -> [usize; 5] {
    let weights = [25, 20, 20, 20, 15];
    let mut counts = weights.map(|w| n * w / 100);
    if n >= 5 {
        for c in counts.iter_mut() {
            *c = (*c).max(1);
        }
    }
    let assigned: usize = counts.iter().sum();
    counts[0] += n.saturating_sub(assigned);
    while counts.iter().sum::<usize>() > n {
        let i = (0..5).max_by_key(|&i| counts[i]).unwrap_or(0);
        counts[i] -= 1;
    }
    counts
}

/// One account's resources. Account 0 is deliberately weak (no account Block
/// Public Access, no root MFA) and account 1 strong, so a small demo shows
/// both verdicts of every account-level policy.
fn generate_account(rng: &mut ChaCha8Rng, a: &SimAccount, index: usize, spec: &SimSpec) -> Vec<Resource> {
    let at = spec.created_at;
    let id = a.account_id.as_str();
    let mut out = Vec::new();
    let account_bpa = match index {
        0 => false,
        1 => true,
        _ => rng.random_bool(0.5),
    };
    out.push(g::s3_account_bpa(id, account_bpa, at));
    let root_mfa = match index {
        0 => false,
        1 => true,
        _ => rng.random_bool(0.8),
    };
    let account_created = at - Duration::days(rng.random_range(400..2000));
    out.push(g::iam_root(id, root_mfa, account_created, at));
    out.push(g::password_policy(id, rng.random_bool(0.5), at));
    let vpcs: BTreeMap<&str, String> =
        a.regions.iter().map(|r| (r.as_str(), format!("vpc-{}", g::hex_id(rng, 17)))).collect();
    for region in &a.regions {
        out.push(g::ec2_account_settings(id, region, rng.random_bool(0.5), at));
    }

    let [buckets, sgs, instances, volumes, users] = split(spec.resources_per_account);
    let suffix = &id[8..];
    for n in 0..buckets {
        let purpose = ["logs", "assets", "backups", "data", "reports", "uploads", "artifacts", "static-site"][n % 8];
        let public = rng.random_bool(0.12);
        let b = BucketSpec {
            name: format!("{}-{purpose}-{suffix}-{n}", a.name),
            region: a.regions[rng.random_range(0..a.regions.len())].clone(),
            public_read_acl: public,
            // Some public ACLs are neutralised by the bucket's own Block Public Access.
            bucket_bpa: if public { rng.random_bool(0.3) } else { rng.random_bool(0.6) },
            versioning: match rng.random_range(0..100) {
                0..60 => Some("Enabled"),
                60..75 => Some("Suspended"),
                _ => None,
            },
            encrypted: rng.random_bool(0.9),
            logging: rng.random_bool(0.5),
            tags: tags(rng, a),
        };
        out.push(g::s3_bucket(id, &a.owner_id, &b, at));
    }

    let mut groups: Vec<(String, String, String)> = Vec::new();
    for n in 0..sgs {
        let region = a.regions[n % a.regions.len()].clone();
        let role = ["web", "db", "bastion", "app", "cache", "batch"][n % 6];
        let open_ports = match rng.random_range(0..100) {
            0..15 => vec![22],
            15..23 => vec![3389],
            23..28 => vec![22, 3389],
            _ => vec![],
        };
        let sg = SecurityGroupSpec {
            id: format!("sg-{}", g::hex_id(rng, 17)),
            name: format!("{role}-{n}"),
            vpc_id: vpcs[region.as_str()].clone(),
            open_ports,
            tags: tags(rng, a),
        };
        groups.push((region.clone(), sg.id.clone(), sg.name.clone()));
        out.push(g::security_group(id, &region, &sg, at));
    }

    let volume_ids: Vec<(String, String)> =
        (0..volumes).map(|n| (a.regions[n % a.regions.len()].clone(), format!("vol-{}", g::hex_id(rng, 17)))).collect();
    let mut attached_to: HashMap<String, String> = HashMap::new();
    for n in 0..instances {
        let region = a.regions[n % a.regions.len()].clone();
        let group = groups
            .iter()
            .find(|(r, _, _)| *r == region)
            .map(|(_, gid, gname)| (gid.clone(), gname.clone()))
            .unwrap_or_else(|| ("sg-0000000000000000".into(), "default".into()));
        let volume_id = volume_ids
            .iter()
            .filter(|(r, _)| *r == region)
            .nth(n / a.regions.len())
            .map(|v| v.1.clone())
            .unwrap_or_else(|| format!("vol-{}", g::hex_id(rng, 17)));
        let i = InstanceSpec {
            id: format!("i-{}", g::hex_id(rng, 17)),
            name: format!("{}-{n}", ["api", "worker", "bastion", "etl"][n % 4]),
            imds_required: rng.random_bool(0.6),
            public_ip: rng.random_bool(0.3).then(|| {
                format!("54.{}.{}.{}", rng.random_range(0..255), rng.random_range(0..255), rng.random_range(1..255))
            }),
            security_group: group,
            volume_id,
            subnet_id: format!("subnet-{}", g::hex_id(rng, 17)),
            vpc_id: vpcs[region.as_str()].clone(),
            launched: at - Duration::days(rng.random_range(1..300)),
            tags: tags(rng, a),
        };
        attached_to.insert(i.volume_id.clone(), i.id.clone());
        out.push(g::instance(id, &region, &i, at));
    }
    for (region, vid) in &volume_ids {
        let created = at - Duration::days(rng.random_range(1..500));
        let instance = attached_to.get(vid).map(String::as_str);
        out.push(g::volume(id, region, vid, rng.random_bool(0.75), instance, created, at));
    }

    for n in 0..users {
        let first = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"][n % 10];
        let created = at - Duration::days(rng.random_range(30..900));
        let key_count = rng.random_range(0..3);
        let keys = (0..key_count)
            .map(|_| KeySlot {
                active: rng.random_bool(0.85),
                last_rotated: at
                    - Duration::days(if rng.random_bool(0.3) {
                        rng.random_range(100..700)
                    } else {
                        rng.random_range(1..80)
                    }),
            })
            .collect();
        let console = rng.random_bool(0.5);
        let u = UserSpec {
            name: if n < 10 { first.to_string() } else { format!("{first}{n}") },
            user_id: g::iam_id(rng, "AIDA"),
            created,
            console,
            mfa: console && rng.random_bool(0.7),
            keys,
        };
        out.push(g::iam_user(id, &u, at));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn spec(seed: u64, accounts: usize, per: usize) -> SimSpec {
        SimSpec {
            seed,
            accounts,
            resources_per_account: per,
            created_at: chrono::Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        }
    }

    #[test]
    fn deterministic_from_the_seed() {
        let a = SimEstate::generate(spec(7, 3, 50));
        let b = SimEstate::generate(spec(7, 3, 50));
        let c = SimEstate::generate(spec(8, 3, 50));
        let hashes = |e: &SimEstate| e.iter().map(|r| (r.arn.clone(), r.config_hash.clone())).collect::<Vec<_>>();
        assert_eq!(hashes(&a), hashes(&b));
        assert_ne!(hashes(&a), hashes(&c));
        assert_eq!(a.accounts().len(), 3);
    }

    #[test]
    fn sizes_and_services() {
        let e = SimEstate::generate(spec(1, 2, 100));
        for a in e.accounts() {
            let per_account = Service::ALL.iter().map(|s| e.resources_of(&a.account_id, *s).count()).sum::<usize>();
            // 100 resources plus account-level settings (BPA, root, password policy, one per region).
            assert_eq!(per_account, 100 + 3 + a.regions.len());
            for s in Service::ALL {
                assert!(e.resources_of(&a.account_id, s).count() > 0, "{s}");
            }
        }
        assert_eq!(split(5), [1, 1, 1, 1, 1]);
        assert_eq!(split(3).iter().sum::<usize>(), 3);
        assert_eq!(split(1000).iter().sum::<usize>(), 1000);
    }

    #[test]
    fn arns_are_unique_and_lookups_work() {
        let e = SimEstate::generate(spec(3, 4, 200));
        let mut arns: Vec<_> = e.iter().map(|r| r.arn.clone()).collect();
        let n = arns.len();
        arns.sort();
        arns.dedup();
        assert_eq!(arns.len(), n);
        let some = e.iter().nth(10).unwrap().arn.clone();
        assert_eq!(e.get(&some).unwrap().arn, some);
    }
}
