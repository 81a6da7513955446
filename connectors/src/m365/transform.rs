//! Pure transforms: Microsoft 365 vendor JSON (as stored in the scan's parts) to the normalized
//! inventory. Field names and value sets follow shared/saas-apis/m365-copilot.md; anything the
//! reference marks unconfirmed is parsed leniently and, when absent, becomes "unknown" (an
//! attribute rules turn into not_assessed), never a silent pass.

use super::{resource_name, MICROSOFT_TENANTS, PROVIDER as P};
use crate::Parts;
use schemas::*;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};

/// Copilot service plans (reference §2.2.1). The tenant's own SKUs add any plan whose name says
/// Copilot, so a renamed or new bundle is still recognised.
pub const COPILOT_PLAN_IDS: &[&str] = &[
    "3f30311c-6b1e-48a4-ab79-725b469da960",
    "fe6c28b3-d468-44ea-bbd0-a10a5167435c",
    "a62f8878-de10-42f3-b68f-6149a25ceb97",
    "b95945de-b3bd-46db-8437-f2beb6ea2347",
    "0aedf20c-091d-420b-aadf-30c042609612",
    "931e4a88-a67f-48b5-814f-16a5f1e6028d",
    "89f1c4c8-0878-40f7-804d-869c9128ab5d",
    "82d30987-df9b-4486-b146-198b21d164c7",
];

/// App roles that let the holder grant itself anything (reference §4, APP-005).
const ESCALATION_ROLES: &[&str] = &[
    "AppRoleAssignment.ReadWrite.All",
    "Application.ReadWrite.All",
    "RoleManagement.ReadWrite.Directory",
    "Directory.ReadWrite.All",
    "DelegatedPermissionGrant.ReadWrite.All",
    "Policy.ReadWrite.ConditionalAccess",
];

/// Third-party AI vendors, matched on publisher or display name (reference §2.5.6 item 6).
/// Data, not logic: extend `ai_apps.json` beside this file.
const AI_APPS: &str = include_str!("ai_apps.json");

pub const ANONYMOUS: &str = "m365:anonymous";
pub const ALL_USERS: &str = "m365:all_users";
pub const EXTERNAL_ACCOUNTS: &str = "m365:external_accounts";
/// Signed-in users of any Microsoft Entra tenant (a bot's access policy "Any (multi-tenant)").
pub const ANY_TENANT_USERS: &str = "m365:any_tenant_users";
pub const COPILOT_USERS: &str = "m365:copilot_users";
pub const COPILOT: &str = "m365:copilot";
pub const ALL_CONTENT: &str = "m365:sharepoint_all";
pub const MAILBOXES: &str = "m365:mailboxes";
pub const TEAMS_MESSAGES: &str = "m365:teams_messages";
pub const INBOUND_EMAIL: &str = "m365:inbound_email";

fn text<'a>(record: &'a Value, field: &str) -> &'a str {
    record.get(field).and_then(Value::as_str).unwrap_or("")
}

fn int(record: &Value, field: &str) -> Option<i64> {
    match record.get(field)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn records<'a>(parts: &'a Parts, short: &str) -> &'a [Value] {
    parts
        .get(&resource_name(short))
        .map(|p| p.records.as_slice())
        .unwrap_or(&[])
}

fn collected(parts: &Parts, short: &str) -> bool {
    parts
        .get(&resource_name(short))
        .is_some_and(|p| p.coverage.status == CoverageStatus::Collected)
}

/// The Dataverse URL of a BAP environment, without the trailing slash; `None` without Dataverse.
pub fn environment_url(env: &Value) -> Option<String> {
    env.pointer("/properties/linkedEnvironmentMetadata/instanceUrl")
        .and_then(Value::as_str)
        .map(|u| u.trim_end_matches('/').to_string())
        .filter(|u| !u.is_empty())
}

pub fn user_id(id: &str) -> String {
    format!("{P}:user:{id}")
}
pub fn sp_id(id: &str) -> String {
    format!("{P}:sp:{id}")
}
fn group_id(id: &str) -> String {
    format!("{P}:group:{id}")
}
fn site_id(url: &str) -> String {
    format!("{P}:site:{}", url.trim_end_matches('/').to_lowercase())
}

/// Service plan ids that carry Copilot in this tenant.
fn copilot_plans(parts: &Parts) -> BTreeSet<String> {
    let mut plans: BTreeSet<String> = COPILOT_PLAN_IDS.iter().map(|s| s.to_string()).collect();
    for sku in records(parts, "subscribed_skus") {
        for plan in sku.get("servicePlans").and_then(Value::as_array).into_iter().flatten() {
            if text(plan, "servicePlanName").to_ascii_uppercase().contains("COPILOT") {
                plans.insert(text(plan, "servicePlanId").to_string());
            }
        }
    }
    plans
}

/// Copilot seats in use: consumed units of SKUs that carry a Copilot plan.
fn copilot_seats(parts: &Parts, plans: &BTreeSet<String>) -> i64 {
    records(parts, "subscribed_skus")
        .iter()
        .filter(|sku| {
            sku.get("servicePlans")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .any(|p| plans.contains(text(p, "servicePlanId")))
        })
        .filter_map(|sku| int(sku, "consumedUnits"))
        .sum()
}

struct AiVendors {
    keywords: Vec<String>,
    app_ids: BTreeSet<String>,
}

fn ai_vendors() -> AiVendors {
    let v: Value = serde_json::from_str(AI_APPS).expect("ai_apps.json is valid JSON");
    let list = |k: &str| -> Vec<String> {
        v.get(k)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_lowercase)
            .collect()
    };
    AiVendors {
        keywords: list("keywords"),
        app_ids: list("app_ids").into_iter().collect(),
    }
}

/// Level of an app role or scope name, by Microsoft's naming convention.
fn level(permission: &str) -> Level {
    if ESCALATION_ROLES.contains(&permission) || permission.contains("FullControl") || permission.contains("Manage") {
        Level::Admin
    } else if permission.contains("Write") || permission.contains("Send") || permission == "full_access_as_app" {
        Level::Write
    } else {
        Level::Read
    }
}

/// Which data store an app role or scope reaches tenant-wide.
fn permission_target(permission: &str) -> &'static str {
    let p = permission.to_ascii_lowercase();
    if p.starts_with("sites.") || p.starts_with("files.") {
        ALL_CONTENT
    } else if p.starts_with("mail") || p == "full_access_as_app" {
        MAILBOXES
    } else if p.starts_with("chat") || p.starts_with("channelmessage") || p.starts_with("onlinemeeting") {
        TEAMS_MESSAGES
    } else {
        "m365:directory"
    }
}

pub fn inventory(parts: &Parts, directory_id: &str, connection_id: &str, collected_at: &str) -> Inventory {
    let mut inv = Inventory {
        provider: P.into(),
        connection_id: connection_id.into(),
        collected_at: collected_at.into(),
        ..Default::default()
    };
    let plans = copilot_plans(parts);
    let seats = copilot_seats(parts, &plans);

    // Users, with their Copilot licence.
    let mut users: HashMap<&str, &Value> = HashMap::new();
    for u in records(parts, "users") {
        users.insert(text(u, "id"), u);
        let licensed = u
            .get("assignedPlans")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .any(|p| plans.contains(text(p, "servicePlanId")) && text(p, "capabilityStatus") == "Enabled");
        let guest = text(u, "userType").eq_ignore_ascii_case("guest");
        inv.principals.push(Principal {
            id: user_id(text(u, "id")),
            kind: if guest {
                PrincipalKind::Guest
            } else {
                PrincipalKind::User
            },
            name: text(u, "userPrincipalName").into(),
            privileged: false,
            roles: vec![],
            attributes: attrs(json!({
                "account_enabled": u.get("accountEnabled").and_then(Value::as_bool).unwrap_or(true),
                "user_type": text(u, "userType"),
                "copilot_licensed": licensed,
            })),
        });
    }
    for (id, kind, name) in [
        (ANONYMOUS, PrincipalKind::Anonymous, "Anyone with the link (no sign-in)"),
        (
            ALL_USERS,
            PrincipalKind::AuthenticatedUsers,
            "Every signed-in user in the tenant",
        ),
        (
            EXTERNAL_ACCOUNTS,
            PrincipalKind::External,
            "Accounts at an external OAuth provider",
        ),
        (
            ANY_TENANT_USERS,
            PrincipalKind::External,
            "Every signed-in user of any Microsoft Entra tenant",
        ),
        (
            COPILOT_USERS,
            PrincipalKind::AuthenticatedUsers,
            "Copilot-licensed users",
        ),
    ] {
        inv.principals.push(Principal {
            id: id.into(),
            kind,
            name: name.into(),
            privileged: false,
            roles: vec![],
            attributes: Default::default(),
        });
    }

    // Tenant-wide data stores: what app-only permissions and Copilot itself reach.
    let sharepoint = records(parts, "sharepoint_settings").first();
    let sharing = sharepoint.map(|s| text(s, "sharingCapability").to_string());
    let external_sharing = sharing.as_deref().map(|c| {
        match c {
            "externalUserAndGuestSharing" => "anyone",
            "externalUserSharingOnly" => "guests",
            "existingExternalUserSharingOnly" => "existing_guests",
            "disabled" => "none",
            _ => "unknown",
        }
        .to_string()
    });
    for (id, kind, name, sharing) in [
        (
            ALL_CONTENT,
            "sharepoint_tenant",
            "All SharePoint and OneDrive content",
            external_sharing.clone(),
        ),
        (MAILBOXES, "mailboxes", "Every mailbox", None),
        (
            TEAMS_MESSAGES,
            "teams_messages",
            "Every Teams chat, channel and meeting",
            None,
        ),
        (
            "m365:directory",
            "directory",
            "The directory (users, apps, roles)",
            None,
        ),
    ] {
        inv.data_stores.push(DataStore {
            id: id.into(),
            kind: kind.into(),
            name: name.into(),
            sensitivity: Some("confidential".into()),
            external_sharing: sharing,
            attributes: Default::default(),
        });
    }

    service_principals(parts, directory_id, &mut inv);
    settings(parts, seats, &mut inv);
    copilot_studio(parts, &users, &external_sharing, &mut inv);
    packages(parts, &external_sharing, &mut inv);
    copilot_itself(parts, seats, &mut inv);
    classify_ai(parts, &mut inv);

    for part in parts.values() {
        inv.coverage.push(part.coverage.clone());
    }
    inv
}

/// A bot's `accesscontrolpolicy` as a label (choice values from Microsoft's bot table).
fn access_policy_label(policy: Option<i64>) -> &'static str {
    match policy {
        Some(0) => "any",
        Some(1) => "readers",
        Some(2) => "groups",
        Some(3) => "any_tenant",
        _ => "unknown",
    }
}

/// A package element's manifest. `definition` is `Edm.Untyped` in Graph's metadata: a JSON
/// object, or the manifest serialised as a string; `None` when it is neither.
fn element_definition(element: &Value) -> Option<Value> {
    match element.get("definition")? {
        Value::String(s) => serde_json::from_str::<Value>(s).ok().filter(Value::is_object),
        object @ Value::Object(_) => Some(object.clone()),
        _ => None,
    }
}

fn attrs(value: Value) -> Attributes {
    match value {
        Value::Object(m) => m.into_iter().collect(),
        _ => Attributes::new(),
    }
}

/// Service principals with their app roles (resolved to names), delegated grants and owners.
fn service_principals(parts: &Parts, directory_id: &str, inv: &mut Inventory) {
    // appRoleId per resource SP -> permission name.
    let mut role_names: HashMap<(String, String), String> = HashMap::new();
    let mut resource_names: HashMap<String, String> = HashMap::new();
    for sp in records(parts, "permission_catalog") {
        resource_names.insert(text(sp, "id").into(), text(sp, "displayName").into());
        for role in sp.get("appRoles").and_then(Value::as_array).into_iter().flatten() {
            role_names.insert(
                (text(sp, "id").into(), text(role, "id").into()),
                text(role, "value").into(),
            );
        }
    }
    let assignments_read = collected(parts, "app_role_assignments");
    let catalog_read = collected(parts, "permission_catalog");
    let mut assignments: HashMap<String, Vec<&Value>> = HashMap::new();
    for r in records(parts, "app_role_assignments") {
        let sp = text(r, "servicePrincipalId").to_string();
        let list = assignments.entry(sp).or_default();
        list.extend(r.get("value").and_then(Value::as_array).into_iter().flatten());
    }
    let owners_read = collected(parts, "service_principal_owners");
    let mut owners: HashMap<&str, &Vec<Value>> = HashMap::new();
    for r in records(parts, "service_principal_owners") {
        if let Some(Value::Array(list)) = r.get("value") {
            owners.insert(text(r, "servicePrincipalId"), list);
        }
    }
    let grants_read = collected(parts, "oauth2_permission_grants");
    let mut delegated: HashMap<&str, Vec<&Value>> = HashMap::new();
    for g in records(parts, "oauth2_permission_grants") {
        delegated.entry(text(g, "clientId")).or_default().push(g);
    }
    let agent_identities: BTreeSet<&str> = records(parts, "agent_identities")
        .iter()
        .map(|a| text(a, "id"))
        .collect();

    let mut all: Vec<&Value> = records(parts, "service_principals").iter().collect();
    // Agent identities may not be in the v1.0 list: add those that are missing.
    let listed: BTreeSet<&str> = all.iter().map(|s| text(s, "id")).collect();
    all.extend(
        records(parts, "agent_identities")
            .iter()
            .filter(|a| !listed.contains(text(a, "id"))),
    );
    for sp in all {
        let id = text(sp, "id");
        let owner_org = text(sp, "appOwnerOrganizationId");
        let microsoft = MICROSOFT_TENANTS.contains(&owner_org);
        let mut roles = BTreeSet::new();
        let mut unresolved = Vec::new();
        let mut app_permissions = Vec::new();
        for a in assignments.get(id).into_iter().flatten() {
            let key = (text(a, "resourceId").to_string(), text(a, "appRoleId").to_string());
            match role_names.get(&key) {
                Some(name) if !name.is_empty() => {
                    roles.insert(name.clone());
                    let resource = resource_names
                        .get(&key.0)
                        .cloned()
                        .unwrap_or_else(|| text(a, "resourceDisplayName").to_string());
                    app_permissions.push(format!("{resource}: {name}"));
                    inv.grants.push(Grant {
                        holder: sp_id(id),
                        target: permission_target(name).into(),
                        permission: format!("{resource}: {name}"),
                        level: level(name),
                        scope: "tenant".into(),
                        consent: Some("application".into()),
                    });
                }
                _ => unresolved.push(key.1.clone()),
            }
        }
        let mut tenant_wide = BTreeSet::new();
        let mut user_scopes = BTreeSet::new();
        let mut consenting_users = BTreeSet::new();
        for g in delegated.get(id).into_iter().flatten() {
            let scopes = text(g, "scope").split_whitespace().map(str::to_string);
            if text(g, "consentType") == "AllPrincipals" {
                for scope in scopes {
                    inv.grants.push(Grant {
                        holder: sp_id(id),
                        target: permission_target(&scope).into(),
                        permission: scope.clone(),
                        level: level(&scope),
                        scope: "tenant".into(),
                        consent: Some("admin_all_principals".into()),
                    });
                    tenant_wide.insert(scope);
                }
            } else {
                consenting_users.insert(text(g, "principalId").to_string());
                user_scopes.extend(scopes);
            }
        }
        // Owners are read only for principals not published by Microsoft.
        let owner_list = owners.get(id);
        let owners_known = owners_read && owner_list.is_some();
        let active_owners = owner_list
            .map(|l| {
                l.iter()
                    .filter(|o| o.get("accountEnabled").and_then(Value::as_bool).unwrap_or(true))
                    .count()
            })
            .unwrap_or(0);
        let verified = sp
            .pointer("/verifiedPublisher/verifiedPublisherId")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty());
        let is_agent_identity =
            agent_identities.contains(id) || text(sp, "servicePrincipalType").eq_ignore_ascii_case("ServiceIdentity");
        let roles: Vec<String> = roles.into_iter().collect();
        inv.principals.push(Principal {
            id: sp_id(id),
            kind: if is_agent_identity {
                PrincipalKind::AiIdentity
            } else {
                PrincipalKind::App
            },
            name: text(sp, "displayName").into(),
            privileged: roles.iter().any(|r| ESCALATION_ROLES.contains(&r.as_str())),
            attributes: attrs(json!({
                "object_id": id,
                "app_id": text(sp, "appId"),
                // v1.0 has no publisherName (beta only): the verified publisher, when there is one.
                "publisher": sp.pointer("/verifiedPublisher/displayName").and_then(Value::as_str).unwrap_or(""),
                "app_display_name": text(sp, "appDisplayName"),
                "homepage": text(sp, "homepage"),
                "verified_publisher": verified,
                "microsoft": microsoft,
                "third_party": !microsoft && !owner_org.is_empty() && owner_org != directory_id,
                "multi_tenant": matches!(text(sp, "signInAudience"), "AzureADMultipleOrgs" | "AzureADandPersonalMicrosoftAccount"),
                "assignment_required": sp.get("appRoleAssignmentRequired").and_then(Value::as_bool).unwrap_or(false),
                "account_enabled": sp.get("accountEnabled").and_then(Value::as_bool).unwrap_or(true),
                "agent_identity": is_agent_identity,
                // Whether each signal could be read for this principal (else rules say unknown).
                "app_roles_known": assignments_read && catalog_read && assignments.contains_key(id),
                "unresolved_app_roles": unresolved,
                "app_permissions": app_permissions,
                "grants_known": grants_read,
                "tenant_wide_scopes": tenant_wide,
                "user_consent_scopes": user_scopes,
                "user_consent_count": consenting_users.len(),
                "owners_known": owners_known,
                "owner_count": owner_list.map(|l| l.len()).unwrap_or(0),
                "active_owner_count": active_owners,
                "ai": false,
                "ai_reasons": [],
            })),
            roles,
        });
    }
}

/// Marks principals that are AI apps or agents (reference §2.5.6): agent identities, package
/// app ids, the vendor list.
fn classify_ai(parts: &Parts, inv: &mut Inventory) {
    let vendors = ai_vendors();
    let package_apps: BTreeSet<&str> = records(parts, "copilot_packages")
        .iter()
        .map(|p| text(p, "appId"))
        .filter(|s| !s.is_empty())
        .collect();
    for p in inv.principals.iter_mut().filter(|p| p.id.starts_with("m365:sp:")) {
        let app_id = p
            .attributes
            .get("app_id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_lowercase();
        let field = |name: &str| p.attributes.get(name).and_then(Value::as_str).unwrap_or("");
        let haystack = format!(
            "{} {} {} {}",
            p.name,
            field("app_display_name"),
            field("publisher"),
            field("homepage")
        )
        .to_lowercase();
        let mut reasons = Vec::new();
        if p.kind == PrincipalKind::AiIdentity {
            reasons.push("Entra agent identity".to_string());
        }
        if package_apps.contains(app_id.as_str()) {
            reasons.push("app of a Copilot agent package".into());
        }
        if vendors.app_ids.contains(&app_id) {
            reasons.push("listed AI app id".into());
        }
        if let Some(k) = vendors.keywords.iter().find(|k| haystack.contains(k.as_str())) {
            reasons.push(format!("name, publisher or homepage matches \"{k}\""));
        }
        p.attributes.insert("ai".into(), json!(!reasons.is_empty()));
        p.attributes.insert("ai_reasons".into(), json!(reasons));
    }
}

fn setting(inv: &mut Inventory, key: &str, value: Value) {
    inv.settings.push(AiSetting {
        key: format!("{P}.{key}"),
        value,
        scope: "tenant".into(),
        source: SettingSource::Explicit,
        evidence: Evidence::Api,
        as_of: None,
    });
}

fn settings(parts: &Parts, seats: i64, inv: &mut Inventory) {
    if collected(parts, "subscribed_skus") {
        setting(inv, "copilot.licensed_seats", json!(seats));
    }
    if let Some(s) = records(parts, "sharepoint_settings").first() {
        for key in [
            "sharingCapability",
            "sharingDomainRestrictionMode",
            "isResharingByExternalUsersEnabled",
            "isRequireAcceptingUserToMatchInvitedUserEnabled",
        ] {
            if let Some(v) = s.get(key) {
                setting(inv, &format!("sharepoint.{key}"), v.clone());
            }
        }
    }
    if collected(parts, "sensitivity_labels") {
        let labels = records(parts, "sensitivity_labels");
        let active: Vec<&Value> = labels
            .iter()
            .filter(|l| l.get("isActive").and_then(Value::as_bool).unwrap_or(true))
            .collect();
        setting(inv, "sensitivity_labels.count", json!(active.len()));
        // `hasProtection` is not confirmed for every label API version: absent means unknown.
        let known = active.iter().any(|l| l.get("hasProtection").is_some());
        let protecting = active
            .iter()
            .filter(|l| l.get("hasProtection").and_then(Value::as_bool) == Some(true))
            .count();
        setting(
            inv,
            "sensitivity_labels.protecting",
            if known || active.is_empty() {
                json!(protecting)
            } else {
                Value::Null
            },
        );
    }
    if let Some(m) = records(parts, "copilot_limited_mode").first() {
        setting(
            inv,
            "copilot.limited_mode",
            m.get("isEnabledForGroup").cloned().unwrap_or(Value::Null),
        );
    }
    for p in records(parts, "copilot_policy_settings") {
        if p.get("@aispm.error").is_none() {
            setting(
                inv,
                &format!("copilot.policy.{}", text(p, "id")),
                p.get("value").cloned().unwrap_or(Value::Null),
            );
        }
    }
    if collected(parts, "copilot_policy_settings") {
        copilot_policy_scope(records(parts, "copilot_policy_settings"), inv);
    }
}

/// How the web-search policy stands, and which settings live only in group-level policies
/// (the API returns tenant-level policies only and answers 422 for the others, reference
/// §2.1.2). Microsoft has not published `allowwebsearch`'s value codes (addendum D1), so a set
/// value is "configured" with its raw text unless it says in words what it is; a code is never
/// guessed to be on or off.
fn copilot_policy_scope(settings: &[Value], inv: &mut Inventory) {
    let status = |p: &Value| p.pointer("/@aispm.error/status").and_then(Value::as_u64);
    let group_scoped: Vec<&str> = settings
        .iter()
        .filter(|p| status(p) == Some(422))
        .map(|p| text(p, "id"))
        .collect();
    setting(inv, "copilot.policy_group_scoped", json!(group_scoped));
    let web = settings
        .iter()
        .find(|p| text(p, "id") == "microsoft.copilot.allowwebsearch");
    let state = match web {
        None => "unreadable",
        Some(p) => match status(p) {
            Some(422) => "group_scoped",
            Some(_) => "unreadable",
            None => match p.get("value") {
                None | Some(Value::Null) => "not_configured",
                // Only words settle it; codes such as "0"/"1"/"2" stay unknown (addendum D1).
                Some(v) => match v.as_str().map(|s| s.trim().to_ascii_lowercase()).as_deref() {
                    Some("false" | "disabled" | "off" | "blocked") => "disabled",
                    Some("true" | "enabled" | "on" | "allowed") => "enabled",
                    _ => "configured",
                },
            },
        },
    };
    setting(inv, "copilot.web_search", json!(state));
    setting(
        inv,
        "copilot.web_search_value",
        web.and_then(|p| p.get("value")).cloned().unwrap_or(Value::Null),
    );
}

/// The Power Platform inventory's agent `properties`, by Dataverse bot id (`botId`, addendum B4).
fn inventory_agents(parts: &Parts) -> HashMap<&str, &Value> {
    records(parts, "powerplatform_inventory")
        .iter()
        .filter(|r| text(r, "type").eq_ignore_ascii_case("microsoft.copilotstudio/agents"))
        .filter_map(|r| r.get("properties"))
        .filter(|p| !text(p, "botId").is_empty())
        .map(|p| (text(p, "botId"), p))
        .collect()
}

/// A component's YAML `data`, parsed (block and flow style both occur, addendum C2).
fn component_yaml(component: &Value) -> Option<Value> {
    serde_yaml_ng::from_str::<Value>(text(component, "data")).ok()
}

/// Capabilities a connector operation implies, from its operation id.
fn operation_capabilities(operation: &str) -> Vec<Capability> {
    let op = operation.to_ascii_lowercase();
    if op.starts_with("send") || op.contains("post") && op.contains("message") || op.contains("forward") {
        vec![Capability::SendExternal]
    } else if [
        "create", "update", "delete", "patch", "post", "add", "set", "move", "copy",
    ]
    .iter()
    .any(|w| op.starts_with(w))
    {
        vec![Capability::Write]
    } else {
        vec![Capability::Read]
    }
}

/// Copilot Studio agents from each environment's Dataverse `bots` and `botcomponents`.
fn copilot_studio(parts: &Parts, users: &HashMap<&str, &Value>, sharing: &Option<String>, inv: &mut Inventory) {
    let components_read = collected(parts, "copilot_studio_components");
    let owners_read = collected(parts, "copilot_studio_owners");
    let activity_read = collected(parts, "copilot_studio_activity");
    let inventory_read = collected(parts, "powerplatform_inventory");
    let inventory = inventory_agents(parts);
    let env_names: HashMap<&str, &str> = records(parts, "environments")
        .iter()
        .map(|e| {
            (
                text(e, "name"),
                e.pointer("/properties/displayName")
                    .and_then(Value::as_str)
                    .unwrap_or(""),
            )
        })
        .collect();
    let mut components: HashMap<&str, Vec<&Value>> = HashMap::new();
    for c in records(parts, "copilot_studio_components") {
        if int(c, "statecode").unwrap_or(0) == 0 {
            components.entry(text(c, "_parentbotid_value")).or_default().push(c);
        }
    }
    let system_users: HashMap<&str, &Value> = records(parts, "copilot_studio_owners")
        .iter()
        .map(|u| (text(u, "systemuserid"), u))
        .collect();
    let last_conversation: HashMap<&str, &str> = records(parts, "copilot_studio_activity")
        .iter()
        .map(|r| {
            (
                text(r, "_bot_conversationtranscriptid_value"),
                text(r, "lastconversation"),
            )
        })
        .collect();

    for bot in records(parts, "copilot_studio_bots") {
        let bot_id = text(bot, "botid");
        let id = format!("{P}:bot:{bot_id}");
        let env = text(bot, "@aispm.environment");
        let listed = inventory.get(bot_id).copied();
        let inventory_auth = listed.map(|p| text(p, "authentication")).unwrap_or("");
        // Mode 0 ("unspecified") is settled by the inventory when it says "None".
        let auth_mode = match int(bot, "authenticationmode") {
            Some(0) | None if inventory_auth.eq_ignore_ascii_case("none") => Some(1),
            mode => mode,
        };
        let policy = int(bot, "accesscontrolpolicy");
        let (authentication, audience, audience_unknown) = match auth_mode {
            Some(1) => ("none", vec![ANONYMOUS.to_string()], false),
            Some(2) | Some(3) => {
                let label = if auth_mode == Some(2) { "entra" } else { "custom_entra" };
                match policy {
                    Some(0) => (label, vec![ALL_USERS.to_string()], false),
                    Some(1) => (label, vec![], false),
                    // "Any (multi-tenant)": users of other tenants too (published bot table).
                    Some(3) => (label, vec![ALL_USERS.to_string(), ANY_TENANT_USERS.to_string()], false),
                    Some(2) => (
                        label,
                        text(bot, "authorizedsecuritygroupids")
                            .split(',')
                            .map(str::trim)
                            .filter(|g| !g.is_empty())
                            .map(group_id)
                            .collect(),
                        false,
                    ),
                    _ => (label, vec![], true),
                }
            }
            Some(4) => ("generic_oauth", vec![EXTERNAL_ACCOUNTS.to_string()], false),
            // 0 (legacy "unspecified") and anything newer: who can chat is not knowable here.
            _ => ("unspecified", vec![], true),
        };
        for a in &audience {
            if a.starts_with("m365:group:") && !inv.principals.iter().any(|p| &p.id == a) {
                inv.principals.push(Principal {
                    id: a.clone(),
                    kind: PrincipalKind::Group,
                    name: a.trim_start_matches("m365:group:").into(),
                    privileged: false,
                    roles: vec![],
                    attributes: Default::default(),
                });
            }
        }
        // The maker: a Dataverse user, resolved to the Entra user when Dataverse says who.
        let owner_dv = text(bot, "_ownerid_value");
        let owner = system_users.get(owner_dv);
        let owner_entra = owner
            .map(|o| text(o, "azureactivedirectoryobjectid"))
            .filter(|s| !s.is_empty());
        let owner_state = match (owners_read, owner) {
            (false, _) => "unknown",
            (true, None) => "missing",
            (true, Some(o)) => {
                let disabled_dv = o.get("isdisabled").and_then(Value::as_bool).unwrap_or(false);
                let disabled_entra = owner_entra
                    .and_then(|e| users.get(e))
                    .is_some_and(|u| u.get("accountEnabled").and_then(Value::as_bool) == Some(false));
                let gone = owner_entra.is_some_and(|e| !users.is_empty() && !users.contains_key(e));
                if disabled_dv || disabled_entra || gone {
                    "disabled"
                } else {
                    "active"
                }
            }
        };
        let owner_id = owner_entra.map(user_id);

        let mut knowledge = Vec::new();
        let mut bindings = Vec::new();
        let mut knowledge_kinds = BTreeSet::new();
        let mut maker_actions = Vec::new();
        let mut unknown_credential_actions = Vec::new();
        for c in components.get(bot_id).into_iter().flatten() {
            let Some(yaml) = component_yaml(c) else { continue };
            let kind = yaml.get("kind").and_then(Value::as_str).unwrap_or("");
            match kind {
                "KnowledgeSourceConfiguration" => {
                    let source = yaml.get("source").cloned().unwrap_or(Value::Null);
                    let source_kind = text(&source, "kind").to_string();
                    knowledge_kinds.insert(source_kind.clone());
                    match source_kind.as_str() {
                        "SharePointSearchSource" => {
                            let site = text(&source, "site");
                            knowledge.push(site_store(inv, site, sharing));
                        }
                        "PublicSiteSearchSource" => {
                            let site = text(&source, "site");
                            let url = if site.is_empty() { text(&source, "url") } else { site };
                            let store = format!("{P}:web:{}", url.to_lowercase());
                            push_store(inv, &store, "public_website", url, Some("public"), None);
                            knowledge.push(store.clone());
                            inv.untrusted_inputs.push(UntrustedInput {
                                id: format!("{P}:web_knowledge:{}", text(c, "botcomponentid")),
                                kind: "web_content".into(),
                                name: format!("Public website {url}"),
                                reaches: vec![id.clone()],
                                unauthenticated: true,
                                attributes: Default::default(),
                            });
                        }
                        "DataverseStructuredSearchSource" | "FederatedStructuredSearchSource" => {
                            let store = format!("{P}:dataverse:{env}");
                            push_store(
                                inv,
                                &store,
                                "dataverse",
                                &format!("Dataverse {env}"),
                                Some("confidential"),
                                None,
                            );
                            knowledge.push(store);
                        }
                        _ => {}
                    }
                }
                "TaskDialog" => {
                    let action = yaml.get("action").cloned().unwrap_or(Value::Null);
                    if text(&action, "kind") != "InvokeConnectorTaskAction" {
                        continue;
                    }
                    let operation = text(&action, "operationId").to_string();
                    // Maker = the author's connection for every user; Invoker = the user's own.
                    let mode = action
                        .pointer("/connectionProperties/mode")
                        .and_then(Value::as_str)
                        .unwrap_or("");
                    let credentials = match mode.to_ascii_lowercase().as_str() {
                        "maker" => "maker",
                        "invoker" => "invoker",
                        _ => "unknown",
                    };
                    let name = text(c, "name").to_string();
                    match credentials {
                        "maker" => maker_actions.push(name.clone()),
                        "unknown" => unknown_credential_actions.push(name.clone()),
                        _ => {}
                    }
                    let reference = text(&action, "connectionReference");
                    let connector = reference
                        .split('.')
                        .find(|s| s.starts_with("shared_"))
                        .unwrap_or(reference)
                        .to_string();
                    let capabilities = operation_capabilities(&operation);
                    let tool_id = format!("{P}:bot_action:{}", text(c, "botcomponentid"));
                    let targets = if connector.contains("office365") || connector.contains("outlook") {
                        vec![MAILBOXES.to_string()]
                    } else if connector.contains("sharepoint") || connector.contains("onedrive") {
                        vec![ALL_CONTENT.to_string()]
                    } else {
                        vec![]
                    };
                    inv.tools.push(Tool {
                        id: tool_id.clone(),
                        kind: "connector_action".into(),
                        name,
                        capabilities,
                        capabilities_unknown: None,
                        targets,
                        active: true,
                        attributes: attrs(json!({
                            "connector": connector,
                            "operation": operation,
                            "credentials": credentials,
                        })),
                    });
                    bindings.push(ToolBinding {
                        tool_id,
                        // Generative orchestration calls tools without a per-call approval.
                        autonomy: Autonomy::Autonomous,
                        active: true,
                        attributes: Default::default(),
                    });
                }
                _ => {}
            }
        }
        let published = bot
            .get("publishedon")
            .is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty()));
        let active = int(bot, "statecode") == Some(0) && int(bot, "statuscode").unwrap_or(1) == 1;
        let runs_as_maker = authentication == "none" || !maker_actions.is_empty();
        let last = last_conversation.get(bot_id).copied().filter(|s| !s.is_empty());
        inv.agents.push(Agent {
            id: id.clone(),
            kind: "copilot_studio_agent".into(),
            name: text(bot, "name").into(),
            owner: owner_id.clone(),
            identity: if runs_as_maker {
                RunIdentity::Fixed
            } else {
                RunIdentity::Invoker
            },
            run_as: if runs_as_maker { owner_id.clone() } else { None },
            role_mask: None,
            audience,
            audience_unknown,
            // Channels are in the Power Platform inventory only, which needs a delegated admin.
            channels: listed
                .and_then(|p| p.get("channels"))
                .and_then(Value::as_array)
                .map(|c| c.iter().filter_map(Value::as_str).map(str::to_string).collect())
                .unwrap_or_default(),
            autonomy: Autonomy::Autonomous,
            tools: bindings,
            knowledge,
            teams: vec![],
            active,
            last_used: last.map(str::to_string),
            attributes: attrs(json!({
                "environment": env,
                "environment_name": env_names.get(env).copied().unwrap_or(""),
                "schema_name": text(bot, "schemaname"),
                "authentication": authentication,
                "access_policy": access_policy_label(policy),
                "published": published,
                "published_on": text(bot, "publishedon"),
                "created_on": text(bot, "createdon"),
                "owner_state": owner_state,
                "components_known": components_read,
                "knowledge_kinds": knowledge_kinds,
                "maker_credential_actions": maker_actions,
                "unknown_credential_actions": unknown_credential_actions,
                "activity_known": activity_read,
                "last_conversation": last,
                // Whether the channels are known: the inventory was read and lists this agent
                // (classic bots are not in it).
                "channels_known": inventory_read && listed.is_some(),
                "inventory_known": inventory_read,
                "inventory_authentication": inventory_auth,
            })),
        });
    }
}

fn push_store(
    inv: &mut Inventory,
    id: &str,
    kind: &str,
    name: &str,
    sensitivity: Option<&str>,
    sharing: Option<String>,
) {
    if inv.data_stores.iter().any(|d| d.id == id) {
        return;
    }
    inv.data_stores.push(DataStore {
        id: id.into(),
        kind: kind.into(),
        name: name.into(),
        sensitivity: sensitivity.map(str::to_string),
        external_sharing: sharing,
        attributes: Default::default(),
    });
}

/// A SharePoint site as a data store. Site-level sharing is not readable with read-only Graph
/// permissions, so the tenant's sharing level is its upper bound.
fn site_store(inv: &mut Inventory, url: &str, sharing: &Option<String>) -> String {
    let id = site_id(url);
    push_store(inv, &id, "sharepoint_site", url, Some("internal"), sharing.clone());
    id
}

/// Agents from the Copilot package catalogue (declarative and custom engine agents).
fn packages(parts: &Parts, sharing: &Option<String>, inv: &mut Inventory) {
    for p in records(parts, "copilot_packages") {
        let pkg = text(p, "id");
        let id = format!("{P}:package:{pkg}");
        let available = text(p, "availableTo").to_ascii_lowercase();
        let audience: Vec<String> = match available.as_str() {
            "all" => vec![ALL_USERS.into()],
            "some" => p
                .get("allowedUsersAndGroups")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|e| match text(e, "resourceType").to_ascii_lowercase().as_str() {
                    "group" => group_id(text(e, "resourceId")),
                    _ => user_id(text(e, "resourceId")),
                })
                .collect(),
            _ => vec![],
        };
        let detail_read = p.get("elementDetails").is_some();
        let mut capabilities = BTreeSet::new();
        let mut knowledge = Vec::new();
        let mut bindings = Vec::new();
        let mut unreadable = Vec::new();
        for element_group in p.get("elementDetails").and_then(Value::as_array).into_iter().flatten() {
            let element_type = text(element_group, "elementType").to_ascii_lowercase();
            for element in element_group
                .get("elements")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(manifest) = element_definition(element) else {
                    unreadable.push(text(element, "id").to_string());
                    continue;
                };
                if element_type.contains("plugin") {
                    bindings.extend(plugin_tools(inv, pkg, text(element, "id"), &manifest));
                    continue;
                }
                for cap in manifest
                    .get("capabilities")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let name = text(cap, "name").to_string();
                    match name.as_str() {
                        "OneDriveAndSharePoint" => {
                            let urls: Vec<&str> = cap
                                .get("items_by_url")
                                .and_then(Value::as_array)
                                .into_iter()
                                .flatten()
                                .map(|i| text(i, "url"))
                                .filter(|u| !u.is_empty())
                                .collect();
                            // No URLs: everything the user can reach.
                            if urls.is_empty() {
                                knowledge.push(ALL_CONTENT.to_string());
                            }
                            for url in urls {
                                knowledge.push(site_store(inv, url, sharing));
                            }
                        }
                        "Email" => knowledge.push(MAILBOXES.into()),
                        "TeamsMessages" | "Meetings" => knowledge.push(TEAMS_MESSAGES.into()),
                        "WebSearch" => inv.untrusted_inputs.push(UntrustedInput {
                            id: format!("{P}:web_search:{pkg}"),
                            kind: "web_content".into(),
                            name: format!("Web search results in {}", text(p, "displayName")),
                            reaches: vec![id.clone()],
                            unauthenticated: true,
                            attributes: Default::default(),
                        }),
                        _ => {}
                    }
                    capabilities.insert(name);
                }
            }
        }
        let web = capabilities.contains("WebSearch");
        let internal = [
            "OneDriveAndSharePoint",
            "Email",
            "TeamsMessages",
            "Meetings",
            "GraphConnectors",
            "Dataverse",
        ]
        .iter()
        .any(|c| capabilities.contains(*c));
        // What a capability not found means: absent, or not knowable (no detail, or a manifest
        // that could not be read). A found capability is known either way.
        let detail_reason = if !detail_read {
            Some("the package detail was not read".to_string())
        } else if !unreadable.is_empty() {
            Some(format!(
                "package element manifests could not be read: {}",
                unreadable.join(", ")
            ))
        } else {
            None
        };
        let known_or_unknown = |found: bool| {
            if found || detail_reason.is_none() {
                json!(found)
            } else {
                Value::Null
            }
        };
        let blocked = p.get("isBlocked").and_then(Value::as_bool).unwrap_or(false);
        inv.agents.push(Agent {
            id,
            kind: "copilot_package_agent".into(),
            name: text(p, "displayName").into(),
            owner: None,
            identity: RunIdentity::Invoker,
            run_as: None,
            role_mask: None,
            audience,
            audience_unknown: !matches!(available.as_str(), "all" | "some" | "none"),
            channels: p
                .get("supportedHosts")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_lowercase)
                .collect(),
            autonomy: Autonomy::Supervised,
            tools: bindings,
            knowledge,
            teams: vec![],
            active: !blocked && available != "none",
            last_used: None,
            attributes: attrs(json!({
                "package_type": text(p, "type").to_ascii_lowercase(),
                "available_to": available,
                "deployed_to": text(p, "deployedTo").to_ascii_lowercase(),
                "blocked": blocked,
                "publisher": text(p, "publisher"),
                "platform": text(p, "platform"),
                "app_id": text(p, "appId"),
                "detail_known": detail_read,
                "capabilities": capabilities,
                "web_search": known_or_unknown(web),
                "internal_knowledge": known_or_unknown(internal),
                "detail_reason": detail_reason,
                "unreadable_manifests": unreadable,
            })),
        });
    }
}

/// Tools of an API plugin or MCP manifest inside a package (v2.x plugin manifest fields).
fn plugin_tools(inv: &mut Inventory, pkg: &str, element: &str, manifest: &Value) -> Vec<ToolBinding> {
    let handling: BTreeSet<String> = manifest
        .get("functions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .flat_map(|f| {
            f.pointer("/capabilities/security_info/data_handling")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    let mut out = Vec::new();
    for (i, runtime) in manifest
        .get("runtimes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let runtime_type = text(runtime, "type");
        let auth = runtime.pointer("/auth/type").and_then(Value::as_str).unwrap_or("");
        // The endpoint is outside the tenant: whatever the agent sends it leaves.
        let mut capabilities = vec![Capability::SendExternal];
        if handling.contains("GetPrivateData") {
            capabilities.push(Capability::Read);
        }
        if handling.contains("ResourceStateUpdate") {
            capabilities.push(Capability::Write);
        }
        let id = format!("{P}:plugin:{pkg}:{element}:{i}");
        inv.tools.push(Tool {
            id: id.clone(),
            kind: if runtime_type.eq_ignore_ascii_case("RemoteMCPServer") {
                "mcp_server".into()
            } else {
                "api_plugin".into()
            },
            name: format!("{} ({runtime_type})", text(manifest, "name_for_human")),
            capabilities,
            capabilities_unknown: None,
            targets: vec![],
            active: true,
            attributes: attrs(json!({
                "runtime": runtime_type,
                "auth_type": if auth.is_empty() { Value::Null } else { json!(auth.to_ascii_lowercase()) },
                "url": runtime.pointer("/spec/url").and_then(Value::as_str).unwrap_or(""),
                "data_handling": handling,
            })),
        });
        out.push(ToolBinding {
            tool_id: id,
            autonomy: Autonomy::Supervised,
            active: true,
            attributes: Default::default(),
        });
    }
    out
}

/// Microsoft 365 Copilot itself, when the tenant has seats: it grounds on everything each user
/// can reach and reads inbound mail from anyone (the EchoLeak setting is the default).
fn copilot_itself(parts: &Parts, seats: i64, inv: &mut Inventory) {
    if seats <= 0 {
        return;
    }
    let mut tools = Vec::new();
    // Rendered links and images are an outbound channel (EchoLeak step 3-4). Sensitivity labels
    // with protection are what keeps labelled content out of answers; without them, or when
    // labels could not be read, nothing in the tenant narrows this channel.
    let labels_read = collected(parts, "sensitivity_labels");
    let protecting = inv
        .settings
        .iter()
        .find(|s| s.key == "m365.sensitivity_labels.protecting")
        .and_then(|s| s.value.as_i64());
    if labels_read && protecting == Some(0) {
        let tool_id = format!("{P}:copilot:rendered_links");
        inv.tools.push(Tool {
            id: tool_id.clone(),
            kind: "response_rendering".into(),
            name: "Links and images rendered in Copilot answers".into(),
            capabilities: vec![Capability::SendExternal],
            capabilities_unknown: None,
            targets: vec![],
            active: true,
            attributes: attrs(json!({"unmitigated_because": "no sensitivity label applies protection"})),
        });
        tools.push(ToolBinding {
            tool_id,
            autonomy: Autonomy::Autonomous,
            active: true,
            attributes: Default::default(),
        });
    }
    inv.agents.push(Agent {
        id: COPILOT.into(),
        kind: "m365_copilot".into(),
        name: "Microsoft 365 Copilot".into(),
        owner: None,
        identity: RunIdentity::Invoker,
        run_as: None,
        role_mask: None,
        audience: vec![COPILOT_USERS.into()],
        audience_unknown: false,
        channels: vec!["copilot".into(), "teams".into(), "outlook".into()],
        autonomy: Autonomy::Autonomous,
        tools,
        knowledge: vec![ALL_CONTENT.into(), MAILBOXES.into(), TEAMS_MESSAGES.into()],
        teams: vec![],
        active: true,
        last_used: None,
        attributes: attrs(json!({"licensed_seats": seats})),
    });
    // Mail from outside the organisation lands in the mailboxes Copilot grounds on, and in any
    // agent with the Email capability.
    let mut reaches = vec![COPILOT.to_string()];
    reaches.extend(
        inv.agents
            .iter()
            .filter(|a| a.kind == "copilot_package_agent" && a.knowledge.iter().any(|k| k == MAILBOXES))
            .map(|a| a.id.clone()),
    );
    inv.untrusted_inputs.push(UntrustedInput {
        id: INBOUND_EMAIL.into(),
        kind: "inbound_email".into(),
        name: "Email from external senders".into(),
        reaches,
        unauthenticated: true,
        attributes: Default::default(),
    });
}

#[cfg(test)]
mod tests {
    //! On the reference's own samples (shared/saas-apis/m365-copilot.md §2, addendum C2).
    use super::*;
    use crate::ResourcePart;

    fn part(short: &str, records: Value) -> (String, ResourcePart) {
        let name = resource_name(short);
        let part = ResourcePart::collected(&name, records.as_array().unwrap().clone(), 1);
        (name, part)
    }

    fn sample() -> Parts {
        let sp = json!({
            "id": "8e881353-1735-45af-af21-ee1344582a4d", "appId": "3b0d6a52-1c44-4c8e-a2f1-7e9a44b1d0c2",
            "displayName": "Acme AI Meeting Assistant", "servicePrincipalType": "Application",
            "appOwnerOrganizationId": "2a6f9d1e-77c3-4b0a-9f55-1c2e3d4b5a60", "homepage": "https://acme-ai.example/",
            "verifiedPublisher": {"displayName": null, "verifiedPublisherId": null, "addedDateTime": null},
            "accountEnabled": true, "tags": ["WindowsAzureActiveDirectoryIntegratedApp"],
            "appRoleAssignmentRequired": false, "signInAudience": "AzureADMultipleOrgs"
        });
        let graph = json!({"id": "fea94d6d-b5bf-44d2-a887-4f72a8d74f44", "appId": "00000003-0000-0000-c000-000000000000",
            "displayName": "Microsoft Graph", "appRoles": [
                {"id": "332a536c-c7ef-4017-ab91-336970924f0d", "value": "Sites.Read.All"},
                {"id": "e2a3a72e-5f79-4c64-b1b1-878b674786c9", "value": "Mail.ReadWrite"}]});
        Parts::from([
            part("service_principals", json!([sp])),
            part(
                "app_role_assignments",
                json!([{
                "servicePrincipalId": "8e881353-1735-45af-af21-ee1344582a4d",
                "value": [
                    {"id": "a1", "appRoleId": "332a536c-c7ef-4017-ab91-336970924f0d", "principalId": "8e881353-1735-45af-af21-ee1344582a4d",
                     "resourceDisplayName": "Microsoft Graph", "resourceId": "fea94d6d-b5bf-44d2-a887-4f72a8d74f44"},
                    {"id": "a2", "appRoleId": "e2a3a72e-5f79-4c64-b1b1-878b674786c9", "principalId": "8e881353-1735-45af-af21-ee1344582a4d",
                     "resourceDisplayName": "Microsoft Graph", "resourceId": "fea94d6d-b5bf-44d2-a887-4f72a8d74f44"},
                    {"id": "a3", "appRoleId": "00000000-0000-0000-0000-00000000abcd", "principalId": "8e881353-1735-45af-af21-ee1344582a4d",
                     "resourceDisplayName": "Custom API", "resourceId": "11111111-2222-3333-4444-555555555555"}
                ]}]),
            ),
            part("permission_catalog", json!([graph])),
            part(
                "oauth2_permission_grants",
                json!([
                {"id": "g1", "clientId": "8e881353-1735-45af-af21-ee1344582a4d", "consentType": "AllPrincipals", "principalId": null,
                 "resourceId": "fea94d6d-b5bf-44d2-a887-4f72a8d74f44", "scope": "openid profile offline_access User.Read Files.Read.All Sites.Read.All Mail.Read Chat.Read"},
                {"id": "g2", "clientId": "8e881353-1735-45af-af21-ee1344582a4d", "consentType": "Principal", "principalId": "4db02e4b-d144-400e-b194-53253a34c5be",
                 "resourceId": "fea94d6d-b5bf-44d2-a887-4f72a8d74f44", "scope": "User.Read Calendars.Read"}]),
            ),
            part(
                "environments",
                json!([{"name": "8d2c6a11-40f2-4b8e-9d36-0b2a6e7c9f10", "properties": {
                "displayName": "Contoso", "linkedEnvironmentMetadata": {"instanceUrl": "https://org0fadb1dd.crm.dynamics.com/"}}}]),
            ),
            part(
                "copilot_studio_bots",
                json!([{
                "botid": "b4dc0143-cbda-f011-8543-000d3a5ae560", "name": "HR Helper", "schemaname": "cr5e3_hrHelper",
                "authenticationmode": 1, "authenticationtrigger": 0, "accesscontrolpolicy": 0, "authorizedsecuritygroupids": null,
                "publishedon": "2026-02-20T16:02:11Z", "statecode": 0, "statuscode": 1,
                "_ownerid_value": "a1e0c3d2-7b64-4f2a-8c11-2d9e6b5a4f30", "runtimeprovider": 0,
                "@aispm.environment": "8d2c6a11-40f2-4b8e-9d36-0b2a6e7c9f10"}]),
            ),
            part(
                "copilot_studio_components",
                json!([
                {"botcomponentid": "215b8870-36f5-426e-b341-8abd0a287b5f", "name": "HR policies site", "componenttype": 16,
                 "data": "kind: KnowledgeSourceConfiguration\nsource:\n  kind: SharePointSearchSource\n  site: https://contoso.sharepoint.com/sites/HR\n",
                 "statecode": 0, "_parentbotid_value": "b4dc0143-cbda-f011-8543-000d3a5ae560"},
                {"botcomponentid": "7c0b7a10-1f2e-4d61-a9a4-0e7d3c2b1a55", "name": "Send email", "componenttype": 9,
                 "data": "kind: TaskDialog\nmodelDisplayName: Send email\naction:\n  kind: InvokeConnectorTaskAction\n  connectionReference: cr5e3_hrHelper.shared_office365.abc\n  operationId: SendEmailV2\n  connectionProperties: { mode: Maker }\n",
                 "statecode": 0, "_parentbotid_value": "b4dc0143-cbda-f011-8543-000d3a5ae560"}]),
            ),
        ])
    }

    #[test]
    fn app_roles_resolve_through_the_tenants_own_catalogue() {
        let inv = inventory(&sample(), "tenant-guid", "c", "2026-11-25T00:00:00Z");
        let sp = inv
            .principals
            .iter()
            .find(|p| p.name == "Acme AI Meeting Assistant")
            .unwrap();
        assert_eq!(sp.roles, vec!["Mail.ReadWrite", "Sites.Read.All"]);
        assert_eq!(
            sp.attributes["unresolved_app_roles"],
            json!(["00000000-0000-0000-0000-00000000abcd"])
        );
        assert_eq!(sp.attributes["ai"], json!(true), "\"ai meeting\" is on the vendor list");
        assert_eq!(sp.attributes["third_party"], json!(true));
        assert_eq!(sp.attributes["user_consent_count"], json!(1));
        let tenant_wide = sp.attributes["tenant_wide_scopes"].as_array().unwrap();
        assert!(tenant_wide.contains(&json!("Files.Read.All")) && tenant_wide.contains(&json!("offline_access")));
        // Application roles and tenant-wide scopes become grants on the stores they reach.
        assert!(inv
            .grants
            .iter()
            .any(|g| g.target == ALL_CONTENT && g.consent.as_deref() == Some("application")));
        assert!(inv
            .grants
            .iter()
            .any(|g| g.target == MAILBOXES && g.level == Level::Write));
        // Owners were not read: unknown, not "no owners".
        assert_eq!(sp.attributes["owners_known"], json!(false));
    }

    #[test]
    fn copilot_studio_bot_with_no_auth_and_maker_action() {
        let inv = inventory(&sample(), "tenant-guid", "c", "2026-11-25T00:00:00Z");
        let bot = inv.agents.iter().find(|a| a.name == "HR Helper").unwrap();
        assert_eq!(bot.audience, vec![ANONYMOUS]);
        assert_eq!(bot.identity, RunIdentity::Fixed);
        assert_eq!(bot.attributes["environment_name"], json!("Contoso"));
        assert_eq!(bot.attributes["maker_credential_actions"], json!(["Send email"]));
        assert_eq!(bot.attributes["owner_state"], json!("unknown"), "owners part absent");
        assert_eq!(bot.knowledge, vec!["m365:site:https://contoso.sharepoint.com/sites/hr"]);
        let action = inv.tools.iter().find(|t| t.kind == "connector_action").unwrap();
        assert_eq!(action.capabilities, vec![Capability::SendExternal]);
        assert_eq!(action.attributes["connector"], json!("shared_office365"));
        assert_eq!(action.attributes["credentials"], json!("maker"));
    }

    #[test]
    fn legacy_and_unknown_values_degrade_to_unknown() {
        let mut parts = sample();
        let bots = parts.get_mut(&resource_name("copilot_studio_bots")).unwrap();
        bots.records[0]["authenticationmode"] = json!(0);
        let comps = parts.get_mut(&resource_name("copilot_studio_components")).unwrap();
        comps.records[1]["data"] =
            json!("kind: TaskDialog\naction:\n  kind: InvokeConnectorTaskAction\n  operationId: GetItems\n");
        parts.extend([part(
            "sensitivity_labels",
            json!([{"id": "l1", "name": "General", "isActive": true}]),
        )]);
        let inv = inventory(&parts, "tenant-guid", "c", "2026-11-25T00:00:00Z");
        let bot = inv.agents.iter().find(|a| a.name == "HR Helper").unwrap();
        assert!(bot.audience_unknown, "mode 0 is not knowable");
        assert_eq!(bot.attributes["unknown_credential_actions"], json!(["Send email"]));
        let protecting = inv
            .settings
            .iter()
            .find(|s| s.key == "m365.sensitivity_labels.protecting")
            .unwrap();
        assert_eq!(protecting.value, Value::Null, "labels without hasProtection: unknown");
    }

    #[test]
    fn environments_without_dataverse_have_no_url() {
        assert_eq!(
            environment_url(
                &json!({"properties": {"linkedEnvironmentMetadata": {"instanceUrl": "https://org0fadb1dd.crm.dynamics.com/"}}})
            ),
            Some("https://org0fadb1dd.crm.dynamics.com".into())
        );
        assert_eq!(
            environment_url(&json!({"properties": {"linkedEnvironmentMetadata": null}})),
            None
        );
    }

    #[test]
    fn copilot_is_modelled_only_where_seats_exist() {
        let inv = inventory(&sample(), "tenant-guid", "c", "2026-11-25T00:00:00Z");
        assert!(!inv.agents.iter().any(|a| a.kind == "m365_copilot"));
    }

    #[test]
    fn every_published_bot_access_policy_has_a_label() {
        // Choice values from Microsoft's bot table reference (kept in published/).
        let published = sandbox::m365::published::dataverse_choices("bot", "accesscontrolpolicy");
        assert!(published
            .iter()
            .any(|(v, label)| v == "3" && label == "Any (multi-tenant)"));
        for (value, label) in published {
            let mapped = access_policy_label(value.parse().ok());
            assert_ne!(mapped, "unknown", "accesscontrolpolicy {value} ({label}) is unmapped");
        }
        assert_eq!(access_policy_label(Some(7)), "unknown");
    }

    #[test]
    fn a_package_manifest_is_read_as_an_object_or_a_string() {
        let manifest = json!({"name": "Research Helper", "capabilities": [{"name": "WebSearch"}]});
        assert_eq!(
            element_definition(&json!({"definition": manifest})),
            Some(manifest.clone())
        );
        assert_eq!(
            element_definition(&json!({"definition": manifest.to_string()})),
            Some(manifest)
        );
        for unreadable in [json!({"definition": "not json"}), json!({"definition": 3}), json!({})] {
            assert_eq!(element_definition(&unreadable), None, "{unreadable}");
        }
    }

    #[test]
    fn an_unreadable_manifest_leaves_capabilities_unknown_not_absent() {
        let mut parts = sample();
        let packages = json!([{
            "id": "P_1", "displayName": "Opaque agent", "type": "custom", "availableTo": "all",
            "isBlocked": false, "elementDetails": [{"elementType": "declarativeAgent",
                "elements": [{"id": "da-1", "definition": "{truncated"}]}]
        }]);
        let (name, part) = part("copilot_packages", packages);
        parts.insert(name, part);
        let inv = inventory(&parts, "tenant-guid", "c", "2026-11-25T00:00:00Z");
        let agent = inv.agents.iter().find(|a| a.name == "Opaque agent").unwrap();
        assert_eq!(agent.attributes["internal_knowledge"], Value::Null);
        assert_eq!(agent.attributes["web_search"], Value::Null);
        assert_eq!(agent.attributes["unreadable_manifests"], json!(["da-1"]));
    }

    fn setting_of(inv: &Inventory, key: &str) -> Value {
        inv.settings
            .iter()
            .find(|s| s.key == format!("m365.{key}"))
            .map(|s| s.value.clone())
            .unwrap_or(Value::Null)
    }

    #[test]
    fn the_web_search_policy_is_read_only_as_far_as_microsoft_documents_it() {
        let state = |web: Value| {
            let mut parts = Parts::new();
            let (name, p) = part(
                "copilot_policy_settings",
                json!([web, {"id": "microsoft.copilot.imagegeneration", "@aispm.error": {"status": 422, "message": "group"}}]),
            );
            parts.insert(name, p);
            let inv = inventory(&parts, "dir", "c1", "2026-12-02T00:00:00Z");
            (
                setting_of(&inv, "copilot.web_search"),
                setting_of(&inv, "copilot.policy_group_scoped"),
            )
        };
        // The reference's sample for an unconfigured setting (§2.1.2): on by default.
        let (web, groups) = state(json!({"id": "microsoft.copilot.allowwebsearch", "policyId": null, "value": null}));
        assert_eq!(web, json!("not_configured"));
        assert_eq!(groups, json!(["microsoft.copilot.imagegeneration"]));
        // A code whose meaning is unpublished stays "configured", never on or off.
        let (web, _) = state(json!({"id": "microsoft.copilot.allowwebsearch", "policyId": "p", "value": "1"}));
        assert_eq!(web, json!("configured"));
        let (web, _) = state(json!({"id": "microsoft.copilot.allowwebsearch", "policyId": "p", "value": "Disabled"}));
        assert_eq!(web, json!("disabled"));
        let (web, _) =
            state(json!({"id": "microsoft.copilot.allowwebsearch", "@aispm.error": {"status": 422, "message": "g"}}));
        assert_eq!(web, json!("group_scoped"));
    }

    #[test]
    fn the_inventory_gives_studio_agents_their_channels_and_settles_unspecified_authentication() {
        let bot = json!({"botid": "b-1", "name": "Help", "authenticationmode": 0, "accesscontrolpolicy": 0,
            "statecode": 0, "statuscode": 1, "publishedon": "2026-02-20T16:02:11Z", "@aispm.environment": "env"});
        let mut parts = Parts::new();
        for (short, records) in [
            ("copilot_studio_bots", json!([bot])),
            (
                "powerplatform_inventory",
                json!([{"type": "microsoft.copilotstudio/agents", "properties":
                {"botId": "b-1", "authentication": "None", "channels": ["Direct Line", "Teams"]}}]),
            ),
        ] {
            let (name, p) = part(short, records);
            parts.insert(name, p);
        }
        let inv = inventory(&parts, "dir", "c1", "2026-12-02T00:00:00Z");
        let agent = inv.agents.iter().find(|a| a.name == "Help").unwrap();
        assert_eq!(agent.channels, ["Direct Line", "Teams"]);
        assert_eq!(agent.attributes["authentication"], json!("none"));
        assert_eq!(agent.attributes["channels_known"], json!(true));
    }
}
