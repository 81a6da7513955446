//! Cloud Identity Policy API (`/v1/policies`; reference §2.1, §8.1, §9.1.6): super admins
//! only, `pageSize` 50 by default and at most 100, opaque page tokens, optionally a blank page
//! that still carries a token, and the CEL-ish `filter`: `customer == "customers/…"` and
//! `setting.type.matches('<RE2>')` joined with `&&`, `||`, `!` and parentheses.

use super::pattern::Pattern;
use super::scenarios::Policy;
use super::{bad_request, not_authorized, page_token, read_page_token, Call, Refusal, SimState};
use axum::http::StatusCode;
use serde_json::{json, Value};

type Answer = Result<Value, Refusal>;

pub(super) fn handle(s: &mut SimState, call: &Call) -> Answer {
    // §2.1: the Policy API answers super admins only.
    let super_admin = call
        .sub
        .as_deref()
        .and_then(|sub| s.user(sub))
        .is_some_and(|u| u.is_admin);
    if !super_admin {
        s.violation(format!("{}: {:?} is not a super admin", call.label, call.sub));
        return Err(not_authorized(call.method.api).into());
    }
    match call.method.id.as_str() {
        "cloudidentity.policies.list" => list(s, call),
        "cloudidentity.policies.get" => {
            let id = call.var("policiesId");
            let found = s.scenario.policies.iter().find(|p| p.id == id);
            found.map(|p| policy_json(s, p)).ok_or_else(|| {
                super::cloud_error(StatusCode::NOT_FOUND, "Requested entity was not found.", "NOT_FOUND").into()
            })
        }
        other => Err(super::cloud_error(StatusCode::NOT_FOUND, &format!("Not simulated: {other}"), "NOT_FOUND").into()),
    }
}

fn policy_json(s: &SimState, p: &Policy) -> Value {
    // A whole sortOrder is written as an integer (`101`), as Google's JSON has it.
    let sort = if p.sort_order.fract() == 0.0 {
        json!(p.sort_order as i64)
    } else {
        json!(p.sort_order)
    };
    let mut query = json!({"orgUnit": format!("orgUnits/{}", p.org_unit), "sortOrder": sort});
    if let Some(q) = &p.query {
        query["query"] = json!(q);
    }
    if let Some(g) = &p.group {
        query["group"] = json!(g);
    }
    json!({
        "name": format!("policies/{}", p.id),
        "customer": format!("customers/{}", s.scenario.customer_id),
        "policyQuery": query,
        "setting": {"type": p.setting_type, "value": p.value},
        "type": p.kind,
    })
}

// ---------------------------------------------------------------------------------------
// The filter

#[derive(Debug)]
enum Expr {
    Customer(String),
    Matches(Pattern),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Ident(String),
    Str(String),
    And,
    Or,
    Not,
    Eq,
    Open,
    Close,
}

fn lex(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let two = chars.get(i..i + 2).map(|p| p.iter().collect::<String>());
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            '&' if two.as_deref() == Some("&&") => {
                out.push(Token::And);
                i += 2;
            }
            '|' if two.as_deref() == Some("||") => {
                out.push(Token::Or);
                i += 2;
            }
            '=' if two.as_deref() == Some("==") => {
                out.push(Token::Eq);
                i += 2;
            }
            '!' => {
                out.push(Token::Not);
                i += 1;
            }
            '\'' | '"' => {
                // CEL escapes: `\\` and the quote; any other `\x` stays for the regex.
                let quote = c;
                let mut value = String::new();
                i += 1;
                loop {
                    let Some(&ch) = chars.get(i) else {
                        return Err("unterminated string".into());
                    };
                    i += 1;
                    if ch == quote {
                        break;
                    }
                    if ch == '\\' {
                        match chars.get(i) {
                            Some(&n) if n == '\\' || n == quote => {
                                value.push(n);
                                i += 1;
                            }
                            _ => value.push('\\'),
                        }
                    } else {
                        value.push(ch);
                    }
                }
                out.push(Token::Str(value));
            }
            c if c.is_ascii_alphabetic() || c == '_' => {
                let mut ident = String::new();
                while let Some(&ch) = chars.get(i) {
                    if ch.is_ascii_alphanumeric() || ch == '_' || ch == '.' {
                        ident.push(ch);
                        i += 1;
                    } else {
                        break;
                    }
                }
                out.push(Token::Ident(ident));
            }
            other => return Err(format!("unexpected {other:?}")),
        }
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn or(&mut self) -> Result<Expr, String> {
        let mut left = self.and()?;
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            left = Expr::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            left = Expr::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        match self.next() {
            Some(Token::Not) => Ok(Expr::Not(Box::new(self.unary()?))),
            Some(Token::Open) => {
                let inner = self.or()?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err("missing )".into()),
                }
            }
            Some(Token::Ident(name)) if name == "customer" => match (self.next(), self.next()) {
                (Some(Token::Eq), Some(Token::Str(value))) => Ok(Expr::Customer(value)),
                _ => Err("expected customer == \"customers/…\"".into()),
            },
            Some(Token::Ident(name)) if name == "setting.type.matches" => {
                match (self.next(), self.next(), self.next()) {
                    (Some(Token::Open), Some(Token::Str(re)), Some(Token::Close)) => Pattern::new(&re)
                        .map(Expr::Matches)
                        .map_err(|e| format!("invalid regex {re:?}: {e}")),
                    _ => Err("expected setting.type.matches('<regex>')".into()),
                }
            }
            other => Err(format!("unexpected {other:?}")),
        }
    }
}

fn parse_filter(text: &str) -> Result<Expr, String> {
    let mut parser = Parser {
        tokens: lex(text)?,
        pos: 0,
    };
    let expr = parser.or()?;
    if parser.pos < parser.tokens.len() {
        return Err(format!("unexpected {:?}", parser.tokens[parser.pos]));
    }
    Ok(expr)
}

fn customers(expr: &Expr, out: &mut Vec<String>) {
    match expr {
        Expr::Customer(c) => out.push(c.clone()),
        Expr::Matches(_) => {}
        Expr::Not(e) => customers(e, out),
        Expr::And(a, b) | Expr::Or(a, b) => {
            customers(a, out);
            customers(b, out);
        }
    }
}

/// The filter's verdict on a policy of this (the only) customer.
fn eval(expr: &Expr, p: &Policy) -> bool {
    match expr {
        Expr::Customer(_) => true,
        Expr::Matches(re) => re.search(&p.setting_type),
        Expr::Not(e) => !eval(e, p),
        Expr::And(a, b) => eval(a, p) && eval(b, p),
        Expr::Or(a, b) => eval(a, p) || eval(b, p),
    }
}

// ---------------------------------------------------------------------------------------
// The list

fn list(s: &mut SimState, call: &Call) -> Answer {
    let api = call.method.api;
    let size = match call.param("pageSize").map(|v| v.parse::<i64>().unwrap_or(0)) {
        None | Some(0) => 50,
        Some(n) if n < 0 => {
            s.violation(format!("{}: negative pageSize", call.label));
            return Err(bad_request(api, "page_size must not be negative", "pageSize").into());
        }
        Some(n) => n.min(100) as usize,
    };
    let filter = match call.param("filter").filter(|f| !f.trim().is_empty()) {
        None => None,
        Some(text) => match parse_filter(text) {
            Ok(expr) => Some(expr),
            Err(why) => {
                s.violation(format!("{}: the filter does not parse: {why}", call.label));
                return Err(bad_request(api, &format!("Invalid filter: {why}"), "filter").into());
            }
        },
    };
    if let Some(expr) = &filter {
        let mut named = Vec::new();
        customers(expr, &mut named);
        // One customer per call, and it must be this one.
        let ours = |c: &String| c.strip_prefix("customers/").is_some_and(|id| s.is_our_customer(id));
        if named.len() > 1 || !named.iter().all(ours) {
            s.violation(format!("{}: the filter names another customer or several", call.label));
            return Err(not_authorized(api).into());
        }
    }
    let selected: Vec<Value> = s
        .scenario
        .policies
        .iter()
        .filter(|p| filter.as_ref().is_none_or(|f| eval(f, p)))
        .map(|p| policy_json(s, p))
        .collect();

    // Page tokens: `n` for offset n; past the end, a blank page (`blank`) then the end.
    let fingerprint = call.fingerprint();
    let total = selected.len();
    let start = match call.param("pageToken").filter(|t| !t.is_empty()) {
        None => 0,
        Some(token) => match read_page_token(token, &fingerprint) {
            Some(offset) => offset,
            None => {
                s.violation(format!("{}: a page token this request did not issue", call.label));
                return Err(bad_request(api, "The page token is invalid.", "pageToken").into());
            }
        },
    };
    let blank_pages = s.config.policy_page_blank_pages;
    let mut body = json!({});
    if start < total {
        let end = (start + size).min(total);
        body["policies"] = json!(selected[start..end].to_vec());
        if end < total || blank_pages {
            body["nextPageToken"] = json!(page_token(&fingerprint, end));
        }
    } else if start == total && blank_pages && total > 0 {
        // The blank page that still carries a token (§2.1, §8.1).
        body["nextPageToken"] = json!(page_token(&fingerprint, total + 1));
    }
    Ok(body)
}
