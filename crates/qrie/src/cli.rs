//! The command line, as clap derives it. `qrie --help` and `qrie CMD --help`
//! are the reference; docs/cli.md walks through them.

use clap::{Args, Parser, Subcommand, ValueEnum};
use qrie_model::{ScanType, Scope};

use crate::output::Format;

#[derive(Parser, Debug)]
#[command(
    name = "qrie",
    version,
    about = "Cloud security posture management for AWS: inventory, policies, findings, drift",
    long_about = "qrie inventories AWS accounts (S3, EC2, IAM), evaluates security policies against the \
inventory, keeps findings with a full lifecycle, and measures drift with scheduled anti-entropy sweeps.\n\n\
Start with `qrie demo --no-serve` to load a simulated estate into a local store, then explore with \
`qrie findings list`, `qrie summary` and `qrie policies list`."
)]
pub struct Cli {
    /// Where qrie keeps its data: sqlite:PATH (a file, created if needed), or
    /// dynamodb://[?endpoint=URL&prefix=P&region=R] (tables made by `qrie store init`).
    #[arg(long, global = true, env = "QRIE_STORE", default_value = "sqlite:qrie.db")]
    pub store: String,

    /// Output format of lists and documents.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub format: Format,

    /// AWS profile for reading real accounts (default: the standard credential chain).
    #[arg(long, global = true, env = "AWS_PROFILE")]
    pub profile: Option<String>,

    /// AWS region of the QOP account's clients (default: the profile's, else us-east-1).
    #[arg(long, global = true)]
    pub region: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Load the simulated estate, launch the default policies and run a bootstrap sweep.
    Demo(DemoArgs),
    /// Launch, change, suspend and delete policies; list the catalog.
    #[command(subcommand)]
    Policies(PoliciesCmd),
    /// Run sweeps over the stored inventory.
    #[command(subcommand)]
    Scan(ScanCmd),
    /// Observe accounts and store their resources (an inventory sweep).
    #[command(subcommand)]
    Inventory(InventoryCmd),
    /// Add, remove, list and scan monitored accounts.
    #[command(subcommand)]
    Accounts(AccountsCmd),
    /// List and inspect findings.
    #[command(subcommand)]
    Findings(FindingsCmd),
    /// Suppression rules: accept findings with a reason, an owner and an expiry.
    ///
    /// A suppressed finding keeps being evaluated and keeps its state; it is
    /// shown apart (dashboards and compliance count it separately) for as long
    /// as a rule in effect covers it. Expiring, disabling or deleting a rule
    /// unsuppresses its findings at once.
    #[command(subcommand)]
    Suppressions(SuppressionsCmd),
    /// The audit log: who changed rules, policies and findings, and when.
    Audit(AuditArgs),
    /// Where notices of finding transitions go: add, list, test, remove.
    ///
    /// Every transition (opened, reopened, resolved) is written to an outbox
    /// with the finding itself; the dispatcher (`qrie serve`, the AWS
    /// functions, or `qrie notifications dispatch`) delivers each notice to
    /// every integration whose route takes it, once, retrying failures.
    #[command(subcommand)]
    Integrations(IntegrationsCmd),
    /// The outbox: notices not yet delivered everywhere, failures, dead letters.
    #[command(subcommand)]
    Notifications(NotificationsCmd),
    /// Dashboard counts, or the drift the last anti-entropy sweeps measured.
    Summary(SummaryArgs),
    /// Running and past sweeps.
    #[command(subcommand)]
    Jobs(JobsCmd),
    /// Compliance posture per framework control: passing, failing (with finding counts), not evaluated.
    ///
    /// With --format ocsf and a framework: OCSF 1.5 Compliance Findings, one
    /// per active finding × control of the framework it fails (streamed).
    Compliance {
        /// cis-aws-3.0, nist-800-53-r5, pci-dss-4.0, hipaa or cmmc-2.0 (default: a summary of all).
        framework: Option<String>,
        #[command(flatten)]
        to: ExportArgs,
    },
    /// CloudTrail events: re-evaluate what they changed, explain routing, counters.
    #[command(subcommand)]
    Events(EventsCmd),
    /// Serve the web UI and the JSON API over HTTP (creates and prints an admin token if none exists).
    Serve(ServeArgs),
    /// API tokens: create (the token is shown once), list, revoke.
    #[command(subcommand)]
    Tokens(TokensCmd),
    /// The store itself: create its tables or file.
    #[command(subcommand)]
    Store(StoreCmd),
}

#[derive(Subcommand, Debug)]
pub enum StoreCmd {
    /// Create what --store needs, idempotently: DynamoDB tables (waiting until
    /// they are active, TTL on the summary table), or the SQLite file and schema.
    Init,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    #[command(flatten)]
    pub server: ServerArgs,
}

/// How much of the server clients may hold, and how it sits behind a proxy.
#[derive(Args, Debug, Clone)]
pub struct ServerArgs {
    /// Seconds a connection has to send a request's head, counted from when
    /// the server starts waiting for it: on a new connection, and between
    /// requests on a kept-alive one (so it is also the idle keep-alive timeout).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=3600), help_heading = "Server limits")]
    pub header_timeout: u64,
    /// Seconds a request has from its head to its response (reading its body
    /// included); past it the answer is 408.
    #[arg(long, default_value_t = 120, value_parser = clap::value_parser!(u64).range(1..=86_400), help_heading = "Server limits")]
    pub request_timeout: u64,
    /// Client connections open at once; more wait in the kernel's backlog.
    /// Lowered to what the process's descriptor limit allows, with a warning.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..=1_000_000), help_heading = "Server limits")]
    pub max_connections: u64,
    /// Requests handled at once (other than event ingestion); more wait up to
    /// 10 s for a slot, then get 503 with Retry-After.
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=100_000), help_heading = "Server limits")]
    pub max_requests: u64,
    /// `POST /api/events` requests handled at once (each may carry a whole
    /// CloudTrail file).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u64).range(1..=1_000), help_heading = "Server limits")]
    pub max_event_requests: u64,
    /// Mark the session cookie `Secure`: set it when browsers reach qrie over
    /// https (a TLS proxy in front of it).
    #[arg(long, help_heading = "Behind a proxy")]
    pub secure_cookies: bool,
    /// Trust the proxy in front of qrie for `X-Forwarded-Proto` (a `Secure`
    /// cookie when it says https) and `X-Forwarded-For` (its last address is
    /// the client's, for the failed-login limit). Only set it when every
    /// request comes through that proxy: clients can send these headers too.
    #[arg(long, help_heading = "Behind a proxy")]
    pub trust_proxy: bool,
    /// The address people reach the web UI at (https://qrie.example.com):
    /// findings exported through the API link to their page there.
    #[arg(long, env = "QRIE_PUBLIC_URL", value_name = "URL", value_parser = parse_public_url, help_heading = "Behind a proxy")]
    pub public_url: Option<String>,
    #[command(flatten)]
    pub archive: ArchiveToArgs,
}

/// Where findings go before they are purged.
#[derive(Args, Debug, Clone, Default)]
pub struct ArchiveToArgs {
    /// Where findings are archived (gzipped JSON Lines, with their whole
    /// history) before they are purged: a directory, or
    /// s3://BUCKET/PREFIX/[?kms-key=KEY] (written with qrie's own AWS
    /// credentials, SSE-KMS with that key, else SSE-S3). Default: the
    /// `archive` directory beside a SQLite store.
    #[arg(long = "archive-to", env = "QRIE_ARCHIVE_TO", value_name = "DIR|s3://BUCKET/PREFIX/")]
    pub archive_to: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum TokensCmd {
    /// Create a token; it is printed once and only its hash is stored.
    Create {
        /// viewer (read), operator (also sweeps and events) or admin (also policies, accounts, tokens).
        #[arg(long, value_parser = parse_role)]
        role: qrie_server::auth::Role,
        #[arg(long)]
        name: Option<String>,
    },
    /// Every token (never the secret), revoked ones included.
    List,
    /// Revoke a token by id; its sessions end with it.
    Revoke { id: String },
}

fn parse_role(s: &str) -> Result<qrie_server::auth::Role, String> {
    s.parse().map_err(|e: qrie_model::ValidationError| e.to_string())
}

#[derive(Subcommand, Debug)]
pub enum EventsCmd {
    /// Process CloudTrail input: each changed resource is re-read, stored and re-evaluated.
    ///
    /// Accepts CloudTrail log files ({"Records": [...]}, plain or gzip), EventBridge events,
    /// bare records, JSON arrays or lines of them, CloudTrail Event history items and SQS/SNS
    /// messages carrying any of these. `-` reads standard input.
    Ingest {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<String>,
    },
    /// Show, without side effects, what qrie decides for each event and which resources it touches.
    Explain {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<String>,
    },
    /// What the event path has processed, skipped (by reason) and not understood (by name).
    Stats,
    /// Long-poll an SQS queue of CloudTrail events (e.g. filled by an EventBridge rule)
    /// and process each message like `ingest`.
    ///
    /// A message is deleted only after its events were processed. One that fails
    /// (undecodable, or a resource it names could not be re-read) stays on the queue, so
    /// SQS retries it and the queue's redrive policy moves it to its dead-letter queue
    /// after maxReceiveCount; each failure is logged with its reason. Ctrl-C stops after
    /// the current batch. Credentials, region and AWS_ENDPOINT_URL as for every AWS call.
    Poll(PollArgs),
}

#[derive(Args, Debug)]
pub struct PollArgs {
    /// The queue's URL (https://sqs.REGION.amazonaws.com/ACCOUNT/NAME).
    #[arg(long)]
    pub queue_url: String,
    /// Long-poll wait of each receive, in seconds (SQS allows 0 to 20).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(i32).range(0..=20))]
    pub wait_seconds: i32,
    /// Messages per receive (SQS allows 1 to 10).
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(i32).range(1..=10))]
    pub max_messages: i32,
    /// One receive (one batch), then exit.
    #[arg(long)]
    pub once: bool,
}

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct DemoArgs {
    #[command(subcommand)]
    pub action: Option<DemoCmd>,
    /// Number of simulated accounts.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub accounts: u64,
    /// Resources per account, besides account-level settings.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u64).range(0..=1_000_000))]
    pub resources_per_account: u64,
    /// Seed of the estate: the same seed gives the same estate.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Replace the demo estate this store already holds.
    #[arg(long)]
    pub reset: bool,
    /// Exit after loading instead of serving.
    #[arg(long)]
    pub no_serve: bool,
    /// Where to serve when not --no-serve.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    #[command(flatten)]
    pub server: ServerArgs,
    /// Seconds between the gentle changes the estate makes while served (0: none).
    #[arg(long, default_value_t = 20)]
    pub change_every: u64,
}

#[derive(Subcommand, Debug)]
pub enum DemoCmd {
    /// Apply realistic configuration changes to the simulated estate.
    ///
    /// Each change has the CloudTrail record AWS would write for it. By default the
    /// records go through the event path, so findings open and resolve at once;
    /// with --silent they are dropped, so only an anti-entropy sweep can notice the
    /// change: that is how drift is demonstrated. --print-records prints them as
    /// JSON lines instead (for `qrie events explain -` or `ingest -`).
    Change(DemoChangeArgs),
}

#[derive(Args, Debug)]
pub struct DemoChangeArgs {
    /// Number of changes.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub count: u64,
    /// Seed of the changes (default: continue from the estate's own sequence).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Drop the CloudTrail records: the events path never hears of the changes.
    #[arg(long, conflicts_with = "print_records")]
    pub silent: bool,
    /// Print the CloudTrail records as JSON lines instead of processing them.
    #[arg(long)]
    pub print_records: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum PolicyStatusArg {
    Active,
    Paused,
    Suspended,
    Available,
    All,
}

#[derive(Subcommand, Debug)]
pub enum PoliciesCmd {
    /// List policies: active, paused, suspended, available (the whole catalog) or all.
    List {
        #[arg(long, value_enum, default_value_t = PolicyStatusArg::All)]
        status: PolicyStatusArg,
    },
    /// Show one policy's full definition and launch settings.
    Show { policy_id: String },
    /// Launch a policy: it then scans every resource in scope (a bootstrap sweep).
    Launch {
        policy_id: String,
        #[command(flatten)]
        scope: ScopeArgs,
        #[command(flatten)]
        overrides: OverrideArgs,
    },
    /// Change a launched policy's scope, severity, remediation or parameters.
    ///
    /// Scope flags, when any is given, replace the whole scope. A change of
    /// scope, severity or parameters re-scans the policy: what left the scope
    /// is resolved (OUT_OF_SCOPE).
    Update {
        policy_id: String,
        #[command(flatten)]
        scope: ScopeArgs,
        /// Reset the scope to everything.
        #[arg(long, conflicts_with_all = ["accounts", "exclude_accounts", "ous", "exclude_ous", "regions", "exclude_regions", "tags", "exclude_tags"])]
        clear_scope: bool,
        #[command(flatten)]
        overrides: OverrideArgs,
        /// Go back to the catalog's default severity.
        #[arg(long, conflicts_with = "severity")]
        clear_severity: bool,
    },
    /// Suspend a policy: its active findings are resolved (POLICY_SUSPENDED).
    Suspend(PurgeArgs),
    /// Pause a policy: events and sweeps skip it; its findings keep their
    /// state (shown as paused) until it is resumed.
    Pause { policy_id: String },
    /// Resume a paused policy: everything in its scope is evaluated again.
    Resume { policy_id: String },
    /// Delete a launched policy: its active findings are resolved
    /// (POLICY_DELETED); with --purge, every finding of it is then archived
    /// and deleted for good.
    Delete(DeleteArgs),
}

#[derive(Args, Debug)]
pub struct DeleteArgs {
    #[command(flatten)]
    pub common: PurgeArgs,
    /// Then archive every finding of the policy (with its history) and delete
    /// them from the store for good. Asks for the policy id to be typed
    /// again, unless --yes. Nothing is purged if the archive cannot be written.
    #[arg(long)]
    pub purge: bool,
    #[command(flatten)]
    pub archive: ArchiveToArgs,
}

#[derive(Args, Debug)]
pub struct PurgeArgs {
    pub policy_id: String,
    /// Write the findings about to be resolved to this JSON file first.
    #[arg(long, value_name = "FILE")]
    pub archive: Option<std::path::PathBuf>,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

/// Include/exclude lists; each flag takes a comma-separated list or repeats.
#[derive(Args, Debug, Default, Clone)]
pub struct ScopeArgs {
    /// Only these account ids.
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    pub accounts: Vec<String>,
    /// Never these account ids.
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    pub exclude_accounts: Vec<String>,
    /// Only accounts under these Organizations OUs (anywhere on the path).
    #[arg(long, value_delimiter = ',', value_name = "OU")]
    pub ous: Vec<String>,
    /// Never accounts under these OUs.
    #[arg(long, value_delimiter = ',', value_name = "OU")]
    pub exclude_ous: Vec<String>,
    /// Only these regions (global resources such as IAM are not region-scoped).
    #[arg(long, value_delimiter = ',', value_name = "REGION")]
    pub regions: Vec<String>,
    /// Never these regions.
    #[arg(long, value_delimiter = ',', value_name = "REGION")]
    pub exclude_regions: Vec<String>,
    /// Only resources with one of these tags: KEY or KEY=VALUE.
    #[arg(long, value_delimiter = ',', value_name = "TAG")]
    pub tags: Vec<String>,
    /// Never resources with one of these tags.
    #[arg(long, value_delimiter = ',', value_name = "TAG")]
    pub exclude_tags: Vec<String>,
}

impl ScopeArgs {
    pub fn is_empty(&self) -> bool {
        [
            &self.accounts,
            &self.exclude_accounts,
            &self.ous,
            &self.exclude_ous,
            &self.regions,
            &self.exclude_regions,
            &self.tags,
            &self.exclude_tags,
        ]
        .iter()
        .all(|v| v.is_empty())
    }

    /// Parses and validates into a scope; errors name the bad entry.
    pub fn to_scope(&self) -> Result<Scope, qrie_model::ValidationError> {
        let tags = |v: &[String]| v.iter().map(|t| t.parse()).collect::<Result<Vec<_>, _>>();
        let scope = Scope {
            include_accounts: self.accounts.clone(),
            exclude_accounts: self.exclude_accounts.clone(),
            include_ous: self.ous.clone(),
            exclude_ous: self.exclude_ous.clone(),
            include_regions: self.regions.clone(),
            exclude_regions: self.exclude_regions.clone(),
            include_tags: tags(&self.tags)?,
            exclude_tags: tags(&self.exclude_tags)?,
        };
        scope.validate()?;
        Ok(scope)
    }
}

#[derive(Args, Debug, Default, Clone)]
pub struct OverrideArgs {
    /// Severity override, 0-100.
    #[arg(long, value_parser = clap::value_parser!(i64).range(0..=100))]
    pub severity: Option<i64>,
    /// Remediation text shown instead of the catalog's.
    #[arg(long)]
    pub remediation: Option<String>,
    /// Parameter override NAME=VALUE (value parsed as JSON when it can be, e.g. max_age_days=30).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum ScanCmd {
    /// Re-evaluate the stored inventory against active policies.
    Policies {
        /// Only this policy.
        #[arg(long)]
        policy: Option<String>,
        #[arg(long, value_parser = parse_scan_type, default_value = "bootstrap")]
        scan_type: ScanType,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum ServiceArg {
    All,
    S3,
    Ec2,
    Iam,
}

#[derive(Subcommand, Debug)]
pub enum InventoryCmd {
    /// List resources from the cloud, store them and evaluate them.
    ///
    /// bootstrap (the default) establishes a baseline and records no drift;
    /// anti-entropy is the scheduled sweep that records what events missed.
    Generate {
        #[arg(long, value_enum, default_value_t = ServiceArg::All)]
        service: ServiceArg,
        /// Only this account (repeatable).
        #[arg(long, value_name = "ID")]
        account: Vec<String>,
        /// Only this region of each account's swept regions (repeatable; a filter).
        #[arg(long, value_name = "REGION")]
        region: Vec<String>,
        #[arg(long, value_parser = parse_scan_type, default_value = "bootstrap")]
        scan_type: ScanType,
        /// Anti-entropy: a create or change AWS dates less than this many
        /// minutes before the listing is not counted as missed (its event may
        /// still be on the way); counted as within grace instead.
        #[arg(long, value_name = "MINUTES", default_value_t = 10)]
        drift_grace_minutes: u32,
        /// Units (account, service, region) listed at once (default: one per core).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=256))]
        workers: Option<u64>,
    },
    /// List stored resources.
    List {
        #[arg(long)]
        account: Option<String>,
        #[arg(long, value_enum)]
        service: Option<ServiceArg>,
        #[arg(long)]
        region: Option<String>,
        /// Resource type, e.g. AWS::S3::Bucket.
        #[arg(long = "type", value_name = "TYPE")]
        resource_type: Option<String>,
        /// Case-insensitive part of the name or ARN.
        #[arg(long)]
        search: Option<String>,
        /// Include resources observed deleted.
        #[arg(long)]
        include_deleted: bool,
        /// At most this many resources (default: all).
        #[arg(long)]
        limit: Option<usize>,
    },
    /// One resource with its full configuration and its findings.
    Show { arn: String },
}

#[derive(Subcommand, Debug)]
pub enum AccountsCmd {
    /// Monitor an account. It is flagged as not baselined until its first full sweep.
    Add {
        account_id: String,
        #[arg(long)]
        name: Option<String>,
        /// Role qrie assumes to read the account.
        #[arg(long)]
        role_arn: Option<String>,
        #[arg(long)]
        external_id: Option<String>,
        /// Only these regions (repeatable). Default: every region enabled for the
        /// account (EC2 DescribeRegions, opted-in ones included), read again by
        /// each inventory sweep; a region that refuses is a recorded unit error.
        #[arg(long, value_name = "REGION")]
        region: Vec<String>,
    },
    /// Stop monitoring an account (soft delete: its inventory and findings stay).
    Remove {
        account_id: String,
        /// Also delete its inventory and findings, for good.
        #[arg(long)]
        hard: bool,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// List accounts with their baseline flag.
    List {
        /// Include removed accounts.
        #[arg(long)]
        all: bool,
    },
    /// Add the organization's member accounts, or update their OU paths.
    ///
    /// Reads AWS Organizations with the ambient credentials (the management
    /// account or a delegated administrator): ListAccounts, and each account's
    /// OU path. New accounts are added with source `organizations`, not
    /// baselined; removed accounts stay removed. From then on the weekly
    /// anti-entropy sweep (`inventory generate --scan-type anti-entropy` over everything) does the same first.
    Discover,
    /// Run an inventory sweep of one account.
    Scan {
        account_id: String,
        #[arg(long, value_parser = parse_scan_type, default_value = "bootstrap")]
        scan_type: ScanType,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum StateArg {
    Active,
    Resolved,
    All,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum SortArg {
    /// Most severe first.
    Severity,
    /// Most recently evaluated first.
    Recent,
    /// By resource ARN, then policy.
    Arn,
}

#[derive(Subcommand, Debug)]
pub enum FindingsCmd {
    /// List findings (active ones by default).
    List {
        #[command(flatten)]
        query: FindingQueryArgs,
        /// At most this many findings (default: all).
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Export findings for other tools, streamed (any number of findings in
    /// bounded memory): --format ocsf (OCSF 1.5 Detection Findings: Create,
    /// Update once reopened, Close once resolved), asff (Security Hub's
    /// format, resolved findings ARCHIVED), csv or jsonl. The filters are
    /// `findings list`'s; `--state all` includes resolved findings.
    #[command(after_help = "Examples:\n  qrie --format ocsf findings export --state all -o findings.ocsf.jsonl\n  \
qrie --format asff findings export --severity-min 70 | jq -s '{Findings: .[:100]}'\n  \
qrie --format csv findings export --account 111122223333 > findings.csv")]
    Export {
        #[command(flatten)]
        query: FindingQueryArgs,
        #[command(flatten)]
        to: ExportArgs,
    },
    /// One finding with its evidence, remediation and history.
    Show { arn: String, policy: String },
    /// Archive resolved findings (with their whole history, as gzipped JSON
    /// Lines) and then delete them from the store: retention. Active findings
    /// are never archived. Nothing is deleted if the archive cannot be
    /// written, and a finding that changes meanwhile is kept.
    Archive {
        /// Only findings resolved at least this long ago: 90d, 12w, 0d (every
        /// resolved finding).
        #[arg(long, value_name = "DURATION", value_parser = parse_age)]
        older_than: chrono::Duration,
        #[arg(long)]
        policy: Option<String>,
        #[arg(long)]
        account: Option<String>,
        #[command(flatten)]
        archive: ArchiveToArgs,
        /// Count what would be archived; write and delete nothing.
        #[arg(long)]
        dry_run: bool,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum IntegrationsCmd {
    /// Add an integration.
    #[command(subcommand)]
    Add(AddIntegration),
    /// Every integration, with its route (secrets and URL queries not shown).
    List,
    /// Send a test notice through an integration now (not through the outbox).
    Test { id: String },
    /// Remove an integration; notices not yet delivered to it are not sent.
    Remove {
        id: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum AddIntegration {
    /// A JSON POST per notice, signed with HMAC-SHA256 (docs/integrations.md
    /// says how to verify it).
    Webhook {
        /// Its id: letters, digits, - and _.
        id: String,
        /// https://… (http only to a loopback address).
        #[arg(long)]
        url: String,
        /// The signing secret, by name: env:NAME (read where the dispatcher
        /// runs; the secret itself is never stored).
        #[arg(long, value_name = "env:NAME")]
        secret: Option<String>,
        #[command(flatten)]
        route: RouteArgs,
    },
    /// A Slack incoming webhook: one Block Kit message per notice (severity,
    /// resource, policy, a link to the finding when --public-url is known).
    Slack {
        id: String,
        /// The webhook URL, by name: env:NAME (the URL is itself the secret,
        /// so it is never stored).
        #[arg(long = "url-from", value_name = "env:NAME")]
        url_from: String,
        #[command(flatten)]
        route: RouteArgs,
    },
}

/// Which notices an integration gets.
#[derive(Args, Debug, Clone)]
pub struct RouteArgs {
    /// Only findings at least this severe (0-100).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub min_severity: Option<u8>,
    /// Only findings of these policies (repeat the option for several).
    #[arg(long = "policy", value_name = "ID")]
    pub policies: Vec<String>,
    /// Only findings in these accounts.
    #[arg(long = "account", value_name = "ID")]
    pub accounts: Vec<String>,
    /// Only these transitions (default: opened, reopened and resolved).
    #[arg(long = "on", value_enum, value_delimiter = ',')]
    pub on: Vec<TransitionArg>,
    /// Transitions made by bootstrap sweeps one by one too (a first scan
    /// opens everything it finds: by default each sweep is one summary,
    /// sent when it has finished).
    #[arg(long)]
    pub include_bootstrap: bool,
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum TransitionArg {
    Opened,
    Reopened,
    Resolved,
}

#[derive(Subcommand, Debug)]
pub enum NotificationsCmd {
    /// Notices not yet delivered everywhere they go, oldest first, with each
    /// integration's delivery: pending, failing (its error and next attempt), dead.
    List {
        /// Only notices with a failing or dead delivery.
        #[arg(long)]
        failed: bool,
    },
    /// Deliver what is due now, once (`qrie serve` and the AWS functions do
    /// it continuously).
    Dispatch {
        #[command(flatten)]
        links: PublicUrlArgs,
    },
    /// Make dead deliveries pending again: one notice's, or every one.
    Retry {
        /// The notice id (`qrie notifications list --failed` shows them).
        notice: Option<String>,
    },
}

/// Where people reach qrie's web UI, for links to findings.
#[derive(Args, Debug, Clone)]
pub struct PublicUrlArgs {
    /// The web UI's address (https://qrie.example.com): exported findings and
    /// notices link to the finding's page there. Without it they carry no link.
    #[arg(long, env = "QRIE_PUBLIC_URL", value_name = "URL", value_parser = parse_public_url)]
    pub public_url: Option<String>,
}

/// Which findings: the filters `findings list` and `findings export` share.
#[derive(Args, Debug, Clone)]
pub struct FindingQueryArgs {
    #[arg(long, value_enum, default_value_t = StateArg::Active)]
    pub state: StateArg,
    #[arg(long)]
    pub policy: Option<String>,
    #[arg(long)]
    pub account: Option<String>,
    #[arg(long, value_enum)]
    pub service: Option<ServiceArg>,
    #[arg(long)]
    pub region: Option<String>,
    /// Only findings at least this severe (0-100).
    #[arg(long, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub severity_min: Option<u8>,
    /// The order (default: `findings list` most severe first; `findings
    /// export` the store's own order, the cheapest to read).
    #[arg(long, value_enum)]
    pub sort: Option<SortArg>,
    /// Include findings of removed accounts.
    #[arg(long)]
    pub include_removed: bool,
    /// Findings a suppression rule covers: no (the default), yes or all.
    #[arg(long, value_enum, default_value_t = SuppressedArg::No)]
    pub suppressed: SuppressedArg,
}

/// Where an export goes, and what its findings link to.
#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// Write to this file (complete or not at all: it appears when the
    /// export is done) instead of standard output.
    #[arg(long, short = 'o', value_name = "PATH")]
    pub output: Option<std::path::PathBuf>,
    #[command(flatten)]
    pub links: PublicUrlArgs,
}

fn parse_public_url(s: &str) -> Result<String, String> {
    let ok = (s.starts_with("https://") || s.starts_with("http://"))
        && s.len() > "https://".len()
        && !s.contains(['?', '#', ' ', '"', '<', '>']);
    if ok {
        Ok(s.trim_end_matches('/').to_string())
    } else {
        Err(format!("{s:?} is not a base URL: http(s)://HOST[:PORT][/PATH], no query"))
    }
}

fn parse_age(s: &str) -> Result<chrono::Duration, String> {
    qrie_model::suppression::parse_duration(s)
        .unwrap_or_else(|| Err(format!("{s:?} is not a duration: a count and m, h, d or w (90d, 12w)")))
}

#[derive(Clone, Copy, Debug, ValueEnum, Default)]
pub enum SummaryKind {
    #[default]
    Dashboard,
    Drift,
}

#[derive(Args, Debug)]
pub struct SummaryArgs {
    #[arg(value_enum, default_value_t = SummaryKind::Dashboard)]
    pub kind: SummaryKind,
    /// Recompute instead of using the one-hour cache.
    #[arg(long)]
    pub fresh: bool,
}

#[derive(Subcommand, Debug)]
pub enum JobsCmd {
    /// Recent jobs, newest first.
    List {
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// One job with its counts and errors.
    Show { job_id: String },
    /// Resume an interrupted sweep (inventory or policy): run the units it
    /// had not finished, then end it as if it had never stopped.
    ///
    /// A sweep is interrupted when whoever ran it stopped (Ctrl-C, kill -9, a
    /// crash, a Lambda timeout): `qrie jobs list` shows it so within a minute.
    /// `qrie serve` resumes interrupted sweeps by itself.
    Resume {
        /// The interrupted job's id, as `qrie jobs list` shows it.
        job_id: String,
        /// Units listed at once, for an inventory sweep (default: one per core).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=256))]
        workers: Option<u64>,
    },
}

fn parse_scan_type(s: &str) -> Result<ScanType, String> {
    s.parse().map_err(|e: qrie_model::ValidationError| e.to_string())
}

#[derive(Clone, Copy, Debug, ValueEnum, PartialEq, Eq)]
pub enum SuppressedArg {
    No,
    Yes,
    All,
}

/// What a suppression rule covers. Every option given must match; a list
/// matches any of its entries, except tags, which must all match.
#[derive(Args, Debug, Default, Clone)]
pub struct RuleScopeArgs {
    /// Findings of these policies.
    #[arg(long = "policy", value_delimiter = ',', value_name = "POLICY")]
    pub policies: Vec<String>,
    /// Findings in these accounts.
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    pub accounts: Vec<String>,
    /// Findings in accounts under these Organizations OUs.
    #[arg(long, value_delimiter = ',', value_name = "OU")]
    pub ous: Vec<String>,
    /// Findings in these regions (`global` for IAM and account settings).
    #[arg(long, value_delimiter = ',', value_name = "REGION")]
    pub regions: Vec<String>,
    /// Findings on this resource ARN, or on ARNs matching a glob (`*`, `?`).
    #[arg(long, value_name = "ARN")]
    pub arn: Option<String>,
    /// Findings on resources with all of these tags: KEY or KEY=VALUE.
    #[arg(long, value_delimiter = ',', value_name = "TAG")]
    pub tags: Vec<String>,
    /// Exactly one finding, named by its resource ARN and policy: ARN POLICY.
    #[arg(long, num_args = 2, value_names = ["ARN", "POLICY"])]
    pub finding: Vec<String>,
}

impl RuleScopeArgs {
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
            && self.accounts.is_empty()
            && self.ous.is_empty()
            && self.regions.is_empty()
            && self.arn.is_none()
            && self.tags.is_empty()
            && self.finding.is_empty()
    }

    pub fn to_scope(&self) -> Result<qrie_model::suppression::SuppressionScope, qrie_model::ValidationError> {
        let scope = qrie_model::suppression::SuppressionScope {
            policies: self.policies.clone(),
            accounts: self.accounts.clone(),
            ous: self.ous.clone(),
            regions: self.regions.clone(),
            arn: self.arn.clone(),
            tags: self.tags.iter().map(|t| t.parse()).collect::<Result<_, _>>()?,
            finding: match self.finding.as_slice() {
                [arn, policy] => Some(qrie_model::suppression::FindingKey { arn: arn.clone(), policy: policy.clone() }),
                _ => None,
            },
        };
        scope.validate()?;
        Ok(scope)
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum RuleStatusArg {
    Active,
    Expiring,
    Expired,
    Disabled,
    Deleted,
    All,
}

#[derive(Subcommand, Debug)]
pub enum SuppressionsCmd {
    /// Create a rule. It shows what it suppresses now; `preview` shows it before.
    Add {
        #[command(flatten)]
        scope: RuleScopeArgs,
        /// Why these findings are accepted (3 to 1000 characters).
        #[arg(long)]
        reason: String,
        /// accepted-risk, false-positive, compensating-control or by-design.
        #[arg(long)]
        category: String,
        /// Who answers for the rule (a team or a person).
        #[arg(long)]
        owner: String,
        /// When it stops suppressing: a duration (30d, 12h, 2w), a date
        /// (2027-01-31, at 00:00 UTC) or an RFC 3339 time. Default: never.
        #[arg(long)]
        expires: Option<String>,
    },
    /// List rules: active (default), expiring (within 14 days), expired, disabled, deleted or all.
    List {
        #[arg(long, value_enum, default_value_t = RuleStatusArg::Active)]
        status: RuleStatusArg,
    },
    /// One rule, and the findings it suppresses now.
    Show { id: String },
    /// Change a rule. Scope options, when any is given, replace the whole scope.
    Edit {
        id: String,
        #[command(flatten)]
        scope: RuleScopeArgs,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        category: Option<String>,
        #[arg(long)]
        owner: Option<String>,
        /// A new expiry (as for `add`).
        #[arg(long, conflicts_with = "no_expiry")]
        expires: Option<String>,
        /// Remove the expiry.
        #[arg(long)]
        no_expiry: bool,
    },
    /// Disable a rule: its findings are unsuppressed at once.
    Disable { id: String },
    /// Re-enable a disabled rule.
    Enable { id: String },
    /// Delete a rule (kept as deleted, with its audit trail): its findings are unsuppressed at once.
    Delete {
        id: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// What a rule with this scope would suppress now, by policy and account.
    Preview {
        #[command(flatten)]
        scope: RuleScopeArgs,
    },
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// From this time (RFC 3339 or a date; default: 30 days ago).
    #[arg(long)]
    pub since: Option<String>,
    /// Up to this time (default: now).
    #[arg(long)]
    pub until: Option<String>,
    /// Only this actor (token:NAME, cli:USER or qrie).
    #[arg(long)]
    pub actor: Option<String>,
    /// Only this action (suppression.create, policy.pause, findings.purge, ...).
    #[arg(long)]
    pub action: Option<String>,
    /// Only entries about this rule or policy id.
    #[arg(long)]
    pub target: Option<String>,
    /// At most this many entries, newest first (1-1000).
    #[arg(long, default_value_t = 100)]
    pub limit: usize,
}
