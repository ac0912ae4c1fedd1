//! The ECDSA P-256 keys of the proxy CA and its leaves, held by ring.
//!
//! rcgen signs through any `SigningKey`; giving it ring's key pair directly
//! (rather than enabling rcgen's own `ring` feature) keeps rcgen's optional
//! x509-parser tree out of Cargo.lock (cargo records weak-feature deps).

use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair as _};

pub struct EcKey {
    pair: EcdsaKeyPair,
    pkcs8: Vec<u8>,
}

impl EcKey {
    pub fn generate() -> Result<EcKey, String> {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
            .map_err(|_| "the system's random source failed".to_string())?;
        EcKey::from_pkcs8(doc.as_ref().to_vec())
    }

    /// Reads a PKCS#8 `PRIVATE KEY` PEM (what earlier versions wrote too).
    pub fn from_pem(text: &str) -> Result<EcKey, String> {
        let parsed = pem::parse(text).map_err(|e| format!("not PEM: {e}"))?;
        if parsed.tag() != "PRIVATE KEY" {
            return Err(format!("a {} block, not a PRIVATE KEY", parsed.tag()));
        }
        EcKey::from_pkcs8(parsed.contents().to_vec())
    }

    fn from_pkcs8(pkcs8: Vec<u8>) -> Result<EcKey, String> {
        let rng = SystemRandom::new();
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8, &rng)
            .map_err(|e| format!("not an ECDSA P-256 key: {e}"))?;
        Ok(EcKey { pair, pkcs8 })
    }

    pub fn pkcs8_der(&self) -> &[u8] {
        &self.pkcs8
    }

    /// The key identifier (RFC 7093 method 1: SHA-256 of the public key,
    /// truncated to 160 bits), for the Subject and Authority Key
    /// Identifier extensions strict verifiers (Python 3.13) require.
    pub fn key_id(&self) -> rcgen::KeyIdMethod {
        use rcgen::PublicKeyData;
        let digest = ring::digest::digest(&ring::digest::SHA256, self.der_bytes());
        rcgen::KeyIdMethod::PreSpecified(digest.as_ref()[..20].to_vec())
    }

    pub fn to_pem(&self) -> String {
        pem::encode(&pem::Pem::new("PRIVATE KEY", self.pkcs8.clone()))
    }
}

impl rcgen::PublicKeyData for EcKey {
    fn der_bytes(&self) -> &[u8] {
        self.pair.public_key().as_ref()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ECDSA_P256_SHA256
    }
}

impl rcgen::SigningKey for EcKey {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        let sig = self
            .pair
            .sign(&SystemRandom::new(), msg)
            .map_err(|_| rcgen::Error::RemoteKeyError)?;
        Ok(sig.as_ref().to_vec())
    }
}

/// A random positive serial of about 126 bits: rcgen derives one only with its own
/// crypto feature, and a certificate must have one unique per issuer.
pub fn random_serial() -> Result<rcgen::SerialNumber, String> {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| "the system's random source failed".to_string())?;
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    Ok(rcgen::SerialNumber::from_slice(&bytes))
}
