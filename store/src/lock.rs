//! Per-payment serialisation: [`PaymentGuard`] and [`LocalPaymentLocks`], the in-process lock
//! every backend starts with (PostgreSQL adds a database lock on top).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use hanpay_core::{async_trait, ProviderId};

use crate::StoreError;

/// A lock held somewhere else than in this process (a database transaction), released
/// asynchronously.
#[async_trait]
pub trait HeldLock: Send {
    /// Releases the lock.
    async fn release(self: Box<Self>) -> Result<(), StoreError>;
}

/// Holds one payment's lock until [`release`](PaymentGuard::release)d or dropped. Dropping it
/// without `release` (a cancelled future) still frees it: the in-process part at once, a
/// database transaction when its connection goes back to the pool (rolled back).
#[must_use = "the lock is released when the guard is dropped"]
pub struct PaymentGuard {
    // Field order is drop order: the remote lock goes before the local one.
    held: Option<Box<dyn HeldLock>>,
    local: Option<LocalGuard>,
}

impl std::fmt::Debug for PaymentGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaymentGuard")
            .field("remote", &self.held.is_some())
            .finish_non_exhaustive()
    }
}

impl PaymentGuard {
    /// A guard over a lock held elsewhere.
    pub fn new(held: impl HeldLock + 'static) -> PaymentGuard {
        PaymentGuard {
            held: Some(Box::new(held)),
            local: None,
        }
    }

    #[cfg(feature = "postgres")]
    /// Adds a remote lock to a guard holding the in-process one.
    pub(crate) fn and_then(mut self, held: impl HeldLock + 'static) -> PaymentGuard {
        self.held = Some(Box::new(held));
        self
    }

    /// Releases the lock (the remote part first).
    pub async fn release(mut self) -> Result<(), StoreError> {
        let result = match self.held.take() {
            Some(held) => held.release().await,
            None => Ok(()),
        };
        drop(self.local.take());
        result
    }
}

/// (provider, payment key).
type LockKey = (ProviderId, String);

/// A payment's lock and how many holders and waiters use it.
type LockEntry = (Arc<tokio::sync::Mutex<()>>, usize);

/// One async lock per (provider, payment key) in this process; an entry lives only while some
/// event holds or waits for it. Cheap to clone (clones share the locks).
#[derive(Debug, Clone, Default)]
pub struct LocalPaymentLocks {
    entries: Arc<Mutex<HashMap<LockKey, LockEntry>>>,
}

/// The in-process part of a [`PaymentGuard`]. Fields drop in order: the mutex is unlocked
/// before the entry is given back, so an entry is never removed while locked.
struct LocalGuard {
    _guard: tokio::sync::OwnedMutexGuard<()>,
    _entry: EntryUse,
}

/// A counted use of an entry; dropping it (also when the wait is cancelled) gives it back.
struct EntryUse {
    locks: LocalPaymentLocks,
    key: LockKey,
}

impl Drop for EntryUse {
    fn drop(&mut self) {
        let mut entries = self
            .locks
            .entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((_, users)) = entries.get_mut(&self.key) {
            *users = users.saturating_sub(1);
            if *users == 0 {
                entries.remove(&self.key);
            }
        }
    }
}

impl LocalPaymentLocks {
    /// No locks held.
    pub fn new() -> Self {
        Self::default()
    }

    /// Waits for the payment's in-process lock.
    pub async fn acquire(&self, provider: &ProviderId, payment_key: &str) -> PaymentGuard {
        let key = (provider.clone(), payment_key.to_owned());
        let mutex = {
            let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
            let (mutex, users) = entries.entry(key.clone()).or_default();
            *users += 1;
            Arc::clone(mutex)
        };
        let entry = EntryUse {
            locks: self.clone(),
            key,
        };
        PaymentGuard {
            held: None,
            local: Some(LocalGuard {
                _guard: mutex.lock_owned().await,
                _entry: entry,
            }),
        }
    }

    /// How many payments are locked or waited for.
    pub fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// `true` when no payment is locked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Serialises one payment's events: between `lock` and the guard's
/// [`release`](PaymentGuard::release), no other holder of the same (provider, payment key)
/// runs — in this process, and, for a shared database, in any instance.
#[async_trait]
pub trait PaymentLocks: Send + Sync {
    /// Waits for the payment's lock.
    async fn lock(
        &self,
        provider: &ProviderId,
        payment_key: &str,
    ) -> Result<PaymentGuard, StoreError>;
}

#[async_trait]
impl PaymentLocks for LocalPaymentLocks {
    async fn lock(
        &self,
        provider: &ProviderId,
        payment_key: &str,
    ) -> Result<PaymentGuard, StoreError> {
        Ok(self.acquire(provider, payment_key).await)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[tokio::test]
    async fn payment_locks_exclude_per_key_and_clean_up() {
        let locks = LocalPaymentLocks::default();
        let mock = ProviderId::from_static("mock");
        let held = locks.acquire(&mock, "pay-1").await;
        assert_eq!(locks.len(), 1);
        {
            let waiting = locks.acquire(&mock, "pay-1");
            tokio::pin!(waiting);
            tokio::select! {
                biased;
                _ = &mut waiting => panic!("the lock was taken twice"),
                () = std::future::ready(()) => {}
            }
            // A different payment is not blocked.
            let other = locks.acquire(&mock, "pay-2").await;
            assert_eq!(locks.len(), 2);
            other.release().await.unwrap();
            assert_eq!(locks.len(), 1);
        }
        // The cancelled waiter gave its entry back; the holder still has it.
        assert_eq!(locks.len(), 1);
        drop(held);
        assert_eq!(locks.len(), 0);
        let again = locks.acquire(&mock, "pay-1").await;
        drop(again);
        assert!(locks.is_empty());
    }
}
