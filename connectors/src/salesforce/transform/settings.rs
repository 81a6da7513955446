//! Org-wide settings (reference §2.4, §2.6): the Einstein generative AI and Trust Layer
//! switches from the Metadata API, the org-wide sharing defaults, Web-to-Lead evidence, who
//! may build agents and prompts, and the scan's API budget.

use super::{flag, rows, text, P};
use crate::Parts;
use schemas::*;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Settings fields kept, per type (§2.4, §9.2, §9.3). Unknown elements are ignored.
const FIELDS: &[(&str, &[&str])] = &[
    (
        "EinsteinGptSettings",
        &[
            "enableEinsteinGptPlatform",
            "disableAIProvOpenAI",
            "disableAIProvAzureOpenAI",
            "disableAIProvAWSBedrock",
            "disableAIProvVertexGemini",
            "disableAIProviderRegionFallback",
            "enableAIModelBeta",
            "enableEnhancedPromptSecurity",
            "enableEinsteinGptAllowUnsafePTInputChanges",
        ],
    ),
    (
        "EinsteinAISettings",
        &[
            "enableTrustPIIMasking",
            "enableAIFeedbackWithDC",
            "enableAITrustPromptInjectionDetection",
            "enableAITrustInputToxicityDetection",
        ],
    ),
    ("AgentPlatformSettings", &["enableAgentPlatform"]),
];

fn setting(key: String, value: Value, scope: &str) -> AiSetting {
    AiSetting {
        key,
        value,
        scope: scope.into(),
        source: SettingSource::Explicit,
        evidence: Evidence::Api,
        as_of: None,
    }
}

pub fn settings(parts: &Parts) -> Vec<AiSetting> {
    let mut out = Vec::new();
    for record in rows(parts, "metadata.settings") {
        let kind = text(record, "@type");
        let Some((_, fields)) = FIELDS.iter().find(|(k, _)| *k == kind) else {
            continue;
        };
        for field in *fields {
            if let Some(value) = flag(record, field) {
                out.push(setting(format!("{P}.{kind}.{field}"), json!(value), "tenant"));
            }
        }
    }
    if let Some(org) = rows(parts, "Organization").first() {
        for field in [
            "DefaultAccountAccess",
            "DefaultContactAccess",
            "DefaultOpportunityAccess",
            "DefaultLeadAccess",
            "DefaultCaseAccess",
        ] {
            if !text(org, field).is_empty() {
                out.push(setting(format!("{P}.org.{field}"), json!(text(org, field)), "tenant"));
            }
        }
    }
    if let Some(count) = rows(parts, "web_leads")
        .first()
        .and_then(|r| r.get("count"))
        .and_then(Value::as_u64)
    {
        out.push(setting(format!("{P}.web_leads"), json!(count), "tenant"));
    }
    if super::collected(parts, "agent_builders") {
        let builders: BTreeSet<&str> = rows(parts, "agent_builders")
            .iter()
            .map(|r| text(r, "AssigneeId"))
            .collect();
        out.push(setting(
            format!("{P}.agent_builders"),
            json!({"count": builders.len(), "users": builders}),
            "tenant",
        ));
    }
    if let Some(limits) = rows(parts, "limits").first() {
        out.push(setting(format!("{P}.api"), limits.clone(), "tenant"));
    }
    out
}
