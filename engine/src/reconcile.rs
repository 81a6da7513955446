//! Finding lifecycle: a finding seen again stays open (first_seen kept, last_seen moved); one
//! no longer seen is resolved, but only when its rule was actually assessed this time; one that
//! comes back after being resolved reopens.

use schemas::{Finding, FindingStatus};
use std::collections::{BTreeSet, HashMap};

/// Merges the current evaluation's findings into the previous set. Returns every finding to
/// store, in a stable order. A finding of a rule that is not among `loaded_rules` (a rule
/// directory used once and then not) stays as it was: nobody assessed it.
pub fn reconcile(
    previous: Vec<Finding>,
    current: Vec<Finding>,
    unassessed: &BTreeSet<(String, String)>,
    loaded_rules: &BTreeSet<String>,
) -> Vec<Finding> {
    let mut by_print: HashMap<String, Finding> = previous.into_iter().map(|f| (f.fingerprint.clone(), f)).collect();
    let seen: BTreeSet<String> = current.iter().map(|f| f.fingerprint.clone()).collect();
    for mut found in current {
        if let Some(before) = by_print.get(&found.fingerprint) {
            found.first_seen = before.first_seen.clone();
        }
        found.status = FindingStatus::Open;
        by_print.insert(found.fingerprint.clone(), found);
    }
    for finding in by_print.values_mut() {
        if seen.contains(&finding.fingerprint)
            || finding.status == FindingStatus::Resolved
            || !loaded_rules.contains(&finding.rule_id)
        {
            continue;
        }
        let blind = unassessed.contains(&(finding.rule_id.clone(), finding.resource.connection_id.clone()))
            || unassessed.iter().any(|(rule, conn)| {
                rule == &finding.rule_id && conn.split('+').any(|c| c == finding.resource.connection_id)
            });
        if !blind {
            finding.status = FindingStatus::Resolved;
        }
    }
    let mut all: Vec<Finding> = by_print.into_values().collect();
    all.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.rule_id.cmp(&b.rule_id))
            .then(a.fingerprint.cmp(&b.fingerprint))
    });
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use schemas::*;

    fn f(print: &str, seen: &str) -> Finding {
        Finding {
            fingerprint: print.into(),
            rule_id: "R".into(),
            title: "t".into(),
            severity: Severity::High,
            status: FindingStatus::Open,
            resource: FindingResource {
                id: "x".into(),
                kind: "agent".into(),
                name: "x".into(),
                provider: "p".into(),
                connection_id: "c1".into(),
            },
            message: "m".into(),
            evidence: serde_json::Value::Null,
            path: None,
            remediation: "r".into(),
            frameworks: Default::default(),
            first_seen: seen.into(),
            last_seen: seen.into(),
        }
    }

    fn loaded() -> BTreeSet<String> {
        BTreeSet::from(["R".to_string()])
    }

    #[test]
    fn seen_again_keeps_first_seen_and_moves_last_seen() {
        let out = reconcile(vec![f("a", "t1")], vec![f("a", "t2")], &BTreeSet::new(), &loaded());
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].first_seen.as_str(), out[0].last_seen.as_str()), ("t1", "t2"));
        assert_eq!(out[0].status, FindingStatus::Open);
    }

    #[test]
    fn gone_is_resolved_and_coming_back_reopens() {
        let out = reconcile(vec![f("a", "t1")], vec![], &BTreeSet::new(), &loaded());
        assert_eq!(out[0].status, FindingStatus::Resolved);
        assert_eq!(out[0].last_seen, "t1");
        let back = reconcile(out, vec![f("a", "t3")], &BTreeSet::new(), &loaded());
        assert_eq!(back[0].status, FindingStatus::Open);
        assert_eq!(back[0].first_seen, "t1");
    }

    #[test]
    fn not_resolved_when_the_rule_could_not_be_assessed() {
        let blind = BTreeSet::from([("R".to_string(), "c1".to_string())]);
        let out = reconcile(vec![f("a", "t1")], vec![], &blind, &loaded());
        assert_eq!(out[0].status, FindingStatus::Open);
    }

    #[test]
    fn not_resolved_when_the_rule_is_no_longer_loaded() {
        let out = reconcile(vec![f("a", "t1")], vec![], &BTreeSet::new(), &BTreeSet::new());
        assert_eq!(out[0].status, FindingStatus::Open);
        assert_eq!(out[0].last_seen, "t1");
    }
}
