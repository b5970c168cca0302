//! The last resort: PostgreSQL binaries in, a throwaway server out. One server per test process,
//! in a temp dir, listening on a Unix socket only, stopped and deleted when the process exits;
//! leftovers of processes that died without exiting are swept by the next one.
//!
//! Why `atexit`: Rust never drops statics, and stopping the server when the last `TestDb` drops
//! would stop and restart it between tests that run one after the other. The test harness ends
//! with `exit` (after `main` returns or through `std::process::exit`), which runs `atexit`
//! handlers; a killed or aborted process does not, hence the sweep.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

/// What the `atexit` handler needs to stop the server.
struct Private {
    /// The temp dir: the socket lives here, the cluster in `data/`, its log in `log`.
    dir: PathBuf,
    bindir: PathBuf,
    /// Run PostgreSQL's programs through `runuser -u postgres` (we are root).
    as_postgres: bool,
}

static PRIVATE: OnceLock<Private> = OnceLock::new();

/// Every temp dir's name starts with this, then the owner's pid and a random suffix.
const DIR_PREFIX: &str = "schemac-testdb-";

/// Unix socket paths (`sun_path`) hold at most 107 bytes and a NUL.
const MAX_SOCKET_PATH: usize = 107;

/// Finds the binaries, sweeps leftovers, creates the cluster and starts it; returns the
/// maintenance database's connection string. Call at most once per process.
pub(crate) fn start(not_found: &str) -> Result<String, String> {
    let bindir = match std::env::var_os("PG_BINDIR").filter(|d| !d.is_empty()) {
        Some(dir) if !has_initdb(Path::new(&dir)) => {
            return Err(format!(
                "PG_BINDIR={} holds no initdb and pg_ctl",
                Path::new(&dir).display()
            ));
        }
        Some(dir) => PathBuf::from(dir),
        None => find_bindir().ok_or_else(|| not_found.to_string())?,
    };
    // PostgreSQL refuses to run as root: run it as the `postgres` user instead.
    // SAFETY: geteuid has no preconditions and cannot fail.
    let as_postgres = unsafe { libc::geteuid() } == 0;
    if as_postgres && which("runuser").is_none() {
        return Err(format!(
            "found PostgreSQL in {} but cannot run it: we are root, PostgreSQL refuses to run as \
             root and runuser is not installed; run the tests as another user or set \
             DATABASE_URL=postgres://user@host:port/db",
            bindir.display()
        ));
    }
    let base = base_dir(as_postgres);
    sweep(&base, &bindir, as_postgres);

    let dir = base.join(format!(
        "{DIR_PREFIX}{}-{:08x}",
        std::process::id(),
        crate::random_u32()
    ));
    let socket = dir.join(".s.PGSQL.5432");
    if socket.as_os_str().len() > MAX_SOCKET_PATH || dir.to_string_lossy().contains('\'') {
        return Err(format!(
            "cannot start a private PostgreSQL: the socket path {} is too long or holds a quote; \
             set TMPDIR to a short directory such as /tmp",
            socket.display()
        ));
    }
    std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    if as_postgres {
        run(Command::new("chown").arg("postgres").arg(&dir))?;
    }
    let private = PRIVATE.get_or_init(|| Private {
        dir: dir.clone(),
        bindir,
        as_postgres,
    });
    // SAFETY: `stop_at_exit` is an `extern "C" fn()` that never unwinds (see its body).
    if unsafe { libc::atexit(stop_at_exit) } != 0 {
        eprintln!(
            "schemac-testdb: atexit failed; the server in {} will be left running until the next run sweeps it",
            dir.display()
        );
    }
    private.init_and_start().inspect_err(|_| private.stop())?;
    Ok(format!(
        "host={} port=5432 user=postgres dbname=postgres",
        crate::conninfo::quote(&dir.to_string_lossy())
    ))
}

impl Private {
    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn init_and_start(&self) -> Result<(), String> {
        let data = self.data();
        run(program(&self.bindir, "initdb", self.as_postgres, &self.dir)
            .arg("-D")
            .arg(&data)
            .args(["-A", "trust", "--no-sync", "-U", "postgres"])
            .args(["-E", "UTF8", "--locale=C"]))?;
        let options = format!(
            "-k '{}' -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            self.dir.display()
        );
        let log = self.dir.join("log");
        run(program(&self.bindir, "pg_ctl", self.as_postgres, &self.dir)
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .args(["-w", "-t", "60", "-o", &options, "start"]))
        .map_err(|e| {
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            format!("{e}\nserver log:\n{log}")
        })
    }

    /// Stops the server (immediate mode: the cluster is thrown away) and deletes the temp dir.
    fn stop(&self) {
        stop_cluster(&self.bindir, &self.data(), self.as_postgres);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

extern "C" fn stop_at_exit() {
    // Unwinding out of an `extern "C"` fn aborts: catch any panic.
    let _ = std::panic::catch_unwind(|| {
        if let Some(private) = PRIVATE.get() {
            private.stop();
        }
    });
}

fn stop_cluster(bindir: &Path, data: &Path, as_postgres: bool) {
    if data.join("postmaster.pid").exists() {
        let dir = data.parent().unwrap_or(data);
        let _ = program(bindir, "pg_ctl", as_postgres, dir)
            .arg("-D")
            .arg(data)
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// Stops and deletes the temp dirs whose owner process is gone (killed, aborted, crashed).
fn sweep(base: &Path, bindir: &Path, as_postgres: bool) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(owner) = name
            .to_str()
            .and_then(|n| n.strip_prefix(DIR_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<i32>().ok())
        else {
            continue;
        };
        if crate::process_alive(owner) {
            continue;
        }
        let dir = entry.path();
        stop_cluster(bindir, &dir.join("data"), as_postgres);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn has_initdb(dir: &Path) -> bool {
    dir.join("initdb").is_file() && dir.join("pg_ctl").is_file()
}

/// When `PG_BINDIR` is unset: `pg_config --bindir`, the newest `/usr/lib/postgresql/*/bin`
/// (Debian, Ubuntu), the newest Homebrew `postgresql@*`, or `initdb` on `PATH`; the first that
/// holds `initdb` and `pg_ctl`.
fn find_bindir() -> Option<PathBuf> {
    let pg_config = Command::new("pg_config")
        .arg("--bindir")
        .stderr(Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let newest = |parent: &str, prefix: &str, suffix: &str| {
        let mut found: Vec<(Vec<u32>, PathBuf)> = std::fs::read_dir(parent)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let name = e.file_name().to_str()?.strip_prefix(prefix)?.to_string();
                let version = name
                    .split('.')
                    .map(|p| p.parse().ok())
                    .collect::<Option<_>>()?;
                Some((version, e.path().join(suffix)))
            })
            .collect();
        found.sort();
        found.pop().map(|(_, dir)| dir)
    };
    let path = which("initdb").and_then(|p| p.parent().map(Path::to_path_buf));
    [
        pg_config,
        newest("/usr/lib/postgresql", "", "bin"),
        newest("/opt/homebrew/opt", "postgresql@", "bin"),
        newest("/usr/local/opt", "postgresql@", "bin"),
        path,
    ]
    .into_iter()
    .flatten()
    .find(|d| has_initdb(d))
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Where the temp dir goes: `/tmp` for root (the `postgres` user must reach it, and root's
/// `TMPDIR` may be private) or when `TMPDIR` is too long for a socket path.
fn base_dir(as_postgres: bool) -> PathBuf {
    let tmp = std::env::temp_dir();
    // The dir name, a slash and `.s.PGSQL.5432` take at most 50 bytes.
    if as_postgres || tmp.as_os_str().len() + 50 > MAX_SOCKET_PATH {
        PathBuf::from("/tmp")
    } else {
        tmp
    }
}

/// One of PostgreSQL's programs, run as `postgres` when we are root, from a directory it can read.
fn program(bindir: &Path, name: &str, as_postgres: bool, cwd: &Path) -> Command {
    let path = bindir.join(name);
    let mut command = if as_postgres {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(path);
        c
    } else {
        Command::new(path)
    };
    command.current_dir(cwd).stdin(Stdio::null());
    command
}

fn run(command: &mut Command) -> Result<(), String> {
    let shown = format!("{command:?}");
    let output = command
        .output()
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{shown} failed ({}):\n{}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}
