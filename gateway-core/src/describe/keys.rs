//! The document's keys (channels, operations, messages): made of the characters AsyncAPI
//! allows, and unique.

use serde_json::{Map, Value};

/// A channel key from a namespace: `/chat` → `chat`, `/` → `root`.
pub(super) fn channel_key(namespace: &str) -> String {
    let key = id_part(namespace.trim_start_matches('/'));
    let key = key.trim_matches('_');
    if key.is_empty() {
        "root".to_owned()
    } else {
        key.to_owned()
    }
}

/// `text` with every character outside `[A-Za-z0-9_-]` replaced by `_`, runs collapsed.
pub(super) fn id_part(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let c = if c.is_ascii_alphanumeric() || c == '-' {
            c
        } else {
            '_'
        };
        if !(c == '_' && out.ends_with('_')) {
            out.push(c);
        }
    }
    out
}

pub(super) fn message_key(event: &str) -> String {
    let key = id_part(event);
    if key.is_empty() {
        "_".to_owned()
    } else {
        key
    }
}

pub(super) fn unique_key(map: &Map<String, Value>, key: &str) -> String {
    let mut candidate = key.to_owned();
    let mut n = 2;
    while map.contains_key(&candidate) {
        candidate = format!("{key}_{n}");
        n += 1;
    }
    candidate
}
