//! Random input: what vendors and users send is not what the documentation promises. Every
//! vendor's transform gets its own simulator's real answers, mutated (values of other types,
//! extremes, huge and odd strings, missing and repeated fields, whole parts replaced by noise,
//! reads marked as failed), and the engine evaluates what comes out; the rule loader gets
//! mutated rule files and made-up CEL; the header and error-body parsers get arbitrary values.
//! Nothing may panic; a bad rule is an error naming its file.
//!
//! Bounded in CI: `AISPM_RANDOM_CASES` cases per target (default 150). For a long run:
//! `AISPM_RANDOM_SECS=3600 cargo test --release --test random_input -- --nocapture` keeps
//! going for that many seconds per target. A failure prints the seed and case that
//! reproduce it (`AISPM_RANDOM_SEED`).

use connectors::{collector, read_all, ConnectionSpec, Parts};
use engine::RuleSet;
use schemas::CoverageStatus;
use serde_json::{json, Map, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// How many cases, or for how long, per target.
struct Budget {
    cases: usize,
    until: Option<Instant>,
}

impl Budget {
    fn from_env() -> Budget {
        let number = |k: &str| std::env::var(k).ok().and_then(|v| v.parse::<u64>().ok());
        Budget {
            cases: number("AISPM_RANDOM_CASES").unwrap_or(150) as usize,
            until: number("AISPM_RANDOM_SECS").map(|s| Instant::now() + Duration::from_secs(s)),
        }
    }
    fn go_on(&self, case: usize) -> bool {
        match self.until {
            Some(t) => Instant::now() < t,
            None => case < self.cases,
        }
    }
}

fn seed() -> u64 {
    std::env::var("AISPM_RANDOM_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(1)
                | 1
        })
}

const ODD_STRINGS: &[&str] = &[
    "",
    " ",
    "null",
    "true",
    "0",
    "-1",
    "9223372036854775808",
    "1e309",
    "NaN",
    "id:",
    "orgUnits/",
    "groups/",
    "customers/",
    "https://",
    "*",
    "%",
    "'; DROP TABLE users; --",
    "\u{0}",
    "\u{202e}evil",
    "𝓤𝓷𝓲𝓬𝓸𝓭𝓮",
    "a,b,,c",
    "==",
    "<>",
    "2026-13-45T99:99:99Z",
    "1970-01-01T00:00:00Z",
    "api-usage=9/0",
    "SELECT",
];

fn random_string(rng: &mut Rng) -> String {
    match rng.below(4) {
        0 => ODD_STRINGS[rng.below(ODD_STRINGS.len())].to_string(),
        1 => "x".repeat(rng.below(20_000)),
        2 => (0..rng.below(40))
            .map(|_| char::from_u32(rng.below(0x3000) as u32).unwrap_or('?'))
            .collect(),
        _ => format!("{}", rng.next()),
    }
}

/// Any JSON value, nested at most `depth` deep.
fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth == 0 { 5 } else { 8 }) {
        0 => Value::Null,
        1 => json!(rng.chance(50)),
        2 => match rng.below(5) {
            0 => json!(i64::MIN),
            1 => json!(u64::MAX),
            2 => json!(-0.0),
            3 => json!(1e308),
            _ => json!(rng.next() as i64),
        },
        3 | 4 => json!(random_string(rng)),
        5 => Value::Array((0..rng.below(4)).map(|_| random_value(rng, depth - 1)).collect()),
        _ => {
            let mut map = Map::new();
            for _ in 0..rng.below(4) {
                let key = if rng.chance(50) {
                    random_string(rng)
                } else {
                    "id".into()
                };
                map.insert(key, random_value(rng, depth - 1));
            }
            Value::Object(map)
        }
    }
}

/// Every node of a value, as paths of keys and indexes.
fn paths(value: &Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    out.push(at.clone());
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                at.push(Step::Key(k.clone()));
                paths(v, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                at.push(Step::Index(i));
                paths(v, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

#[derive(Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn node<'a>(value: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let mut at = value;
    for step in path {
        at = match step {
            Step::Key(k) => at.get_mut(k.as_str())?,
            Step::Index(i) => at.get_mut(*i)?,
        };
    }
    Some(at)
}

/// One mutation somewhere in `record`: a value of another kind, a field gone, a list
/// repeated, or a copy of another part of the record.
fn mutate(rng: &mut Rng, record: &mut Value) {
    let mut all = Vec::new();
    paths(record, &mut Vec::new(), &mut all);
    let path = all[rng.below(all.len())].clone();
    let donor = {
        let other = &all[rng.below(all.len())];
        let mut copy = record.clone();
        node(&mut copy, other).cloned().unwrap_or(Value::Null)
    };
    let Some(target) = node(record, &path) else {
        return;
    };
    match rng.below(6) {
        0 => *target = random_value(rng, 3),
        1 => *target = donor,
        2 => {
            if let Value::Object(map) = target {
                if let Some(k) = map.keys().nth(rng.below(map.len())).cloned() {
                    map.remove(&k);
                }
            }
        }
        3 => {
            if let Value::Array(items) = target {
                if let Some(first) = items.first().cloned() {
                    for _ in 0..rng.below(50) {
                        items.push(first.clone());
                    }
                }
            }
        }
        4 => *target = json!(random_string(rng)),
        _ => *target = Value::Null,
    }
}

/// The simulator's real answers for each vendor's `risky` scenario, with a collector to
/// transform them.
async fn real_parts() -> Vec<(
    String,
    Box<dyn connectors::Collector>,
    Parts,
    sandbox::SimulatedConnection,
)> {
    let mut out = Vec::new();
    for sim in sandbox::start_all("risky").await.unwrap() {
        let mut settings = sim.settings.clone();
        settings["max_rps"] = json!(500.0);
        let spec = ConnectionSpec {
            id: "random".into(),
            provider: sim.provider.into(),
            settings,
            secrets: sim.secrets.clone(),
        };
        let c = collector(&spec).unwrap();
        let parts = read_all(c.as_ref()).await.unwrap();
        out.push((sim.provider.to_string(), c, parts, sim));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vendor_transforms_and_the_engine_survive_mutated_answers() {
    let rules = RuleSet::builtin().unwrap();
    let vendors = real_parts().await;
    let seed = seed();
    let mut rng = Rng(seed);
    for (provider, c, parts, _sim) in &vendors {
        let names: Vec<&String> = parts.keys().collect();
        let base = c.transform(parts, "random", "2026-12-04T00:00:00Z");
        let budget = Budget::from_env(); // each vendor is a target of its own
        let mut case = 0;
        let mut changed = 0;
        while budget.go_on(case) {
            let mut mutated = parts.clone();
            for _ in 0..1 + rng.below(8) {
                let name = names[rng.below(names.len())];
                let part = mutated.get_mut(name.as_str()).unwrap();
                match rng.below(10) {
                    // The whole part is noise.
                    0 => part.records = (0..rng.below(5)).map(|_| random_value(&mut rng, 4)).collect(),
                    // The read did not complete.
                    1 => {
                        part.coverage.status = [
                            CoverageStatus::Forbidden,
                            CoverageStatus::Failed,
                            CoverageStatus::Deferred,
                        ][rng.below(3)];
                        part.records.truncate(rng.below(part.records.len() + 1));
                    }
                    _ => {
                        if !part.records.is_empty() {
                            let i = rng.below(part.records.len());
                            mutate(&mut rng, &mut part.records[i]);
                        }
                    }
                }
            }
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let inv = c.transform(&mutated, "random", "2026-12-04T00:00:00Z");
                let differs = inv != base;
                engine::evaluate(&rules, &[inv], chrono::Utc::now());
                differs
            }));
            match outcome {
                Ok(differs) => changed += usize::from(differs),
                Err(_) => panic!(
                    "{provider}: a mutated answer made the transform or the engine panic (AISPM_RANDOM_SEED={seed}, case {case})"
                ),
            }
            case += 1;
        }
        // The mutations reach the model: most mutated scans transform to something else.
        assert!(
            changed * 2 > case,
            "{provider}: only {changed} of {case} mutations changed the inventory"
        );
        eprintln!(
            "{provider}: {case} mutated scans transformed and evaluated, {changed} of them changed the inventory"
        );
    }
}

#[test]
fn the_rule_loader_names_a_bad_rule_instead_of_panicking() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("engine/rules");
    let mut files = Vec::new();
    for vendor in std::fs::read_dir(&dir).unwrap() {
        for f in std::fs::read_dir(vendor.unwrap().path()).unwrap() {
            files.push(std::fs::read_to_string(f.unwrap().path()).unwrap());
        }
    }
    let pieces = [
        "agent.",
        "tenant.settings[\"x\"]",
        "principal.attributes.",
        "exists(x, x)",
        "all(",
        ".map(",
        "size(",
        "==",
        "!=",
        "&&",
        "||",
        "!",
        "?",
        ":",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "\"",
        "'",
        "1",
        "-9223372036854775808",
        "1.5e400",
        "null",
        "true",
        "in",
        "has(",
        "unknown(\"x\")",
        ",",
        ".",
        "+",
        "*",
        "/",
        "%",
        "matches('(')",
        "\\",
        "\u{0}",
    ];
    let budget = Budget::from_env();
    let seed = seed();
    let mut rng = Rng(seed);
    let mut case = 0;
    let mut compiled = 0;
    while budget.go_on(case) {
        let mut text = files[rng.below(files.len())].clone();
        match rng.below(3) {
            // Made-up CEL in the condition.
            0 => {
                let cel: String = (0..1 + rng.below(30))
                    .map(|_| pieces[rng.below(pieces.len())])
                    .collect();
                text = text
                    .lines()
                    .map(|l| {
                        if l.starts_with("when:") {
                            format!("when: '{}'", cel.replace('\'', "''"))
                        } else {
                            l.to_string()
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("\n");
            }
            // Bytes changed anywhere (on character boundaries).
            1 => {
                let mut chars: Vec<char> = text.chars().collect();
                for _ in 0..1 + rng.below(10) {
                    if chars.is_empty() {
                        break;
                    }
                    let i = rng.below(chars.len());
                    match rng.below(3) {
                        0 => {
                            chars.remove(i);
                        }
                        1 => chars.insert(i, [':', '-', '\'', '"', '\n', '{', '[', '&', '*', '!'][rng.below(10)]),
                        _ => chars[i] = char::from_u32(rng.below(0x250) as u32).unwrap_or(' '),
                    }
                }
                text = chars.into_iter().collect();
            }
            // Cut short.
            _ => {
                let cut = rng.below(text.len());
                text = text.chars().take(cut).collect();
            }
        }
        if let Ok(trace) = std::env::var("AISPM_RANDOM_TRACE") {
            // A stack overflow aborts the process before any message: keep the input on disk.
            let _ = std::fs::write(trace, &text);
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| engine::rules::compile("random.yaml", &text)));
        match outcome {
            Err(_) => panic!("the rule loader panicked (AISPM_RANDOM_SEED={seed}, case {case}):\n{text}"),
            Ok(Err(e)) => assert!(e.to_string().contains("random.yaml"), "the error names the file: {e}"),
            Ok(Ok(rule)) => {
                compiled += 1;
                // A rule that loads must also evaluate without panicking.
                let set = RuleSet { rules: vec![rule] };
                let inv: schemas::Inventory = serde_json::from_value(
                    json!({"provider": "any", "connection_id": "c", "collected_at": "2026-12-04T00:00:00Z"}),
                )
                .unwrap();
                let run = catch_unwind(AssertUnwindSafe(|| engine::evaluate(&set, &[inv], chrono::Utc::now())));
                assert!(
                    run.is_ok(),
                    "a loaded rule panicked in evaluation (AISPM_RANDOM_SEED={seed}, case {case}):\n{text}"
                );
            }
        }
        case += 1;
    }
    eprintln!("rule loader: {case} mutated rule files, {compiled} of them still valid");
}

#[test]
fn header_and_error_parsers_take_any_value() {
    use connectors::http::{error_message, header_number, wait_hint, ApiHooks};
    use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
    let hooks: [&ApiHooks; 5] = [
        &connectors::http::PLAIN_HTTP,
        &connectors::servicenow::client::API_HOOKS,
        &connectors::m365::client::API_HOOKS,
        &connectors::salesforce::client::API_HOOKS,
        &connectors::google_workspace::client::API_HOOKS,
    ];
    let names = [
        "retry-after",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
        "sforce-limit-info",
        "x-ms-retry-after-ms",
        "ratelimit-reset",
    ];
    let budget = Budget::from_env();
    let seed = seed();
    let mut rng = Rng(seed);
    let mut case = 0;
    while budget.go_on(case / 10) {
        let mut headers = HeaderMap::new();
        for _ in 0..rng.below(4) {
            let value = random_string(&mut rng);
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.append(HeaderName::from_static(names[rng.below(names.len())]), v);
            }
        }
        let body = if rng.chance(50) {
            random_value(&mut rng, 4).to_string()
        } else {
            random_string(&mut rng)
        };
        let status = [200u16, 400, 401, 403, 404, 429, 500, 503, 0, 999][rng.below(10)];
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            for h in hooks {
                let _ = wait_hint(&headers, h);
                let _ = (h.hourly_budget)(&headers);
                let _ = (h.window_reset)(&headers);
                let _ = (h.disposition)(status, &body);
                let message = error_message(body.clone(), h);
                assert!(
                    message.chars().count() <= 400,
                    "an error excerpt stays short: {} chars",
                    message.len()
                );
            }
            let _ = header_number(&headers, "retry-after");
            let _ = connectors::salesforce::client::limit_info(&headers);
        }));
        assert!(
            outcome.is_ok(),
            "a parser panicked (AISPM_RANDOM_SEED={seed}, case {case}): {headers:?} {body:?}"
        );
        case += 1;
    }
    eprintln!("parsers: {case} random answers");
}

#[test]
fn deeply_nested_conditions_are_refused_not_a_crash() {
    // A parser that recurses once per level overflows its stack on deep enough input, which
    // no handler can catch: such conditions must be refused before they are parsed.
    let template = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("engine/rules/salesforce/prompt-injection-detection-off.yaml"),
    )
    .unwrap();
    for depth in [8usize, 30, 40, 200, 5_000] {
        for cel in [
            format!("{}true{}", "(".repeat(depth), ")".repeat(depth)),
            format!("{}true", "!".repeat(depth)),
            format!("{}1", "-".repeat(depth)),
            format!("size({}{})> 0", "[".repeat(depth), "]".repeat(depth)),
            format!("{}1", "1 + ".repeat(depth)),
        ] {
            // Without `needs:` the condition is evaluated, not skipped as not collected.
            let text = template
                .lines()
                .filter(|l| !l.starts_with("needs:"))
                .map(|l| {
                    if l.starts_with("when:") {
                        format!("when: '{cel}'")
                    } else {
                        l.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            match engine::rules::compile("deep.yaml", &text) {
                Ok(rule) => {
                    assert!(
                        depth <= 40,
                        "a condition {depth} deep was accepted: {}",
                        &cel[..40.min(cel.len())]
                    );
                    // What is accepted also evaluates, on an ordinary thread's stack.
                    let set = RuleSet { rules: vec![rule] };
                    let inv: schemas::Inventory = serde_json::from_value(
                        json!({"provider": "salesforce", "connection_id": "c", "collected_at": "2026-12-04T00:00:00Z"}),
                    )
                    .unwrap();
                    let eval = engine::evaluate(&set, &[inv], chrono::Utc::now());
                    assert_eq!(eval.results.len(), 1, "evaluated once on the connection");
                }
                Err(e) => {
                    let e = e.to_string();
                    assert!(e.contains("deep.yaml"), "{e}");
                    if depth > 40 {
                        assert!(e.contains("nested") || e.contains("characters of CEL"), "says why: {e}");
                    }
                }
            }
        }
    }
}
