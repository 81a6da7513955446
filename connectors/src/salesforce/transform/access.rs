//! Who holds what (reference §2.6–§2.8): agent users, guest users and client-credentials
//! run-as users with their permission sets (the profile's own set included), object rights,
//! and the connected apps with their scopes and policies.

use super::{flag, list, object_id, rows, text, user_id, P};
use crate::Parts;
use schemas::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

/// System permissions read per assignment (§2.6 table; §9.2 confirms every name).
pub const SYSTEM_PERMISSIONS: &[&str] = &[
    "PermissionsModifyAllData",
    "PermissionsViewAllData",
    "PermissionsAuthorApex",
    "PermissionsCustomizeApplication",
    "PermissionsModifyMetadata",
    "PermissionsManageUsers",
    "PermissionsManageProfilesPermissionsets",
    "PermissionsManageSharing",
    "PermissionsApiEnabled",
    "PermissionsExecutePromptTemplates",
    "PermissionsManagePromptTemplates",
    "PermissionsEinsteinAgentPlatformBuilder",
];

/// Admin-grade permissions (SF-AI-004): each lets its holder change code, configuration or
/// other people's rights.
pub const ADMIN_PERMISSIONS: &[&str] = &[
    "PermissionsAuthorApex",
    "PermissionsCustomizeApplication",
    "PermissionsModifyMetadata",
    "PermissionsManageUsers",
    "PermissionsManageProfilesPermissionsets",
    "PermissionsManageSharing",
];

pub const ASSIGNMENT_FIELDS: &str = "Id, AssigneeId, PermissionSetId, PermissionSet.Name, PermissionSet.Label, PermissionSet.IsOwnedByProfile, PermissionSet.PermissionsModifyAllData, PermissionSet.PermissionsViewAllData, PermissionSet.PermissionsAuthorApex, PermissionSet.PermissionsCustomizeApplication, PermissionSet.PermissionsModifyMetadata, PermissionSet.PermissionsManageUsers, PermissionSet.PermissionsManageProfilesPermissionsets, PermissionSet.PermissionsManageSharing, PermissionSet.PermissionsApiEnabled, PermissionSet.PermissionsExecutePromptTemplates, PermissionSet.PermissionsManagePromptTemplates, PermissionSet.PermissionsEinsteinAgentPlatformBuilder";

/// The users whose rights matter: agent users, guest users of active sites, the users the
/// Bot metadata names, and the Run As users of client-credentials apps (connected and external
/// client apps).
pub fn user_keys(parts: &Parts) -> Result<Vec<(&'static str, Vec<String>)>, String> {
    let mut ids = super::super::ids_from(parts, "BotDefinition", "BotUserId")?;
    ids.extend(super::super::ids_from(parts, "Site", "GuestUserId")?);
    let mut names: BTreeSet<String> = BTreeSet::new();
    // A bot whose sObject names its user already has that user in `ids`: its metadata's
    // username would read the same user again.
    let with_user: BTreeSet<&str> = rows(parts, "BotDefinition")
        .iter()
        .filter(|b| !text(b, "BotUserId").is_empty())
        .map(|b| text(b, "DeveloperName"))
        .collect();
    for bot in rows(parts, "metadata.Bot") {
        if !with_user.contains(text(bot, "fullName")) {
            names.insert(text(bot, "botUser").to_string());
        }
    }
    for app in rows(parts, "metadata.ConnectedApp") {
        names.insert(text(&app["oauthConfig"], "oauthClientCredentialUser").to_string());
    }
    names.extend(super::external_apps::run_as_users(parts));
    names.remove("");
    ids.sort();
    ids.dedup();
    Ok(vec![("Id", ids), ("Username", names.into_iter().collect())])
}

/// One user with the rights their active permission sets give.
#[derive(Debug, Clone)]
pub struct UserRights {
    pub id: String,
    pub username: String,
    pub name: String,
    pub user_type: String,
    pub profile: String,
    pub active: bool,
    pub last_login: Option<String>,
    pub permission_sets: Vec<String>,
    /// System permissions held through any set (the `Permissions…` names).
    pub system: BTreeSet<String>,
    /// Object → rights (`Read`, `Create`, `Edit`, `Delete`, `ViewAllRecords`, `ModifyAllRecords`).
    pub objects: BTreeMap<String, BTreeSet<String>>,
    /// Whether the permission sets were read (otherwise rights are unknown, not absent).
    pub rights_known: bool,
    /// Ids of the Apex classes the user's sets let them run (`SetupEntityAccess`); `None` when
    /// that was not read.
    pub apex_classes: Option<BTreeSet<String>>,
}

impl UserRights {
    pub fn privileged(&self) -> bool {
        self.system.contains("PermissionsModifyAllData")
            || self.system.contains("PermissionsViewAllData")
            || ADMIN_PERMISSIONS.iter().any(|p| self.system.contains(*p))
            || self.profile == "System Administrator"
    }
}

pub fn users(parts: &Parts) -> Vec<UserRights> {
    let rights_known = super::collected(parts, "PermissionSetAssignment");
    let objects_known = super::collected(parts, "ObjectPermissions");
    let class_access_known = rights_known && super::collected(parts, "SetupEntityAccess");
    // Permission set → Apex classes it lets its holders run.
    let mut classes_by_set: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for access in rows(parts, "SetupEntityAccess") {
        if text(access, "SetupEntityType") == "ApexClass" {
            classes_by_set
                .entry(text(access, "ParentId"))
                .or_default()
                .push(text(access, "SetupEntityId"));
        }
    }
    // Permission set → object rights.
    let mut by_set: BTreeMap<&str, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for op in rows(parts, "ObjectPermissions") {
        let rights = by_set
            .entry(text(op, "ParentId"))
            .or_default()
            .entry(text(op, "SobjectType").to_string())
            .or_default();
        for (field, right) in [
            ("PermissionsRead", "Read"),
            ("PermissionsCreate", "Create"),
            ("PermissionsEdit", "Edit"),
            ("PermissionsDelete", "Delete"),
            ("PermissionsViewAllRecords", "ViewAllRecords"),
            ("PermissionsModifyAllRecords", "ModifyAllRecords"),
        ] {
            if flag(op, field) == Some(true) {
                rights.insert(right.to_string());
            }
        }
    }
    rows(parts, "User")
        .iter()
        .filter(|u| !text(u, "Id").is_empty())
        .map(|u| {
            let id = text(u, "Id");
            let mut rights = UserRights {
                id: id.to_string(),
                username: text(u, "Username").to_string(),
                name: text(u, "Name").to_string(),
                user_type: text(u, "UserType").to_string(),
                profile: u.get("Profile").map(|p| text(p, "Name")).unwrap_or("").to_string(),
                active: flag(u, "IsActive").unwrap_or(true),
                last_login: u.get("LastLoginDate").and_then(Value::as_str).map(str::to_string),
                permission_sets: Vec::new(),
                system: BTreeSet::new(),
                objects: BTreeMap::new(),
                rights_known: rights_known && objects_known,
                apex_classes: class_access_known.then(BTreeSet::new),
            };
            for a in rows(parts, "PermissionSetAssignment")
                .iter()
                .filter(|a| text(a, "AssigneeId") == id)
            {
                let set = &a["PermissionSet"];
                let name = text(set, "Name");
                if flag(set, "IsOwnedByProfile") != Some(true) && !name.is_empty() {
                    rights.permission_sets.push(name.to_string());
                }
                for p in SYSTEM_PERMISSIONS {
                    if flag(set, p) == Some(true) {
                        rights.system.insert(p.to_string());
                    }
                }
                if let (Some(classes), Some(granted)) = (
                    rights.apex_classes.as_mut(),
                    classes_by_set.get(text(a, "PermissionSetId")),
                ) {
                    classes.extend(granted.iter().map(|c| c.to_string()));
                }
                if let Some(objects) = by_set.get(text(a, "PermissionSetId")) {
                    for (object, r) in objects {
                        rights
                            .objects
                            .entry(object.clone())
                            .or_default()
                            .extend(r.iter().cloned());
                    }
                }
            }
            rights.permission_sets.sort();
            rights
        })
        .collect()
}

pub fn user_principals(users: &[UserRights]) -> Vec<Principal> {
    users
        .iter()
        .map(|u| {
            let kind = if u.user_type == "Guest" {
                PrincipalKind::Guest
            } else if u.profile == "Einstein Agent User" {
                PrincipalKind::AiIdentity
            } else {
                PrincipalKind::User
            };
            let objects: Vec<Value> = u
                .objects
                .iter()
                .map(|(object, rights)| json!({"object": object, "rights": rights}))
                .collect();
            let broad_objects: Vec<&String> = u
                .objects
                .iter()
                .filter(|(_, r)| r.contains("ViewAllRecords") || r.contains("ModifyAllRecords"))
                .map(|(o, _)| o)
                .collect();
            let edit_sensitive: Vec<&String> = u
                .objects
                .iter()
                .filter(|(o, r)| {
                    super::SENSITIVE_OBJECTS.contains(&o.as_str()) && (r.contains("Edit") || r.contains("Delete"))
                })
                .map(|(o, _)| o)
                .collect();
            let known = |v: Value| if u.rights_known { v } else { Value::Null };
            let mut attributes = BTreeMap::new();
            attributes.insert("username".into(), json!(u.username));
            attributes.insert("profile".into(), json!(u.profile));
            attributes.insert("user_type".into(), json!(u.user_type));
            attributes.insert("is_active".into(), json!(u.active));
            attributes.insert("last_login".into(), json!(u.last_login));
            attributes.insert("permission_sets".into(), json!(u.permission_sets));
            attributes.insert("rights_known".into(), json!(u.rights_known));
            attributes.insert("system_permissions".into(), known(json!(u.system)));
            attributes.insert(
                "modify_or_view_all_data".into(),
                known(json!(
                    u.system.contains("PermissionsModifyAllData") || u.system.contains("PermissionsViewAllData")
                )),
            );
            attributes.insert(
                "admin_permissions".into(),
                known(json!(ADMIN_PERMISSIONS
                    .iter()
                    .filter(|p| u.system.contains(**p))
                    .collect::<Vec<_>>())),
            );
            attributes.insert("object_permissions".into(), known(Value::Array(objects)));
            attributes.insert("view_or_modify_all_records_on".into(), known(json!(broad_objects)));
            attributes.insert("edit_or_delete_sensitive_objects".into(), known(json!(edit_sensitive)));
            attributes.insert("apex_class_access".into(), json!(u.apex_classes));
            Principal {
                id: user_id(&u.id),
                kind,
                name: if u.username.is_empty() {
                    u.name.clone()
                } else {
                    u.username.clone()
                },
                privileged: u.privileged(),
                roles: u.permission_sets.clone(),
                attributes,
            }
        })
        .collect()
}

/// Rights as grants: object rights per object, View/Modify All Data over every object.
pub fn grants(users: &[UserRights]) -> Vec<Grant> {
    let mut out = Vec::new();
    for u in users {
        for (permission, level) in [
            ("PermissionsModifyAllData", Level::Admin),
            ("PermissionsViewAllData", Level::Read),
        ] {
            if u.system.contains(permission) {
                out.push(Grant {
                    holder: user_id(&u.id),
                    target: object_id("*"),
                    permission: permission.trim_start_matches("Permissions").to_string(),
                    level,
                    scope: "tenant".into(),
                    consent: None,
                });
            }
        }
        for (object, rights) in &u.objects {
            let level = if rights.contains("ModifyAllRecords") {
                Level::Admin
            } else if rights.contains("Edit") || rights.contains("Create") || rights.contains("Delete") {
                Level::Write
            } else if rights.contains("Read") || rights.contains("ViewAllRecords") {
                Level::Read
            } else {
                continue;
            };
            out.push(Grant {
                holder: user_id(&u.id),
                target: object_id(object),
                permission: rights.iter().cloned().collect::<Vec<_>>().join(","),
                level,
                scope: "resource".into(),
                consent: None,
            });
        }
    }
    out
}

pub fn app_id(name: &str) -> String {
    format!("{P}:app:{name}")
}

/// Connected apps: the sObject (policies) joined by name to the metadata (scopes, flows).
pub fn app_principals(parts: &Parts, users: &[UserRights], now: chrono::DateTime<chrono::Utc>) -> Vec<Principal> {
    let metadata_read = super::collected(parts, "metadata.ConnectedApp");
    let objects = rows(parts, "ConnectedApplication");
    let metas = rows(parts, "metadata.ConnectedApp");
    // One app per sObject (its Name is the label); metadata joins by id (listMetadata's ids are
    // the sObject ids), else by name. Metadata without an sObject is an app too.
    let mut apps: Vec<(String, Option<&Value>, Option<&Value>)> = objects
        .iter()
        .map(|o| {
            let meta = metas.iter().find(|m| {
                (!text(m, "@id").is_empty() && text(m, "@id") == text(o, "Id"))
                    || text(m, "fullName") == text(o, "Name")
                    || text(m, "label") == text(o, "Name")
            });
            (text(o, "Name").to_string(), Some(o), meta)
        })
        .collect();
    for m in metas {
        if !apps.iter().any(|(_, _, meta)| meta.is_some_and(|x| std::ptr::eq(x, m))) {
            let name = if text(m, "label").is_empty() {
                text(m, "fullName")
            } else {
                text(m, "label")
            };
            apps.push((name.to_string(), None, Some(m)));
        }
    }
    apps.into_iter()
        .filter(|(name, _, _)| !name.is_empty())
        .map(|(name, object, meta)| {
            let label = meta.map(|m| text(m, "label")).unwrap_or("");
            let oauth = meta.map(|m| &m["oauthConfig"]);
            let policy = meta.map(|m| &m["oauthPolicy"]);
            let scopes: Option<Vec<String>> = oauth.map(|o| {
                list(o.get("scopes"))
                    .into_iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            });
            // Off unless the metadata says otherwise; unknown without the metadata.
            let client_credentials = oauth.map(|o| flag(o, "isClientCredentialEnabled").unwrap_or(false));
            let run_as_name = oauth.map(|o| text(o, "oauthClientCredentialUser")).filter(|n| !n.is_empty());
            let run_as = run_as_name.and_then(|n| users.iter().find(|u| u.username == n));
            let tokens: Vec<&Value> = rows(parts, "OauthToken")
                .iter()
                .filter(|t| text(t, "AppName") == name || (!label.is_empty() && text(t, "AppName") == label))
                .collect();
            let dormant: Vec<Value> = tokens
                .iter()
                .filter(|t| {
                    let last = t.get("LastUsedDate").and_then(Value::as_str).or(t.get("CreatedDate").and_then(Value::as_str));
                    last.and_then(|d| days_since(d, now)).is_some_and(|d| d > 90)
                })
                .map(|t| json!({"user": text(t, "UserId"), "last_used": t.get("LastUsedDate"), "created": t.get("CreatedDate")}))
                .collect();
            let unknown_unless = |known: bool, v: Value| if known { v } else { Value::Null };
            let has = |scope: &str| scopes.as_ref().map(|s| s.iter().any(|x| x.eq_ignore_ascii_case(scope)));
            let mut attributes = BTreeMap::new();
            attributes.insert("app_kind".into(), json!("connected_app"));
            attributes.insert("scopes".into(), json!(scopes));
            attributes.insert("full_scope".into(), json!(has("Full")));
            attributes.insert(
                "refresh_token_scope".into(),
                json!(scopes.as_ref().map(|_| has("RefreshToken") == Some(true) || has("OfflineAccess") == Some(true))),
            );
            attributes.insert(
                "agent_api_scopes".into(),
                json!(scopes.as_ref().map(|s| s
                    .iter()
                    .filter(|x| ["chatbot", "sfap", "mcp"].contains(&x.to_ascii_lowercase().as_str()))
                    .cloned()
                    .collect::<Vec<_>>())),
            );
            attributes.insert(
                "admin_approved_only".into(),
                json!(object.and_then(|o| flag(o, "OptionsAllowAdminApprovedUsersOnly"))),
            );
            attributes.insert(
                "session_policy".into(),
                json!(object.and_then(|o| flag(o, "OptionsHasSessionLevelPolicy"))),
            );
            attributes.insert(
                "refresh_token_validity_period".into(),
                object.map(|o| o.get("RefreshTokenValidityPeriod").cloned().unwrap_or(Value::Null)).unwrap_or(Value::Null),
            );
            attributes.insert(
                "ip_relaxation".into(),
                unknown_unless(metadata_read, json!(policy.map(|p| text(p, "ipRelaxation")).filter(|t| !t.is_empty()))),
            );
            attributes.insert(
                "refresh_token_policy".into(),
                unknown_unless(metadata_read, json!(policy.map(|p| text(p, "refreshTokenPolicy")).filter(|t| !t.is_empty()))),
            );
            attributes.insert("client_credentials".into(), json!(client_credentials));
            attributes.insert("run_as_user".into(), json!(run_as_name));
            attributes.insert(
                "run_as_modify_or_view_all_data".into(),
                json!(run_as.map(|u| u.system.contains("PermissionsModifyAllData") || u.system.contains("PermissionsViewAllData"))),
            );
            attributes.insert("metadata_read".into(), json!(metadata_read && meta.is_some()));
            attributes.insert("tokens".into(), json!(tokens.len()));
            attributes.insert("tokens_read".into(), json!(super::collected(parts, "OauthToken")));
            attributes.insert("dormant_tokens".into(), json!(dormant));
            attributes.insert("api_name".into(), json!(meta.map(|m| text(m, "fullName"))));
            Principal {
                id: app_id(&name),
                kind: PrincipalKind::App,
                name: name.clone(),
                privileged: has("Full") == Some(true),
                roles: Vec::new(),
                attributes,
            }
        })
        .collect()
}

/// A client-credentials app acts as its Run As user: the app holds what that user holds.
pub fn app_grants(parts: &Parts) -> Vec<Grant> {
    let users = users(parts);
    rows(parts, "metadata.ConnectedApp")
        .iter()
        .filter(|m| flag(&m["oauthConfig"], "isClientCredentialEnabled") == Some(true))
        .filter_map(|m| {
            let name = text(&m["oauthConfig"], "oauthClientCredentialUser");
            let user = users.iter().find(|u| u.username == name)?;
            let app = rows(parts, "ConnectedApplication")
                .iter()
                .find(|o| {
                    text(o, "Id") == text(m, "@id")
                        || text(o, "Name") == text(m, "fullName")
                        || text(o, "Name") == text(m, "label")
                })
                .map(|o| text(o, "Name"))
                .unwrap_or(if text(m, "label").is_empty() {
                    text(m, "fullName")
                } else {
                    text(m, "label")
                });
            Some(runs_as(app, user))
        })
        .collect()
}

/// The grant of an app whose client-credentials flow runs as `user`.
pub fn runs_as(app_label: &str, user: &UserRights) -> Grant {
    Grant {
        holder: app_id(app_label),
        target: user_id(&user.id),
        permission: "runs_as".into(),
        level: if user.privileged() { Level::Admin } else { Level::Read },
        scope: "tenant".into(),
        consent: Some("client_credentials".into()),
    }
}

/// Whole days from a Salesforce timestamp (`2025-09-01T08:00:00.000+0000`) to `now`.
pub fn days_since(timestamp: &str, now: chrono::DateTime<chrono::Utc>) -> Option<i64> {
    let parsed = chrono::DateTime::parse_from_str(timestamp, "%Y-%m-%dT%H:%M:%S%.f%z")
        .or_else(|_| chrono::DateTime::parse_from_rfc3339(timestamp))
        .ok()?;
    Some((now - parsed.with_timezone(&chrono::Utc)).num_days())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn salesforce_timestamps_are_read() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(days_since("2026-11-21T00:00:00.000+0000", now), Some(10));
        assert_eq!(days_since("2026-11-21T00:00:00Z", now), Some(10));
        assert_eq!(days_since("yesterday", now), None);
    }
}
