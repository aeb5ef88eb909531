//! PLACEHOLDER until the real validator is integrated.
use serde::{Deserialize, Serialize};
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    Safe,
    Moderate,
    High,
    Critical,
}
impl std::fmt::Display for Risk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", format!("{self:?}").to_lowercase())
    }
}
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule_id: &'static str,
    pub risk: Risk,
    pub span: std::ops::Range<usize>,
    pub explanation: String,
}
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Assessment {
    pub risk: Risk,
    pub findings: Vec<Finding>,
}
#[derive(Debug, Clone, Default)]
pub struct Context {}
pub fn assess(command: &str, _ctx: &Context) -> Assessment {
    if command.contains("rm -rf /") {
        return Assessment {
            risk: Risk::Critical,
            findings: vec![Finding {
                rule_id: "x",
                risk: Risk::Critical,
                span: 0..command.len(),
                explanation: "deletes the root file system".into(),
            }],
        };
    }
    Assessment {
        risk: Risk::Safe,
        findings: vec![],
    }
}
pub fn assess_request(_r: &str, c: &str, ctx: &Context) -> Assessment {
    assess(c, ctx)
}
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SafetyLevel {
    Strict,
    #[default]
    Default,
    Permissive,
}
impl std::str::FromStr for SafetyLevel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "strict" => Ok(Self::Strict),
            "default" => Ok(Self::Default),
            "permissive" => Ok(Self::Permissive),
            _ => Err(s.into()),
        }
    }
}
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    Warn,
    Confirm,
    Block,
}
pub fn policy(risk: Risk, _l: SafetyLevel) -> Verdict {
    match risk {
        Risk::Safe => Verdict::Allow,
        Risk::Moderate => Verdict::Warn,
        Risk::High => Verdict::Confirm,
        Risk::Critical => Verdict::Block,
    }
}
pub fn check_json_line(command: &str, a: &Assessment) -> String {
    serde_json::json!({"command": command, "risk": a.risk}).to_string()
}
