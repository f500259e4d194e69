//! Type maps: shared app state ([`State`](crate::State)) and per-socket data ([`SocketData`]).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;

/// Immutable app state, keyed by type; filled by `GatewayAppBuilder::with_state`.
#[derive(Default)]
pub(crate) struct AppState {
    values: HashMap<TypeId, Box<dyn Any + Send + Sync>>,
}

impl AppState {
    pub(crate) fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        self.values.insert(TypeId::of::<T>(), Box::new(value));
    }

    pub(crate) fn get<T: 'static>(&self) -> Option<&T> {
        self.values
            .get(&TypeId::of::<T>())
            .and_then(|v| v.downcast_ref())
    }
}

/// A socket's own data, keyed by type: NestJS's `client.data`.
///
/// Everything stored here is dropped when the socket disconnects.
///
/// ```
/// use gateway_core::SocketData;
///
/// #[derive(Clone, Debug, PartialEq)]
/// struct User { sub: String }
///
/// let data = SocketData::default();
/// data.insert(User { sub: "42".into() });
/// assert_eq!(data.get::<User>(), Some(User { sub: "42".into() }));
/// assert!(data.contains::<User>());
/// assert_eq!(data.remove::<User>().map(|u| u.sub), Some("42".into()));
/// assert!(data.get::<User>().is_none());
/// ```
#[derive(Default)]
pub struct SocketData {
    values: Mutex<DataMap>,
}

/// The values of a [`SocketData`], by type.
pub(crate) type DataMap = HashMap<TypeId, Box<dyn Any + Send + Sync>>;

impl SocketData {
    /// Stores `value`, returning the previous value of that type.
    pub fn insert<T: Send + Sync + 'static>(&self, value: T) -> Option<T> {
        self.lock()
            .insert(TypeId::of::<T>(), Box::new(value))
            .and_then(|old| old.downcast().ok().map(|b| *b))
    }

    /// A clone of the stored value of type `T`.
    pub fn get<T: Clone + 'static>(&self) -> Option<T> {
        self.lock()
            .get(&TypeId::of::<T>())
            .and_then(|v| v.downcast_ref::<T>())
            .cloned()
    }

    /// Runs `f` on the stored value of type `T`, mutably, without cloning it.
    ///
    /// ```
    /// let data = gateway_core::SocketData::default();
    /// data.insert(1u32);
    /// data.update(|n: &mut u32| *n += 1);
    /// assert_eq!(data.get::<u32>(), Some(2));
    /// ```
    pub fn update<T: 'static, R>(&self, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        self.lock()
            .get_mut(&TypeId::of::<T>())
            .and_then(|v| v.downcast_mut::<T>())
            .map(f)
    }

    /// Removes and returns the stored value of type `T`.
    pub fn remove<T: 'static>(&self) -> Option<T> {
        self.lock()
            .remove(&TypeId::of::<T>())
            .and_then(|old| old.downcast().ok().map(|b| *b))
    }

    /// Whether a value of type `T` is stored.
    pub fn contains<T: 'static>(&self) -> bool {
        self.lock().contains_key(&TypeId::of::<T>())
    }

    /// Drops every stored value.
    pub(crate) fn clear(&self) {
        self.lock().clear();
    }

    /// Takes every value out (a recoverable session keeps them).
    pub(crate) fn take_all(&self) -> DataMap {
        std::mem::take(&mut *self.lock())
    }

    /// Puts back values taken by [`take_all`](Self::take_all), keeping any value of the same
    /// type stored since (fresh values win).
    pub(crate) fn restore(&self, values: DataMap) {
        let mut map = self.lock();
        for (ty, value) in values {
            map.entry(ty).or_insert(value);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DataMap> {
        // A panic while holding this lock cannot leave the map inconsistent: keep going.
        self.values.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl fmt::Debug for SocketData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SocketData")
            .field("len", &self.lock().len())
            .finish()
    }
}
