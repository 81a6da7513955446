//! Who may do what: roles, the ACLs that decide who may invoke an agent, workflow or skill
//! (reference §9.2), role masks (§2.4, §9.4) and users as principals.

use super::{collected, flag, records, text, user_id, P};
use crate::Parts;
use schemas::*;
use serde_json::{json, Value};
use std::collections::{BTreeSet, HashMap};

/// Roles treated as elevated besides any with `elevated_privilege=true` (§4 preamble).
pub(super) const ELEVATED_ROLES: &[&str] = &[
    "admin",
    "security_admin",
    "maint",
    "nobody",
    "oauth_admin",
    "user_admin",
    "sn_aia.admin",
    "agent_role_config_admin",
    "ai_user_admin",
    "sn_generative_ai.nsa_admin",
    "sn_nowassist_admin.nsa_admin",
    "rate_limit_admin",
];

/// `sys_user_has_role` rows granting an elevated role (directly or inherited).
pub const PRIVILEGED_QUERY: &str = "role.elevated_privilege=true^ORrole.nameINadmin,security_admin,oauth_admin,user_admin,sn_aia.admin,agent_role_config_admin,ai_user_admin,sn_generative_ai.nsa_admin,sn_nowassist_admin.nsa_admin,rate_limit_admin";

/// Out-of-box sys_ids the SDK writes (§9.2); names are matched too, since a refused dot-walk or
/// an older release may give only one of the two.
pub const PUBLIC_ROLE: &str = "b0593b350a0a0aa7001d689e4542dc28";
pub const ATTRIBUTE_AUTHENTICATED: &str = "239bdf0c47d23110ba46ff58936d4330";
pub const ATTRIBUTE_ADMIN: &str = "8637f144b732111074f706dd1e11a981";

/// What an ACL protects, by `sys_security_acl.type` (sys_id or name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AclKind {
    Agent,
    Workflow,
    Skill,
}

impl AclKind {
    pub const TYPES: &[(AclKind, &str, &str)] = &[
        (AclKind::Agent, "fc55e9f79f8222109570e67e8a0a1c34", "gen_ai_agent"),
        (
            AclKind::Workflow,
            "d9eb25b39fc222109570e67e8a0a1c6a",
            "gen_ai_agentic_usecase",
        ),
        (AclKind::Skill, "0d986410ffdd2210c0e9ffffffffffc9", "gen_ai_skill"),
    ];

    fn of(acl: &Value) -> Option<AclKind> {
        let (id, name) = (text(acl, "type"), text(acl, "type.name"));
        // `gen_ai_workflow` is the name the earlier reference guessed; the SDK never writes it.
        if name == "gen_ai_workflow" {
            return Some(AclKind::Workflow);
        }
        Self::TYPES
            .iter()
            .find(|(_, type_id, type_name)| id == *type_id || name == *type_name)
            .map(|(kind, ..)| *kind)
    }

    fn label(self) -> &'static str {
        match self {
            AclKind::Agent => "agent",
            AclKind::Workflow => "agentic workflow",
            AclKind::Skill => "skill",
        }
    }
}

/// The `sys_security_acl` filter: the three types by sys_id or by name.
pub const ACL_QUERY: &str = "typeINfc55e9f79f8222109570e67e8a0a1c34,d9eb25b39fc222109570e67e8a0a1c6a,0d986410ffdd2210c0e9ffffffffffc9^ORtype.nameINgen_ai_agent,gen_ai_agentic_usecase,gen_ai_workflow,gen_ai_skill";

pub fn role_principal(name: &str) -> String {
    format!("{P}:role:{name}")
}
pub const ANONYMOUS: &str = "servicenow:anonymous";
pub const AUTHENTICATED: &str = "servicenow:authenticated_users";

pub struct Roles {
    by_id: HashMap<String, (String, bool)>,
}

impl Roles {
    pub fn new(parts: &Parts) -> Self {
        let by_id = records(parts, "sys_user_role")
            .iter()
            .map(|r| {
                let name = text(r, "name").to_string();
                let elevated = flag(r, "elevated_privilege") || ELEVATED_ROLES.contains(&name.as_str());
                (text(r, "sys_id").to_string(), (name, elevated))
            })
            .collect();
        Roles { by_id }
    }
    pub fn name(&self, id: &str) -> String {
        if id == PUBLIC_ROLE {
            return "public".into();
        }
        self.by_id
            .get(id)
            .map(|(n, _)| n.clone())
            .unwrap_or_else(|| id.to_string())
    }
    pub fn elevated(&self, name: &str) -> bool {
        ELEVATED_ROLES.contains(&name) || self.by_id.values().any(|(n, e)| n == name && *e)
    }
}

/// Who may invoke one record, as far as its ACLs tell.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Audience {
    /// Principal ids (roles, the special anonymous / authenticated principals).
    pub principals: Vec<String>,
    /// Set when who may invoke cannot be decided from the records: why.
    pub unknown: Option<String>,
    /// Set when the audience may be the public although it is at least every signed-in user.
    pub possibly_public: Option<String>,
    /// The record has an ACL of its own (by its `acl` column or by name and type).
    pub own_acl: bool,
}

/// One active allow ACL, evaluated.
#[derive(Debug, Clone, Default)]
struct Grantee {
    principals: Vec<String>,
    unknown: Option<String>,
    possibly_public: Option<String>,
    /// The deny-by-default wildcard (`Never`).
    never: bool,
}

/// The ACLs on agents, workflows and skills, keyed by sys_id and by (type, name).
pub struct Acls {
    read: bool,
    entries: Vec<Grantee>,
    by_sys_id: HashMap<String, usize>,
    by_name: HashMap<(AclKind, String), Vec<usize>>,
    wildcards: HashMap<AclKind, Vec<usize>>,
}

impl Acls {
    pub fn new(parts: &Parts, roles: &Roles) -> Self {
        let mut acl_roles: HashMap<&str, Vec<&str>> = HashMap::new();
        for r in records(parts, "sys_security_acl_role") {
            acl_roles
                .entry(text(r, "sys_security_acl"))
                .or_default()
                .push(text(r, "sys_user_role"));
        }
        let mut acls = Acls {
            read: collected(parts, "sys_security_acl") && collected(parts, "sys_security_acl_role"),
            entries: Vec::new(),
            by_sys_id: HashMap::new(),
            by_name: HashMap::new(),
            wildcards: HashMap::new(),
        };
        for acl in records(parts, "sys_security_acl") {
            let Some(kind) = AclKind::of(acl) else { continue };
            let operation = text(acl, "operation.name");
            if !flag(acl, "active") || text(acl, "decision_type") == "deny" || !matches!(operation, "" | "execute") {
                continue;
            }
            let role_ids = acl_roles.get(text(acl, "sys_id")).map(Vec::as_slice).unwrap_or(&[]);
            let index = acls.entries.len();
            acls.entries.push(grantee(acl, role_ids, roles));
            acls.by_sys_id.insert(text(acl, "sys_id").to_string(), index);
            match text(acl, "name") {
                "*" => acls.wildcards.entry(kind).or_default().push(index),
                name => acls.by_name.entry((kind, name.to_string())).or_default().push(index),
            }
        }
        acls
    }

    /// Whether some active wildcard ACL of these kinds lets callers through (not `Never`).
    pub fn wildcard_permissive(&self, kind: AclKind) -> bool {
        self.wildcards
            .get(&kind)
            .into_iter()
            .flatten()
            .any(|i| !self.entries[*i].never)
    }

    /// Who may invoke the record named `name` whose own `acl` column holds `acl_sys_id`.
    pub fn audience(&self, kind: AclKind, acl_sys_id: &str, name: &str) -> Audience {
        if !self.read {
            return Audience {
                unknown: Some("the ACL tables (sys_security_acl, sys_security_acl_role) were not read".into()),
                ..Default::default()
            };
        }
        let mut own: Vec<usize> = self.by_name.get(&(kind, name.to_string())).cloned().unwrap_or_default();
        if let Some(i) = self.by_sys_id.get(acl_sys_id) {
            own.push(*i);
        }
        own.sort();
        own.dedup();
        let own_acl = !own.is_empty();
        let applying = if own_acl {
            own
        } else {
            match self.wildcards.get(&kind) {
                Some(w) => w.clone(),
                None => {
                    return Audience {
                        unknown: Some(format!(
                            "no ACL names this {} and no wildcard {} ACL was found",
                            kind.label(),
                            kind.label()
                        )),
                        ..Default::default()
                    }
                }
            }
        };
        // Several ACLs on one record: passing any one grants access.
        let mut out = Audience {
            own_acl,
            ..Default::default()
        };
        let mut principals = BTreeSet::new();
        for i in applying {
            let g = &self.entries[i];
            principals.extend(g.principals.iter().cloned());
            out.unknown = out.unknown.or_else(|| g.unknown.clone());
            out.possibly_public = out.possibly_public.or_else(|| g.possibly_public.clone());
        }
        out.principals = principals.into_iter().collect();
        if out.principals.iter().any(|p| p == ANONYMOUS) {
            // Already public: nothing unknown can widen it.
            out.unknown = None;
            out.possibly_public = None;
        }
        out
    }
}

/// What one ACL grants. ACL parts are ANDed: roles (any one of them), the security attribute,
/// then a condition or script. A condition can only narrow what roles or the attribute allow,
/// so the roles or attribute are the audience; with neither, the condition decides alone.
fn grantee(acl: &Value, role_ids: &[&str], roles: &Roles) -> Grantee {
    let attribute_id = text(acl, "security_attribute");
    let attribute = text(acl, "security_attribute.name");
    if attribute.eq_ignore_ascii_case("never") {
        return Grantee {
            never: true,
            ..Default::default()
        };
    }
    let authenticated = attribute_id == ATTRIBUTE_AUTHENTICATED
        || attribute == "user_is_authenticated"
        || attribute.eq_ignore_ascii_case("loggedin");
    let admin_only = attribute_id == ATTRIBUTE_ADMIN || attribute == "has_admin_role";
    let other_attribute = !authenticated && !admin_only && (!attribute.is_empty() || !attribute_id.is_empty());
    let public = role_ids
        .iter()
        .any(|id| *id == PUBLIC_ROLE || roles.name(id) == "public");
    let narrowed = !text(acl, "condition").is_empty() || !text(acl, "script").is_empty();
    let one = |p: &str| vec![p.to_string()];
    if public {
        // The public role admits everyone; an attribute can still require a sign-in.
        return Grantee {
            principals: if authenticated {
                one(AUTHENTICATED)
            } else {
                one(ANONYMOUS)
            },
            ..Default::default()
        };
    }
    if !role_ids.is_empty() {
        return Grantee {
            principals: role_ids.iter().map(|id| role_principal(&roles.name(id))).collect(),
            ..Default::default()
        };
    }
    if authenticated {
        return Grantee {
            principals: one(AUTHENTICATED),
            ..Default::default()
        };
    }
    if admin_only {
        return Grantee {
            principals: one(&role_principal("admin")),
            ..Default::default()
        };
    }
    if other_attribute {
        let name = if attribute.is_empty() { attribute_id } else { attribute };
        return Grantee {
            unknown: Some(format!(
                "its ACL admits by the security attribute {name}, which cannot be evaluated from the records"
            )),
            ..Default::default()
        };
    }
    if narrowed {
        return Grantee {
            unknown: Some(
                "its ACL admits by a condition or script only, which cannot be evaluated from the records (possibly public)"
                    .into(),
            ),
            ..Default::default()
        };
    }
    // No role, attribute or condition: ServiceNow's own readers call this "any authenticated
    // user" (agents) or "Public" (workflows), so it is at least every signed-in user.
    Grantee {
        principals: one(AUTHENTICATED),
        possibly_public: Some(
            "its ACL has no role, security attribute or condition: ServiceNow reads that as public or as any authenticated user"
                .into(),
        ),
        ..Default::default()
    }
}

/// Role masks by the masked record's sys_id: `None` = allow all session roles.
pub fn role_masks(parts: &Parts, roles: &Roles) -> HashMap<String, Option<Vec<String>>> {
    let mut mapped: HashMap<&str, Vec<String>> = HashMap::new();
    for m in records(parts, "sys_agent_access_role_mapping") {
        mapped
            .entry(text(m, "agent_access_config"))
            .or_default()
            .push(roles.name(text(m, "role")));
    }
    let mut out = HashMap::new();
    for c in records(parts, "sys_agent_access_role_configuration") {
        let mask = if flag(c, "allow_all_session_roles") {
            None
        } else {
            let mut names: Vec<String> = text(c, "role_list")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|id| roles.name(id))
                .collect();
            names.extend(mapped.get(text(c, "sys_id")).cloned().unwrap_or_default());
            names.sort();
            names.dedup();
            // A configuration that limits to no roles at all does not limit anything.
            if names.is_empty() {
                None
            } else {
                Some(names)
            }
        };
        out.insert(text(c, "agent").to_string(), mask);
    }
    out
}

pub fn mask_has_elevated(masks: &HashMap<String, Option<Vec<String>>>, sys_id: &str, roles: &Roles) -> bool {
    masks
        .get(sys_id)
        .and_then(|m| m.as_ref())
        .is_some_and(|names| names.iter().any(|n| roles.elevated(n)))
}

/// A `sys_user` record (columns under `prefix`, e.g. `user.` when dot-walked) as a principal,
/// with a grant per role it holds.
pub fn user_principal(
    record: &Value,
    prefix: &str,
    sys_id: &str,
    mut held: Vec<String>,
    roles: &Roles,
    runs_agents: bool,
) -> (Principal, Vec<Grant>) {
    let column = |name: &str| format!("{prefix}{name}");
    held.sort();
    held.dedup();
    let identity_type = text(record, &column("identity_type"));
    let web_service_only = flag(record, &column("web_service_access_only"));
    let kind = match identity_type {
        "ai_agent" | "ai_agents" => PrincipalKind::AiIdentity,
        "machine" => PrincipalKind::ServiceAccount,
        _ if web_service_only => PrincipalKind::ServiceAccount,
        _ => PrincipalKind::User,
    };
    let grants = held
        .iter()
        .map(|role| Grant {
            holder: user_id(sys_id),
            target: format!("{P}:instance"),
            permission: role.clone(),
            level: if roles.elevated(role) {
                Level::Admin
            } else {
                Level::Read
            },
            scope: "tenant".into(),
            consent: None,
        })
        .collect();
    let principal = Principal {
        id: user_id(sys_id),
        kind,
        name: text(record, &column("user_name")).to_string(),
        privileged: held.iter().any(|r| roles.elevated(r)),
        roles: held,
        attributes: [
            (
                "identity_type".to_string(),
                json!(if identity_type.is_empty() {
                    "unclassified"
                } else {
                    identity_type
                }),
            ),
            ("web_service_access_only".to_string(), json!(web_service_only)),
            ("active".to_string(), json!(text(record, &column("active")) != "false")),
            ("locked_out".to_string(), json!(flag(record, &column("locked_out")))),
            ("run_as_for_agents".to_string(), json!(runs_agents)),
        ]
        .into_iter()
        .collect(),
    };
    (principal, grants)
}

pub fn special(id: &str, kind: PrincipalKind, name: &str) -> Principal {
    Principal {
        id: id.into(),
        kind,
        name: name.into(),
        privileged: false,
        roles: vec![],
        attributes: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    //! ACL rows as ServiceNow's SDK writes them (§9.2): types and attributes by sys_id.
    use super::*;
    use crate::ResourcePart;

    const AGENT_TYPE: &str = "fc55e9f79f8222109570e67e8a0a1c34";

    fn parts(acls: Value, roles: Value) -> Parts {
        [("sys_security_acl", acls), ("sys_security_acl_role", roles)]
            .into_iter()
            .map(|(t, v)| {
                let name = format!("servicenow.{t}");
                (
                    name.clone(),
                    ResourcePart::collected(&name, v.as_array().unwrap().clone(), 1),
                )
            })
            .collect()
    }

    fn acl(sys_id: &str, name: &str, attribute: &str, condition: &str) -> Value {
        json!({"sys_id": sys_id, "name": name, "type": AGENT_TYPE, "operation.name": "execute", "active": "true",
               "decision_type": "allow", "security_attribute": attribute, "condition": condition, "script": ""})
    }

    fn audience_of(acls: Value, roles: Value, acl_column: &str, name: &str) -> Audience {
        let p = parts(acls, roles);
        Acls::new(&p, &Roles::new(&p)).audience(AclKind::Agent, acl_column, name)
    }

    #[test]
    fn authenticated_attribute_by_sys_id_without_roles_is_every_signed_in_user() {
        let a = audience_of(
            json!([acl("a1", "global.global.x", ATTRIBUTE_AUTHENTICATED, "")]),
            json!([]),
            "",
            "global.global.x",
        );
        assert_eq!(a.principals, [AUTHENTICATED]);
        assert!(a.unknown.is_none() && a.own_acl);
    }

    #[test]
    fn public_role_by_sys_id_is_the_public() {
        let a = audience_of(
            json!([acl("a1", "global.global.x", "", "")]),
            json!([{"sys_security_acl": "a1", "sys_user_role": PUBLIC_ROLE}]),
            "",
            "global.global.x",
        );
        assert_eq!(a.principals, [ANONYMOUS]);
    }

    #[test]
    fn empty_and_condition_only_acls_are_never_nobody() {
        let empty = audience_of(
            json!([acl("a1", "global.global.x", "", "")]),
            json!([]),
            "",
            "global.global.x",
        );
        assert_eq!(empty.principals, [AUTHENTICATED]);
        assert!(empty.possibly_public.is_some(), "an empty ACL may be public");
        let condition = audience_of(
            json!([acl("a1", "global.global.x", "", "active=true")]),
            json!([]),
            "",
            "global.global.x",
        );
        assert!(condition.unknown.as_deref().is_some_and(|r| r.contains("condition")));
    }

    #[test]
    fn acl_column_and_name_with_type_decide_which_acl_applies() {
        // Same name, another type: not this agent's ACL.
        let mut other = acl("a1", "global.global.x", ATTRIBUTE_AUTHENTICATED, "");
        other["type"] = json!("0d986410ffdd2210c0e9ffffffffffc9");
        let a = audience_of(json!([other.clone()]), json!([]), "", "global.global.x");
        assert!(!a.own_acl, "a skill ACL of the same name does not apply to the agent");
        // Named by the agent's own `acl` column although its name differs.
        let mut renamed = acl("a2", "renamed", "", "");
        renamed["security_attribute"] = json!(ATTRIBUTE_AUTHENTICATED);
        let a = audience_of(json!([other, renamed]), json!([]), "a2", "global.global.x");
        assert!(a.own_acl);
        assert_eq!(a.principals, [AUTHENTICATED]);
    }
}
