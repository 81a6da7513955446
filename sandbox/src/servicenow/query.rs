//! A small evaluator for ServiceNow encoded queries and the rendering of Table API records.
//!
//! Supported: `^` (AND), `^OR` (binds tighter than `^`), `^NQ` (a new query, OR-ed with the others), `ORDERBY<f>`, `ORDERBYDESC<f>`, and
//! the operators `=`, `!=`, `>=`, `<=`, `>`, `<`, `IN`, `NOT IN`, `LIKE`, `STARTSWITH`, `ENDSWITH`, `ISEMPTY`,
//! `ISNOTEMPTY`, with one level of dot-walking through reference columns.

use super::tables::{Row, Table, Tables};
use serde_json::{json, Map, Value};

pub struct ListRequest<'a> {
    pub query: &'a str,
    pub fields: Option<&'a str>,
    pub limit: usize,
    pub offset: usize,
    pub display_value: &'a str,
    pub exclude_reference_link: bool,
    pub base: &'a str,
}

pub struct Page {
    pub rows: Vec<Value>,
    /// Rows matching the query before row-level ACLs (what `X-Total-Count` reports).
    pub total: usize,
}

#[derive(Debug)]
pub enum QueryError {
    UnknownField(String),
}

enum Op {
    Eq,
    Ne,
    Ge,
    Le,
    Gt,
    Lt,
    In,
    NotIn,
    Like,
    StartsWith,
    EndsWith,
    IsEmpty,
    IsNotEmpty,
}

struct Condition {
    field: String,
    op: Op,
    value: String,
}

/// Operators in the order they are tried after a field name (longest first where prefixes clash).
type OpFactory = fn() -> Op;

const OPERATORS: &[(&str, OpFactory)] = &[
    ("!=", || Op::Ne),
    (">=", || Op::Ge),
    ("<=", || Op::Le),
    ("=", || Op::Eq),
    (">", || Op::Gt),
    ("<", || Op::Lt),
    ("NOT IN", || Op::NotIn),
    ("IN", || Op::In),
    ("LIKE", || Op::Like),
    ("STARTSWITH", || Op::StartsWith),
    ("ENDSWITH", || Op::EndsWith),
    ("ISNOTEMPTY", || Op::IsNotEmpty),
    ("ISEMPTY", || Op::IsEmpty),
];

/// Resolves a possibly dot-walked field of `row` to its raw string value.
fn field_value<'t>(tables: &'t Tables, table: &Table, row: &'t Row, field: &str) -> Option<&'t str> {
    match field.split_once('.') {
        None => row.get(field),
        Some((reference, rest)) => {
            let target = table.references.get(reference)?;
            let id = row.get(reference)?;
            let target_table = tables.get(target)?;
            let target_row = tables.lookup(target, id);
            match target_row {
                Some(r) => field_value(tables, target_table, r, rest),
                None => Some(""),
            }
        }
    }
}

fn field_exists(tables: &Tables, table: &Table, field: &str) -> bool {
    match field.split_once('.') {
        None => table.has_column(field),
        Some((reference, rest)) => table
            .references
            .get(reference)
            .and_then(|t| tables.get(t))
            .is_some_and(|t| field_exists(tables, t, rest)),
    }
}

fn parse_condition(tables: &Tables, table: &Table, term: &str) -> Result<Condition, QueryError> {
    // The field name ends where a known column ends and an operator starts.
    for end in (1..=term.len()).rev() {
        if !term.is_char_boundary(end) {
            continue;
        }
        let (field, rest) = term.split_at(end);
        if !field_exists(tables, table, field) {
            continue;
        }
        for (symbol, op) in OPERATORS {
            if let Some(value) = rest.strip_prefix(symbol) {
                return Ok(Condition {
                    field: field.to_string(),
                    op: op(),
                    value: value.to_string(),
                });
            }
        }
    }
    let name: String = term
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.')
        .collect();
    Err(QueryError::UnknownField(name))
}

fn matches(tables: &Tables, table: &Table, row: &Row, c: &Condition) -> bool {
    let value = field_value(tables, table, row, &c.field).unwrap_or("");
    let list = || c.value.split(',').map(str::trim).collect::<Vec<_>>();
    match c.op {
        Op::Eq => value == c.value,
        Op::Ne => value != c.value,
        // Dates are `YYYY-MM-DD HH:MM:SS`, so text order is time order.
        Op::Ge => value >= c.value.as_str(),
        Op::Le => value <= c.value.as_str(),
        Op::Gt => value > c.value.as_str(),
        Op::Lt => value < c.value.as_str(),
        Op::In => list().contains(&value),
        Op::NotIn => !list().contains(&value),
        Op::Like => value.to_lowercase().contains(&c.value.to_lowercase()),
        Op::StartsWith => value.starts_with(&c.value),
        Op::EndsWith => value.ends_with(&c.value),
        Op::IsEmpty => value.is_empty(),
        Op::IsNotEmpty => !value.is_empty(),
    }
}

/// Runs a list request: filter, order, count, page, drop ACL-hidden rows, project, render.
pub fn run(tables: &Tables, table: &Table, request: &ListRequest) -> Result<Page, QueryError> {
    // `^NQ` starts a new query whose rows are added to the others' (an OR of whole queries).
    let mut queries: Vec<Vec<Vec<Condition>>> = Vec::new(); // OR of (AND of ORs)
    let mut order: Vec<(String, bool)> = Vec::new();
    for text in request.query.split("^NQ") {
        let mut groups: Vec<Vec<Condition>> = Vec::new();
        for part in text.split('^').filter(|p| !p.is_empty()) {
            if let Some(field) = part.strip_prefix("ORDERBYDESC") {
                order.push((field.to_string(), true));
            } else if let Some(field) = part.strip_prefix("ORDERBY") {
                order.push((field.to_string(), false));
            } else if let Some(term) = part.strip_prefix("OR") {
                let condition = parse_condition(tables, table, term)?;
                match groups.last_mut() {
                    Some(group) => group.push(condition),
                    None => groups.push(vec![condition]),
                }
            } else {
                groups.push(vec![parse_condition(tables, table, part)?]);
            }
        }
        queries.push(groups);
    }
    let mut selected: Vec<&Row> = table
        .rows
        .iter()
        .filter(|row| {
            queries
                .iter()
                .any(|groups| groups.iter().all(|g| g.iter().any(|c| matches(tables, table, row, c))))
        })
        .collect();
    for (field, descending) in order.iter().rev() {
        selected.sort_by(|a, b| {
            let (x, y) = (
                field_value(tables, table, a, field).unwrap_or(""),
                field_value(tables, table, b, field).unwrap_or(""),
            );
            if *descending {
                y.cmp(x)
            } else {
                x.cmp(y)
            }
        });
    }
    let total = selected.len();
    let fields: Option<Vec<&str>> = request
        .fields
        .map(|f| f.split(',').map(str::trim).filter(|f| !f.is_empty()).collect());
    let rows = selected
        .into_iter()
        .skip(request.offset)
        .take(request.limit)
        .filter(|row| !row.hidden)
        .map(|row| Value::Object(render(tables, table, row, fields.as_deref(), request)))
        .collect();
    Ok(Page { rows, total })
}

fn display_of(tables: &Tables, target: &str, id: &str) -> String {
    tables
        .lookup(target, id)
        .and_then(|r| r.get("name").filter(|n| !n.is_empty()).or(r.get("user_name")))
        .unwrap_or(id)
        .to_string()
}

/// Renders one record as the Table API would, honouring the display/link parameters.
pub fn render(
    tables: &Tables,
    table: &Table,
    row: &Row,
    fields: Option<&[&str]>,
    request: &ListRequest,
) -> Map<String, Value> {
    let names: Vec<String> = match fields {
        // Invalid names in sysparm_fields are silently ignored.
        Some(list) => list
            .iter()
            .filter(|f| field_exists(tables, table, f))
            .map(|f| f.to_string())
            .collect(),
        None => table.columns.clone(),
    };
    let mut out = Map::new();
    for name in names {
        let raw = field_value(tables, table, row, &name).unwrap_or("").to_string();
        let reference = if name.contains('.') {
            None
        } else {
            table.references.get(&name)
        };
        let value = match (reference, request.display_value) {
            (Some(target), "all") if !raw.is_empty() => json!({
                "display_value": display_of(tables, target, &raw),
                "link": format!("{}/api/now/table/{target}/{raw}", request.base),
                "value": raw,
            }),
            (Some(target), "true") if !raw.is_empty() => json!(display_of(tables, target, &raw)),
            (Some(target), _) if !raw.is_empty() && !request.exclude_reference_link => json!({
                "link": format!("{}/api/now/table/{target}/{raw}", request.base),
                "value": raw,
            }),
            (_, "all") => json!({"display_value": raw, "value": raw}),
            _ => json!(raw),
        };
        out.insert(name, value);
    }
    out
}
