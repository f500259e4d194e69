//! Random ids: this instance's `uid` and its requests' `requestId`.

use rand::Rng;

/// A random id of `len` URL-safe characters (socket.io's `uid2` alphabet).
pub(crate) fn random_id(len: usize) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = rand::rng();
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// `bytes` random bytes in lowercase hex (the cluster adapter's `randomBytes(8).toString("hex")`).
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut rng = rand::rng();
    (0..bytes)
        .map(|_| format!("{:02x}", rng.random::<u8>()))
        .collect()
}
