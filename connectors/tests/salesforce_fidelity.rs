//! The Salesforce connector's queries held against Salesforce's own published type definitions
//! (`connectors/src/salesforce/published/fields.json`: Tooling sObjects from
//! @salesforce/types 1.7.1, generated from the API 66.0 WSDLs; data-API sObjects from
//! jsforce-node 3.12.0's standard schema joined with the same WSDL types; see FINDINGS.md and
//! extract.py there). The simulator answers `INVALID_FIELD` from the same file. Every selected field, every
//! relationship path, every child relationship and every filter column must exist on the
//! object the query reads, in the API the query goes to. A field guessed from the reference's
//! body (`LinkedBotVersionId`, `SecureURL`) fails here.

use connectors::salesforce::client::Api;
use connectors::salesforce::{plan, Filter, Read};
use connectors::{Parts, ResourcePart};
use serde_json::Value;

fn published() -> Value {
    serde_json::from_str(include_str!("../src/salesforce/published/fields.json")).unwrap()
}

/// Objects the published definitions do not describe, with why the connector reads them
/// anyway; their reads must degrade to a coverage gap (tested against the simulator).
const UNPUBLISHED: &[(&str, &str)] = &[(
    "Network",
    "Experience Cloud sites: in neither @salesforce/types 1.7.1 nor jsforce's schema",
)];

/// An object's published definition for a query on `api` (`"data:User"`, `"tooling:User"`).
fn definition<'a>(defs: &'a Value, api: Api, object: &str) -> Option<&'a Value> {
    let api = match api {
        Api::Tooling => "tooling",
        Api::Data => "data",
    };
    defs.get(format!("{api}:{object}"))
}

fn listed(def: &Value, key: &str, name: &str) -> bool {
    def[key].as_array().is_some_and(|l| l.iter().any(|v| v == name))
}

fn published_object(defs: &Value, api: Api, object: &str) -> bool {
    definition(defs, api, object).is_some()
}

/// What `name` is on the object: a field, a relationship to an object (`*` when it is
/// polymorphic), or a child relationship.
enum Member {
    Field,
    Parent(String),
    Children,
}

fn member(defs: &Value, api: Api, object: &str, name: &str) -> Option<Member> {
    let def = definition(defs, api, object)?;
    if let Some(target) = def["parents"].get(name).and_then(Value::as_str) {
        return Some(Member::Parent(target.to_string()));
    }
    if listed(def, "children", name) {
        return Some(Member::Children);
    }
    listed(def, "fields", name).then_some(Member::Field)
}

/// Checks a field path on an object; returns the problems.
fn check_path(defs: &Value, api: Api, object: &str, path: &str) -> Vec<String> {
    if !published_object(defs, api, object) {
        return vec![format!("{object}: not published")];
    }
    let (first, rest) = match path.split_once('.') {
        Some((first, rest)) => (first, Some(rest)),
        None => (path, None),
    };
    match (member(defs, api, object, first), rest) {
        (None, _) => vec![format!("{object}.{first}: no such field in the published definitions")],
        (Some(Member::Field), None) => vec![],
        // `PermissionSet.Name` reads through the `PermissionSet` reference.
        (Some(Member::Parent(target)), Some(rest)) if target != "*" => check_path(defs, api, &target, rest),
        (Some(Member::Parent(_)), Some(_)) => vec![],
        (Some(Member::Parent(_)), None) | (Some(Member::Children), None) => {
            vec![format!("{object}.{first}: a relationship, not a field")]
        }
        (Some(_), Some(_)) => vec![format!("{object}.{first}: not a relationship")],
    }
}

/// Top-level comma-separated items (a child subquery stays one item).
fn items(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    for c in list.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

/// Checks one SELECT statement; returns the problems.
fn check_select(defs: &Value, api: Api, object: &str, fields: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for item in items(fields) {
        if let Some(sub) = item.strip_prefix('(') {
            // (SELECT a, b FROM ChildRelationship ORDER BY x)
            let sub = sub.trim_end_matches(')');
            let upper = sub.to_ascii_uppercase();
            let from = upper.find(" FROM ").expect("a subquery has FROM");
            let child_fields = sub["SELECT ".len()..from].to_string();
            let relationship = sub[from + 6..].split_whitespace().next().unwrap().to_string();
            match member(defs, api, object, &relationship) {
                // Child relationships name no type: by convention the child object is the
                // relationship name without its plural `s` (BotVersions → BotVersion).
                Some(Member::Children) => {
                    let child = relationship.trim_end_matches('s').to_string();
                    problems.extend(check_select(defs, api, &child, &child_fields));
                }
                _ => problems.push(format!(
                    "{object}.{relationship}: no such child relationship in the published definitions"
                )),
            }
        } else if item != "COUNT()" {
            problems.extend(check_path(defs, api, object, &item));
        }
    }
    problems
}

/// The field names a WHERE condition compares (`A.B = true OR C = 'x'` → `A.B`, `C`).
fn condition_fields(condition: &str) -> Vec<String> {
    condition
        .split(" OR ")
        .flat_map(|c| c.split(" AND "))
        .filter_map(|c| c.split_whitespace().next())
        .map(|f| f.trim_start_matches('(').to_string())
        .collect()
}

/// Every resource marked collected with no records: what a Keys filter needs to name its
/// columns.
fn all_collected() -> Parts {
    plan()
        .iter()
        .map(|s| (s.resource(), ResourcePart::collected(&s.resource(), Vec::new(), 0)))
        .collect()
}

fn key_columns(keys: &connectors::salesforce::Keys) -> Vec<String> {
    keys(&all_collected())
        .unwrap()
        .into_iter()
        .map(|(c, _)| c.to_string())
        .collect()
}

#[test]
fn every_query_names_fields_salesforce_publishes() {
    let defs = published();
    let mut problems = Vec::new();
    let mut checked = 0;
    for step in plan() {
        let Read::Soql {
            api,
            object,
            fields,
            filter,
        } = &step.read
        else {
            continue;
        };
        if let Some((_, why)) = UNPUBLISHED.iter().find(|(o, _)| o == object) {
            eprintln!("{object}: not checked ({why})");
            continue;
        }
        checked += 1;
        problems.extend(check_select(&defs, *api, object, fields));
        let columns: Vec<String> = match filter {
            Filter::None => Vec::new(),
            Filter::Fixed(condition) => condition_fields(condition),
            Filter::Keys(keys) => key_columns(keys),
            Filter::KeysAnd(condition, keys) => {
                let mut columns = condition_fields(condition);
                columns.extend(key_columns(keys));
                columns
            }
        };
        for column in columns {
            problems.extend(check_path(&defs, *api, object, &column));
        }
    }
    // The statements built outside the plan's table.
    problems.extend(check_select(
        &defs,
        Api::Tooling,
        "GenAiPromptTemplate",
        "Id, DeveloperName, MasterLabel, Type, RelatedEntity, IsActive, ActiveVersionId, NamespacePrefix",
    ));
    problems.extend(check_path(&defs, Api::Data, "Lead", "LeadSource"));
    assert!(checked >= 20, "only {checked} queries checked");
    assert!(
        problems.is_empty(),
        "fields Salesforce does not publish:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_catches_the_references_known_mistakes() {
    let defs = published();
    // §9.1.3: GenAiPlannerDefinition has no LinkedBotVersionId.
    assert!(!check_select(&defs, Api::Tooling, "GenAiPlannerDefinition", "Id, LinkedBotVersionId").is_empty());
    // §9.1.6: SiteDetail.SecureUrl, not SecureURL.
    assert!(!check_select(&defs, Api::Tooling, "SiteDetail", "SecureURL").is_empty());
    assert!(
        check_select(&defs, Api::Tooling, "SiteDetail", "SecureUrl").is_empty()
            || defs["tooling"].get("SiteDetail").is_none()
    );
    // A relationship path that does not resolve.
    assert!(!check_select(&defs, Api::Data, "PermissionSetAssignment", "PermissionSet.NoSuchField").is_empty());
    // A child relationship's fields are checked too.
    assert!(!check_select(&defs, Api::Data, "BotDefinition", "(SELECT Nope FROM BotVersions)").is_empty());
}
