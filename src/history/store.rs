//! The history's database: one SQLite file (rusqlite's bundled library, so nothing is
//! installed), safe to share between a console and command-line runs at once.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, params};

use super::entry::{Entry, Setup};
use crate::error::HistoryError;

/// The schema's version, in SQLite's `user_version`: a later mbias that changes the
/// tables knows what it opened.
const SCHEMA_VERSION: i64 = 1;

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
    /// Only these QC names (all when empty).
    pub names: Vec<String>,
}

impl History {
    /// Opens the history at `path`, creating the file (and its folder) if need be.
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(folder).map_err(|source| HistoryError::CreateDir {
                path: folder.to_path_buf(),
                source,
            })?;
        }
        let fail = |e: rusqlite::Error| database_error(path, e);
        let connection = Connection::open(path).map_err(fail)?;
        // Another mbias (the console, a script) may be writing: wait for it rather than fail.
        connection
            .busy_timeout(Duration::from_secs(10))
            .map_err(fail)?;
        connection
            // WAL: readers (a console's trend) never wait for a writer, and a commit
            // needs no flush of the whole file.
            .execute_batch(
                "PRAGMA foreign_keys = ON; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;",
            )
            .map_err(fail)?;
        let version: i64 = connection
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(fail)?;
        if version > SCHEMA_VERSION {
            return Err(HistoryError::Database {
                path: path.to_path_buf(),
                message: format!(
                    "written by a newer mbias (schema {version}, this one knows {SCHEMA_VERSION})"
                ),
            });
        }
        connection
            .execute_batch(&format!(
                "BEGIN; {SCHEMA} PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
            ))
            .map_err(fail)?;
        Ok(History {
            connection,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn fail(&self, e: rusqlite::Error) -> HistoryError {
        database_error(&self.path, e)
    }

    /// Records `entries` in one transaction, each unless a product with the same
    /// checksum is there already; says for each what was done.
    pub fn record(&mut self, entries: &[Entry]) -> Result<Vec<Recorded>, HistoryError> {
        let path = self.path.clone();
        let fail = |e| database_error(&path, e);
        let transaction = self.connection.transaction().map_err(fail)?;
        let mut done = Vec::with_capacity(entries.len());
        {
            let mut known = transaction
                .prepare("SELECT 1 FROM products WHERE checksum = ?1")
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
                if known.exists([&entry.checksum]).map_err(fail)? {
                    done.push(Recorded::AlreadyKnown);
                    continue;
                }
                let id = product
                    .insert(params![
                        entry.checksum,
                        entry.path.to_string_lossy(),
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

    /// The recorded product with `checksum`, if any.
    pub fn contains(&self, checksum: &str) -> Result<bool, HistoryError> {
        self.connection
            .query_row(
                "SELECT 1 FROM products WHERE checksum = ?1",
                [checksum],
                |_| Ok(()),
            )
            .optional()
            .map(|found| found.is_some())
            .map_err(|e| self.fail(e))
    }

    /// Makes the recorded product with `checksum` the reference of its setup.
    pub fn certify(&mut self, checksum: &str) -> Result<(), HistoryError> {
        self.connection
            .execute(
                "INSERT OR REPLACE INTO reference (profile, arm, binning, read_speed, product, certified)
                 SELECT profile, arm, binning, read_speed, id, ?2 FROM products WHERE checksum = ?1",
                params![checksum, jiff::Timestamp::now().to_string()],
            )
            .map_err(|e| self.fail(e))?;
        Ok(())
    }

    /// The certified reference product of `setup`, if any.
    pub fn reference(&self, setup: &Setup) -> Result<Option<PathBuf>, HistoryError> {
        self.connection
            .query_row(
                "SELECT p.path FROM reference r JOIN products p ON p.id = r.product
                 WHERE r.profile = ?1 AND r.arm = ?2 AND r.binning = ?3 AND r.read_speed = ?4",
                params![setup.profile, setup.arm, setup.binning, setup.read_speed],
                |row| row.get::<_, String>(0),
            )
            .optional()
            .map(|path| path.map(PathBuf::from))
            .map_err(|e| self.fail(e))
    }

    /// How many products the history holds.
    pub fn len(&self) -> Result<usize, HistoryError> {
        self.connection
            .query_row("SELECT COUNT(*) FROM products", [], |row| {
                row.get::<_, i64>(0)
            })
            .map(|n| n as usize)
            .map_err(|e| self.fail(e))
    }

    pub fn is_empty(&self) -> Result<bool, HistoryError> {
        self.len().map(|n| n == 0)
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
                 WHERE (?1 IS NULL OR p.profile = ?1) AND (?2 IS NULL OR p.night >= ?2)
                 ORDER BY p.profile, p.arm, p.binning, p.read_speed, q.extension, q.name,
                          p.night, p.mjd, p.id",
            )
            .map_err(fail)?;
        let rows = query
            .query_map(params![filter.profile, filter.since], |row| {
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
            })
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
