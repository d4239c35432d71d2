//! The estate itself: generation from a spec, lookups, and persistence.

use chrono::Duration;
use qrie_model::{Resource, Service, Timestamp};
use qrie_store::Store;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};

use super::generate::iam::{ADMINISTRATOR_ACCESS, READ_ONLY_ACCESS};
use super::generate::{
    self as g, AclKind, BucketPolicyKind, BucketSpec, EncryptionKind, InstanceSpec, KeySlot, RoleTrust,
    SecurityGroupSpec, UserSpec,
};
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

impl SimAccount {
    /// The account as the engine adds it: read through the simulated cloud
    /// (no role), with its organization path.
    pub fn new_account(&self) -> crate::accounts::NewAccount {
        crate::accounts::NewAccount {
            account_id: self.account_id.clone(),
            name: Some(self.name.clone()),
            role_arn: None,
            external_id: None,
            regions: self.regions.clone(),
            org_path: self.org_path.clone(),
            source: qrie_model::AccountSource::Simulated,
        }
    }
}

type Key = (String, Service, String);

pub struct SimEstate {
    pub spec: SimSpec,
    accounts: Vec<SimAccount>,
    resources: BTreeMap<Key, Resource>,
    key_of: HashMap<String, Key>,
    /// The ARNs of each resource type, and each ARN's place in its list: a
    /// change picks its resource in constant time, however large the estate.
    by_type: HashMap<String, Vec<String>>,
    slot: HashMap<String, usize>,
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
            by_type: HashMap::new(),
            slot: HashMap::new(),
            dirty: BTreeMap::new(),
            serial: 0,
            spec: spec.clone(),
        };
        for (index, account_id) in account_ids(&spec).into_iter().enumerate() {
            let (account, resources) = generate_one(&spec, index, account_id);
            for r in resources {
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

    /// The ARNs of a resource type, in no meaningful order (for random picks).
    pub(crate) fn arns_of_type(&self, resource_type: &str) -> &[String] {
        self.by_type.get(resource_type).map_or(&[], Vec::as_slice)
    }

    fn insert(&mut self, r: Resource) {
        let key = (r.account_id.clone(), r.service, r.arn.clone());
        if self.key_of.insert(r.arn.clone(), key.clone()).is_none() {
            let arns = self.by_type.entry(r.resource_type.clone()).or_default();
            self.slot.insert(r.arn.clone(), arns.len());
            arns.push(r.arn.clone());
        }
        self.resources.insert(key, r);
    }

    fn unlink(&mut self, arn: &str) -> Option<Resource> {
        let key = self.key_of.remove(arn)?;
        let r = self.resources.remove(&key)?;
        if let (Some(at), Some(arns)) = (self.slot.remove(arn), self.by_type.get_mut(&r.resource_type)) {
            arns.swap_remove(at);
            if let Some(moved) = arns.get(at) {
                self.slot.insert(moved.clone(), at);
            }
        }
        Some(r)
    }

    /// Creates or replaces a resource (a simulated change).
    pub fn upsert(&mut self, mut r: Resource) {
        r.rehash();
        self.dirty.insert(r.arn.clone(), Some(r.clone()));
        self.insert(r);
    }

    /// Deletes a resource (a simulated change). Returns what was there.
    pub fn remove(&mut self, arn: &str) -> Option<Resource> {
        let r = self.unlink(arn)?;
        self.dirty.insert(arn.to_string(), None);
        Some(r)
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
                    estate.unlink(&arn);
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
        self.take_pending().persist(store).await
    }

    /// The changes made since the last save, to persist without holding the
    /// estate (a long-running process shares it behind a lock).
    pub fn take_pending(&mut self) -> PendingSave {
        let entries = std::mem::take(&mut self.dirty)
            .into_iter()
            .map(|(arn, r)| {
                let v = match r {
                    Some(r) => json!({ "Resource": r }),
                    None => json!({ "Deleted": true }),
                };
                (arn, v)
            })
            .collect();
        PendingSave { entries, serial: self.serial }
    }
}

/// Overrides waiting to be written to the store.
pub struct PendingSave {
    entries: Vec<(String, Value)>,
    serial: u64,
}

impl PendingSave {
    pub async fn persist(self, store: &dyn Store) -> Result<(), EngineError> {
        store.kv_put_many(NS_OVERRIDES, self.entries).await?;
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

/// The estate's account ids, in order: drawn in sequence from the seed.
pub(crate) fn account_ids(spec: &SimSpec) -> Vec<String> {
    let mut ids = ChaCha8Rng::seed_from_u64(spec.seed);
    let mut seen = std::collections::HashSet::new();
    (0..spec.accounts)
        .map(|_| loop {
            let id = format!("{:012}", ids.random_range(100_000_000_000u64..1_000_000_000_000));
            if seen.insert(id.clone()) {
                break id;
            }
        })
        .collect()
}

/// One account of the estate and its resources, from the seed and the
/// account's place alone: the same whether the whole estate is generated
/// or only this account.
pub(crate) fn generate_one(spec: &SimSpec, index: usize, account_id: String) -> (SimAccount, Vec<Resource>) {
    let (account, mut rng) = account_header(spec, index, account_id);
    let resources = generate_account(&mut rng, &account, index, spec);
    (account, resources)
}

/// An account of the estate without its resources, and the generator that
/// makes them (see [`generate_one`]).
pub(crate) fn account_header(spec: &SimSpec, index: usize, account_id: String) -> (SimAccount, ChaCha8Rng) {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ (index as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let account = new_account(&mut rng, index, account_id);
    (account, rng)
}

/// The resources of an account from its header's generator.
pub(crate) fn account_resources(spec: &SimSpec, index: usize, header: &(SimAccount, ChaCha8Rng)) -> Vec<Resource> {
    generate_account(&mut header.1.clone(), &header.0, index, spec)
}

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

/// Resource kinds and their share of an account's resources, in percent.
const KINDS: [(Kind, usize); 11] = [
    (Kind::Bucket, 20),
    (Kind::SecurityGroup, 15),
    (Kind::Instance, 15),
    (Kind::Volume, 14),
    (Kind::User, 10),
    (Kind::Role, 8),
    (Kind::Snapshot, 8),
    (Kind::Image, 4),
    (Kind::Policy, 3),
    (Kind::Group, 2),
    (Kind::Certificate, 1),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Bucket,
    SecurityGroup,
    Instance,
    Volume,
    User,
    Role,
    Snapshot,
    Image,
    Policy,
    Group,
    Certificate,
}

/// Splits `n` resources over the kinds, at least one of each once `n` allows.
fn split(n: usize) -> HashMap<Kind, usize> {
    let mut counts: Vec<usize> = KINDS.iter().map(|(_, w)| n * w / 100).collect();
    if n >= KINDS.len() {
        for c in counts.iter_mut() {
            *c = (*c).max(1);
        }
    }
    let assigned: usize = counts.iter().sum();
    counts[0] += n.saturating_sub(assigned);
    while counts.iter().sum::<usize>() > n {
        let i = (0..counts.len()).max_by_key(|&i| counts[i]).unwrap_or(0);
        counts[i] -= 1;
    }
    KINDS.iter().map(|(k, _)| *k).zip(counts).collect()
}

fn pick<T: Copy>(rng: &mut ChaCha8Rng, weighted: &[(T, u32)]) -> T {
    let total: u32 = weighted.iter().map(|w| w.1).sum();
    let mut roll = rng.random_range(0..total);
    for (item, w) in weighted {
        if roll < *w {
            return *item;
        }
        roll -= w;
    }
    weighted[0].0
}

/// One account's resources. Account 0 is deliberately weak (no account Block
/// Public Access, no root MFA, a root access key) and account 1 strong, so a
/// small demo shows both verdicts of every account-level policy.
fn generate_account(rng: &mut ChaCha8Rng, a: &SimAccount, index: usize, spec: &SimSpec) -> Vec<Resource> {
    let at = spec.created_at;
    let id = a.account_id.as_str();
    let days = |rng: &mut ChaCha8Rng, r: std::ops::Range<i64>| at - Duration::days(rng.random_range(r));
    let weak = index == 0;
    let strong = index == 1;
    let mut out = Vec::new();

    // Account-level settings.
    out.push(g::s3_account_bpa(id, !weak && (strong || rng.random_bool(0.5)), at));
    let support_roles = if weak || !rng.random_bool(0.6) { Vec::new() } else { vec!["AWSSupportRole".to_string()] };
    let root = g::RootSpec {
        mfa: strong || (!weak && rng.random_bool(0.8)),
        virtual_mfa: !strong && rng.random_bool(0.5),
        access_key: weak,
        last_used: if weak { days(rng, 1..10) } else { days(rng, 200..900) },
        support_roles: support_roles.clone(),
    };
    out.push(g::iam_root(id, &root, days(rng, 900..2000), at));
    let password = if weak {
        None
    } else if strong {
        Some(true)
    } else {
        pick(rng, &[(Some(true), 2), (Some(false), 1), (None, 1)])
    };
    out.push(g::password_policy(id, password, at));
    let mut vpcs: BTreeMap<&str, String> = BTreeMap::new();
    for region in &a.regions {
        let vpc = format!("vpc-{}", g::hex_id(rng, 17));
        out.push(g::ec2_account_settings(
            id,
            region,
            strong || (!weak && rng.random_bool(0.5)),
            strong || (!weak && rng.random_bool(0.4)),
            at,
        ));
        out.push(g::default_security_group(
            id,
            region,
            &format!("sg-{}", g::hex_id(rng, 17)),
            &vpc,
            strong || (!weak && rng.random_bool(0.3)),
            at,
        ));
        out.push(g::iam::access_analyzers(id, region, strong || (!weak && rng.random_bool(0.5)), at));
        out.push(g::network_acl(
            id,
            region,
            &format!("acl-{}", g::hex_id(rng, 17)),
            &vpc,
            strong || (!weak && rng.random_bool(0.3)),
            at,
        ));
        vpcs.insert(region.as_str(), vpc);
    }

    let counts = split(spec.resources_per_account);
    let suffix = &id[8..];
    let region_of = |n: usize| a.regions[n % a.regions.len()].clone();

    for n in 0..counts[&Kind::Bucket] {
        let purpose = ["logs", "assets", "backups", "data", "reports", "uploads", "artifacts", "static-site"][n % 8];
        let acl = pick(
            rng,
            &[
                (AclKind::Private, 85),
                (AclKind::PublicRead, 7),
                (AclKind::PublicWrite, 3),
                (AclKind::AuthenticatedRead, 5),
            ],
        );
        let policy = pick(rng, &[(0u8, 40), (1, 32), (2, 8), (3, 7), (4, 10), (5, 3)]);
        let policy = match policy {
            0 => BucketPolicyKind::None,
            1 => BucketPolicyKind::DenyInsecureTransport,
            2 => BucketPolicyKind::PublicRead,
            3 => BucketPolicyKind::PublicReadFromVpce,
            5 => BucketPolicyKind::PublicWrite,
            _ => BucketPolicyKind::CrossAccount("999988887777".into()),
        };
        let versioning = pick(rng, &[(Some("Enabled"), 60), (Some("Suspended"), 15), (None, 25)]);
        let b = BucketSpec {
            name: format!("{}-{purpose}-{suffix}-{n}", a.name),
            region: a.regions[rng.random_range(0..a.regions.len())].clone(),
            // Some public ACLs and policies are neutralised by the bucket's own Block Public Access.
            bucket_bpa: if acl != AclKind::Private
                || matches!(policy, BucketPolicyKind::PublicRead | BucketPolicyKind::PublicWrite)
            {
                rng.random_bool(0.4)
            } else {
                rng.random_bool(0.6)
            },
            ownership_enforced: acl == AclKind::Private && rng.random_bool(0.6),
            acl,
            policy,
            mfa_delete: versioning == Some("Enabled") && rng.random_bool(0.1),
            versioning,
            encryption: pick(
                rng,
                &[(EncryptionKind::None, 10), (EncryptionKind::SseS3, 60), (EncryptionKind::Kms, 30)],
            ),
            logging: rng.random_bool(0.5),
            lifecycle: rng.random_bool(0.5),
            object_lock: rng.random_bool(0.1),
            tags: tags(rng, a),
        };
        out.push(g::s3_bucket(id, &a.owner_id, &b, at));
    }

    // Security groups are built after the instances that use them.
    let mut groups: Vec<(String, SecurityGroupSpec)> = (0..counts[&Kind::SecurityGroup])
        .map(|n| {
            let region = region_of(n);
            let open_ports = match rng.random_range(0..100) {
                0..12 => vec![22],
                12..19 => vec![3389],
                19..23 => vec![22, 3389],
                23..27 => vec![3306],
                27..30 => vec![6379, 9200],
                _ => vec![],
            };
            let sg = SecurityGroupSpec {
                id: format!("sg-{}", g::hex_id(rng, 17)),
                name: format!("{}-{n}", ["web", "db", "bastion", "app", "cache", "batch"][n % 6]),
                vpc_id: vpcs[region.as_str()].clone(),
                open_ports,
                all_traffic: (weak && n == 1) || rng.random_bool(0.03),
                interfaces: Vec::new(),
                tags: tags(rng, a),
            };
            (region, sg)
        })
        .collect();

    let volume_ids: Vec<(String, String)> =
        (0..counts[&Kind::Volume]).map(|n| (region_of(n), format!("vol-{}", g::hex_id(rng, 17)))).collect();
    let mut attached_to: HashMap<String, String> = HashMap::new();
    for n in 0..counts[&Kind::Instance] {
        let region = region_of(n);
        let instance_id = format!("i-{}", g::hex_id(rng, 17));
        let group = match groups.iter_mut().filter(|(r, _)| *r == region).nth(n / a.regions.len() % 3) {
            Some((_, sg)) => {
                sg.interfaces.push((format!("eni-{}", g::hex_id(rng, 17)), instance_id.clone()));
                (sg.id.clone(), sg.name.clone())
            }
            None => ("sg-0000000000000000".into(), "default".into()),
        };
        let volume_id = volume_ids
            .iter()
            .filter(|(r, _)| *r == region)
            .nth(n / a.regions.len())
            .map(|v| v.1.clone())
            .unwrap_or_else(|| format!("vol-{}", g::hex_id(rng, 17)));
        let user_data = match rng.random_range(0..10) {
            0 => g::user_data(true),
            1..6 => g::user_data(false),
            _ => Value::Null,
        };
        let i = InstanceSpec {
            id: instance_id,
            name: format!("{}-{n}", ["api", "worker", "bastion", "etl"][n % 4]),
            imds_required: rng.random_bool(0.6),
            public_ip: rng.random_bool(0.3).then(|| {
                format!("54.{}.{}.{}", rng.random_range(0..255), rng.random_range(0..255), rng.random_range(1..255))
            }),
            security_group: group,
            volume_id,
            subnet_id: format!("subnet-{}", g::hex_id(rng, 17)),
            vpc_id: vpcs[region.as_str()].clone(),
            launched: days(rng, 1..300),
            user_data,
            tags: tags(rng, a),
        };
        attached_to.insert(i.volume_id.clone(), i.id.clone());
        out.push(g::instance(id, &region, &i, at));
    }
    for (region, sg) in &groups {
        out.push(g::security_group(id, region, sg, at));
    }
    for (region, vid) in &volume_ids {
        let created = days(rng, 1..500);
        let instance = attached_to.get(vid).map(String::as_str);
        out.push(g::volume(id, region, vid, rng.random_bool(0.75), instance, created, at));
    }
    for n in 0..counts[&Kind::Snapshot] {
        let region = region_of(n);
        let volume = volume_ids.get(n).map_or_else(|| "vol-ffffffff".to_string(), |v| v.1.clone());
        let snap = format!("snap-{}", g::hex_id(rng, 17));
        out.push(g::snapshot(
            id,
            &region,
            &snap,
            &volume,
            rng.random_bool(0.7),
            (weak && n == 0) || rng.random_bool(0.05),
            days(rng, 1..200),
            at,
        ));
    }
    for n in 0..counts[&Kind::Image] {
        let region = region_of(n);
        let ami = format!("ami-{}", g::hex_id(rng, 17));
        out.push(g::image(
            id,
            &region,
            &ami,
            &format!("{}-golden-{n}", a.name),
            rng.random_bool(0.1),
            days(rng, 1..400),
            at,
        ));
    }

    let other_account = "999988887777".to_string();
    for n in 0..counts[&Kind::Role] {
        let (name, trust, managed): (String, RoleTrust, Vec<&str>) = match n % 6 {
            0 => (format!("app-instance-role-{n}"), RoleTrust::Service("ec2.amazonaws.com"), vec![READ_ONLY_ACCESS]),
            1 => (
                format!("partner-audit-{n}"),
                RoleTrust::Account { account_id: other_account.clone(), external_id: true },
                vec![READ_ONLY_ACCESS],
            ),
            2 => (
                format!("vendor-deploy-{n}"),
                RoleTrust::Account { account_id: other_account.clone(), external_id: rng.random_bool(0.5) },
                vec![],
            ),
            3 => (
                format!("break-glass-admin-{n}"),
                RoleTrust::Account { account_id: id.to_string(), external_id: false },
                vec![ADMINISTRATOR_ACCESS],
            ),
            4 => (format!("lambda-exec-{n}"), RoleTrust::Service("lambda.amazonaws.com"), vec![]),
            _ => (
                format!("legacy-shared-{n}"),
                if rng.random_bool(0.3) { RoleTrust::Anyone } else { RoleTrust::Service("ecs-tasks.amazonaws.com") },
                vec![],
            ),
        };
        let inline = match (n % 6, rng.random_range(0..4)) {
            (4, 0 | 1) => Some(g::iam::document("escalation")),
            (3, _) if n < 6 => Some(g::iam::document("admin")),
            _ => None,
        };
        out.push(g::role(id, &name, &g::iam_id(rng, "AROA"), &trust, &managed, inline, days(rng, 30..900), at));
    }
    for role in &support_roles {
        out.push(g::role(
            id,
            role,
            &g::iam_id(rng, "AROA"),
            &RoleTrust::Service("support.amazonaws.com"),
            &[g::iam::SUPPORT_ACCESS],
            None,
            days(rng, 30..900),
            at,
        ));
    }
    for n in 0..counts[&Kind::Group] {
        let (name, managed) = if n % 2 == 0 {
            (format!("developers-{n}"), vec![READ_ONLY_ACCESS])
        } else {
            (format!("admins-{n}"), vec![ADMINISTRATOR_ACCESS])
        };
        let inline = (n == 1).then(|| g::iam::document("admin"));
        out.push(g::group(id, &name, &g::iam_id(rng, "AGPA"), &managed, inline, days(rng, 30..900), at));
    }
    for n in 0..counts[&Kind::Policy] {
        let kind = ["read-reports", "ci-deploy", "full-admin-custom"][n % 3];
        let doc = g::iam::document(match kind {
            "ci-deploy" => "escalation",
            "full-admin-custom" => "admin",
            _ => "read",
        });
        out.push(g::managed_policy(
            id,
            &format!("{kind}-{n}"),
            &g::iam_id(rng, "ANPA"),
            doc,
            rng.random_range(0..4),
            days(rng, 30..900),
            at,
        ));
    }
    for n in 0..counts[&Kind::Certificate] {
        let uploaded = days(rng, 400..800);
        let expires = if rng.random_bool(0.5) {
            at - Duration::days(rng.random_range(1..90))
        } else {
            at + Duration::days(rng.random_range(30..365))
        };
        out.push(g::server_certificate(
            id,
            &format!("www-{}-{n}", a.name),
            &g::iam_id(rng, "ASCA"),
            uploaded,
            expires,
            at,
        ));
    }

    for n in 0..counts[&Kind::User] {
        let first = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"][n % 10];
        let created = days(rng, 30..900);
        let key_count = rng.random_range(0..3);
        let keys = (0..key_count)
            .map(|_| KeySlot {
                active: rng.random_bool(0.85),
                last_rotated: if rng.random_bool(0.3) { days(rng, 100..700) } else { days(rng, 1..80) },
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
            password_last_used: if rng.random_bool(0.2) { Some(days(rng, 60..400)) } else { Some(days(rng, 0..20)) },
            attached: match rng.random_range(0..10) {
                0 => vec![ADMINISTRATOR_ACCESS],
                1 | 2 => vec![READ_ONLY_ACCESS],
                _ => vec![],
            },
            inline: match rng.random_range(0..100) {
                0..8 => Some(g::iam::document("escalation")),
                8..12 => Some(g::iam::document("admin")),
                _ => None,
            },
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
            // 100 resources plus account-level settings (BPA, root, password policy; per region the
            // EC2 settings, default security group, network ACL and Access Analyzer list) and the support
            // role, if any.
            let support = e.resources_of(&a.account_id, Service::Iam).filter(|r| r.name == "AWSSupportRole").count();
            assert_eq!(per_account, 100 + 3 + 4 * a.regions.len() + support);
            for s in Service::ALL {
                assert!(e.resources_of(&a.account_id, s).count() > 0, "{s}");
            }
        }
        assert!(split(11).values().all(|c| *c == 1));
        assert_eq!(split(3).values().sum::<usize>(), 3);
        assert_eq!(split(1000).values().sum::<usize>(), 1000);
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
