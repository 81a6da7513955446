//! Simulated Microsoft 365 tenants. `risky` makes every built-in Microsoft 365 rule fire, the
//! EchoLeak-style path included; `clean` is the same tenant configured well: no rule fires.
//! Shapes follow the reference's samples (field names, GUID formats, YAML in `data`).

use super::Tenant;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const MICROSOFT_TENANT: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";
pub const DIRECTORY_ID: &str = "8a1b2c3d-0000-4000-8000-00000000d1d1";
const GRAPH_SP: &str = "fea94d6d-b5bf-44d2-a887-4f72a8d74f44";
const SHAREPOINT_SP: &str = "5c3a9f10-2b44-4d8e-9a77-0d1e2f3a4b5c";
const COPILOT_SKU: &str = "639dec6b-bb19-468b-871c-c5c441c4b0cb";
const COPILOT_CHAT_PLAN: &str = "3f30311c-6b1e-48a4-ab79-725b469da960";

/// Microsoft Graph application roles, as the tenant's Graph service principal lists them
/// (GUIDs from reference §1.5).
const GRAPH_ROLES: &[(&str, &str)] = &[
    ("9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30", "Application.Read.All"),
    ("7ab1d382-f21e-4acd-a863-ba3e13f7da61", "Directory.Read.All"),
    ("df021288-bdef-4463-88db-98f22de89214", "User.Read.All"),
    ("883ea226-0bf2-4a8f-9f9d-92c9162a727d", "Sites.Selected"),
    ("332a536c-c7ef-4017-ab91-336970924f0d", "Sites.Read.All"),
    ("01d4889c-1287-42c6-ac1f-5d1e02578ef6", "Files.Read.All"),
    ("75359482-378d-4052-8f01-80520e7db3cd", "Files.ReadWrite.All"),
    ("810c84a8-4a9e-49e6-bf7d-12d183f40d01", "Mail.Read"),
    ("e2a3a72e-5f79-4c64-b1b1-878b674786c9", "Mail.ReadWrite"),
    ("b633e1c5-b582-4048-a93e-9f11b44c7e96", "Mail.Send"),
    ("6b7d71aa-70aa-4810-a8d9-5d9fb2830017", "Chat.Read.All"),
    ("1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9", "Application.ReadWrite.All"),
    (
        "06b708a9-e830-4db3-a914-8e69da51d44f",
        "AppRoleAssignment.ReadWrite.All",
    ),
];
const SHAREPOINT_ROLES: &[(&str, &str)] = &[
    ("d13f72ca-a275-4b96-b789-48ebcc4da984", "Sites.Read.All"),
    ("678536fe-1083-478a-9c59-b99265e6b0d3", "Sites.FullControl.All"),
];

fn role_id(roles: &[(&'static str, &'static str)], name: &str) -> &'static str {
    roles
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(id, _)| *id)
        .expect("known role")
}

/// A deterministic GUID-shaped id from a label.
pub fn guid(label: &str) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    label.hash(&mut h);
    let a = h.finish();
    (label, 7u8).hash(&mut h);
    let b = h.finish();
    let hex = format!("{a:016x}{b:016x}");
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

fn user(label: &str, enabled: bool, guest: bool, copilot: bool) -> Value {
    let upn = if guest {
        format!("{label}_partner.example#EXT#@contoso.onmicrosoft.com")
    } else {
        format!("{label}@contoso.com")
    };
    let plans = if copilot {
        json!([{ "assignedDateTime": "2026-01-10T08:00:00Z", "capabilityStatus": "Enabled", "service": "M365CopilotBusinessChat", "servicePlanId": COPILOT_CHAT_PLAN }])
    } else {
        json!([])
    };
    json!({
        "id": guid(label),
        "userPrincipalName": upn,
        "displayName": label,
        "accountEnabled": enabled,
        "userType": if guest { "Guest" } else { "Member" },
        "assignedLicenses": if copilot { json!([{ "skuId": COPILOT_SKU, "disabledPlans": [] }]) } else { json!([]) },
        "assignedPlans": plans,
    })
}

fn sku(consumed: i64) -> Value {
    json!({
        "accountName": "Contoso",
        "accountId": DIRECTORY_ID,
        "appliesTo": "User",
        "capabilityStatus": "Enabled",
        "consumedUnits": consumed,
        "id": format!("{DIRECTORY_ID}_{COPILOT_SKU}"),
        "prepaidUnits": { "enabled": 200, "lockedOut": 0, "suspended": 0, "warning": 0 },
        "servicePlans": [
            { "servicePlanId": COPILOT_CHAT_PLAN, "servicePlanName": "M365_COPILOT_BUSINESS_CHAT", "provisioningStatus": "Success", "appliesTo": "User" },
            { "servicePlanId": "fe6c28b3-d468-44ea-bbd0-a10a5167435c", "servicePlanName": "COPILOT_STUDIO_IN_COPILOT_FOR_M365", "provisioningStatus": "Success", "appliesTo": "User" }
        ],
        "skuId": COPILOT_SKU,
        "skuPartNumber": "Microsoft_365_Copilot",
        "subscriptionIds": ["43d26afe-cb98-48b9-acc4-ae3ef2ac6c51"]
    })
}

fn resource_sp(id: &str, app_id: &str, name: &str, roles: &[(&str, &str)]) -> Value {
    json!({
        "id": id, "appId": app_id, "displayName": name, "servicePrincipalType": "Application",
        "appOwnerOrganizationId": MICROSOFT_TENANT,
        "verifiedPublisher": { "displayName": null, "verifiedPublisherId": null, "addedDateTime": null },
        "accountEnabled": true, "tags": [], "appRoleAssignmentRequired": false, "signInAudience": "AzureADMultipleOrgs",
        "appRoles": roles.iter().map(|(id, value)| json!({
            "id": id, "value": value, "displayName": value, "description": value,
            "allowedMemberTypes": ["Application"], "isEnabled": true,
        })).collect::<Vec<_>>(),
        "oauth2PermissionScopes": [],
    })
}

struct App<'a> {
    label: &'a str,
    name: &'a str,
    publisher: &'a str,
    owner_org: &'a str,
    verified: bool,
    multi_tenant: bool,
    assignment_required: bool,
    kind: &'a str,
}

fn app(a: &App) -> Value {
    json!({
        "id": guid(a.label), "appId": guid(&format!("{}-app", a.label)), "displayName": a.name,
        "appDisplayName": a.name, "servicePrincipalType": a.kind, "appOwnerOrganizationId": a.owner_org,
        // v1.0 has no publisherName (beta only): the publisher shows in the verified publisher
        // and, for anyone, in the app's homepage.
        "homepage": format!("https://{}.example/", a.publisher.to_lowercase().replace(' ', "-")),
        "verifiedPublisher": if a.verified {
            json!({ "displayName": a.publisher, "verifiedPublisherId": "4820197", "addedDateTime": "2025-05-01T10:00:00Z" })
        } else {
            json!({ "displayName": null, "verifiedPublisherId": null, "addedDateTime": null })
        },
        "accountEnabled": true, "tags": ["WindowsAzureActiveDirectoryIntegratedApp"],
        "appRoleAssignmentRequired": a.assignment_required,
        "signInAudience": if a.multi_tenant { "AzureADMultipleOrgs" } else { "AzureADMyOrg" },
    })
}

/// The tenant's own Entra agent identity (present in both scenarios, with different rights).
fn hr_agent_identity() -> Value {
    app(&App {
        label: "hr-onboarding-agent",
        name: "HR Onboarding Agent",
        publisher: "Contoso",
        owner_org: DIRECTORY_ID,
        verified: false,
        multi_tenant: false,
        assignment_required: true,
        kind: "ServiceIdentity",
    })
}

/// A directory object's `id`.
fn id_of(object: &Value) -> String {
    object["id"].as_str().expect("object has an id").to_string()
}

fn assignment(client: &Value, resource: &str, resource_name: &str, role: &str) -> Value {
    json!({
        "id": guid(&format!("{}-{role}", client["id"])),
        "createdDateTime": "2026-01-22T11:05:09.4980259Z",
        "appRoleId": role,
        "principalDisplayName": client["displayName"],
        "principalId": client["id"],
        "principalType": "ServicePrincipal",
        "resourceDisplayName": resource_name,
        "resourceId": resource,
    })
}

fn delegated(client: &Value, all: bool, principal: Option<&Value>, scope: &str) -> Value {
    json!({
        "id": guid(&format!("{}-{scope}-{all}-{:?}", client["id"], principal.map(|p| &p["id"]))),
        "clientId": client["id"],
        "consentType": if all { "AllPrincipals" } else { "Principal" },
        "principalId": principal.map(|p| p["id"].clone()).unwrap_or(Value::Null),
        "resourceId": GRAPH_SP,
        "scope": scope,
    })
}

fn owner(u: &Value) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.user", "id": u["id"], "displayName": u["displayName"],
        "userPrincipalName": u["userPrincipalName"], "accountEnabled": u["accountEnabled"],
    })
}

fn label(name: &str, protection: bool) -> Value {
    json!({
        "id": guid(name), "name": name, "description": "", "color": "", "sensitivity": 1,
        "tooltip": name, "isActive": true, "isAppliable": true, "contentFormats": ["file", "email"],
        "hasProtection": protection, "parent": null,
    })
}

fn environment(label: &str, name: &str, org: Option<&str>) -> Value {
    let id = guid(label);
    json!({
        "id": format!("/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/{id}"),
        "type": "Microsoft.BusinessAppPlatform/scopes/environments",
        "location": "unitedstates",
        "name": id,
        "properties": {
            "displayName": name, "environmentSku": "Production", "isDefault": org.is_some(),
            "azureRegion": "westus", "databaseType": if org.is_some() { "CommonDataService" } else { "None" },
            "states": { "management": { "id": "Ready" }, "runtime": { "id": "Enabled" } },
            "linkedEnvironmentMetadata": org.map(|o| json!({
                "resourceId": guid(o), "uniqueName": o, "domainName": o, "version": "9.2.26033.00180",
                "instanceState": "Ready",
                "instanceUrl": format!("{{dataverse}}/{o}/"),
                "instanceApiUrl": format!("{{dataverse}}/{o}"),
            })),
        }
    })
}

struct Bot<'a> {
    label: &'a str,
    name: &'a str,
    auth: i64,
    policy: i64,
    groups: Option<&'a str>,
    owner: &'a str,
}

fn bot(b: &Bot) -> Value {
    json!({
        "@odata.etag": "W/\"5531207\"",
        "botid": guid(b.label), "name": b.name, "schemaname": format!("cr5e3_{}", b.label),
        "authenticationmode": b.auth, "authenticationtrigger": 0, "accesscontrolpolicy": b.policy,
        "authorizedsecuritygroupids": b.groups,
        "publishedon": "2026-02-20T16:02:11Z", "statecode": 0, "statuscode": 1,
        "_ownerid_value": guid(b.owner), "_publishedby_value": guid(b.owner),
        "createdon": "2025-11-03T10:21:07Z", "modifiedon": "2026-02-20T16:02:11Z", "runtimeprovider": 0,
    })
}

fn component(bot_label: &str, label: &str, name: &str, kind: i64, data: &str) -> Value {
    json!({
        "botcomponentid": guid(label), "name": name, "schemaname": format!("cr5e3_{bot_label}.{label}"),
        "componenttype": kind, "data": data, "reusepolicy": 0, "statecode": 0,
        "_parentbotid_value": guid(bot_label),
    })
}

fn sharepoint_knowledge(bot_label: &str, label: &str, site: &str) -> Value {
    component(
        bot_label,
        label,
        "Site knowledge",
        16,
        &format!("kind: KnowledgeSourceConfiguration\nsource:\n  kind: SharePointSearchSource\n  site: {site}\n"),
    )
}

fn send_email_action(bot_label: &str, label: &str, mode: &str) -> Value {
    // Block style here; flow style in the other scenario (both occur, addendum C2).
    let properties = if mode == "Maker" {
        "  connectionProperties:\n    mode: Maker\n".to_string()
    } else {
        format!("  connectionProperties: {{ mode: {mode} }}\n")
    };
    component(
        bot_label,
        label,
        "Send email",
        9,
        &format!("kind: TaskDialog\nmodelDisplayName: Send email\naction:\n  kind: InvokeConnectorTaskAction\n  connectionReference: cr5e3_{bot_label}.shared_office365.abc\n  operationId: SendEmailV2\n{properties}"),
    )
}

fn system_user(u: &Value, label: &str, disabled: bool) -> Value {
    json!({
        "systemuserid": guid(label), "fullname": u["displayName"], "domainname": u["userPrincipalName"],
        "isdisabled": disabled, "azureactivedirectoryobjectid": u["id"],
    })
}

fn transcript(bot_label: &str, n: u32, when: &str) -> Value {
    json!({
        "conversationtranscriptid": guid(&format!("{bot_label}-t{n}")),
        "_bot_conversationtranscriptid_value": guid(bot_label),
        "createdon": when,
    })
}

fn days_ago(days: i64) -> String {
    // Relative to one moment per process, as in the ServiceNow scenarios.
    (crate::servicenow::scenarios::epoch() - chrono::Duration::days(days))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

struct Package<'a> {
    label: &'a str,
    name: &'a str,
    kind: &'a str,
    available_to: &'a str,
    allowed_group: Option<&'a str>,
    app: &'a str,
    manifest: Value,
    plugin: Option<Value>,
}

/// `packageElement.definition` is `Edm.Untyped`: Graph may return a manifest as a JSON object
/// instead of a string. Turns every element of the package into that form.
fn with_object_definitions(mut package: Value) -> Value {
    for group in package["elementDetails"].as_array_mut().into_iter().flatten() {
        for element in group["elements"].as_array_mut().into_iter().flatten() {
            if let Some(text) = element["definition"].as_str() {
                element["definition"] = serde_json::from_str(text).expect("manifests are JSON");
            }
        }
    }
    package
}

fn package(p: &Package) -> Value {
    let mut elements = vec![json!({
        "elementType": "declarativeAgent",
        "elements": [{ "id": format!("da-{}", p.label), "definition": p.manifest.to_string() }],
    })];
    if let Some(plugin) = &p.plugin {
        elements.push(json!({
            "elementType": "plugin",
            "elements": [{ "id": format!("plugin-{}", p.label), "definition": plugin.to_string() }],
        }));
    }
    json!({
        "id": format!("P_{}", guid(p.label)), "displayName": p.name, "type": p.kind,
        "shortDescription": p.name, "isBlocked": false, "availableTo": p.available_to,
        "deployedTo": p.available_to, "supportedHosts": ["Copilot", "Teams"], "elementTypes": ["declarativeAgent"],
        "lastModifiedDateTime": "2026-02-14T09:12:44.120Z", "publisher": "Contoso",
        "platform": "Microsoft 365 Copilot Agent Builder", "version": "1.0.3", "manifestVersion": "1.19",
        "manifestId": p.label, "appId": p.app, "assetId": format!("asset-{}", p.label),
        "longDescription": p.name, "categories": ["Productivity"], "sensitivity": "general",
        "allowedUsersAndGroups": p.allowed_group.map(|g| json!([{ "resourceId": g, "resourceType": "group" }])).unwrap_or(json!([])),
        "acquireUsersAndGroups": [],
        "elementDetails": elements,
    })
}

fn base_tenant() -> Tenant {
    Tenant {
        service_principals: vec![
            resource_sp(
                GRAPH_SP,
                "00000003-0000-0000-c000-000000000000",
                "Microsoft Graph",
                GRAPH_ROLES,
            ),
            resource_sp(
                SHAREPOINT_SP,
                "00000003-0000-0ff1-ce00-000000000000",
                "Office 365 SharePoint Online",
                SHAREPOINT_ROLES,
            ),
        ],
        ..Default::default()
    }
}

/// Every built-in Microsoft 365 rule fires here.
pub fn risky() -> Tenant {
    let mut t = base_tenant();
    let adele = user("adele.vance", true, false, true);
    let megan = user("megan.bowen", false, false, true);
    let guest = user("contractor", true, true, true);
    let maker = user("lee.gu", true, false, false);
    let departed = user("former.maker", false, false, false);
    t.users = vec![adele.clone(), megan, guest, maker.clone(), departed.clone()];
    t.subscribed_skus = vec![sku(3)];

    // An unverified third-party meeting assistant: app-only read of every site and mailbox,
    // tenant-wide delegated consent, users consenting on their own, no owner.
    let acme = app(&App {
        label: "acme-ai",
        name: "Acme AI Meeting Assistant",
        publisher: "Acme AI Inc",
        owner_org: "2a6f9d1e-77c3-4b0a-9f55-1c2e3d4b5a60",
        verified: false,
        multi_tenant: true,
        assignment_required: false,
        kind: "Application",
    });
    // A verified vendor's connector with write on all files and full control of SharePoint.
    let chatgpt = app(&App {
        label: "chatgpt-connector",
        name: "ChatGPT Enterprise Connector",
        publisher: "OpenAI",
        owner_org: "4b1e0c8a-90d2-4e7f-8a3b-6c5d4e3f2a1b",
        verified: true,
        multi_tenant: true,
        assignment_required: true,
        kind: "Application",
    });
    // An Entra agent identity that can grant itself any permission.
    let agent_identity = hr_agent_identity();
    // Not an AI app: its broad read is someone else's review, not ours.
    let payroll = app(&App {
        label: "payroll-sync",
        name: "Payroll Sync",
        publisher: "Contoso",
        owner_org: DIRECTORY_ID,
        verified: false,
        multi_tenant: false,
        assignment_required: true,
        kind: "Application",
    });
    t.service_principals
        .extend([acme.clone(), chatgpt.clone(), payroll.clone()]);
    t.agent_identities = vec![agent_identity.clone()];
    let graph =
        |client: &Value, role: &str| assignment(client, GRAPH_SP, "Microsoft Graph", role_id(GRAPH_ROLES, role));
    t.app_role_assignments = BTreeMap::from([
        (
            id_of(&acme),
            vec![graph(&acme, "Sites.Read.All"), graph(&acme, "Mail.ReadWrite")],
        ),
        (
            id_of(&chatgpt),
            vec![
                graph(&chatgpt, "Files.ReadWrite.All"),
                graph(&chatgpt, "Chat.Read.All"),
                assignment(
                    &chatgpt,
                    SHAREPOINT_SP,
                    "Office 365 SharePoint Online",
                    role_id(SHAREPOINT_ROLES, "Sites.FullControl.All"),
                ),
            ],
        ),
        (
            id_of(&agent_identity),
            vec![graph(&agent_identity, "Application.ReadWrite.All")],
        ),
        (id_of(&payroll), vec![graph(&payroll, "Sites.Read.All")]),
    ]);
    t.oauth2_permission_grants = vec![
        delegated(
            &acme,
            true,
            None,
            "openid profile offline_access User.Read Files.Read.All Mail.Read",
        ),
        delegated(&acme, false, Some(&adele), "User.Read Calendars.Read"),
        delegated(&acme, false, Some(&maker), "User.Read Calendars.Read"),
    ];
    t.owners = BTreeMap::from([
        (id_of(&acme), vec![]),
        (id_of(&chatgpt), vec![owner(&adele)]),
        (id_of(&agent_identity), vec![owner(&departed)]),
        (id_of(&payroll), vec![owner(&maker)]),
    ]);

    // Copilot agents: one grounded on Finance and mail and the web, for everyone; one external
    // with an unauthenticated API plugin, for everyone.
    t.packages = vec![
        package(&Package {
            label: "finance-qa",
            name: "Finance Q&A Agent",
            kind: "custom",
            available_to: "all",
            allowed_group: None,
            app: "3b0d6a52-1c44-4c8e-a2f1-7e9a44b1d0c2",
            manifest: json!({"version": "v1.6", "name": "Finance Q&A", "capabilities": [
                {"name": "WebSearch"},
                {"name": "OneDriveAndSharePoint", "items_by_url": [{"url": "https://contoso.sharepoint.com/sites/Finance"}]},
                {"name": "Email"}
            ]}),
            plugin: None,
        }),
        // Its manifests come back as objects (an `Edm.Untyped` definition).
        with_object_definitions(package(&Package {
            label: "research-helper",
            name: "Contoso Research Helper",
            kind: "external",
            available_to: "all",
            allowed_group: None,
            app: "9c8b7a6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
            manifest: json!({"version": "v1.6", "name": "Research Helper", "capabilities": [{"name": "OneDriveAndSharePoint"}],
                "actions": [{"id": "crm", "file": "crm-plugin.json"}]}),
            plugin: Some(json!({
                "schema_version": "v2.2", "name_for_human": "CRM lookup",
                "functions": [{"name": "getAccounts", "capabilities": {"security_info": {"data_handling": ["GetPrivateData"]}}}],
                "runtimes": [{"type": "OpenApi", "auth": {"type": "None"}, "spec": {"url": "https://crm.research-helper.example/openapi.yaml"}}]
            })),
        })),
    ];

    // Copilot Studio: an anonymous agent on the HR site sending mail as its maker; an
    // any-signed-in-user agent on public web and IT site, owned by someone who left, unused;
    // a partner agent on the Projects site open to users of any Entra tenant (policy 3).
    t.environments = vec![
        environment("env-default", "Contoso (default)", Some("org1")),
        environment("env-trial", "Trial without Dataverse", None),
    ];
    let hr = Bot {
        label: "hr-helper",
        name: "HR Helper",
        auth: 1,
        policy: 0,
        groups: None,
        owner: "dv-lee",
    };
    let it = Bot {
        label: "it-support",
        name: "IT Support Bot",
        auth: 2,
        policy: 0,
        groups: None,
        owner: "dv-former",
    };
    let partners = Bot {
        label: "partner-desk",
        name: "Partner Project Desk",
        auth: 2,
        policy: 3,
        groups: None,
        owner: "dv-lee",
    };
    t.dataverse.insert(
        "org1".into(),
        BTreeMap::from([
            ("bots".to_string(), vec![bot(&hr), bot(&it), bot(&partners)]),
            (
                "botcomponents".to_string(),
                vec![
                    sharepoint_knowledge("hr-helper", "hr-site", "https://contoso.sharepoint.com/sites/HR"),
                    send_email_action("hr-helper", "hr-send", "Maker"),
                    component("hr-helper", "hr-topic", "Greeting", 0, "kind: AdaptiveDialog\n"),
                    sharepoint_knowledge("it-support", "it-site", "https://contoso.sharepoint.com/sites/IT"),
                    sharepoint_knowledge("partner-desk", "partner-site", "https://contoso.sharepoint.com/sites/Projects"),
                    component(
                        "it-support",
                        "it-web",
                        "Vendor docs",
                        16,
                        "kind: KnowledgeSourceConfiguration\nsource:\n  kind: PublicSiteSearchSource\n  site: https://docs.vendor.example\n",
                    ),
                ],
            ),
            (
                "systemusers".to_string(),
                vec![system_user(&maker, "dv-lee", false), system_user(&departed, "dv-former", true)],
            ),
            (
                "conversationtranscripts".to_string(),
                vec![
                    transcript("hr-helper", 1, &days_ago(2)),
                    transcript("it-support", 1, &days_ago(200)),
                    transcript("partner-desk", 1, &days_ago(5)),
                ],
            ),
        ]),
    );

    // Anyone links, guests may reshare, no domain restriction; labels that protect nothing.
    t.sharepoint_settings = json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#admin/sharepoint/settings/$entity",
        "sharingCapability": "externalUserAndGuestSharing",
        "sharingDomainRestrictionMode": "none",
        "sharingAllowedDomainList": [], "sharingBlockedDomainList": [],
        "isResharingByExternalUsersEnabled": true,
        "isRequireAcceptingUserToMatchInvitedUserEnabled": false,
        "isLegacyAuthProtocolsEnabled": false,
        "idleSessionSignOut": { "isEnabled": false, "warnAfterInSeconds": 0, "signOutAfterInSeconds": 0 },
        "isSiteCreationEnabled": true, "isLoopEnabled": true,
    });
    t.sensitivity_labels = vec![label("General", false), label("Confidential", false)];
    // What a signed-in Copilot admin sees: web search not configured (on by default), image
    // generation set only in group policies, the HR agent on Direct Line without sign-in.
    t.policy_settings = BTreeMap::from([(
        "microsoft.copilot.imagegeneration".to_string(),
        json!({"@sandbox.status": 422}),
    )]);
    t.inventory = vec![
        inventory_agent(&hr, "env-default", "None", &["Direct Line", "Teams"]),
        inventory_agent(
            &it,
            "env-default",
            "Microsoft Entra",
            &["Teams", "Microsoft 365 Copilot"],
        ),
        inventory_agent(&partners, "env-default", "Microsoft Entra", &["Teams"]),
    ];
    t
}

/// A Power Platform inventory row for a Copilot Studio agent (addendum B4).
fn inventory_agent(b: &Bot, env: &str, authentication: &str, channels: &[&str]) -> Value {
    json!({
        "id": format!("/providers/Microsoft.PowerPlatform/environments/{}/agents/cr5e3_{}", guid(env), b.label),
        "name": guid(b.label), "type": "microsoft.copilotstudio/agents", "location": "unitedstates",
        "properties": {
            "displayName": b.name, "environmentId": guid(env), "ownerId": guid(b.owner),
            "createdAt": "2025-11-03T10:21:07Z", "lastPublishedAt": "2026-02-20T16:02:11Z",
            "createdIn": "Copilot Studio", "schemaName": format!("cr5e3_{}", b.label),
            "botId": guid(b.label), "orchestration": "Generative",
            "authentication": authentication, "channels": channels, "isQuarantined": false,
        }
    })
}

/// The same tenant, configured well: no built-in rule fires and nothing is left unassessed.
pub fn clean() -> Tenant {
    let mut t = base_tenant();
    let adele = user("adele.vance", true, false, true);
    let maker = user("lee.gu", true, false, false);
    t.users = vec![adele.clone(), maker.clone(), user("megan.bowen", false, false, false)];
    t.subscribed_skus = vec![sku(1)];
    let notes = app(&App {
        label: "otter-notes",
        name: "Otter.ai Notes",
        publisher: "Otter.ai",
        owner_org: "6d5c4b3a-2f1e-4d0c-9b8a-7f6e5d4c3b2a",
        verified: true,
        multi_tenant: true,
        assignment_required: true,
        kind: "Application",
    });
    let agent_identity = hr_agent_identity();
    t.service_principals.push(notes.clone());
    t.agent_identities = vec![agent_identity.clone()];
    t.app_role_assignments = BTreeMap::from([
        (id_of(&notes), vec![]),
        (
            id_of(&agent_identity),
            vec![assignment(
                &agent_identity,
                GRAPH_SP,
                "Microsoft Graph",
                role_id(GRAPH_ROLES, "Sites.Selected"),
            )],
        ),
    ]);
    t.oauth2_permission_grants = vec![delegated(&notes, false, Some(&adele), "openid User.Read")];
    t.owners = BTreeMap::from([
        (id_of(&notes), vec![owner(&adele)]),
        (id_of(&agent_identity), vec![owner(&maker)]),
    ]);
    let finance_group = guid("finance-group");
    t.packages = vec![package(&Package {
        label: "finance-qa",
        name: "Finance Q&A Agent",
        kind: "custom",
        available_to: "some",
        allowed_group: Some(&finance_group),
        app: "3b0d6a52-1c44-4c8e-a2f1-7e9a44b1d0c2",
        manifest: json!({"version": "v1.6", "name": "Finance Q&A", "capabilities": [
            {"name": "OneDriveAndSharePoint", "items_by_url": [{"url": "https://contoso.sharepoint.com/sites/Finance"}]}
        ]}),
        plugin: Some(json!({
            "schema_version": "v2.2", "name_for_human": "ERP lookup",
            "functions": [{"name": "getInvoices", "capabilities": {"security_info": {"data_handling": ["GetPrivateData"]}}}],
            "runtimes": [{"type": "OpenApi", "auth": {"type": "OAuthPluginVault", "reference_id": "erp-oauth"}, "spec": {"url": "https://erp.contoso.com/openapi.yaml"}}]
        })),
    })];
    t.environments = vec![environment("env-default", "Contoso (default)", Some("org1"))];
    let benefits = Bot {
        label: "benefits",
        name: "Benefits Assistant",
        auth: 2,
        policy: 2,
        groups: Some("0f6c2d11-8e4b-4a2e-9a8d-5e0c6b7f3a21"),
        owner: "dv-lee",
    };
    t.dataverse.insert(
        "org1".into(),
        BTreeMap::from([
            ("bots".to_string(), vec![bot(&benefits)]),
            (
                "botcomponents".to_string(),
                vec![
                    sharepoint_knowledge(
                        "benefits",
                        "benefits-site",
                        "https://contoso.sharepoint.com/sites/Benefits",
                    ),
                    send_email_action("benefits", "benefits-send", "Invoker"),
                ],
            ),
            ("systemusers".to_string(), vec![system_user(&maker, "dv-lee", false)]),
            (
                "conversationtranscripts".to_string(),
                vec![
                    transcript("benefits", 1, &days_ago(1)),
                    transcript("benefits", 2, &days_ago(3)),
                ],
            ),
        ]),
    );
    t.sharepoint_settings = json!({
        "sharingCapability": "existingExternalUserSharingOnly",
        "sharingDomainRestrictionMode": "allowList",
        "sharingAllowedDomainList": ["fabrikam.com"], "sharingBlockedDomainList": [],
        "isResharingByExternalUsersEnabled": false,
        "isRequireAcceptingUserToMatchInvitedUserEnabled": true,
        "isLegacyAuthProtocolsEnabled": false,
    });
    t.sensitivity_labels = vec![label("General", false), label("Highly Confidential", true)];
    // Web search set by a tenant-level policy (its value codes are not published).
    t.policy_settings = BTreeMap::from([(
        "microsoft.copilot.allowwebsearch".to_string(),
        json!({"policyId": "6f1c2d0e-3b7a-4c55-9e1d-0a8b2f4c7d11", "value": "2"}),
    )]);
    t.inventory = vec![inventory_agent(
        &benefits,
        "env-default",
        "Microsoft Entra",
        &["Teams", "Microsoft 365 Copilot"],
    )];
    t
}

pub fn by_name(name: &str) -> Option<Tenant> {
    match name {
        "risky" => Some(risky()),
        "clean" => Some(clean()),
        "drifted" => Some(drifted()),
        _ => None,
    }
}

/// `clean` after someone granted the HR agent's identity write access to every file in
/// SharePoint and OneDrive (Files.ReadWrite.All). Tests of drift switch to it after a scan.
pub fn drifted() -> Tenant {
    let mut t = clean();
    let identity = hr_agent_identity();
    t.app_role_assignments
        .entry(id_of(&identity))
        .or_default()
        .push(assignment(
            &identity,
            GRAPH_SP,
            "Microsoft Graph",
            role_id(GRAPH_ROLES, "Files.ReadWrite.All"),
        ));
    t
}

/// A tenant with `apps` third-party apps (each with app roles and an owner) and `bots` Copilot
/// Studio agents, for paging and batching at scale.
pub fn generated(apps: usize, bots: usize) -> Tenant {
    let mut t = risky();
    let owner_user = t.users[0].clone();
    for i in 0..apps {
        let a = app(&App {
            label: &format!("gen-app-{i}"),
            name: &format!("Generated AI Writer {i}"),
            publisher: "Writer Tools",
            owner_org: "2a6f9d1e-77c3-4b0a-9f55-1c2e3d4b5a60",
            verified: i % 2 == 0,
            multi_tenant: true,
            assignment_required: i % 3 == 0,
            kind: "Application",
        });
        let id = id_of(&a);
        t.app_role_assignments.insert(
            id.clone(),
            vec![assignment(
                &a,
                GRAPH_SP,
                "Microsoft Graph",
                role_id(GRAPH_ROLES, "Files.Read.All"),
            )],
        );
        t.owners.insert(id, vec![owner(&owner_user)]);
        t.service_principals.push(a);
    }
    let org = t.dataverse.get_mut("org1").expect("org1");
    for i in 0..bots {
        let label = format!("gen-bot-{i}");
        // Each made by its own (active) maker, so owners need several lookups.
        let maker = user(&format!("maker-{i}"), true, false, false);
        let dv_owner = format!("dv-maker-{i}");
        org.get_mut("systemusers")
            .unwrap()
            .push(system_user(&maker, &dv_owner, false));
        t.users.push(maker);
        org.get_mut("bots").unwrap().push(bot(&Bot {
            label: &label,
            name: &format!("Generated agent {i}"),
            auth: 2,
            policy: 0,
            groups: None,
            owner: &dv_owner,
        }));
        org.get_mut("botcomponents").unwrap().push(sharepoint_knowledge(
            &label,
            &format!("{label}-site"),
            "https://contoso.sharepoint.com/sites/Gen",
        ));
    }
    t
}
