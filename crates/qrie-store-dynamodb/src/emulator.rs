//! A local DynamoDB for tests and trials: moto's server ([`qrie_moto`]) with
//! the DynamoDB clients and store URLs that reach it.

use aws_config::{BehaviorVersion, Region};
use aws_sdk_dynamodb::config::Credentials;
use aws_sdk_dynamodb::Client;
use qrie_moto::MotoServer;
pub use qrie_moto::{ACCESS_KEY, REGION};
use std::sync::OnceLock;

/// moto's server, stopped when dropped (see [`qrie_moto`]).
pub struct Moto {
    server: MotoServer,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
}

impl Moto {
    /// Starts a server and waits until it answers. Panics (with the fix) if moto is missing.
    pub fn start() -> Moto {
        let server = MotoServer::start();
        let endpoint = server.endpoint.clone();
        Moto { server, endpoint }
    }

    /// One server for the whole test process, started on first use.
    pub fn shared() -> &'static Moto {
        static SHARED: OnceLock<Moto> = OnceLock::new();
        SHARED.get_or_init(Moto::start)
    }

    /// The store URL of this emulator with tables under `prefix`.
    pub fn store_url(&self, prefix: &str) -> String {
        format!("dynamodb://?endpoint={}&prefix={prefix}&region={REGION}", self.endpoint)
    }

    /// The environment a process needs to reach the emulator (fixed test credentials).
    pub fn env() -> [(&'static str, &'static str); 3] {
        [("AWS_ACCESS_KEY_ID", ACCESS_KEY), ("AWS_SECRET_ACCESS_KEY", ACCESS_KEY), ("AWS_REGION", REGION)]
    }

    /// A client of the emulator; `customize` may add interceptors and the like.
    pub async fn client_with(
        &self,
        customize: impl FnOnce(aws_sdk_dynamodb::config::Builder) -> aws_sdk_dynamodb::config::Builder,
    ) -> Client {
        let shared = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(&self.endpoint)
            .credentials_provider(Credentials::new(ACCESS_KEY, ACCESS_KEY, None, None, "moto"))
            .load()
            .await;
        Client::from_conf(customize(aws_sdk_dynamodb::config::Builder::from(&shared)).build())
    }

    pub async fn client(&self) -> Client {
        self.client_with(|b| b).await
    }

    /// Wipes every table.
    pub fn reset(&self) {
        self.server.reset()
    }
}
