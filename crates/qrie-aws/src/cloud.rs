//! [`AwsCloud`]: credentials per account, clients per listing, and the
//! dispatch of the engine's `list`/`describe` to the service modules.

use async_trait::async_trait;
use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::sts::AssumeRoleProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_runtime_api::client::identity::SharedIdentityCache;
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use aws_types::sdk_config::SharedCredentialsProvider;
use qrie_engine::{Cloud, CloudError, Described, Listing, SweepUnit};
use qrie_model::{Account, Resource, Service};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::calls::CallLog;
use crate::read;
use crate::{ec2, iam, organizations, s3};

/// The role qrie assumes in an account whose record names no `role_arn` (other
/// than the account qrie runs in): `arn:aws:iam::<account>:role/qrie-read`.
pub const DEFAULT_ROLE_NAME: &str = "qrie-read";

/// The region used when neither `--region` nor the environment names one. S3's
/// bucket list, IAM and STS answer there for the whole account.
const FALLBACK_REGION: &str = "us-east-1";

#[derive(Debug, Clone)]
pub struct AwsOptions {
    /// Regions swept for accounts whose record names none; empty (the
    /// default): every region enabled for the account, as DescribeRegions
    /// answers it for the account at each sweep.
    pub regions: Vec<String>,
    /// Buckets read at once within one account (each bucket is ~14 calls).
    pub bucket_concurrency: usize,
    /// Per-resource EC2 calls (user data, snapshot and image permissions) made
    /// at once within one account and region.
    pub ec2_concurrency: usize,
    /// Extra interceptors on every client: fault injection in tests, custom
    /// logging. Empty in production.
    pub interceptors: Vec<SharedInterceptor>,
}

impl AwsOptions {
    pub fn new(regions: Vec<String>) -> AwsOptions {
        AwsOptions { regions, bucket_concurrency: 8, ec2_concurrency: 8, interceptors: Vec::new() }
    }
}

/// The engine's cloud on the AWS SDK. Cheap to share behind an `Arc`.
pub struct AwsCloud {
    base: SdkConfig,
    options: AwsOptions,
    /// The account the ambient credentials belong to (read without AssumeRole).
    ambient_account: tokio::sync::OnceCell<String>,
    /// One SDK configuration per (role, external id): its AssumeRole provider and
    /// identity cache keep the role's credentials and refresh them before they expire.
    assumed: Mutex<HashMap<(String, Option<String>), SdkConfig>>,
}

impl AwsCloud {
    /// The standard credential chain (environment, profile, SSO, IMDS...), the
    /// given profile and region, `AWS_ENDPOINT_URL` for emulators; adaptive retry
    /// and per-call timeouts.
    pub async fn from_env(profile: Option<&str>, region: Option<&str>) -> Result<AwsCloud, CloudError> {
        let region_chain = match region {
            Some(r) => RegionProviderChain::first_try(Region::new(r.to_string())),
            None => RegionProviderChain::default_provider(),
        }
        .or_else(FALLBACK_REGION);
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(region_chain)
            .retry_config(RetryConfig::adaptive().with_max_attempts(5))
            .timeout_config(default_timeouts());
        if let Some(p) = profile {
            loader = loader.profile_name(p);
        }
        let config = loader.load().await;
        if config.credentials_provider().is_none() {
            return Err(CloudError::Other("no AWS credentials provider could be configured".into()));
        }
        Ok(AwsCloud::new(config, AwsOptions::new(Vec::new())))
    }

    /// Over an SDK configuration built elsewhere (tests: a short retry budget).
    pub fn new(config: SdkConfig, options: AwsOptions) -> AwsCloud {
        // One identity cache for every client built from this configuration, so
        // that clients made per listing do not each fetch credentials anew.
        let config = config.into_builder().identity_cache(identity_cache()).build();
        AwsCloud { base: config, options, ambient_account: Default::default(), assumed: Default::default() }
    }

    /// An S3 client of qrie's own account and region (the archive's), not a
    /// monitored account's; path-style against emulators.
    pub fn own_s3(&self) -> aws_sdk_s3::Client {
        let builder =
            aws_sdk_s3::config::Builder::from(&self.base).force_path_style(self.base.endpoint_url().is_some());
        aws_sdk_s3::Client::from_conf(builder.build())
    }

    /// The account the ambient credentials belong to (one GetCallerIdentity, once).
    pub async fn ambient_account(&self) -> Result<String, CloudError> {
        self.ambient_account
            .get_or_try_init(|| async {
                let out = aws_sdk_sts::Client::new(&self.base)
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| read::cloud_error(&e))?;
                out.account()
                    .map(str::to_string)
                    .ok_or_else(|| CloudError::Other("GetCallerIdentity: no account".into()))
            })
            .await
            .cloned()
    }

    /// The role to assume for `account`, or `None` for the ambient account.
    async fn role_for(&self, account: &Account) -> Result<Option<String>, CloudError> {
        if let Some(role) = &account.role_arn {
            return Ok(Some(role.clone()));
        }
        if self.ambient_account().await? == account.account_id {
            return Ok(None);
        }
        Ok(Some(format!("arn:aws:iam::{}:role/{DEFAULT_ROLE_NAME}", account.account_id)))
    }

    async fn account_config(&self, account: &Account) -> Result<SdkConfig, CloudError> {
        let Some(role) = self.role_for(account).await? else {
            return Ok(self.base.clone());
        };
        let key = (role.clone(), account.external_id.clone());
        if let Some(config) = self.assumed.lock().unwrap_or_else(|p| p.into_inner()).get(&key) {
            return Ok(config.clone());
        }
        let mut builder = AssumeRoleProvider::builder(role).session_name("qrie").configure(&self.base);
        if let Some(external_id) = &account.external_id {
            builder = builder.external_id(external_id);
        }
        let provider = builder.build().await;
        let config = self
            .base
            .to_builder()
            .credentials_provider(SharedCredentialsProvider::new(provider))
            .identity_cache(identity_cache())
            .build();
        self.assumed.lock().unwrap_or_else(|p| p.into_inner()).entry(key).or_insert(config.clone());
        Ok(config)
    }

    fn region_of(&self, unit_region: Option<&str>) -> String {
        unit_region
            .map(str::to_string)
            .or_else(|| self.base.region().map(|r| r.to_string()))
            .unwrap_or_else(|| FALLBACK_REGION.to_string())
    }
}

fn default_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .operation_attempt_timeout(Duration::from_secs(30))
        .operation_timeout(Duration::from_secs(120))
        .build()
}

fn identity_cache() -> SharedIdentityCache {
    aws_config::identity::IdentityCache::lazy().build()
}

/// What a service module found: resources, and the sub-listings that failed
/// (any makes the listing incomplete).
#[derive(Default)]
pub(crate) struct Found {
    pub resources: Vec<Resource>,
    pub errors: Vec<String>,
}

/// The clients of one listing or describe, all counting into one [`CallLog`].
pub(crate) struct Clients {
    config: SdkConfig,
    pub log: CallLog,
    extra: Vec<SharedInterceptor>,
    s3: Mutex<HashMap<String, aws_sdk_s3::Client>>,
}

impl Clients {
    fn new(config: SdkConfig, extra: &[SharedInterceptor]) -> Clients {
        Clients { config, log: CallLog::default(), extra: extra.to_vec(), s3: Default::default() }
    }

    /// Interceptors every client carries: the call log, then the extra ones.
    pub(crate) fn interceptors(&self) -> impl Iterator<Item = SharedInterceptor> + '_ {
        std::iter::once(SharedInterceptor::new(self.log.clone())).chain(self.extra.iter().cloned())
    }

    /// The account's SDK configuration, for service modules that build their own clients.
    pub(crate) fn sdk_config(&self) -> &SdkConfig {
        &self.config
    }

    /// The account's home region (where global listings are made).
    pub fn home_region(&self) -> String {
        self.config.region().map(|r| r.to_string()).unwrap_or_else(|| FALLBACK_REGION.to_string())
    }

    fn emulated(&self) -> bool {
        self.config.endpoint_url().is_some()
    }

    /// An S3 client for a bucket's own region (real S3 redirects calls made
    /// elsewhere). Path-style addressing against emulators, which have no
    /// per-bucket host names.
    pub fn s3(&self, region: &str) -> aws_sdk_s3::Client {
        let mut clients = self.s3.lock().unwrap_or_else(|p| p.into_inner());
        clients
            .entry(region.to_string())
            .or_insert_with(|| {
                let mut builder = aws_sdk_s3::config::Builder::from(&self.config)
                    .region(Region::new(region.to_string()))
                    .force_path_style(self.emulated());
                for i in self.interceptors() {
                    builder.push_interceptor(i);
                }
                aws_sdk_s3::Client::from_conf(builder.build())
            })
            .clone()
    }

    /// An EC2 client for one region (EC2 is regional: one client per listing).
    pub fn ec2(&self, region: &str) -> aws_sdk_ec2::Client {
        let mut builder = aws_sdk_ec2::config::Builder::from(&self.config).region(Region::new(region.to_string()));
        for i in self.interceptors() {
            builder.push_interceptor(i);
        }
        aws_sdk_ec2::Client::from_conf(builder.build())
    }

    pub fn s3control(&self) -> aws_sdk_s3control::Client {
        let mut builder = aws_sdk_s3control::config::Builder::from(&self.config);
        for i in self.interceptors() {
            builder.push_interceptor(i);
        }
        if let Some(url) = self.config.endpoint_url() {
            // S3 Control's rules prefix the account id to the host
            // (`<account>.127.0.0.1`); an emulator only answers on its own host.
            builder = builder.endpoint_resolver(s3::FixedS3ControlEndpoint(url.to_string()));
        }
        aws_sdk_s3control::Client::from_conf(builder.build())
    }
}

#[async_trait]
impl Cloud for AwsCloud {
    /// The regions enabled for the account (those that need no opt-in, and
    /// the opted-in ones), as the account's own role sees them: one
    /// DescribeRegions in the home region. A region the account cannot use
    /// is not listed, so it is never a failed unit.
    async fn enabled_regions(&self, account: &Account) -> Result<Vec<String>, CloudError> {
        if !self.options.regions.is_empty() {
            return Ok(self.options.regions.clone());
        }
        let clients = Clients::new(self.account_config(account).await?, &self.options.interceptors);
        let out = clients
            .ec2(&clients.home_region())
            .describe_regions()
            .all_regions(false)
            .send()
            .await
            .map_err(|e| read::cloud_error(&e))?;
        let mut regions: Vec<String> = out
            .regions()
            .iter()
            .filter(|r| r.opt_in_status().is_none_or(|s| s != "not-opted-in"))
            .filter_map(|r| r.region_name().map(str::to_string))
            .collect();
        regions.sort();
        if regions.is_empty() {
            return Err(CloudError::Other(format!(
                "DescribeRegions named no region for account {}",
                account.account_id
            )));
        }
        Ok(regions)
    }

    async fn list(&self, account: &Account, unit: &SweepUnit) -> Result<Listing, CloudError> {
        let observed_at = chrono::Utc::now();
        let clients = Clients::new(self.account_config(account).await?, &self.options.interceptors);
        let id = &account.account_id;
        let found = match unit.service {
            Service::S3 => s3::list(&clients, id, self.options.bucket_concurrency, observed_at).await,
            Service::Ec2 => {
                let region = self.region_of(unit.region.as_deref());
                ec2::list(&clients, id, &region, self.options.ec2_concurrency, observed_at).await
            }
            Service::Iam => {
                // Access Analyzer is regional: its findings in every region swept.
                let regions = if account.regions.is_empty() {
                    self.enabled_regions(account).await?
                } else {
                    account.regions.clone()
                };
                iam::list(&clients, id, &regions, observed_at).await
            }
        };
        let (api_calls, throttles) = clients.log.snapshot();
        let found = found?;
        Ok(Listing {
            resources: found.resources,
            complete: found.errors.is_empty(),
            errors: found.errors,
            observed_at,
            api_calls,
            throttles,
        })
    }

    /// Read with the ambient credentials: qrie runs in the management account
    /// or a delegated administrator of Organizations.
    async fn discover_accounts(&self) -> Result<Option<Vec<qrie_engine::OrgAccount>>, CloudError> {
        let mut builder = aws_sdk_organizations::config::Builder::from(&self.base);
        for i in &self.options.interceptors {
            builder.push_interceptor(i.clone());
        }
        organizations::discover(&aws_sdk_organizations::Client::from_conf(builder.build())).await
    }

    async fn describe(&self, account: &Account, arn: &str) -> Result<Described, CloudError> {
        let observed_at = chrono::Utc::now();
        let clients = Clients::new(self.account_config(account).await?, &self.options.interceptors);
        let id = &account.account_id;
        let found = match arn.split(':').nth(2) {
            Some("s3") => s3::describe(&clients, id, arn, observed_at).await?,
            Some("ec2") => ec2::describe(&clients, id, arn, observed_at).await?,
            Some("iam" | "access-analyzer") => iam::describe(&clients, id, arn, observed_at).await?,
            _ => return Err(CloudError::UnknownResource(arn.to_string())),
        };
        Ok(match found {
            Some(resource) => Described::Present(Box::new(resource)),
            None => Described::Gone { observed_at },
        })
    }
}
