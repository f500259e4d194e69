//! [`Room`] names and [`SocketId`]s.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use rand::RngCore;

/// A socket's id: 20 URL-safe base64 characters, the same shape socket.io uses.
///
/// Every socket is also a member of the room named by its id, so `server.to(id)` reaches it.
///
/// ```
/// use gateway_core::SocketId;
/// let id = SocketId::random();
/// assert_eq!(id.as_str().len(), 20);
/// assert_eq!(id.as_str().parse::<SocketId>().unwrap(), id);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId([u8; 20]);

const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

impl SocketId {
    /// A fresh random id (120 random bits).
    pub fn random() -> Self {
        let mut raw = [0u8; 15];
        rand::rng().fill_bytes(&mut raw);
        let mut out = [0u8; 20];
        for (chunk, dst) in raw.chunks(3).zip(out.chunks_mut(4)) {
            let n = (u32::from(chunk[0]) << 16) | (u32::from(chunk[1]) << 8) | u32::from(chunk[2]);
            for (i, d) in dst.iter_mut().enumerate() {
                *d = BASE64URL[((n >> (18 - 6 * i)) & 63) as usize];
            }
        }
        Self(out)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII from BASE64URL is ever stored.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The text was not a 20-character URL-safe base64 socket id.
#[derive(Debug, thiserror::Error)]
#[error("not a socket id: expected 20 URL-safe base64 characters")]
pub struct InvalidSocketId;

impl std::str::FromStr for SocketId {
    type Err = InvalidSocketId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes: [u8; 20] = s.as_bytes().try_into().map_err(|_| InvalidSocketId)?;
        if bytes.iter().all(|b| BASE64URL.contains(b)) {
            Ok(Self(bytes))
        } else {
            Err(InvalidSocketId)
        }
    }
}

impl fmt::Display for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for SocketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SocketId({})", self.as_str())
    }
}

/// A room name. Rooms are created on first join and removed when their last member leaves.
///
/// ```
/// use gateway_core::Room;
/// let room = Room::from(format!("room:{}", 7));
/// assert_eq!(&*room, "room:7");
/// assert_eq!(Room::from("a"), Room::from(String::from("a")));
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Room(Arc<str>);

impl Room {
    /// The room name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for Room {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Room {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Room {
    fn from(s: &str) -> Self {
        Self(s.into())
    }
}
impl From<String> for Room {
    fn from(s: String) -> Self {
        Self(s.into())
    }
}
impl From<&String> for Room {
    fn from(s: &String) -> Self {
        Self(s.as_str().into())
    }
}
impl From<SocketId> for Room {
    fn from(id: SocketId) -> Self {
        Self(id.as_str().into())
    }
}
impl From<&SocketId> for Room {
    fn from(id: &SocketId) -> Self {
        Self(id.as_str().into())
    }
}

impl fmt::Display for Room {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Room {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Room({:?})", &*self.0)
    }
}

/// One room or several: what `to`, `except`, `join` and `leave` accept.
///
/// ```
/// use gateway_core::{IntoRooms, Room};
/// assert_eq!("a".into_rooms(), vec![Room::from("a")]);
/// assert_eq!(["a", "b"].into_rooms().len(), 2);
/// assert_eq!(vec![String::from("a")].into_rooms().len(), 1);
/// ```
pub trait IntoRooms {
    /// The rooms named.
    fn into_rooms(self) -> Vec<Room>;
}

impl<T: Into<Room>> IntoRooms for T {
    fn into_rooms(self) -> Vec<Room> {
        vec![self.into()]
    }
}
impl<T: Into<Room>> IntoRooms for Vec<T> {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().map(Into::into).collect()
    }
}
impl<T: Into<Room>, const N: usize> IntoRooms for [T; N] {
    fn into_rooms(self) -> Vec<Room> {
        self.into_iter().map(Into::into).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_parse_back() {
        let a = SocketId::random();
        let b = SocketId::random();
        assert_ne!(a, b);
        assert!("short".parse::<SocketId>().is_err());
        assert!("!!!!!!!!!!!!!!!!!!!!".parse::<SocketId>().is_err());
    }
}
