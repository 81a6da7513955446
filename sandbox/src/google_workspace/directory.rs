//! Admin SDK Directory API (`/admin/directory/v1/...`; reference §2.2, §9.1.4, §9.1.5,
//! §9.1.11): users, tokens, roles, role assignments, org units, the customer, groups, domains
//! and privileges, with the page limits Google's discovery documents give.

use super::scenarios::{OrgUnit, Role, RoleAssignment, User};
use super::{bad_request, not_authorized, page_bounds, v1_error, Call, Refusal, SimState};
use axum::{http::StatusCode, response::Response};
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{json, Value};

type Answer = Result<Value, Refusal>;

pub(super) fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A quoted etag derived from what it tags (stable across runs).
pub(super) fn etag(seed: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(seed.as_bytes());
    let text = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest[..12]);
    format!("\"{text}\"")
}

pub(super) fn handle(s: &mut SimState, call: &Call) -> Answer {
    match call.method.id.as_str() {
        "directory.users.list" => users_list(s, call),
        "directory.users.get" => {
            let user = find_user(s, call.var("userKey"))?;
            Ok(user_json(s, user))
        }
        "directory.tokens.list" => tokens_list(s, call),
        "directory.tokens.get" => tokens_get(s, call),
        "directory.roles.list" => roles_list(s, call),
        "directory.roleAssignments.list" => role_assignments_list(s, call),
        "directory.orgunits.list" => orgunits_list(s, call),
        "directory.customers.get" => customer_get(s, call),
        "directory.groups.list" => groups_list(s, call),
        "directory.domains.list" => domains_list(s, call),
        "directory.privileges.list" => privileges_list(s, call),
        other => Err(v1_error(StatusCode::NOT_FOUND, &format!("Not simulated: {other}"), "notFound").into()),
    }
}

fn not_found(what: &str) -> Response {
    v1_error(
        StatusCode::NOT_FOUND,
        &format!("Resource Not Found: {what}"),
        "notFound",
    )
}

fn find_user<'a>(s: &'a SimState, key: &str) -> Result<&'a User, Refusal> {
    s.user(key).ok_or_else(|| not_found("userKey").into())
}

/// A customer path variable or parameter: `my_customer` or the tenant's id; another
/// tenant's is refused.
fn check_customer(s: &mut SimState, call: &Call, customer: &str) -> Result<(), Refusal> {
    if s.is_our_customer(customer) {
        return Ok(());
    }
    s.violation(format!("{}: customer {customer:?} is not this tenant", call.label));
    Err(not_authorized(call.method.api).into())
}

fn user_json(s: &SimState, u: &User) -> Value {
    let mut v = json!({
        "kind": "admin#directory#user",
        "id": u.id,
        "etag": etag(&format!("user:{}", u.id)),
        "primaryEmail": u.email,
        "name": {"givenName": u.given_name, "familyName": u.family_name,
                 "fullName": format!("{} {}", u.given_name, u.family_name)},
        "isAdmin": u.is_admin,
        "isDelegatedAdmin": u.is_delegated_admin,
        "lastLoginTime": u.last_login_time.as_ref().map(time).unwrap_or_else(|| "1970-01-01T00:00:00.000Z".into()),
        "creationTime": time(&u.creation_time),
        "agreedToTerms": true,
        "suspended": u.suspended,
        "archived": false,
        "changePasswordAtNextLogin": false,
        "ipWhitelisted": false,
        "emails": [{"address": u.email, "primary": true}],
        "customerId": s.scenario.customer_id,
        "orgUnitPath": u.org_unit_path,
        "isMailboxSetup": true,
        "isEnrolledIn2Sv": u.enrolled_2sv,
        "isEnforcedIn2Sv": u.enforced_2sv,
        "includeInGlobalAddressList": true,
    });
    if u.suspended {
        v["suspensionReason"] = json!("ADMIN");
    }
    if !u.aliases.is_empty() {
        v["aliases"] = json!(u.aliases);
    }
    v
}

/// One term of a users.list `query` (`isAdmin=true`, `orgUnitPath='/Legal'`, `email:dana*`).
fn user_matches(u: &User, field: &str, value: &str) -> Option<bool> {
    let flag = |b: bool| match value {
        "true" => Some(b),
        "false" => Some(!b),
        _ => None,
    };
    let text = |actual: &str| {
        let actual = actual.to_ascii_lowercase();
        let wanted = value.to_ascii_lowercase();
        Some(match wanted.strip_suffix('*') {
            Some(prefix) => actual.starts_with(prefix),
            None => actual == wanted,
        })
    };
    match field {
        "isAdmin" => flag(u.is_admin),
        "isDelegatedAdmin" => flag(u.is_delegated_admin),
        "isSuspended" => flag(u.suspended),
        "isEnrolledIn2Sv" => flag(u.enrolled_2sv),
        "isEnforcedIn2Sv" => flag(u.enforced_2sv),
        "email" => text(&u.email),
        "givenName" => text(&u.given_name),
        "familyName" => text(&u.family_name),
        // "Matches all org unit chains under the target."
        "orgUnitPath" => {
            let path = if value.starts_with('/') {
                value.to_string()
            } else {
                format!("/{value}")
            };
            Some(path == "/" || u.org_unit_path == path || u.org_unit_path.starts_with(&format!("{path}/")))
        }
        _ => None,
    }
}

/// Splits a query into `field` `value` terms (quotes group spaces).
fn query_terms(query: &str) -> Option<Vec<(String, String)>> {
    let mut terms = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut words = Vec::new();
    for c in query.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => current.push(c),
            (None, '\'' | '"') => quote = Some(c),
            (None, ' ') => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            (None, c) => current.push(c),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    for word in words {
        let at = word.find([':', '='])?;
        terms.push((word[..at].to_string(), word[at + 1..].to_string()));
    }
    Some(terms)
}

fn users_list(s: &mut SimState, call: &Call) -> Answer {
    match (call.param("customer"), call.param("domain")) {
        (Some(customer), _) => check_customer(s, call, customer)?,
        (None, Some(domain)) if domain.eq_ignore_ascii_case(&s.scenario.domain) => {}
        (None, Some(domain)) => {
            s.violation(format!("{}: domain {domain:?} is not this tenant's", call.label));
            return Err(not_authorized(call.method.api).into());
        }
        (None, None) => {
            s.violation(format!("{}: neither customer nor domain", call.label));
            return Err(v1_error(StatusCode::BAD_REQUEST, "Bad Request", "badRequest").into());
        }
    }
    let terms = match call.param("query").filter(|q| !q.trim().is_empty()) {
        None => Vec::new(),
        Some(q) => match query_terms(q) {
            Some(terms) => terms,
            None => {
                s.violation(format!("{}: a query the simulator does not understand", call.label));
                return Err(v1_error(StatusCode::BAD_REQUEST, "Invalid Input", "invalid").into());
            }
        },
    };
    const FIELDS: &[&str] = &[
        "isAdmin",
        "isDelegatedAdmin",
        "isSuspended",
        "isEnrolledIn2Sv",
        "isEnforcedIn2Sv",
        "email",
        "givenName",
        "familyName",
        "orgUnitPath",
    ];
    if let Some((field, _)) = terms.iter().find(|(f, _)| !FIELDS.contains(&f.as_str())) {
        s.violation(format!(
            "{}: query field {field:?} is not one the simulator knows",
            call.label
        ));
        return Err(v1_error(StatusCode::BAD_REQUEST, "Invalid Input", "invalid").into());
    }
    let mut selected: Vec<&User> = s
        .scenario
        .users
        .iter()
        .filter(|u| terms.iter().all(|(f, v)| user_matches(u, f, v).unwrap_or(false)))
        .collect();
    match call.param("orderBy") {
        Some("email") => selected.sort_by(|a, b| a.email.cmp(&b.email)),
        Some("givenName") => selected.sort_by(|a, b| a.given_name.cmp(&b.given_name)),
        Some("familyName") => selected.sort_by(|a, b| a.family_name.cmp(&b.family_name)),
        _ => {}
    }
    if call.param("sortOrder") == Some("DESCENDING") {
        selected.reverse();
    }
    let ids: Vec<usize> = selected
        .iter()
        .filter_map(|u| s.user_keys.get(&u.id).copied())
        .collect();
    let (start, end, next) = page_bounds(s, call, ids.len(), call.page_size("maxResults", 100))?;
    let users: Vec<Value> = ids[start..end]
        .iter()
        .map(|&i| user_json(s, &s.scenario.users[i]))
        .collect();
    let mut body = json!({"kind": "admin#directory#users", "etag": etag(&format!("users:{start}")), "users": users});
    if let Some(next) = next {
        body["nextPageToken"] = json!(next);
    }
    Ok(body)
}

fn token_json(s: &SimState, u: &User, app: usize) -> Value {
    let a = &s.scenario.apps[app];
    json!({
        "kind": "admin#directory#token",
        "etag": etag(&format!("token:{}:{}", u.id, a.client_id)),
        "clientId": a.client_id,
        "displayText": a.name,
        "anonymous": a.anonymous,
        "nativeApp": a.native_app,
        "userKey": u.id,
        "scopes": a.scopes,
    })
}

/// No paging; `items` is left out for a user with no grants (§2.2).
fn tokens_list(s: &mut SimState, call: &Call) -> Answer {
    let u = find_user(s, call.var("userKey"))?;
    let items: Vec<Value> = u.tokens.iter().map(|&a| token_json(s, u, a)).collect();
    let mut body = json!({"kind": "admin#directory#tokenList", "etag": etag(&format!("tokens:{}", u.id))});
    if !items.is_empty() {
        body["items"] = json!(items);
    }
    Ok(body)
}

fn tokens_get(s: &mut SimState, call: &Call) -> Answer {
    let u = find_user(s, call.var("userKey"))?;
    let client = call.var("clientId");
    u.tokens
        .iter()
        .find(|&&a| s.scenario.apps[a].client_id == client)
        .map(|&a| token_json(s, u, a))
        .ok_or_else(|| not_found("clientId").into())
}

fn role_json(r: &Role) -> Value {
    json!({
        "kind": "admin#directory#role",
        "etag": etag(&format!("role:{}", r.id)),
        "roleId": r.id,
        "roleName": r.name,
        "roleDescription": r.description,
        "rolePrivileges": r.privileges.iter()
            .map(|(p, svc)| json!({"privilegeName": p, "serviceId": svc})).collect::<Vec<_>>(),
        "isSystemRole": r.is_system,
        "isSuperAdminRole": r.is_super_admin,
    })
}

fn listed(kind: &str, items: Vec<Value>, next: Option<String>, seed: &str) -> Value {
    let mut body = json!({"kind": kind, "etag": etag(seed)});
    if !items.is_empty() {
        body["items"] = json!(items);
    }
    if let Some(next) = next {
        body["nextPageToken"] = json!(next);
    }
    body
}

fn roles_list(s: &mut SimState, call: &Call) -> Answer {
    check_customer(s, call, call.var("customer"))?;
    let total = s.scenario.roles.len();
    let (start, end, next) = page_bounds(s, call, total, call.page_size("maxResults", 100))?;
    let items = s.scenario.roles[start..end].iter().map(role_json).collect();
    Ok(listed("admin#directory#roles", items, next, &format!("roles:{start}")))
}

fn assignment_json(a: &RoleAssignment) -> Value {
    let mut v = json!({
        "kind": "admin#directory#roleAssignment",
        "etag": etag(&format!("ra:{}", a.id)),
        "roleAssignmentId": a.id,
        "roleId": a.role_id,
        "assignedTo": a.assigned_to,
        "assigneeType": a.assignee_type,
        "scopeType": a.scope_type,
    });
    if let Some(ou) = &a.org_unit_id {
        v["orgUnitId"] = json!(ou);
    }
    if let Some(expire) = &a.expire_time {
        v["expirationDetails"] = json!({"expireTime": time(expire)});
    }
    v
}

fn role_assignments_list(s: &mut SimState, call: &Call) -> Answer {
    check_customer(s, call, call.var("customer"))?;
    // `userKey` is a user (email or id) or a group id; indirect assignments (through the
    // user's groups) only with `userKey` (§2.2).
    let mut assignees: Option<Vec<String>> = None;
    if let Some(key) = call.param("userKey") {
        let mut ids = Vec::new();
        if let Some(u) = s.user(key) {
            ids.push(u.id.clone());
            if call.param("includeIndirectRoleAssignments") == Some("true") {
                let id = u.id.clone();
                ids.extend(
                    s.scenario
                        .groups
                        .iter()
                        .filter(|g| g.members.contains(&id))
                        .map(|g| g.id.clone()),
                );
            }
        } else if let Some(g) = s
            .scenario
            .groups
            .iter()
            .find(|g| g.id == key || g.email.eq_ignore_ascii_case(key))
        {
            ids.push(g.id.clone());
        } else {
            return Err(not_found("userKey").into());
        }
        assignees = Some(ids);
    }
    let role = call.param("roleId");
    let selected: Vec<Value> = s
        .scenario
        .role_assignments
        .iter()
        .filter(|a| role.is_none_or(|r| a.role_id == r))
        .filter(|a| assignees.as_ref().is_none_or(|ids| ids.contains(&a.assigned_to)))
        .map(assignment_json)
        .collect();
    let (start, end, next) = page_bounds(s, call, selected.len(), call.page_size("maxResults", 100))?;
    Ok(listed(
        "admin#directory#roleAssignments",
        selected[start..end].to_vec(),
        next,
        &format!("ra:{start}"),
    ))
}

fn orgunit_json(s: &SimState, ou: &OrgUnit) -> Value {
    let mut v = json!({
        "kind": "admin#directory#orgUnit",
        "etag": etag(&format!("ou:{}", ou.id)),
        "name": ou.name,
        "orgUnitPath": ou.path,
        "orgUnitId": format!("id:{}", ou.id),
    });
    if !ou.description.is_empty() {
        v["description"] = json!(ou.description);
    }
    if ou.path != "/" {
        let parent_path = match ou.path.rsplit_once('/') {
            Some(("", _)) | None => "/".to_string(),
            Some((parent, _)) => parent.to_string(),
        };
        if let Some(parent) = s.scenario.org_unit_by_path(&parent_path) {
            v["parentOrgUnitId"] = json!(format!("id:{}", parent.id));
            v["parentOrgUnitPath"] = json!(parent.path);
        }
        // Deprecated and without effect (§9.1.5), but still sent.
        v["blockInheritance"] = json!(false);
    }
    v
}

fn is_under(path: &str, parent: &str) -> bool {
    path != parent && (parent == "/" || path.starts_with(&format!("{parent}/")))
}

fn orgunits_list(s: &mut SimState, call: &Call) -> Answer {
    check_customer(s, call, call.var("customerId"))?;
    let wanted = call.param("orgUnitPath").unwrap_or("/");
    let parent = if let Some(id) = wanted.strip_prefix("id:") {
        s.scenario.org_units.iter().find(|o| o.id == id)
    } else {
        let path = if wanted.starts_with('/') {
            wanted.to_string()
        } else {
            format!("/{wanted}")
        };
        s.scenario.org_unit_by_path(&path)
    };
    let Some(parent) = parent.cloned() else {
        return Err(v1_error(StatusCode::NOT_FOUND, "Org unit not found", "notFound").into());
    };
    let kind = call.param("type").unwrap_or("children");
    let units: Vec<Value> = s
        .scenario
        .org_units
        .iter()
        .filter(|o| match kind {
            "all" => is_under(&o.path, &parent.path),
            "allIncludingParent" => o.path == parent.path || is_under(&o.path, &parent.path),
            // children: one level down.
            _ => is_under(&o.path, &parent.path) && !o.path[parent.path.len()..].trim_start_matches('/').contains('/'),
        })
        .map(|o| orgunit_json(s, o))
        .collect();
    let mut body = json!({"kind": "admin#directory#orgUnits", "etag": etag(&format!("ous:{kind}:{}", parent.id))});
    if !units.is_empty() {
        body["organizationUnits"] = json!(units);
    }
    Ok(body)
}

fn customer_get(s: &mut SimState, call: &Call) -> Answer {
    check_customer(s, call, call.var("customerKey"))?;
    let sc = &s.scenario;
    Ok(json!({
        "kind": "admin#directory#customer",
        "id": sc.customer_id,
        "etag": etag(&format!("customer:{}", sc.customer_id)),
        "customerDomain": sc.domain,
        "alternateEmail": "it-ops@example.net",
        "customerCreationTime": "2019-03-14T09:26:53.000Z",
        "language": "en",
        "phoneNumber": "+1 650-555-0100",
        "postalAddress": {"contactName": "IT Admin", "organizationName": "Example Corp",
            "addressLine1": "1 Example Way", "locality": "Mountain View", "region": "CA",
            "postalCode": "94043", "countryCode": "US"},
    }))
}

fn groups_list(s: &mut SimState, call: &Call) -> Answer {
    let user_key = call.param("userKey");
    match (call.param("customer"), call.param("domain"), user_key) {
        (Some(customer), _, _) => check_customer(s, call, customer)?,
        (None, Some(domain), _) if domain.eq_ignore_ascii_case(&s.scenario.domain) => {}
        (None, None, Some(_)) => {}
        _ => {
            s.violation(format!("{}: groups.list needs customer, domain or userKey", call.label));
            return Err(v1_error(StatusCode::BAD_REQUEST, "Bad Request", "badRequest").into());
        }
    }
    // §9.1.11: at most 200 a page (the description says so; discovery gives no maximum).
    let size = call.page_size("maxResults", 200);
    if size > 200 {
        s.violation(format!("{}: groups maxResults above 200", call.label));
        return Err(bad_request(
            call.method.api,
            &format!("Invalid value '{size}'. Values must be within the range: [1, 200]"),
            "maxResults",
        )
        .into());
    }
    let member = match user_key {
        Some(key) => Some(s.user(key).map(|u| u.id.clone()).ok_or_else(|| not_found("userKey"))?),
        None => None,
    };
    let groups: Vec<Value> = s
        .scenario
        .groups
        .iter()
        .filter(|g| member.as_ref().is_none_or(|m| g.members.contains(m)))
        .map(|g| {
            json!({
                "kind": "admin#directory#group",
                "id": g.id,
                "etag": etag(&format!("group:{}", g.id)),
                "email": g.email,
                "name": g.name,
                "directMembersCount": g.members.len().to_string(),
                "description": g.description,
                "adminCreated": true,
                "nonEditableAliases": [g.email.replace("@example.com", "@example.com.test-google-a.com")],
            })
        })
        .collect();
    let (start, end, next) = page_bounds(s, call, groups.len(), size)?;
    let mut body = json!({"kind": "admin#directory#groups", "etag": etag(&format!("groups:{start}"))});
    if end > start {
        body["groups"] = json!(groups[start..end].to_vec());
    }
    if let Some(next) = next {
        body["nextPageToken"] = json!(next);
    }
    Ok(body)
}

fn domains_list(s: &mut SimState, call: &Call) -> Answer {
    check_customer(s, call, call.var("customer"))?;
    let domain = s.scenario.domain.clone();
    Ok(json!({
        "kind": "admin#directory#domains",
        "etag": etag("domains"),
        "domains": [{"kind": "admin#directory#domain", "etag": etag(&format!("domain:{domain}")),
            "domainName": domain, "isPrimary": true, "verified": true, "creationTime": "1552555613000"}],
    }))
}

fn privileges_list(s: &mut SimState, call: &Call) -> Answer {
    check_customer(s, call, call.var("customer"))?;
    let mut seen = std::collections::BTreeSet::new();
    let items: Vec<Value> = s
        .scenario
        .roles
        .iter()
        .flat_map(|r| r.privileges.iter())
        .filter(|p| seen.insert((*p).clone()))
        .map(|(name, service)| {
            json!({"kind": "admin#directory#privilege", "etag": etag(&format!("privilege:{name}")),
                "privilegeName": name, "serviceId": service, "isOuScopable": true})
        })
        .collect();
    Ok(listed("admin#directory#privileges", items, None, "privileges"))
}
