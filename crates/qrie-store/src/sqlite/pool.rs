//! A small connection pool: idle connections are reused, more are opened on
//! demand (a file can have many; an in-memory database has exactly one, so
//! callers wait for it).

use rusqlite::{Connection, OpenFlags};
use std::ops::{Deref, DerefMut};
use std::path::PathBuf;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::Res;

/// Writers queue on SQLite's lock for about this long before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest a writer sleeps between two tries for the lock.
const BUSY_POLL: Duration = Duration::from_millis(1);
/// Connections kept open beyond this are closed when returned.
const MAX_IDLE: usize = 8;
/// Filter shapes vary, so keep more statements than rusqlite's default 16.
const STATEMENT_CACHE: usize = 64;

pub(super) enum Source {
    File(PathBuf),
    Memory,
}

pub(super) struct Pool {
    source: Source,
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
}

impl Pool {
    /// An in-memory database exists only through its connection, so that one is
    /// opened at once and never closed while the pool lives.
    pub(super) fn new(source: Source) -> Res<Self> {
        let idle = match source {
            Source::File(_) => Vec::new(),
            Source::Memory => vec![connect(Connection::open_in_memory()?)?],
        };
        Ok(Pool { source, idle: Mutex::new(idle), returned: Condvar::new() })
    }

    pub(super) fn is_file(&self) -> bool {
        matches!(self.source, Source::File(_))
    }

    pub(super) fn get(&self) -> Res<Pooled<'_>> {
        let mut idle = lock(&self.idle);
        loop {
            if let Some(conn) = idle.pop() {
                return Ok(Pooled { pool: self, conn: Some(conn) });
            }
            match &self.source {
                Source::File(path) => {
                    drop(idle);
                    let conn = connect(Connection::open_with_flags(path, flags())?)?;
                    return Ok(Pooled { pool: self, conn: Some(conn) });
                }
                Source::Memory => idle = self.returned.wait(idle).unwrap_or_else(|e| e.into_inner()),
            }
        }
    }

    fn put(&self, conn: Connection) {
        // A statement that failed mid-transaction must not leak its transaction
        // into the next caller.
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        let mut idle = lock(&self.idle);
        if idle.len() < MAX_IDLE || !self.is_file() {
            idle.push(conn);
        }
        drop(idle);
        self.returned.notify_one();
    }

    pub(super) fn close_all(&self) {
        lock(&self.idle).clear();
    }
}

/// A connection on loan; it goes back to the pool when dropped, also when the
/// caller panicked (so an in-memory store is never left without its connection).
pub(super) struct Pooled<'a> {
    pool: &'a Pool,
    conn: Option<Connection>,
}

impl Deref for Pooled<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn.as_ref().expect("a pooled connection is present until dropped")
    }
}

impl DerefMut for Pooled<'_> {
    fn deref_mut(&mut self) -> &mut Connection {
        self.conn.as_mut().expect("a pooled connection is present until dropped")
    }
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.put(conn);
        }
    }
}

fn flags() -> OpenFlags {
    // No SQLITE_OPEN_URI: a path is a path, even one that starts with "file:".
    OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX
}

/// Per-connection settings (journal mode is per database and set by the schema step).
fn connect(conn: Connection) -> Res<Connection> {
    conn.busy_handler(Some(wait_for_lock))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // The store's own thread checkpoints (see `spawn_checkpointer`).
    conn.pragma_update(None, "wal_autocheckpoint", 0)?;
    // A WAL that grew during a burst is cut back to this size when it restarts.
    conn.pragma_update(None, "journal_size_limit", super::WAL_KEEP_BYTES)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// The pool's state stays valid if a holder panicked, so poisoning is ignored.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// SQLite's own busy timeout sleeps up to 100 ms between tries, so a writer
/// behind a 2 ms transaction can wait 100 ms: under concurrent writers (an
/// event storm) the store idles while everyone sleeps. This one retries after
/// a few tens of microseconds, backing off to [`BUSY_POLL`], for about
/// [`BUSY_TIMEOUT`] in all. `tries` is how often it was called for this lock.
fn wait_for_lock(tries: i32) -> bool {
    let tries = tries.max(0) as u32;
    // Each try sleeps at most BUSY_POLL, and the first ones less: this many
    // tries have slept a little under BUSY_TIMEOUT.
    if BUSY_POLL * tries >= BUSY_TIMEOUT {
        return false;
    }
    std::thread::sleep((Duration::from_micros(50) * (tries + 1)).min(BUSY_POLL));
    true
}
