//! The SOQL subset the simulator answers (reference §2.0): `SELECT <fields> FROM <Object>
//! [WHERE <cond>] [ORDER BY <field> [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n] [OFFSET n]`,
//! with relationship paths (`PermissionSet.Profile.Name`), child subqueries
//! (`(SELECT ... FROM BotVersions ORDER BY VersionNumber)`), `SELECT COUNT()`, and WHERE with
//! `=`, `!=`/`<>`, `<`, `<=`, `>`, `>=`, `LIKE`, `[NOT] IN (literals)`, `[NOT] IN (SELECT ...)`
//! (semi-join), `AND`, `OR`, `NOT` and parentheses. Like Salesforce, it refuses to mix `AND`
//! and `OR` at one level without parentheses.
//!
//! Errors are Salesforce's: `MALFORMED_QUERY` for syntax, `INVALID_TYPE` for an object the
//! endpoint does not serve, `INVALID_FIELD` for a column or relationship the object does not
//! declare (checked against [`super::published`]), each message pointing at the row and
//! column (reference §8.6).

use super::published::{self, Api, ObjectSchema};
use serde_json::{json, Map, Value};
use std::cmp::Ordering;
use std::collections::BTreeMap;

pub type Record = Map<String, Value>;

/// The org's rows, by sObject API name.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    rows: BTreeMap<String, Vec<Record>>,
}

impl Tables {
    pub fn insert(&mut self, object: &str, record: Record) {
        self.rows.entry(object.to_string()).or_default().push(record);
    }

    pub fn rows(&self, object: &str) -> &[Record] {
        self.rows.get(object).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn objects(&self) -> impl Iterator<Item = (&str, &[Record])> {
        self.rows.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// The row with this Id (15 or 18 characters) in `object`, or in any object for `*`.
    pub fn find(&self, object: &str, id: &str) -> Option<(&str, &Record)> {
        let hit = |rows: &[Record]| -> Option<usize> {
            rows.iter()
                .position(|r| r.get("Id").and_then(Value::as_str).is_some_and(|rid| same_id(rid, id)))
        };
        if object == "*" {
            return self
                .rows
                .iter()
                .find_map(|(name, rows)| hit(rows).map(|i| (name.as_str(), &rows[i])));
        }
        let (name, rows) = self.rows.get_key_value(object)?;
        hit(rows).map(|i| (name.as_str(), &rows[i]))
    }
}

/// Salesforce Ids compare on their case-sensitive 15-character form: an 18-character Id only
/// adds a case-insensitive checksum.
pub fn same_id(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    // Cheapest test first: an IN list compares every row with every value.
    let idish = |s: &str| (s.len() == 15 || s.len() == 18) && s.bytes().all(|c| c.is_ascii_alphanumeric());
    a.len() >= 15 && b.len() >= 15 && a.as_bytes()[..15] == b.as_bytes()[..15] && idish(a) && idish(b)
}

/// A Salesforce error answer: `errorCode` and `message`.
#[derive(Debug, Clone, PartialEq)]
pub struct SoqlError {
    pub code: &'static str,
    pub message: String,
}

/// Salesforce's located message: the offending line, a caret, `ERROR at Row:r:Column:c`, then
/// the text.
fn located(soql: &str, pos: usize, text: &str) -> String {
    let pos = pos.min(soql.len());
    let before = &soql[..pos];
    let row = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map(|i| i + 1).unwrap_or(0);
    let col = before[line_start..].chars().count() + 1;
    let line = soql[line_start..].lines().next().unwrap_or("");
    format!(
        "\n{line}\n{}^\nERROR at Row:{row}:Column:{col}\n{text}",
        " ".repeat(col - 1)
    )
}

fn malformed(soql: &str, pos: usize, text: &str) -> SoqlError {
    SoqlError {
        code: "MALFORMED_QUERY",
        message: located(soql, pos, text),
    }
}

fn invalid_type(soql: &str, pos: usize, object: &str) -> SoqlError {
    SoqlError {
        code: "INVALID_TYPE",
        message: located(
            soql,
            pos,
            &format!(
                "sObject type '{object}' is not supported. If you are attempting to use a custom object, be sure to \
                 append the '__c' after the entity name. Please reference your WSDL or the describe call for the \
                 appropriate names."
            ),
        ),
    }
}

fn no_such_column(soql: &str, pos: usize, field: &str, object: &str) -> SoqlError {
    SoqlError {
        code: "INVALID_FIELD",
        message: located(
            soql,
            pos,
            &format!(
                "No such column '{field}' on entity '{object}'. If you are attempting to use a custom field, be sure \
                 to append the '__c' after the custom field name. Please reference your WSDL or the describe call for \
                 the appropriate names."
            ),
        ),
    }
}

fn bad_relationship(soql: &str, pos: usize, name: &str) -> SoqlError {
    SoqlError {
        code: "INVALID_FIELD",
        message: located(
            soql,
            pos,
            &format!(
                "Didn't understand relationship '{name}' in field path. If you are attempting to use a custom \
                 relationship, be sure to append the '__r' after the custom relationship name. Please reference your \
                 WSDL or the describe call for the appropriate names."
            ),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Syntax

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

/// A field path as written (`PermissionSet.Profile.Name`) and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    pub parts: Vec<String>,
    pub pos: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Field(Path),
    Sub(Box<Query>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    And(Vec<Cond>),
    Or(Vec<Cond>),
    Not(Box<Cond>),
    Cmp {
        path: Path,
        op: Op,
        value: Literal,
    },
    In {
        path: Path,
        negated: bool,
        values: Vec<Literal>,
    },
    InQuery {
        path: Path,
        negated: bool,
        query: Box<Query>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub path: Path,
    pub descending: bool,
    pub nulls_last: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// `SELECT COUNT()`.
    pub count: bool,
    pub items: Vec<Item>,
    pub from: String,
    pub from_pos: usize,
    pub filter: Option<Cond>,
    pub order: Vec<Order>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Num(String),
    LParen,
    RParen,
    Comma,
    Op(&'static str),
    Colon,
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    pos: usize,
}

fn tokenize(soql: &str) -> Result<Vec<Token>, SoqlError> {
    let mut out = Vec::new();
    let mut chars = soql.char_indices().peekable();
    while let Some(&(pos, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let tok = match c {
            '(' => {
                chars.next();
                Tok::LParen
            }
            ')' => {
                chars.next();
                Tok::RParen
            }
            ',' => {
                chars.next();
                Tok::Comma
            }
            ':' => {
                chars.next();
                Tok::Colon
            }
            '=' => {
                chars.next();
                Tok::Op("=")
            }
            '!' => {
                chars.next();
                match chars.peek() {
                    Some(&(_, '=')) => {
                        chars.next();
                        Tok::Op("!=")
                    }
                    _ => return Err(malformed(soql, pos, "unexpected token: '!'")),
                }
            }
            '<' => {
                chars.next();
                match chars.peek() {
                    Some(&(_, '=')) => {
                        chars.next();
                        Tok::Op("<=")
                    }
                    Some(&(_, '>')) => {
                        chars.next();
                        Tok::Op("!=")
                    }
                    _ => Tok::Op("<"),
                }
            }
            '>' => {
                chars.next();
                match chars.peek() {
                    Some(&(_, '=')) => {
                        chars.next();
                        Tok::Op(">=")
                    }
                    _ => Tok::Op(">"),
                }
            }
            '\'' => {
                chars.next();
                let mut text = String::new();
                let mut closed = false;
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\'' => {
                            closed = true;
                            break;
                        }
                        '\\' => match chars.next() {
                            Some((_, 'n')) => text.push('\n'),
                            Some((_, 't')) => text.push('\t'),
                            Some((_, 'r')) => text.push('\r'),
                            Some((_, 'b')) => text.push('\u{8}'),
                            Some((_, 'f')) => text.push('\u{c}'),
                            Some((_, e @ ('\'' | '"' | '\\' | '_' | '%'))) => text.push(e),
                            Some((at, other)) => {
                                return Err(malformed(
                                    soql,
                                    at,
                                    &format!("Invalid string literal: unknown escape '\\{other}'"),
                                ))
                            }
                            None => break,
                        },
                        c => text.push(c),
                    }
                }
                if !closed {
                    return Err(malformed(soql, pos, "unterminated string literal"));
                }
                Tok::Str(text)
            }
            c if c.is_ascii_digit() || (c == '-' && matches!(out.last(), Some(Token { tok: Tok::Op(_), .. }))) => {
                let mut text = String::new();
                text.push(c);
                chars.next();
                while let Some(&(_, d)) = chars.peek() {
                    if d.is_ascii_digit() || d == '.' {
                        text.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                Tok::Num(text)
            }
            c if c.is_alphanumeric() || c == '_' => {
                let mut text = String::new();
                while let Some(&(_, d)) = chars.peek() {
                    if d.is_alphanumeric() || d == '_' || d == '.' {
                        text.push(d);
                        chars.next();
                    } else {
                        break;
                    }
                }
                Tok::Word(text)
            }
            other => return Err(malformed(soql, pos, &format!("unexpected token: '{other}'"))),
        };
        out.push(Token { tok, pos });
    }
    out.push(Token {
        tok: Tok::Eof,
        pos: soql.len(),
    });
    Ok(out)
}

const RESERVED: &[&str] = &[
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC", "NULLS", "LIMIT",
    "OFFSET", "GROUP", "HAVING", "WITH", "FOR", "USING", "TYPEOF", "INCLUDES", "EXCLUDES",
];

struct Parser<'a> {
    soql: &'a str,
    tokens: Vec<Token>,
    at: usize,
    /// Nesting of parentheses, `NOT` and sub-selects, bounded so a hostile query cannot
    /// exhaust the stack.
    depth: usize,
}

const MAX_DEPTH: usize = 64;

impl<'a> Parser<'a> {
    fn peek(&self) -> &Token {
        &self.tokens[self.at.min(self.tokens.len() - 1)]
    }

    fn next(&mut self) -> Token {
        let t = self.peek().clone();
        if self.at < self.tokens.len() {
            self.at += 1;
        }
        t
    }

    fn unexpected(&self, t: &Token) -> SoqlError {
        let shown = match &t.tok {
            Tok::Word(w) => w.clone(),
            Tok::Str(s) => format!("'{s}'"),
            Tok::Num(n) => n.clone(),
            Tok::LParen => "(".into(),
            Tok::RParen => ")".into(),
            Tok::Comma => ",".into(),
            Tok::Colon => ":".into(),
            Tok::Op(o) => (*o).into(),
            Tok::Eof => return malformed(self.soql, t.pos, "unexpected token: <EOF>"),
        };
        malformed(self.soql, t.pos, &format!("unexpected token: '{shown}'"))
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Word(w) if w.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.next();
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), SoqlError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(self.unexpected(&self.peek().clone()))
        }
    }

    fn expect(&mut self, tok: Tok) -> Result<(), SoqlError> {
        let t = self.next();
        if t.tok == tok {
            Ok(())
        } else {
            Err(self.unexpected(&t))
        }
    }

    /// A field path: one word, not a reserved one, no empty segments.
    fn path(&mut self) -> Result<Path, SoqlError> {
        let t = self.next();
        match &t.tok {
            Tok::Word(w) if !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(w)) => {
                let parts: Vec<String> = w.split('.').map(str::to_string).collect();
                if parts.iter().any(|p| p.is_empty()) {
                    return Err(self.unexpected(&t));
                }
                Ok(Path { parts, pos: t.pos })
            }
            _ => Err(self.unexpected(&t)),
        }
    }

    fn number(&mut self) -> Result<usize, SoqlError> {
        let t = self.next();
        match &t.tok {
            Tok::Num(n) => n.parse().map_err(|_| self.unexpected(&t)),
            _ => Err(self.unexpected(&t)),
        }
    }

    fn query(&mut self, nested: bool) -> Result<Query, SoqlError> {
        self.depth += 1;
        let result = self.query_inner(nested);
        self.depth -= 1;
        result
    }

    fn query_inner(&mut self, nested: bool) -> Result<Query, SoqlError> {
        if self.depth > MAX_DEPTH {
            let t = self.peek().clone();
            return Err(malformed(self.soql, t.pos, "the query is nested too deeply"));
        }
        self.expect_kw("SELECT")?;
        let mut count = false;
        let mut items = Vec::new();
        if self.is_kw("COUNT") && matches!(self.tokens.get(self.at + 1).map(|t| &t.tok), Some(Tok::LParen)) {
            self.next();
            self.next();
            if !matches!(self.peek().tok, Tok::RParen) {
                let t = self.peek().clone();
                return Err(malformed(
                    self.soql,
                    t.pos,
                    "aggregate functions other than COUNT() are not supported by this simulator",
                ));
            }
            self.next();
            count = true;
        } else {
            loop {
                if matches!(self.peek().tok, Tok::LParen) {
                    let open = self.next();
                    if nested {
                        return Err(malformed(
                            self.soql,
                            open.pos,
                            "Nesting of semi join sub-selects is not supported",
                        ));
                    }
                    let sub = self.query(true)?;
                    self.expect(Tok::RParen)?;
                    items.push(Item::Sub(Box::new(sub)));
                } else {
                    let path = self.path()?;
                    if matches!(self.peek().tok, Tok::LParen) {
                        return Err(malformed(
                            self.soql,
                            path.pos,
                            "aggregate and date functions are not supported by this simulator",
                        ));
                    }
                    items.push(Item::Field(path));
                }
                if matches!(self.peek().tok, Tok::Comma) {
                    self.next();
                } else {
                    break;
                }
            }
        }
        self.expect_kw("FROM")?;
        let from = self.next();
        let from_name = match &from.tok {
            Tok::Word(w) if !w.contains('.') && !RESERVED.iter().any(|r| r.eq_ignore_ascii_case(w)) => w.clone(),
            _ => return Err(self.unexpected(&from)),
        };
        let filter = if self.eat_kw("WHERE") {
            Some(self.condition()?)
        } else {
            None
        };
        let mut order = Vec::new();
        if self.eat_kw("ORDER") {
            self.expect_kw("BY")?;
            loop {
                let path = self.path()?;
                let descending = if self.eat_kw("DESC") {
                    true
                } else {
                    self.eat_kw("ASC");
                    false
                };
                // SOQL's defaults: ascending puts nulls first, descending puts them last.
                let mut nulls_last = descending;
                if self.eat_kw("NULLS") {
                    if self.eat_kw("LAST") {
                        nulls_last = true;
                    } else {
                        self.expect_kw("FIRST")?;
                        nulls_last = false;
                    }
                }
                order.push(Order {
                    path,
                    descending,
                    nulls_last,
                });
                if matches!(self.peek().tok, Tok::Comma) {
                    self.next();
                } else {
                    break;
                }
            }
        }
        let limit = if self.eat_kw("LIMIT") {
            Some(self.number()?)
        } else {
            None
        };
        let offset = if self.eat_kw("OFFSET") {
            Some(self.number()?)
        } else {
            None
        };
        let end = self.peek().clone();
        let ok_end = if nested {
            matches!(end.tok, Tok::RParen)
        } else {
            matches!(end.tok, Tok::Eof)
        };
        if !ok_end {
            return Err(self.unexpected(&end));
        }
        Ok(Query {
            count,
            items,
            from: from_name,
            from_pos: from.pos,
            filter,
            order,
            limit,
            offset,
        })
    }

    /// A condition list at one parenthesis level: all `AND` or all `OR`.
    fn condition(&mut self) -> Result<Cond, SoqlError> {
        let first = self.unary()?;
        let mut terms = vec![first];
        let mut joiner: Option<&'static str> = None;
        loop {
            let word = if self.is_kw("AND") {
                "AND"
            } else if self.is_kw("OR") {
                "OR"
            } else {
                break;
            };
            if joiner.is_some_and(|j| j != word) {
                let t = self.peek().clone();
                return Err(self.unexpected(&t));
            }
            joiner = Some(word);
            self.next();
            terms.push(self.unary()?);
        }
        Ok(match joiner {
            None => terms.pop().expect("one term"),
            Some("AND") => Cond::And(terms),
            Some(_) => Cond::Or(terms),
        })
    }

    fn unary(&mut self) -> Result<Cond, SoqlError> {
        self.depth += 1;
        let result = self.unary_inner();
        self.depth -= 1;
        result
    }

    fn unary_inner(&mut self) -> Result<Cond, SoqlError> {
        if self.depth > MAX_DEPTH {
            let t = self.peek().clone();
            return Err(malformed(self.soql, t.pos, "the condition is nested too deeply"));
        }
        if self.eat_kw("NOT") {
            return Ok(Cond::Not(Box::new(self.unary()?)));
        }
        if matches!(self.peek().tok, Tok::LParen) {
            self.next();
            let inner = self.condition()?;
            self.expect(Tok::RParen)?;
            return Ok(inner);
        }
        let path = self.path()?;
        let negated_in = if self.is_kw("NOT")
            && matches!(self.tokens.get(self.at + 1).map(|t| &t.tok), Some(Tok::Word(w)) if w.eq_ignore_ascii_case("IN"))
        {
            self.next();
            true
        } else {
            false
        };
        if self.eat_kw("IN") {
            self.expect(Tok::LParen)?;
            if self.is_kw("SELECT") {
                let query = self.query(true)?;
                self.expect(Tok::RParen)?;
                return Ok(Cond::InQuery {
                    path,
                    negated: negated_in,
                    query: Box::new(query),
                });
            }
            let mut values = vec![self.literal()?];
            while matches!(self.peek().tok, Tok::Comma) {
                self.next();
                values.push(self.literal()?);
            }
            self.expect(Tok::RParen)?;
            return Ok(Cond::In {
                path,
                negated: negated_in,
                values,
            });
        }
        if negated_in {
            let t = self.peek().clone();
            return Err(self.unexpected(&t));
        }
        let t = self.next();
        let op = match &t.tok {
            Tok::Op("=") => Op::Eq,
            Tok::Op("!=") => Op::Ne,
            Tok::Op("<") => Op::Lt,
            Tok::Op("<=") => Op::Le,
            Tok::Op(">") => Op::Gt,
            Tok::Op(">=") => Op::Ge,
            Tok::Word(w) if w.eq_ignore_ascii_case("LIKE") => Op::Like,
            _ => return Err(self.unexpected(&t)),
        };
        let value = self.literal()?;
        if op == Op::Like && !matches!(value, Literal::Str(_)) {
            return Err(malformed(self.soql, t.pos, "LIKE takes a string literal"));
        }
        Ok(Cond::Cmp { path, op, value })
    }

    fn literal(&mut self) -> Result<Literal, SoqlError> {
        let t = self.next();
        match &t.tok {
            Tok::Str(s) => Ok(Literal::Str(s.clone())),
            Tok::Num(n) => n.parse().map(Literal::Num).map_err(|_| self.unexpected(&t)),
            Tok::Word(w) if w.eq_ignore_ascii_case("true") => Ok(Literal::Bool(true)),
            Tok::Word(w) if w.eq_ignore_ascii_case("false") => Ok(Literal::Bool(false)),
            Tok::Word(w) if w.eq_ignore_ascii_case("null") => Ok(Literal::Null),
            Tok::Colon => Err(malformed(
                self.soql,
                t.pos,
                "Bind variables are only allowed in Apex code",
            )),
            _ => Err(self.unexpected(&t)),
        }
    }
}

/// Parses one SOQL statement of the subset.
pub fn parse(soql: &str) -> Result<Query, SoqlError> {
    let tokens = tokenize(soql)?;
    let mut parser = Parser {
        soql,
        tokens,
        at: 0,
        depth: 0,
    };
    parser.query(false)
}

// ---------------------------------------------------------------------------------------------
// Evaluation

/// What a query answered: the object, how many rows matched, and the rendered records (all of
/// them: the caller pages).
#[derive(Debug, Clone)]
pub struct Outcome {
    pub object: String,
    pub total: usize,
    pub records: Vec<Value>,
}

/// What a query runs against.
pub struct Ctx<'a> {
    pub api: Api,
    /// `vNN.N` without the `v`, for `attributes.url`.
    pub version: &'a str,
    pub tables: &'a Tables,
    /// Objects the endpoint declares but answers `INVALID_TYPE` for (a feature switched off,
    /// `GenAiPromptTemplate` on Tooling: reference §8.3, §9.1.4).
    pub unsupported: &'a [&'a str],
}

/// One step across a parent relationship.
#[derive(Debug, Clone)]
struct Step {
    rel: String,
    target: String,
}

#[derive(Debug, Clone)]
struct Resolved {
    steps: Vec<Step>,
    field: String,
    boolean: bool,
    /// `Type` across a polymorphic reference: the sObject it points at.
    type_of: bool,
}

/// A child subquery, resolved: the relationship, the child object and its foreign key.
struct Child<'q> {
    rel: String,
    object: String,
    fk: &'static str,
    query: &'q Query,
    items: Vec<Resolved>,
}

enum Column<'q> {
    Field(Resolved),
    Child(Child<'q>),
}

/// Child relationships the simulator can follow: (parent, relationship) → (child, foreign key).
const CHILD_LINKS: &[(&str, &str, &str, &str)] = &[
    ("BotDefinition", "BotVersions", "BotVersion", "BotDefinitionId"),
    (
        "PermissionSet",
        "Assignments",
        "PermissionSetAssignment",
        "PermissionSetId",
    ),
    ("PermissionSet", "ObjectPerms", "ObjectPermissions", "ParentId"),
    (
        "GenAiPlannerDefinition",
        "GenAiPluginDefinitions",
        "GenAiPluginDefinition",
        "PlannerId",
    ),
    (
        "GenAiPromptTemplate",
        "GenAiPromptTemplateVersions",
        "GenAiPromptTemplateVersion",
        "GenAiPromptTemplateId",
    ),
];

impl Ctx<'_> {
    fn schema(&self, soql: &str, name: &str, pos: usize) -> Result<&'static ObjectSchema, SoqlError> {
        let schema = published::object(self.api, name).ok_or_else(|| invalid_type(soql, pos, name))?;
        if self.unsupported.iter().any(|u| u.eq_ignore_ascii_case(&schema.name)) {
            return Err(invalid_type(soql, pos, name));
        }
        Ok(schema)
    }

    fn resolve(&self, soql: &str, schema: &ObjectSchema, path: &Path) -> Result<Resolved, SoqlError> {
        let mut steps = Vec::new();
        let mut current: Option<&ObjectSchema> = Some(schema);
        let mut polymorphic = false;
        let (last, rels) = path.parts.split_last().expect("a path has a segment");
        for rel in rels {
            let Some(on) = current else {
                // A target the extract does not describe: follow it without checking.
                steps.push(Step {
                    rel: rel.clone(),
                    target: "*".into(),
                });
                continue;
            };
            let (name, target) = on.parent(rel).ok_or_else(|| bad_relationship(soql, path.pos, rel))?;
            steps.push(Step {
                rel: name.to_string(),
                target: target.to_string(),
            });
            polymorphic = target == "*";
            current = if polymorphic {
                None
            } else {
                published::object(self.api, target).or_else(|| published::any_object(target))
            };
        }
        match current {
            Some(on) => {
                let field = on
                    .field(last)
                    .ok_or_else(|| no_such_column(soql, path.pos, last, &on.name))?;
                Ok(Resolved {
                    steps,
                    field: field.to_string(),
                    boolean: on.is_boolean(field),
                    type_of: false,
                })
            }
            // A polymorphic reference (`SessionHandler`) exposes only the common name fields.
            None if polymorphic => {
                let known = ["Id", "Name", "Type"];
                let field = known
                    .iter()
                    .find(|k| k.eq_ignore_ascii_case(last))
                    .ok_or_else(|| no_such_column(soql, path.pos, last, "Name"))?;
                Ok(Resolved {
                    steps,
                    field: field.to_string(),
                    boolean: false,
                    type_of: *field == "Type",
                })
            }
            None => Ok(Resolved {
                steps,
                field: last.clone(),
                boolean: false,
                type_of: false,
            }),
        }
    }

    fn columns<'q>(&self, soql: &str, schema: &ObjectSchema, query: &'q Query) -> Result<Vec<Column<'q>>, SoqlError> {
        let mut columns = Vec::new();
        for item in &query.items {
            match item {
                Item::Field(path) => columns.push(Column::Field(self.resolve(soql, schema, path)?)),
                Item::Sub(sub) => {
                    let unknown = || {
                        SoqlError {
                        code: "INVALID_TYPE",
                        message: located(
                            soql,
                            sub.from_pos,
                            &format!(
                                "Didn't understand relationship '{}' in FROM part of query call. If you are attempting \
                                 to use a custom relationship, be sure to append the '__r' after the custom relationship \
                                 name. Please reference your WSDL or the describe call for the appropriate names.",
                                sub.from
                            ),
                        ),
                    }
                    };
                    let rel = schema.child(&sub.from).ok_or_else(unknown)?;
                    let &(_, _, child, fk) = CHILD_LINKS
                        .iter()
                        .find(|(p, r, _, _)| *p == schema.name && *r == rel)
                        .ok_or_else(unknown)?;
                    let child_schema = self.schema(soql, child, sub.from_pos)?;
                    let mut items = Vec::new();
                    for item in &sub.items {
                        match item {
                            Item::Field(path) => items.push(self.resolve(soql, child_schema, path)?),
                            Item::Sub(inner) => {
                                return Err(malformed(soql, inner.from_pos, "unexpected token: '('"));
                            }
                        }
                    }
                    if sub.count {
                        return Err(malformed(soql, sub.from_pos, "COUNT() is not allowed in a subquery"));
                    }
                    columns.push(Column::Child(Child {
                        rel: rel.to_string(),
                        object: child.to_string(),
                        fk,
                        query: sub,
                        items,
                    }));
                }
            }
        }
        Ok(columns)
    }

    /// The value at a resolved path from `row` (null when a reference on the way is empty).
    fn value(&self, row: &Record, object: &str, path: &Resolved) -> Value {
        let mut current = row;
        let mut current_object = object.to_string();
        for step in &path.steps {
            let Some(id) = current.get(&format!("{}Id", step.rel)).and_then(Value::as_str) else {
                return Value::Null;
            };
            match self.tables.find(&step.target, id) {
                Some((name, next)) => {
                    current = next;
                    current_object = name.to_string();
                }
                None => return Value::Null,
            }
        }
        field_value(current, &current_object, path)
    }

    fn matches(&self, soql: &str, schema: &ObjectSchema, row: &Record, cond: &Cond) -> Result<bool, SoqlError> {
        Ok(match cond {
            Cond::And(terms) => {
                for t in terms {
                    if !self.matches(soql, schema, row, t)? {
                        return Ok(false);
                    }
                }
                true
            }
            Cond::Or(terms) => {
                for t in terms {
                    if self.matches(soql, schema, row, t)? {
                        return Ok(true);
                    }
                }
                false
            }
            Cond::Not(inner) => !self.matches(soql, schema, row, inner)?,
            Cond::Cmp { path, op, value } => {
                let resolved = self.resolve(soql, schema, path)?;
                let v = self.value(row, &schema.name, &resolved);
                compare(&v, *op, value, id_like(&resolved.field))
            }
            Cond::In { path, negated, values } => {
                let resolved = self.resolve(soql, schema, path)?;
                let v = self.value(row, &schema.name, &resolved);
                let hit = values.iter().any(|l| compare(&v, Op::Eq, l, id_like(&resolved.field)));
                hit != *negated
            }
            Cond::InQuery { path, negated, query } => {
                let resolved = self.resolve(soql, schema, path)?;
                let v = self.value(row, &schema.name, &resolved);
                let values = self.semi_join(soql, query)?;
                let hit = values.iter().any(|l| compare(&v, Op::Eq, l, true));
                hit != *negated
            }
        })
    }

    /// The single column a semi-join sub-select yields, as literals.
    fn semi_join(&self, soql: &str, query: &Query) -> Result<Vec<Literal>, SoqlError> {
        let schema = self.schema(soql, &query.from, query.from_pos)?;
        let [Item::Field(path)] = query.items.as_slice() else {
            return Err(malformed(
                soql,
                query.from_pos,
                "a semi-join sub-select selects exactly one field",
            ));
        };
        let resolved = self.resolve(soql, schema, path)?;
        let rows = self.select_rows(soql, schema, query)?;
        Ok(rows
            .into_iter()
            .filter_map(|row| match self.value(row, &schema.name, &resolved) {
                Value::String(s) => Some(Literal::Str(s)),
                Value::Bool(b) => Some(Literal::Bool(b)),
                Value::Number(n) => n.as_f64().map(Literal::Num),
                _ => None,
            })
            .collect())
    }

    /// The rows of `schema.name` that pass the filter, ordered, offset and limited.
    fn select_rows<'t>(
        &'t self,
        soql: &str,
        schema: &ObjectSchema,
        query: &Query,
    ) -> Result<Vec<&'t Record>, SoqlError> {
        self.filter_rows(soql, schema, query, self.tables.rows(&schema.name).iter().collect())
    }

    fn filter_rows<'t>(
        &self,
        soql: &str,
        schema: &ObjectSchema,
        query: &Query,
        candidates: Vec<&'t Record>,
    ) -> Result<Vec<&'t Record>, SoqlError> {
        let mut rows = Vec::new();
        for row in candidates {
            let keep = match &query.filter {
                Some(cond) => self.matches(soql, schema, row, cond)?,
                None => true,
            };
            if keep {
                rows.push(row);
            }
        }
        if !query.order.is_empty() {
            let mut keys = Vec::new();
            for order in &query.order {
                keys.push((self.resolve(soql, schema, &order.path)?, order));
            }
            rows.sort_by(|a, b| {
                for (resolved, order) in &keys {
                    let (va, vb) = (
                        self.value(a, &schema.name, resolved),
                        self.value(b, &schema.name, resolved),
                    );
                    let ord = match (va.is_null(), vb.is_null()) {
                        (true, true) => Ordering::Equal,
                        (true, false) => {
                            if order.nulls_last {
                                Ordering::Greater
                            } else {
                                Ordering::Less
                            }
                        }
                        (false, true) => {
                            if order.nulls_last {
                                Ordering::Less
                            } else {
                                Ordering::Greater
                            }
                        }
                        (false, false) => {
                            let o = order_values(&va, &vb);
                            if order.descending {
                                o.reverse()
                            } else {
                                o
                            }
                        }
                    };
                    if ord != Ordering::Equal {
                        return ord;
                    }
                }
                Ordering::Equal
            });
        }
        let offset = query.offset.unwrap_or(0);
        let rows: Vec<&Record> = rows.into_iter().skip(offset).collect();
        Ok(match query.limit {
            Some(limit) => rows.into_iter().take(limit).collect(),
            None => rows,
        })
    }

    fn attributes(&self, object: &str, row: &Record) -> Value {
        let base = match self.api {
            Api::Data => format!("/services/data/v{}/sobjects", self.version),
            Api::Tooling => format!("/services/data/v{}/tooling/sobjects", self.version),
        };
        match row.get("Id").and_then(Value::as_str) {
            Some(id) => json!({"type": object, "url": format!("{base}/{object}/{id}")}),
            None => json!({ "type": object }),
        }
    }

    /// Puts `path`'s value into `out`, nesting relationship objects with their own
    /// `attributes` (null when the reference is empty).
    fn put(&self, out: &mut Record, row: &Record, object: &str, steps: &[Step], path: &Resolved) {
        let Some((step, rest)) = steps.split_first() else {
            out.insert(path.field.clone(), field_value(row, object, path));
            return;
        };
        if out.get(&step.rel).is_some_and(Value::is_null) {
            return;
        }
        let target = row
            .get(&format!("{}Id", step.rel))
            .and_then(Value::as_str)
            .and_then(|id| self.tables.find(&step.target, id));
        let Some((target_object, target_row)) = target else {
            out.insert(step.rel.clone(), Value::Null);
            return;
        };
        let nested = out.entry(step.rel.clone()).or_insert_with(|| {
            let mut m = Map::new();
            m.insert("attributes".into(), self.attributes(target_object, target_row));
            Value::Object(m)
        });
        if let Value::Object(nested) = nested {
            self.put(nested, target_row, target_object, rest, path);
        }
    }

    fn render(&self, soql: &str, object: &str, row: &Record, columns: &[Column]) -> Result<Value, SoqlError> {
        let mut out = Map::new();
        out.insert("attributes".into(), self.attributes(object, row));
        for column in columns {
            match column {
                Column::Field(path) => self.put(&mut out, row, object, &path.steps, path),
                Column::Child(child) => {
                    let parent_id = row.get("Id").and_then(Value::as_str).unwrap_or("");
                    let child_schema = self.schema(soql, &child.object, child.query.from_pos)?;
                    let candidates: Vec<&Record> = self
                        .tables
                        .rows(&child.object)
                        .iter()
                        .filter(|r| {
                            r.get(child.fk)
                                .and_then(Value::as_str)
                                .is_some_and(|fk| same_id(fk, parent_id))
                        })
                        .collect();
                    let rows = self.filter_rows(soql, child_schema, child.query, candidates)?;
                    let value = if rows.is_empty() {
                        Value::Null
                    } else {
                        let mut records = Vec::new();
                        for r in &rows {
                            let mut rec = Map::new();
                            rec.insert("attributes".into(), self.attributes(&child.object, r));
                            for item in &child.items {
                                self.put(&mut rec, r, &child.object, &item.steps, item);
                            }
                            records.push(Value::Object(rec));
                        }
                        json!({"totalSize": records.len(), "done": true, "records": records})
                    };
                    out.insert(child.rel.clone(), value);
                }
            }
        }
        Ok(Value::Object(out))
    }

    /// Runs one statement.
    pub fn run(&self, soql: &str) -> Result<Outcome, SoqlError> {
        let query = parse(soql)?;
        let schema = self.schema(soql, &query.from, query.from_pos)?;
        let columns = self.columns(soql, schema, &query)?;
        // Resolve WHERE and ORDER BY columns before touching rows, so an unknown column is an
        // error even on an empty table.
        if let Some(cond) = &query.filter {
            self.check_cond(soql, schema, cond)?;
        }
        for order in &query.order {
            self.resolve(soql, schema, &order.path)?;
        }
        let rows = self.select_rows(soql, schema, &query)?;
        if query.count {
            return Ok(Outcome {
                object: schema.name.clone(),
                total: rows.len(),
                records: Vec::new(),
            });
        }
        // Reference §8.2: complexvalue columns need a query that returns at most one row.
        if self.api == Api::Tooling && rows.len() > 1 {
            let complex = columns.iter().any(|c| {
                matches!(c, Column::Field(r) if r.steps.is_empty() && (r.field == "Metadata" || r.field == "FullName"))
            });
            if complex {
                return Err(SoqlError {
                    code: "MALFORMED_QUERY",
                    message: format!(
                        "When retrieving results with Metadata or FullName fields, the query qualifications must \
                         specify no more than one row for retrieval. Result size: {}",
                        rows.len()
                    ),
                });
            }
        }
        let mut records = Vec::new();
        for row in &rows {
            records.push(self.render(soql, &schema.name, row, &columns)?);
        }
        Ok(Outcome {
            object: schema.name.clone(),
            total: records.len(),
            records,
        })
    }

    fn check_cond(&self, soql: &str, schema: &ObjectSchema, cond: &Cond) -> Result<(), SoqlError> {
        match cond {
            Cond::And(terms) | Cond::Or(terms) => terms.iter().try_for_each(|t| self.check_cond(soql, schema, t)),
            Cond::Not(inner) => self.check_cond(soql, schema, inner),
            Cond::Cmp { path, .. } | Cond::In { path, .. } => self.resolve(soql, schema, path).map(|_| ()),
            Cond::InQuery { path, query, .. } => {
                self.resolve(soql, schema, path)?;
                let inner = self.schema(soql, &query.from, query.from_pos)?;
                for item in &query.items {
                    if let Item::Field(p) = item {
                        self.resolve(soql, inner, p)?;
                    }
                }
                if let Some(c) = &query.filter {
                    self.check_cond(soql, inner, c)?;
                }
                Ok(())
            }
        }
    }
}

/// A column's value on a row: booleans Salesforce would answer `false` for when unset;
/// Tooling's `FullName` falls back to the developer name.
fn field_value(row: &Record, object: &str, path: &Resolved) -> Value {
    if path.type_of {
        return json!(object);
    }
    if let Some(v) = row.get(&path.field) {
        return v.clone();
    }
    match path.field.as_str() {
        "FullName" => row
            .get("DeveloperName")
            .or_else(|| row.get("Name"))
            .cloned()
            .unwrap_or(Value::Null),
        _ if path.boolean => Value::Bool(false),
        _ => Value::Null,
    }
}

fn id_like(field: &str) -> bool {
    field == "Id" || field.ends_with("Id")
}

fn compare(v: &Value, op: Op, lit: &Literal, id_like: bool) -> bool {
    match op {
        Op::Eq => equals(v, lit, id_like),
        Op::Ne => !equals(v, lit, id_like),
        Op::Like => match (v, lit) {
            (Value::String(s), Literal::Str(p)) => like(s, p),
            _ => false,
        },
        Op::Lt | Op::Le | Op::Gt | Op::Ge => {
            let ord = match (v, lit) {
                (Value::Number(a), Literal::Num(b)) => a.as_f64().and_then(|a| a.partial_cmp(b)),
                (Value::String(a), Literal::Str(b)) => Some(a.to_lowercase().cmp(&b.to_lowercase())),
                _ => None,
            };
            match ord {
                Some(o) => match op {
                    Op::Lt => o == Ordering::Less,
                    Op::Le => o != Ordering::Greater,
                    Op::Gt => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                },
                None => false,
            }
        }
    }
}

fn equals(v: &Value, lit: &Literal, id_like: bool) -> bool {
    match (v, lit) {
        (Value::Null, Literal::Null) => true,
        (Value::Bool(a), Literal::Bool(b)) => a == b,
        (Value::String(a), Literal::Str(b)) => {
            if id_like {
                same_id(a, b)
            } else {
                a.to_lowercase() == b.to_lowercase()
            }
        }
        (Value::Number(a), Literal::Num(b)) => a.as_f64() == Some(*b),
        (Value::String(a), Literal::Num(b)) => a.parse::<f64>().ok() == Some(*b),
        (Value::Number(a), Literal::Str(b)) => b.parse::<f64>().ok() == a.as_f64(),
        _ => false,
    }
}

/// SOQL `LIKE`: case-insensitive, `%` any run, `_` one character.
fn like(text: &str, pattern: &str) -> bool {
    let t: Vec<char> = text.to_lowercase().chars().collect();
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    // Iterative wildcard match with backtracking on the last `%`.
    let (mut i, mut j, mut star, mut mark) = (0usize, 0usize, None::<usize>, 0usize);
    while i < t.len() {
        if j < p.len() && (p[j] == '_' || p[j] == t[i]) {
            i += 1;
            j += 1;
        } else if j < p.len() && p[j] == '%' {
            star = Some(j);
            mark = i;
            j += 1;
        } else if let Some(s) = star {
            j = s + 1;
            mark += 1;
            i = mark;
        } else {
            return false;
        }
    }
    while j < p.len() && p[j] == '%' {
        j += 1;
    }
    j == p.len()
}

fn order_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .unwrap_or(0.0)
            .partial_cmp(&y.as_f64().unwrap_or(0.0))
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::String(x), Value::String(y)) => x.to_lowercase().cmp(&y.to_lowercase()),
        _ => a.to_string().cmp(&b.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(v: Value) -> Record {
        v.as_object().unwrap().clone()
    }

    fn tables() -> Tables {
        let mut t = Tables::default();
        t.insert(
            "Profile",
            rec(json!({"Id": "00eDn0000EinAgtAAA", "Name": "Einstein Agent User"})),
        );
        t.insert(
            "PermissionSet",
            rec(
                json!({"Id": "0PSDn0000PEinAgAAA", "Name": "X00eDn0000EinAgt", "IsOwnedByProfile": true,
                "ProfileId": "00eDn0000EinAgtAAA"}),
            ),
        );
        t.insert(
            "PermissionSet",
            rec(
                json!({"Id": "0PSDn0000SupExtAAA", "Name": "Support_Agent_Extra", "IsOwnedByProfile": false,
                "PermissionsViewAllData": true}),
            ),
        );
        t.insert(
            "User",
            rec(
                json!({"Id": "005Dn0000SupAgtAAA", "Username": "support.agent@acme.example",
                "Name": "O'Brien Agent", "ProfileId": "00eDn0000EinAgtAAA", "IsActive": true}),
            ),
        );
        t.insert(
            "User",
            rec(
                json!({"Id": "005Dn0000JaneAdAAA", "Username": "jane.admin@acme.example", "Name": "Jane Admin",
                "IsActive": true}),
            ),
        );
        for (id, ps) in [
            ("0PaDn0000Asg001AAA", "0PSDn0000PEinAgAAA"),
            ("0PaDn0000Asg002AAA", "0PSDn0000SupExtAAA"),
        ] {
            t.insert(
                "PermissionSetAssignment",
                rec(json!({"Id": id, "AssigneeId": "005Dn0000SupAgtAAA", "PermissionSetId": ps})),
            );
        }
        t.insert(
            "BotDefinition",
            rec(json!({"Id": "0XxDn0000SupAgtAAA", "DeveloperName": "Customer_Support_Agent", "Type": "ExternalCopilot"})),
        );
        t.insert(
            "BotDefinition",
            rec(json!({"Id": "0XxDn0000LgcyHdAAA", "DeveloperName": "Legacy_Helpdesk_Bot", "Type": "Bot"})),
        );
        for (id, n, status) in [
            ("0X9Dn0000SupV02AAA", 2, "Active"),
            ("0X9Dn0000SupV01AAA", 1, "Inactive"),
        ] {
            t.insert(
                "BotVersion",
                rec(
                    json!({"Id": id, "BotDefinitionId": "0XxDn0000SupAgtAAA", "VersionNumber": n, "Status": status,
                    "DeveloperName": format!("v{n}")}),
                ),
            );
        }
        for i in 0..5 {
            let source = if i < 3 { "Web" } else { "Phone" };
            t.insert(
                "Lead",
                rec(json!({"Id": format!("00QDn0000Lead0{i}AAA"), "LeadSource": source})),
            );
        }
        t
    }

    fn run(api: Api, soql: &str) -> Result<Outcome, SoqlError> {
        let t = tables();
        Ctx {
            api,
            version: "66.0",
            tables: &t,
            unsupported: &["GenAiPromptTemplate"],
        }
        .run(soql)
    }

    #[test]
    fn relationship_fields_nest_with_their_own_attributes() {
        let out = run(
            Api::Data,
            "SELECT Id, AssigneeId, PermissionSet.Name, PermissionSet.Profile.Name, PermissionSet.PermissionsViewAllData \
             FROM PermissionSetAssignment WHERE AssigneeId IN ('005Dn0000SupAgt') ORDER BY PermissionSet.Name",
        )
        .unwrap();
        assert_eq!(out.total, 2);
        let first = &out.records[0];
        assert_eq!(first["attributes"]["type"], "PermissionSetAssignment");
        assert_eq!(
            first["attributes"]["url"],
            "/services/data/v66.0/sobjects/PermissionSetAssignment/0PaDn0000Asg002AAA"
        );
        assert_eq!(first["PermissionSet"]["Name"], "Support_Agent_Extra");
        assert_eq!(first["PermissionSet"]["attributes"]["type"], "PermissionSet");
        assert_eq!(first["PermissionSet"]["PermissionsViewAllData"], true);
        // An empty reference on the way is null, not an object.
        assert_eq!(first["PermissionSet"]["Profile"], Value::Null);
        let second = &out.records[1];
        assert_eq!(second["PermissionSet"]["Profile"]["Name"], "Einstein Agent User");
        assert_eq!(second["PermissionSet"]["Profile"]["attributes"]["type"], "Profile");
        // Booleans the row does not set answer false.
        assert_eq!(second["PermissionSet"]["PermissionsViewAllData"], false);
        // Only what was selected.
        assert!(first.get("PermissionSetId").is_none());
        let user = run(
            Api::Data,
            "select id, profile.name from user where username = 'SUPPORT.AGENT@acme.example'",
        )
        .unwrap();
        assert_eq!(user.records[0]["Profile"]["Name"], "Einstein Agent User");
        assert_eq!(user.records[0]["Id"], "005Dn0000SupAgtAAA");
        let admin = run(
            Api::Data,
            "SELECT Id, Profile.Name FROM User WHERE Username = 'jane.admin@acme.example'",
        )
        .unwrap();
        assert_eq!(admin.records[0]["Profile"], Value::Null);
    }

    #[test]
    fn child_subqueries_answer_a_nested_result_or_null() {
        let out = run(
            Api::Data,
            "SELECT Id, DeveloperName, (SELECT Id, Status, VersionNumber FROM BotVersions ORDER BY VersionNumber) \
             FROM BotDefinition ORDER BY DeveloperName DESC",
        )
        .unwrap();
        let support = &out.records[1];
        assert_eq!(support["DeveloperName"], "Customer_Support_Agent");
        let versions = &support["BotVersions"];
        assert_eq!(versions["totalSize"], 2);
        assert_eq!(versions["done"], true);
        assert_eq!(versions["records"][0]["VersionNumber"], 1);
        assert_eq!(versions["records"][1]["Status"], "Active");
        assert_eq!(versions["records"][1]["attributes"]["type"], "BotVersion");
        assert_eq!(out.records[0]["BotVersions"], Value::Null);
        let err = run(Api::Data, "SELECT Id, (SELECT Id FROM Versions) FROM BotDefinition").unwrap_err();
        assert_eq!(err.code, "INVALID_TYPE");
        let err = run(
            Api::Data,
            "SELECT Id, (SELECT Nope FROM BotVersions) FROM BotDefinition",
        )
        .unwrap_err();
        assert_eq!(err.code, "INVALID_FIELD");
    }

    #[test]
    fn in_lists_take_escaped_quotes() {
        let q = parse(r"SELECT Id FROM User WHERE Name IN ('O\'Brien Agent', 'it\\s', 'x')").unwrap();
        match q.filter.unwrap() {
            Cond::In { values, negated, .. } => {
                assert!(!negated);
                assert_eq!(
                    values,
                    vec![
                        Literal::Str("O'Brien Agent".into()),
                        Literal::Str("it\\s".into()),
                        Literal::Str("x".into())
                    ]
                );
            }
            other => panic!("{other:?}"),
        }
        let out = run(Api::Data, r"SELECT Id FROM User WHERE Name IN ('O\'Brien Agent')").unwrap();
        assert_eq!(out.total, 1);
        let out = run(Api::Data, r"SELECT Id FROM User WHERE Name NOT IN ('O\'Brien Agent')").unwrap();
        assert_eq!(out.total, 1);
        assert_eq!(out.records[0]["Id"], "005Dn0000JaneAdAAA");
        assert_eq!(
            parse("SELECT Id FROM User WHERE Name = 'open").unwrap_err().code,
            "MALFORMED_QUERY"
        );
    }

    #[test]
    fn and_or_and_parentheses() {
        let out = run(
            Api::Data,
            "SELECT Id FROM PermissionSet WHERE PermissionsViewAllData = true OR (IsOwnedByProfile = true AND Name != 'x')",
        )
        .unwrap();
        assert_eq!(out.total, 2);
        let out = run(
            Api::Data,
            "SELECT Id FROM PermissionSet WHERE (PermissionsViewAllData = true OR IsOwnedByProfile = true) AND Name = 'Support_Agent_Extra'",
        )
        .unwrap();
        assert_eq!(out.total, 1);
        let out = run(
            Api::Data,
            "SELECT AssigneeId, PermissionSet.Name FROM PermissionSetAssignment WHERE PermissionSet.PermissionsViewAllData = true OR PermissionSet.PermissionsModifyAllData = true",
        )
        .unwrap();
        assert_eq!(out.total, 1);
        assert_eq!(out.records[0]["PermissionSet"]["Name"], "Support_Agent_Extra");
        // SOQL wants parentheses when AND and OR meet.
        let err = parse("SELECT Id FROM User WHERE IsActive = true AND Name = 'a' OR Name = 'b'").unwrap_err();
        assert_eq!(err.code, "MALFORMED_QUERY");
        assert!(err.message.contains("unexpected token: 'OR'"), "{}", err.message);
        let out = run(Api::Data, "SELECT Id FROM User WHERE NOT (Name LIKE 'jane%')").unwrap();
        assert_eq!(out.total, 1);
        let out = run(
            Api::Data,
            "SELECT Id FROM BotDefinition WHERE Id IN (SELECT BotDefinitionId FROM BotVersion WHERE Status = 'active')",
        )
        .unwrap();
        assert_eq!(out.total, 1);
    }

    #[test]
    fn count_answers_a_total_without_records() {
        let out = run(Api::Data, "SELECT COUNT() FROM Lead WHERE LeadSource = 'Web'").unwrap();
        assert_eq!(out.total, 3);
        assert!(out.records.is_empty());
        let out = run(Api::Data, "SELECT COUNT() FROM Lead").unwrap();
        assert_eq!(out.total, 5);
        assert_eq!(
            run(Api::Data, "SELECT COUNT(Id) FROM Lead").unwrap_err().code,
            "MALFORMED_QUERY"
        );
    }

    #[test]
    fn unknown_objects_fields_and_syntax_are_salesforce_errors() {
        let err = run(Api::Data, "SELECT Id FROM Nope").unwrap_err();
        assert_eq!(err.code, "INVALID_TYPE");
        assert_eq!(
            err.message,
            "\nSELECT Id FROM Nope\n               ^\nERROR at Row:1:Column:16\nsObject type 'Nope' is not supported. \
             If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please \
             reference your WSDL or the describe call for the appropriate names."
        );
        // Reference §8.3: not queryable on data; Tooling as configured.
        assert_eq!(
            run(Api::Data, "SELECT Id FROM GenAiPromptTemplate").unwrap_err().code,
            "INVALID_TYPE"
        );
        assert_eq!(
            run(Api::Tooling, "SELECT Id FROM GenAiPromptTemplate")
                .unwrap_err()
                .code,
            "INVALID_TYPE"
        );
        // Reference §9.1.3.
        let err = run(
            Api::Tooling,
            "SELECT Id, LinkedBotVersionId FROM GenAiPlannerDefinition",
        )
        .unwrap_err();
        assert_eq!(err.code, "INVALID_FIELD");
        assert!(err
            .message
            .contains("No such column 'LinkedBotVersionId' on entity 'GenAiPlannerDefinition'"));
        assert!(err.message.contains("ERROR at Row:1:Column:12"), "{}", err.message);
        let err = run(Api::Data, "SELECT Id, Nope.Name FROM User").unwrap_err();
        assert_eq!(err.code, "INVALID_FIELD");
        assert!(err.message.contains("Didn't understand relationship 'Nope'"));
        assert_eq!(
            run(Api::Data, "SELECT Id FROM User WHERE Nope = 1").unwrap_err().code,
            "INVALID_FIELD"
        );
        for bad in [
            "",
            "SELECT",
            "SELECT Id",
            "SELECT Id FROM",
            "SELECT Id, FROM User",
            "SELECT Id FROM User WHERE",
            "SELECT Id FROM User WHERE Name =",
            "SELECT Id FROM User LIMIT x",
            "SELECT Id FROM User trailing",
            "SELECT Id FROM User WHERE Name = :bind",
            "SELECT Id FROM User WHERE Id IN ()",
            "SELECT Id FROM User WHERE (Name = 'a'",
            "SELECT Id FROM User ORDER BY",
            "SELECT Id FROM User WHERE Name ! 'a'",
            "SELECT Id FROM User GROUP BY Name",
            "SELECT Id FROM User WHERE Name = 'a\\q'",
            "SELECT Id FROM User WHERE Name = 'é' AND",
            "SELECT a..b FROM User",
        ] {
            let err = parse(bad).unwrap_err();
            assert_eq!(err.code, "MALFORMED_QUERY", "{bad}");
        }
        // Tooling complexvalue columns need one row (reference §8.2).
        let err = run(Api::Tooling, "SELECT Id, FullName FROM BotDefinition").unwrap_err();
        assert_eq!(err.code, "MALFORMED_QUERY");
        let one = run(
            Api::Tooling,
            "SELECT Id, FullName FROM BotDefinition WHERE DeveloperName = 'Legacy_Helpdesk_Bot'",
        );
        assert_eq!(one.unwrap().records[0]["FullName"], "Legacy_Helpdesk_Bot");
        assert_eq!(
            run(Api::Data, "SELECT Id, FullName FROM BotDefinition")
                .unwrap_err()
                .code,
            "INVALID_FIELD"
        );
    }

    #[test]
    fn hostile_nesting_is_an_error_not_a_crash() {
        let deep = format!(
            "SELECT Id FROM User WHERE {}Name = 'a'{}",
            "(".repeat(10_000),
            ")".repeat(10_000)
        );
        assert_eq!(parse(&deep).unwrap_err().code, "MALFORMED_QUERY");
        let nots = format!("SELECT Id FROM User WHERE {}Name = 'a'", "NOT ".repeat(10_000));
        assert_eq!(parse(&nots).unwrap_err().code, "MALFORMED_QUERY");
        let semi = format!(
            "SELECT Id FROM User WHERE {}Id = 'x'{}",
            "Id IN (SELECT Id FROM User WHERE ".repeat(500),
            ")".repeat(500)
        );
        assert_eq!(parse(&semi).unwrap_err().code, "MALFORMED_QUERY");
    }

    #[test]
    fn polymorphic_references_answer_their_type() {
        let mut t = tables();
        t.insert(
            "MessagingChannel",
            rec(json!({"Id": "0MjDn0000HelpCtAAA", "SessionHandlerId": "0XxDn0000SupAgtAAA"})),
        );
        let out = Ctx {
            api: Api::Data,
            version: "66.0",
            tables: &t,
            unsupported: &[],
        }
        .run("SELECT SessionHandler.Type, SessionHandler.Name, SessionHandlerId FROM MessagingChannel")
        .unwrap();
        let handler = &out.records[0]["SessionHandler"];
        assert_eq!(handler["Type"], "BotDefinition");
        assert_eq!(handler["attributes"]["type"], "BotDefinition");
    }

    #[test]
    fn limit_offset_and_like() {
        let out = run(Api::Data, "SELECT Id FROM Lead ORDER BY Id DESC LIMIT 2 OFFSET 1").unwrap();
        assert_eq!(out.total, 2);
        assert_eq!(out.records[0]["Id"], "00QDn0000Lead03AAA");
        assert!(like("Support_Agent_Extra", "support%extra"));
        assert!(like("abc", "a_c"));
        assert!(!like("abc", "a_"));
        assert!(same_id("005Dn0000SupAgtAAA", "005Dn0000SupAgt"));
        assert!(!same_id("005Dn0000SupAgtAAA", "005dn0000supagt"));
    }
}
