//! [`Recipients`]: who a broadcast is for, on this instance and on the others alike.

use crate::Room;

/// Who a broadcast or cluster-wide operation is for: the members of any of `rooms` (every
/// socket of the namespace when empty), minus the members of any of `except`. A socket id is a
/// room holding only that socket.
///
/// ```
/// use gateway_core::{Recipients, Room};
/// let everyone_but_muted = Recipients { rooms: vec![], except: vec![Room::from("muted")] };
/// assert!(everyone_but_muted.rooms.is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recipients {
    /// Reach the members of any of these rooms; every socket when empty.
    pub rooms: Vec<Room>,
    /// Leave out the members of these rooms.
    pub except: Vec<Room>,
}

impl Recipients {
    /// Whether a socket that is in `rooms` (its own room included) is a recipient.
    pub(crate) fn reaches(&self, rooms: &[Room]) -> bool {
        let member = |room: &Room| rooms.contains(room);
        let included = self.rooms.is_empty() || self.rooms.iter().any(member);
        included && !self.except.iter().any(member)
    }
}
