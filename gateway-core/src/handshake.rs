//! [`Handshake`]: what the client sent when it connected (NestJS `client.handshake` / the upgrade request).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use http::{HeaderMap, Uri};

/// The HTTP upgrade request a socket connected with: headers, URL query, remote address.
///
/// Cheap to clone. Available as a handler argument, in `handle_connection`, and from
/// [`Socket::handshake`](crate::Socket::handshake).
///
/// ```
/// use gateway_core::Handshake;
/// let hs = Handshake::new(
///     "/chat?token=abc%20def".parse().unwrap(),
///     http::HeaderMap::new(),
///     "127.0.0.1:5000".parse().unwrap(),
/// );
/// assert_eq!(hs.path(), "/chat");
/// assert_eq!(hs.query("token"), Some("abc def"));
/// ```
#[derive(Clone, Debug)]
pub struct Handshake(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    uri: Uri,
    headers: HeaderMap,
    query: Vec<(String, String)>,
    remote_addr: SocketAddr,
    issued: SystemTime,
    auth: Option<serde_json::Value>,
}

impl Handshake {
    /// A handshake record; the server makes these, tests may too.
    pub fn new(uri: Uri, headers: HeaderMap, remote_addr: SocketAddr) -> Self {
        let query = uri
            .query()
            .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        Self(Arc::new(Inner {
            uri,
            headers,
            query,
            remote_addr,
            issued: SystemTime::now(),
            auth: None,
        }))
    }

    /// This handshake with a Socket.IO CONNECT `auth` payload.
    pub(crate) fn with_auth(&self, auth: serde_json::Value) -> Self {
        Self(Arc::new(Inner {
            uri: self.0.uri.clone(),
            headers: self.0.headers.clone(),
            query: self.0.query.clone(),
            remote_addr: self.0.remote_addr,
            issued: self.0.issued,
            auth: Some(auth),
        }))
    }

    /// The Socket.IO CONNECT payload (`io(url, { auth })`); `None` for JSON-format clients.
    ///
    /// ```
    /// # let hs = gateway_core::Handshake::new("/".parse().unwrap(), Default::default(), "127.0.0.1:1".parse().unwrap());
    /// assert!(hs.auth().is_none());
    /// ```
    pub fn auth(&self) -> Option<&serde_json::Value> {
        self.0.auth.as_ref()
    }

    /// All request headers.
    ///
    /// ```
    /// # let hs = gateway_core::Handshake::new("/".parse().unwrap(), Default::default(), "127.0.0.1:1".parse().unwrap());
    /// assert!(hs.headers().is_empty());
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        &self.0.headers
    }

    /// One header as text, if present and valid UTF-8.
    ///
    /// ```
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("authorization", "Bearer t".parse().unwrap());
    /// let hs = gateway_core::Handshake::new("/".parse().unwrap(), headers, "127.0.0.1:1".parse().unwrap());
    /// assert_eq!(hs.header("Authorization"), Some("Bearer t"));
    /// ```
    pub fn header(&self, name: &str) -> Option<&str> {
        self.0.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first value of a URL query parameter, percent-decoded.
    ///
    /// ```
    /// # let hs = gateway_core::Handshake::new("/?a=1&a=2".parse().unwrap(), Default::default(), "127.0.0.1:1".parse().unwrap());
    /// assert_eq!(hs.query("a"), Some("1"));
    /// assert_eq!(hs.query("b"), None);
    /// ```
    pub fn query(&self, name: &str) -> Option<&str> {
        self.0
            .query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every query parameter in order, percent-decoded.
    ///
    /// ```
    /// # let hs = gateway_core::Handshake::new("/?a=1&b=2".parse().unwrap(), Default::default(), "127.0.0.1:1".parse().unwrap());
    /// assert_eq!(hs.query_pairs().len(), 2);
    /// ```
    pub fn query_pairs(&self) -> &[(String, String)] {
        &self.0.query
    }

    /// The request URI (path and query).
    ///
    /// ```
    /// # let hs = gateway_core::Handshake::new("/x?y=1".parse().unwrap(), Default::default(), "127.0.0.1:1".parse().unwrap());
    /// assert_eq!(hs.uri().query(), Some("y=1"));
    /// ```
    pub fn uri(&self) -> &Uri {
        &self.0.uri
    }

    /// The URL path the socket connected to.
    ///
    /// ```
    /// # let hs = gateway_core::Handshake::new("/events".parse().unwrap(), Default::default(), "127.0.0.1:1".parse().unwrap());
    /// assert_eq!(hs.path(), "/events");
    /// ```
    pub fn path(&self) -> &str {
        self.0.uri.path()
    }

    /// The client's address as seen by the server.
    ///
    /// ```
    /// # let hs = gateway_core::Handshake::new("/".parse().unwrap(), Default::default(), "10.0.0.1:9".parse().unwrap());
    /// assert_eq!(hs.remote_addr().port(), 9);
    /// ```
    pub fn remote_addr(&self) -> SocketAddr {
        self.0.remote_addr
    }

    /// When the handshake happened.
    ///
    /// ```
    /// # let hs = gateway_core::Handshake::new("/".parse().unwrap(), Default::default(), "127.0.0.1:1".parse().unwrap());
    /// assert!(hs.issued_at() <= std::time::SystemTime::now());
    /// ```
    pub fn issued_at(&self) -> SystemTime {
        self.0.issued
    }
}
