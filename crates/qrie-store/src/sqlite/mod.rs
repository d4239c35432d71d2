//! The embedded SQLite backend: one file in WAL mode, a small pool of
//! connections, and every call run on tokio's blocking pool so that SQLite's
//! synchronous I/O never stalls an async worker.

mod accounts;
mod cursor;
mod findings;
mod jobs;
mod kv;
mod policies;
mod pool;
mod query;
mod resources;
mod schema;
mod summary;

use rusqlite::{Connection, ErrorCode};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::{Located, Result, StoreError};
use pool::{Pool, Source};

/// The SQLite store. Cheap to clone; clones share one pool.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    location: String,
    pool: Pool,
    /// Files to remove once the last handle is gone (see [`SqliteStore::open_temporary`]).
    remove_on_drop: Option<PathBuf>,
}

impl SqliteStore {
    /// Opens (creating if needed) the store file at `path` and migrates its
    /// schema. A file that is not a qrie store is refused here, not at first use.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_source(Source::File(path.to_path_buf()), path.display().to_string(), None)
    }

    /// A store that lives in memory and vanishes with its last handle. It has a
    /// single connection, so calls are serialized.
    pub fn open_in_memory() -> Result<Self> {
        Self::open_source(Source::Memory, ":memory:".to_string(), None)
    }

    /// A fresh store in a new file under the system temp directory, deleted
    /// (with its WAL files) when the last handle is dropped. Unlike
    /// [`open_in_memory`](Self::open_in_memory) it exercises the real file
    /// path: WAL, several connections, busy waits. Meant for tests.
    pub fn open_temporary() -> Result<Self> {
        let path = unique_temp_path()?;
        Self::open_source(Source::File(path.clone()), path.display().to_string(), Some(path))
    }

    fn open_source(source: Source, location: String, remove_on_drop: Option<PathBuf>) -> Result<Self> {
        let pool = Pool::new(source).map_err(|e| e.at_open(&location))?;
        let inner = Inner { location, pool, remove_on_drop };
        // Inner exists before the schema step, so a refused temporary file is
        // still removed by its Drop.
        let store = SqliteStore { inner: Arc::new(inner) };
        let mut conn = store.inner.pool.get().map_err(|e| e.at_open(&store.inner.location))?;
        schema::prepare(&mut conn, &store.inner.location, store.inner.pool.is_file())
            .map_err(|e| e.at_open(&store.inner.location))?;
        drop(conn);
        if store.inner.pool.is_file() {
            spawn_checkpointer(&store.inner).map_err(|e| {
                StoreError::Backend(format!("{}: cannot start the WAL checkpoint thread: {e}", store.inner.location))
            })?;
        }
        Ok(store)
    }

    /// Runs `f` with a pooled connection on the blocking pool.
    async fn run<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Res<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let task = tokio::task::spawn_blocking(move || {
            let mut conn = inner.pool.get().map_err(|e| e.at_use(&inner.location))?;
            f(&mut conn).map_err(|e| e.at_use(&inner.location))
        });
        task.await.map_err(|e| StoreError::Backend(format!("store task did not finish: {e}")))?
    }
}

/// How often the WAL is copied back into the database file.
const CHECKPOINT_EVERY: std::time::Duration = std::time::Duration::from_millis(200);
/// A WAL longer than this many frames (about 64 MB of 4 KiB pages) is
/// restarted, not only copied back.
const WAL_RESTART_FRAMES: i64 = 16_384;
/// How long after a RESTART checkpoint that could not finish the next is tried.
const RESTART_BACKOFF: std::time::Duration = std::time::Duration::from_secs(10);
/// What a restarted WAL file is cut back to.
pub(crate) const WAL_KEEP_BYTES: i64 = 64 * 1024 * 1024;

/// Checkpoints the WAL from a thread of its own. Connections do not
/// checkpoint on commit (`wal_autocheckpoint = 0`, see `pool::connect`):
/// there the writer whose commit crossed the threshold stalled for the whole
/// copy and its fsync (25 ms at a time under an event storm). A passive
/// checkpoint waits for no one and blocks no one. The thread ends with the
/// store's last handle.
fn spawn_checkpointer(inner: &Arc<Inner>) -> std::io::Result<()> {
    let store = Arc::downgrade(inner);
    std::thread::Builder::new().name("qrie-sqlite-checkpoint".into()).spawn(move || {
        // A RESTART that had to give up (a reader held on past the busy
        // timeout, writers waiting all along) is not tried again at once.
        let mut restart_after = std::time::Instant::now();
        loop {
            std::thread::sleep(CHECKPOINT_EVERY);
            let Some(inner) = store.upgrade() else { return };
            let checkpointed = inner.pool.get().and_then(|conn| {
                let frames: i64 = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |row| row.get(1))?;
                if frames > WAL_RESTART_FRAMES && std::time::Instant::now() >= restart_after {
                    let busy: i64 = conn.query_row("PRAGMA wal_checkpoint(RESTART)", [], |row| row.get(0))?;
                    if busy != 0 {
                        restart_after = std::time::Instant::now() + RESTART_BACKOFF;
                    }
                }
                Ok(())
            });
            if let Err(e) = checkpointed {
                tracing::warn!(store = %inner.location, "WAL checkpoint failed (tried again shortly): {}", e.at_use(&inner.location));
            }
        }
    })?;
    Ok(())
}

impl Located for SqliteStore {
    fn location(&self) -> String {
        self.inner.location.clone()
    }
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore").field("location", &self.inner.location).finish()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(path) = &self.remove_on_drop {
            // Connections must be closed before their files go.
            self.pool.close_all();
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let mut name = path.clone().into_os_string();
                name.push(suffix);
                let _ = std::fs::remove_file(PathBuf::from(name));
            }
        }
    }
}

fn unique_temp_path() -> Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir();
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let path = dir.join(format!("qrie-store-{}-{nanos}-{n}.db", std::process::id()));
        // create_new makes the name ours even if another process picked the same one.
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(_) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(StoreError::Open { location: path.display().to_string(), reason: e.to_string() }),
        }
    }
}

/// What a blocking store call can fail with. SQLite errors are kept raw until
/// they leave the pool so they can be classified with the store's location.
pub(crate) enum Fail {
    Sql(rusqlite::Error),
    Store(StoreError),
}

pub(crate) type Res<T> = std::result::Result<T, Fail>;

impl From<rusqlite::Error> for Fail {
    fn from(e: rusqlite::Error) -> Self {
        Fail::Sql(e)
    }
}

impl From<StoreError> for Fail {
    fn from(e: StoreError) -> Self {
        Fail::Store(e)
    }
}

impl Fail {
    fn corrupt(e: &rusqlite::Error) -> bool {
        matches!(e.sqlite_error_code(), Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt))
    }

    /// While opening, anything that is not corruption means the file could not be opened.
    fn at_open(self, location: &str) -> StoreError {
        match self {
            Fail::Store(e) => e,
            Fail::Sql(e) if Self::corrupt(&e) => corrupt(location, e),
            Fail::Sql(e) => StoreError::Open { location: location.to_string(), reason: e.to_string() },
        }
    }

    fn at_use(self, location: &str) -> StoreError {
        match self {
            Fail::Store(e) => e,
            Fail::Sql(e) if Self::corrupt(&e) => corrupt(location, e),
            Fail::Sql(e) => StoreError::Backend(format!("sqlite ({location}): {e}")),
        }
    }
}

fn corrupt(location: &str, e: rusqlite::Error) -> StoreError {
    StoreError::Corrupt { location: location.to_string(), reason: e.to_string() }
}
