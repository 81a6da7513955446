//! RS256 JSON Web Tokens for the JWT bearer grants (Salesforce §1.4, Google's service accounts
//! §1.1): reading an RSA private key and signing claims with it. Errors never quote the key.

use base64::Engine;
use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};

/// Reads an unencrypted RSA private key in PEM (PKCS#8 `PRIVATE KEY` or PKCS#1
/// `RSA PRIVATE KEY`).
pub fn rsa_private_key(pem: &str) -> Result<RsaKeyPair, String> {
    if pem.contains("ENCRYPTED") {
        return Err("the private key is encrypted; give the unencrypted PEM (PKCS#8 or PKCS#1)".into());
    }
    let block = |label: &str| -> Option<Vec<u8>> {
        let begin = format!("-----BEGIN {label}-----");
        let end = format!("-----END {label}-----");
        let start = pem.find(&begin)? + begin.len();
        let stop = start + pem[start..].find(&end)?;
        let text: String = pem[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
        base64::engine::general_purpose::STANDARD.decode(text).ok()
    };
    if let Some(der) = block("PRIVATE KEY") {
        return RsaKeyPair::from_pkcs8(&der)
            .map_err(|e| format!("the PKCS#8 private key is not a usable RSA key ({e})"));
    }
    if let Some(der) = block("RSA PRIVATE KEY") {
        return RsaKeyPair::from_der(&der).map_err(|e| format!("the PKCS#1 private key is not a usable RSA key ({e})"));
    }
    Err("the private key is not a PEM RSA key (expected -----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)".into())
}

/// `base64url(header).base64url(claims).base64url(RS256 signature)`.
pub fn sign_rs256(key: &RsaKeyPair, header: &serde_json::Value, claims: &serde_json::Value) -> Result<String, String> {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let signing_input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let mut signature = vec![0u8; key.public().modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &ring::rand::SystemRandom::new(),
        signing_input.as_bytes(),
        &mut signature,
    )
    .map_err(|_| "could not sign the JWT assertion".to_string())?;
    Ok(format!("{signing_input}.{}", b64(&signature)))
}
