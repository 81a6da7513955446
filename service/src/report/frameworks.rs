//! The frameworks rules map to, with the titles of their items, so a report can show which
//! items have open findings (and which have none).

use schemas::Frameworks;

pub struct Framework {
    pub id: &'static str,
    pub name: &'static str,
    /// The framework's items a report lists even without findings, with their titles.
    pub items: &'static [(&'static str, &'static str)],
    /// The finding's entries for this framework.
    pub of: fn(&Frameworks) -> &Vec<String>,
}

pub const FRAMEWORKS: &[Framework] = &[
    Framework {
        id: "owasp_llm_2025",
        name: "OWASP Top 10 for LLM Applications 2025",
        items: &[
            ("LLM01", "Prompt Injection"),
            ("LLM02", "Sensitive Information Disclosure"),
            ("LLM03", "Supply Chain"),
            ("LLM04", "Data and Model Poisoning"),
            ("LLM05", "Improper Output Handling"),
            ("LLM06", "Excessive Agency"),
            ("LLM07", "System Prompt Leakage"),
            ("LLM08", "Vector and Embedding Weaknesses"),
            ("LLM09", "Misinformation"),
            ("LLM10", "Unbounded Consumption"),
        ],
        of: |f| &f.owasp_llm_2025,
    },
    Framework {
        id: "owasp_agentic",
        name: "OWASP Top 10 for Agentic Applications (2026)",
        items: &[
            ("ASI01", "Agent Goal Hijack"),
            ("ASI02", "Tool Misuse and Exploitation"),
            ("ASI03", "Identity and Privilege Abuse"),
            ("ASI04", "Agentic Supply Chain Vulnerabilities"),
            ("ASI05", "Unexpected Code Execution"),
            ("ASI06", "Memory and Context Poisoning"),
            ("ASI07", "Insecure Inter-Agent Communication"),
            ("ASI08", "Cascading Failures"),
            ("ASI09", "Human-Agent Trust Exploitation"),
            ("ASI10", "Rogue Agents"),
        ],
        of: |f| &f.owasp_agentic,
    },
    Framework {
        id: "mitre_atlas",
        name: "MITRE ATLAS",
        items: &[
            ("AML.T0010", "AI Supply Chain Compromise"),
            ("AML.T0012", "Valid Accounts"),
            ("AML.T0051", "LLM Prompt Injection"),
            ("AML.T0051.000", "LLM Prompt Injection: Direct"),
            ("AML.T0051.001", "LLM Prompt Injection: Indirect"),
            ("AML.T0053", "AI Agent Tool Invocation"),
            ("AML.T0055", "Unsecured Credentials"),
            ("AML.T0057", "LLM Data Leakage"),
            ("AML.T0080", "AI Agent Context Poisoning"),
        ],
        of: |f| &f.mitre_atlas,
    },
    Framework {
        id: "nist_ai_rmf",
        name: "NIST AI Risk Management Framework 1.0",
        items: &[
            ("GOVERN 1.2", "Trustworthy AI characteristics are part of policies"),
            (
                "GOVERN 1.4",
                "Risk management is set by transparent policies and controls",
            ),
            ("GOVERN 6.1", "Policies address third-party AI risks"),
            ("MAP 4.1", "Legal and technology risks of components are mapped"),
            ("MEASURE 2.7", "Security and resilience are evaluated"),
            ("MANAGE 2.4", "AI systems can be superseded, disengaged or deactivated"),
            ("MANAGE 4.1", "Post-deployment monitoring is in place"),
        ],
        of: |f| &f.nist_ai_rmf,
    },
];
