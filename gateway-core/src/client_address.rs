//! The client's address: the TCP peer's, or, when the peer is a trusted proxy
//! (`with_trusted_proxies`), the address it forwarded in `X-Forwarded-For`.

use std::net::{IpAddr, SocketAddr};

use http::Request;

/// The address of the client behind `req`, whose TCP peer is `peer`.
///
/// `X-Forwarded-For` lists the client, then each proxy the request passed through; each proxy
/// appends the address it received the request from. Read from the right, the first address
/// that is not a trusted proxy is the client. An entry that is not an address stops the walk at
/// the last trusted proxy: whatever an untrusted hop wrote is not believed.
pub(crate) fn client_ip<B>(req: &Request<B>, peer: IpAddr, trusted: &[IpAddr]) -> IpAddr {
    // A dual-stack listener sees IPv4 clients as IPv4-mapped IPv6 addresses.
    let peer = peer.to_canonical();
    if !trusted.contains(&peer) {
        return peer;
    }
    let mut client = peer;
    let headers = req.headers().get_all("x-forwarded-for");
    let entries = headers
        .iter()
        .rev()
        .flat_map(|value| value.to_str().unwrap_or("?").rsplit(','));
    for entry in entries {
        match parse(entry.trim()) {
            Some(ip) if trusted.contains(&ip) => client = ip,
            Some(ip) => return ip,
            None => return client,
        }
    }
    client
}

/// `1.2.3.4`, `2001:db8::1`, `[2001:db8::1]`, or either with a port (`1.2.3.4:5678`,
/// `[2001:db8::1]:5678`).
fn parse(entry: &str) -> Option<IpAddr> {
    let bare = entry
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(entry);
    let ip = bare
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|addr| addr.ip()))?;
    Some(ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn with_xff(values: &[&str]) -> Request<()> {
        let mut req = Request::builder();
        for value in values {
            req = req.header("x-forwarded-for", *value);
        }
        req.body(()).unwrap()
    }

    #[test]
    fn only_a_trusted_peer_is_believed() {
        let req = with_xff(&["6.6.6.6"]);
        assert_eq!(client_ip(&req, ip("10.0.0.9"), &[]), ip("10.0.0.9"));
        assert_eq!(
            client_ip(&req, ip("10.0.0.9"), &[ip("10.0.0.1")]),
            ip("10.0.0.9")
        );
        assert_eq!(
            client_ip(&req, ip("10.0.0.1"), &[ip("10.0.0.1")]),
            ip("6.6.6.6")
        );
    }

    #[test]
    fn the_rightmost_untrusted_entry_is_the_client() {
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        // The client forged its own first entry; the proxies appended the real hops.
        let req = with_xff(&["1.1.1.1, 5.5.5.5", "10.0.0.2"]);
        assert_eq!(client_ip(&req, ip("10.0.0.1"), &trusted), ip("5.5.5.5"));
        let req = with_xff(&["[2001:db8::7]:443, 10.0.0.2:80"]);
        assert_eq!(client_ip(&req, ip("10.0.0.1"), &trusted), ip("2001:db8::7"));
        let req = with_xff(&["[2001:db8::8]"]);
        assert_eq!(client_ip(&req, ip("10.0.0.1"), &trusted), ip("2001:db8::8"));
        // A dual-stack listener's view of a trusted IPv4 proxy.
        let req = with_xff(&["5.5.5.5"]);
        assert_eq!(
            client_ip(&req, ip("::ffff:10.0.0.1"), &trusted),
            ip("5.5.5.5")
        );
    }

    #[test]
    fn garbage_or_nothing_leaves_the_last_trusted_hop() {
        let trusted = [ip("10.0.0.1"), ip("10.0.0.2")];
        let req = with_xff(&["not-an-address, 10.0.0.2"]);
        assert_eq!(client_ip(&req, ip("10.0.0.1"), &trusted), ip("10.0.0.2"));
        assert_eq!(
            client_ip(&with_xff(&[]), ip("10.0.0.1"), &trusted),
            ip("10.0.0.1")
        );
    }
}
