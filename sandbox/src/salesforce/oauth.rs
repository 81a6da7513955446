//! Salesforce OAuth (reference §1, §8.1): `POST /services/oauth2/token` on both hosts, the
//! authorize page, revocation and the identity URL.
//!
//! Grants: JWT bearer (RS256 checked with ring against the committed test key; `iss`, `sub`,
//! `aud`, `exp` checked; no refresh token), client credentials (refused on the login host with
//! `request not supported on this domain`, §8.1), authorization code with PKCE S256, and
//! refresh token (optionally rotating). Errors are HTTP 400 `{"error","error_description"}`
//! with the descriptions Salesforce is seen to send.

use super::{lock, log_plain, log_request, scenarios, Ctx, Grant, Host, Session, SimState};
use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{header, HeaderMap, StatusCode},
    response::{Html, IntoResponse, Response},
    Json,
};
use base64::Engine;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The committed RSA 2048 test key (PKCS#8 PEM): what a connector signs its assertions with.
pub const TEST_PRIVATE_KEY_PEM: &str = include_str!("test-key.pem");
/// Its public half, PKCS#1 `RSAPublicKey` DER (what ring verifies against).
const TEST_PUBLIC_KEY_DER: &[u8] = include_bytes!("test-key.pub.der");

/// Clock skew allowed on `exp` (reference §1.4: about three minutes).
const SKEW_SECS: i64 = 180;
/// How far ahead an assertion's `exp` may be.
const MAX_LIFETIME_SECS: i64 = 600;

fn oauth_error(error: &str, description: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

fn b64url() -> base64::engine::GeneralPurpose {
    base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    )
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// What an assertion must satisfy.
pub struct JwtCheck<'a> {
    pub consumer_key: &'a str,
    pub usernames: &'a [String],
    /// Accepted `aud` values: the host the request came to, login and test.
    pub audiences: &'a [String],
    pub now: i64,
}

/// Checks a JWT bearer assertion; the username it acts as, or the OAuth error and description.
pub fn verify_assertion(assertion: &str, check: &JwtCheck) -> Result<String, (&'static str, &'static str)> {
    const INVALID: (&str, &str) = ("invalid_grant", "invalid assertion");
    let parts: Vec<&str> = assertion.split('.').collect();
    let [head, body, sig] = parts.as_slice() else {
        return Err(INVALID);
    };
    let decode_json = |part: &str| -> Option<Value> {
        let bytes = b64url().decode(part).ok()?;
        serde_json::from_slice(&bytes).ok()
    };
    let header = decode_json(head).ok_or(INVALID)?;
    // RS256 is the only algorithm Salesforce takes (reference §1.4).
    if header.get("alg").and_then(Value::as_str) != Some("RS256") {
        return Err(INVALID);
    }
    let claims = decode_json(body).ok_or(INVALID)?;
    // The app is found by `iss` before its certificate can be used.
    if claims.get("iss").and_then(Value::as_str) != Some(check.consumer_key) {
        return Err(("invalid_client_id", "client identifier invalid"));
    }
    let signature = b64url().decode(sig).map_err(|_| INVALID)?;
    let key =
        ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, TEST_PUBLIC_KEY_DER);
    key.verify(format!("{head}.{body}").as_bytes(), &signature)
        .map_err(|_| INVALID)?;
    let audience_ok = |aud: &str| {
        let aud = aud.trim_end_matches('/');
        check.audiences.iter().any(|a| a.trim_end_matches('/') == aud)
    };
    let aud_ok = match claims.get("aud") {
        Some(Value::String(a)) => audience_ok(a),
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).any(audience_ok),
        _ => false,
    };
    if !aud_ok {
        return Err(("invalid_grant", "audience is invalid"));
    }
    let exp = claims.get("exp").and_then(Value::as_i64).ok_or(INVALID)?;
    if exp.saturating_add(SKEW_SECS) < check.now {
        return Err(("invalid_grant", "expired authorization code"));
    }
    if exp > check.now + MAX_LIFETIME_SECS + SKEW_SECS {
        return Err(INVALID);
    }
    // `prn` is the legacy name and wins over `sub` when both are present.
    let subject = claims
        .get("prn")
        .or_else(|| claims.get("sub"))
        .and_then(Value::as_str)
        .ok_or(INVALID)?;
    if !check.usernames.iter().any(|u| u.eq_ignore_ascii_case(subject)) {
        return Err(("invalid_grant", "user hasn't approved this consumer"));
    }
    Ok(subject.to_string())
}

/// The user's Id in the org, or a stable made-up one for a username the org lacks.
fn user_id(s: &SimState, username: &str) -> String {
    s.org
        .tables
        .rows("User")
        .iter()
        .find(|u| {
            u.get("Username")
                .and_then(Value::as_str)
                .is_some_and(|n| n.eq_ignore_ascii_case(username))
        })
        .and_then(|u| u.get("Id").and_then(Value::as_str))
        .map(str::to_string)
        .unwrap_or_else(|| {
            let key: String = username.chars().filter(char::is_ascii_alphanumeric).take(6).collect();
            scenarios::sfid("005", &key)
        })
}

/// The 15-character form of an Id (the whole string when shorter).
fn id15(id: &str) -> &str {
    id.get(..15).unwrap_or(id)
}

/// An access token: `00D…!AQ…` by default, or three base64url parts (reference §9.1.1).
fn new_access_token(s: &SimState, base: &str, user: &str, scope: &str) -> String {
    if s.config.jwt_shaped_tokens {
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = json!({"alg": "RS256", "typ": "JWT", "kid": format!("CORE_ATJWT.{}.1", id15(&s.org.org_id))});
        let claims = json!({"iss": base, "sub": user, "aud": "api", "scp": scope, "jti": crate::new_token(),
            "exp": now_secs() + s.config.token_ttl.as_secs() as i64, "mty": "oauth", "tnk": &s.org.org_id});
        format!(
            "{}.{}.{}",
            engine.encode(header.to_string()),
            engine.encode(claims.to_string()),
            engine.encode(crate::new_token())
        )
    } else {
        format!("{}!AQ4AQ{}", id15(&s.org.org_id), crate::new_token())
    }
}

/// Issues an access token (and a refresh token when asked) and returns the §1.2 answer.
fn issue(s: &mut SimState, base: &str, username: &str, scope: &str, refresh: Option<String>) -> Value {
    let user = user_id(s, username);
    let access = new_access_token(s, base, &user, scope);
    let jwt = access.split('.').count() == 3;
    s.sessions.insert(
        access.clone(),
        Session {
            username: username.to_string(),
            user_id: user.clone(),
            expires: Instant::now() + s.config.token_ttl,
            jwt,
        },
    );
    let issued_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0)
        .to_string();
    let id = format!("{base}/id/{}/{user}", s.org.org_id);
    // Base64 HMAC-SHA256 of id + issued_at, keyed by the client secret (§1.2).
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, s.config.consumer_secret.as_bytes());
    let signature =
        base64::engine::general_purpose::STANDARD.encode(ring::hmac::sign(&key, format!("{id}{issued_at}").as_bytes()));
    let mut answer = json!({
        "access_token": access, "signature": signature, "scope": scope, "instance_url": s.instance_url,
        "id": id, "token_type": "Bearer", "issued_at": issued_at,
    });
    if let Some(refresh) = refresh {
        s.refresh_tokens.insert(
            refresh.clone(),
            Grant {
                username: username.to_string(),
                scope: scope.to_string(),
            },
        );
        answer["refresh_token"] = json!(refresh);
    }
    answer
}

fn new_refresh_token() -> String {
    format!("5Aep861{}", crate::new_token())
}

fn basic_auth(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value.strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

fn wants_refresh(scope: &str) -> bool {
    scope
        .split_whitespace()
        .any(|s| s == "refresh_token" || s == "offline_access" || s == "full")
}

/// `POST /services/oauth2/token`.
pub async fn token(State(ctx): State<Ctx>, headers: HeaderMap, body: Bytes) -> Response {
    let mut s = lock(&ctx.state);
    s.stats.token_requests += 1;
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if ctx.host == Host::Instance {
        log_request(
            &mut s,
            json!({"method": "POST", "path": "/services/oauth2/token", "grant_type": field("grant_type")}),
        );
    }
    let form_encoded = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !form_encoded {
        return oauth_error("invalid_request", "invalid content type");
    }
    let base = crate::host_base(&headers);
    let (mut client_id, mut client_secret) = (field("client_id").to_string(), field("client_secret").to_string());
    if client_id.is_empty() {
        if let Some((id, secret)) = basic_auth(&headers) {
            client_id = id;
            client_secret = secret;
        }
    }
    // The secret is optional for PKCE flows; when sent, it must be right.
    let client_ok = |s: &SimState, required: bool| -> Result<(), (&'static str, &'static str)> {
        if client_id != s.config.consumer_key {
            return Err(("invalid_client_id", "client identifier invalid"));
        }
        if (required || !client_secret.is_empty()) && client_secret != s.config.consumer_secret {
            return Err(("invalid_client", "invalid client credentials"));
        }
        Ok(())
    };
    match field("grant_type") {
        "urn:ietf:params:oauth:grant-type:jwt-bearer" => {
            let audiences = vec![
                base.clone(),
                "https://login.salesforce.com".to_string(),
                "https://test.salesforce.com".to_string(),
            ];
            let check = JwtCheck {
                consumer_key: &s.config.consumer_key,
                usernames: &s.config.usernames,
                audiences: &audiences,
                now: now_secs(),
            };
            match verify_assertion(field("assertion"), &check) {
                Ok(username) => {
                    let answer = issue(&mut s, &base, &username, "api", None);
                    Json(answer).into_response()
                }
                Err((error, description)) => oauth_error(error, description),
            }
        }
        "client_credentials" => {
            // Reference §8.1: refused on login.salesforce.com and test.salesforce.com.
            if ctx.host == Host::Login {
                return oauth_error("invalid_grant", "request not supported on this domain");
            }
            if let Err((error, description)) = client_ok(&s, true) {
                return oauth_error(error, description);
            }
            let Some(user) = s.config.client_credentials_user.clone() else {
                return oauth_error("invalid_grant", "no client credentials user enabled");
            };
            let answer = issue(&mut s, &base, &user, "api", None);
            Json(answer).into_response()
        }
        "authorization_code" => {
            if let Err((error, description)) = client_ok(&s, false) {
                return oauth_error(error, description);
            }
            let Some(code) = s.codes.remove(field("code")) else {
                return oauth_error("invalid_grant", "invalid authorization code");
            };
            if code.expires <= Instant::now() {
                return oauth_error("invalid_grant", "expired authorization code");
            }
            if code.redirect_uri != field("redirect_uri") {
                return oauth_error("redirect_uri_mismatch", "redirect_uri must match configuration");
            }
            // Reference §1.2: a challenge on authorize needs a verifier here.
            if field("code_verifier").is_empty() {
                return oauth_error("invalid_grant", "invalid code verifier");
            }
            if crate::pkce_s256(field("code_verifier")) != code.challenge {
                return oauth_error("invalid_grant", "invalid code verifier");
            }
            let refresh = wants_refresh(&code.scope).then(new_refresh_token);
            let answer = issue(&mut s, &base, &code.username, &code.scope, refresh);
            Json(answer).into_response()
        }
        "refresh_token" => {
            if let Err((error, description)) = client_ok(&s, false) {
                return oauth_error(error, description);
            }
            let presented = field("refresh_token").to_string();
            let Some(grant) = s.refresh_tokens.get(&presented).cloned() else {
                return oauth_error("invalid_grant", "expired access/refresh token");
            };
            // Rotation: a new refresh token with each answer, the old one dead (§1.3).
            let refresh = if s.config.rotate_refresh_tokens {
                s.refresh_tokens.remove(&presented);
                Some(new_refresh_token())
            } else {
                None
            };
            let answer = issue(&mut s, &base, &grant.username, &grant.scope, refresh);
            Json(answer).into_response()
        }
        _ => oauth_error("unsupported_grant_type", "grant type not supported"),
    }
}

fn page_error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Html(format!(
            "<!doctype html><html><head><title>Error</title></head><body><h1>OAuth Error</h1>\
             <p id=\"error\">error={}</p><p id=\"error_description\">{}</p></body></html>",
            crate::html_escape(error),
            crate::html_escape(description)
        )),
    )
        .into_response()
}

/// `GET /services/oauth2/authorize`: the sign-in and consent page, after checking the client,
/// the exact redirect URI and the PKCE S256 challenge.
pub async fn authorize_page(State(ctx): State<Ctx>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mut s = lock(&ctx.state);
    log_plain(&mut s, ctx.host, "GET", "/services/oauth2/authorize");
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    if get("response_type") != "code" {
        return page_error(
            StatusCode::BAD_REQUEST,
            "unsupported_response_type",
            "response type not supported",
        );
    }
    if get("client_id") != s.config.consumer_key {
        return page_error(
            StatusCode::BAD_REQUEST,
            "invalid_client_id",
            "client identifier invalid",
        );
    }
    if !s.config.redirect_uris.iter().any(|u| u == get("redirect_uri")) {
        return page_error(
            StatusCode::BAD_REQUEST,
            "redirect_uri_mismatch",
            "redirect_uri must match configuration",
        );
    }
    let method_ok = matches!(get("code_challenge_method"), "" | "S256");
    if get("code_challenge").is_empty() || !method_ok {
        return page_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "missing or invalid code challenge",
        );
    }
    let hidden: String = ["client_id", "redirect_uri", "state", "code_challenge", "scope"]
        .iter()
        .map(|k| {
            format!(
                r#"<input type="hidden" name="{k}" value="{}">"#,
                crate::html_escape(get(k))
            )
        })
        .collect();
    Html(format!(
        r#"<!doctype html><html><head><title>Login | Salesforce</title></head><body>
<h1>Allow Access?</h1><p>aispm is asking to access the Acme org's setup, agents and settings as you.</p>
<form method="post" action="/services/oauth2/authorize">{hidden}
<label>Username <input id="username" name="username"></label>
<label>Password <input id="password" name="pw" type="password"></label>
<button id="allow" type="submit">Allow</button></form></body></html>"#
    ))
    .into_response()
}

/// `POST /services/oauth2/authorize`: signed in and allowed; back to the client with a code.
pub async fn authorize(State(ctx): State<Ctx>, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let mut s = lock(&ctx.state);
    log_plain(&mut s, ctx.host, "POST", "/services/oauth2/authorize");
    if get("client_id") != s.config.consumer_key || !s.config.redirect_uris.iter().any(|u| u == get("redirect_uri")) {
        return page_error(
            StatusCode::BAD_REQUEST,
            "redirect_uri_mismatch",
            "redirect_uri must match configuration",
        );
    }
    let known = s
        .config
        .usernames
        .iter()
        .any(|u| u.eq_ignore_ascii_case(get("username")));
    if !known || get("pw") != s.config.sign_in_password {
        return page_error(
            StatusCode::UNAUTHORIZED,
            "invalid_grant",
            "Please check your username and password.",
        );
    }
    let code = format!("aPrx{}", crate::new_token());
    let scope = match get("scope") {
        "" => "api refresh_token".to_string(),
        scope => scope.to_string(),
    };
    s.codes.insert(
        code.clone(),
        super::Code {
            redirect_uri: get("redirect_uri").to_string(),
            challenge: get("code_challenge").to_string(),
            username: get("username").to_string(),
            scope,
            expires: Instant::now() + Duration::from_secs(900),
        },
    );
    let Ok(mut target) = url::Url::parse(get("redirect_uri")) else {
        return page_error(
            StatusCode::BAD_REQUEST,
            "redirect_uri_mismatch",
            "redirect_uri must match configuration",
        );
    };
    target.query_pairs_mut().append_pair("code", &code);
    if !get("state").is_empty() {
        target.query_pairs_mut().append_pair("state", get("state"));
    }
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

/// `POST /services/oauth2/revoke` (`token` in the form or the query).
pub async fn revoke(State(ctx): State<Ctx>, Query(q): Query<HashMap<String, String>>, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let token = form
        .get("token")
        .or_else(|| q.get("token"))
        .cloned()
        .unwrap_or_default();
    let mut s = lock(&ctx.state);
    log_plain(&mut s, ctx.host, "POST", "/services/oauth2/revoke");
    let known = s.sessions.remove(&token).is_some() | s.refresh_tokens.remove(&token).is_some();
    if known {
        StatusCode::OK.into_response()
    } else {
        oauth_error("unsupported_token_type", "this token type is not supported")
    }
}

/// `GET /id/{org}/{user}`: the identity URL of a token answer (reference §5, minimal shape).
pub async fn identity(
    State(ctx): State<Ctx>,
    Path((org, user)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let mut s = lock(&ctx.state);
    log_plain(&mut s, ctx.host, "GET", &format!("/id/{org}/{user}"));
    let Some(session) = super::session(&s, &headers) else {
        return (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response();
    };
    if org != s.org.org_id || user != session.user_id {
        return (StatusCode::FORBIDDEN, "Bad_Id").into_response();
    }
    let base = crate::host_base(&headers);
    let instance = &s.instance_url;
    Json(json!({
        "id": format!("{base}/id/{org}/{user}"), "asserted_user": true, "user_id": user, "organization_id": org,
        "username": session.username, "display_name": session.username, "active": true, "user_type": "STANDARD",
        "urls": {
            "rest": format!("{instance}/services/data/v{{version}}/"),
            "sobjects": format!("{instance}/services/data/v{{version}}/sobjects/"),
            "query": format!("{instance}/services/data/v{{version}}/query/"),
            "tooling_rest": format!("{instance}/services/data/v{{version}}/tooling/"),
            "metadata": format!("{instance}/services/Soap/m/{{version}}/{}", id15(&org)),
        },
    }))
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{RsaKeyPair, RSA_PKCS1_SHA256};

    fn pkcs8_der() -> Vec<u8> {
        let body: String = TEST_PRIVATE_KEY_PEM
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        base64::engine::general_purpose::STANDARD.decode(body).unwrap()
    }

    fn sign(header: &Value, claims: &Value) -> String {
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let input = format!(
            "{}.{}",
            engine.encode(header.to_string()),
            engine.encode(claims.to_string())
        );
        let key = RsaKeyPair::from_pkcs8(&pkcs8_der()).unwrap();
        let mut sig = vec![0; key.public().modulus_len()];
        key.sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), input.as_bytes(), &mut sig)
            .unwrap();
        format!("{input}.{}", engine.encode(sig))
    }

    const KEY: &str = "3MVG9test";
    const LOGIN: &str = "http://127.0.0.1:9";

    fn check(now: i64) -> (Vec<String>, Vec<String>, i64) {
        (
            vec!["aispm.reader@acme.example".to_string()],
            vec![LOGIN.to_string(), "https://login.salesforce.com".to_string()],
            now,
        )
    }

    fn verify(assertion: &str) -> Result<String, (&'static str, &'static str)> {
        let (users, auds, now) = check(1_800_000_000);
        verify_assertion(
            assertion,
            &JwtCheck {
                consumer_key: KEY,
                usernames: &users,
                audiences: &auds,
                now,
            },
        )
    }

    fn claims(aud: &str, exp: i64) -> Value {
        json!({"iss": KEY, "sub": "aispm.reader@acme.example", "aud": aud, "exp": exp})
    }

    #[test]
    fn a_good_assertion_names_its_user() {
        let jwt = sign(&json!({"alg": "RS256"}), &claims(LOGIN, 1_800_000_120));
        assert_eq!(verify(&jwt), Ok("aispm.reader@acme.example".to_string()));
        let jwt = sign(
            &json!({"alg": "RS256"}),
            &claims("https://login.salesforce.com/", 1_800_000_120),
        );
        assert!(verify(&jwt).is_ok());
        // Within the skew, a just-expired assertion still passes.
        let jwt = sign(&json!({"alg": "RS256"}), &claims(LOGIN, 1_800_000_000 - 60));
        assert!(verify(&jwt).is_ok());
    }

    #[test]
    fn wrong_audience_expiry_issuer_subject_and_algorithm_are_refused() {
        let jwt = sign(&json!({"alg": "RS256"}), &claims("https://evil.example", 1_800_000_120));
        assert_eq!(verify(&jwt), Err(("invalid_grant", "audience is invalid")));
        let jwt = sign(&json!({"alg": "RS256"}), &claims(LOGIN, 1_800_000_000 - 600));
        assert_eq!(verify(&jwt), Err(("invalid_grant", "expired authorization code")));
        let jwt = sign(&json!({"alg": "RS256"}), &claims(LOGIN, 1_800_000_000 + 3600));
        assert_eq!(verify(&jwt), Err(("invalid_grant", "invalid assertion")));
        let mut c = claims(LOGIN, 1_800_000_120);
        c["iss"] = json!("someone-else");
        assert_eq!(
            verify(&sign(&json!({"alg": "RS256"}), &c)),
            Err(("invalid_client_id", "client identifier invalid"))
        );
        let mut c = claims(LOGIN, 1_800_000_120);
        c["sub"] = json!("mallory@acme.example");
        assert_eq!(
            verify(&sign(&json!({"alg": "RS256"}), &c)),
            Err(("invalid_grant", "user hasn't approved this consumer"))
        );
        let jwt = sign(&json!({"alg": "HS256"}), &claims(LOGIN, 1_800_000_120));
        assert_eq!(verify(&jwt), Err(("invalid_grant", "invalid assertion")));
    }

    #[test]
    fn a_tampered_signature_or_garbage_is_an_invalid_assertion() {
        let jwt = sign(&json!({"alg": "RS256"}), &claims(LOGIN, 1_800_000_120));
        let (rest, sig) = jwt.rsplit_once('.').unwrap();
        let mut bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig).unwrap();
        bytes[10] ^= 0x01;
        let tampered = format!(
            "{rest}.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        );
        assert_eq!(verify(&tampered), Err(("invalid_grant", "invalid assertion")));
        // Claims changed after signing.
        let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let parts: Vec<&str> = jwt.split('.').collect();
        let forged = engine.encode(claims(LOGIN, 1_800_000_500).to_string());
        assert_eq!(
            verify(&format!("{}.{forged}.{}", parts[0], parts[2])),
            Err(("invalid_grant", "invalid assertion"))
        );
        for garbage in ["", "a", "a.b", "a.b.c", "....", "eyJ.eyJ.x", "\u{0}.\u{1}.\u{2}"] {
            assert!(verify(garbage).is_err(), "{garbage:?}");
        }
    }
}
