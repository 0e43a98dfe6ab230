//! Fresh stores of each backend for tests: memory, SQLite in a temporary file, PostgreSQL in a
//! fresh database on the test server (`pg_server::shared`, with the `postgres` feature). Run
//! the same test on each with [`each_backend!`](crate::each_backend).

use std::path::PathBuf;

pub use crate::Backend;
use crate::{DatabaseUrl, OpenOptions, Stores};

/// Stores for one test, and how to open them again (a restart).
pub struct TestStores {
    /// The stores.
    pub stores: Stores,
    /// Their URL (`memory:` for memory).
    pub url: DatabaseUrl,
    dir: Option<PathBuf>,
}

impl std::fmt::Debug for TestStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestStores")
            .field("url", &self.url)
            .finish()
    }
}

impl Drop for TestStores {
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Fresh, empty stores of `backend`.
///
/// # Panics
///
/// When the backend cannot be opened (PostgreSQL missing: see `pg_server::INSTALL_HINT`; a
/// backend whose feature is off).
#[allow(clippy::panic)]
pub async fn fresh(backend: Backend) -> TestStores {
    let (url, dir) = match backend {
        Backend::Memory => (DatabaseUrl::memory(), None),
        Backend::Sqlite => {
            let dir =
                std::env::temp_dir().join(format!("hanpay-test-{}", uuid::Uuid::new_v4().simple()));
            if let Err(e) = std::fs::create_dir_all(&dir) {
                panic!("{}: {e}", dir.display());
            }
            let url = format!("sqlite://{}", dir.join("hanpay.db").display());
            (parse(&url), Some(dir))
        }
        #[cfg(feature = "postgres")]
        Backend::Postgres => (
            parse(&super::pg_server::shared().fresh_database().await),
            None,
        ),
        #[cfg(not(feature = "postgres"))]
        Backend::Postgres => panic!("hanpay-store was built without the `postgres` feature"),
    };
    let stores = open(&url).await;
    TestStores { stores, url, dir }
}

impl TestStores {
    /// A new handle on the same state: a restarted instance, or a second one (for memory the
    /// same stores, since nothing survives a restart there).
    pub async fn reopen(&self) -> Stores {
        match self.url.backend() {
            Backend::Memory => self.stores.clone(),
            _ => open(&self.url).await,
        }
    }
}

#[allow(clippy::panic)]
fn parse(url: &str) -> DatabaseUrl {
    match url.parse() {
        Ok(u) => u,
        Err(e) => panic!("{e}"),
    }
}

#[allow(clippy::panic)]
async fn open(url: &DatabaseUrl) -> Stores {
    match Stores::open(url, &OpenOptions::default()).await {
        Ok(s) => s,
        Err(e) => panic!("cannot open {url}: {e}"),
    }
}

/// Generates one `#[tokio::test]` per compiled backend calling `$test(Backend)`:
/// `each_backend!(my_test);` gives `my_test::memory`, `my_test::sqlite`, `my_test::postgres`.
/// The features are those of the crate using the macro (`sqlite`, `postgres`).
#[macro_export]
macro_rules! each_backend {
    ($($test:ident),+ $(,)?) => {$(
        mod $test {
            #[tokio::test]
            async fn memory() {
                super::$test($crate::suite::backends::Backend::Memory).await
            }
            #[cfg(feature = "sqlite")]
            #[tokio::test]
            async fn sqlite() {
                super::$test($crate::suite::backends::Backend::Sqlite).await
            }
            #[cfg(feature = "postgres")]
            #[tokio::test]
            async fn postgres() {
                super::$test($crate::suite::backends::Backend::Postgres).await
            }
        }
    )+};
}
