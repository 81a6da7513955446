//! Rules cannot hang an evaluation: deeply nested macros are refused when the rule loads, and a
//! rule that overruns its time budget on a resource is not_assessed there (with the reason)
//! while every other rule is still evaluated.

use engine::{evaluate_with, Limits, Outcome, RuleSet};
use schemas::*;
use std::time::Duration;

fn rule(id: &str, when: &str) -> String {
    format!(
        "id: {id}\ntitle: t\nseverity: low\nprovider: any\nresource: agent\nwhen: '{when}'\nrationale: r\nremediation: m\n"
    )
}

fn temp_rules(tag: &str, files: &[(&str, String)]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("aispm-bounds-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
    dir
}

fn agents(n: usize) -> Inventory {
    let mut inv = Inventory {
        connection_id: "c1".into(),
        provider: "servicenow".into(),
        ..Default::default()
    };
    for i in 0..n {
        let agent = serde_json::json!({
            "id": format!("servicenow:agent:{i}"), "kind": "now_assist_agent", "name": format!("Agent {i}"),
            "owner": null, "identity": "invoker", "run_as": null, "role_mask": null, "audience": [],
            "audience_unknown": false, "channels": [], "autonomy": "supervised", "tools": [], "knowledge": [],
            "teams": [], "active": true, "last_used": null, "attributes": {},
        });
        inv.agents.push(serde_json::from_value(agent).unwrap());
    }
    inv
}

#[test]
fn macros_nested_past_the_limit_are_refused_at_load() {
    let deep = "[1].exists(a, [1].exists(b, [1].exists(c, [1].exists(d, d == 1))))";
    let ok = "[1].exists(a, [1].exists(b, [1].exists(c, c == 1)))";
    // Nesting in a range is evaluated once, so it does not multiply.
    let ranged = "[1].map(a, a).map(b, b).map(c, c).map(d, d).exists(e, e == 1)";
    let dir = temp_rules(
        "depth",
        &[
            ("deep.yaml", rule("B-1", deep)),
            ("ok.yaml", rule("B-2", ok)),
            ("ranged.yaml", rule("B-3", ranged)),
        ],
    );
    let errors = RuleSet::load_dir(&dir).err().expect("the deep rule is refused");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(errors[0].file.ends_with("deep.yaml"));
    assert_eq!(errors[0].line, Some(6));
    assert!(errors[0].reason.contains("nested 4 deep"), "{}", errors[0]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_rule_over_its_budget_is_not_assessed_and_the_others_go_on() {
    // 40 x 40 x 40 iterations per agent: milliseconds, far over a 1 µs budget.
    let list = format!("[{}]", (0..40).map(|i| i.to_string()).collect::<Vec<_>>().join(","));
    let slow = format!("{list}.exists(a, {list}.exists(b, {list}.exists(c, a + b + c < 0)))");
    let dir = temp_rules(
        "budget",
        &[
            ("slow.yaml", rule("B-SLOW", &slow)),
            ("fast.yaml", rule("B-FAST", "agent.active")),
        ],
    );
    let mut rules = RuleSet { rules: Vec::new() };
    rules.extend(RuleSet::load_dir(&dir).unwrap()).unwrap();
    let limits = Limits {
        per_rule_and_resource: Duration::from_micros(1),
    };
    let evaluation = evaluate_with(&rules, &[agents(3)], chrono::Utc::now(), limits);
    let slow: Vec<_> = evaluation.results.iter().filter(|r| r.rule_id == "B-SLOW").collect();
    assert_eq!(slow.len(), 3);
    assert!(slow.iter().all(|r| r.outcome == Outcome::NotAssessed));
    assert!(
        slow[0].reason.as_deref().unwrap().contains("over its 0 ms budget"),
        "{:?}",
        slow[0]
    );
    assert!(
        slow[1].reason.as_deref().unwrap().contains("earlier resource"),
        "{:?}",
        slow[1]
    );
    // The fast rule ran everywhere (a 1 µs budget may catch it too on a busy machine, so
    // with the default budget).
    let evaluation = evaluate_with(&rules, &[agents(3)], chrono::Utc::now(), Limits::default());
    let fast: Vec<_> = evaluation.results.iter().filter(|r| r.rule_id == "B-FAST").collect();
    assert_eq!(fast.len(), 3);
    assert!(fast.iter().all(|r| r.outcome == Outcome::Fail));
    std::fs::remove_dir_all(&dir).unwrap();
}
