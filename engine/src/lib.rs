//! Rule loading and evaluation, the access graph and exposure paths, finding reconciliation.
//!
//! The engine never imports a connector: it reads only the normalized model (`schemas`).
//! Vendor knowledge lives in the rule files under `rules/<vendor>/`.

pub mod drift;
pub mod evaluate;
pub mod graph;
pub mod reconcile;
pub mod rules;
pub mod view;

pub use evaluate::{evaluate, evaluate_with, fingerprint, Evaluation, Limits, Outcome, RuleResult};
pub use reconcile::reconcile;
pub use rules::{Rule, RuleError, RuleSet};
