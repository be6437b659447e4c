//! Webhook signatures: HMAC-SHA256 over the timestamp and the body.
//!
//! The header reads `t=<unix seconds>,v1=<hex of HMAC(key, "<t>.<body>")>`
//! (the scheme of common payment providers). Signing the timestamp with the
//! body lets the receiver refuse replays outside a short window without
//! keeping state; within the window, replays are harmless because the shop
//! is idempotent by payment event.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "Mockpay-Signature";

/// How far a signature's timestamp may be from the receiver's clock.
pub const SIGNATURE_WINDOW_S: u64 = 300;

/// Signing keys are secrets: shorter ones are refused at start.
pub const KEY_BYTES_MIN: usize = 16;

#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the signature header is missing")]
    Missing,
    #[error("the signature header is malformed (expected t=<unix>,v1=<hex>)")]
    Malformed,
    #[error("the signature timestamp is outside the {SIGNATURE_WINDOW_S} s window")]
    Stale,
    #[error("the signature does not match the body")]
    Mismatch,
}

/// A signing or verifying key (the provider and the shop each hold one).
#[derive(Clone)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    pub fn new(key: impl Into<Vec<u8>>) -> SigningKey {
        let key = key.into();
        assert!(key.len() >= KEY_BYTES_MIN, "signing key too short");
        SigningKey(key)
    }

    /// The raw key, for deriving other keyed hashes from it.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// HMAC-SHA256 of `parts` laid end to end: the one keyed hash the
    /// project derives ids, tokens and sub-keys with.
    pub fn keyed_hash(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }

    fn mac(&self, timestamp_s: u64, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(timestamp_s.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The header value for `body` signed at `timestamp_s`.
    pub fn sign(&self, timestamp_s: u64, body: &[u8]) -> String {
        let tag = self.mac(timestamp_s, body).finalize().into_bytes();
        format!("t={timestamp_s},v1={}", hex::encode(tag))
    }

    /// Checks `header` against `body` at the receiver's time `now_s`.
    pub fn verify(
        &self,
        header: Option<&str>,
        body: &[u8],
        now_s: u64,
    ) -> Result<(), SignatureError> {
        let (timestamp_s, tag) = parse_header(header.ok_or(SignatureError::Missing)?)?;
        if timestamp_s.abs_diff(now_s) > SIGNATURE_WINDOW_S {
            return Err(SignatureError::Stale);
        }
        // Constant-time comparison, so the tag cannot be guessed byte by byte.
        self.mac(timestamp_s, body)
            .verify_slice(&tag)
            .map_err(|_| SignatureError::Mismatch)
    }
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey(..)")
    }
}

fn parse_header(header: &str) -> Result<(u64, Vec<u8>), SignatureError> {
    let mut timestamp_s = None;
    let mut tag = None;
    for part in header.split(',').take(8) {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp_s = value.parse::<u64>().ok(),
            Some(("v1", value)) => tag = hex::decode(value).ok(),
            _ => {}
        }
    }
    match (timestamp_s, tag) {
        (Some(timestamp_s), Some(tag)) if tag.len() == 32 => Ok((timestamp_s, tag)),
        _ => Err(SignatureError::Malformed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::new(b"0123456789abcdef0123".to_vec())
    }

    #[test]
    fn a_keyed_hash_covers_its_parts_laid_end_to_end() {
        assert_eq!(
            key().keyed_hash(&[b"ab", b"c"]),
            key().keyed_hash(&[b"abc"])
        );
        assert_ne!(key().keyed_hash(&[b"abc"]), key().keyed_hash(&[b"abd"]));
    }

    #[test]
    fn a_signed_body_verifies_within_the_window() {
        let header = key().sign(1_000, b"{}");
        assert_eq!(
            key().verify(Some(&header), b"{}", 1_000 + SIGNATURE_WINDOW_S),
            Ok(())
        );
    }

    #[test]
    fn forged_stale_and_malformed_signatures_are_refused() {
        let header = key().sign(1_000, b"{}");
        assert_eq!(
            key().verify(Some(&header), b"{ }", 1_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            key().verify(Some(&header), b"{}", 1_301),
            Err(SignatureError::Stale)
        );
        assert_eq!(
            key().verify(Some("t=1,v1=zz"), b"{}", 1),
            Err(SignatureError::Malformed)
        );
        assert_eq!(key().verify(None, b"{}", 1), Err(SignatureError::Missing));
        let other = SigningKey::new(b"another key of 16+ bytes".to_vec());
        assert_eq!(
            other.verify(Some(&header), b"{}", 1_000),
            Err(SignatureError::Mismatch)
        );
    }
}
