//! Google's own description of the APIs the simulator plays: the extract of the discovery
//! documents kept beside the connector (`connectors/src/google_workspace/published/`). Every
//! request is found in it by HTTP method and path template and its query held against the
//! method's parameters (name, type, enum, bounds, pattern) and the standard parameters every
//! Google API takes; the token must carry one of the method's scopes.

use super::pattern::Pattern;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// Which simulated API a method belongs to (the `requests_by_api` key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    Directory,
    Reports,
    Policies,
    /// Described, not simulated.
    Licensing,
}

impl Api {
    pub fn as_str(self) -> &'static str {
        match self {
            Api::Directory => "directory",
            Api::Reports => "reports",
            Api::Policies => "policies",
            Api::Licensing => "licensing",
        }
    }
}

#[derive(Debug)]
enum Segment {
    Literal(String),
    Var(String),
}

#[derive(Debug)]
pub struct Param {
    pub location: String,
    pub kind: String,
    pub required: bool,
    pub enumeration: Option<Vec<String>>,
    pub minimum: Option<i64>,
    pub maximum: Option<i64>,
    pub pattern: Option<(String, Pattern)>,
}

/// One method of the extract.
#[derive(Debug)]
pub struct Method {
    /// `directory.users.list`, `reports.activities.list`, `cloudidentity.policies.list`.
    pub id: String,
    pub api: Api,
    pub http_method: String,
    segments: Vec<Segment>,
    pub params: BTreeMap<String, Param>,
    pub scopes: Vec<String>,
}

struct Described {
    methods: Vec<Method>,
    /// Standard parameters, per API (they are the same in all four documents).
    standard: BTreeMap<String, Param>,
}

fn param(raw: &Value) -> Param {
    let text = |k: &str| raw.get(k).and_then(Value::as_str).map(str::to_string);
    let number = |k: &str| text(k).and_then(|s| s.parse().ok());
    Param {
        location: text("location").unwrap_or_default(),
        kind: text("type").unwrap_or_else(|| "string".into()),
        required: raw.get("required").and_then(Value::as_bool).unwrap_or(false),
        enumeration: raw
            .get("enum")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Value::as_str).map(str::to_string).collect()),
        minimum: number("minimum"),
        maximum: number("maximum"),
        pattern: text("pattern").map(|p| {
            let compiled = Pattern::new(&p).unwrap_or_else(|e| panic!("discovery pattern {p:?}: {e}"));
            (p, compiled)
        }),
    }
}

static DESCRIBED: LazyLock<Described> = LazyLock::new(|| {
    let raw: Value = serde_json::from_str(include_str!(
        "../../../connectors/src/google_workspace/published/discovery.json"
    ))
    .expect("the discovery extract is valid JSON");
    let mut methods = Vec::new();
    let mut standard = BTreeMap::new();
    for (name, doc) in raw["apis"].as_object().expect("apis is an object") {
        let api = match name.as_str() {
            "admin.directory_v1" => Api::Directory,
            "admin.reports_v1" => Api::Reports,
            "cloudidentity.v1" => Api::Policies,
            _ => Api::Licensing,
        };
        for (k, v) in doc["parameters"].as_object().into_iter().flatten() {
            standard.insert(k.clone(), param(v));
        }
        for (id, m) in doc["methods"].as_object().expect("methods is an object") {
            let flat = m["flatPath"].as_str().unwrap_or_default();
            let segments = flat
                .split('/')
                .map(|s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    Some(var) => Segment::Var(var.trim_start_matches('+').to_string()),
                    None => Segment::Literal(s.to_string()),
                })
                .collect();
            methods.push(Method {
                id: id.clone(),
                api,
                http_method: m["httpMethod"].as_str().unwrap_or_default().to_string(),
                segments,
                params: m["parameters"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), param(v)))
                    .collect(),
                scopes: m["scopes"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
            });
        }
    }
    Described { methods, standard }
});

/// Percent-decoding of one path segment (`%40` in an email).
fn decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            if let Some(b) = segment.get(i + 1..i + 3).and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The method a request names, and its path variables. Among templates that fit, the one
/// with the most literal segments wins (`roles/ALL/privileges` over `roles/{roleId}`).
pub fn find(http_method: &str, path: &str) -> Option<(&'static Method, BTreeMap<String, String>)> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut best: Option<(&Method, BTreeMap<String, String>, usize)> = None;
    for m in DESCRIBED.methods.iter().filter(|m| m.http_method == http_method) {
        if m.segments.len() != parts.len() {
            continue;
        }
        let mut vars = BTreeMap::new();
        let mut literals = 0;
        let fits = m.segments.iter().zip(&parts).all(|(seg, part)| match seg {
            Segment::Literal(l) => {
                literals += 1;
                l == part
            }
            Segment::Var(v) => {
                vars.insert(v.clone(), decode(part));
                !part.is_empty()
            }
        });
        if fits && best.as_ref().is_none_or(|(_, _, n)| literals > *n) {
            best = Some((m, vars, literals));
        }
    }
    best.map(|(m, vars, _)| (m, vars))
}

/// Why a request does not fit its description: Google's message and the parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub message: String,
    pub parameter: String,
}

fn invalid(parameter: &str, message: String) -> Invalid {
    Invalid {
        message,
        parameter: parameter.to_string(),
    }
}

fn check_value(name: &str, p: &Param, value: &str) -> Result<(), Invalid> {
    match p.kind.as_str() {
        "integer" => {
            let n: i64 = value
                .parse()
                .map_err(|_| invalid(name, format!("Invalid value at '{name}' (TYPE_INT32), \"{value}\"")))?;
            let below = p.minimum.is_some_and(|min| n < min);
            let above = p.maximum.is_some_and(|max| n > max);
            if below || above {
                let min = p.minimum.map_or("-2147483648".to_string(), |m| m.to_string());
                let max = p.maximum.map_or("2147483647".to_string(), |m| m.to_string());
                return Err(invalid(
                    name,
                    format!("Invalid value '{value}'. Values must be within the range: [{min}, {max}]"),
                ));
            }
        }
        "boolean" if value != "true" && value != "false" => {
            return Err(invalid(
                name,
                format!("Invalid value at '{name}' (TYPE_BOOL), \"{value}\""),
            ));
        }
        _ => {}
    }
    if let Some(allowed) = &p.enumeration {
        if !allowed.iter().any(|a| a == value) {
            return Err(invalid(
                name,
                format!(
                    "Invalid value '{value}'. Values must match the following regular expression: '{}'",
                    allowed.join("|")
                ),
            ));
        }
    }
    if let Some((text, pattern)) = &p.pattern {
        if !pattern.full_match(value) {
            return Err(invalid(
                name,
                format!("Invalid value '{value}'. Values must match the following regular expression: '{text}'"),
            ));
        }
    }
    Ok(())
}

/// Holds a request's query and path variables against `method` (and the standard parameters).
pub fn check(method: &Method, query: &[(String, String)], vars: &BTreeMap<String, String>) -> Result<(), Invalid> {
    for (name, value) in vars {
        if let Some(p) = method.params.get(name) {
            check_value(name, p, value)?;
        }
    }
    for (name, value) in query {
        let described = method
            .params
            .get(name)
            .filter(|p| p.location == "query")
            .or_else(|| DESCRIBED.standard.get(name));
        let Some(p) = described else {
            return Err(invalid(
                name,
                format!(
                    "Invalid JSON payload received. Unknown name \"{name}\": Cannot bind query parameter. \
                     Field '{name}' could not be found in request message."
                ),
            ));
        };
        check_value(name, p, value)?;
        // §9.1.8: quotaUser "should not exceed 40 characters".
        if name == "quotaUser" && value.chars().count() > 40 {
            return Err(invalid(
                name,
                format!("Invalid value '{value}'. quotaUser must not exceed 40 characters"),
            ));
        }
    }
    for (name, p) in &method.params {
        if p.required && p.location == "query" && !query.iter().any(|(k, _)| k == name) {
            return Err(invalid(name, format!("Required parameter: {name}")));
        }
    }
    Ok(())
}

/// The method's scopes, space-separated (the `WWW-Authenticate` `scope=`).
pub fn scope_list(method: &Method) -> String {
    method.scopes.join(" ")
}
