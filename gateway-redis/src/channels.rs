//! Redis channel names, as `@socket.io/redis-adapter` 8.3 names them: [`Channels`] of one
//! namespace, and [`ChannelMap`] of the app's namespaces (what this instance subscribes to).

use std::borrow::Cow;
use std::collections::HashMap;

use gateway_core::Recipients;

/// The channels of one namespace.
#[derive(Debug, Clone)]
pub(crate) struct Channels {
    /// `socket.io#/#`: broadcasts (a room's broadcasts append `room#`).
    pub(crate) broadcast: String,
    /// `socket.io-request#/#`: requests; one subscription per instance is how instances count.
    pub(crate) request: String,
    /// `socket.io-response#/#`: responses, shared.
    pub(crate) response: String,
    /// `socket.io-response#/#<uid>#`: responses meant for this instance only.
    pub(crate) own_response: String,
}

impl Channels {
    pub(crate) fn new(prefix: &str, namespace: &str, uid: &str) -> Self {
        let response = format!("{prefix}-response#{namespace}#");
        Self {
            broadcast: format!("{prefix}#{namespace}#"),
            request: format!("{prefix}-request#{namespace}#"),
            own_response: format!("{response}{uid}#"),
            response,
        }
    }

    /// The PSUBSCRIBE pattern matching every broadcast channel of the namespace.
    pub(crate) fn broadcast_pattern(&self) -> String {
        let mut pattern = String::with_capacity(self.broadcast.len() + 1);
        for c in self.broadcast.chars() {
            if matches!(c, '*' | '?' | '[' | ']' | '\\') {
                pattern.push('\\');
            }
            pattern.push(c);
        }
        pattern.push('*');
        pattern
    }

    /// Where a broadcast to `recipients` is published: a room's own channel when it targets
    /// exactly one room (as the JS adapter does).
    pub(crate) fn broadcast_channel(&self, recipients: &Recipients) -> String {
        match recipients.rooms.as_slice() {
            [room] => format!("{}{room}#", self.broadcast),
            _ => self.broadcast.clone(),
        }
    }
}

/// What an exactly-named subscribed channel carries; the others (matched by a pattern) carry
/// broadcasts.
pub(crate) enum Route {
    /// Requests for this namespace.
    Request(String),
    /// Answers to requests.
    Response,
}

/// The channels of this instance (`uid`) for each namespace of the app.
pub(crate) struct ChannelMap {
    key_prefix: String,
    uid: String,
    by_namespace: HashMap<String, Channels>,
    routes: HashMap<String, Route>,
}

impl ChannelMap {
    pub(crate) fn new<'a>(
        key_prefix: &str,
        uid: &str,
        namespaces: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let mut by_namespace = HashMap::new();
        let mut routes = HashMap::new();
        for name in namespaces {
            let channels = Channels::new(key_prefix, name, uid);
            routes.insert(channels.request.clone(), Route::Request(name.to_owned()));
            routes.insert(channels.response.clone(), Route::Response);
            routes.insert(channels.own_response.clone(), Route::Response);
            by_namespace.insert(name.to_owned(), channels);
        }
        Self {
            key_prefix: key_prefix.to_owned(),
            uid: uid.to_owned(),
            by_namespace,
            routes,
        }
    }

    /// The channels of `namespace`; computed when the app did not declare it.
    pub(crate) fn of(&self, namespace: &str) -> Cow<'_, Channels> {
        match self.by_namespace.get(namespace) {
            Some(channels) => Cow::Borrowed(channels),
            None => Cow::Owned(Channels::new(&self.key_prefix, namespace, &self.uid)),
        }
    }

    /// What to subscribe to: the exact channels (requests and responses of every namespace)
    /// and the patterns (their broadcasts).
    pub(crate) fn subscriptions(&self) -> (Vec<String>, Vec<String>) {
        let mut exact = Vec::new();
        let mut patterns = Vec::new();
        for channels in self.by_namespace.values() {
            exact.push(channels.request.clone());
            exact.push(channels.response.clone());
            exact.push(channels.own_response.clone());
            patterns.push(channels.broadcast_pattern());
        }
        (exact, patterns)
    }

    /// What a message received on `channel` is; `None` for a broadcast.
    pub(crate) fn route(&self, channel: &str) -> Option<&Route> {
        self.routes.get(channel)
    }
}

#[cfg(test)]
mod tests {
    use gateway_core::Room;

    use super::*;

    #[test]
    fn names_as_the_js_adapter() {
        let channels = Channels::new("socket.io", "/", "qoyq-N");
        let to_room = Recipients {
            rooms: vec![Room::from("room1")],
            except: vec![],
        };
        assert_eq!(channels.broadcast_channel(&to_room), "socket.io#/#room1#");
        assert_eq!(
            channels.broadcast_channel(&Recipients::default()),
            "socket.io#/#"
        );
        assert_eq!(channels.broadcast_pattern(), "socket.io#/#*");
        assert_eq!(channels.own_response, "socket.io-response#/#qoyq-N#");
        assert_eq!(
            Channels::new("a*b", "/", "u").broadcast_pattern(),
            r"a\*b#/#*"
        );
    }

    #[test]
    fn routes_the_subscribed_channels() {
        let map = ChannelMap::new("socket.io", "u", ["/", "/chat"]);
        let (exact, patterns) = map.subscriptions();
        assert_eq!((exact.len(), patterns.len()), (6, 2));
        assert!(matches!(
            map.route("socket.io-request#/chat#"),
            Some(Route::Request(ns)) if ns == "/chat"
        ));
        assert!(matches!(
            map.route("socket.io-response#/#u#"),
            Some(Route::Response)
        ));
        assert!(map.route("socket.io#/#room#").is_none());
        assert_eq!(
            map.of("/undeclared").request,
            "socket.io-request#/undeclared#"
        );
    }
}
