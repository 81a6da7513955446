//! Admin SDK Reports API `activities.list`
//! (`/admin/reports/v1/activity/users/{userKey}/applications/{applicationName}`; reference
//! §2.3, §8.4, §9.1.2–3, §9.1.9, §9.2). Newest first, at most 180 days back
//! (`gemini_in_workspace_apps` from 2025-06-20), `startTime`/`endTime`, `eventName`,
//! `filters` (a parameter the event does not have gives an empty report), agent attribution.

use super::directory::{etag, time};
use super::scenarios::{Activity, Param, ParamValue};
use super::{bad_request, not_authorized, page_bounds, v1_error, Call, Refusal, SimState};
use axum::http::StatusCode;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{json, Value};
use std::collections::BTreeSet;

type Answer = Result<Value, Refusal>;

/// `includeSensitiveData` is only for these (§9.2).
const SENSITIVE_APPS: &[&str] = &["rules", "chat", "workspace_studio"];

pub(super) fn handle(s: &mut SimState, call: &Call) -> Answer {
    match call.method.id.as_str() {
        "reports.activities.list" => list(s, call),
        other => Err(v1_error(StatusCode::NOT_FOUND, &format!("Not simulated: {other}"), "notFound").into()),
    }
}

fn param_json(p: &Param) -> Value {
    let mut v = json!({"name": p.name});
    match &p.value {
        ParamValue::Text(t) => v["value"] = json!(t),
        ParamValue::Int(n) => v["intValue"] = json!(n.to_string()),
        ParamValue::Bool(b) => v["boolValue"] = json!(b),
        ParamValue::Multi(list) => v["multiValue"] = json!(list),
        ParamValue::Messages(messages) => {
            v["multiMessageValue"] = json!(messages
                .iter()
                .map(|m| json!({"parameter": m.iter().map(param_json).collect::<Vec<_>>()}))
                .collect::<Vec<_>>())
        }
    }
    v
}

fn activity_json(a: &Activity, customer: &str, only_event: Option<&str>) -> Value {
    let mut actor = json!({"callerType": a.actor.caller_type, "email": a.actor.email, "profileId": a.actor.profile_id});
    if let Some(app) = &a.actor.application {
        let mut info = json!({"oauthClientId": app.oauth_client_id});
        if !app.name.is_empty() {
            info["applicationName"] = json!(app.name);
        }
        if app.impersonation {
            info["impersonation"] = json!(true);
        }
        actor["applicationInfo"] = info;
    }
    if let Some(agent) = &a.agent {
        actor["agentAttributionInfo"] = json!({"agentId": agent.id, "agentName": agent.name,
            "agentType": agent.kind, "agentOwner": {"email": agent.owner_email}});
    }
    let events: Vec<Value> = a
        .events
        .iter()
        .filter(|e| only_event.is_none_or(|n| e.name == n))
        .map(|e| json!({"type": e.kind, "name": e.name, "parameters": e.parameters.iter().map(param_json).collect::<Vec<_>>()}))
        .collect();
    let mut v = json!({
        "kind": "admin#reports#activity",
        "id": {"time": time(&a.time), "uniqueQualifier": a.unique_qualifier,
               "applicationName": a.application, "customerId": customer},
        "etag": etag(&format!("activity:{}:{}", a.application, a.unique_qualifier)),
        "actor": actor,
        "events": events,
    });
    if let Some(ip) = &a.ip_address {
        v["ipAddress"] = json!(ip);
    }
    if let Some(net) = &a.network_info {
        v["networkInfo"] = json!({"ipAsn": net.ip_asn, "regionCode": net.region_code,
            "subdivisionCode": net.subdivision_code});
    }
    if a.agent.is_some() {
        v["isAgenticAction"] = json!(true);
    }
    if !a.resources.is_empty() {
        v["resourceDetails"] = json!(a
            .resources
            .iter()
            .map(|r| json!({"id": r.id, "title": r.title, "type": r.kind, "relation": r.relation}))
            .collect::<Vec<_>>());
    }
    v
}

/// One `filters` clause: `name==value`, `name<>value`, `<`, `<=`, `>`, `>=`.
#[derive(Debug)]
struct Filter {
    name: String,
    op: &'static str,
    value: String,
}

fn parse_filters(text: &str) -> Vec<Filter> {
    let mut out: Vec<Filter> = Vec::new();
    for clause in text.split(',').filter(|c| !c.is_empty()) {
        let Some((at, op)) = ["==", "<>", "<=", ">=", "<", ">"]
            .iter()
            .filter_map(|op| clause.find(op).map(|at| (at, *op)))
            .min_by_key(|(at, op)| (*at, std::cmp::Reverse(op.len())))
        else {
            continue;
        };
        let filter = Filter {
            name: clause[..at].trim().to_string(),
            op,
            value: clause[at + op.len()..].trim().to_string(),
        };
        // "A repeated parameter keeps the last value" (§9.1.9).
        out.retain(|f| f.name != filter.name);
        out.push(filter);
    }
    out
}

fn compare(actual: &ParamValue, op: &str, wanted: &str) -> bool {
    let ord = |a: i64| wanted.parse::<i64>().ok().map(|w| a.cmp(&w));
    let text = |a: &str| Some(a.cmp(wanted));
    let equal = match actual {
        ParamValue::Text(t) => t == wanted,
        ParamValue::Int(n) => n.to_string() == wanted,
        ParamValue::Bool(b) => b.to_string() == wanted,
        ParamValue::Multi(list) => list.iter().any(|v| v == wanted),
        ParamValue::Messages(_) => false,
    };
    let ordering = match actual {
        ParamValue::Int(n) => ord(*n),
        ParamValue::Text(t) => text(t),
        _ => None,
    };
    use std::cmp::Ordering::*;
    match op {
        "==" => equal,
        "<>" => !equal,
        "<" => ordering == Some(Less),
        "<=" => matches!(ordering, Some(Less | Equal)),
        ">" => ordering == Some(Greater),
        ">=" => matches!(ordering, Some(Greater | Equal)),
        _ => false,
    }
}

/// `key="value" AND key="value"` (agentInfoFilter, applicationInfoFilter).
fn parse_pairs(text: &str) -> Vec<(String, String)> {
    text.split(" AND ")
        .filter_map(|clause| {
            let (k, v) = clause.split_once('=')?;
            Some((k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        })
        .collect()
}

fn parse_time(s: &mut SimState, call: &Call, name: &str) -> Result<Option<DateTime<Utc>>, Refusal> {
    let Some(raw) = call.param(name) else {
        return Ok(None);
    };
    match DateTime::parse_from_rfc3339(raw) {
        Ok(t) => Ok(Some(t.with_timezone(&Utc))),
        Err(_) => {
            s.violation(format!("{}: {name} is not an RFC 3339 time", call.label));
            Err(bad_request(call.method.api, &format!("Invalid value '{raw}' for {name}"), name).into())
        }
    }
}

fn list(s: &mut SimState, call: &Call) -> Answer {
    let app = call.var("applicationName").to_string();
    if let Some(customer) = call.param("customerId") {
        if !s.is_our_customer(customer) {
            s.violation(format!("{}: customerId {customer:?} is not this tenant", call.label));
            return Err(not_authorized(call.method.api).into());
        }
    }
    if call.param("includeSensitiveData") == Some("true") && !SENSITIVE_APPS.contains(&app.as_str()) {
        s.violation(format!(
            "{}: includeSensitiveData is only for rules, chat and workspace_studio",
            call.label
        ));
        return Err(v1_error(
            StatusCode::FORBIDDEN,
            "Caller does not have access to sensitive data for this application.",
            "forbidden",
        )
        .into());
    }
    let start = parse_time(s, call, "startTime")?;
    let end = parse_time(s, call, "endTime")?;
    if let (Some(start), Some(end)) = (start, end) {
        if start > end {
            s.violation(format!("{}: startTime after endTime", call.label));
            return Err(bad_request(call.method.api, "Start time occurs after end time", "startTime").into());
        }
    }
    let now = Utc::now();
    let mut floor = now - Duration::days(180);
    if app == "gemini_in_workspace_apps" {
        floor = floor.max(Utc.with_ymd_and_hms(2025, 6, 20, 0, 0, 0).single().unwrap_or(floor));
    }
    let user_key = call.var("userKey").to_string();
    let actor = if user_key == "all" {
        None
    } else {
        // An unknown user has no activities (not an error).
        Some(s.user(&user_key).map(|u| u.id.clone()).unwrap_or_default())
    };
    let event_name = call.param("eventName").map(str::to_string);
    let filters = call.param("filters").map(parse_filters).unwrap_or_default();
    let org_unit = match call.param("orgUnitID") {
        Some(id) if !id.is_empty() => {
            let path = s
                .scenario
                .org_units
                .iter()
                .find(|o| format!("id:{}", o.id) == id)
                .map(|o| o.path.clone());
            Some(path.unwrap_or_else(|| "\u{0}none".into()))
        }
        _ => None,
    };
    let ip = call.param("actorIpAddress").map(str::to_string);
    let agent_filter = call.param("agentInfoFilter").map(parse_pairs).unwrap_or_default();
    let client_filter = call.param("applicationInfoFilter").map(parse_pairs).unwrap_or_default();

    let of_app: Vec<&Activity> = s.scenario.activities.iter().filter(|a| a.application == app).collect();
    // The parameters the event (or, without `eventName`, the application) has.
    let known: BTreeSet<&str> = of_app
        .iter()
        .flat_map(|a| a.events.iter())
        .filter(|e| event_name.as_ref().is_none_or(|n| &e.name == n))
        .flat_map(|e| e.parameters.iter().map(|p| p.name.as_str()))
        .collect();
    let empty_report = filters.iter().any(|f| !known.contains(f.name.as_str()));
    let in_ou = |email: &str| match &org_unit {
        None => true,
        Some(path) => s.user(email).is_some_and(|u| {
            u.org_unit_path == *path || path == "/" || u.org_unit_path.starts_with(&format!("{path}/"))
        }),
    };
    let mut selected: Vec<&Activity> = if empty_report {
        Vec::new()
    } else {
        of_app
            .into_iter()
            .filter(|a| a.time >= floor && a.time <= now)
            .filter(|a| start.is_none_or(|t| a.time >= t) && end.is_none_or(|t| a.time <= t))
            .filter(|a| actor.as_ref().is_none_or(|id| &a.actor.profile_id == id))
            .filter(|a| ip.as_ref().is_none_or(|ip| a.ip_address.as_ref() == Some(ip)))
            .filter(|a| in_ou(&a.actor.email))
            .filter(|a| {
                a.events.iter().any(|e| {
                    event_name.as_ref().is_none_or(|n| &e.name == n)
                        && filters.iter().all(|f| {
                            e.parameters
                                .iter()
                                .find(|p| p.name == f.name)
                                .is_some_and(|p| compare(&p.value, f.op, &f.value))
                        })
                })
            })
            .filter(|a| {
                agent_filter.iter().all(|(k, v)| {
                    a.agent.as_ref().is_some_and(|agent| match k.as_str() {
                        "agentId" => &agent.id == v,
                        "agentName" => &agent.name == v,
                        "agentOwnerEmail" => &agent.owner_email == v,
                        _ => true,
                    })
                })
            })
            .filter(|a| {
                client_filter.iter().all(|(k, v)| {
                    k != "oAuthClientId" || a.actor.application.as_ref().is_some_and(|x| &x.oauth_client_id == v)
                })
            })
            .collect()
    };
    // Newest first (§5.4).
    selected.sort_by(|a, b| {
        b.time
            .cmp(&a.time)
            .then_with(|| b.unique_qualifier.cmp(&a.unique_qualifier))
    });
    let customer = s.scenario.customer_id.clone();
    let items: Vec<Value> = selected
        .iter()
        .map(|a| activity_json(a, &customer, event_name.as_deref()))
        .collect();
    let (first, last, next) = page_bounds(s, call, items.len(), call.page_size("maxResults", 1000))?;
    let mut body = json!({"kind": "admin#reports#activities", "etag": etag(&format!("activities:{app}:{first}"))});
    if last > first {
        body["items"] = json!(items[first..last].to_vec());
    }
    if let Some(next) = next {
        body["nextPageToken"] = json!(next);
    }
    Ok(body)
}
