//! A local HTTPS server that plays the upstream (GitHub, Anthropic, ...)
//! for proxy tests: tests/support/upstream.py, with a test CA of its own.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use serde_json::Value;

/// A CA and a leaf for the hosts the upstream plays.
pub fn test_pki(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let hosts = [
        "github.com",
        "api.github.com",
        "api.anthropic.com",
        "tunnel.test",
        "denied.test",
    ];
    test_pki_for(dir, &hosts)
}

/// A CA and a leaf for `hosts`, as PEM files in `dir`: (CA, leaf, leaf key).
/// Stand-ins serve the leaf; the proxy trusts the CA through
/// `[proxy] upstream_ca_file`.
pub fn test_pki_for(dir: &Path, hosts: &[&str]) -> (PathBuf, PathBuf, PathBuf) {
    use clauderon::proxy::ca_key::{EcKey as KeyPair, random_serial};
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.serial_number = Some(random_serial().unwrap());
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "upstream test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let names: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
    let mut leaf_params = CertificateParams::new(names).unwrap();
    leaf_params.serial_number = Some(random_serial().unwrap());
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    let (ca, cert, key) = (
        dir.join("ca.pem"),
        dir.join("leaf.pem"),
        dir.join("leaf-key.pem"),
    );
    std::fs::write(&ca, ca_cert.pem()).unwrap();
    std::fs::write(&cert, leaf.pem()).unwrap();
    std::fs::write(&key, leaf_key.to_pem()).unwrap();
    (ca, cert, key)
}

pub struct Upstream {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Upstream {
    pub fn start(
        dir: &Path,
        cert: &Path,
        key: &Path,
        git_root: &Path,
        git_token: &str,
    ) -> Upstream {
        let log = dir.join("upstream.jsonl");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/upstream.py");
        let mut cmd = Command::new("python3");
        cmd.arg(script)
            .args([
                "--cert",
                cert.to_str().unwrap(),
                "--key",
                key.to_str().unwrap(),
                "--log",
                log.to_str().unwrap(),
            ])
            .args([
                "--git-root",
                git_root.to_str().unwrap(),
                "--git-token",
                git_token,
            ]);
        let (child, port) = super::spawn_server(cmd);
        Upstream { child, port, log }
    }

    pub fn requests(&self) -> Vec<Value> {
        super::read_jsonl(&self.log)
    }
}
