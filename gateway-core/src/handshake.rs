//! [`Handshake`]: what the client sent when it connected (NestJS `client.handshake` / the upgrade request).

use std::net::{IpAddr, SocketAddr};
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
pub struct Handshake {
    /// Shared by the Socket.IO namespaces of a connection, each with its own `auth`.
    request: Arc<Request>,
    auth: Option<Arc<serde_json::Value>>,
}

#[derive(Debug)]
struct Request {
    uri: Uri,
    headers: HeaderMap,
    query: Vec<(String, String)>,
    remote_addr: SocketAddr,
    client_ip: IpAddr,
    issued: SystemTime,
}

impl Handshake {
    /// A handshake record; the server makes these, tests may too.
    pub fn new(uri: Uri, headers: HeaderMap, remote_addr: SocketAddr) -> Self {
        Self::from_client(uri, headers, remote_addr, remote_addr.ip())
    }

    /// A handshake from a client at `client_ip`, whose TCP peer is `remote_addr` (a trusted
    /// proxy, or the client itself).
    pub(crate) fn from_client(
        uri: Uri,
        headers: HeaderMap,
        remote_addr: SocketAddr,
        client_ip: IpAddr,
    ) -> Self {
        let query = uri.query().map(parse_query).unwrap_or_default();
        Self {
            request: Arc::new(Request {
                uri,
                headers,
                query,
                remote_addr,
                client_ip,
                issued: SystemTime::now(),
            }),
            auth: None,
        }
    }

    /// This handshake with a Socket.IO CONNECT `auth` payload.
    pub(crate) fn with_auth(&self, auth: serde_json::Value) -> Self {
        Self {
            request: self.request.clone(),
            auth: Some(Arc::new(auth)),
        }
    }

    /// The Socket.IO CONNECT payload (`io(url, { auth })`); `None` for JSON-format clients.
    ///
    /// ```
    /// # let hs = gateway_core::Handshake::new("/".parse().unwrap(), Default::default(), "127.0.0.1:1".parse().unwrap());
    /// assert!(hs.auth().is_none());
    /// ```
    pub fn auth(&self) -> Option<&serde_json::Value> {
        self.auth.as_deref()
    }

    /// All request headers.
    ///
    /// ```
    /// # let hs = gateway_core::Handshake::new("/".parse().unwrap(), Default::default(), "127.0.0.1:1".parse().unwrap());
    /// assert!(hs.headers().is_empty());
    /// ```
    pub fn headers(&self) -> &HeaderMap {
        &self.request.headers
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
        self.request.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first value of a URL query parameter, percent-decoded.
    ///
    /// ```
    /// # let hs = gateway_core::Handshake::new("/?a=1&a=2".parse().unwrap(), Default::default(), "127.0.0.1:1".parse().unwrap());
    /// assert_eq!(hs.query("a"), Some("1"));
    /// assert_eq!(hs.query("b"), None);
    /// ```
    pub fn query(&self, name: &str) -> Option<&str> {
        self.request
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
        &self.request.query
    }

    /// The request URI (path and query).
    ///
    /// ```
    /// # let hs = gateway_core::Handshake::new("/x?y=1".parse().unwrap(), Default::default(), "127.0.0.1:1".parse().unwrap());
    /// assert_eq!(hs.uri().query(), Some("y=1"));
    /// ```
    pub fn uri(&self) -> &Uri {
        &self.request.uri
    }

    /// The URL path the socket connected to.
    ///
    /// ```
    /// # let hs = gateway_core::Handshake::new("/events".parse().unwrap(), Default::default(), "127.0.0.1:1".parse().unwrap());
    /// assert_eq!(hs.path(), "/events");
    /// ```
    pub fn path(&self) -> &str {
        self.request.uri.path()
    }

    /// The client's address as seen by the server.
    ///
    /// ```
    /// # let hs = gateway_core::Handshake::new("/".parse().unwrap(), Default::default(), "10.0.0.1:9".parse().unwrap());
    /// assert_eq!(hs.remote_addr().port(), 9);
    /// ```
    pub fn remote_addr(&self) -> SocketAddr {
        self.request.remote_addr
    }

    /// The client's address: [`remote_addr`](Self::remote_addr)'s, or, when that is a trusted
    /// proxy ([`with_trusted_proxies`](crate::GatewayAppBuilder::with_trusted_proxies)), the
    /// address it forwarded in `X-Forwarded-For`. The per-address limits count this one.
    ///
    /// ```
    /// # let hs = gateway_core::Handshake::new("/".parse().unwrap(), Default::default(), "10.0.0.1:9".parse().unwrap());
    /// assert_eq!(hs.client_ip(), hs.remote_addr().ip());
    /// ```
    pub fn client_ip(&self) -> IpAddr {
        self.request.client_ip
    }

    /// When the handshake happened.
    ///
    /// ```
    /// # let hs = gateway_core::Handshake::new("/".parse().unwrap(), Default::default(), "127.0.0.1:1".parse().unwrap());
    /// assert!(hs.issued_at() <= std::time::SystemTime::now());
    /// ```
    pub fn issued_at(&self) -> SystemTime {
        self.request.issued
    }

    /// This handshake in socket.io's `socket.handshake` shape, as other instances see it.
    pub(crate) fn to_socketio_json(&self) -> serde_json::Value {
        let mut headers = serde_json::Map::new();
        for name in self.request.headers.keys() {
            let values: Vec<&str> = self
                .request
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect();
            headers.insert(name.as_str().to_owned(), values.join(", ").into());
        }
        let query: serde_json::Map<String, serde_json::Value> = self
            .request
            .query
            .iter()
            .map(|(k, v)| (k.clone(), v.clone().into()))
            .collect();
        let issued_ms = self
            .request
            .issued
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        serde_json::json!({
            "headers": headers,
            "time": js_date_string(issued_ms / 1000),
            "address": self.request.remote_addr.ip().to_string(),
            "xdomain": self.request.headers.contains_key(http::header::ORIGIN),
            "secure": false,
            "issued": issued_ms,
            "url": self.request.uri.to_string(),
            "query": query,
            "auth": self.auth.as_deref().cloned().unwrap_or_else(|| serde_json::json!({})),
        })
    }
}

/// The query's pairs, percent-decoded (`application/x-www-form-urlencoded`). Most queries
/// (`EIO=4&transport=websocket`, a JWT) have nothing to decode: they are split as they are.
fn parse_query(query: &str) -> Vec<(String, String)> {
    if query.bytes().any(|b| b == b'%' || b == b'+') {
        return form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
    }
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (name.to_owned(), value.to_owned())
        })
        .collect()
}

/// `secs` since the Unix epoch as JavaScript's `Date.toString()` prints it in UTC:
/// `Mon Nov 23 2026 08:45:29 GMT+0000 (Coordinated Universal Time)`.
fn js_date_string(secs: u64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = secs / 86_400;
    let (h, m, s) = (secs % 86_400 / 3600, secs % 3600 / 60, secs % 60);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{} {} {day:02} {year} {h:02}:{m:02}:{s:02} GMT+0000 (Coordinated Universal Time)",
        DAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
    )
}

/// (year, month, day) of a day count since 1970-01-01 (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// `req` with a URI and headers that own their bytes. hyper parses a request without copying:
/// its URI and headers are slices of the connection's 8 KiB read buffer, which a socket keeping
/// them (in its [`Handshake`]) would keep alive for as long as it is connected.
pub(crate) fn detached<B>(req: http::Request<B>) -> http::Request<B> {
    let (mut parts, body) = req.into_parts();
    parts.uri = Uri::try_from(parts.uri.to_string()).unwrap_or(parts.uri);
    let mut owned = HeaderMap::with_capacity(parts.headers.len());
    for (name, value) in &parts.headers {
        let name = http::HeaderName::from_bytes(name.as_str().as_bytes());
        let copy = http::HeaderValue::from_bytes(value.as_bytes());
        if let (Ok(name), Ok(mut copy)) = (name, copy) {
            copy.set_sensitive(value.is_sensitive());
            owned.append(name, copy);
        }
    }
    parts.headers = owned;
    http::Request::from_parts(parts, body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_split_as_form_urlencoded_does() {
        for query in [
            "EIO=4&transport=websocket",
            "a=1&&b=&c&d=x=y&=z&",
            "t=a%20b+c&u=%E2%82%AC",
            "",
        ] {
            let expected: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
            assert_eq!(parse_query(query), expected, "{query}");
        }
    }

    #[test]
    fn js_date_string_matches_node() {
        // new Date(1795423529597).toString() with TZ=UTC, captured from Node.
        assert_eq!(
            js_date_string(1_795_423_529),
            "Mon Nov 23 2026 08:45:29 GMT+0000 (Coordinated Universal Time)"
        );
        assert_eq!(
            js_date_string(0),
            "Thu Jan 01 1970 00:00:00 GMT+0000 (Coordinated Universal Time)"
        );
    }
}
