//! Change notifications for the screens (the listener + handle shape of matrix-rust-sdk's FFI):
//! a shell subscribes a listener and keeps the handle; when a sync finishes the listener hears
//! it and the shell rebuilds what it shows (Today, the open hazard). Dropping or cancelling the
//! handle unsubscribes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

use crate::{GridStore, locked};

/// What changed in the store.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum StoreChange {
    /// A sync finished: records came from the relay (`pulled`) and went to it (`pushed`).
    Synced { pulled: u64, pushed: u64 },
}

/// Hears the store's changes (implemented in Kotlin or Swift; called on a library thread).
#[uniffi::export(with_foreign)]
pub trait StoreListener: Send + Sync {
    fn on_change(&self, change: StoreChange);
}

/// A subscription: keep it while the screen is shown; `cancel` (or dropping it) ends it.
#[derive(uniffi::Object)]
pub struct ListenerHandle {
    id: u64,
    store: Weak<GridStore>,
}

impl std::fmt::Debug for ListenerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerHandle")
            .field("id", &self.id)
            .finish()
    }
}

/// The store's subscribers.
#[derive(Default)]
pub(crate) struct Listeners {
    next: AtomicU64,
    list: std::sync::Mutex<Vec<(u64, Arc<dyn StoreListener>)>>,
}

impl std::fmt::Debug for Listeners {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Listeners").finish_non_exhaustive()
    }
}

impl Listeners {
    /// Tells every subscriber; a listener is called outside the lock (it may subscribe more).
    pub(crate) fn notify(&self, change: &StoreChange) {
        let now: Vec<Arc<dyn StoreListener>> = match locked(&self.list, "listeners") {
            Ok(l) => l.iter().map(|(_, l)| l.clone()).collect(),
            Err(_) => return,
        };
        for l in now {
            l.on_change(change.clone());
        }
    }

    fn remove(&self, id: u64) {
        if let Ok(mut l) = self.list.lock() {
            l.retain(|(i, _)| *i != id);
        }
    }
}

#[uniffi::export]
impl ListenerHandle {
    /// Ends the subscription; cancelling twice is fine.
    pub fn cancel(&self) {
        if let Some(store) = self.store.upgrade() {
            store.listeners.remove(self.id);
        }
    }
}

impl Drop for ListenerHandle {
    fn drop(&mut self) {
        self.cancel();
    }
}

#[uniffi::export]
impl GridStore {
    /// Subscribes `listener` to the store's changes until the handle is cancelled or dropped.
    pub fn subscribe(self: Arc<Self>, listener: Arc<dyn StoreListener>) -> Arc<ListenerHandle> {
        let id = self.listeners.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut l) = self.listeners.list.lock() {
            l.push((id, listener));
        }
        Arc::new(ListenerHandle {
            id,
            store: Arc::downgrade(&self),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Heard(std::sync::Mutex<Vec<StoreChange>>);

    impl StoreListener for Heard {
        fn on_change(&self, change: StoreChange) {
            self.0.lock().unwrap().push(change);
        }
    }

    fn heard(h: &Heard) -> usize {
        h.0.lock().unwrap().len()
    }

    /// A screen hears a sync while its handle lives; cancelling or dropping the handle ends it,
    /// and the other subscribers keep hearing.
    #[test]
    fn a_subscription_lasts_as_long_as_its_handle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("phone.sqlite").display().to_string();
        let store = GridStore::open(path).unwrap();
        let (today, hazard, other) = (
            Arc::new(Heard::default()),
            Arc::new(Heard::default()),
            Arc::new(Heard::default()),
        );
        let h1 = store.clone().subscribe(today.clone());
        let h2 = store.clone().subscribe(hazard.clone());
        let _h3 = store.clone().subscribe(other.clone());
        let synced = StoreChange::Synced {
            pulled: 3,
            pushed: 1,
        };
        store.listeners.notify(&synced);
        assert_eq!(*today.0.lock().unwrap(), vec![synced.clone()]);
        h1.cancel();
        h1.cancel();
        drop(h2);
        store.listeners.notify(&synced);
        assert_eq!((heard(&today), heard(&hazard), heard(&other)), (1, 1, 2));
    }
}
