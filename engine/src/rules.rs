//! Rules are data: YAML files with metadata and a CEL condition over one resource, or a path
//! condition over the access graph. Built-in rules are embedded at compile time; extra
//! directories load at run time. A broken file is reported with its path, line and reason.

use cel::Program;
use schemas::{Frameworks, Severity};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// The resource kinds a rule can be about.
pub const RESOURCE_KINDS: &[&str] = &["agent", "tool", "principal", "untrusted_input", "tenant", "path"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    /// Vendor the rule reads (`servicenow`, ...) or `any`.
    pub provider: String,
    pub resource: String,
    /// Coverage resources that must have been collected, else the result is not_assessed.
    #[serde(default)]
    pub needs: Vec<String>,
    /// Selects which resources the rule is about; others get no result.
    #[serde(default)]
    pub applies_to: Option<String>,
    /// The failure condition over one resource.
    #[serde(default)]
    pub when: Option<String>,
    /// The failure condition over the access graph.
    #[serde(default)]
    pub path: Option<PathSpec>,
    /// Named CEL expressions whose values are recorded as evidence on failure.
    #[serde(default)]
    pub evidence: BTreeMap<String, String>,
    pub rationale: String,
    pub remediation: String,
    #[serde(default)]
    pub references: Vec<String>,
    #[serde(default)]
    pub frameworks: Frameworks,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PathSpec {
    pub from: String,
    pub via: String,
    pub to: String,
    /// The `via` node must also reach a node matching this (the lethal trifecta's third leg).
    #[serde(default)]
    pub also_reaches: Option<String>,
    /// An edge kind the path must include (e.g. `recruits` for agent-to-agent hand-offs).
    #[serde(default)]
    pub through: Option<String>,
    #[serde(default = "default_hops")]
    pub max_hops: usize,
}

fn default_hops() -> usize {
    6
}

/// A rule ready to run: its metadata and compiled programs.
pub struct Rule {
    pub meta: RuleFile,
    pub source: String,
    pub applies_to: Option<Program>,
    pub when: Option<Program>,
    pub path: Option<CompiledPath>,
    pub evidence: Vec<(String, Program)>,
}

pub struct CompiledPath {
    pub from: NodePredicate,
    pub via: NodePredicate,
    pub to: NodePredicate,
    pub also_reaches: Option<NodePredicate>,
    pub through: Option<String>,
    pub max_hops: usize,
}

/// A condition on a graph node. When the expression is `node.kind == "<k>" && ...`, nodes of
/// other kinds are known to be false without running CEL (a large tenant has tens of thousands
/// of principal nodes that most path conditions never match).
pub struct NodePredicate {
    pub program: Program,
    pub kind: Option<String>,
}

impl NodePredicate {
    fn new(program: Program, source: &str) -> Self {
        NodePredicate {
            program,
            kind: kind_hint(source),
        }
    }
}

/// The `<k>` of a leading `node.kind == "<k>"` conjunct, if the whole expression is
/// `node.kind == "<k>"` or `node.kind == "<k>" && ...`.
fn kind_hint(source: &str) -> Option<String> {
    let rest = source
        .trim()
        .strip_prefix("node.kind")?
        .trim_start()
        .strip_prefix("==")?
        .trim_start();
    let rest = rest.strip_prefix('"')?;
    let end = rest.find('"')?;
    let (kind, tail) = (&rest[..end], rest[end + 1..].trim_start());
    (tail.is_empty() || tail.starts_with("&&")).then(|| kind.to_string())
}

/// A problem with one rule file.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleError {
    pub file: String,
    pub line: Option<usize>,
    pub reason: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.reason),
            None => write!(f, "{}: {}", self.file, self.reason),
        }
    }
}

/// The line on which `key:` first appears, for pointing at a CEL error.
fn line_of(text: &str, key: &str) -> Option<usize> {
    let wanted = format!("{key}:");
    text.lines()
        .position(|l| l.trim_start().starts_with(&wanted))
        .map(|i| i + 1)
}

/// The longest CEL expression a rule may hold (the built-in ones stay under 2,000).
const MAX_CEL_CHARS: usize = 8_000;
/// How deep a CEL expression may nest (the built-in ones reach 6).
const MAX_NESTING: usize = 32;

/// How deep an expression nests, read from its text outside string literals: open brackets,
/// plus a run of unary `!`/`-`, plus the conditionals (`?`) and binary operators chained at
/// one bracket level (each is a level of the parsed tree).
fn nesting_depth(source: &str) -> usize {
    let mut deepest = 0;
    // Per open bracket: the chain of operators seen at that level.
    let mut chains: Vec<usize> = vec![0];
    let mut unary = 0;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' => quote = Some(c),
            '(' | '[' | '{' => {
                chains.push(0);
                unary = 0;
            }
            ')' | ']' | '}' => {
                if chains.len() > 1 {
                    chains.pop();
                }
            }
            '!' | '-' if chars.peek() != Some(&'=') => unary += 1,
            '?' | '+' | '*' | '/' | '%' | '<' | '>' | '=' | '&' | '|' => {
                // `&&`, `||`, `==`, `<=`: one operator.
                if matches!(chars.peek(), Some('&' | '|' | '=')) {
                    chars.next();
                }
                if let Some(last) = chains.last_mut() {
                    *last += 1;
                }
            }
            c if c.is_whitespace() => {}
            _ => unary = 0,
        }
        deepest = deepest.max(chains.len() - 1 + chains.iter().sum::<usize>() / 4 + unary);
    }
    deepest
}

/// Parses CEL on a thread with a large stack: the parser spends tens of kilobytes of stack
/// per nesting level (more in debug builds), beyond what a worker thread has at the depth
/// [`MAX_NESTING`] allows.
fn parse_cel(source: &str) -> Result<Program, String> {
    let owned = source.to_string();
    std::thread::Builder::new()
        .name("cel-parse".into())
        .stack_size(256 << 20)
        .spawn(move || Program::compile(&owned).map_err(|e| e.to_string()))
        .map_err(|e| format!("could not start the parser: {e}"))?
        .join()
        .map_err(|_| "the parser failed on this expression".to_string())?
}

/// Parses and compiles one rule file.
pub fn compile(file: &str, text: &str) -> Result<Rule, RuleError> {
    let error = |line: Option<usize>, reason: String| RuleError {
        file: file.to_string(),
        line,
        reason,
    };
    let meta: RuleFile = serde_yaml_ng::from_str(text).map_err(|e| {
        let line = e.location().map(|l| l.line());
        error(line, e.to_string())
    })?;
    if !RESOURCE_KINDS.contains(&meta.resource.as_str()) {
        return Err(error(
            line_of(text, "resource"),
            format!(
                "unknown resource {:?} (one of {})",
                meta.resource,
                RESOURCE_KINDS.join(", ")
            ),
        ));
    }
    let program = |key: &str, source: &str| {
        // The CEL parser and evaluator recurse once per level: refuse what would run them out
        // of stack (an abort no handler can catch) before parsing it.
        if source.len() > MAX_CEL_CHARS {
            return Err(error(
                line_of(text, key),
                format!("{key}: {} characters of CEL; at most {MAX_CEL_CHARS}", source.len()),
            ));
        }
        let depth = nesting_depth(source);
        if depth > MAX_NESTING {
            return Err(error(
                line_of(text, key),
                format!("{key}: CEL nested {depth} deep (brackets, negations, conditionals and operator chains); at most {MAX_NESTING}"),
            ));
        }
        let compiled =
            parse_cel(source).map_err(|e| error(line_of(text, key), format!("{key}: CEL does not parse: {e}")))?;
        let depth = comprehension_depth(compiled.expression());
        if depth > MAX_COMPREHENSION_DEPTH {
            return Err(error(
                line_of(text, key),
                format!(
                    "{key}: macros (exists, all, map, filter) nested {depth} deep; at most {MAX_COMPREHENSION_DEPTH}, since the cost grows with the list sizes to that power"
                ),
            ));
        }
        Ok(compiled)
    };
    let (when, path) = match (&meta.resource[..], &meta.when, &meta.path) {
        ("path", None, Some(p)) => (
            None,
            Some(CompiledPath {
                from: NodePredicate::new(program("from", &p.from)?, &p.from),
                via: NodePredicate::new(program("via", &p.via)?, &p.via),
                to: NodePredicate::new(program("to", &p.to)?, &p.to),
                also_reaches: match p.also_reaches.as_deref() {
                    Some(s) => Some(NodePredicate::new(program("also_reaches", s)?, s)),
                    None => None,
                },
                through: p.through.clone(),
                max_hops: p.max_hops.clamp(1, 12),
            }),
        ),
        ("path", _, _) => {
            return Err(error(
                None,
                "a path rule needs `path:` (from, via, to) and no `when:`".into(),
            ))
        }
        (_, Some(w), None) => (Some(program("when", w)?), None),
        (_, _, _) => return Err(error(None, "a resource rule needs `when:` and no `path:`".into())),
    };
    let applies_to = meta
        .applies_to
        .as_deref()
        .map(|s| program("applies_to", s))
        .transpose()?;
    let evidence = meta
        .evidence
        .iter()
        .map(|(name, source)| Ok((name.clone(), program(name, source)?)))
        .collect::<Result<Vec<_>, RuleError>>()?;
    Ok(Rule {
        source: file.to_string(),
        meta,
        applies_to,
        when,
        path,
        evidence,
    })
}

/// How deeply a rule's comprehension macros may nest: with lists of n items a condition costs
/// about n to this power, so deeper nesting is how a rule could take hours on a large tenant.
pub const MAX_COMPREHENSION_DEPTH: usize = 3;

/// How deeply comprehensions (`exists`, `all`, `exists_one`, `map`, `filter`) nest in an
/// expression. A comprehension's range is evaluated once, so it does not count as nested.
pub fn comprehension_depth(e: &cel::IdedExpr) -> usize {
    use cel::common::ast::Expr;
    let max_of = |items: &mut dyn Iterator<Item = &cel::IdedExpr>| items.map(comprehension_depth).max().unwrap_or(0);
    match &e.expr {
        Expr::Comprehension(c) => {
            let body = max_of(&mut [&c.accu_init, &c.loop_cond, &c.loop_step, &c.result].into_iter());
            comprehension_depth(&c.iter_range).max(1 + body)
        }
        Expr::Call(call) => max_of(&mut call.target.iter().map(|t| t.as_ref()).chain(call.args.iter())),
        Expr::List(list) => max_of(&mut list.elements.iter()),
        Expr::Select(select) => comprehension_depth(&select.operand),
        Expr::Map(map) => entries_depth(&map.entries),
        Expr::Struct(s) => entries_depth(&s.entries),
        _ => 0,
    }
}

fn entries_depth(entries: &[cel::common::ast::IdedEntryExpr]) -> usize {
    use cel::common::ast::EntryExpr;
    entries
        .iter()
        .map(|entry| match &entry.expr {
            EntryExpr::MapEntry(m) => comprehension_depth(&m.key).max(comprehension_depth(&m.value)),
            EntryExpr::StructField(f) => comprehension_depth(&f.value),
        })
        .max()
        .unwrap_or(0)
}

/// A set of rules with unique ids.
pub struct RuleSet {
    pub rules: Vec<Rule>,
}

impl RuleSet {
    /// The rules embedded in the binary. They are tested, so a failure here is a build defect.
    pub fn builtin() -> Result<RuleSet, Vec<RuleError>> {
        let mut set = RuleSet { rules: Vec::new() };
        let errors: Vec<RuleError> = BUILTIN_RULES
            .iter()
            .filter_map(|(file, text)| match compile(&format!("builtin:{file}"), text) {
                Ok(rule) => {
                    set.rules.push(rule);
                    None
                }
                Err(e) => Some(e),
            })
            .collect();
        if errors.is_empty() {
            set.check_unique().map(|_| set)
        } else {
            Err(errors)
        }
    }

    /// Loads every `*.yaml`/`*.yml` below `dir`; returns all errors, not just the first.
    pub fn load_dir(dir: &Path) -> Result<Vec<Rule>, Vec<RuleError>> {
        let mut files = Vec::new();
        walk(dir, &mut files).map_err(|e| {
            vec![RuleError {
                file: dir.display().to_string(),
                line: None,
                reason: e.to_string(),
            }]
        })?;
        files.sort();
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for path in files {
            let name = path.display().to_string();
            match std::fs::read_to_string(&path) {
                Ok(text) => match compile(&name, &text) {
                    Ok(rule) => rules.push(rule),
                    Err(e) => errors.push(e),
                },
                Err(e) => errors.push(RuleError {
                    file: name,
                    line: None,
                    reason: e.to_string(),
                }),
            }
        }
        if errors.is_empty() {
            Ok(rules)
        } else {
            Err(errors)
        }
    }

    /// Adds rules (from extra directories); ids must stay unique.
    pub fn extend(&mut self, rules: Vec<Rule>) -> Result<(), Vec<RuleError>> {
        self.rules.extend(rules);
        self.check_unique()
    }

    fn check_unique(&self) -> Result<(), Vec<RuleError>> {
        let mut seen: BTreeMap<&str, &str> = BTreeMap::new();
        let mut errors = Vec::new();
        for rule in &self.rules {
            if let Some(first) = seen.insert(&rule.meta.id, &rule.source) {
                errors.push(RuleError {
                    file: rule.source.clone(),
                    line: None,
                    reason: format!("rule id {} is already defined in {first}", rule.meta.id),
                });
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::kind_hint;

    #[test]
    fn kind_hint_only_for_a_leading_conjunct() {
        assert_eq!(
            kind_hint(r#"node.kind == "agent" && node.active"#).as_deref(),
            Some("agent")
        );
        assert_eq!(kind_hint(r#" node.kind=="sink" "#).as_deref(), Some("sink"));
        assert_eq!(kind_hint(r#"node.kind == "agent" || node.active"#), None);
        assert_eq!(kind_hint(r#"node.active && node.kind == "agent""#), None);
    }
}
