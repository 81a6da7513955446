//! Scheduled scans and reports. A schedule is a cron expression read in an IANA time zone; its
//! next due time (UTC) is stored, and whichever process first moves it forward fires it
//! (compare-and-swap in the database), so N workers on one PostgreSQL fire each due time once.
//! The next due time is computed from *now*, not from the missed one: after downtime a
//! schedule fires once, not once per missed slot. A scan schedule goes through `start_scan`,
//! which resumes a connection's unfinished scan instead of starting a second one.

use crate::{Caller, Result, Role, Service, ServiceError, TenantScope};
use chrono::{DateTime, SecondsFormat, Utc};

/// What a schedule does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ScheduleKind {
    Scan,
    Report,
}

impl ScheduleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ScheduleKind::Scan => "scan",
            ScheduleKind::Report => "report",
        }
    }
}

/// A schedule as callers see it.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ScheduleView {
    pub tenant: String,
    pub kind: ScheduleKind,
    pub cron: String,
    pub timezone: String,
    pub next_due_at: String,
    pub last_fired_at: Option<String>,
    pub last_result: Option<String>,
}

/// Schedules due in one pass of the scheduler, at most (the rest wait for the next pass).
const DUE_PER_PASS: u64 = 200;

/// The first time after a given one that a cron expression matches in a time zone (shared with
/// alert digests, which the sender fires).
pub use jobs::cron::next_due;

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn view(slug: &str, row: store::entities::schedule::Model) -> ScheduleView {
    ScheduleView {
        tenant: slug.to_string(),
        kind: if row.kind == "report" {
            ScheduleKind::Report
        } else {
            ScheduleKind::Scan
        },
        cron: row.cron,
        timezone: row.timezone,
        next_due_at: row.next_due_at,
        last_fired_at: row.last_fired_at,
        last_result: row.last_result,
    }
}

impl Service {
    /// Sets (or replaces) the tenant's schedule of `kind`; checks the expression and the zone.
    pub async fn set_schedule(
        &self,
        scope: &TenantScope,
        kind: ScheduleKind,
        cron: &str,
        timezone: &str,
    ) -> Result<ScheduleView> {
        scope.require(Role::Admin)?;
        let cron = cron.trim();
        if cron.len() > 200 {
            return Err(ServiceError::Invalid(
                "the cron expression is longer than 200 characters".into(),
            ));
        }
        let next = next_due(cron, timezone, Utc::now()).map_err(ServiceError::Invalid)?;
        let row = self
            .store()
            .set_schedule(&scope.tenant.id, kind.as_str(), cron, timezone.trim(), &rfc3339(next))
            .await?;
        self.record(
            scope,
            "schedule.set",
            &format!("{} \"{cron}\" ({})", kind.as_str(), timezone.trim()),
        )
        .await?;
        Ok(view(&scope.tenant.slug, row))
    }

    pub async fn remove_schedule(&self, scope: &TenantScope, kind: ScheduleKind) -> Result<()> {
        scope.require(Role::Admin)?;
        if !self.store().remove_schedule(&scope.tenant.id, kind.as_str()).await? {
            return Err(ServiceError::NotFound(format!("no {} schedule", kind.as_str())));
        }
        self.record(scope, "schedule.remove", kind.as_str()).await
    }

    pub async fn schedules(&self, scope: &TenantScope) -> Result<Vec<ScheduleView>> {
        Ok(self
            .store()
            .schedules(Some(&scope.tenant.id))
            .await?
            .into_iter()
            .map(|row| view(&scope.tenant.slug, row))
            .collect())
    }

    /// One pass of the scheduler: fires every schedule due at `now` that this process claims.
    /// Returns how many it fired.
    pub async fn run_due_schedules(&self, now: DateTime<Utc>) -> Result<usize> {
        let mut fired = 0;
        for row in self.store().due_schedules(&rfc3339(now), DUE_PER_PASS).await? {
            // Computed from now: a schedule that missed slots while nothing ran fires once.
            let next = match next_due(&row.cron, &row.timezone, now) {
                Ok(next) => rfc3339(next),
                // An expression that no longer parses (a newer parser) stops, saying why.
                Err(why) => {
                    self.store().note_schedule_result(&row.id, &why).await?;
                    rfc3339(now + chrono::Duration::days(3650))
                }
            };
            if !self.store().claim_schedule(&row.id, &row.next_due_at, &next).await? {
                continue; // another process fired it
            }
            fired += 1;
            let result = match self.fire(&row).await {
                Ok(done) => done,
                Err(e) => format!("failed: {e}"),
            };
            tracing::info!(tenant = row.tenant_id, kind = row.kind, "schedule fired: {result}");
            self.store().note_schedule_result(&row.id, &result).await?;
        }
        Ok(fired)
    }

    async fn fire(&self, row: &store::entities::schedule::Model) -> Result<String> {
        let tenant = self
            .store()
            .tenant_by_id(&row.tenant_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound("the tenant is gone".into()))?;
        let scope = self.scope(&Caller::Schedule, &tenant.slug).await?;
        match row.kind.as_str() {
            "scan" => {
                let started = self.start_scan(&scope).await?;
                let resumed = started.iter().filter(|s| s.resumed).count();
                Ok(format!(
                    "{} scan(s) started, {resumed} already running left to finish",
                    started.len() - resumed
                ))
            }
            "report" => {
                let id = self
                    .keep_report(&scope, &format!("schedule {}", row.next_due_at))
                    .await?;
                Ok(format!("report {id} kept"))
            }
            other => Err(ServiceError::Other(format!("unknown schedule kind {other:?}"))),
        }
    }

    /// Builds the tenant's report now and keeps it (its model as JSON).
    pub async fn keep_report(&self, scope: &TenantScope, trigger: &str) -> Result<String> {
        let report = self.report(scope).await?;
        let body = report.to_json().to_string();
        // Kept as the model: every format renders from it later.
        let id = self.store().add_report(&scope.tenant.id, trigger, &body).await?;
        self.record(scope, "report.keep", &format!("{id} ({trigger})")).await?;
        Ok(id)
    }

    /// The tenant's kept reports, newest first.
    pub async fn kept_reports(&self, scope: &TenantScope, limit: u64) -> Result<Vec<store::ReportSummary>> {
        Ok(self.store().reports(&scope.tenant.id, limit).await?)
    }

    /// One kept report's model (JSON text).
    pub async fn kept_report(&self, scope: &TenantScope, id: &str) -> Result<String> {
        self.store()
            .report(&scope.tenant.id, id)
            .await?
            .map(|r| r.body)
            .ok_or_else(|| ServiceError::NotFound(format!("no report {id:?}")))
    }

    /// One kept report rendered in `format`: the bytes, their content type and a file name.
    pub async fn kept_report_as(
        &self,
        scope: &TenantScope,
        id: &str,
        format: crate::report::Format,
    ) -> Result<(Vec<u8>, &'static str, String)> {
        let body = self.kept_report(scope, id).await?;
        let report = crate::report::Report::from_json(&body).map_err(ServiceError::Other)?;
        let day = report.generated_at.get(..10).unwrap_or("").to_string();
        // Rendering (a PDF above all) is CPU work: off the async runtime.
        let bytes = tokio::task::spawn_blocking(move || report.render(format))
            .await
            .map_err(|e| ServiceError::Other(format!("rendering stopped: {e}")))??;
        let extension = format.file_name().split_once('.').map(|(_, ext)| ext).unwrap_or("txt");
        let name = format!(
            "aispm-{}-{day}-{}.{extension}",
            scope.tenant.slug,
            &id[..id.len().min(8)]
        );
        Ok((bytes, format.content_type(), name))
    }

    /// Runs the scheduler every `tick` until `stop` resolves.
    pub async fn run_scheduler(&self, tick: std::time::Duration, stop: impl std::future::Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            if let Err(e) = self.run_due_schedules(Utc::now()).await {
                tracing::warn!("scheduler: {e}");
            }
            tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(tick) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cron_expressions_are_read_in_their_time_zone() {
        let after = DateTime::parse_from_rfc3339("2026-12-06T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        // Monday 07:00 in Berlin is 06:00 UTC in winter.
        let next = next_due("0 7 * * MON", "Europe/Berlin", after).unwrap();
        assert_eq!(rfc3339(next), "2026-12-07T06:00:00.000Z");
        assert_eq!(
            rfc3339(next_due("0 7 * * MON", "UTC", after).unwrap()),
            "2026-12-07T07:00:00.000Z"
        );
        assert!(next_due("0 7 * * MON", "Mars/Olympus", after)
            .unwrap_err()
            .contains("time zone"));
        assert!(next_due("every monday", "UTC", after)
            .unwrap_err()
            .contains("cron expression"));
        // Six fields: seconds first (what the tests use to fire often).
        let next = next_due("*/5 * * * * *", "UTC", after).unwrap();
        assert_eq!(rfc3339(next), "2026-12-06T12:00:05.000Z");
    }
}
