//! The history's database: one SQLite file (rusqlite's bundled library, so nothing is
//! installed), safe to share between a console and command-line runs at once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use super::entry::{Entry, Setup};
use crate::error::HistoryError;

/// The schema's version, in SQLite's `user_version`: a later mbias that changes the
/// tables knows what it opened.
const SCHEMA_VERSION: i64 = 1;

/// SQLite's `application_id` of an mbias history ("mbqh"): another program's database
/// is told apart from ours and left alone.
const APPLICATION_ID: i64 = 0x6d62_7168;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS products (
    id INTEGER PRIMARY KEY,
    checksum TEXT NOT NULL UNIQUE,
    path TEXT NOT NULL,
    profile TEXT NOT NULL,
    arm TEXT NOT NULL,
    binning TEXT NOT NULL,
    read_speed TEXT NOT NULL,
    night TEXT NOT NULL,
    mjd REAL,
    recipe TEXT NOT NULL,
    numerics TEXT NOT NULL,
    params TEXT NOT NULL,
    inputs TEXT NOT NULL,
    recorded TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS products_by_setup
    ON products (profile, arm, binning, read_speed, night, mjd);
CREATE TABLE IF NOT EXISTS qc (
    product INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    extension TEXT NOT NULL,
    name TEXT NOT NULL,
    value REAL,
    PRIMARY KEY (product, extension, name)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reference (
    profile TEXT NOT NULL,
    arm TEXT NOT NULL,
    binning TEXT NOT NULL,
    read_speed TEXT NOT NULL,
    product INTEGER NOT NULL REFERENCES products (id) ON DELETE CASCADE,
    certified TEXT NOT NULL,
    PRIMARY KEY (profile, arm, binning, read_speed)
);
";

/// An open QC history.
pub struct History {
    connection: Connection,
    path: PathBuf,
}

/// What recording a product did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    Added,
    /// The same product (same headers) was already there: nothing was added.
    AlreadyKnown,
}

/// One product of a setup as the trend reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub path: PathBuf,
    pub night: String,
    pub mjd: Option<f64>,
    pub recipe: String,
}

/// One QC value of one product's image.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredValue {
    pub setup: Setup,
    pub extension: String,
    pub name: String,
    pub product: Stored,
    /// NaN where the product wrote a value that was not a number.
    pub value: f64,
}

/// Which products a query reads.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this detector profile.
    pub profile: Option<String>,
    /// Only nights on or after this date (`YYYY-MM-DD`).
    pub since: Option<String>,
    /// Only products of this soxspipe release (`soxspipe-0.19`).
    pub recipe: Option<String>,
    /// Only these QC names (all when empty).
    pub names: Vec<String>,
}

impl History {
    /// Opens the history at `path` to record into it, creating the file (and its
    /// folder) or bringing an older schema up to date.
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|source| HistoryError::CreateDir {
                path: folder.to_path_buf(),
                source,
            })?;
        }
        let fail = |e: rusqlite::Error| database_error(path, e);
        let connection = Connection::open(path).map_err(fail)?;
        let history = History::checked(connection, path)?;
        if history.version()? < SCHEMA_VERSION {
            // WAL: readers (a console's trend) never wait for a writer, and a commit
            // needs no flush of the whole file. (It needs shared memory beside the file,
            // which a network file system may not give: the history belongs on a local
            // disk.)
            history
                .connection
                .execute_batch(&format!(
                    "PRAGMA journal_mode = WAL;
                     BEGIN IMMEDIATE; {SCHEMA}
                     PRAGMA application_id = {APPLICATION_ID};
                     PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                ))
                .map_err(fail)?;
        }
        Ok(history)
    }

    /// Opens the history at `path` to read it, writing nothing: a history that does not
    /// exist is an error, not a new empty one.
    pub fn open_existing(path: &Path) -> Result<History, HistoryError> {
        if !path.is_file() {
            return Err(HistoryError::Missing(path.to_path_buf()));
        }
        let connection = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
            .map_err(|e| database_error(path, e))?;
        let history = History::checked(connection, path)?;
        if history.version()? < SCHEMA_VERSION {
            // Created but never written by mbias: nothing in it yet.
            return Err(HistoryError::Missing(path.to_path_buf()));
        }
        Ok(history)
    }

    /// `connection` as a history, once it is known to be one this mbias can use.
    fn checked(connection: Connection, path: &Path) -> Result<History, HistoryError> {
        let fail = |e: rusqlite::Error| database_error(path, e);
        // Another mbias (the console, a script) may be writing: wait for it rather than fail.
        connection
            .busy_timeout(Duration::from_secs(10))
            .map_err(fail)?;
        connection
            .execute_batch("PRAGMA foreign_keys = ON;")
            .map_err(fail)?;
        let pragma = |name: &str| -> Result<i64, HistoryError> {
            connection
                .query_row(&format!("PRAGMA {name}"), [], |row| row.get(0))
                .map_err(fail)
        };
        let tables: i64 = connection
            .query_row("SELECT COUNT(*) FROM sqlite_master", [], |row| row.get(0))
            .map_err(fail)?;
        let application = pragma("application_id")?;
        if application != APPLICATION_ID && !(application == 0 && tables == 0) {
            return Err(HistoryError::NotAHistory(path.to_path_buf()));
        }
        let version = pragma("user_version")?;
        if version > SCHEMA_VERSION {
            return Err(HistoryError::Database {
                path: path.to_path_buf(),
                message: format!(
                    "written by a newer mbias (schema {version}, this one knows {SCHEMA_VERSION})"
                ),
            });
        }
        Ok(History {
            connection,
            path: path.to_path_buf(),
        })
    }

    fn version(&self) -> Result<i64, HistoryError> {
        self.connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(|e| self.fail(e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn fail(&self, e: rusqlite::Error) -> HistoryError {
        database_error(&self.path, e)
    }

    /// Records `entries` in one transaction, each unless a product with the same
    /// checksum is there already (then only its path is brought up to date, should it
    /// have moved); says for each what was done. A product written over at the same path
    /// (a re-stack) replaces the one recorded there, its reference mark included: the
    /// history keeps what the files hold.
    pub fn record(&mut self, entries: &[Entry]) -> Result<Vec<Recorded>, HistoryError> {
        let path = self.path.clone();
        let fail = |e| database_error(&path, e);
        // Immediate: the write lock is taken before anything is read, so another writer
        // makes this one wait (busy timeout) instead of failing on a stale snapshot.
        let transaction = self
            .connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let mut done = Vec::with_capacity(entries.len());
        {
            let mut moved = transaction
                .prepare("UPDATE products SET path = ?2 WHERE checksum = ?1")
                .map_err(fail)?;
            let mut replaced = transaction
                .prepare("DELETE FROM products WHERE path = ?1")
                .map_err(fail)?;
            let mut product = transaction
                .prepare(
                    "INSERT INTO products (checksum, path, profile, arm, binning, read_speed,
                         night, mjd, recipe, numerics, params, inputs, recorded)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                )
                .map_err(fail)?;
            let mut value = transaction
                .prepare("INSERT OR REPLACE INTO qc (product, extension, name, value) VALUES (?1, ?2, ?3, ?4)")
                .map_err(fail)?;
            let now = jiff::Timestamp::now().to_string();
            for entry in entries {
                let at = entry.path.to_string_lossy();
                if moved.execute(params![entry.checksum, at]).map_err(fail)? > 0 {
                    done.push(Recorded::AlreadyKnown);
                    continue;
                }
                replaced.execute([&at]).map_err(fail)?;
                let id = product
                    .insert(params![
                        entry.checksum,
                        at,
                        entry.setup.profile,
                        entry.setup.arm,
                        entry.setup.binning,
                        entry.setup.read_speed,
                        entry.night,
                        entry.mjd,
                        entry.recipe,
                        entry.numerics,
                        json(&entry.params),
                        json(&entry.inputs),
                        now,
                    ])
                    .map_err(fail)?;
                for image in &entry.images {
                    for (name, v) in &image.values {
                        let v = v.is_finite().then_some(*v);
                        value
                            .execute(params![id, image.extension, name, v])
                            .map_err(fail)?;
                    }
                }
                done.push(Recorded::Added);
            }
        }
        transaction.commit().map_err(fail)?;
        Ok(done)
    }

    /// Makes the recorded product with `checksum` (at `product`) the reference of its
    /// setup.
    pub fn certify(&mut self, checksum: &str, product: &Path) -> Result<(), HistoryError> {
        let changed = self
            .connection
            .execute(
                "INSERT OR REPLACE INTO reference (profile, arm, binning, read_speed, product, certified)
                 SELECT profile, arm, binning, read_speed, id, ?2 FROM products WHERE checksum = ?1",
                params![checksum, jiff::Timestamp::now().to_string()],
            )
            .map_err(|e| self.fail(e))?;
        if changed == 0 {
            return Err(HistoryError::NotRecorded {
                product: product.to_path_buf(),
                path: self.path.clone(),
            });
        }
        Ok(())
    }

    /// The certified reference product of `setup`, if any: its path and checksum.
    pub fn reference(&self, setup: &Setup) -> Result<Option<(PathBuf, String)>, HistoryError> {
        self.connection
            .query_row(
                "SELECT p.path, p.checksum FROM reference r JOIN products p ON p.id = r.product
                 WHERE r.profile = ?1 AND r.arm = ?2 AND r.binning = ?3 AND r.read_speed = ?4",
                params![setup.profile, setup.arm, setup.binning, setup.read_speed],
                |row| Ok((PathBuf::from(row.get::<_, String>(0)?), row.get(1)?)),
            )
            .optional()
            .map_err(|e| self.fail(e))
    }

    /// How many products the history holds.
    pub fn product_count(&self) -> Result<usize, HistoryError> {
        self.connection
            .query_row("SELECT COUNT(*) FROM products", [], |row| {
                row.get::<_, i64>(0)
            })
            .map(|n| n as usize)
            .map_err(|e| self.fail(e))
    }

    /// Every QC value `filter` selects, by setup, extension and name, in observing order
    /// (night, then MJD) within each.
    pub fn values(&self, filter: &Filter) -> Result<Vec<StoredValue>, HistoryError> {
        let fail = |e| self.fail(e);
        let mut query = self
            .connection
            .prepare(
                "SELECT p.profile, p.arm, p.binning, p.read_speed, q.extension, q.name,
                        p.path, p.night, p.mjd, p.recipe, q.value
                 FROM qc q JOIN products p ON p.id = q.product
                 WHERE (?1 IS NULL OR p.profile = ?1 COLLATE NOCASE) AND (?2 IS NULL OR p.night >= ?2)
                   AND (?3 IS NULL OR p.recipe = ?3)
                 ORDER BY p.profile, p.arm, p.binning, p.read_speed, p.recipe, q.extension,
                          q.name, p.night, p.mjd, p.id",
            )
            .map_err(fail)?;
        let rows = query
            .query_map(
                params![filter.profile, filter.since, filter.recipe],
                |row| {
                    Ok(StoredValue {
                        setup: Setup {
                            profile: row.get(0)?,
                            arm: row.get(1)?,
                            binning: row.get(2)?,
                            read_speed: row.get(3)?,
                        },
                        extension: row.get(4)?,
                        name: row.get(5)?,
                        product: Stored {
                            path: PathBuf::from(row.get::<_, String>(6)?),
                            night: row.get(7)?,
                            mjd: row.get(8)?,
                            recipe: row.get(9)?,
                        },
                        value: row.get::<_, Option<f64>>(10)?.unwrap_or(f64::NAN),
                    })
                },
            )
            .map_err(fail)?;
        let wanted = |v: &StoredValue| {
            filter.names.is_empty() || filter.names.iter().any(|n| n.eq_ignore_ascii_case(&v.name))
        };
        let mut values = Vec::new();
        for row in rows {
            let value = row.map_err(fail)?;
            if wanted(&value) {
                values.push(value);
            }
        }
        Ok(values)
    }
}

fn database_error(path: &Path, e: rusqlite::Error) -> HistoryError {
    HistoryError::Database {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// A list as the JSON text its column holds.
fn json<T: serde::Serialize>(list: &T) -> String {
    serde_json::to_string(list).unwrap_or_default()
}
