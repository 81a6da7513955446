//! What the API and the pages read, each through a [`TenantScope`]: one scan, findings
//! filtered and paged by cursor, one finding, agents with their reach.

use crate::{FindingFilter, Result, Service, ServiceError, TenantScope};
use schemas::{Agent, Coverage, DataStore, Finding, FindingStatus, Principal, Tool};
use serde::Serialize;

/// One page of a list and the cursor of the next (`None`: this was the last).
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
#[schemars(rename = "{T}Page")]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Where a scan is, and once it completed, what it could and could not read.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ScanView {
    pub id: String,
    pub connection_id: String,
    pub status: String,
    pub created_at: String,
    pub finished_at: Option<String>,
    pub resources_done: i32,
    pub resources_total: i32,
    pub requests: i64,
    pub throttled: i64,
    /// Why it failed, or why a running scan waits.
    pub note: Option<String>,
    /// Per vendor resource, once the scan completed.
    pub coverage: Vec<Coverage>,
}

/// An agent in a list.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AgentSummary {
    pub connection_id: String,
    pub id: String,
    pub kind: String,
    pub name: String,
    pub active: bool,
    pub autonomy: String,
    /// How many principals may invoke it.
    pub audience: usize,
    pub tools: usize,
    pub knowledge: usize,
}

/// Which findings: every field optional; `status` defaults to open.
#[derive(Debug, Clone, Default)]
pub struct FindingQuery {
    pub severity: Option<String>,
    /// `open`, `resolved` or `all`.
    pub status: Option<String>,
    pub provider: Option<String>,
    pub rule: Option<String>,
    /// A framework (`owasp_llm_2025`) or a framework entry (`LLM06`, `owasp_llm_2025:LLM06`).
    pub framework: Option<String>,
    pub cursor: Option<String>,
    pub limit: usize,
}

/// The most a page holds.
pub const MAX_PAGE: usize = 500;

/// An agent and its reach: who may invoke it, whom it runs as, what its tools and knowledge
/// are, and the findings about it or passing through it.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct AgentView {
    pub connection_id: String,
    pub provider: String,
    pub agent: Agent,
    pub audience: Vec<Principal>,
    pub runs_as: Option<Principal>,
    pub tools: Vec<Tool>,
    pub knowledge: Vec<DataStore>,
    pub findings: Vec<Finding>,
}

fn scan_view(scan: store::entities::scan::Model, coverage: Vec<Coverage>) -> ScanView {
    ScanView {
        id: scan.id,
        connection_id: scan.connection_id,
        status: scan.status.as_str().into(),
        created_at: scan.created_at,
        finished_at: scan.finished_at,
        resources_done: scan.resources_done,
        resources_total: scan.resources_total,
        requests: scan.requests,
        throttled: scan.throttled,
        note: scan.error,
        coverage,
    }
}

fn framework_matches(f: &Finding, wanted: &str) -> bool {
    let fw = &f.frameworks;
    let lists = [
        ("owasp_llm_2025", &fw.owasp_llm_2025),
        ("owasp_agentic", &fw.owasp_agentic),
        ("mitre_atlas", &fw.mitre_atlas),
        ("nist_ai_rmf", &fw.nist_ai_rmf),
    ];
    let (name, entry) = match wanted.split_once(':') {
        Some((n, e)) => (Some(n), Some(e)),
        None if lists.iter().any(|(n, _)| *n == wanted) => (Some(wanted), None),
        None => (None, Some(wanted)),
    };
    lists.iter().any(|(n, list)| {
        name.is_none_or(|want| want == *n)
            && match entry {
                Some(e) => list.iter().any(|x| x.eq_ignore_ascii_case(e)),
                None => !list.is_empty(),
            }
    })
}

impl Service {
    /// The tenant's newest scans (without coverage), at most `limit`.
    pub async fn recent_scans(&self, scope: &TenantScope, limit: usize) -> Result<Vec<ScanView>> {
        let scans = self
            .store()
            .recent_scans(&scope.tenant.id, limit.clamp(1, MAX_PAGE) as u64)
            .await?;
        Ok(scans.into_iter().map(|s| scan_view(s, Vec::new())).collect())
    }

    pub async fn scan(&self, scope: &TenantScope, id: &str) -> Result<ScanView> {
        let not_found = || ServiceError::NotFound(format!("no scan {id:?}"));
        let scan = self
            .store()
            .find_scan(id)
            .await?
            .filter(|s| s.tenant_id == scope.tenant.id)
            .ok_or_else(not_found)?;
        let coverage = self
            .store()
            .snapshot_of_scan(&scan.id)
            .await?
            .map(|inv| inv.coverage)
            .unwrap_or_default();
        Ok(scan_view(scan, coverage))
    }

    /// Findings in report order, filtered, one page from `cursor` (the fingerprint the last
    /// page ended on).
    pub async fn finding_page(&self, scope: &TenantScope, q: &FindingQuery) -> Result<Page<Finding>> {
        let status = match q.status.as_deref().unwrap_or("open") {
            "open" => FindingFilter::Open,
            "resolved" => FindingFilter::Resolved,
            "all" => FindingFilter::All,
            other => {
                return Err(ServiceError::Invalid(format!(
                    "status {other:?} is not one of open, resolved, all"
                )))
            }
        };
        if let Some(s) = &q.severity {
            if !["info", "low", "medium", "high", "critical"].contains(&s.as_str()) {
                return Err(ServiceError::Invalid(format!(
                    "severity {s:?} is not one of info, low, medium, high, critical"
                )));
            }
        }
        let all = self.sorted_findings(scope).await?;
        let selected: Vec<&Finding> = all
            .iter()
            .filter(|f| status.admits(f))
            .filter(|f| q.severity.as_deref().is_none_or(|s| f.severity.as_str() == s))
            .filter(|f| q.provider.as_deref().is_none_or(|p| f.resource.provider == p))
            .filter(|f| q.rule.as_deref().is_none_or(|r| f.rule_id.eq_ignore_ascii_case(r)))
            .filter(|f| q.framework.as_deref().is_none_or(|w| framework_matches(f, w)))
            .collect();
        let start = match &q.cursor {
            None => 0,
            Some(c) => selected
                .iter()
                .position(|f| &f.fingerprint == c)
                .map(|i| i + 1)
                .ok_or_else(|| {
                    ServiceError::Invalid("the cursor is no longer valid (the findings changed): start again".into())
                })?,
        };
        let limit = q.limit.clamp(1, MAX_PAGE);
        let items: Vec<Finding> = selected.iter().skip(start).take(limit).map(|f| (*f).clone()).collect();
        let next_cursor = (start + items.len() < selected.len())
            .then(|| items.last().map(|f| f.fingerprint.clone()))
            .flatten();
        Ok(Page { items, next_cursor })
    }

    /// Open findings per severity (most severe first), without copying them.
    pub async fn open_severity_counts(&self, scope: &TenantScope) -> Result<Vec<(schemas::Severity, usize)>> {
        Ok(crate::report::severity_counts(&self.sorted_findings(scope).await?))
    }

    pub async fn finding(&self, scope: &TenantScope, fingerprint: &str) -> Result<Finding> {
        self.sorted_findings(scope)
            .await?
            .iter()
            .find(|f| f.fingerprint == fingerprint)
            .cloned()
            .ok_or_else(|| ServiceError::NotFound(format!("no finding {fingerprint:?}")))
    }

    /// Every agent of the tenant's newest snapshots, with its connection.
    pub async fn agents(&self, scope: &TenantScope) -> Result<Vec<(String, Agent)>> {
        Ok(self
            .inventories(scope)
            .await?
            .into_iter()
            .flat_map(|inv| {
                let connection = inv.connection_id.clone();
                inv.agents.into_iter().map(move |a| (connection.clone(), a))
            })
            .collect())
    }

    /// A page of the tenant's agents (cursor: `connection_id/agent_id` of the last one).
    pub async fn agent_page(
        &self,
        scope: &TenantScope,
        cursor: Option<&str>,
        limit: usize,
    ) -> Result<Page<AgentSummary>> {
        let all: Vec<AgentSummary> = self
            .agents(scope)
            .await?
            .into_iter()
            .map(|(connection_id, a)| AgentSummary {
                connection_id,
                id: a.id,
                kind: a.kind,
                name: a.name,
                active: a.active,
                autonomy: serde_json::to_value(a.autonomy)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                audience: a.audience.len(),
                tools: a.tools.len(),
                knowledge: a.knowledge.len(),
            })
            .collect();
        let key = |a: &AgentSummary| format!("{}/{}", a.connection_id, a.id);
        let start = match cursor {
            None => 0,
            Some(c) => all
                .iter()
                .position(|a| key(a) == c)
                .map(|i| i + 1)
                .ok_or_else(|| ServiceError::Invalid("the cursor is no longer valid: start again".into()))?,
        };
        let items: Vec<AgentSummary> = all.iter().skip(start).take(limit.clamp(1, MAX_PAGE)).cloned().collect();
        let next_cursor = (start + items.len() < all.len())
            .then(|| items.last().map(key))
            .flatten();
        Ok(Page { items, next_cursor })
    }

    /// One agent and its reach; `connection` picks among connections that share agent ids
    /// (a production instance and its clone).
    pub async fn agent(&self, scope: &TenantScope, id: &str, connection: Option<&str>) -> Result<AgentView> {
        let inventories = self.inventories(scope).await?;
        let inv = inventories
            .into_iter()
            .filter(|inv| connection.is_none_or(|c| inv.connection_id == c))
            .find(|inv| inv.agents.iter().any(|a| a.id == id))
            .ok_or_else(|| ServiceError::NotFound(format!("no agent {id:?}")))?;
        let agent = inv.agents.iter().find(|a| a.id == id).cloned().expect("found above");
        let principal = |pid: &str| inv.principals.iter().find(|p| p.id == pid).cloned();
        let findings = self
            .sorted_findings(scope)
            .await?
            .iter()
            .filter(|f| f.resource.connection_id == inv.connection_id)
            .filter(|f| f.resource.id == id || f.path.as_ref().is_some_and(|p| p.nodes.iter().any(|n| n.id == id)))
            .filter(|f| f.status == FindingStatus::Open)
            .cloned()
            .collect();
        Ok(AgentView {
            connection_id: inv.connection_id.clone(),
            provider: inv.provider.clone(),
            audience: agent.audience.iter().filter_map(|p| principal(p)).collect(),
            runs_as: agent.run_as.as_deref().and_then(principal),
            tools: agent
                .tools
                .iter()
                .filter_map(|b| inv.tools.iter().find(|t| t.id == b.tool_id).cloned())
                .collect(),
            knowledge: agent
                .knowledge
                .iter()
                .filter_map(|k| inv.data_stores.iter().find(|d| &d.id == k).cloned())
                .collect(),
            findings,
            agent,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frameworks_match_by_name_entry_or_both() {
        let mut f: Finding = serde_json::from_value(serde_json::json!({
            "fingerprint": "x", "rule_id": "R", "title": "t", "severity": "high", "status": "open",
            "resource": {"id": "a", "kind": "agent", "name": "A", "provider": "p", "connection_id": "c"},
            "message": "", "evidence": {}, "path": null, "remediation": "",
            "frameworks": {"owasp_llm_2025": ["LLM06"]}, "first_seen": "", "last_seen": ""
        }))
        .unwrap();
        assert!(framework_matches(&f, "owasp_llm_2025"));
        assert!(framework_matches(&f, "llm06"));
        assert!(framework_matches(&f, "owasp_llm_2025:LLM06"));
        assert!(!framework_matches(&f, "mitre_atlas"));
        assert!(!framework_matches(&f, "owasp_agentic:LLM06"));
        f.frameworks.owasp_llm_2025.clear();
        assert!(!framework_matches(&f, "owasp_llm_2025"));
    }
}
