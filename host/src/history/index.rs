//! `<runs>/history.sqlite`: one row per run, per DUT, per finding, and the
//! emission profile per DUT and phase.
//!
//! Several processes may write at once (two runs finishing together, a
//! `benchctl history` indexing a copied-in run meanwhile): every run is
//! written in one `BEGIN IMMEDIATE` transaction, and a writer that finds the
//! file locked waits up to [`BUSY_TIMEOUT`] instead of failing. Indexing a
//! run again replaces its rows (the run is keyed by its directory's name).
//!
//! Schema versions live in SQLite's `user_version`. [`MIGRATIONS`][i]
//! brings a file from version `i` to `i + 1`; a new version appends a
//! migration and never edits a shipped one, so any older file is brought
//! forward step by step, inside the same transaction that checks the
//! version (two processes opening a fresh file cannot both create it).
//!
//! | version | what changed |
//! | --- | --- |
//! | 1 | runs, duts, findings, phases, rf, current, destinations, dns_names, periodic_flows |
//! | 2 | `duts.regressed`: the DUT regressed against its baseline in a `suite --baseline` night |
//! | 3 | the measures a night is judged by: `rf.on_air_s`, `rf.median_burst_ms`, `rf.transmissions`; `current.mean_a`, `current.p90_a`, `current.p99_a`; `dns_names.domain`; `phases.off_current_a` (the phase's budget); `duts.accepted` (`diff --accept`); `runs.profile_version` |
//!
//! A migration that adds measures leaves the rows already there without
//! them, so runs also carry the [`PROFILE_VERSION`] their profile was
//! computed with: opening an index re-profiles every run whose profile is
//! older and whose run directory is still there (the new measures of a run
//! directory deleted since stay unknown, and are not compared).

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::Serialize;

use super::profile::{
    ChannelProfile, CurrentProfile, Destination, DnsName, DutProfile, PeriodicFlow, PhaseProfile,
    RunProfile,
};
use super::{DutVerdict, FindingRecord, HistoryError, RunVerdict};
use benchctl_format::read::RunDir;

/// How long a writer waits for another to finish its run.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Step `i` takes a file from schema version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 0 -> 1
    "CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        dir TEXT NOT NULL UNIQUE,
        run_id TEXT NOT NULL,
        bench TEXT NOT NULL,
        scenario TEXT NOT NULL,
        started_utc TEXT NOT NULL,
        duration_s REAL NOT NULL,
        complete INTEGER NOT NULL,
        verdict TEXT NOT NULL,
        indexed_utc TEXT NOT NULL
    );
    CREATE INDEX runs_by_scenario ON runs (bench, scenario, started_utc);
    CREATE TABLE duts (
        run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        model TEXT NOT NULL,
        build TEXT,
        verdict TEXT NOT NULL,
        PRIMARY KEY (run, name)
    );
    CREATE INDEX duts_by_name ON duts (name);
    CREATE TABLE findings (
        run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        dut TEXT NOT NULL,
        kind TEXT NOT NULL,
        severity TEXT NOT NULL,
        phase TEXT,
        channel TEXT,
        score REAL NOT NULL,
        start_s REAL,
        summary TEXT NOT NULL
    );
    CREATE INDEX findings_by_run ON findings (run);
    -- `seq`: the phase's place in the DUT's timeline (a scenario may enter
    -- one phase name twice).
    CREATE TABLE phases (
        run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        dut TEXT NOT NULL,
        seq INTEGER NOT NULL,
        phase TEXT NOT NULL,
        start_s REAL NOT NULL,
        end_s REAL NOT NULL,
        PRIMARY KEY (run, dut, seq)
    );
    CREATE TABLE rf (
        run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        dut TEXT NOT NULL,
        seq INTEGER NOT NULL,
        channel TEXT NOT NULL,
        bursts INTEGER NOT NULL,
        bursts_per_min REAL NOT NULL,
        peak_above_floor_db REAL,
        median_above_floor_db REAL
    );
    CREATE INDEX rf_by_run ON rf (run);
    CREATE TABLE current (
        run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        dut TEXT NOT NULL,
        seq INTEGER NOT NULL,
        channel TEXT NOT NULL,
        idle_a REAL NOT NULL,
        max_a REAL NOT NULL
    );
    CREATE INDEX current_by_run ON current (run);
    CREATE TABLE destinations (
        run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        dut TEXT NOT NULL,
        seq INTEGER NOT NULL,
        address TEXT NOT NULL,
        port INTEGER NOT NULL,
        proto TEXT NOT NULL,
        packets INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        -- JSON array of the names DNS answers gave for the address
        names TEXT NOT NULL
    );
    CREATE INDEX destinations_by_run ON destinations (run);
    CREATE TABLE dns_names (
        run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        dut TEXT NOT NULL,
        seq INTEGER NOT NULL,
        name TEXT NOT NULL,
        queries INTEGER NOT NULL
    );
    CREATE INDEX dns_names_by_run ON dns_names (run);
    CREATE TABLE periodic_flows (
        run INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        dut TEXT NOT NULL,
        seq INTEGER NOT NULL,
        address TEXT NOT NULL,
        port INTEGER NOT NULL,
        proto TEXT NOT NULL,
        period_s REAL NOT NULL,
        jitter REAL NOT NULL,
        checkins INTEGER NOT NULL,
        score REAL NOT NULL
    );
    CREATE INDEX periodic_flows_by_run ON periodic_flows (run);",
    // 1 -> 2: a night that failed on a regression alone must not become
    // the next night's baseline.
    "ALTER TABLE duts ADD COLUMN regressed INTEGER NOT NULL DEFAULT 0;",
    // 2 -> 3: RF on-air time and burst length, mean and high percentiles
    // of the current, the registrable domain of each name asked; and which
    // profile computation wrote a run's rows (0: before this one), so the
    // runs indexed before are re-profiled from their directories.
    "ALTER TABLE rf ADD COLUMN on_air_s REAL;
    ALTER TABLE rf ADD COLUMN median_burst_ms REAL;
    ALTER TABLE rf ADD COLUMN transmissions INTEGER;
    ALTER TABLE current ADD COLUMN mean_a REAL;
    ALTER TABLE current ADD COLUMN p90_a REAL;
    ALTER TABLE current ADD COLUMN p99_a REAL;
    ALTER TABLE dns_names ADD COLUMN domain TEXT;
    ALTER TABLE phases ADD COLUMN off_current_a REAL;
    -- The DUT's regressions in this run were accepted (`diff --accept`):
    -- what it did then stays known, however old the run gets.
    ALTER TABLE duts ADD COLUMN accepted INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN profile_version INTEGER NOT NULL DEFAULT 0;",
];

/// The emission profile this benchctl computes (`profile.rs`): a run whose
/// rows were written by an older one (`runs.profile_version` below this)
/// is profiled again from its run directory when the index is opened.
pub const PROFILE_VERSION: i64 = 1;

/// The tables holding a run's emission profile.
const PROFILE_TABLES: [&str; 6] = [
    "phases",
    "rf",
    "current",
    "destinations",
    "dns_names",
    "periodic_flows",
];

/// The schema version this benchctl writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The run history of one runs folder.
#[derive(Debug)]
pub struct Index {
    conn: Connection,
    path: PathBuf,
    runs_dir: PathBuf,
}

/// A run as the index knows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    /// The run directory's name in the runs folder: the key.
    pub dir: String,
    pub run_id: String,
    pub bench: String,
    pub scenario: String,
    pub started_utc: String,
    pub duration_s: f64,
    pub complete: bool,
    /// "pass", "fail" or "incomplete".
    pub verdict: String,
    pub duts: Vec<DutRecord>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DutRecord {
    pub name: String,
    pub model: String,
    pub build: Option<String>,
    pub verdict: String,
    pub findings: u64,
    /// Findings of severity medium or high.
    pub failing: u64,
}

/// One line of `benchctl history`: a DUT in a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRow {
    pub dir: String,
    pub started_utc: String,
    pub bench: String,
    pub scenario: String,
    pub complete: bool,
    pub run_verdict: String,
    pub dut: String,
    pub model: String,
    pub build: Option<String>,
    pub verdict: String,
    /// It regressed against its baseline (`suite --baseline`).
    pub regressed: bool,
    pub findings: u64,
    pub failing: u64,
}

/// What [`Index::index_new_runs`] did.
#[derive(Debug, Default)]
pub struct CatchUp {
    /// The runs it indexed.
    pub added: Vec<RunRecord>,
    /// The run directories it could not index, with why.
    pub failed: Vec<(PathBuf, HistoryError)>,
}

/// Which runs `Index::rows` lists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFilter {
    pub dut: Option<String>,
    pub scenario: Option<String>,
    /// At most this many runs (newest first).
    pub limit: Option<usize>,
}

fn sql(path: &Path) -> impl Fn(rusqlite::Error) -> HistoryError + '_ {
    move |source| {
        // A file that is not a database, or a damaged one, says so at the
        // first statement; name it as such, not as a bug.
        let unusable = matches!(
            source.sqlite_error_code(),
            Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt)
        );
        if unusable {
            HistoryError::Unreadable {
                path: path.to_path_buf(),
                source,
            }
        } else {
            HistoryError::Sql {
                path: path.to_path_buf(),
                source,
            }
        }
    }
}

impl Index {
    /// Open (or create) `<runs_dir>/history.sqlite`, bringing its schema up
    /// to date.
    pub fn open(runs_dir: &Path) -> Result<Index, HistoryError> {
        if !runs_dir.is_dir() {
            return Err(HistoryError::NoRunsFolder(runs_dir.to_path_buf()));
        }
        let path = runs_dir.join(super::FILE_NAME);
        let conn = Connection::open(&path).map_err(|source| HistoryError::Unreadable {
            path: path.clone(),
            source,
        })?;
        let mut index = Index {
            conn,
            path,
            runs_dir: runs_dir.to_path_buf(),
        };
        index.prepare()?;
        index.refresh_profiles()?;
        Ok(index)
    }

    /// Profile again every run whose profile an older benchctl computed
    /// (before the measures of [`PROFILE_VERSION`]) and whose directory is
    /// still in the runs folder; the number done. A run directory that
    /// cannot be read keeps its old rows (said at warn level): its new
    /// measures stay unknown and are not compared.
    pub fn refresh_profiles(&mut self) -> Result<usize, HistoryError> {
        let path = self.path.clone();
        let err = sql(&path);
        let stale: Vec<(i64, String)> = {
            let mut stmt = self
                .conn
                .prepare("SELECT id, dir FROM runs WHERE profile_version < ?1 ORDER BY started_utc")
                .map_err(&err)?;
            stmt.query_map(params![PROFILE_VERSION], |r| Ok((r.get(0)?, r.get(1)?)))
                .map_err(&err)?
                .collect::<Result<_, _>>()
                .map_err(&err)?
        };
        let mut done = 0;
        for (id, dir) in stale {
            let run_dir = self.runs_dir.join(&dir);
            if !run_dir.join(benchctl_format::run_json::FILE_NAME).is_file() {
                continue;
            }
            let profile = match super::profile::profile(&run_dir) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(
                        "{}: kept with its old profile (the measures added since are not compared): {e}",
                        run_dir.display()
                    );
                    continue;
                }
            };
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(&err)?;
            for table in PROFILE_TABLES {
                tx.execute(&format!("DELETE FROM {table} WHERE run = ?1"), params![id])
                    .map_err(&err)?;
            }
            write_profile(&tx, id, &profile).map_err(&err)?;
            tx.execute(
                "UPDATE runs SET profile_version = ?2 WHERE id = ?1",
                params![id, PROFILE_VERSION],
            )
            .map_err(&err)?;
            tx.commit().map_err(&err)?;
            done += 1;
        }
        if done > 0 {
            tracing::info!(
                "run history {}: {done} run(s) profiled again for the measures this benchctl compares",
                self.path.display()
            );
        }
        Ok(done)
    }

    fn prepare(&mut self) -> Result<(), HistoryError> {
        let path = self.path.clone();
        let err = sql(&path);
        self.conn.busy_timeout(BUSY_TIMEOUT).map_err(&err)?;
        // Per connection: SQLite leaves foreign keys (and so the cascade
        // that replaces a run's rows) off unless asked.
        self.conn
            .execute_batch("PRAGMA foreign_keys = ON;")
            .map_err(&err)?;
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|source| HistoryError::Unreadable {
                path: path.clone(),
                source,
            })?;
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        if version > SCHEMA_VERSION {
            return Err(HistoryError::Newer {
                path: self.path.clone(),
                found: version,
                known: SCHEMA_VERSION,
            });
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        // Again, under the write lock: another process may have migrated it.
        let version: i64 = tx
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(&err)?;
        for (from, step) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
            tx.execute_batch(step).map_err(&err)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", from + 1))
                .map_err(&err)?;
        }
        tx.commit().map_err(&err)
    }

    /// `<runs>/history.sqlite`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn runs_dir(&self) -> &Path {
        &self.runs_dir
    }

    /// Index the run directory `run_dir` with the findings its analysis
    /// gave (replacing what the index had for it). Computes its emission
    /// profile, which reads the recording through once more.
    pub fn add_run(
        &mut self,
        run_dir: &Path,
        findings: &benchctl_detect::analyze::Findings,
    ) -> Result<RunRecord, HistoryError> {
        self.add_run_with(run_dir, &RunVerdict::from(findings))
    }

    /// Index a run directory from its findings.json, analyzing it first if
    /// it has none.
    pub fn add_run_dir(&mut self, run_dir: &Path) -> Result<RunRecord, HistoryError> {
        let verdict = RunVerdict::of_run(run_dir)?;
        self.add_run_with(run_dir, &verdict)
    }

    /// Index every run directory in the runs folder that the index does not
    /// know yet (written by another tool, copied in, or recorded while the
    /// index was unusable).
    pub fn index_new_runs(&mut self) -> Result<CatchUp, HistoryError> {
        let entries = std::fs::read_dir(&self.runs_dir).map_err(|source| {
            benchctl_format::read::ReadError::Io {
                path: self.runs_dir.clone(),
                source,
            }
        })?;
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.join(benchctl_format::run_json::FILE_NAME).is_file())
            .collect();
        dirs.sort();
        let known: std::collections::BTreeSet<String> = {
            let mut stmt = self
                .conn
                .prepare("SELECT dir FROM runs")
                .map_err(sql(&self.path))?;
            stmt.query_map([], |r| r.get::<_, String>(0))
                .map_err(sql(&self.path))?
                .collect::<Result<_, _>>()
                .map_err(sql(&self.path))?
        };
        let mut added = Vec::new();
        let mut failed = Vec::new();
        for dir in dirs {
            if known.contains(&dir_name(&dir)) {
                continue;
            }
            match self.add_run_dir(&dir) {
                Ok(r) => added.push(r),
                Err(e) => failed.push((dir, e)),
            }
        }
        Ok(CatchUp { added, failed })
    }

    fn add_run_with(
        &mut self,
        run_dir: &Path,
        verdict: &RunVerdict,
    ) -> Result<RunRecord, HistoryError> {
        let run = RunDir::open(run_dir)?;
        let profile = super::profile::profile(run_dir)?;
        let m = run.manifest();
        let dir = dir_name(run_dir);
        let path = self.path.clone();
        let err = sql(&path);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&err)?;
        tx.execute("DELETE FROM runs WHERE dir = ?1", params![dir])
            .map_err(&err)?;
        tx.execute(
            "INSERT INTO runs (dir, run_id, bench, scenario, started_utc, duration_s, complete, verdict, indexed_utc, profile_version)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            params![
                dir,
                m.run_id,
                m.bench,
                m.scenario,
                m.started_utc,
                m.duration_s,
                m.complete,
                verdict.verdict,
                benchctl_format::utc_rfc3339_millis(std::time::SystemTime::now()),
                PROFILE_VERSION,
            ],
        )
        .map_err(&err)?;
        let id = tx.last_insert_rowid();
        let marks = super::baseline_marks(run_dir)?;
        for d in run.duts() {
            let v = verdict.duts.iter().find(|v| v.dut == d.name);
            tx.execute(
                "INSERT INTO duts (run, name, model, build, verdict, regressed, accepted) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    id,
                    d.name,
                    d.model,
                    d.build,
                    // A DUT the findings do not name was not judged.
                    v.map_or("unknown", |v| v.verdict.as_str()),
                    marks.regressed.contains(&d.name),
                    marks.accepted.contains(&d.name)
                ],
            )
            .map_err(&err)?;
        }
        for d in &verdict.duts {
            for f in &d.findings {
                tx.execute(
                    "INSERT INTO findings (run, dut, kind, severity, phase, channel, score, start_s, summary)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![id, d.dut, f.kind, f.severity, f.phase, f.channel, f.score, f.start_s, f.summary],
                )
                .map_err(&err)?;
            }
        }
        write_profile(&tx, id, &profile).map_err(&err)?;
        tx.commit().map_err(&err)?;
        self.run(&dir)?
            .ok_or_else(|| HistoryError::NoSuchRun(dir.clone()))
    }

    /// Record that `duts` of run directory `dir` regressed against their
    /// baseline (the run's `baseline.json` says the same, for a rebuild).
    pub fn mark_regressed(&mut self, dir: &str, duts: &[String]) -> Result<(), HistoryError> {
        self.set_regressed(dir, duts, true)
    }

    /// The regressions of run directory `dir` were expected (a firmware
    /// that is meant to talk to a new host): its DUTs may be baselines, and
    /// what `accepted` (the DUTs whose regressions they were) did in it
    /// stays known to every later comparison ([`Index::accepted_before`]).
    pub fn accept_regressions(
        &mut self,
        dir: &str,
        accepted: &[String],
    ) -> Result<(), HistoryError> {
        let err = sql(&self.path);
        self.conn
            .execute(
                "UPDATE duts SET regressed = 0 WHERE run = (SELECT id FROM runs WHERE dir = ?1)",
                params![dir],
            )
            .map_err(&err)?;
        for dut in accepted {
            self.conn
                .execute(
                    "UPDATE duts SET accepted = 1 WHERE name = ?2
                       AND run = (SELECT id FROM runs WHERE dir = ?1)",
                    params![dir, dut],
                )
                .map_err(&err)?;
        }
        Ok(())
    }

    fn set_regressed(&mut self, dir: &str, duts: &[String], on: bool) -> Result<(), HistoryError> {
        let err = sql(&self.path);
        for dut in duts {
            self.conn
                .execute(
                    "UPDATE duts SET regressed = ?3 WHERE name = ?2
                       AND run = (SELECT id FROM runs WHERE dir = ?1)",
                    params![dir, dut, on],
                )
                .map_err(&err)?;
        }
        Ok(())
    }

    /// Drop run directory `dir` (its name in the runs folder) and all it
    /// holds from the index; true if it was there.
    pub fn forget(&mut self, dir: &str) -> Result<bool, HistoryError> {
        let n = self
            .conn
            .execute("DELETE FROM runs WHERE dir = ?1", params![dir])
            .map_err(sql(&self.path))?;
        Ok(n > 0)
    }

    /// A run by its directory's name, its run id, or a path to its
    /// directory (its last component is the name).
    pub fn run(&self, key: &str) -> Result<Option<RunRecord>, HistoryError> {
        let name = dir_name(Path::new(key));
        let err = sql(&self.path);
        let id: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM runs WHERE dir = ?1 OR dir = ?2
                 ORDER BY dir = ?1 DESC, started_utc DESC LIMIT 1",
                params![key, name],
                |r| r.get(0),
            )
            .optional()
            .map_err(&err)?;
        let id = match id {
            Some(id) => Some(id),
            None => {
                let mut stmt = self
                    .conn
                    .prepare("SELECT id, dir FROM runs WHERE run_id = ?1 ORDER BY dir")
                    .map_err(&err)?;
                let found: Vec<(i64, String)> = stmt
                    .query_map(params![key], |r| Ok((r.get(0)?, r.get(1)?)))
                    .map_err(&err)?
                    .collect::<Result<_, _>>()
                    .map_err(&err)?;
                match found.as_slice() {
                    [] => None,
                    [(id, _)] => Some(*id),
                    many => {
                        return Err(HistoryError::AmbiguousRunId(
                            key.to_string(),
                            many.iter().map(|(_, d)| d.clone()).collect(),
                        ));
                    }
                }
            }
        };
        id.map(|id| self.record(id)).transpose()
    }

    fn record(&self, id: i64) -> Result<RunRecord, HistoryError> {
        let err = sql(&self.path);
        let mut run = self
            .conn
            .query_row(
                "SELECT dir, run_id, bench, scenario, started_utc, duration_s, complete, verdict FROM runs WHERE id = ?1",
                params![id],
                |r| {
                    Ok(RunRecord {
                        dir: r.get(0)?,
                        run_id: r.get(1)?,
                        bench: r.get(2)?,
                        scenario: r.get(3)?,
                        started_utc: r.get(4)?,
                        duration_s: r.get(5)?,
                        complete: r.get(6)?,
                        verdict: r.get(7)?,
                        duts: Vec::new(),
                    })
                },
            )
            .map_err(&err)?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT d.name, d.model, d.build, d.verdict,
                        (SELECT COUNT(*) FROM findings f WHERE f.run = d.run AND f.dut = d.name),
                        (SELECT COUNT(*) FROM findings f WHERE f.run = d.run AND f.dut = d.name
                            AND f.severity IN ('medium', 'high'))
                 FROM duts d WHERE d.run = ?1 ORDER BY d.name",
            )
            .map_err(&err)?;
        run.duts = stmt
            .query_map(params![id], |r| {
                Ok(DutRecord {
                    name: r.get(0)?,
                    model: r.get(1)?,
                    build: r.get(2)?,
                    verdict: r.get(3)?,
                    findings: r.get(4)?,
                    failing: r.get(5)?,
                })
            })
            .map_err(&err)?
            .collect::<Result<_, _>>()
            .map_err(&err)?;
        Ok(run)
    }

    /// `benchctl history`'s lines: one per DUT of each run, newest run first.
    pub fn rows(&self, filter: &RunFilter) -> Result<Vec<RunRow>, HistoryError> {
        let err = sql(&self.path);
        let limit = filter
            .limit
            .map_or(-1, |l| i64::try_from(l).unwrap_or(i64::MAX));
        let mut stmt = self
            .conn
            .prepare(
                "WITH chosen AS (
                    SELECT r.id FROM runs r
                    WHERE (?1 IS NULL OR r.scenario = ?1)
                      AND (?2 IS NULL OR EXISTS (SELECT 1 FROM duts d WHERE d.run = r.id AND d.name = ?2))
                    ORDER BY r.started_utc DESC, r.dir DESC
                    LIMIT ?3
                 )
                 SELECT r.dir, r.started_utc, r.bench, r.scenario, r.complete, r.verdict,
                        d.name, d.model, d.build, d.verdict, d.regressed,
                        (SELECT COUNT(*) FROM findings f WHERE f.run = r.id AND f.dut = d.name),
                        (SELECT COUNT(*) FROM findings f WHERE f.run = r.id AND f.dut = d.name
                            AND f.severity IN ('medium', 'high'))
                 FROM runs r JOIN duts d ON d.run = r.id
                 WHERE r.id IN (SELECT id FROM chosen) AND (?2 IS NULL OR d.name = ?2)
                 ORDER BY r.started_utc DESC, r.dir DESC, d.name",
            )
            .map_err(&err)?;
        let rows = stmt
            .query_map(params![filter.scenario, filter.dut, limit], |r| {
                Ok(RunRow {
                    dir: r.get(0)?,
                    started_utc: r.get(1)?,
                    bench: r.get(2)?,
                    scenario: r.get(3)?,
                    complete: r.get(4)?,
                    run_verdict: r.get(5)?,
                    dut: r.get(6)?,
                    model: r.get(7)?,
                    build: r.get(8)?,
                    verdict: r.get(9)?,
                    regressed: r.get(10)?,
                    findings: r.get(11)?,
                    failing: r.get(12)?,
                })
            })
            .map_err(&err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(&err)?;
        Ok(rows)
    }

    /// The last complete run of `run`'s scenario on its bench, started
    /// before it, in which `dut` passed (and did not regress): the night
    /// before that was fine.
    pub fn last_pass_before(
        &self,
        run: &RunRecord,
        dut: &str,
    ) -> Result<Option<RunRecord>, HistoryError> {
        Ok(self.passes_before(run, dut, 1)?.into_iter().next())
    }

    /// Up to `limit` complete runs of `run`'s scenario on its bench,
    /// started before it, in which `dut` passed and did not regress against
    /// its own baseline; the latest first.
    pub fn passes_before(
        &self,
        run: &RunRecord,
        dut: &str,
        limit: usize,
    ) -> Result<Vec<RunRecord>, HistoryError> {
        let err = sql(&self.path);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.id FROM runs r JOIN duts d ON d.run = r.id
                 WHERE r.bench = ?1 AND r.scenario = ?2 AND r.dir != ?3
                   AND r.started_utc < ?4 AND r.complete AND d.name = ?5 AND d.verdict = 'pass'
                   AND NOT d.regressed
                 ORDER BY r.started_utc DESC, r.dir DESC LIMIT ?6",
            )
            .map_err(&err)?;
        let ids = stmt
            .query_map(
                params![
                    run.bench,
                    run.scenario,
                    run.dir,
                    run.started_utc,
                    dut,
                    i64::try_from(limit).unwrap_or(i64::MAX)
                ],
                |r| r.get::<_, i64>(0),
            )
            .map_err(&err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(&err)?;
        ids.into_iter().map(|id| self.record(id)).collect()
    }

    /// The runs of `run`'s scenario on its bench, started before it, in
    /// which a lab accepted `dut`'s regressions (`diff --accept`), however
    /// long ago; the latest first.
    pub fn accepted_before(
        &self,
        run: &RunRecord,
        dut: &str,
    ) -> Result<Vec<RunRecord>, HistoryError> {
        let err = sql(&self.path);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT r.id FROM runs r JOIN duts d ON d.run = r.id
                 WHERE r.bench = ?1 AND r.scenario = ?2 AND r.dir != ?3
                   AND r.started_utc < ?4 AND d.name = ?5 AND d.accepted
                 ORDER BY r.started_utc DESC, r.dir DESC",
            )
            .map_err(&err)?;
        let ids = stmt
            .query_map(
                params![run.bench, run.scenario, run.dir, run.started_utc, dut],
                |r| r.get::<_, i64>(0),
            )
            .map_err(&err)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(&err)?;
        ids.into_iter().map(|id| self.record(id)).collect()
    }

    /// A run's findings, per DUT.
    pub fn findings(&self, run: &RunRecord) -> Result<Vec<DutVerdict>, HistoryError> {
        let err = sql(&self.path);
        let id = self.id(&run.dir)?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT dut, kind, severity, phase, channel, score, start_s, summary
                 FROM findings WHERE run = ?1 ORDER BY dut, start_s",
            )
            .map_err(&err)?;
        let mut out: Vec<DutVerdict> = run
            .duts
            .iter()
            .map(|d| DutVerdict {
                dut: d.name.clone(),
                verdict: d.verdict.clone(),
                findings: Vec::new(),
            })
            .collect();
        let rows = stmt
            .query_map(params![id], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    FindingRecord {
                        kind: r.get(1)?,
                        severity: r.get(2)?,
                        phase: r.get(3)?,
                        channel: r.get(4)?,
                        score: r.get(5)?,
                        start_s: r.get(6)?,
                        summary: r.get(7)?,
                    },
                ))
            })
            .map_err(&err)?;
        for row in rows {
            let (dut, f) = row.map_err(&err)?;
            if let Some(d) = out.iter_mut().find(|d| d.dut == dut) {
                d.findings.push(f);
            }
        }
        Ok(out)
    }

    fn id(&self, dir: &str) -> Result<i64, HistoryError> {
        self.conn
            .query_row("SELECT id FROM runs WHERE dir = ?1", params![dir], |r| {
                r.get(0)
            })
            .optional()
            .map_err(sql(&self.path))?
            .ok_or_else(|| HistoryError::NoSuchRun(dir.to_string()))
    }

    /// A run's emission profile as indexed.
    pub fn profile(&self, run: &RunRecord) -> Result<RunProfile, HistoryError> {
        let id = self.id(&run.dir)?;
        read_profile(&self.conn, id).map_err(sql(&self.path))
    }
}

/// A run directory's name: its key in the index.
fn dir_name(dir: &Path) -> String {
    dir.file_name().map_or_else(
        || dir.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn write_profile(
    tx: &rusqlite::Transaction,
    id: i64,
    profile: &RunProfile,
) -> rusqlite::Result<()> {
    for d in &profile.duts {
        for (seq, p) in d.phases.iter().enumerate() {
            let seq = seq as i64;
            tx.execute(
                "INSERT INTO phases (run, dut, seq, phase, start_s, end_s, off_current_a) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id, d.dut, seq, p.phase, p.start_s, p.end_s, p.off_current_a],
            )?;
            for c in &p.rf {
                tx.execute(
                    "INSERT INTO rf (run, dut, seq, channel, bursts, bursts_per_min, peak_above_floor_db, median_above_floor_db,
                                     on_air_s, median_burst_ms, transmissions)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                    params![
                        id,
                        d.dut,
                        seq,
                        c.channel,
                        c.bursts,
                        c.bursts_per_min,
                        c.peak_above_floor_db,
                        c.median_above_floor_db,
                        c.on_air_s,
                        c.median_burst_ms,
                        c.transmissions
                    ],
                )?;
            }
            for c in &p.current {
                tx.execute(
                    "INSERT INTO current (run, dut, seq, channel, idle_a, max_a, mean_a, p90_a, p99_a)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![id, d.dut, seq, c.channel, c.idle_a, c.max_a, c.mean_a, c.p90_a, c.p99_a],
                )?;
            }
            for x in &p.destinations {
                let names = serde_json::to_string(&x.names).unwrap_or_else(|_| "[]".into());
                tx.execute(
                    "INSERT INTO destinations (run, dut, seq, address, port, proto, packets, bytes, names)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                    params![id, d.dut, seq, x.address, x.port, x.proto, x.packets, x.bytes, names],
                )?;
            }
            for n in &p.dns {
                tx.execute(
                    "INSERT INTO dns_names (run, dut, seq, name, queries, domain) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![id, d.dut, seq, n.name, n.queries, n.domain],
                )?;
            }
            for f in &p.periodic {
                tx.execute(
                    "INSERT INTO periodic_flows (run, dut, seq, address, port, proto, period_s, jitter, checkins, score)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                    params![id, d.dut, seq, f.address, f.port, f.proto, f.period_s, f.jitter, f.checkins, f.score],
                )?;
            }
        }
    }
    Ok(())
}

/// A profile being read back: its phases, then each per-phase table's
/// rows placed in them.
#[derive(Default)]
struct PlacedProfile {
    profile: RunProfile,
    /// (dut, seq) -> where the phase went in `profile`: (dut, phase) index.
    at: std::collections::BTreeMap<(String, i64), (usize, usize)>,
}

impl PlacedProfile {
    /// The phase `(dut, seq)`.
    fn phase_mut(&mut self, dut: String, seq: i64) -> Option<&mut PhaseProfile> {
        let (d, p) = *self.at.get(&(dut, seq))?;
        self.profile.duts.get_mut(d)?.phases.get_mut(p)
    }

    /// Run `id`'s rows of the per-phase table `table` (`rf`, `current`,
    /// ...), in the order they were written: `row` makes a value of the
    /// row's `columns` (they follow `dut, seq`, so start at column 2) and
    /// `add` puts it in its phase. Rows of a phase the index does not list
    /// are left out.
    fn read_rows<T>(
        &mut self,
        conn: &Connection,
        id: i64,
        table: &str,
        columns: &str,
        row: impl Fn(&rusqlite::Row) -> rusqlite::Result<T>,
        add: impl Fn(&mut PhaseProfile, T),
    ) -> rusqlite::Result<()> {
        let mut stmt = conn.prepare(&format!(
            "SELECT dut, seq, {columns} FROM {table} WHERE run = ?1 ORDER BY rowid"
        ))?;
        for placed in stmt.query_map(params![id], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, row(r)?))
        })? {
            let (dut, seq, value) = placed?;
            if let Some(p) = self.phase_mut(dut, seq) {
                add(p, value);
            }
        }
        Ok(())
    }
}

fn read_profile(conn: &Connection, id: i64) -> rusqlite::Result<RunProfile> {
    let mut placed = PlacedProfile::default();
    let PlacedProfile { profile, at } = &mut placed;
    let mut stmt = conn.prepare(
        "SELECT dut, seq, phase, start_s, end_s, off_current_a FROM phases WHERE run = ?1 ORDER BY dut, seq",
    )?;
    let phases = stmt.query_map(params![id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            PhaseProfile {
                phase: r.get(2)?,
                start_s: r.get(3)?,
                end_s: r.get(4)?,
                off_current_a: r.get(5)?,
                ..PhaseProfile::default()
            },
        ))
    })?;
    for row in phases {
        let (dut, seq, phase) = row?;
        let d = match profile.duts.iter().position(|d| d.dut == dut) {
            Some(d) => d,
            None => {
                profile.duts.push(DutProfile {
                    dut: dut.clone(),
                    phases: Vec::new(),
                });
                profile.duts.len() - 1
            }
        };
        profile.duts[d].phases.push(phase);
        at.insert((dut, seq), (d, profile.duts[d].phases.len() - 1));
    }
    placed.read_rows(
        conn,
        id,
        "rf",
        "channel, bursts, bursts_per_min, peak_above_floor_db, median_above_floor_db, on_air_s, median_burst_ms, transmissions",
        |r| {
            Ok(ChannelProfile {
                channel: r.get(2)?,
                bursts: r.get(3)?,
                bursts_per_min: r.get(4)?,
                peak_above_floor_db: r.get(5)?,
                median_above_floor_db: r.get(6)?,
                on_air_s: r.get(7)?,
                median_burst_ms: r.get(8)?,
                transmissions: r.get(9)?,
            })
        },
        |p, c| p.rf.push(c),
    )?;
    placed.read_rows(
        conn,
        id,
        "current",
        "channel, idle_a, max_a, mean_a, p90_a, p99_a",
        |r| {
            Ok(CurrentProfile {
                channel: r.get(2)?,
                idle_a: r.get(3)?,
                max_a: r.get(4)?,
                mean_a: r.get(5)?,
                p90_a: r.get(6)?,
                p99_a: r.get(7)?,
            })
        },
        |p, c| p.current.push(c),
    )?;
    placed.read_rows(
        conn,
        id,
        "destinations",
        "address, port, proto, packets, bytes, names",
        |r| {
            let names: String = r.get(7)?;
            Ok(Destination {
                address: r.get(2)?,
                port: r.get(3)?,
                proto: r.get(4)?,
                packets: r.get(5)?,
                bytes: r.get(6)?,
                names: serde_json::from_str(&names).unwrap_or_default(),
            })
        },
        |p, x| p.destinations.push(x),
    )?;
    placed.read_rows(
        conn,
        id,
        "dns_names",
        "name, queries, domain",
        |r| {
            let name: String = r.get(2)?;
            let domain: Option<String> = r.get(4)?;
            Ok(DnsName {
                domain: domain.unwrap_or_else(|| super::profile::domain_of(&name)),
                name,
                queries: r.get(3)?,
            })
        },
        |p, n| p.dns.push(n),
    )?;
    placed.read_rows(
        conn,
        id,
        "periodic_flows",
        "address, port, proto, period_s, jitter, checkins, score",
        |r| {
            Ok(PeriodicFlow {
                address: r.get(2)?,
                port: r.get(3)?,
                proto: r.get(4)?,
                period_s: r.get(5)?,
                jitter: r.get(6)?,
                checkins: r.get(7)?,
                score: r.get(8)?,
            })
        },
        |p, f| p.periodic.push(f),
    )?;
    Ok(placed.profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_index_gets_the_current_schema_and_reopens_as_it_is() {
        let dir = tempfile::tempdir().expect("tempdir");
        let index = Index::open(dir.path()).expect("created");
        let version: i64 = index
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(version, SCHEMA_VERSION);
        drop(index);
        let index = Index::open(dir.path()).expect("reopened");
        assert!(index.rows(&RunFilter::default()).expect("rows").is_empty());
    }

    #[test]
    fn an_index_from_a_newer_benchctl_is_refused_with_its_version() {
        let dir = tempfile::tempdir().expect("tempdir");
        let conn = Connection::open(dir.path().join(crate::history::FILE_NAME)).expect("sqlite");
        conn.execute_batch("PRAGMA user_version = 99")
            .expect("version");
        drop(conn);
        let err = Index::open(dir.path()).expect_err("refused");
        assert!(
            matches!(err, HistoryError::Newer { found: 99, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("newer benchctl"), "{err}");
    }

    /// A history written by a benchctl of schema 2 (before the measures of
    /// issue 22): opened, it is migrated, and its runs whose directories are
    /// still there are profiled again from them, so their new measures are
    /// known; a run whose directory is gone keeps its rows without them.
    #[test]
    fn an_index_of_schema_2_is_migrated_and_its_runs_profiled_again() {
        let dir = tempfile::tempdir().expect("tempdir");
        let runs = dir.path();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/runs/honest");
        std::fs::create_dir(runs.join("honest")).expect("mkdir");
        for entry in std::fs::read_dir(&fixture).expect("fixture") {
            let entry = entry.expect("entry");
            std::fs::copy(entry.path(), runs.join("honest").join(entry.file_name())).expect("copy");
        }
        let conn = Connection::open(runs.join(crate::history::FILE_NAME)).expect("sqlite");
        for step in &MIGRATIONS[..2] {
            conn.execute_batch(step).expect("schema 2");
        }
        conn.execute_batch(
            "PRAGMA user_version = 2;
             INSERT INTO runs (id, dir, run_id, bench, scenario, started_utc, duration_s, complete, verdict, indexed_utc)
               VALUES (1, 'honest', 'honest', 'sim-lab', 'backdoor-hunt', '2026-11-26T15:30:00.000Z', 55, 1, 'pass', 'then'),
                      (2, 'gone', 'gone', 'sim-lab', 'backdoor-hunt', '2026-11-25T15:30:00.000Z', 55, 1, 'pass', 'then');
             INSERT INTO duts (run, name, model, build, verdict, regressed) VALUES
               (1, 'phone-a', 'sim-android', NULL, 'pass', 0), (2, 'phone-a', 'sim-android', NULL, 'pass', 0);
             INSERT INTO phases (run, dut, seq, phase, start_s, end_s) VALUES
               (1, 'phone-a', 0, 'online', 9, 21), (2, 'phone-a', 0, 'online', 9, 21);
             INSERT INTO rf (run, dut, seq, channel, bursts, bursts_per_min, peak_above_floor_db, median_above_floor_db)
               VALUES (1, 'phone-a', 0, 'LTE B3 uplink', 1, 5, 50, 50), (2, 'phone-a', 0, 'LTE B3 uplink', 7, 35, 60, 55);
             INSERT INTO current (run, dut, seq, channel, idle_a, max_a) VALUES
               (1, 'phone-a', 0, 'current', 0.3, 0.5), (2, 'phone-a', 0, 'current', 0.3, 0.5);",
        )
        .expect("a schema 2 history");
        drop(conn);

        let index = Index::open(runs).expect("migrated");
        let version: i64 = index
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .expect("version");
        assert_eq!(version, SCHEMA_VERSION);
        let profiled: i64 = index
            .conn
            .query_row(
                "SELECT profile_version FROM runs WHERE dir = 'honest'",
                [],
                |r| r.get(0),
            )
            .expect("profile version");
        assert_eq!(profiled, PROFILE_VERSION);
        // Profiled again from the run directory: every phase of the
        // journal, with the measures schema 3 added.
        let honest = index.run("honest").expect("query").expect("honest");
        let profile = index.profile(&honest).expect("profile");
        let a = profile
            .duts
            .iter()
            .find(|d| d.dut == "phone-a")
            .expect("phone-a");
        assert!(a.phases.len() > 1, "{a:?}");
        let online = a
            .phases
            .iter()
            .find(|p| p.phase == "online")
            .expect("online");
        assert!(online.rf.iter().all(|c| c.on_air_s.is_some()), "{online:?}");
        assert!(
            online
                .current
                .iter()
                .all(|c| c.mean_a.is_some() && c.p99_a.is_some()),
            "{online:?}"
        );
        let soft_off = a
            .phases
            .iter()
            .find(|p| p.phase == "soft-off")
            .expect("soft-off");
        assert_eq!(soft_off.off_current_a, Some(0.005));
        // The run whose directory is gone keeps what it had.
        let gone = index.run("gone").expect("query").expect("gone");
        let profile = index.profile(&gone).expect("profile");
        let online = &profile.duts[0].phases[0];
        assert_eq!(online.rf[0].bursts, 7);
        assert_eq!(online.rf[0].on_air_s, None);
        assert_eq!(online.current[0].mean_a, None);
        drop(index);
        // Opening it again profiles nothing more.
        let mut index = Index::open(runs).expect("reopened");
        assert_eq!(index.refresh_profiles().expect("refresh"), 0);
    }

    #[test]
    fn a_missing_runs_folder_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let err = Index::open(&dir.path().join("nope")).expect_err("refused");
        assert!(err.to_string().contains("no such runs folder"), "{err}");
    }
}
