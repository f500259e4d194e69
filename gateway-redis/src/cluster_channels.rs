//! [`ClusterChannels`]: the pub/sub channel names of socket.io's cluster adapters
//! (`createShardedAdapter` of `@socket.io/redis-adapter` 8.3, and the streams adapter's
//! pub/sub), and the sharded adapter's [`SubscriptionMode`] rules.

use gateway_core::Room;

/// Which rooms have a shard channel of their own (`subscriptionMode` in the JS adapter).
///
/// ```
/// use gateway_redis::SubscriptionMode;
/// assert_eq!(SubscriptionMode::default(), SubscriptionMode::Dynamic);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SubscriptionMode {
    /// Every message goes on the namespace's one channel: the fewest subscriptions, and every
    /// instance hears every broadcast.
    Static,
    /// A broadcast to exactly one room goes on that room's channel, heard only by the
    /// instances with members in it; a socket's own-id room stays on the namespace's channel.
    #[default]
    Dynamic,
    /// As `Dynamic`, and a socket's own-id room has a channel too (one subscription per
    /// connected socket).
    DynamicPrivate,
}

/// The channel names of one instance (`uid`).
#[derive(Clone, Debug)]
pub(crate) struct ClusterChannels {
    pub(crate) prefix: String,
    pub(crate) uid: String,
    pub(crate) mode: SubscriptionMode,
}

impl ClusterChannels {
    /// `socket.io#<nsp>#`: every instance of the namespace subscribes to it.
    pub(crate) fn main(&self, namespace: &str) -> String {
        format!("{}#{namespace}#", self.prefix)
    }

    /// `socket.io#<nsp>#<uid>#`: answers for instance `uid`.
    pub(crate) fn response(&self, namespace: &str, uid: &str) -> String {
        format!("{}#{namespace}#{uid}#", self.prefix)
    }

    /// `socket.io#<nsp>#<room>#`.
    pub(crate) fn room(&self, namespace: &str, room: &Room) -> String {
        format!("{}#{namespace}#{room}#", self.prefix)
    }

    /// What this instance subscribes to for `namespace` from the start.
    pub(crate) fn of_namespace(&self, namespace: &str) -> [String; 2] {
        [self.main(namespace), self.response(namespace, &self.uid)]
    }

    /// The channel this instance hears `room` on while it has members there, if any (`own`:
    /// a socket's own-id room).
    pub(crate) fn subscribed_for(&self, namespace: &str, room: &Room, own: bool) -> Option<String> {
        let separate = match self.mode {
            SubscriptionMode::Static => false,
            SubscriptionMode::Dynamic => !own,
            SubscriptionMode::DynamicPrivate => true,
        };
        separate.then(|| self.room(namespace, room))
    }

    /// Where a message goes: a broadcast without acks to exactly one `room` goes on the room's
    /// channel, unless the mode says otherwise. In `Dynamic` mode the JS adapter takes a room
    /// name of 20 characters for a socket id (which has no channel there); so does this one.
    pub(crate) fn publish_channel(&self, namespace: &str, room: Option<&Room>) -> String {
        let room = room.filter(|room| match self.mode {
            SubscriptionMode::Static => false,
            SubscriptionMode::Dynamic => room.as_str().len() != 20,
            SubscriptionMode::DynamicPrivate => true,
        });
        match room {
            Some(room) => self.room(namespace, room),
            None => self.main(namespace),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channels(mode: SubscriptionMode) -> ClusterChannels {
        ClusterChannels {
            prefix: "socket.io".into(),
            uid: "9081fb9aea2a80ca".into(),
            mode,
        }
    }

    #[test]
    fn names_and_routes_as_create_sharded_adapter() {
        let dynamic = channels(SubscriptionMode::Dynamic);
        let room = Room::from("room1");
        let sid = Room::from("zhGByM-3zPoVhSwtAAAB");
        assert_eq!(
            dynamic.of_namespace("/"),
            ["socket.io#/#", "socket.io#/#9081fb9aea2a80ca#"]
        );
        assert_eq!(
            dynamic.publish_channel("/", Some(&room)),
            "socket.io#/#room1#"
        );
        assert_eq!(dynamic.publish_channel("/", Some(&sid)), "socket.io#/#");
        assert_eq!(dynamic.publish_channel("/", None), "socket.io#/#");
        assert_eq!(dynamic.subscribed_for("/", &sid, true), None);
        assert_eq!(
            dynamic.subscribed_for("/", &room, false).as_deref(),
            Some("socket.io#/#room1#")
        );

        let private = channels(SubscriptionMode::DynamicPrivate);
        assert_eq!(
            private.publish_channel("/", Some(&sid)),
            "socket.io#/#zhGByM-3zPoVhSwtAAAB#"
        );
        assert!(private.subscribed_for("/", &sid, true).is_some());

        let fixed = channels(SubscriptionMode::Static);
        assert_eq!(
            fixed.publish_channel("/chat", Some(&room)),
            "socket.io#/chat#"
        );
        assert_eq!(fixed.subscribed_for("/", &room, false), None);
    }
}
