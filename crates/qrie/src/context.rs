//! Opens the store a command names and wires the engine over it.

use anyhow::{Context, Result};
use qrie_engine::archive::{ArchiveSink, DirSink};
use qrie_engine::sim::{SimCloud, SimEstate};
use qrie_engine::{CloudRouter, Engine};
use qrie_model::AccountSource;
use qrie_store::Store;
use std::sync::{Arc, RwLock};

pub struct Ctx {
    pub store: Arc<dyn Store>,
    /// `--profile` / `--region` for the AWS collectors.
    pub aws_profile: Option<String>,
    pub aws_region: Option<String>,
    /// The URL the store was opened from.
    pub store_url: String,
    /// The AWS clients, made on first need and kept for the process's life
    /// (a Lambda container serves many invocations with them, and their
    /// credential and assumed-role caches).
    aws: tokio::sync::OnceCell<Arc<dyn qrie_engine::Cloud>>,
}

/// Opens the store a URL names: `dynamodb://[?endpoint=URL&prefix=P&region=R]`
/// (tables that must exist: `qrie store init`), else `sqlite:PATH` or a bare
/// path (created and migrated if needed). The one way every entry point (CLI,
/// Lambda) opens a store.
pub async fn open_store(url: &str) -> Result<Arc<dyn Store>> {
    let opened = if is_dynamodb(url) { qrie_store_dynamodb::open(url).await } else { qrie_store::open(url) };
    opened.with_context(|| format!("opening store {url}"))
}

/// Creates what the store needs, idempotently: DynamoDB tables (waiting until
/// active), or the SQLite file and its schema. Returns where the store is.
pub async fn init_store(url: &str) -> Result<String> {
    if is_dynamodb(url) {
        let store =
            qrie_store_dynamodb::DynamoStore::open(url).await.with_context(|| format!("opening store {url}"))?;
        store.init().await.with_context(|| format!("creating the tables of {url}"))?;
        return Ok(qrie_store::Located::location(&store));
    }
    Ok(open_store(url).await?.location())
}

fn is_dynamodb(url: &str) -> bool {
    url.trim_start().starts_with("dynamodb:")
}

impl Ctx {
    pub async fn open(url: &str, aws_profile: Option<String>, aws_region: Option<String>) -> Result<Self> {
        let store = open_store(url).await?;
        Ok(Ctx { store, aws_profile, aws_region, store_url: url.to_string(), aws: tokio::sync::OnceCell::new() })
    }

    /// An engine that can read no cloud: enough for everything that works from
    /// the stored inventory (policy sweeps, management, listings).
    pub fn engine(&self) -> Engine {
        Engine::new(self.store.clone(), Arc::new(CloudRouter { simulated: None, aws: None })).acting_as(&cli_actor())
    }

    /// An engine that reads accounts: simulated ones from the estate saved in
    /// this store (loaded here, which regenerates it from its seed), the others
    /// through the AWS SDK — set up only when the store has such accounts, so
    /// that a demo never waits on credential or region discovery.
    pub async fn engine_with_cloud(&self) -> Result<(Engine, Option<Arc<RwLock<SimEstate>>>)> {
        let estate = SimEstate::load(&*self.store).await?.map(|e| Arc::new(RwLock::new(e)));
        Ok((self.engine_with_estate(estate.clone()).await?, estate))
    }

    /// The same, over an estate the caller already holds.
    pub async fn engine_with_estate(&self, estate: Option<Arc<RwLock<SimEstate>>>) -> Result<Engine> {
        let simulated = estate.clone().map(|e| Arc::new(SimCloud::new(e)) as Arc<dyn qrie_engine::Cloud>);
        let real_accounts =
            self.store.list_accounts().await?.iter().any(|a| a.is_active() && a.source != AccountSource::Simulated);
        let aws = if real_accounts { Some(self.aws_cloud().await?) } else { None };
        let cloud = CloudRouter { simulated, aws };
        Ok(Engine::new(self.store.clone(), Arc::new(cloud)).acting_as(&cli_actor()))
    }

    /// An engine whose only cloud is AWS, for commands that read AWS before
    /// any account is known (Organizations discovery).
    pub async fn engine_with_aws(&self) -> Result<Engine> {
        let cloud = CloudRouter { simulated: None, aws: Some(self.aws_cloud().await?) };
        Ok(Engine::new(self.store.clone(), Arc::new(cloud)).acting_as(&cli_actor()))
    }

    /// Where findings are archived before a purge: `to` (`--archive-to`, or
    /// `QRIE_ARCHIVE_TO`) — a directory, or `s3://bucket/prefix/` written with
    /// qrie's own AWS credentials — else an `archive` directory beside a
    /// SQLite store. `None` for a DynamoDB store without one.
    pub async fn archive_sink(&self, to: Option<&str>) -> Result<Option<Arc<dyn ArchiveSink>>> {
        let to = to.map(str::trim).filter(|t| !t.is_empty());
        let Some(to) = to else {
            if is_dynamodb(&self.store_url) {
                return Ok(None);
            }
            let path = self.store.location();
            let dir = std::path::Path::new(&path).parent().map(|p| p.join("archive"));
            return Ok(dir.map(|d| Arc::new(DirSink::new(d)) as Arc<dyn ArchiveSink>));
        };
        if to.starts_with("s3://") {
            let cloud =
                qrie_aws::AwsCloud::from_env(self.aws_profile.as_deref(), self.aws_region.as_deref()).await.context(
                    "setting up the AWS clients for the archive (check --profile, --region and AWS_* variables)",
                )?;
            let sink = qrie_aws::archive::S3Sink::new(&cloud, to).map_err(|e| anyhow::anyhow!("--archive-to: {e}"))?;
            return Ok(Some(Arc::new(sink)));
        }
        if to.contains("://") {
            anyhow::bail!("--archive-to {to:?}: expected a directory or s3://bucket/prefix/");
        }
        Ok(Some(Arc::new(DirSink::new(to))))
    }

    /// [`archive_sink`](Self::archive_sink), or the error that says how to name one.
    pub async fn required_archive_sink(&self, to: Option<&str>) -> Result<Arc<dyn ArchiveSink>> {
        self.archive_sink(to).await?.context(
            "a DynamoDB store has no default archive destination: pass --archive-to s3://bucket/prefix/ \
             (or set QRIE_ARCHIVE_TO); findings are always archived before they are purged",
        )
    }

    async fn aws_cloud(&self) -> Result<Arc<dyn qrie_engine::Cloud>> {
        let cloud = self
            .aws
            .get_or_try_init(|| async {
                let cloud = qrie_aws::AwsCloud::from_env(self.aws_profile.as_deref(), self.aws_region.as_deref())
                    .await
                    .context("setting up the AWS clients (check --profile, --region and AWS_* variables)")?;
                Ok::<_, anyhow::Error>(Arc::new(cloud) as Arc<dyn qrie_engine::Cloud>)
            })
            .await?;
        Ok(cloud.clone())
    }
}

/// How the audit log names a CLI user: `cli:` and the login name (`$USER`,
/// `$LOGNAME`, else the process owner's name in the password database, else
/// `uid-N`), never a made-up "unknown".
pub fn cli_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .ok()
        .filter(|u| !u.is_empty())
        .unwrap_or_else(process_owner);
    format!("cli:{}", qrie_model::text::terminal_safe(&user, false))
}

#[cfg(unix)]
fn process_owner() -> String {
    use std::os::unix::fs::MetadataExt;
    let Ok(uid) = std::fs::metadata("/proc/self").map(|m| m.uid()) else { return "unknown".into() };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 2 && f[2].parse() == Ok(uid))
        .map_or_else(|| format!("uid-{uid}"), |f| f[0].to_string())
}

#[cfg(not(unix))]
fn process_owner() -> String {
    "unknown".into()
}
