//! The proxy's certificate authority: made on first use, kept in the
//! clauderon home (key readable by the owner only), and used to mint a leaf
//! certificate per intercepted host, cached.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyUsagePurpose,
};
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use super::ca_key::{EcKey, random_serial};
use crate::error::{Error, Result};
use crate::store::Home;

pub fn cert_path(home: &Home) -> PathBuf {
    home.root.join("proxy-ca.pem")
}

pub fn key_path(home: &Home) -> PathBuf {
    home.root.join("proxy-ca-key.pem")
}

/// System roots + extra upstream CA + our CA: what containers use wherever a
/// variable REPLACES their trust store, so tunnelled hosts still verify.
pub fn bundle_path(home: &Home) -> PathBuf {
    home.root.join("proxy-ca-bundle.pem")
}

fn ca_params(key: &EcKey) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.key_identifier_method = key.key_id();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, "clauderon proxy CA");
    dn.push(DnType::OrganizationName, "clauderon");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params
}

pub struct Ca {
    pub cert_pem: String,
    issuer: Issuer<'static, EcKey>,
    /// host -> (minted at, TLS config); bounded, and re-minted well before expiry.
    leaves: Mutex<HashMap<String, (std::time::Instant, Arc<ServerConfig>)>>,
}

const MAX_LEAVES: usize = 1024;
const LEAF_REUSE: std::time::Duration = std::time::Duration::from_secs(7 * 24 * 3600);

impl Ca {
    /// Loads the CA, or makes one if there is none yet.
    pub fn load_or_create(home: &Home) -> Result<Ca> {
        let (cert, key) = (cert_path(home), key_path(home));
        if !cert.exists() || !key.exists() {
            generate(home)?;
        }
        let cert_pem = std::fs::read_to_string(&cert)
            .map_err(|e| Error::io(format!("could not read {}", cert.display()), e))?;
        let key_pem = std::fs::read_to_string(&key)
            .map_err(|e| Error::io(format!("could not read {}", key.display()), e))?;
        let key_pair = EcKey::from_pem(&key_pem).map_err(|e| {
            Error::failed(format!("{} is not a valid key: {e}", key.display()))
                .with_fix("clauderon proxy ca --rotate")
        })?;
        // The issuer needs only the CA's name, key usages and key: the same
        // fixed parameters that made the certificate.
        let issuer = Issuer::new(ca_params(&key_pair), key_pair);
        Ok(Ca {
            cert_pem,
            issuer,
            leaves: Mutex::new(HashMap::new()),
        })
    }

    /// A TLS server config presenting a leaf for `host`, minted once.
    pub fn server_config(&self, host: &str) -> Result<Arc<ServerConfig>> {
        let mut leaves = self.leaves.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((at, c)) = leaves.get(host)
            && at.elapsed() < LEAF_REUSE
        {
            return Ok(Arc::clone(c));
        }
        if leaves.len() >= MAX_LEAVES {
            leaves.clear();
        }
        let (leaf, key) = self.mint_leaf(host)?;
        let chain = vec![leaf, ca_der(&self.cert_pem)?];
        let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.pkcs8_der().to_vec()));
        let mut config =
            ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map_err(|e| Error::failed(format!("TLS set-up: {e}")))?
                .with_no_client_auth()
                .with_single_cert(chain, key_der)
                .map_err(|e| Error::failed(format!("TLS set-up for {host}: {e}")))?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let config = Arc::new(config);
        leaves.insert(
            host.to_string(),
            (std::time::Instant::now(), Arc::clone(&config)),
        );
        Ok(config)
    }
}

impl Ca {
    /// A leaf for `host`, valid 30 days, signed by the CA, and its key.
    fn mint_leaf(&self, host: &str) -> Result<(CertificateDer<'static>, EcKey)> {
        let fail = |e: rcgen::Error| {
            Error::failed(format!("could not mint a certificate for {host}: {e}"))
        };
        let mut params = CertificateParams::new(vec![host.to_string()]).map_err(fail)?;
        params.distinguished_name.push(DnType::CommonName, host);
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(30);
        params.serial_number = Some(random_serial().map_err(Error::failed)?);
        let key =
            EcKey::generate().map_err(|e| Error::failed(format!("could not make a key: {e}")))?;
        // Strict verifiers (Python 3.13's default) want both key identifiers.
        params.key_identifier_method = key.key_id();
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&key, &self.issuer).map_err(fail)?;
        Ok((cert.der().clone(), key))
    }
}

fn ca_der(pem_text: &str) -> Result<CertificateDer<'static>> {
    let parsed = pem::parse(pem_text)
        .map_err(|e| Error::failed(format!("the proxy CA is not valid PEM: {e}")))?;
    Ok(CertificateDer::from(parsed.contents().to_vec()))
}

/// Makes a new CA (replacing any old one). The certificate is written in
/// place, so sessions that mount it see the new one.
pub fn generate(home: &Home) -> Result<()> {
    home.ensure()
        .map_err(|e| Error::io(format!("could not create {}", home.root.display()), e))?;
    let fail = |e: rcgen::Error| Error::failed(format!("could not make the proxy CA: {e}"));
    let key = EcKey::generate()
        .map_err(|e| Error::failed(format!("could not make the proxy CA: {e}")))?;
    let mut params = ca_params(&key);
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(3650);
    params.serial_number = Some(random_serial().map_err(Error::failed)?);
    let cert = params.self_signed(&key).map_err(fail)?;
    write_private(&key_path(home), key.to_pem().as_bytes())?;
    write_in_place(&cert_path(home), cert.pem().as_bytes(), 0o644)
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let _ = std::fs::remove_file(path);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io(format!("could not write {}", path.display()), e))?;
    f.write_all(bytes)
        .map_err(|e| Error::io(format!("could not write {}", path.display()), e))
}

/// Truncates and rewrites, keeping the inode that bind mounts point at.
pub fn write_in_place(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(path)
        .map_err(|e| Error::io(format!("could not write {}", path.display()), e))?;
    f.write_all(bytes)
        .map_err(|e| Error::io(format!("could not write {}", path.display()), e))
}

/// The host's trusted roots as PEM (what rustls-native-certs finds).
fn system_roots_pem() -> String {
    let found = rustls_native_certs::load_native_certs();
    found
        .certs
        .iter()
        .map(|c| pem::encode(&pem::Pem::new("CERTIFICATE", c.as_ref().to_vec())))
        .collect()
}

/// Writes the bundle containers trust: system roots, the extra upstream CA
/// (if configured), and our CA.
pub fn write_bundle(home: &Home, extra_ca: Option<&Path>) -> Result<()> {
    let mut bundle = system_roots_pem();
    if let Some(extra) = extra_ca {
        let text = std::fs::read_to_string(extra).map_err(|e| {
            Error::io(
                format!("could not read the upstream CA file {}", extra.display()),
                e,
            )
        })?;
        bundle.push_str(&text);
        if !text.ends_with('\n') {
            bundle.push('\n');
        }
    }
    let ours = std::fs::read_to_string(cert_path(home))
        .map_err(|e| Error::io("could not read the proxy CA", e))?;
    bundle.push_str(&ours);
    write_in_place(&bundle_path(home), bundle.as_bytes(), 0o644)
}

/// SHA-256 fingerprint of the CA certificate, as colon-separated hex.
pub fn fingerprint(home: &Home) -> Result<String> {
    let text = std::fs::read_to_string(cert_path(home))
        .map_err(|e| Error::io("could not read the proxy CA", e))?;
    let der = ca_der(&text)?;
    let digest = ring::digest::digest(&ring::digest::SHA256, der.as_ref());
    Ok(digest
        .as_ref()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CA and its leaves pass OpenSSL's strict (RFC 5280) checks, which
    /// Python 3.13 applies by default: key identifiers, usages, a serial.
    #[test]
    fn leaves_verify_strictly() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home {
            root: dir.path().to_path_buf(),
        };
        let ca = Ca::load_or_create(&home).unwrap();
        let (leaf, _) = ca.mint_leaf("api.example.test").unwrap();
        let leaf_path = dir.path().join("leaf.pem");
        std::fs::write(
            &leaf_path,
            pem::encode(&pem::Pem::new("CERTIFICATE", leaf.to_vec())),
        )
        .unwrap();
        let out = std::process::Command::new("openssl")
            .args(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile"])
            .arg(cert_path(&home))
            .arg(&leaf_path)
            .output()
            .expect("openssl is installed (scripts/ci-provision.sh installs it)");
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    #[test]
    fn ca_is_made_once_with_a_private_key_and_mints_leaves() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home {
            root: dir.path().to_path_buf(),
        };
        let ca = Ca::load_or_create(&home).unwrap();
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(key_path(&home)).unwrap().permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        let fp = fingerprint(&home).unwrap();
        assert_eq!(fp.len(), 32 * 3 - 1);
        // Loading again keeps the same CA.
        let again = Ca::load_or_create(&home).unwrap();
        assert_eq!(again.cert_pem, ca.cert_pem);
        let a = ca.server_config("api.github.com").unwrap();
        let b = ca.server_config("api.github.com").unwrap();
        assert!(Arc::ptr_eq(&a, &b), "leaves are cached");
        generate(&home).unwrap();
        assert_ne!(fingerprint(&home).unwrap(), fp, "rotation makes a new CA");
    }
}
