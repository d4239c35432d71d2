//! The moto server the collector tests run against, and helpers to seed it.
//!
//! Each test starts its own server on a free loopback port (tests run in
//! parallel; separate servers keep their accounts apart without a global lock)
//! and stops it on drop. A missing moto is a failure, never a skip: run
//! `scripts/setup-python`.
#![allow(dead_code)] // each test binary uses a different part of this module

pub mod only;
pub mod seed;
pub mod seed_ec2;

use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sts::config::Credentials;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use qrie_aws::{AwsCloud, AwsOptions};
use qrie_model::{Account, AccountSource, AccountStatus};
use qrie_moto::MotoServer;

/// The account moto's default credentials belong to (the "QOP" account here).
pub const ACCOUNT_A: &str = "123456789012";
/// A second account, reached through AssumeRole (moto isolates it).
pub const ACCOUNT_B: &str = "222222222222";
pub const ROLE_B: &str = "arn:aws:iam::222222222222:role/qrie-read";

/// moto's server (see `qrie_moto`), with the SDK configurations to reach it.
pub struct Moto {
    server: MotoServer,
    pub url: String,
}

impl Moto {
    pub fn start() -> Moto {
        let server = MotoServer::start();
        let url = server.endpoint.clone();
        Moto { server, url }
    }

    /// Wipes every account's state.
    pub fn reset(&self) {
        self.server.reset()
    }

    /// From now on moto checks every request against the signer's IAM policies.
    pub fn enforce_iam(&self) {
        self.server.enforce_iam()
    }

    /// SDK configuration of the default account, one attempt per call so that
    /// injected failures show at once.
    pub async fn sdk_config(&self) -> SdkConfig {
        aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&self.url)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "moto"))
            .retry_config(RetryConfig::standard().with_max_attempts(1))
            .load()
            .await
    }

    /// SDK configuration inside another account (moto: assuming any role there).
    pub async fn sdk_config_in(&self, role_arn: &str) -> SdkConfig {
        let base = self.sdk_config().await;
        let out = aws_sdk_sts::Client::new(&base)
            .assume_role()
            .role_arn(role_arn)
            .role_session_name("seed")
            .send()
            .await
            .expect("assume role");
        let c = out.credentials().expect("credentials");
        let creds =
            Credentials::new(c.access_key_id(), c.secret_access_key(), Some(c.session_token().into()), None, "seed");
        base.into_builder().credentials_provider(aws_types::sdk_config::SharedCredentialsProvider::new(creds)).build()
    }

    pub async fn cloud(&self, regions: &[&str]) -> AwsCloud {
        self.cloud_with(regions, Vec::new()).await
    }

    pub async fn cloud_with(&self, regions: &[&str], interceptors: Vec<SharedInterceptor>) -> AwsCloud {
        let mut options = AwsOptions::new(regions.iter().map(|r| r.to_string()).collect());
        options.interceptors = interceptors;
        AwsCloud::new(self.sdk_config().await, options)
    }
}

pub fn account(id: &str, role_arn: Option<&str>) -> Account {
    Account {
        account_id: id.to_string(),
        name: format!("test-{id}"),
        status: AccountStatus::Active,
        role_arn: role_arn.map(str::to_string),
        external_id: role_arn.map(|_| "qrie-external-id".to_string()),
        regions: Vec::new(),
        enabled_regions: Vec::new(),
        org_path: Vec::new(),
        source: AccountSource::Manual,
        added_at: chrono::Utc::now(),
        baselined_at: None,
        removed_at: None,
        revision: 1,
    }
}

/// Replaces the answer to one operation (optionally only for requests whose URI
/// contains `uri_contains`) with an AWS error, before the SDK deserializes it:
/// the collector then sees exactly what AWS would send.
#[derive(Debug)]
pub struct FailCall {
    pub operation: &'static str,
    pub uri_contains: &'static str,
    pub status: u16,
    pub code: &'static str,
}

/// Marks an operation whose answer [`FailCall`] replaces: the request is gone
/// by the time the response arrives, so the match is made before sending.
#[derive(Debug, Clone)]
struct Inject(&'static str);

impl aws_smithy_types::config_bag::Storable for Inject {
    type Storer = aws_smithy_types::config_bag::StoreReplace<Self>;
}

impl aws_smithy_runtime_api::client::interceptors::Intercept for FailCall {
    fn name(&self) -> &'static str {
        "test-fail-call"
    }

    fn read_before_transmit(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef<'_>,
        _rc: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let op = cfg.load::<aws_smithy_runtime_api::client::orchestrator::Metadata>().map(|m| m.name().to_string());
        if op.as_deref() == Some(self.operation) && context.request().uri().contains(self.uri_contains) {
            cfg.interceptor_state().store_put(Inject(self.operation));
        }
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextMut<
            '_,
        >,
        _rc: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        if cfg.load::<Inject>().is_some_and(|i| i.0 == self.operation) {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{}</Code><Message>injected by the test</Message><RequestId>t</RequestId></Error>",
                self.code
            );
            *context.response_mut() = aws_smithy_runtime_api::http::Response::new(
                aws_smithy_runtime_api::http::StatusCode::try_from(self.status).expect("status"),
                aws_smithy_types::body::SdkBody::from(body),
            );
        }
        Ok(())
    }
}

pub fn fail_call(
    operation: &'static str,
    uri_contains: &'static str,
    status: u16,
    code: &'static str,
) -> SharedInterceptor {
    SharedInterceptor::new(FailCall { operation, uri_contains, status, code })
}

/// moto 5.2.5 names GetBucketVersioning's XML root `GetBucketVersioningResponse`
/// where S3 has `VersioningConfiguration`: botocore does not check roots, the
/// Rust SDK does and rejects it. Every bucket's `Versioning` is therefore a
/// collection error under moto — which is itself the behaviour under test
/// (an unreadable answer never passes). Returns the other collection errors.
pub fn errors_besides_moto_versioning(r: &qrie_model::Resource) -> std::collections::BTreeMap<String, String> {
    let mut errors = r.collection_errors.clone();
    let versioning = errors.remove("Versioning").unwrap_or_default();
    assert!(versioning.contains("GetBucketVersioningResponse"), "{}: Versioning error {versioning:?}", r.arn);
    errors
}

/// Every (ARN, policy) the catalog fails among `resources`, evaluated as the
/// engine does (default parameters, related resources from the same set).
pub fn failing(resources: &[qrie_model::Resource]) -> std::collections::BTreeSet<(String, String)> {
    resources
        .iter()
        .flat_map(|r| verdicts(r, resources).into_iter().map(move |(id, v)| (r.arn.clone(), id, v)))
        .filter(|(_, _, v)| matches!(v, qrie_model::Verdict::Fail(_)))
        .map(|(arn, id, _)| (arn, id))
        .collect()
}

/// Each catalog policy for `r`'s type and its verdict.
pub fn verdicts(r: &qrie_model::Resource, available: &[qrie_model::Resource]) -> Vec<(String, qrie_model::Verdict)> {
    qrie_policies::for_resource_type(&r.resource_type)
        .map(|def| {
            let params = def.resolve_params(&Default::default()).expect("default parameters");
            let wanted = def.related_arns(r);
            let related: std::collections::HashMap<String, qrie_model::Resource> =
                available.iter().filter(|a| wanted.contains(&a.arn)).map(|a| (a.arn.clone(), a.clone())).collect();
            let ctx = qrie_model::EvalContext { params: &params, now: chrono::Utc::now(), related: &related };
            (def.id.to_string(), def.run(r, &ctx))
        })
        .collect()
}

/// The (ARN, policy) pairs the catalog fails for what `seed::s3_account_a` and
/// `seed::s3_account_b` create. The locked bucket fails nothing (its versioning
/// and MFA-delete policies answer Error under moto, see
/// [`errors_besides_moto_versioning`]); account B's public policy is neutralised
/// by its account Block Public Access, which is exactly what
/// `s3-bucket-public-access-blocked-only-by-bpa` reports.
pub fn expected_s3_failures() -> Vec<(&'static str, &'static str)> {
    vec![
        ("arn:aws:s3::123456789012:account-public-access-block", "s3-account-block-public-access-off"),
        ("arn:aws:s3:::a-access-logs", "s3-bucket-access-logging-disabled"),
        ("arn:aws:s3:::a-access-logs", "s3-bucket-acls-enabled"),
        ("arn:aws:s3:::a-access-logs", "s3-bucket-block-public-access-off"),
        ("arn:aws:s3:::a-access-logs", "s3-bucket-default-encryption-missing"),
        ("arn:aws:s3:::a-access-logs", "s3-bucket-default-encryption-not-kms"),
        ("arn:aws:s3:::a-access-logs", "s3-bucket-insecure-transport-allowed"),
        ("arn:aws:s3:::a-access-logs", "s3-bucket-lifecycle-missing"),
        ("arn:aws:s3:::a-access-logs", "s3-bucket-object-lock-disabled"),
        ("arn:aws:s3:::a-open-bucket", "s3-bucket-access-logging-disabled"),
        ("arn:aws:s3:::a-open-bucket", "s3-bucket-acls-enabled"),
        ("arn:aws:s3:::a-open-bucket", "s3-bucket-block-public-access-off"),
        ("arn:aws:s3:::a-open-bucket", "s3-bucket-default-encryption-missing"),
        ("arn:aws:s3:::a-open-bucket", "s3-bucket-default-encryption-not-kms"),
        ("arn:aws:s3:::a-open-bucket", "s3-bucket-insecure-transport-allowed"),
        ("arn:aws:s3:::a-open-bucket", "s3-bucket-lifecycle-missing"),
        ("arn:aws:s3:::a-open-bucket", "s3-bucket-object-lock-disabled"),
        ("arn:aws:s3:::a-open-bucket", "s3-bucket-public-read-acl"),
        ("arn:aws:s3:::b-public-policy", "s3-bucket-access-logging-disabled"),
        ("arn:aws:s3:::b-public-policy", "s3-bucket-acls-enabled"),
        ("arn:aws:s3:::b-public-policy", "s3-bucket-default-encryption-missing"),
        ("arn:aws:s3:::b-public-policy", "s3-bucket-default-encryption-not-kms"),
        ("arn:aws:s3:::b-public-policy", "s3-bucket-insecure-transport-allowed"),
        ("arn:aws:s3:::b-public-policy", "s3-bucket-lifecycle-missing"),
        ("arn:aws:s3:::b-public-policy", "s3-bucket-object-lock-disabled"),
        ("arn:aws:s3:::b-public-policy", "s3-bucket-public-access-blocked-only-by-bpa"),
    ]
}
