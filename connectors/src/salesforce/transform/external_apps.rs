//! External client apps (Metadata API 59.0+; reference §2.8), the kind of OAuth app new orgs
//! create now that connected apps can no longer be made. Scopes come from their OAuth settings
//! (`ExtlClntAppOauthSettings.commaSeparatedOauthScopes`), policies from their configurable
//! policies (`ExtlClntAppOauthConfigurablePolicies`: permitted users, IP relaxation, refresh
//! tokens, the client-credentials flow and its user); both name their app in
//! `externalClientApplication`. They become `app` principals with the same attributes as
//! connected apps, so the same rules judge them.

use super::access::{app_id, days_since, runs_as, UserRights};
use super::{collected, flag, rows, text};
use crate::Parts;
use schemas::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

pub const SETTINGS: &str = "metadata.ExtlClntAppOauthSettings";
pub const POLICIES: &str = "metadata.ExtlClntAppOauthConfigurablePolicies";

/// The app a settings or policies component belongs to.
fn app_of(component: &Value) -> &str {
    let named = text(component, "externalClientApplication");
    if named.is_empty() {
        text(component, "fullName")
    } else {
        named
    }
}

/// An external client app's scope in the connected-app spelling the rules read (`Full`,
/// `RefreshToken`, `Chatbot`, ...): settings files use the OAuth names (`refresh_token`,
/// `chatbot_api`); either is accepted.
pub fn scope_name(scope: &str) -> String {
    match scope.trim().to_ascii_lowercase().as_str() {
        "full" => "Full".into(),
        "api" => "Api".into(),
        "refresh_token" | "offline_access" | "refreshtoken" => "RefreshToken".into(),
        "chatbot_api" | "chatbot" => "Chatbot".into(),
        "sfap_api" | "sfap" => "SFAP".into(),
        "mcp_api" | "mcp" => "MCP".into(),
        "web" => "Web".into(),
        "openid" => "OpenID".into(),
        _ => scope.trim().to_string(),
    }
}

/// `ipRelaxationPolicyType` in the connected-app spelling (`ENFORCE`, `BYPASS`, ...).
fn ip_relaxation(value: &str) -> Option<String> {
    match value {
        "" => None,
        "Enforce" => Some("ENFORCE".into()),
        "Bypass" => Some("BYPASS".into()),
        "Bypass_2factor" => Some("BYPASS_WITH_2FA".into()),
        "Enforce_RelaxRefresh" => Some("ENFORCE_RELAX_REFRESH".into()),
        other => Some(other.to_ascii_uppercase()),
    }
}

/// The users the client-credentials flows of external client apps run as (by username).
pub fn run_as_users(parts: &Parts) -> Vec<String> {
    rows(parts, POLICIES)
        .iter()
        .filter(|p| flag(p, "isClientCredentialsFlowEnabled") == Some(true))
        .map(|p| text(p, "clientCredentialsFlowUser").to_string())
        .filter(|u| !u.is_empty())
        .collect()
}

pub fn principals(parts: &Parts, users: &[UserRights], now: chrono::DateTime<chrono::Utc>) -> Vec<Principal> {
    let settings_read = collected(parts, SETTINGS);
    let policies_read = collected(parts, POLICIES);
    let settings: BTreeMap<&str, &Value> = rows(parts, SETTINGS).iter().map(|s| (app_of(s), s)).collect();
    let policies: BTreeMap<&str, &Value> = rows(parts, POLICIES).iter().map(|p| (app_of(p), p)).collect();
    let names: BTreeSet<&str> = settings.keys().chain(policies.keys()).copied().collect();
    names
        .into_iter()
        .filter(|name| !name.is_empty())
        .map(|name| {
            let setting = settings.get(name).copied();
            let policy = policies.get(name).copied();
            let label = setting
                .or(policy)
                .map(|c| text(c, "label"))
                .filter(|l| !l.is_empty())
                .unwrap_or(name);
            let scopes: Option<Vec<String>> = setting.map(|s| {
                text(s, "commaSeparatedOauthScopes")
                    .split(',')
                    .filter(|x| !x.trim().is_empty())
                    .map(scope_name)
                    .collect()
            });
            let has = |scope: &str| scopes.as_ref().map(|s| s.iter().any(|x| x == scope));
            // What a policy says, or unknown when the policies were not read or this app has none.
            let from_policy = |f: &dyn Fn(&Value) -> Value| policy.map(f).unwrap_or(Value::Null);
            let run_as_name = policy
                .map(|p| text(p, "clientCredentialsFlowUser"))
                .filter(|n| !n.is_empty());
            let run_as = run_as_name.and_then(|n| users.iter().find(|u| u.username == n));
            let tokens: Vec<&Value> = rows(parts, "OauthToken")
                .iter()
                .filter(|t| text(t, "AppName") == label || text(t, "AppName") == name)
                .collect();
            let dormant: Vec<Value> = tokens
                .iter()
                .filter(|t| {
                    let last = t
                        .get("LastUsedDate")
                        .and_then(Value::as_str)
                        .or(t.get("CreatedDate").and_then(Value::as_str));
                    last.and_then(|d| days_since(d, now)).is_some_and(|d| d > 90)
                })
                .map(|t| json!({"user": text(t, "UserId"), "last_used": t.get("LastUsedDate"), "created": t.get("CreatedDate")}))
                .collect();
            let mut attributes = BTreeMap::new();
            attributes.insert("app_kind".into(), json!("external_client_app"));
            attributes.insert("scopes".into(), json!(scopes));
            attributes.insert("full_scope".into(), json!(has("Full")));
            attributes.insert("refresh_token_scope".into(), json!(has("RefreshToken")));
            attributes.insert(
                "agent_api_scopes".into(),
                json!(scopes.as_ref().map(|s| s
                    .iter()
                    .filter(|x| ["Chatbot", "SFAP", "MCP"].contains(&x.as_str()))
                    .cloned()
                    .collect::<Vec<_>>())),
            );
            attributes.insert(
                "admin_approved_only".into(),
                from_policy(&|p| json!(text(p, "permittedUsersPolicyType") == "AdminApprovedPreAuthorized")),
            );
            attributes.insert(
                "session_policy".into(),
                from_policy(&|p| json!(text(p, "policyAction") == "RaiseSessionLevel")),
            );
            attributes.insert("refresh_token_validity_period".into(), Value::Null);
            attributes.insert(
                "ip_relaxation".into(),
                from_policy(&|p| json!(ip_relaxation(text(p, "ipRelaxationPolicyType")))),
            );
            attributes.insert(
                "refresh_token_policy".into(),
                from_policy(&|p| {
                    let value = text(p, "refreshTokenPolicyType");
                    match value {
                        "" => Value::Null,
                        v if v.to_ascii_lowercase().contains("infinite") => json!("infinite"),
                        v => json!(v),
                    }
                }),
            );
            attributes.insert(
                "client_credentials".into(),
                from_policy(&|p| json!(flag(p, "isClientCredentialsFlowEnabled").unwrap_or(false))),
            );
            attributes.insert("run_as_user".into(), json!(run_as_name));
            attributes.insert(
                "run_as_modify_or_view_all_data".into(),
                json!(run_as.map(|u| u.system.contains("PermissionsModifyAllData") || u.system.contains("PermissionsViewAllData"))),
            );
            attributes.insert(
                "metadata_read".into(),
                json!(settings_read && policies_read && setting.is_some() && policy.is_some()),
            );
            attributes.insert("tokens".into(), json!(tokens.len()));
            attributes.insert("tokens_read".into(), json!(collected(parts, "OauthToken")));
            attributes.insert("dormant_tokens".into(), json!(dormant));
            attributes.insert("api_name".into(), json!(name));
            Principal {
                id: app_id(label),
                kind: PrincipalKind::App,
                name: label.to_string(),
                privileged: has("Full") == Some(true),
                roles: Vec::new(),
                attributes,
            }
        })
        .collect()
}

/// A client-credentials external client app acts as its Run As user.
pub fn grants(parts: &Parts, users: &[UserRights]) -> Vec<Grant> {
    rows(parts, POLICIES)
        .iter()
        .filter(|p| flag(p, "isClientCredentialsFlowEnabled") == Some(true))
        .filter_map(|p| {
            let user = users
                .iter()
                .find(|u| u.username == text(p, "clientCredentialsFlowUser"))?;
            let name = app_of(p);
            let label = rows(parts, SETTINGS)
                .iter()
                .chain(std::iter::once(p))
                .find(|c| app_of(c) == name && !text(c, "label").is_empty())
                .map(|c| text(c, "label"))
                .unwrap_or(name);
            Some(runs_as(label, user))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_read_in_either_spelling() {
        assert_eq!(scope_name(" refresh_token"), "RefreshToken");
        assert_eq!(scope_name("chatbot_api"), "Chatbot");
        assert_eq!(scope_name("Full"), "Full");
        assert_eq!(scope_name("custom_scope"), "custom_scope");
        assert_eq!(ip_relaxation("Bypass").as_deref(), Some("BYPASS"));
        assert_eq!(ip_relaxation(""), None);
    }
}
