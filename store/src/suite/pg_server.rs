//! A PostgreSQL server for tests: `HANPAY_TEST_DATABASE_URL` when it is set (a role that may
//! `CREATE DATABASE`), else a throwaway server started from the locally installed binaries
//! (`initdb`, `pg_ctl`: found through `pg_config --bindir` or `/usr/lib/postgresql/*/bin`) in
//! a temporary directory, listening on a Unix socket only. When the binaries are missing it
//! fails saying what to install; it never skips.
//!
//! As root (CI), the server runs as the `postgres` user on a directory it owns. It is stopped
//! and its directory removed when the test process exits, however it exits: a watchdog shell
//! waits on a pipe from this process and stops the server at end of file.
//!
//! ```no_run
//! # async fn run() {
//! let url = hanpay_store::suite::pg_server::shared().fresh_database().await;
//! # let _ = url; }
//! ```

use std::io::{BufRead, BufReader};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use sqlx::Connection;

/// The variable naming an existing server to use instead of a throwaway one.
pub const TEST_DATABASE_URL: &str = "HANPAY_TEST_DATABASE_URL";

/// What to do when no server can be had.
pub const INSTALL_HINT: &str = "PostgreSQL server binaries (initdb, pg_ctl) were not found: \
     install them (Debian/Ubuntu: `apt-get install postgresql`; `scripts/test.sh` does it), \
     or set HANPAY_TEST_DATABASE_URL=postgres://USER:PASSWORD@HOST/DB (a role allowed to \
     CREATE DATABASE)";

/// A PostgreSQL server the tests may create databases on.
#[derive(Debug)]
pub struct PgServer {
    /// URL of the maintenance database (`postgres`).
    admin_url: String,
    local: Option<LocalServer>,
}

#[derive(Debug)]
struct LocalServer {
    bindir: PathBuf,
    data: PathBuf,
    socket_dir: PathBuf,
    as_postgres: bool,
    /// Closing it (at process exit) makes the watchdog stop the server.
    _watchdog: Mutex<(Child, ChildStdin)>,
}

static SHARED: OnceLock<Result<PgServer, String>> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);
static SERVERS: AtomicUsize = AtomicUsize::new(0);

/// The server shared by every test of this test binary (started on first use).
///
/// # Panics
///
/// When no server can be had, with [`INSTALL_HINT`].
#[allow(clippy::panic)]
pub fn shared() -> &'static PgServer {
    match SHARED.get_or_init(|| match std::env::var(TEST_DATABASE_URL) {
        Ok(url) if !url.trim().is_empty() => Ok(PgServer {
            admin_url: url.trim().to_owned(),
            local: None,
        }),
        _ => PgServer::start_local(),
    }) {
        Ok(server) => server,
        Err(e) => panic!("no PostgreSQL for the tests: {e}"),
    }
}

impl PgServer {
    /// Starts a private throwaway server (for tests that stop and restart it).
    pub fn start() -> Result<PgServer, String> {
        PgServer::start_local()
    }

    fn start_local() -> Result<PgServer, String> {
        let bindir = find_bindir().ok_or_else(|| INSTALL_HINT.to_owned())?;
        let as_postgres = std::fs::metadata("/proc/self")
            .map(|m| m.uid() == 0)
            .unwrap_or(false);
        let dir = std::env::temp_dir().join(format!(
            "hanpay-pg-{}-{}",
            std::process::id(),
            SERVERS.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if as_postgres {
            let (uid, gid) = postgres_ids()?;
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
                .map_err(|e| format!("chown {}: {e}", dir.display()))?;
        }
        let data = dir.join("data");
        // Start, say "ready", wait for this process's end (EOF on stdin), then stop and clean.
        let script = r#"
            set -e
            "$1/initdb" -D "$2" -U postgres -A trust -E UTF8 --no-sync >"$3/initdb.log" 2>&1
            "$1/pg_ctl" -D "$2" -l "$3/server.log" -w -o "-k $3 -c listen_addresses= -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" start >/dev/null
            echo ready
            read _ || true
            "$1/pg_ctl" -D "$2" -m immediate stop >/dev/null 2>&1 || true
            rm -rf "$3"
        "#;
        let mut command = if as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", "sh", "-c", script, "sh"]);
            c
        } else {
            let mut c = Command::new("sh");
            c.args(["-c", script, "sh"]);
            c
        };
        let mut child = command
            .arg(&bindir)
            .arg(&data)
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start PostgreSQL from {}: {e}", bindir.display()))?;
        let stdin = child.stdin.take().ok_or("no stdin pipe")?;
        let stdout = child.stdout.take().ok_or("no stdout pipe")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        if line.trim() != "ready" {
            let log = std::fs::read_to_string(dir.join("initdb.log")).unwrap_or_default()
                + &std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
            let _ = child.wait();
            return Err(format!(
                "PostgreSQL did not start in {}:\n{log}",
                dir.display()
            ));
        }
        Ok(PgServer {
            admin_url: local_url(&dir, "postgres"),
            local: Some(LocalServer {
                bindir,
                data,
                socket_dir: dir,
                as_postgres,
                _watchdog: Mutex::new((child, stdin)),
            }),
        })
    }

    /// The maintenance database's URL.
    pub fn admin_url(&self) -> &str {
        &self.admin_url
    }

    /// Creates an empty database and returns its URL.
    ///
    /// # Panics
    ///
    /// When the server refuses.
    #[allow(clippy::panic)]
    pub async fn fresh_database(&self) -> String {
        let name = format!(
            "hanpay_test_{}_{}_{}",
            std::process::id(),
            DATABASES.fetch_add(1, Ordering::SeqCst),
            fastrand::u32(..)
        );
        let mut admin = match sqlx::PgConnection::connect(&self.admin_url).await {
            Ok(c) => c,
            Err(e) => panic!("cannot connect to the test PostgreSQL: {e}"),
        };
        if let Err(e) = sqlx::query(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
        {
            panic!("CREATE DATABASE {name}: {e}");
        }
        let _ = admin.close().await;
        match &self.local {
            Some(local) => local_url(&local.socket_dir, &name),
            None => with_database(&self.admin_url, &name),
        }
    }

    /// Stops a local server (fast shutdown: sessions are cut). For fault tests.
    pub fn stop(&self) -> Result<(), String> {
        self.pg_ctl(&["-m", "fast", "stop"])
    }

    /// Starts a local server stopped by [`stop`](Self::stop) again.
    pub fn restart(&self) -> Result<(), String> {
        let local = self.local.as_ref().ok_or("not a local server")?;
        let options = format!(
            "-k {} -c listen_addresses= -c fsync=off -c synchronous_commit=off",
            local.socket_dir.display()
        );
        let log = local.socket_dir.join("server.log");
        self.pg_ctl(&["-w", "-l", &log.to_string_lossy(), "-o", &options, "start"])
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        let local = self.local.as_ref().ok_or("not a local server")?;
        let pg_ctl = local.bindir.join("pg_ctl");
        let mut command = if local.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(pg_ctl);
            c
        } else {
            Command::new(pg_ctl)
        };
        let status = command
            .arg("-D")
            .arg(&local.data)
            .args(args)
            .stdout(Stdio::null())
            .status()
            .map_err(|e| e.to_string())?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("pg_ctl {args:?}: {status}"))
        }
    }
}

fn local_url(socket_dir: &Path, database: &str) -> String {
    format!(
        "postgres://postgres@localhost:5432/{database}?host={}",
        socket_dir.display()
    )
}

/// `url` with its database replaced by `database`.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{database}?{q}"),
        None => format!("{base}/{database}"),
    }
}

/// The directory holding `initdb` and `pg_ctl`.
pub fn find_bindir() -> Option<PathBuf> {
    let has_server = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && has_server(&dir) {
            return Some(dir);
        }
    }
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|d| has_server(d))
        .collect();
    candidates.sort_by_key(|d| {
        d.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    candidates.pop()
}

fn postgres_ids() -> Result<(u32, u32), String> {
    let id = |flag: &str| -> Result<u32, String> {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .map_err(|e| e.to_string())?;
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .map_err(|_| {
                "running as root, but there is no `postgres` user to run the server as".to_owned()
            })
    };
    Ok((id("-u")?, id("-g")?))
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_is_replaced() {
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres?sslmode=disable", "t1"),
            "postgres://u:p@h:5432/t1?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "t1"), "postgres://u@h/t1");
    }
}
