//! Cron expressions read in an IANA time zone: when a schedule or an alert digest is due next.

use chrono::{DateTime, Utc};
use std::str::FromStr;

/// The first time after `after` that `cron` matches, read in `timezone`. Five fields (minute
/// hour day-of-month month day-of-week), or six with seconds first.
pub fn next_due(cron: &str, timezone: &str, after: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
    let tz = chrono_tz::Tz::from_str(timezone.trim())
        .map_err(|_| format!("unknown time zone {timezone:?} (an IANA name such as Europe/Berlin or UTC)"))?;
    let pattern = croner::Cron::from_str(cron.trim()).map_err(|e| format!("cron expression {cron:?}: {e}"))?;
    // Whole seconds: due times are cron instants, never a millisecond past one.
    let after = chrono::Timelike::with_nanosecond(&after, 0).unwrap_or(after);
    let local = after.with_timezone(&tz);
    pattern
        .find_next_occurrence(&local, false)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("cron expression {cron:?} never comes due: {e}"))
}
