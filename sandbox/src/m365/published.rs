//! What Microsoft publishes about the APIs the simulator plays, held in the repo as extracts
//! (`connectors/src/m365/published/`: Graph v1.0/beta metadata from `msgraph-metadata`, the
//! Dataverse table reference from `powerapps-docs`). The simulator answers from them what the
//! real services answer: a Graph path that does not resolve in that version, or a `$select` of
//! a property its type does not declare, is Graph's 400; a Dataverse column the table does not
//! have is Dataverse's 400. Tests use the same functions to hold every request the connector
//! sends against Microsoft's own description, not against our reading of it.

use serde_json::Value;
use std::sync::LazyLock;

static GRAPH: LazyLock<Value> = LazyLock::new(|| {
    serde_json::from_str(include_str!(
        "../../../connectors/src/m365/published/graph-metadata.json"
    ))
    .expect("the Graph metadata extract is valid JSON")
});

static DATAVERSE: LazyLock<Value> = LazyLock::new(|| {
    serde_json::from_str(include_str!(
        "../../../connectors/src/m365/published/dataverse-tables.json"
    ))
    .expect("the Dataverse table extract is valid JSON")
});

/// What a Graph path returns: an entity type, one or a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Returned {
    pub type_name: String,
    pub collection: bool,
}

impl Returned {
    fn parse(declared: &str) -> Self {
        match declared.strip_prefix("Collection(").and_then(|t| t.strip_suffix(')')) {
            Some(inner) => Returned {
                type_name: inner.into(),
                collection: true,
            },
            None => Returned {
                type_name: declared.into(),
                collection: false,
            },
        }
    }
}

fn graph_type<'a>(version: &str, name: &str) -> Option<&'a Value> {
    GRAPH.get(version)?.get("types")?.get(name)
}

fn names(v: Option<&Value>) -> impl Iterator<Item = &str> {
    v.and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// Resolves a Graph path (no version prefix, no query) segment by segment: entity set or
/// singleton, then keys, type casts and navigation properties. The error is Graph's message.
pub fn graph_resolve(version: &str, path: &str) -> Result<Returned, String> {
    let not_found = |segment: &str| format!("Resource not found for the segment '{segment}'.");
    let mut segments = path.trim_matches('/').split('/');
    let first = segments.next().unwrap_or("");
    let root = GRAPH
        .get(version)
        .and_then(|v| v.get("entity_sets_and_singletons"))
        .and_then(|r| r.get(first))
        .ok_or_else(|| not_found(first))?;
    let type_name = root["type"].as_str().unwrap_or_default().to_string();
    let mut at = Returned {
        collection: root["kind"] == "EntitySet",
        type_name,
    };
    for segment in segments {
        if at.collection {
            if segment.starts_with("microsoft.graph.") {
                // A type cast: the type must derive from the collection's.
                let derives =
                    graph_type(version, segment).is_some_and(|t| names(t.get("base_chain")).any(|b| b == at.type_name));
                if !derives {
                    return Err(not_found(segment));
                }
                at.type_name = segment.into();
            } else {
                at.collection = false; // a key
            }
            continue;
        }
        let target = graph_type(version, &at.type_name)
            .and_then(|t| t.get("navigation_targets"))
            .and_then(|n| n.get(segment))
            .and_then(Value::as_str)
            .ok_or_else(|| not_found(segment))?;
        at = Returned::parse(target);
    }
    Ok(at)
}

/// Whether `property` is declared on the type (its own or its bases' properties and
/// navigation properties). A `directoryObject` collection (owners, members) holds users and
/// service principals, each with its `@odata.type`; Graph's directory endpoints take a
/// `$select` of their properties there, so the types derived from it count too.
fn declares(version: &str, type_name: &str, property: &str) -> bool {
    let on = |t: &Value| {
        names(t.get("properties"))
            .chain(names(t.get("navigation")))
            .any(|p| p == property)
    };
    if graph_type(version, type_name).is_some_and(on) {
        return true;
    }
    type_name == "microsoft.graph.directoryObject"
        && GRAPH[version]["types"].as_object().is_some_and(|types| {
            types
                .values()
                .any(|t| names(t.get("base_chain")).any(|b| b == type_name) && on(t))
        })
}

/// The first `$select` item the returned type does not declare, as Graph's 400 message.
pub fn graph_undeclared_select(version: &str, returned: &Returned, select: &str) -> Option<String> {
    select
        .split(',')
        .map(str::trim)
        .find(|p| !p.is_empty() && !declares(version, &returned.type_name, p))
        .map(|p| {
            format!(
                "Could not find a property named '{p}' on type '{}'.",
                returned.type_name
            )
        })
}

/// A Dataverse table by its entity set name (`bots`).
fn dataverse_table(entity_set: &str) -> Option<&'static Value> {
    DATAVERSE["tables"]
        .as_object()?
        .values()
        .find(|t| t["entity_set"] == entity_set)
}

/// Whether the Web API names this column on the table: columns by logical name, lookups
/// only as `_<name>_value` (and never by their bare name).
fn dataverse_has(table: &Value, column: &str) -> bool {
    let lookups = table["lookups_web_api"].as_object();
    if lookups.is_some_and(|l| l.values().any(|v| v == column)) {
        return true;
    }
    let is_lookup = lookups.is_some_and(|l| l.contains_key(column));
    !is_lookup && names(table.get("columns")).any(|c| c == column)
}

/// The first of `columns` the table does not have, as Dataverse's 400 message; `None` when
/// every column exists. An entity set the extract does not hold is not judged (`None`).
pub fn dataverse_unknown_column<'a>(entity_set: &str, columns: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let table = dataverse_table(entity_set)?;
    let logical = table["logical_name"].as_str().unwrap_or(entity_set);
    columns
        .into_iter()
        .find(|c| !dataverse_has(table, c))
        .map(|c| format!("Could not find a property named '{c}' on type 'Microsoft.Dynamics.CRM.{logical}'."))
}

/// The columns a Dataverse query names (`params` decoded): `$select`, the left side of each
/// `$filter` comparison, and the `$apply` filter, group and aggregate columns.
pub fn dataverse_query_columns(params: &[(String, String)]) -> Vec<&str> {
    fn compared(filter: &str) -> impl Iterator<Item = &str> {
        filter
            .split(" or ")
            .flat_map(|g| g.split(" and "))
            .filter_map(|c| c.trim().trim_start_matches('(').split(' ').next())
    }
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let mut columns: Vec<&str> = param("$select")
        .into_iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .collect();
    columns.extend(param("$filter").into_iter().flat_map(compared));
    if let Some(expression) = param("$apply") {
        if let Some(rest) = expression.strip_prefix("filter(") {
            columns.extend(compared(rest.split(")/").next().unwrap_or("")));
        }
        if let Some((_, rest)) = expression.split_once("groupby((") {
            columns.extend(rest.split(')').next().unwrap_or("").split(',').map(str::trim));
        }
        if let Some((_, rest)) = expression.split_once("aggregate(") {
            columns.extend(rest.split_whitespace().next());
        }
    }
    columns.retain(|c| !c.is_empty());
    columns
}

/// A Dataverse choice column's published values (`"0" -> "Any"`), for tests of the mapping.
pub fn dataverse_choices(table: &str, column: &str) -> Vec<(String, String)> {
    DATAVERSE["tables"][table]["choices"][column]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_resolve_through_sets_casts_keys_and_navigation() {
        let sp = graph_resolve("v1.0", "/servicePrincipals").unwrap();
        assert_eq!(sp.type_name, "microsoft.graph.servicePrincipal");
        assert!(sp.collection);
        let owners = graph_resolve("v1.0", "servicePrincipals/abc/owners").unwrap();
        assert_eq!(owners.type_name, "microsoft.graph.directoryObject");
        let one = graph_resolve("v1.0", "copilot/admin/catalog/packages/p1").unwrap();
        assert_eq!(one.type_name, "microsoft.graph.copilotPackageDetail");
        assert!(!one.collection);
        let cast = graph_resolve("beta", "servicePrincipals/microsoft.graph.agentIdentity").unwrap();
        assert_eq!(cast.type_name, "microsoft.graph.agentIdentity");
        // Beta only.
        assert_eq!(
            graph_resolve("v1.0", "security/informationProtection/sensitivityLabels").unwrap_err(),
            "Resource not found for the segment 'informationProtection'."
        );
        assert!(graph_resolve("beta", "security/informationProtection/sensitivityLabels").is_ok());
        assert!(graph_resolve("v1.0", "copilot/admin/policySettings/x").is_err());
        assert!(graph_resolve("v1.0", "servicePrincipals/microsoft.graph.user").is_err());
        assert!(graph_resolve("v1.0", "nothing").is_err());
    }

    #[test]
    fn a_select_names_only_what_the_type_declares() {
        let sp = graph_resolve("v1.0", "servicePrincipals").unwrap();
        assert_eq!(graph_undeclared_select("v1.0", &sp, "id,appId,verifiedPublisher"), None);
        assert_eq!(
            graph_undeclared_select("v1.0", &sp, "id,publisherName").as_deref(),
            Some("Could not find a property named 'publisherName' on type 'microsoft.graph.servicePrincipal'.")
        );
        let beta = graph_resolve("beta", "servicePrincipals").unwrap();
        assert_eq!(graph_undeclared_select("beta", &beta, "id,publisherName"), None);
        let owners = graph_resolve("v1.0", "servicePrincipals/x/owners").unwrap();
        assert_eq!(
            graph_undeclared_select("v1.0", &owners, "id,displayName,userPrincipalName,accountEnabled"),
            None
        );
        assert!(graph_undeclared_select("v1.0", &owners, "publisherName").is_some());
    }

    #[test]
    fn dataverse_columns_follow_the_table_reference() {
        assert_eq!(
            dataverse_unknown_column("bots", ["botid", "_ownerid_value", "accesscontrolpolicy"]),
            None
        );
        assert_eq!(
            dataverse_unknown_column("bots", ["botid", "ownerid"]).as_deref(),
            Some("Could not find a property named 'ownerid' on type 'Microsoft.Dynamics.CRM.bot'.")
        );
        assert!(dataverse_unknown_column("botcomponents", ["isactive"]).is_some());
        assert_eq!(dataverse_choices("bot", "accesscontrolpolicy").len(), 4);
        let params =
            |q: &str| -> Vec<(String, String)> { url::form_urlencoded::parse(q.as_bytes()).into_owned().collect() };
        let apply = params("$apply=filter(createdon gt 2026-01-01)/groupby((_bot_conversationtranscriptid_value),aggregate(createdon with max as last))");
        assert_eq!(
            dataverse_query_columns(&apply),
            ["createdon", "_bot_conversationtranscriptid_value", "createdon"]
        );
        let filtered = params("$select=systemuserid,isdisabled&$filter=systemuserid eq 1 or systemuserid eq 2");
        assert_eq!(
            dataverse_query_columns(&filtered),
            ["systemuserid", "isdisabled", "systemuserid", "systemuserid"]
        );
    }
}
