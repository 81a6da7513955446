//! Entra's browser endpoints, as the connect flows use them (reference §1.2): the admin-consent
//! page of a multi-tenant app (`/{tenant}/v2.0/adminconsent`, back with
//! `admin_consent=True&tenant=<guid>&state=`, or `error=access_denied`), and the authorization
//! code grant with PKCE for a delegated admin (`/{tenant}/oauth2/v2.0/authorize`). Redirect URIs
//! must match the app registration's exactly. Codes are single-use and live a minute.
//!
//! Refresh tokens rotate strictly here: each use returns a new one and retires the old. Entra
//! keeps an old one valid until it expires; the strict form proves the client keeps the newest.

use super::{Shared, SimState};
use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{header, StatusCode},
    response::{Html, IntoResponse, Response},
};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A code waiting to be redeemed at the token endpoint.
pub(super) struct Code {
    redirect_uri: String,
    challenge: String,
    user: String,
    expires: Instant,
}

fn form(body: &[u8]) -> HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn hidden(fields: &HashMap<String, String>, names: &[&str]) -> String {
    names
        .iter()
        .map(|k| {
            let v = fields.get(*k).map(String::as_str).unwrap_or("");
            format!(r#"<input type="hidden" name="{k}" value="{}">"#, crate::html_escape(v))
        })
        .collect()
}

/// The app and the exact redirect URI are registered; else Entra shows an error page
/// (AADSTS50011) and never redirects.
#[allow(clippy::result_large_err)] // a refusal is the response itself
fn check_app(s: &SimState, q: &HashMap<String, String>) -> Result<(), Response> {
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    if get("client_id") != s.config.client_id {
        return Err((
            StatusCode::BAD_REQUEST,
            "AADSTS700016: Application not found in the directory.",
        )
            .into_response());
    }
    if !s.config.redirect_uris.iter().any(|u| u == get("redirect_uri")) {
        return Err((
            StatusCode::BAD_REQUEST,
            "AADSTS50011: The redirect URI specified in the request does not match the redirect URIs configured for the application.",
        )
            .into_response());
    }
    Ok(())
}

fn tenant_known(s: &SimState, tenant: &str) -> bool {
    ["organizations", "common"].contains(&tenant) || tenant == s.config.directory_id
}

fn back_to(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let mut target = url::Url::parse(redirect_uri).expect("a registered redirect URI parses");
    for (k, v) in pairs {
        target.query_pairs_mut().append_pair(k, v);
    }
    (StatusCode::FOUND, [(header::LOCATION, target.to_string())]).into_response()
}

fn sign_in_page(title: &str, text: &str, action: &str, hidden: String, allow: &str) -> Response {
    Html(format!(
        r#"<!doctype html><html><head><title>{title}</title></head><body>
<h1>{title}</h1><p>{text}</p>
<form method="post" action="{action}">{hidden}
<label>Email <input id="login" name="login" type="email"></label>
<label>Password <input id="passwd" name="passwd" type="password"></label>
<button id="accept" name="decision" value="accept" type="submit">{allow}</button>
<button id="cancel" name="decision" value="cancel" type="submit">Cancel</button></form></body></html>"#
    ))
    .into_response()
}

/// A posted sign-in form: the registered app, then "Cancel" (back with `access_denied`), then
/// an admin's email and password.
#[allow(clippy::result_large_err)] // a refusal is the response itself
fn accepted_by_admin(s: &SimState, f: &HashMap<String, String>) -> Result<(), Response> {
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    check_app(s, f)?;
    if get("decision") != "accept" {
        return Err(back_to(
            get("redirect_uri"),
            &[
                ("error", "access_denied"),
                (
                    "error_description",
                    "AADSTS65004: User declined to consent to access the app.",
                ),
                ("state", get("state")),
            ],
        ));
    }
    if !s
        .config
        .admins
        .iter()
        .any(|(u, p)| u == get("login") && p == get("passwd"))
    {
        return Err((StatusCode::UNAUTHORIZED, "Your account or password is incorrect.").into_response());
    }
    Ok(())
}

/// `GET /{tenant}/v2.0/adminconsent`: the permissions page a Global Administrator accepts.
pub(super) async fn consent_page(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = state.lock().unwrap();
    if let Err(refusal) = check_app(&s, &q) {
        return refusal;
    }
    if !tenant_known(&s, &tenant) {
        return (StatusCode::BAD_REQUEST, "AADSTS90002: Tenant not found.").into_response();
    }
    sign_in_page(
        "Permissions requested",
        "aispm (unverified) wants read-only access to your organisation's directory, Copilot and SharePoint settings. Accept for your organisation?",
        &format!("/login/{tenant}/v2.0/adminconsent"),
        hidden(&q, &["client_id", "redirect_uri", "state", "scope"]),
        "Accept",
    )
}

/// `POST /{tenant}/v2.0/adminconsent`: accepted (by an admin) or declined.
pub(super) async fn consent(State(state): State<Shared>, body: Bytes) -> Response {
    let f = form(&body);
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let mut s = state.lock().unwrap();
    if let Err(refusal) = accepted_by_admin(&s, &f) {
        return refusal;
    }
    s.consented = true;
    let directory = s.config.directory_id.clone();
    back_to(
        get("redirect_uri"),
        &[
            ("admin_consent", "True"),
            ("tenant", &directory),
            ("state", get("state")),
        ],
    )
}

/// `GET /{tenant}/oauth2/v2.0/authorize`: sign-in for the delegated admin (code + PKCE S256).
pub(super) async fn authorize_page(
    State(state): State<Shared>,
    Path(tenant): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let s = state.lock().unwrap();
    let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
    if let Err(refusal) = check_app(&s, &q) {
        return refusal;
    }
    if !tenant_known(&s, &tenant) {
        return (StatusCode::BAD_REQUEST, "AADSTS90002: Tenant not found.").into_response();
    }
    if get("response_type") != "code" {
        return (StatusCode::BAD_REQUEST, "AADSTS900144: response_type must be code.").into_response();
    }
    if get("code_challenge_method") != "S256" || get("code_challenge").is_empty() {
        return (StatusCode::BAD_REQUEST, "PKCE (S256) is required by this app.").into_response();
    }
    sign_in_page(
        "Sign in to your account",
        "aispm wants to read Copilot admin settings and the Power Platform agent inventory as you.",
        &format!("/login/{tenant}/oauth2/v2.0/authorize"),
        hidden(&q, &["client_id", "redirect_uri", "state", "code_challenge", "scope"]),
        "Sign in",
    )
}

/// `POST /{tenant}/oauth2/v2.0/authorize`: signed in; back to the app with a code.
pub(super) async fn authorize(State(state): State<Shared>, body: Bytes) -> Response {
    let f = form(&body);
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("");
    let mut s = state.lock().unwrap();
    if let Err(refusal) = accepted_by_admin(&s, &f) {
        return refusal;
    }
    let code = crate::new_token();
    s.codes.insert(
        code.clone(),
        Code {
            redirect_uri: get("redirect_uri").to_string(),
            challenge: get("code_challenge").to_string(),
            user: get("login").to_string(),
            expires: Instant::now() + Duration::from_secs(60),
        },
    );
    back_to(get("redirect_uri"), &[("code", &code), ("state", get("state"))])
}

/// The user a redeemed code or refresh token stands for; the refresh token used is retired.
pub(super) fn redeem(s: &mut SimState, form: &HashMap<String, String>) -> Option<String> {
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    match get("grant_type") {
        "authorization_code" => {
            let code = s.codes.remove(get("code"))?;
            (code.expires > Instant::now()
                && code.redirect_uri == get("redirect_uri")
                && crate::pkce_s256(get("code_verifier")) == code.challenge)
                .then_some(code.user)
        }
        "refresh_token" => s.refresh_tokens.remove(get("refresh_token")),
        _ => None,
    }
}
