//! Users, their admin roles, and the third-party apps they granted (reference §2.2, §9.1.4).
//!
//! `tokens.list` is the shadow-AI inventory: one entry per user and app, with the scopes the
//! user granted. Apps are told to be AI by a catalogue kept as data (`ai_apps.json`); scopes
//! are sorted into tiers by Google's naming (§2.2: full mailbox, full Drive, admin, identity).

use super::{collected, rows, text, P};
use crate::Parts;
use schemas::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const AI_APPS: &str = include_str!("../ai_apps.json");
const AUTH: &str = "https://www.googleapis.com/auth/";
/// Holders listed by name on an app (the count is always whole).
const HOLDERS_SHOWN: usize = 25;

pub fn user_id(id: &str) -> String {
    format!("{P}:user:{id}")
}

pub fn app_id(client_id: &str) -> String {
    format!("{P}:app:{client_id}")
}

/// A scope without Google's URL prefix: `drive`, `gmail.readonly`, `https://mail.google.com/`.
fn short(scope: &str) -> &str {
    scope.strip_prefix(AUTH).unwrap_or(scope)
}

pub fn full_gmail(scope: &str) -> bool {
    matches!(
        short(scope),
        "https://mail.google.com/" | "gmail.readonly" | "gmail.modify"
    )
}

pub fn full_drive(scope: &str) -> bool {
    matches!(
        short(scope),
        "drive" | "drive.readonly" | "https://docs.google.com/feeds/"
    )
}

fn identity_only(scope: &str) -> bool {
    matches!(
        short(scope),
        "openid" | "email" | "profile" | "userinfo.email" | "userinfo.profile"
    )
}

pub fn admin_scope(scope: &str) -> bool {
    let s = short(scope);
    s.starts_with("admin.directory") || s.starts_with("admin.reports") || s == "cloud-platform"
}

/// The data store a scope reaches, and whether it can change it.
fn reach(scope: &str) -> Option<(&'static str, Level)> {
    let s = short(scope);
    let level = if s.contains("readonly") || s.contains("metadata") {
        Level::Read
    } else {
        Level::Write
    };
    if s == "https://mail.google.com/" || s.starts_with("gmail.") {
        Some(("gmail", level))
    } else if s.starts_with("drive")
        || s == "https://docs.google.com/feeds/"
        || s.starts_with("documents")
        || s.starts_with("spreadsheets")
        || s.starts_with("presentations")
    {
        Some(("drive", level))
    } else if s.starts_with("calendar") {
        Some(("calendar", level))
    } else {
        None
    }
}

struct Catalogue {
    keywords: Vec<String>,
    client_ids: BTreeSet<String>,
}

fn catalogue() -> Catalogue {
    let v: Value = serde_json::from_str(AI_APPS).expect("ai_apps.json is valid JSON");
    let list = |k: &str| -> Vec<String> {
        v[k].as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_lowercase)
            .collect()
    };
    Catalogue {
        keywords: list("keywords"),
        client_ids: list("client_ids").into_iter().collect(),
    }
}

/// What in the catalogue an app matched, if anything.
fn ai_match(catalogue: &Catalogue, name: &str, client_id: &str) -> Option<String> {
    if catalogue.client_ids.contains(&client_id.to_lowercase()) {
        return Some(format!("client id {client_id}"));
    }
    // Padded so that " ai " matches the word at either end of the name.
    let padded = format!(" {} ", name.to_lowercase());
    catalogue
        .keywords
        .iter()
        .find(|k| padded.contains(k.as_str()))
        .map(|k| format!("name contains {:?}", k.trim()))
}

/// One third-party app as all its tokens describe it.
pub struct App {
    pub client_id: String,
    pub name: String,
    pub ai_match: Option<String>,
    pub anonymous: bool,
    pub native: bool,
    pub scopes: BTreeSet<String>,
    /// Numeric user ids of the users who granted it.
    pub holders: BTreeSet<String>,
    /// The earliest grant the token log shows (tokens carry no date of their own, §2.2).
    pub first_granted: Option<String>,
}

/// The apps of the tokens inventory, by client id.
pub fn apps(parts: &Parts) -> BTreeMap<String, App> {
    let catalogue = catalogue();
    let mut apps: BTreeMap<String, App> = BTreeMap::new();
    for token in rows(parts, "tokens") {
        let client_id = text(token, "clientId");
        if client_id.is_empty() {
            continue;
        }
        let name = match text(token, "displayText") {
            "" => client_id,
            n => n,
        };
        let app = apps.entry(client_id.to_string()).or_insert_with(|| App {
            client_id: client_id.to_string(),
            name: name.to_string(),
            ai_match: ai_match(&catalogue, name, client_id),
            anonymous: false,
            native: false,
            scopes: BTreeSet::new(),
            holders: BTreeSet::new(),
            first_granted: None,
        });
        app.anonymous |= token["anonymous"].as_bool() == Some(true);
        app.native |= token["nativeApp"].as_bool() == Some(true);
        app.scopes.extend(
            token["scopes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_string),
        );
        let holder = text(token, "userKey");
        if !holder.is_empty() {
            app.holders.insert(holder.to_string());
        }
    }
    for e in super::audit::events(parts, "token_events") {
        if e.name != "authorize" {
            continue;
        }
        let Some(app) = e.text("client_id").and_then(|c| apps.get_mut(&c)) else {
            continue;
        };
        if app.first_granted.as_deref().is_none_or(|t| e.time < t) {
            app.first_granted = Some(e.time.to_string());
        }
    }
    apps
}

struct UserRoles {
    names: Vec<String>,
    super_admin: bool,
}

/// Admin roles per user id, from direct assignments (group assignments name the group).
fn roles_by_user(parts: &Parts) -> HashMap<String, UserRoles> {
    let roles: HashMap<&str, (&str, bool)> = rows(parts, "roles")
        .iter()
        .map(|r| {
            (
                text(r, "roleId"),
                (text(r, "roleName"), r["isSuperAdminRole"].as_bool() == Some(true)),
            )
        })
        .collect();
    let mut out: HashMap<String, UserRoles> = HashMap::new();
    for a in rows(parts, "role_assignments") {
        // `assigneeType` is lowercase in the discovery document, uppercase in its prose (§9.1.4).
        if !text(a, "assigneeType").eq_ignore_ascii_case("user") {
            continue;
        }
        let (name, is_super) = roles.get(text(a, "roleId")).copied().unwrap_or(("", false));
        let name = if name.is_empty() { text(a, "roleId") } else { name };
        let entry = out.entry(text(a, "assignedTo").to_string()).or_insert(UserRoles {
            names: Vec::new(),
            super_admin: false,
        });
        if !entry.names.iter().any(|n| n == name) {
            entry.names.push(name.to_string());
        }
        entry.super_admin |= is_super;
    }
    out
}

/// The domain's users as principals, with the AI apps each granted.
pub fn users(parts: &Parts, apps: &BTreeMap<String, App>) -> Vec<Principal> {
    let roles = roles_by_user(parts);
    let tokens_read = collected(parts, "tokens");
    rows(parts, "users")
        .iter()
        .filter(|u| !text(u, "id").is_empty())
        .map(|u| {
            let id = text(u, "id");
            let is_admin = u["isAdmin"].as_bool() == Some(true);
            let delegated = u["isDelegatedAdmin"].as_bool() == Some(true);
            let held = roles.get(id);
            let super_admin = is_admin || held.is_some_and(|r| r.super_admin);
            let role_names: Vec<String> = held.map(|r| r.names.clone()).unwrap_or_default();
            let granted: Vec<&App> = apps
                .values()
                .filter(|a| a.ai_match.is_some() && a.holders.contains(id))
                .collect();
            let with_data: Vec<&str> = granted
                .iter()
                .filter(|a| a.scopes.iter().any(|s| reach(s).is_some()))
                .map(|a| a.name.as_str())
                .collect();
            let email = text(u, "primaryEmail");
            Principal {
                id: user_id(id),
                kind: PrincipalKind::User,
                name: if email.is_empty() {
                    id.to_string()
                } else {
                    email.to_string()
                },
                privileged: super_admin || delegated || !role_names.is_empty(),
                roles: role_names.clone(),
                attributes: [
                    ("email", json!(email)),
                    ("org_unit", json!(text(u, "orgUnitPath"))),
                    ("is_admin", json!(is_admin)),
                    ("is_delegated_admin", json!(delegated)),
                    ("super_admin", json!(super_admin)),
                    ("suspended", json!(u["suspended"].as_bool() == Some(true))),
                    ("admin_roles", json!(role_names)),
                    (
                        "ai_apps",
                        json!(granted.iter().map(|a| a.name.as_str()).collect::<Vec<_>>()),
                    ),
                    ("ai_apps_with_data_scopes", json!(with_data)),
                    ("tokens_read", json!(tokens_read)),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            }
        })
        .collect()
}

/// Each app users granted, as a principal with what its scopes reach and who granted it.
pub fn app_principals(parts: &Parts, apps: &BTreeMap<String, App>) -> Vec<Principal> {
    let users: HashMap<&str, &Value> = rows(parts, "users").iter().map(|u| (text(u, "id"), u)).collect();
    let active = users
        .values()
        .filter(|u| u["suspended"].as_bool() != Some(true))
        .count();
    let privileged: BTreeSet<String> = super::directory::users(parts, &BTreeMap::new())
        .into_iter()
        .filter(|p| p.privileged)
        .map(|p| p.id)
        .collect();
    apps.values()
        .map(|a| {
            let email = |id: &String| {
                users
                    .get(id.as_str())
                    .map(|u| text(u, "primaryEmail").to_string())
                    .filter(|e| !e.is_empty())
                    .unwrap_or_else(|| id.clone())
            };
            let admin_holders: Vec<String> = a
                .holders
                .iter()
                .filter(|h| privileged.contains(&user_id(h)))
                .map(email)
                .collect();
            let holders: Vec<String> = a.holders.iter().take(HOLDERS_SHOWN).map(email).collect();
            let share = if active == 0 {
                0.0
            } else {
                a.holders.len() as f64 / active as f64
            };
            Principal {
                id: app_id(&a.client_id),
                kind: PrincipalKind::App,
                name: a.name.clone(),
                privileged: a.scopes.iter().any(|s| admin_scope(s)),
                roles: Vec::new(),
                attributes: [
                    ("client_id", json!(a.client_id)),
                    ("ai", json!(a.ai_match.is_some())),
                    ("ai_match", json!(a.ai_match)),
                    ("anonymous", json!(a.anonymous)),
                    ("native", json!(a.native)),
                    ("scopes", json!(a.scopes)),
                    ("full_gmail", json!(a.scopes.iter().any(|s| full_gmail(s)))),
                    ("full_drive", json!(a.scopes.iter().any(|s| full_drive(s)))),
                    ("data_scopes", json!(a.scopes.iter().any(|s| !identity_only(s)))),
                    ("admin_scopes", json!(a.scopes.iter().any(|s| admin_scope(s)))),
                    ("user_count", json!(a.holders.len())),
                    ("user_share", json!((share * 1000.0).round() / 1000.0)),
                    ("admin_holders", json!(admin_holders)),
                    ("holders", json!(holders)),
                    ("dwd", json!(false)),
                    ("first_granted", json!(a.first_granted)),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            }
        })
        .collect()
}

/// What each app can read or change, one grant per scope that reaches user data.
pub fn grants(apps: &BTreeMap<String, App>) -> Vec<Grant> {
    apps.values()
        .flat_map(|a| {
            a.scopes.iter().filter_map(|s| {
                reach(s).map(|(store, level)| Grant {
                    holder: app_id(&a.client_id),
                    target: format!("{P}:{store}"),
                    permission: s.clone(),
                    level,
                    scope: "tenant".into(),
                    consent: Some("user".into()),
                })
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_tiers_follow_googles_names() {
        assert!(full_gmail("https://mail.google.com/"));
        assert!(full_gmail("https://www.googleapis.com/auth/gmail.readonly"));
        assert!(!full_gmail("https://www.googleapis.com/auth/gmail.send"));
        assert!(full_drive("https://www.googleapis.com/auth/drive"));
        assert!(!full_drive("https://www.googleapis.com/auth/drive.file"));
        assert!(admin_scope("https://www.googleapis.com/auth/admin.directory.user"));
        assert!(identity_only("openid") && identity_only("https://www.googleapis.com/auth/userinfo.email"));
        assert_eq!(
            reach("https://www.googleapis.com/auth/calendar.readonly"),
            Some(("calendar", Level::Read))
        );
    }

    #[test]
    fn ai_apps_are_matched_from_the_catalogue_on_words() {
        let c = catalogue();
        assert!(ai_match(&c, "MeetNotes AI Assistant", "1").is_some());
        assert!(ai_match(&c, "ChatGPT", "2").is_some());
        assert!(ai_match(&c, "Zoom for Google Workspace", "3").is_none());
        assert!(
            ai_match(&c, "Mailchimp", "4").is_none(),
            "\"ai\" inside a word is not a match"
        );
    }
}
