//! Connection secrets at rest: ChaCha20-Poly1305 with a random 96-bit nonce per seal and the
//! connection id as associated data (a sealed blob moved to another row does not open).
//!
//! The key comes from `AISPM_MASTER_KEY` (64 hex characters or base64 of 32 bytes) or from a
//! key file created on first run with mode 0600.

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use std::collections::BTreeMap;
use std::path::Path;

const PREFIX: &str = "v1:";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("AISPM_MASTER_KEY must be 32 bytes as 64 hex characters or base64")]
    BadKey,
    #[error("key file {0}: {1}")]
    KeyFile(String, String),
    #[error("a stored secret could not be decrypted (wrong master key, or the data was altered)")]
    Open,
}

/// Seals and opens connection secrets. `Debug` never shows the key.
#[derive(Clone)]
pub struct SecretBox {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(<key redacted>)")
    }
}

impl SecretBox {
    pub fn from_key(key: [u8; 32]) -> Self {
        SecretBox {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&key)),
        }
    }

    /// `AISPM_MASTER_KEY` if set, else the key file (created with mode 0600 if absent).
    pub fn load(env_key: Option<&str>, key_file: &Path) -> Result<Self, CryptoError> {
        if let Some(text) = env_key {
            return parse_key(text).map(Self::from_key);
        }
        let show = key_file.display().to_string();
        if key_file.exists() {
            let text =
                std::fs::read_to_string(key_file).map_err(|e| CryptoError::KeyFile(show.clone(), e.to_string()))?;
            return parse_key(text.trim()).map(Self::from_key);
        }
        if let Some(dir) = key_file.parent() {
            std::fs::create_dir_all(dir).map_err(|e| CryptoError::KeyFile(show.clone(), e.to_string()))?;
        }
        let mut key = [0u8; 32];
        rand::rng().fill_bytes(&mut key);
        write_private(key_file, &hex::encode(key)).map_err(|e| CryptoError::KeyFile(show, e.to_string()))?;
        Ok(Self::from_key(key))
    }

    pub fn seal(&self, context: &str, secrets: &BTreeMap<String, String>) -> String {
        let plaintext = serde_json::to_vec(secrets).expect("a string map serializes");
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: &plaintext,
                    aad: context.as_bytes(),
                },
            )
            .expect("encryption cannot fail for in-memory buffers");
        let mut blob = nonce.to_vec();
        blob.extend(sealed);
        format!("{PREFIX}{}", base64::engine::general_purpose::STANDARD.encode(blob))
    }

    pub fn open(&self, context: &str, sealed: &str) -> Result<BTreeMap<String, String>, CryptoError> {
        let encoded = sealed.strip_prefix(PREFIX).ok_or(CryptoError::Open)?;
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
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Open)?;
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

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_then_open_round_trips_and_binds_the_context() {
        let b = SecretBox::from_key([7; 32]);
        let secrets = BTreeMap::from([("client_secret".to_string(), "s3cr3t".to_string())]);
        let sealed = b.seal("conn-1", &secrets);
        assert!(!sealed.contains("s3cr3t"));
        assert_eq!(b.open("conn-1", &sealed).unwrap(), secrets);
        assert!(b.open("conn-2", &sealed).is_err(), "moved to another row");
        assert!(
            SecretBox::from_key([8; 32]).open("conn-1", &sealed).is_err(),
            "wrong key"
        );
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = std::env::temp_dir().join(format!("aispm-key-{}", std::process::id()));
        let file = dir.join("master.key");
        let _ = std::fs::remove_dir_all(&dir);
        let a = SecretBox::load(None, &file).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let sealed = a.seal("c", &BTreeMap::from([("k".into(), "v".into())]));
        let b = SecretBox::load(None, &file).unwrap();
        assert_eq!(b.open("c", &sealed).unwrap()["k"], "v");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn env_key_must_be_32_bytes() {
        assert!(SecretBox::load(Some("abcd"), Path::new("/nonexistent")).is_err());
        assert!(SecretBox::load(Some(&"ab".repeat(32)), Path::new("/nonexistent")).is_ok());
    }
}
