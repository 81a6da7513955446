//! The tenants the simulator serves, as plain data, written from the reference's samples
//! (`shared/saas-apis/google-workspace-gemini.md` §2, §8, §9): customer `C01abc234`, domain
//! `example.com`, OUs `/` ("Example Corp"), `/Legal`, `/Engineering`, `/Sales`, the group
//! `ai-pilot@example.com`.
//!
//! - [`risky`]: Gemini and its neighbours open everywhere, AI apps holding mail and Drive
//!   grants (admins included), a DWD grant with broad scopes, an outside agent acting on Drive
//!   files, a public notebook.
//! - [`clean`]: the safe opposite of each of those.
//! - [`generated`]: `n` users with the risky policies, for volume (20,000 builds in well
//!   under a second).
//!
//! Times are relative to the moment a scenario is built, so "within the last 60 days" stays
//! true whenever the tests run.

use chrono::{DateTime, Duration, Utc};
use serde_json::{json, Value};

pub const CUSTOMER_ID: &str = "C01abc234";
pub const DOMAIN: &str = "example.com";
pub const ROOT_OU_ID: &str = "03ph8a2z1r7kq4x";
pub const LEGAL_OU_ID: &str = "03ph8a2z3legal01";
pub const ENGINEERING_OU_ID: &str = "03ph8a2z4eng0001";
pub const SALES_OU_ID: &str = "03ph8a2z5sales01";
pub const AI_PILOT_GROUP_ID: &str = "02xcytpi2aipilot";
pub const AI_PILOT_GROUP: &str = "ai-pilot@example.com";
/// The super admin's user id (not the sample's `109876543210987654321`: that is the service
/// account's client id here).
pub const ADMIN_USER_ID: &str = "103582719465013857201";
pub const DANA_USER_ID: &str = "104729385610473829156";
/// The service account granted domain-wide delegation in the risky tenant (admin log and
/// `access_evaluation` only: DWD grants have no list API, §2.4).
pub const DWD_CLIENT_ID: &str = "112233445566778899001";
pub const MEETNOTES_CLIENT_ID: &str = "418273650912-7kq2d9vbn3m5x8r1t4w6y0z2a4c6e8g0.apps.googleusercontent.com";
pub const CHATSIDEKICK_CLIENT_ID: &str = "77120033495.apps.googleusercontent.com";
pub const OTTER_CLIENT_ID: &str = "1036294787318-k2v4qz8t0s6n9m1l3j5h7f9d1b3x5z7c.apps.googleusercontent.com";
pub const ZOOM_CLIENT_ID: &str = "292824132082-9hb8vbq2lm1o5ckd3hqcpqpf2ddbpq6u.apps.googleusercontent.com";
pub const AGENT_ID: &str = "agent-7f3a";
pub const AGENT_NAME: &str = "Inbox Triage Agent";
pub const AGENT_OWNER: &str = "contractor@partner.example";
pub const SEED_ADMIN_ROLE_ID: &str = "91447265539014656";
pub const GROUPS_ADMIN_ROLE_ID: &str = "91447265539014657";
pub const USER_MANAGEMENT_ROLE_ID: &str = "91447265539014658";
pub const GEMINI_SETTINGS_ROLE_ID: &str = "91447265539014670";

const AUTH: &str = "https://www.googleapis.com/auth/";

#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub customer_id: String,
    pub domain: String,
    pub org_units: Vec<OrgUnit>,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub roles: Vec<Role>,
    pub role_assignments: Vec<RoleAssignment>,
    /// OAuth clients users have granted; `User::tokens` points into this list.
    pub apps: Vec<App>,
    pub policies: Vec<Policy>,
    /// Every audit application's activities, in any order (the server sorts).
    pub activities: Vec<Activity>,
}

#[derive(Debug, Clone)]
pub struct OrgUnit {
    /// Without the `id:` prefix the Directory API puts on it.
    pub id: String,
    pub path: String,
    pub name: String,
    pub description: String,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub email: String,
    pub given_name: String,
    pub family_name: String,
    pub org_unit_path: String,
    /// Super admin.
    pub is_admin: bool,
    pub is_delegated_admin: bool,
    pub suspended: bool,
    pub enrolled_2sv: bool,
    pub enforced_2sv: bool,
    pub creation_time: DateTime<Utc>,
    pub last_login_time: Option<DateTime<Utc>>,
    pub aliases: Vec<String>,
    /// Indices into `Scenario::apps`: the third-party grants `tokens.list` shows.
    pub tokens: Vec<usize>,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub email: String,
    pub name: String,
    pub description: String,
    /// Member user ids.
    pub members: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Role {
    pub id: String,
    pub name: String,
    pub description: String,
    /// (privilegeName, serviceId).
    pub privileges: Vec<(String, String)>,
    pub is_system: bool,
    pub is_super_admin: bool,
}

#[derive(Debug, Clone)]
pub struct RoleAssignment {
    pub id: String,
    pub role_id: String,
    /// A user or group id.
    pub assigned_to: String,
    /// `user` or `group` (lowercase, §9.1.4).
    pub assignee_type: String,
    /// `CUSTOMER` or `ORG_UNIT`.
    pub scope_type: String,
    pub org_unit_id: Option<String>,
    pub expire_time: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct App {
    pub client_id: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub anonymous: bool,
    pub native_app: bool,
}

#[derive(Debug, Clone)]
pub struct Policy {
    /// The part after `policies/`.
    pub id: String,
    /// The CEL query; root policies in the samples carry none.
    pub query: Option<String>,
    /// The OU id (`orgUnits/{id}` on the wire).
    pub org_unit: String,
    /// As sent: `groups/{id}`, or a non-conforming value such as `WORKSPACE_ALL_ADMIN_GROUP`.
    pub group: Option<String>,
    pub sort_order: f64,
    pub setting_type: String,
    pub value: Value,
    /// `SYSTEM` or `ADMIN`.
    pub kind: String,
}

#[derive(Debug, Clone)]
pub struct Activity {
    pub application: String,
    pub time: DateTime<Utc>,
    pub unique_qualifier: String,
    pub actor: Actor,
    pub ip_address: Option<String>,
    pub network_info: Option<NetworkInfo>,
    pub events: Vec<Event>,
    /// §9.2: set on events an AI agent performed.
    pub agent: Option<Agent>,
    pub resources: Vec<Resource>,
}

#[derive(Debug, Clone)]
pub struct Actor {
    pub caller_type: String,
    pub email: String,
    pub profile_id: String,
    /// `actor.applicationInfo` (an app acting, or a service account impersonating).
    pub application: Option<ActorApplication>,
}

#[derive(Debug, Clone)]
pub struct ActorApplication {
    pub name: String,
    pub oauth_client_id: String,
    pub impersonation: bool,
}

#[derive(Debug, Clone)]
pub struct NetworkInfo {
    pub ip_asn: Vec<u32>,
    pub region_code: String,
    pub subdivision_code: String,
}

#[derive(Debug, Clone)]
pub struct Agent {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub owner_email: String,
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub id: String,
    pub title: String,
    pub kind: String,
    pub relation: String,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub kind: String,
    pub name: String,
    pub parameters: Vec<Param>,
}

#[derive(Debug, Clone)]
pub struct Param {
    pub name: String,
    pub value: ParamValue,
}

#[derive(Debug, Clone)]
pub enum ParamValue {
    Text(String),
    Int(i64),
    Bool(bool),
    Multi(Vec<String>),
    Messages(Vec<Vec<Param>>),
}

impl Scenario {
    pub fn user_by_email(&self, email: &str) -> Option<&User> {
        self.users.iter().find(|u| u.email.eq_ignore_ascii_case(email))
    }

    pub fn org_unit_by_path(&self, path: &str) -> Option<&OrgUnit> {
        self.org_units.iter().find(|o| o.path == path)
    }
}

/// `risky`, `clean`, `generated` (1,000 users) or `generated:<n>`.
pub fn by_name(name: &str) -> Option<Scenario> {
    match name {
        "risky" => Some(risky()),
        "clean" => Some(clean()),
        "generated" => Some(generated(1000)),
        other => other
            .strip_prefix("generated:")
            .and_then(|n| n.parse().ok())
            .map(generated),
    }
}

// ---------------------------------------------------------------------------------------
// Building blocks

/// Deterministic times and unique qualifiers.
struct Clock {
    now: DateTime<Utc>,
    seq: u64,
}

impl Clock {
    fn new() -> Clock {
        Clock {
            now: Utc::now(),
            seq: 0,
        }
    }

    fn ago(&self, days: i64, hours: i64, minutes: i64) -> DateTime<Utc> {
        self.now - Duration::days(days) - Duration::hours(hours) - Duration::minutes(minutes)
    }

    /// A 19-digit int64 like Google's (sometimes negative, as in the §2.3.2 sample).
    fn qualifier(&mut self) -> String {
        self.seq += 1;
        let mixed = self
            .seq
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .rotate_left(17)
            .wrapping_add(0x2545_F491_4F6C_DD1D);
        // 19 digits, inside the int64 range.
        let n = (mixed % 8_000_000_000_000_000_000) + 1_000_000_000_000_000_000;
        if mixed & 1 == 1 {
            format!("-{n}")
        } else {
            n.to_string()
        }
    }
}

fn text(name: &str, value: &str) -> Param {
    Param {
        name: name.into(),
        value: ParamValue::Text(value.into()),
    }
}

fn multi(name: &str, values: &[&str]) -> Param {
    Param {
        name: name.into(),
        value: ParamValue::Multi(values.iter().map(|v| v.to_string()).collect()),
    }
}

fn int(name: &str, value: i64) -> Param {
    Param {
        name: name.into(),
        value: ParamValue::Int(value),
    }
}

fn boolean(name: &str, value: bool) -> Param {
    Param {
        name: name.into(),
        value: ParamValue::Bool(value),
    }
}

fn event(kind: &str, name: &str, parameters: Vec<Param>) -> Event {
    Event {
        kind: kind.into(),
        name: name.into(),
        parameters,
    }
}

fn actor(user: &User) -> Actor {
    Actor {
        caller_type: "USER".into(),
        email: user.email.clone(),
        profile_id: user.id.clone(),
        application: None,
    }
}

fn office_network() -> Option<NetworkInfo> {
    Some(NetworkInfo {
        ip_asn: vec![64500],
        region_code: "US".into(),
        subdivision_code: "US-CA".into(),
    })
}

fn activity(clock: &mut Clock, app: &str, time: DateTime<Utc>, who: &User, events: Vec<Event>) -> Activity {
    Activity {
        application: app.into(),
        time,
        unique_qualifier: clock.qualifier(),
        actor: actor(who),
        ip_address: Some(if who.is_admin {
            "198.51.100.7".into()
        } else {
            "203.0.113.45".into()
        }),
        network_info: None,
        events,
        agent: None,
        resources: Vec::new(),
    }
}

fn scope(short: &str) -> String {
    if short.starts_with("https://") || short == "openid" {
        short.to_string()
    } else {
        format!("{AUTH}{short}")
    }
}

fn app(client_id: &str, name: &str, scopes: &[&str], anonymous: bool, native_app: bool) -> App {
    App {
        client_id: client_id.into(),
        name: name.into(),
        scopes: scopes.iter().map(|s| scope(s)).collect(),
        anonymous,
        native_app,
    }
}

fn org_units() -> Vec<OrgUnit> {
    let ou = |id: &str, path: &str, name: &str, description: &str| OrgUnit {
        id: id.into(),
        path: path.into(),
        name: name.into(),
        description: description.into(),
    };
    vec![
        ou(ROOT_OU_ID, "/", "Example Corp", ""),
        ou(LEGAL_OU_ID, "/Legal", "Legal", "Counsel, contracts and compliance"),
        ou(ENGINEERING_OU_ID, "/Engineering", "Engineering", "Product engineering"),
        ou(SALES_OU_ID, "/Sales", "Sales", "Field and inside sales"),
    ]
}

/// The eleven people of the risky and clean tenants: id, local part, given and family name,
/// OU, and flags (`super`, `delegated`, `suspended`, `no2sv`; `-` for none).
const PEOPLE: &str = "\
    103582719465013857201 it-admin     IT     Admin  /            super
    104729385610473829156 dana.ortiz   Dana   Ortiz  /Legal       delegated
    105112233445566778801 priya.shah   Priya  Shah   /Engineering -
    105112233445566778802 marcus.lee   Marcus Lee    /Engineering delegated
    105112233445566778803 omar.haddad  Omar   Haddad /Engineering -
    105112233445566778804 sofia.rossi  Sofia  Rossi  /Sales       no2sv
    105112233445566778805 tom.becker   Tom    Becker /Sales       suspended,no2sv
    105112233445566778806 lena.novak   Lena   Novak  /Sales       no2sv
    105112233445566778807 grace.kim    Grace  Kim    /Legal       -
    105112233445566778808 nina.patel   Nina   Patel  /Legal       -
    105112233445566778809 jamal.wright Jamal  Wright /            no2sv";

fn person(clock: &Clock, row: &str, n: i64) -> User {
    let cols: Vec<&str> = row.split_whitespace().collect();
    let [id, local, given, family, ou, flags] = cols[..] else {
        panic!("a PEOPLE row has six columns: {row:?}");
    };
    let flag = |f: &str| flags.split(',').any(|x| x == f);
    let (suspended, enrolled_2sv) = (flag("suspended"), !flag("no2sv"));
    User {
        id: id.into(),
        email: format!("{local}@{DOMAIN}"),
        given_name: given.into(),
        family_name: family.into(),
        org_unit_path: ou.into(),
        is_admin: flag("super"),
        is_delegated_admin: flag("delegated"),
        suspended,
        enrolled_2sv,
        enforced_2sv: enrolled_2sv && ou != "/Sales",
        creation_time: clock.ago(900 + 37 * n, 3 * n, 11),
        last_login_time: (!suspended).then(|| clock.ago(n % 4, 2 + n, 14)),
        aliases: if flag("super") {
            vec![format!("admin@{DOMAIN}")]
        } else {
            Vec::new()
        },
        tokens: Vec::new(),
    }
}

fn roles() -> Vec<Role> {
    let privileges = |list: &[(&str, &str)]| list.iter().map(|(p, s)| (p.to_string(), s.to_string())).collect();
    vec![
        Role {
            id: SEED_ADMIN_ROLE_ID.into(),
            name: "_SEED_ADMIN_ROLE".into(),
            description: "Super Admin".into(),
            privileges: privileges(&[
                ("SUPER_ADMIN", "01ci93xb3tmzyin"),
                ("ROOT_APP_ADMIN", "00haapch16h1ysv"),
                ("USERS_ALL", "00haapch16h1ysv"),
            ]),
            is_system: true,
            is_super_admin: true,
        },
        Role {
            id: GROUPS_ADMIN_ROLE_ID.into(),
            name: "_GROUPS_ADMIN_ROLE".into(),
            description: "Groups Administrator".into(),
            privileges: privileges(&[
                ("GROUPS_ALL", "00haapch16h1ysv"),
                ("ORGANIZATION_UNITS_RETRIEVE", "00haapch16h1ysv"),
            ]),
            is_system: true,
            is_super_admin: false,
        },
        Role {
            id: USER_MANAGEMENT_ROLE_ID.into(),
            name: "_USER_MANAGEMENT_ADMIN_ROLE".into(),
            description: "User Management Administrator".into(),
            privileges: privileges(&[("USERS_ALL", "00haapch16h1ysv")]),
            is_system: true,
            is_super_admin: false,
        },
        Role {
            id: GEMINI_SETTINGS_ROLE_ID.into(),
            name: "Gemini Settings Admin".into(),
            description: "Can change Gemini app and Gemini in Workspace settings".into(),
            // The privilege's real name is not published (reference §2.2: UNCONFIRMED).
            privileges: privileges(&[
                ("GEMINI_SETTINGS_MANAGE", "03hv69ve4bjwe54"),
                ("APP_ADMIN", "03hv69ve4bjwe54"),
            ]),
            is_system: false,
            is_super_admin: false,
        },
    ]
}

fn assignment(id: &str, role: &str, to: &str, kind: &str, ou: Option<&str>) -> RoleAssignment {
    RoleAssignment {
        id: id.into(),
        role_id: role.into(),
        assigned_to: to.into(),
        assignee_type: kind.into(),
        scope_type: if ou.is_some() { "ORG_UNIT" } else { "CUSTOMER" }.into(),
        org_unit_id: ou.map(str::to_string),
        expire_time: None,
    }
}

/// Role assignments over the named people (`marcus` is the time-bound Gemini settings admin).
fn role_assignments(clock: &Clock, marcus: &str) -> Vec<RoleAssignment> {
    let mut timebound = assignment("91447265539014703", GEMINI_SETTINGS_ROLE_ID, marcus, "user", None);
    timebound.expire_time = Some(clock.now + Duration::days(14));
    vec![
        assignment("91447265539014700", SEED_ADMIN_ROLE_ID, ADMIN_USER_ID, "user", None),
        assignment(
            "91447265539014701",
            GROUPS_ADMIN_ROLE_ID,
            DANA_USER_ID,
            "user",
            Some(LEGAL_OU_ID),
        ),
        assignment(
            "91447265539014702",
            GEMINI_SETTINGS_ROLE_ID,
            AI_PILOT_GROUP_ID,
            "group",
            None,
        ),
        timebound,
        assignment(
            "91447265539014704",
            USER_MANAGEMENT_ROLE_ID,
            marcus,
            "user",
            Some(ENGINEERING_OU_ID),
        ),
    ]
}

fn groups(pilot_members: Vec<String>, everyone: Vec<String>) -> Vec<Group> {
    vec![
        Group {
            id: AI_PILOT_GROUP_ID.into(),
            email: AI_PILOT_GROUP.into(),
            name: "AI Pilot".into(),
            description: "Early adopters of Gemini features".into(),
            members: pilot_members,
        },
        Group {
            id: "01ci93xb3tmzyin".into(),
            email: format!("all-staff@{DOMAIN}"),
            name: "All staff".into(),
            description: "Everyone at Example Corp".into(),
            members: everyone,
        },
    ]
}

/// The named tenant's directory: OUs, the eleven people, groups, roles and assignments.
fn directory(name: &str, clock: &Clock) -> Scenario {
    let users: Vec<User> = PEOPLE
        .lines()
        .enumerate()
        .map(|(n, row)| person(clock, row, n as i64))
        .collect();
    let id_of = |local: &str| {
        users
            .iter()
            .find(|u| u.email.starts_with(&format!("{local}@")))
            .map(|u| u.id.clone())
            .unwrap_or_default()
    };
    let pilot = vec![id_of("priya.shah"), id_of("marcus.lee"), id_of("sofia.rossi")];
    let everyone = users.iter().map(|u| u.id.clone()).collect();
    Scenario {
        name: name.into(),
        customer_id: CUSTOMER_ID.into(),
        domain: DOMAIN.into(),
        org_units: org_units(),
        groups: groups(pilot, everyone),
        roles: roles(),
        role_assignments: role_assignments(clock, &id_of("marcus.lee")),
        users,
        apps: Vec::new(),
        policies: Vec::new(),
        activities: Vec::new(),
    }
}

fn grant(scenario: &mut Scenario, local: &str, app: usize) {
    let email = format!("{local}@{DOMAIN}");
    if let Some(u) = scenario.users.iter_mut().find(|u| u.email == email) {
        u.tokens.push(app);
    }
}

fn user<'a>(scenario: &'a Scenario, local: &str) -> &'a User {
    scenario
        .user_by_email(&format!("{local}@{DOMAIN}"))
        .expect("the scenario has that person")
}

// ---------------------------------------------------------------------------------------
// Policies

/// Non-AI services a real tenant lists with a `service_status` (about 70 in the real-tenant
/// output of §8.2); SYSTEM rows at the root. They also push the list past two 50-policy pages.
const OTHER_SERVICES: &str = "\
    gmail calendar drive_and_docs chat meet sites groups_for_business keep tasks vault cloud_search \
    classroom currents appsheet apps_script contacts jamboard google_voice workspace_migrate blogger \
    youtube maps google_ads google_analytics google_photos google_play google_play_console \
    google_books google_bookmarks google_pay google_public_profile google_translator_toolkit \
    search_console merchant_center my_maps location_history google_news google_earth \
    google_developers google_cloud_platform google_domains google_takeout google_shopping \
    google_alerts arts_and_culture chrome_sync looker_studio scholar_profiles partner_dash \
    programmable_search_engine access_transparency chrome_canvas chrome_remote_desktop \
    chrome_web_store firebase campaign_manager display_and_video search_ads tag_manager \
    google_surveys web_designer brand_accounts third_party_app_backups google_workspace_marketplace \
    youtube_studio google_fit google_finance google_groups google_lens google_one google_trips \
    google_public_alerts mobile_management fiber google_meet_hardware google_cast google_home \
    google_messages google_nest google_store google_wallet manufacturer_center map_maker \
    material_gallery open_source orkut_archive picasa_archive question_hub search_and_browse waze";

struct Policies {
    seq: usize,
    out: Vec<Policy>,
}

impl Policies {
    fn new() -> Policies {
        Policies {
            seq: 0,
            out: Vec::new(),
        }
    }

    /// `ahv0bq3xk…nvrfpuefam`, as in the sample, with a base-32 counter in the middle.
    fn next_id(&mut self) -> String {
        self.seq += 1;
        const DIGITS: &[u8] = b"abcdefghijklmnopqrstuvwxyz234567";
        let mut n = self.seq * 7919;
        let mut middle = String::new();
        for _ in 0..6 {
            middle.push(DIGITS[n % 32] as char);
            n /= 32;
        }
        format!("ahv0bq3xk{middle}nvrfpuefam")
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        query: Option<String>,
        ou: &str,
        group: Option<String>,
        sort: f64,
        kind: &str,
        setting: &str,
        value: Value,
    ) {
        let id = self.next_id();
        self.out.push(Policy {
            id,
            query,
            org_unit: ou.into(),
            group,
            sort_order: sort,
            setting_type: format!("settings/{setting}"),
            value,
            kind: kind.into(),
        });
    }

    /// A root policy: SYSTEM rows carry 101, ADMIN rows a 2xx order.
    fn root(&mut self, kind: &str, sort: f64, setting: &str, value: Value) {
        self.push(None, ROOT_OU_ID, None, sort, kind, setting, value);
    }

    fn ou(&mut self, ou: &str, sort: f64, setting: &str, value: Value) {
        let query = format!("entity.org_units.exists(orgUnit, orgUnit.org_unit_id == orgUnitId('{ou}'))");
        self.push(Some(query), ou, None, sort, "ADMIN", setting, value);
    }

    /// A group policy carries both the root OU and the group (§5.2).
    fn group(&mut self, group: &str, sort: f64, setting: &str, value: Value) {
        let query = format!("entity.groups.exists(group, group.group_id == groupId('{group}'))");
        let value_group = if group.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()) {
            format!("groups/{group}")
        } else {
            group.to_string()
        };
        self.push(
            Some(query),
            ROOT_OU_ID,
            Some(value_group),
            sort,
            "ADMIN",
            setting,
            value,
        );
    }

    fn others(&mut self) {
        for service in OTHER_SERVICES.split_whitespace() {
            self.root(
                "SYSTEM",
                101.0,
                &format!("{service}.service_status"),
                json!({"serviceState": "ENABLED"}),
            );
        }
        // The non-conforming group value real tenants return (§2.1, §5.2).
        self.group(
            "WORKSPACE_ALL_ADMIN_GROUP",
            399.00031,
            "security.super_admin_account_recovery",
            json!({"enableAccountRecovery": false}),
        );
        self.root(
            "SYSTEM",
            101.0,
            "meet.automatic_transcription",
            json!({"enabled": true}),
        );
    }
}

fn on(state: bool) -> Value {
    json!({"serviceState": if state { "ENABLED" } else { "DISABLED" }})
}

fn risky_policies() -> Vec<Policy> {
    let mut p = Policies::new();
    p.root("ADMIN", 201.00031, "gemini_app.service_status", on(true));
    // Nobody decided: Google's baseline rows.
    p.root("SYSTEM", 101.0, "notebooklm.service_status", on(true));
    p.root("SYSTEM", 101.0, "ai_studio.service_status", on(true));
    p.root("SYSTEM", 101.0, "early_access_apps.service_status", on(false));
    p.group(
        AI_PILOT_GROUP_ID,
        399.00027,
        "early_access_apps.service_status",
        on(true),
    );
    p.root("ADMIN", 201.0002, "experimental_apps.service_status", on(true));
    p.root(
        "SYSTEM",
        101.0,
        "enterprise_service_restrictions.service_status",
        on(false),
    );
    p.root(
        "SYSTEM",
        101.0,
        "drive_and_docs.external_sharing",
        json!({
            "externalSharingMode": "ALLOWED", "allowPublishingFiles": true, "allowNonGoogleInvites": true,
            "allowNonGoogleInvitesInAllowlistedDomains": false, "allowReceivingExternalFiles": true,
            "allowReceivingFilesOutsideAllowlistedDomains": true, "warnForExternalSharing": true,
            "warnForSharingOutsideAllowlistedDomains": true,
            "accessCheckerSuggestions": "RECIPIENTS_OR_AUDIENCE_OR_PUBLIC",
            "allowedPartiesForDistributingContent": "ALL_ELIGIBLE_USERS",
        }),
    );
    p.ou(
        LEGAL_OU_ID,
        202.00011,
        "drive_and_docs.external_sharing",
        json!({
            "externalSharingMode": "DISALLOWED", "allowPublishingFiles": false, "allowNonGoogleInvites": false,
            "allowNonGoogleInvitesInAllowlistedDomains": false, "allowReceivingExternalFiles": false,
            "allowReceivingFilesOutsideAllowlistedDomains": false, "warnForExternalSharing": true,
            "warnForSharingOutsideAllowlistedDomains": true, "accessCheckerSuggestions": "RECIPIENTS_ONLY",
            "allowedPartiesForDistributingContent": "ELIGIBLE_INTERNAL_USERS",
        }),
    );
    p.root(
        "ADMIN",
        201.0005,
        "drive_and_docs.general_access_default",
        json!({"defaultFileAccess": "PRIMARY_AUDIENCE_WITH_LINK"}),
    );
    p.root(
        "SYSTEM",
        101.0,
        "drive_and_docs.drive_sdk",
        json!({"enableDriveSdkApiAccess": true}),
    );
    p.root(
        "SYSTEM",
        101.0,
        "api_controls.unconfigured_third_party_apps",
        json!({"accessLevel": "ACCESS_LEVEL_UNSPECIFIED", "accessLevelUnder18": "ACCESS_LEVEL_UNDER18_UNSPECIFIED"}),
    );
    // Gmail restricted to lower-risk scopes only; Drive not restricted at all.
    p.root(
        "ADMIN",
        201.0018,
        "api_controls.google_services",
        json!({"services": [{"scopesGroup": "GMAIL_HIGH_RISK", "isEnabled": false}]}),
    );
    p.root(
        "ADMIN",
        201.0006,
        "api_controls.internal_apps",
        json!({"trustInternalApps": true}),
    );
    p.root(
        "ADMIN",
        201.0007,
        "api_controls.app_approval_requests",
        json!({"allowedForAll": "ENABLED"}),
    );
    p.root(
        "SYSTEM",
        101.0,
        "workspace_marketplace.apps_access_options",
        json!({"accessLevel": "ALLOW_ALL", "allowAllInternalApps": false}),
    );
    p.root(
        "ADMIN",
        201.0008,
        "calendar.external_invitations",
        json!({"warnOnInvite": false}),
    );
    p.others();
    p.out
}

fn clean_policies() -> Vec<Policy> {
    let mut p = Policies::new();
    p.root("ADMIN", 201.00031, "gemini_app.service_status", on(false));
    p.ou(ENGINEERING_OU_ID, 202.00004, "gemini_app.service_status", on(true));
    p.root("ADMIN", 201.0011, "notebooklm.service_status", on(false));
    p.root("ADMIN", 201.0012, "ai_studio.service_status", on(false));
    p.root("SYSTEM", 101.0, "early_access_apps.service_status", on(false));
    p.root("ADMIN", 201.0002, "experimental_apps.service_status", on(false));
    p.root(
        "ADMIN",
        201.0013,
        "enterprise_service_restrictions.service_status",
        on(true),
    );
    p.root(
        "ADMIN",
        201.0014,
        "drive_and_docs.external_sharing",
        json!({
            "externalSharingMode": "ALLOWLISTED_DOMAINS", "allowPublishingFiles": false,
            "allowNonGoogleInvites": false, "allowNonGoogleInvitesInAllowlistedDomains": false,
            "allowReceivingExternalFiles": false, "allowReceivingFilesOutsideAllowlistedDomains": false,
            "warnForExternalSharing": true, "warnForSharingOutsideAllowlistedDomains": true,
            "accessCheckerSuggestions": "RECIPIENTS_ONLY",
            "allowedPartiesForDistributingContent": "ELIGIBLE_INTERNAL_USERS",
        }),
    );
    p.ou(
        LEGAL_OU_ID,
        202.00011,
        "drive_and_docs.external_sharing",
        json!({
            "externalSharingMode": "DISALLOWED", "allowPublishingFiles": false, "allowNonGoogleInvites": false,
            "allowNonGoogleInvitesInAllowlistedDomains": false, "allowReceivingExternalFiles": false,
            "allowReceivingFilesOutsideAllowlistedDomains": false, "warnForExternalSharing": true,
            "warnForSharingOutsideAllowlistedDomains": true, "accessCheckerSuggestions": "RECIPIENTS_ONLY",
            "allowedPartiesForDistributingContent": "NONE",
        }),
    );
    p.root(
        "ADMIN",
        201.0005,
        "drive_and_docs.general_access_default",
        json!({"defaultFileAccess": "PRIVATE_TO_OWNER"}),
    );
    p.root(
        "ADMIN",
        201.0015,
        "drive_and_docs.drive_sdk",
        json!({"enableDriveSdkApiAccess": false}),
    );
    p.root(
        "ADMIN",
        201.0016,
        "api_controls.unconfigured_third_party_apps",
        json!({"accessLevel": "BLOCK_ALL", "accessLevelUnder18": "ACCESS_LEVEL_UNDER18_UNSPECIFIED"}),
    );
    // An `*_ALL` entry is present only when that service is restricted (§2.1.3).
    p.root(
        "ADMIN",
        201.0017,
        "api_controls.google_services",
        json!({"services": [
            {"scopesGroup": "DRIVE_ALL", "isEnabled": false},
            {"scopesGroup": "GMAIL_ALL", "isEnabled": false},
        ]}),
    );
    p.root(
        "ADMIN",
        201.0006,
        "api_controls.internal_apps",
        json!({"trustInternalApps": false}),
    );
    p.root(
        "ADMIN",
        201.0007,
        "api_controls.app_approval_requests",
        json!({"allowedForAll": "DISABLED"}),
    );
    p.root(
        "ADMIN",
        201.0018,
        "workspace_marketplace.apps_access_options",
        json!({"accessLevel": "ALLOW_LISTED_APPS", "allowAllInternalApps": false}),
    );
    p.root(
        "ADMIN",
        201.0019,
        "workspace_marketplace.apps_allowlist",
        json!({"apps": [{"applicationId": "364750910244", "access": "ALLOWED"}]}),
    );
    p.root(
        "ADMIN",
        201.0008,
        "calendar.external_invitations",
        json!({"warnOnInvite": true}),
    );
    p.others();
    p.out
}

// ---------------------------------------------------------------------------------------
// Audit events

/// The editions one console change fans out to (§8.4), besides the event without one.
const EDITIONS: &[&str] = &[
    "duet_edition",
    "duet_gemini_enterprise_plus_2024",
    "enterprise",
    "standard",
];

/// A `CHANGE_APPLICATION_SETTING` (with the per-edition fan-out when `fan_out`).
#[allow(clippy::too_many_arguments)]
fn setting_change(
    clock: &mut Clock,
    admin: &User,
    time: DateTime<Utc>,
    app: &str,
    setting: &str,
    old: &str,
    new: &str,
    fan_out: bool,
) -> Vec<Activity> {
    let editions: Vec<Option<&str>> = if fan_out {
        std::iter::once(None).chain(EDITIONS.iter().map(|e| Some(*e))).collect()
    } else {
        vec![None]
    };
    editions
        .into_iter()
        .map(|edition| {
            let mut params = vec![
                text("APPLICATION_NAME", app),
                text("SETTING_NAME", setting),
                text("OLD_VALUE", old),
                text("NEW_VALUE", new),
                text("ORG_UNIT_NAME", "Example Corp"),
            ];
            if let Some(e) = edition {
                params.push(text("APPLICATION_EDITION", e));
            }
            let mut a = activity(
                clock,
                "admin",
                time,
                admin,
                vec![event("APPLICATION_SETTINGS", "CHANGE_APPLICATION_SETTING", params)],
            );
            a.network_info = office_network();
            a
        })
        .collect()
}

fn admin_event(
    clock: &mut Clock,
    admin: &User,
    time: DateTime<Utc>,
    kind: &str,
    name: &str,
    params: Vec<Param>,
) -> Activity {
    let mut a = activity(clock, "admin", time, admin, vec![event(kind, name, params)]);
    a.network_info = office_network();
    a
}

/// (days ago, APPLICATION_NAME, SETTING_NAME, (OLD_VALUE, NEW_VALUE), per-edition fan-out).
type Change = (i64, &'static str, &'static str, (&'static str, &'static str), bool);

/// The Gemini switches and their neighbours, set open (`risky`) or safe.
fn admin_events(clock: &mut Clock, admin: &User, risky: bool) -> Vec<Activity> {
    // (OLD_VALUE, NEW_VALUE): opened in the risky tenant, closed in the clean one.
    let to = |open: bool, open_value: &'static str, safe: &'static str| {
        if open {
            (safe, open_value)
        } else {
            (open_value, safe)
        }
    };
    let mut out = Vec::new();
    let t = clock.ago(52, 3, 0);
    out.push(admin_event(
        clock,
        admin,
        t,
        "ORG_SETTINGS",
        "TOGGLE_SERVICE_ENABLED",
        vec![
            text("SERVICE_NAME", "Gemini app"),
            text("NEW_VALUE", if risky { "true" } else { "false" }),
            text("ORG_UNIT_NAME", "Example Corp"),
            text("DOMAIN_NAME", DOMAIN),
        ],
    ));
    if !risky {
        let t = clock.ago(52, 2, 40);
        out.push(admin_event(
            clock,
            admin,
            t,
            "ORG_SETTINGS",
            "TOGGLE_SERVICE_ENABLED",
            vec![
                text("SERVICE_NAME", "Gemini app"),
                text("NEW_VALUE", "true"),
                text("ORG_UNIT_NAME", "Engineering"),
                text("DOMAIN_NAME", DOMAIN),
            ],
        ));
    }
    let changes: [Change; 4] = [
        (
            45,
            "Gemini app",
            "BardNonDuetEnablementProto enable_bard_non_duet_access",
            to(risky, "true", "false"),
            true,
        ),
        (
            40,
            "Gemini in Workspace apps",
            "GenAiAlphaSettingsProto alpha_enabled",
            to(risky, "true", "false"),
            true,
        ),
        (
            33,
            "Data regions",
            "GeminiNonRegionalizedFunctionalityStateSettingsProto state",
            to(risky, "ENABLED", "DISABLED"),
            false,
        ),
        (
            27,
            "Gemini app",
            "BardSharingDasherProto sharing_modality",
            to(risky, "CONSUMER_SHARING", "NONE"),
            false,
        ),
    ];
    for (days, app, setting, (old, new), fan_out) in changes {
        let t = clock.ago(days, 1, 17);
        out.extend(setting_change(clock, admin, t, app, setting, old, new, fan_out));
    }
    let t = clock.ago(20, 5, 2);
    out.push(admin_event(
        clock,
        admin,
        t,
        "ORG_SETTINGS",
        "TOGGLE_AUTO_ADD_NEW_SERVICE",
        vec![
            text("NEW_VALUE", if risky { "true" } else { "false" }),
            text("DOMAIN_NAME", DOMAIN),
        ],
    ));
    if risky {
        let t = clock.ago(12, 6, 45);
        out.push(admin_event(
            clock,
            admin,
            t,
            "DOMAIN_SETTINGS",
            "AUTHORIZE_API_CLIENT_ACCESS",
            vec![
                text("API_CLIENT_NAME", DWD_CLIENT_ID),
                multi(
                    "API_SCOPES",
                    &["https://mail.google.com/", "https://www.googleapis.com/auth/drive"],
                ),
                text("DOMAIN_NAME", DOMAIN),
            ],
        ));
    }
    out
}

fn product_bucket(scope: &str) -> &'static str {
    if scope.contains("mail.google.com") || scope.contains("gmail") {
        "GMAIL"
    } else if scope.contains("drive") || scope.contains("spreadsheets") || scope.contains("documents") {
        "DRIVE"
    } else if scope.contains("calendar") {
        "CALENDAR"
    } else if scope == "openid" || scope.contains("userinfo") {
        "IDENTITY"
    } else {
        "OTHER"
    }
}

/// A token `authorize` event (§2.3.1 sample) for `user` granting `app`.
fn authorize(clock: &mut Clock, user: &User, app: &App, time: DateTime<Utc>) -> Activity {
    let scope_data = app
        .scopes
        .iter()
        .map(|s| {
            vec![
                text("scope_name", s),
                Param {
                    name: "product_bucket".into(),
                    value: ParamValue::Multi(vec![product_bucket(s).into()]),
                },
            ]
        })
        .collect();
    let params = vec![
        text("client_id", &app.client_id),
        text("app_name", &app.name),
        text("client_type", if app.native_app { "NATIVE_DESKTOP" } else { "WEB" }),
        Param {
            name: "scope_data".into(),
            value: ParamValue::Messages(scope_data),
        },
        Param {
            name: "scope".into(),
            value: ParamValue::Multi(app.scopes.clone()),
        },
    ];
    activity(clock, "token", time, user, vec![event("auth", "authorize", params)])
}

/// `authorize` for every grant (at most `cap`), and API use by the first AI app holder.
fn token_events(clock: &mut Clock, scenario: &Scenario, cap: usize) -> Vec<Activity> {
    let mut out = Vec::new();
    for (n, u) in scenario.users.iter().enumerate() {
        for &a in &u.tokens {
            if out.len() >= cap {
                return out;
            }
            let time = clock.ago(5 + (n as i64 * 7 + a as i64 * 3) % 80, (n % 24) as i64, 9);
            out.push(authorize(clock, u, &scenario.apps[a], time));
        }
    }
    if let Some((u, app)) = scenario.users.iter().find_map(|u| {
        u.tokens
            .iter()
            .find(|&&a| scenario.apps[a].client_id == MEETNOTES_CLIENT_ID)
            .map(|&a| (u, a))
    }) {
        let app = &scenario.apps[app];
        for (i, (api, method)) in [("gmail", "gmail.users.messages.list"), ("drive", "drive.files.list")]
            .iter()
            .enumerate()
        {
            let time = clock.ago(1, i as i64, 30);
            let params = vec![
                text("api_name", api),
                text("app_name", &app.name),
                text("client_id", &app.client_id),
                text("client_type", "WEB"),
                text("method_name", method),
                int("num_response_bytes", 48_213 + i as i64 * 1_000),
                text("product_bucket", if *api == "gmail" { "GMAIL" } else { "DRIVE" }),
            ];
            out.push(activity(
                clock,
                "token",
                time,
                u,
                vec![event("auth", "activity", params)],
            ));
        }
    }
    out
}

fn usage(clock: &mut Clock, user: &User, days: i64, app: &str, action: &str, category: &str) -> Activity {
    let time = clock.ago(days, 2, (clock.seq % 47) as i64);
    let mut a = activity(
        clock,
        "gemini_in_workspace_apps",
        time,
        user,
        vec![event(
            "ai_usage_event",
            "feature_utilization",
            vec![
                text("app_name", app),
                text("action", action),
                text("event_category", category),
                text("feature_source", "side_panel"),
            ],
        )],
    );
    a.ip_address = Some("203.0.113.45".into());
    a
}

/// Three Drive files an outside agent touched in `user`'s name (§9.2).
fn agentic_events(clock: &mut Clock, user: &User) -> Vec<Activity> {
    let files = [
        (
            "1Qm3xTv8Jd2kLp0aB7cZ9eRfYhU4sWn6o",
            "Q3 board prep deck",
            "summarize_file",
        ),
        (
            "1Zr5yUw9Ke3lMq1bC8dA0fSgZiV5tXo7p",
            "Customer contracts 2026",
            "ask_about_context",
        ),
        (
            "1Ab6zVx0Lf4mNr2cD9eB1gThAjW6uYp8q",
            "Salary bands FY27",
            "summarize_file",
        ),
    ];
    files
        .iter()
        .enumerate()
        .map(|(i, (id, title, action))| {
            let mut a = usage(clock, user, 2 + i as i64, "drive", action, "active_summarize");
            a.agent = Some(Agent {
                id: AGENT_ID.into(),
                name: AGENT_NAME.into(),
                kind: "WORKSPACE_FLOW".into(),
                owner_email: AGENT_OWNER.into(),
            });
            a.events[0].parameters[3] = text("feature_source", "workspace_flow");
            a.resources = vec![Resource {
                id: id.to_string(),
                title: title.to_string(),
                kind: "DRIVE_FILE".into(),
                relation: "ACCESSED".into(),
            }];
            a
        })
        .collect()
}

/// NotebookLM audit events (§8.4, §9.1.2); the notebook's title is in `resourceDetails`.
fn notebook(
    clock: &mut Clock,
    user: &User,
    days: i64,
    name: &str,
    id: &str,
    title: &str,
    visibility: &str,
) -> Activity {
    let time = clock.ago(days, 4, 12);
    let mut a = activity(
        clock,
        "gemini_notebook",
        time,
        user,
        vec![event(
            "notebook_activity",
            name,
            vec![text("visibility", visibility), text("ai_plan_tier", "standard")],
        )],
    );
    a.resources = vec![Resource {
        id: id.into(),
        title: title.into(),
        kind: "NOTEBOOK".into(),
        relation: "TARGET".into(),
    }];
    a
}

fn notebooks(clock: &mut Clock, a: &User, b: &User, c: &User, public: bool) -> Vec<Activity> {
    let board = if public { "public" } else { "private" };
    vec![
        notebook(
            clock,
            a,
            21,
            "create_notebook",
            "nb-5c1f0e2a",
            "Q3 board prep",
            "private",
        ),
        notebook(clock, a, 19, "share_notebook", "nb-5c1f0e2a", "Q3 board prep", board),
        notebook(clock, b, 18, "chat", "nb-5c1f0e2a", "Q3 board prep", board),
        notebook(
            clock,
            b,
            15,
            "create_notebook",
            "nb-8d2a4b71",
            "Contract clause library",
            "private",
        ),
        notebook(
            clock,
            c,
            9,
            "create_notebook",
            "nb-0e7c3d95",
            "Sprint retro notes",
            "private",
        ),
        notebook(clock, c, 8, "chat", "nb-0e7c3d95", "Sprint retro notes", "private"),
    ]
}

/// A service account impersonating `user` through domain-wide delegation (§2.3.5).
fn dwd_evaluation(clock: &mut Clock, user: &User, days: i64) -> Activity {
    let time = clock.ago(days, 0, 5);
    let mut a = activity(
        clock,
        "access_evaluation",
        time,
        user,
        vec![event(
            "access_token_evaluation",
            "allow_token_impersonation",
            vec![
                text("configuration_source", "DOMAIN_WIDE_DELEGATION"),
                multi(
                    "scopes_requested",
                    &["https://mail.google.com/", "https://www.googleapis.com/auth/drive"],
                ),
            ],
        )],
    );
    a.actor.application = Some(ActorApplication {
        name: String::new(),
        oauth_client_id: DWD_CLIENT_ID.into(),
        impersonation: true,
    });
    a.ip_address = Some("34.82.17.201".into());
    a
}

fn drive_events(clock: &mut Clock, owner: &User, app: &App) -> Vec<Activity> {
    let doc = |id: &str, title: &str| {
        vec![
            text("doc_id", id),
            text("doc_title", title),
            text("doc_type", "presentation"),
        ]
    };
    let t = clock.ago(19, 3, 3);
    let mut visibility = doc("1Qm3xTv8Jd2kLp0aB7cZ9eRfYhU4sWn6o", "Q3 board prep deck");
    visibility.extend([
        text("owner", &owner.email),
        text("old_visibility", "private"),
        text("visibility", "people_with_link"),
        text("visibility_change", "external"),
        boolean("billable", true),
    ]);
    let shared = activity(
        clock,
        "drive",
        t,
        owner,
        vec![event("acl_change", "change_document_visibility", visibility)],
    );
    let t = clock.ago(18, 1, 0);
    let mut user_access = doc("1Zr5yUw9Ke3lMq1bC8dA0fSgZiV5tXo7p", "Customer contracts 2026");
    user_access.extend([
        text("owner", &owner.email),
        text("visibility", "shared_externally"),
        text("target_user", AGENT_OWNER),
        multi("new_value", &["can_edit"]),
    ]);
    let external = activity(
        clock,
        "drive",
        t,
        owner,
        vec![event("acl_change", "change_user_access", user_access)],
    );
    let t = clock.ago(1, 2, 0);
    let mut download = activity(
        clock,
        "drive",
        t,
        owner,
        vec![event(
            "access",
            "download",
            [
                doc("1Zr5yUw9Ke3lMq1bC8dA0fSgZiV5tXo7p", "Customer contracts 2026"),
                vec![text("owner", &owner.email), text("originating_app_id", "418273650912")],
            ]
            .concat(),
        )],
    );
    download.actor.application = Some(ActorApplication {
        name: app.name.clone(),
        oauth_client_id: app.client_id.clone(),
        impersonation: false,
    });
    vec![shared, external, download]
}

// ---------------------------------------------------------------------------------------
// The scenarios

fn risky_apps() -> Vec<App> {
    vec![
        app(
            MEETNOTES_CLIENT_ID,
            "MeetNotes AI Assistant",
            &[
                "openid",
                "userinfo.email",
                "calendar.readonly",
                "drive",
                "https://mail.google.com/",
            ],
            false,
            false,
        ),
        app(
            CHATSIDEKICK_CLIENT_ID,
            "ChatSidekick for Sheets",
            &["spreadsheets", "drive.readonly"],
            true,
            true,
        ),
        app(
            OTTER_CLIENT_ID,
            "Otter.ai",
            &["calendar.readonly", "drive.file"],
            false,
            false,
        ),
        app(
            ZOOM_CLIENT_ID,
            "Zoom for Google Workspace",
            &["calendar", "userinfo.email"],
            false,
            false,
        ),
        // An AI helpdesk agent that asked for directory access (an admin scope).
        app(
            HELPDESK_CLIENT_ID,
            "Helpdesk Copilot Agent",
            &["admin.directory.user.readonly", "drive.file", "openid"],
            false,
            false,
        ),
    ]
}

pub const HELPDESK_CLIENT_ID: &str = "730118264409-hd7c0p1l0tagent5xq2m4n6b8d0f2h4j6.apps.googleusercontent.com";
const HELPDESK: usize = 4;
const MEETNOTES: usize = 0;
const CHATSIDEKICK: usize = 1;
const OTTER: usize = 2;
const ZOOM: usize = 3;

/// Gemini, AI apps and Drive sharing open wherever the reference says a tenant can be.
pub fn risky() -> Scenario {
    let mut clock = Clock::new();
    let mut s = directory("risky", &clock);
    s.apps = risky_apps();
    for local in [
        "it-admin",
        "dana.ortiz",
        "priya.shah",
        "marcus.lee",
        "sofia.rossi",
        "grace.kim",
    ] {
        grant(&mut s, local, MEETNOTES);
    }
    for local in ["omar.haddad", "lena.novak"] {
        grant(&mut s, local, CHATSIDEKICK);
    }
    for local in ["sofia.rossi", "jamal.wright"] {
        grant(&mut s, local, OTTER);
    }
    for local in ["it-admin", "sofia.rossi", "lena.novak", "tom.becker"] {
        grant(&mut s, local, ZOOM);
    }
    grant(&mut s, "marcus.lee", HELPDESK);
    s.policies = risky_policies();
    let mut activities = admin_events(&mut clock, user(&s, "it-admin"), true);
    activities.extend(token_events(&mut clock, &s, usize::MAX));
    for (local, days, app, action, category) in [
        ("dana.ortiz", 3, "gmail", "summarize", "active_summarize"),
        ("dana.ortiz", 6, "docs", "generate_text", "active_generate"),
        ("priya.shah", 2, "docs", "generate_document", "active_generate"),
        ("marcus.lee", 4, "drive", "summarize_file", "active_summarize"),
        ("grace.kim", 5, "gmail", "summarize", "active_summarize"),
        ("sofia.rossi", 7, "gmail", "suggest_full_replies", "active_generate"),
        ("lena.novak", 10, "drive", "ask_about_context", "active_conversations"),
        ("it-admin", 11, "gemini_app", "conversation", "active_conversations"),
    ] {
        activities.push(usage(&mut clock, user(&s, local), days, app, action, category));
    }
    activities.extend(agentic_events(&mut clock, user(&s, "sofia.rossi")));
    activities.extend(notebooks(
        &mut clock,
        user(&s, "dana.ortiz"),
        user(&s, "grace.kim"),
        user(&s, "priya.shah"),
        true,
    ));
    for (local, days) in [("it-admin", 11), ("dana.ortiz", 6), ("sofia.rossi", 2)] {
        activities.push(dwd_evaluation(&mut clock, user(&s, local), days));
    }
    activities.extend(drive_events(&mut clock, user(&s, "dana.ortiz"), &s.apps[MEETNOTES]));
    s.activities = activities;
    s
}

/// The safe opposite of [`risky`] everywhere.
pub fn clean() -> Scenario {
    let mut clock = Clock::new();
    let mut s = directory("clean", &clock);
    s.apps = vec![app(
        ZOOM_CLIENT_ID,
        "Zoom for Google Workspace",
        &["openid", "userinfo.email", "userinfo.profile"],
        false,
        false,
    )];
    for local in ["it-admin", "sofia.rossi", "lena.novak", "priya.shah"] {
        grant(&mut s, local, 0);
    }
    s.policies = clean_policies();
    let mut activities = admin_events(&mut clock, user(&s, "it-admin"), false);
    activities.extend(token_events(&mut clock, &s, usize::MAX));
    for (local, days, app, action, category) in [
        ("priya.shah", 2, "docs", "generate_text", "active_generate"),
        ("marcus.lee", 4, "gmail", "summarize", "active_summarize"),
        ("omar.haddad", 6, "drive", "summarize_file", "active_summarize"),
    ] {
        activities.push(usage(&mut clock, user(&s, local), days, app, action, category));
    }
    activities.extend(notebooks(
        &mut clock,
        user(&s, "priya.shah"),
        user(&s, "marcus.lee"),
        user(&s, "omar.haddad"),
        false,
    ));
    let t = clock.ago(3, 1, 0);
    let mut marketplace = activity(
        &mut clock,
        "access_evaluation",
        t,
        user(&s, "lena.novak"),
        vec![event(
            "access_token_evaluation",
            "allow_token_request",
            vec![
                text("configuration_source", "GOOGLE_WORKSPACE_MARKETPLACE"),
                multi(
                    "scopes_requested",
                    &["openid", "https://www.googleapis.com/auth/userinfo.email"],
                ),
            ],
        )],
    );
    marketplace.actor.application = Some(ActorApplication {
        name: "Zoom for Google Workspace".into(),
        oauth_client_id: ZOOM_CLIENT_ID.into(),
        impersonation: false,
    });
    activities.push(marketplace);
    s.activities = activities;
    s
}

const GIVEN: &[&str] = &[
    "Ada", "Ben", "Chen", "Dara", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo", "Kai", "Lina", "Mo", "Nour", "Oli",
    "Pia",
];
const FAMILY: &[&str] = &[
    "Abe", "Brown", "Cruz", "Diaz", "Evans", "Fox", "Garcia", "Hughes", "Ito", "Jones", "Khan", "Lopez", "Moore",
    "Nakamura", "Okafor", "Park",
];

/// `users` users (at least the admin and Dana) with the risky policies: ids and emails are
/// deterministic (`user00042@example.com`, id `11` + 19 digits); OUs round-robin; about one in
/// ten holds an AI app's token, one in five Zoom's.
pub fn generated(users: usize) -> Scenario {
    let mut clock = Clock::new();
    let mut s = directory("generated", &clock);
    s.apps = risky_apps();
    let people: Vec<User> = s.users.iter().take(2).cloned().collect();
    let ous = ["/", "/Legal", "/Engineering", "/Sales"];
    let mut all = people;
    all[0].tokens = vec![MEETNOTES, ZOOM];
    all[1].tokens = vec![MEETNOTES];
    for i in 2..users.max(2) {
        let mut tokens = Vec::new();
        match i % 40 {
            0 | 20 => tokens.push(MEETNOTES),
            10 => tokens.push(CHATSIDEKICK),
            30 => tokens.push(OTTER),
            _ => {}
        }
        if i % 5 == 2 {
            tokens.push(ZOOM);
        }
        all.push(User {
            id: format!("11{i:019}"),
            email: format!("user{i:05}@{DOMAIN}"),
            given_name: GIVEN[i % GIVEN.len()].into(),
            family_name: FAMILY[(i / GIVEN.len()) % FAMILY.len()].into(),
            org_unit_path: ous[i % 4].into(),
            is_admin: false,
            is_delegated_admin: i == 3,
            suspended: i % 50 == 49,
            enrolled_2sv: i % 7 != 0,
            enforced_2sv: i % 7 != 0 && i % 4 != 3,
            creation_time: clock.ago(30 + (i % 1500) as i64, (i % 24) as i64, 0),
            last_login_time: (i % 50 != 49).then(|| clock.ago((i % 30) as i64, (i % 24) as i64, 7)),
            aliases: Vec::new(),
            tokens,
        });
    }
    s.users = all;
    let pick = |n: usize| s.users.get(n).unwrap_or(&s.users[0]).clone();
    let third = pick(3);
    s.role_assignments = role_assignments(&clock, &third.id);
    let pilot: Vec<String> = s
        .users
        .iter()
        .skip(2)
        .step_by(97)
        .take(12)
        .map(|u| u.id.clone())
        .collect();
    // A group of everyone would be 20,000 members; keep it to the first hundred.
    let everyone: Vec<String> = s.users.iter().take(100).map(|u| u.id.clone()).collect();
    s.groups = groups(pilot, everyone);
    s.policies = risky_policies();
    let mut activities = admin_events(&mut clock, &s.users[0], true);
    activities.extend(token_events(&mut clock, &s, 400));
    let actions = [
        ("gmail", "summarize"),
        ("docs", "generate_text"),
        ("drive", "summarize_file"),
    ];
    for (n, u) in s.users.iter().enumerate().filter(|(n, _)| n % 3 == 0).take(300) {
        let (app, action) = actions[n % actions.len()];
        activities.push(usage(
            &mut clock,
            u,
            (n % 60) as i64 + 1,
            app,
            action,
            "active_summarize",
        ));
    }
    activities.extend(agentic_events(&mut clock, &pick(4)));
    activities.extend(notebooks(&mut clock, &pick(1), &pick(5), &pick(6), true));
    activities.push(dwd_evaluation(&mut clock, &s.users[0], 4));
    s.activities = activities;
    s
}
