//! Opens the store a command names and wires the engine over it.

use anyhow::{Context, Result};
use qrie_engine::sim::{SimCloud, SimEstate};
use qrie_engine::{CloudRouter, Engine};
use qrie_store::Store;
use std::sync::{Arc, RwLock};

pub struct Ctx {
    pub store: Arc<dyn Store>,
}

impl Ctx {
    pub fn open(url: &str) -> Result<Self> {
        let store = qrie_store::open(url).with_context(|| format!("opening store {url}"))?;
        Ok(Ctx { store })
    }

    /// An engine that can read no cloud: enough for everything that works from
    /// the stored inventory (policy sweeps, management, listings).
    pub fn engine(&self) -> Engine {
        Engine::new(self.store.clone(), Arc::new(CloudRouter { simulated: None, aws: None }))
    }

    /// An engine that reads accounts: simulated ones from the estate saved in
    /// this store (loaded here, which regenerates it from its seed).
    pub async fn engine_with_cloud(&self) -> Result<(Engine, Option<Arc<RwLock<SimEstate>>>)> {
        let estate = SimEstate::load(&*self.store).await?.map(|e| Arc::new(RwLock::new(e)));
        let simulated = estate.clone().map(|e| Arc::new(SimCloud::new(e)) as Arc<dyn qrie_engine::Cloud>);
        let cloud = CloudRouter { simulated, aws: None };
        Ok((Engine::new(self.store.clone(), Arc::new(cloud)), estate))
    }
}
