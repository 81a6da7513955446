//! Connection secrets at rest: ChaCha20-Poly1305 with a random 96-bit nonce per seal.
//!
//! The associated data binds a sealed blob to its connection: the connection id, tenant,
//! provider and the settings that say where the secrets are sent (base URLs). A blob moved to
//! another row, or a row edited to send the secrets to another host, no longer opens. Each
//! blob names the key that sealed it (`v2:<key id>:…`), so a worker with another key says so,
//! and keys can be rotated (`aispm key rotate` re-seals every secret).
//!
//! The key comes from `AISPM_MASTER_KEY` (64 hex characters or base64 of 32 bytes) or from a
//! key file created on first run with mode 0600 (and refused when others can read it).

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

/// Blobs sealed before keys had ids: the connection id alone as associated data.
const LEGACY_PREFIX: &str = "v1:";
const PREFIX: &str = "v2:";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("AISPM_MASTER_KEY must be 32 bytes as 64 hex characters or base64")]
    BadKey,
    #[error("key file {0}: {1}")]
    KeyFile(String, String),
    /// Sealed with another master key than this process has.
    #[error("the secret was sealed with master key {sealed_with}, but this process has key {ours}")]
    OtherKey { sealed_with: String, ours: String },
    #[error("a stored secret could not be opened: it does not match its connection's stored settings (the row was altered), or it is damaged")]
    Open,
}

/// What a connection's sealed secrets are bound to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealContext {
    pub connection_id: String,
    pub tenant_id: String,
    pub provider: String,
    /// The settings that say where the secrets are sent, by name (see
    /// `connectors::Vendor::destination_settings`).
    pub destinations: BTreeMap<String, String>,
}

impl SealContext {
    /// The context of a connection: its destination settings are read from `settings` by the
    /// names its vendor declares (an unknown provider binds none).
    pub fn new(connection_id: &str, tenant_id: &str, provider: &str, settings: &serde_json::Value) -> Self {
        let names = connectors::vendor(provider)
            .map(|v| v.destination_settings)
            .unwrap_or(&[]);
        let destinations = names
            .iter()
            .map(|name| {
                let value = match settings.get(*name) {
                    Some(serde_json::Value::String(s)) => s.trim_end_matches('/').to_string(),
                    Some(serde_json::Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                };
                (name.to_string(), value)
            })
            .collect();
        SealContext {
            connection_id: connection_id.to_string(),
            tenant_id: tenant_id.to_string(),
            provider: provider.to_string(),
            destinations,
        }
    }

    fn associated_data(&self) -> Vec<u8> {
        // Unambiguous: every field is JSON-encoded, in a fixed order.
        serde_json::json!([
            "aispm-secrets-v2",
            self.connection_id,
            self.tenant_id,
            self.provider,
            self.destinations
        ])
        .to_string()
        .into_bytes()
    }
}

/// Seals and opens connection secrets. `Debug` never shows the key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: ChaCha20Poly1305,
    key_id: String,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretBox(key {}, <redacted>)", self.key_id)
    }
}

/// A key's public name: the first 8 bytes of SHA-256 over it, in hex. Says which key sealed a
/// blob without saying anything about the key.
pub fn key_id(key: &[u8; 32]) -> String {
    let digest = Sha256::digest([b"aispm-key-id:".as_slice(), key.as_slice()].concat());
    hex::encode(&digest[..8])
}

impl SecretBox {
    pub fn from_key(key: [u8; 32]) -> Self {
        SecretBox {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
            key_id: key_id(&key),
        }
    }

    /// A new random key (for `aispm key rotate`), with its text form.
    pub fn generate() -> (Self, String) {
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        (Self::from_key(key), hex::encode(key))
    }

    /// A key from its text form (64 hex characters or base64 of 32 bytes).
    pub fn from_text(text: &str) -> Result<Self, CryptoError> {
        parse_key(text).map(Self::from_key)
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// `AISPM_MASTER_KEY` if set, else the key file (created with mode 0600 if absent).
    pub fn load(env_key: Option<&str>, key_file: &Path) -> Result<Self, CryptoError> {
        if let Some(text) = env_key {
            return Self::from_text(text);
        }
        let show = key_file.display().to_string();
        if key_file.exists() {
            check_private(key_file).map_err(|e| CryptoError::KeyFile(show.clone(), e))?;
            let text =
                std::fs::read_to_string(key_file).map_err(|e| CryptoError::KeyFile(show.clone(), e.to_string()))?;
            return Self::from_text(text.trim());
        }
        if let Some(dir) = key_file.parent() {
            std::fs::create_dir_all(dir).map_err(|e| CryptoError::KeyFile(show.clone(), e.to_string()))?;
        }
        let (secrets, text) = Self::generate();
        write_private(key_file, &text).map_err(|e| CryptoError::KeyFile(show, e.to_string()))?;
        Ok(secrets)
    }

    pub fn seal(&self, context: &SealContext, secrets: &BTreeMap<String, String>) -> String {
        let plaintext = serde_json::to_vec(secrets).expect("a string map serializes");
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &plaintext,
                    aad: &context.associated_data(),
                },
            )
            .expect("encryption cannot fail for in-memory buffers");
        let mut blob = nonce.to_vec();
        blob.extend(sealed);
        format!(
            "{PREFIX}{}:{}",
            self.key_id,
            base64::engine::general_purpose::STANDARD.encode(blob)
        )
    }

    pub fn open(&self, context: &SealContext, sealed: &str) -> Result<BTreeMap<String, String>, CryptoError> {
        let (encoded, aad) = if let Some(rest) = sealed.strip_prefix(PREFIX) {
            let (sealed_with, encoded) = rest.split_once(':').ok_or(CryptoError::Open)?;
            if sealed_with != self.key_id {
                return Err(CryptoError::OtherKey {
                    sealed_with: sealed_with.chars().take(16).collect(),
                    ours: self.key_id.clone(),
                });
            }
            (encoded, context.associated_data())
        } else if let Some(encoded) = sealed.strip_prefix(LEGACY_PREFIX) {
            (encoded, context.connection_id.as_bytes().to_vec())
        } else {
            return Err(CryptoError::Open);
        };
        let blob = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|_| CryptoError::Open)?;
        if blob.len() < 12 {
            return Err(CryptoError::Open);
        }
        let (nonce, ciphertext) = blob.split_at(12);
        let plaintext = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .map_err(|_| {
                if sealed.starts_with(LEGACY_PREFIX) {
                    // No key id to tell a wrong key from an altered row.
                    CryptoError::OtherKey {
                        sealed_with: "unknown (sealed before keys had ids)".into(),
                        ours: self.key_id.clone(),
                    }
                } else {
                    CryptoError::Open
                }
            })?;
        serde_json::from_slice(&plaintext).map_err(|_| CryptoError::Open)
    }
}

fn parse_key(text: &str) -> Result<[u8; 32], CryptoError> {
    let text = text.trim();
    let bytes = if text.len() == 64 && text.chars().all(|c| c.is_ascii_hexdigit()) {
        hex::decode(text).map_err(|_| CryptoError::BadKey)?
    } else {
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|_| CryptoError::BadKey)?
    };
    bytes.try_into().map_err(|_| CryptoError::BadKey)
}

/// A key file must be readable by its owner only.
#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).map_err(|e| e.to_string())?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(format!(
            "readable by others (mode {mode:o}); make it private with `chmod 600 {}`",
            path.display()
        ));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), String> {
    Ok(())
}

/// Writes a new private file (0600), flushed to disk before it counts as written.
#[cfg(unix)]
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.sync_all()?;
    if let Some(dir) = path.parent() {
        // The directory entry too, so a crash cannot lose the file that holds the key.
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(not(unix))]
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn context(conn: &str, url: &str) -> SealContext {
        SealContext::new(
            conn,
            "t1",
            "servicenow",
            &json!({"instance_url": url, "client_id": "x"}),
        )
    }

    #[test]
    fn seal_then_open_round_trips_and_binds_the_context() {
        let b = SecretBox::from_key([7; 32]);
        let secrets = BTreeMap::from([("client_secret".to_string(), "s3cr3t".to_string())]);
        let here = context("conn-1", "https://acme.service-now.com");
        let sealed = b.seal(&here, &secrets);
        assert!(!sealed.contains("s3cr3t"));
        assert!(sealed.starts_with(&format!("v2:{}:", b.key_id())));
        assert_eq!(b.open(&here, &sealed).unwrap(), secrets);
        // A trailing slash is the same destination.
        assert!(b
            .open(&context("conn-1", "https://acme.service-now.com/"), &sealed)
            .is_ok());
        assert!(
            matches!(
                b.open(&context("conn-2", "https://acme.service-now.com"), &sealed),
                Err(CryptoError::Open)
            ),
            "moved to another row"
        );
        assert!(
            matches!(
                b.open(&context("conn-1", "https://evil.example"), &sealed),
                Err(CryptoError::Open)
            ),
            "row edited to send the secret elsewhere"
        );
        match SecretBox::from_key([8; 32]).open(&here, &sealed) {
            Err(CryptoError::OtherKey { sealed_with, .. }) => assert_eq!(sealed_with, b.key_id()),
            other => panic!("wrong key: {other:?}"),
        }
        // Settings that do not say where the secret goes may change.
        let more = SealContext::new(
            "conn-1",
            "t1",
            "servicenow",
            &json!({"instance_url": "https://acme.service-now.com", "max_rps": 2.0}),
        );
        assert!(b.open(&more, &sealed).is_ok());
    }

    #[test]
    fn key_file_is_created_private_reused_and_refused_when_others_can_read_it() {
        let dir = std::env::temp_dir().join(format!("aispm-key-{}", std::process::id()));
        let file = dir.join("master.key");
        let _ = std::fs::remove_dir_all(&dir);
        let a = SecretBox::load(None, &file).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let c = context("c", "https://x.service-now.com");
        let sealed = a.seal(&c, &BTreeMap::from([("k".into(), "v".into())]));
        let b = SecretBox::load(None, &file).unwrap();
        assert_eq!(b.open(&c, &sealed).unwrap()["k"], "v");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = SecretBox::load(None, &file).unwrap_err().to_string();
            assert!(err.contains("readable by others") && err.contains("chmod 600"), "{err}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn env_key_must_be_32_bytes() {
        assert!(SecretBox::load(Some("abcd"), Path::new("/nonexistent")).is_err());
        assert!(SecretBox::load(Some(&"ab".repeat(32)), Path::new("/nonexistent")).is_ok());
    }
}
