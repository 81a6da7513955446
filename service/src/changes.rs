//! Drift as callers see it: the change records between consecutive snapshots of the tenant's
//! connections, newest first, with the findings each change opened or resolved.

use crate::{Page, Result, Service, ServiceError, TenantScope, MAX_PAGE};
use schemas::{ChangeKind, FieldChange, Finding, FindingStatus, Severity};
use std::collections::BTreeMap;

/// A finding a change opened or resolved, by name.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct FindingRef {
    pub fingerprint: String,
    pub rule_id: String,
    pub title: String,
    pub severity: Severity,
    /// Its state now (it may have changed again since).
    pub status: FindingStatus,
}

/// One change record.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ChangeView {
    pub id: String,
    pub connection_id: String,
    pub provider: String,
    /// When the snapshot that showed it was committed.
    pub recorded_at: String,
    pub resource_kind: String,
    pub resource_id: String,
    pub resource_name: String,
    pub change: ChangeKind,
    pub fields: Vec<FieldChange>,
    /// Widens exposure, or opened or resolved findings.
    pub risk: bool,
    /// How it widens exposure, in words.
    pub risks: Vec<String>,
    /// False until the evaluation after its scan has run (then the findings are named).
    pub evaluated: bool,
    pub findings_opened: Vec<FindingRef>,
    pub findings_resolved: Vec<FindingRef>,
}

/// Which changes: every field optional.
#[derive(Debug, Clone, Default)]
pub struct ChangeFilter {
    /// A date (`2026-11-30`, from its start in UTC) or an RFC 3339 time.
    pub since: Option<String>,
    pub risk_only: bool,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub limit: usize,
}

/// Reads `--since` / `?since=`: a date or an RFC 3339 time, as an RFC 3339 UTC time.
pub fn parse_since(text: &str) -> std::result::Result<String, String> {
    let text = text.trim();
    if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let start = date.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
        return Ok(start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    }
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        })
        .map_err(|_| format!("since {text:?} is neither a date (2026-11-30) nor an RFC 3339 time"))
}

fn finding_refs(prints: &[String], findings: &BTreeMap<&str, &Finding>) -> Vec<FindingRef> {
    prints
        .iter()
        .filter_map(|p| findings.get(p.as_str()))
        .map(|f| FindingRef {
            fingerprint: f.fingerprint.clone(),
            rule_id: f.rule_id.clone(),
            title: f.title.clone(),
            severity: f.severity,
            status: f.status,
        })
        .collect()
}

impl Service {
    /// One page of the tenant's change records, newest first.
    pub async fn changes(&self, scope: &TenantScope, q: &ChangeFilter) -> Result<Page<ChangeView>> {
        let since = q
            .since
            .as_deref()
            .map(parse_since)
            .transpose()
            .map_err(ServiceError::Invalid)?;
        let cursor = match &q.cursor {
            None => None,
            Some(c) => Some(
                c.split_once('|')
                    .map(|(at, id)| (at.to_string(), id.to_string()))
                    .ok_or_else(|| ServiceError::Invalid(format!("cursor {c:?} is not one this API gave out")))?,
            ),
        };
        let limit = q.limit.clamp(1, MAX_PAGE);
        let query = store::ChangeQuery {
            since,
            after: None,
            risk_only: q.risk_only,
            cursor,
            limit: limit as u64 + 1,
        };
        let mut rows = self.store().changes(&scope.tenant.id, &query).await?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let findings = self.store().findings(&scope.tenant.id).await?;
        let by_print: BTreeMap<&str, &Finding> = findings.iter().map(|f| (f.fingerprint.as_str(), f)).collect();
        let providers: BTreeMap<String, String> = self
            .store()
            .connections(&scope.tenant.id)
            .await?
            .into_iter()
            .map(|c| (c.id, c.provider))
            .collect();
        let next_cursor = more
            .then(|| rows.last().map(|r| format!("{}|{}", r.created_at, r.id)))
            .flatten();
        let items = rows
            .into_iter()
            .map(|r| ChangeView {
                provider: providers.get(&r.connection_id).cloned().unwrap_or_default(),
                findings_opened: finding_refs(&r.change.findings_opened, &by_print),
                findings_resolved: finding_refs(&r.change.findings_resolved, &by_print),
                id: r.id,
                connection_id: r.connection_id,
                recorded_at: r.created_at,
                resource_kind: r.change.resource_kind,
                resource_id: r.change.resource_id,
                resource_name: r.change.resource_name,
                change: r.change.change,
                fields: r.change.fields,
                risk: r.change.risk,
                risks: r.change.risks,
                evaluated: r.evaluated,
            })
            .collect();
        Ok(Page { items, next_cursor })
    }
}

#[cfg(test)]
mod tests {
    use super::parse_since;

    #[test]
    fn since_reads_a_date_or_a_time_and_names_what_it_cannot() {
        assert_eq!(parse_since("2026-11-30").unwrap(), "2026-11-30T00:00:00.000Z");
        assert_eq!(
            parse_since("2026-11-30T10:00:00+01:00").unwrap(),
            "2026-11-30T09:00:00.000Z"
        );
        let err = parse_since("last week").unwrap_err();
        assert!(err.contains("\"last week\""), "{err}");
    }
}
