//! `POST /token` (reference §1.1, §5.1, §8.5): the JWT bearer grant of a service account
//! with domain-wide delegation. The assertion is checked as Google does, issuer first (its
//! key is found by `iss`), then signature (RS256 against the committed test key), audience,
//! lifetime, subject and the delegated scopes. Errors are `{"error","error_description"}`:
//! 400, except `unauthorized_client` (401).

use super::{lock, Session, Shared, CLIENT_EMAIL, PRIVATE_KEY_ID};
use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use base64::Engine;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The service account's public key, PKCS#1 `RSAPublicKey` DER.
const TEST_PUBLIC_KEY_DER: &[u8] = include_bytes!("test-key.pub.der");

const BAD_SIGNATURE: &str = "Invalid JWT Signature.";
const BAD_TIMES: &str = "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. \
                         Check your iat and exp values in the JWT claim.";
pub const UNAUTHORIZED_CLIENT: &str = "Client is unauthorized to retrieve access tokens using this method, or client \
                                       not authorized for any of the scopes requested.";

/// A refused assertion: HTTP status, `error`, `error_description`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

fn refuse(status: u16, error: &'static str, description: &str) -> Refusal {
    Refusal {
        status,
        error,
        description: description.to_string(),
    }
}

/// What an accepted assertion asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub sub: Option<String>,
    pub scopes: Vec<String>,
    pub scope: String,
}

/// What an assertion is held against.
pub struct Check<'a> {
    /// `{base}/token`: the key file's `token_uri`.
    pub audience: &'a str,
    pub now: i64,
    pub is_user: &'a dyn Fn(&str) -> bool,
    pub delegated: &'a [String],
}

fn b64url() -> base64::engine::GeneralPurpose {
    base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    )
}

pub fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Checks a JWT bearer assertion.
pub fn verify_assertion(assertion: &str, check: &Check) -> Result<Grant, Refusal> {
    let parts: Vec<&str> = assertion.split('.').collect();
    let [head, body, sig] = parts.as_slice() else {
        return Err(refuse(400, "invalid_grant", "Bad Request"));
    };
    let decode_json = |part: &str| -> Option<Value> { serde_json::from_slice(&b64url().decode(part).ok()?).ok() };
    let (Some(header), Some(claims)) = (decode_json(head), decode_json(body)) else {
        return Err(refuse(400, "invalid_grant", "Bad Request"));
    };
    let claim = |k: &str| claims.get(k).and_then(Value::as_str);
    if claim("iss") != Some(CLIENT_EMAIL) {
        return Err(refuse(
            400,
            "invalid_grant",
            "Invalid JWT: No valid verifier found for issuer.",
        ));
    }
    // RS256 only; a `kid` is optional, but when sent it must name the key.
    let kid_ok = header.get("kid").is_none_or(|k| k.as_str() == Some(PRIVATE_KEY_ID));
    if header.get("alg").and_then(Value::as_str) != Some("RS256") || !kid_ok {
        return Err(refuse(400, "invalid_grant", BAD_SIGNATURE));
    }
    let signature = b64url()
        .decode(sig)
        .map_err(|_| refuse(400, "invalid_grant", BAD_SIGNATURE))?;
    let key =
        ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, TEST_PUBLIC_KEY_DER);
    key.verify(format!("{head}.{body}").as_bytes(), &signature)
        .map_err(|_| refuse(400, "invalid_grant", BAD_SIGNATURE))?;
    if claim("aud") != Some(check.audience) {
        return Err(refuse(
            400,
            "invalid_grant",
            &format!(
                "Invalid JWT: Failed audience check. The expected audience is {}.",
                check.audience
            ),
        ));
    }
    let time = |k: &str| claims.get(k).and_then(Value::as_i64);
    match (time("iat"), time("exp")) {
        (Some(iat), Some(exp)) if iat <= check.now + 60 && exp > check.now && exp > iat && exp - iat <= 3600 => {}
        _ => return Err(refuse(400, "invalid_grant", BAD_TIMES)),
    }
    let scope = claim("scope").unwrap_or("").to_string();
    let scopes: Vec<String> = scope.split_whitespace().map(str::to_string).collect();
    if scopes.is_empty() {
        return Err(refuse(400, "invalid_scope", "Empty or missing scope not allowed."));
    }
    let sub = claim("sub").map(str::to_string);
    if let Some(sub) = &sub {
        if !(check.is_user)(sub) {
            return Err(refuse(400, "invalid_grant", "Invalid email or User ID"));
        }
        if !scopes.iter().all(|s| check.delegated.contains(s)) {
            return Err(refuse(401, "unauthorized_client", UNAUTHORIZED_CLIENT));
        }
    }
    Ok(Grant { sub, scopes, scope })
}

fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// `POST /token`.
pub async fn token(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let mut s = lock(&state);
    s.stats.token_requests += 1;
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let grant_type = form.get("grant_type").map(String::as_str).unwrap_or("");
    if grant_type != JWT_BEARER {
        return oauth_error(
            400,
            "unsupported_grant_type",
            &format!("Invalid grant_type: {grant_type}"),
        );
    }
    let Some(assertion) = form.get("assertion") else {
        return oauth_error(400, "invalid_request", "Missing required parameter: assertion");
    };
    let audience = format!("{}/token", crate::host_base(&headers));
    let is_user = |sub: &str| s.user(sub).is_some();
    let check = Check {
        audience: &audience,
        now: now_secs(),
        is_user: &is_user,
        delegated: &s.config.delegated_scopes,
    };
    let grant = match verify_assertion(assertion, &check) {
        Ok(grant) => grant,
        Err(refusal) => return oauth_error(refusal.status, refusal.error, &refusal.description),
    };
    let access = format!("ya29.c.{}", crate::new_token());
    let ttl = s.config.token_ttl_secs;
    // Sessions name the user by primary email, whichever key the assertion used.
    let session = Session {
        sub: grant
            .sub
            .map(|sub| s.user(&sub).map(|u| u.email.clone()).unwrap_or(sub)),
        scopes: grant.scopes,
        expires: Instant::now() + Duration::from_secs(ttl),
    };
    s.sessions.insert(access.clone(), session);
    s.stats.tokens_scopes.push(grant.scope);
    Json(json!({"access_token": access, "expires_in": ttl, "token_type": "Bearer"})).into_response()
}
