//! The permessage-deflate negotiation (RFC 7692 §5, §7.1): the client's
//! `Sec-WebSocket-Extensions` offers, and the server's answer.
//!
//! The first offer the server can honour is accepted. An offer the server cannot honour (a
//! window smaller than 32 KiB for its own messages: the compressor has no smaller one) or that
//! is malformed (an unknown or repeated parameter, a bad value, an unclosed quote) is declined,
//! never an error: the connection then goes on uncompressed.

use http::header::SEC_WEBSOCKET_EXTENSIONS;
use http::HeaderMap;

use super::PerMessageDeflate;

const EXTENSION: &str = "permessage-deflate";
/// The window of the compressor and the inflater (32 KiB): the largest the RFC allows.
const WINDOW_BITS: u8 = 15;

/// What the server and one client agreed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Agreement {
    /// The server compresses each message from an empty context.
    pub(crate) server_no_context_takeover: bool,
    /// The client compresses each message from an empty context: its inflater need not be kept.
    pub(crate) client_no_context_takeover: bool,
    /// The client asked the server's window be at most 15 bits: the answer says so.
    server_max_window_bits: bool,
    /// The server's messages of at least this many bytes are compressed.
    pub(crate) threshold: usize,
    /// How hard (0 to 9).
    pub(crate) level: u32,
}

impl Agreement {
    /// The `Sec-WebSocket-Extensions` value of the `101`.
    pub(crate) fn response(&self) -> String {
        let mut value = EXTENSION.to_owned();
        if self.server_no_context_takeover {
            value.push_str("; server_no_context_takeover");
        }
        if self.client_no_context_takeover {
            value.push_str("; client_no_context_takeover");
        }
        if self.server_max_window_bits {
            value.push_str("; server_max_window_bits=15");
        }
        value
    }
}

/// The first permessage-deflate offer in `headers` the server accepts under `config`.
pub(crate) fn negotiate(headers: &HeaderMap, config: &PerMessageDeflate) -> Option<Agreement> {
    headers
        .get_all(SEC_WEBSOCKET_EXTENSIONS)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| split_outside_quotes(value, ','))
        .find_map(|extension| accept(extension, config))
}

/// `extension` (one element of the list: a name and its parameters) accepted, if it is a
/// well-formed permessage-deflate offer the server can honour.
fn accept(extension: &str, config: &PerMessageDeflate) -> Option<Agreement> {
    let mut parts = split_outside_quotes(extension, ';');
    let name = parts.next()?.trim();
    if !name.eq_ignore_ascii_case(EXTENSION) {
        return None;
    }
    let mut agreement = Agreement {
        server_no_context_takeover: config.server_no_context_takeover,
        client_no_context_takeover: config.client_no_context_takeover,
        server_max_window_bits: false,
        threshold: config.threshold,
        level: config.level,
    };
    let mut seen: Vec<&str> = Vec::new();
    for param in parts {
        let (key, value) = match param.split_once('=') {
            Some((key, value)) => (key.trim(), Some(unquote(value.trim())?)),
            None => (param.trim(), None),
        };
        if seen.contains(&key) {
            return None;
        }
        seen.push(key);
        match (key, value) {
            ("server_no_context_takeover", None) => agreement.server_no_context_takeover = true,
            ("client_no_context_takeover", None) => {}
            ("server_max_window_bits", Some(bits)) => {
                // The compressor's window is 32 KiB: a smaller one cannot be honoured.
                if window_bits(&bits)? != WINDOW_BITS {
                    return None;
                }
                agreement.server_max_window_bits = true;
            }
            // The inflater's 32 KiB window reads whatever window the client uses.
            ("client_max_window_bits", None) => {}
            ("client_max_window_bits", Some(bits)) => {
                window_bits(&bits)?;
            }
            _ => return None,
        }
    }
    Some(agreement)
}

/// A window size parameter: 8 to 15, digits only, no leading zero (RFC 7692 §7.1.2).
fn window_bits(value: &str) -> Option<u8> {
    if value.starts_with('0') || !value.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let bits: u8 = value.parse().ok()?;
    (8..=15).contains(&bits).then_some(bits)
}

/// A parameter value: a token, or a quoted string unescaped.
fn unquote(value: &str) -> Option<String> {
    let Some(quoted) = value.strip_prefix('"') else {
        return (!value.is_empty() && !value.contains('"')).then(|| value.to_owned());
    };
    let inner = quoted.strip_suffix('"')?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push(chars.next()?),
            '"' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// `value` split at each `separator` that is not inside a quoted string (an unclosed quote
/// runs to the end, and that piece is then malformed).
fn split_outside_quotes(value: &str, separator: char) -> impl Iterator<Item = &str> {
    let mut rest = Some(value);
    std::iter::from_fn(move || {
        let text = rest?;
        let (mut quoted, mut escaped) = (false, false);
        for (at, c) in text.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if quoted => escaped = true,
                '"' => quoted = !quoted,
                c if c == separator && !quoted => {
                    rest = Some(&text[at + c.len_utf8()..]);
                    return Some(&text[..at]);
                }
                _ => {}
            }
        }
        rest = None;
        Some(text)
    })
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn offer(values: &[&str], config: PerMessageDeflate) -> Option<String> {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                SEC_WEBSOCKET_EXTENSIONS,
                HeaderValue::from_str(value).unwrap(),
            );
        }
        negotiate(&headers, &config).map(|agreement| agreement.response())
    }

    fn default_offer(value: &str) -> Option<String> {
        offer(&[value], PerMessageDeflate::new())
    }

    #[test]
    fn what_browsers_and_ws_offer_is_accepted() {
        // Chromium and npm `ws`.
        assert_eq!(
            default_offer("permessage-deflate; client_max_window_bits").as_deref(),
            Some("permessage-deflate")
        );
        assert_eq!(
            default_offer("permessage-deflate").as_deref(),
            Some("permessage-deflate")
        );
        // Firefox, and any case of the name.
        assert_eq!(
            default_offer("PerMessage-Deflate ;client_max_window_bits=\"12\"").as_deref(),
            Some("permessage-deflate")
        );
    }

    #[test]
    fn the_server_configuration_and_the_client_requests_are_answered() {
        let config = PerMessageDeflate::new()
            .with_server_no_context_takeover(true)
            .with_client_no_context_takeover(true);
        assert_eq!(
            offer(&["permessage-deflate"], config).as_deref(),
            Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        );
        assert_eq!(
            default_offer(
                "permessage-deflate; server_no_context_takeover; server_max_window_bits=15"
            )
            .as_deref(),
            Some("permessage-deflate; server_no_context_takeover; server_max_window_bits=15")
        );
    }

    #[test]
    fn the_first_offer_the_server_can_honour_wins() {
        let offers = "permessage-deflate; server_max_window_bits=10, \
                      permessage-deflate; client_no_context_takeover";
        assert_eq!(default_offer(offers).as_deref(), Some("permessage-deflate"));
        // Across header lines, after other extensions.
        assert_eq!(
            offer(
                &[
                    "x-webkit-deflate-frame",
                    "foo; a=\"b,c\", permessage-deflate"
                ],
                PerMessageDeflate::new()
            )
            .as_deref(),
            Some("permessage-deflate")
        );
    }

    #[test]
    fn malformed_or_unhonourable_offers_are_declined() {
        for declined in [
            "",
            "x-webkit-deflate-frame",
            "permessage-deflate; server_max_window_bits=10",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; client_max_window_bits=7",
            "permessage-deflate; client_max_window_bits=16",
            "permessage-deflate; client_max_window_bits=010",
            "permessage-deflate; client_max_window_bits=+9",
            "permessage-deflate; client_max_window_bits=\"10",
            "permessage-deflate; client_max_window_bits=",
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; unknown_param",
            "permessage-deflate; client_max_window_bits=\"1\"0\"",
            "permessage-deflate; \"",
        ] {
            assert_eq!(default_offer(declined), None, "{declined:?}");
        }
    }

    #[test]
    fn quoted_values_are_unescaped() {
        assert_eq!(unquote("\"1\\5\"").as_deref(), Some("15"));
        assert_eq!(unquote("\"a\\\"b\"").as_deref(), Some("a\"b"));
        assert_eq!(unquote("\"\\"), None);
        let pieces: Vec<&str> = split_outside_quotes("a; b=\"x;y\"; c", ';').collect();
        assert_eq!(pieces, ["a", " b=\"x;y\"", " c"]);
    }
}
