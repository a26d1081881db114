//! The rules every storage adapter applies when a plan is created or changed, written once so that all adapters
//! agree: versions, timestamps, chart positions, the tickers of the text and the history entry each change records.

use jiff::Timestamp;

use crate::{Author, Chart, HistoryAction, NewChart, NewPlan, Plan, PlanChange, PlanId, RepoError, TickerRules};

/// A history entry before storage gives it an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHistoryEntry {
    /// What happened.
    pub action: HistoryAction,
    /// The plan's version after the change.
    pub version: u32,
    /// Text before.
    pub text_before: Option<String>,
    /// Text after.
    pub text_after: Option<String>,
    /// Who.
    pub actor: Author,
    /// When.
    pub at: Timestamp,
    /// The chat message that posted the plan with this change (creation or re-post).
    pub message_id: Option<u64>,
}

/// The result of applying a change: the plan as it must be stored, and the entry to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedChange {
    /// The plan after the change.
    pub plan: Plan,
    /// Whether the charts were replaced (so storage rewrites them).
    pub charts_replaced: bool,
    /// Whether the text was written (so storage rewrites the plan's tickers and its word index).
    pub text_written: bool,
    /// The history entry to record.
    pub entry: NewHistoryEntry,
}

/// Turns charts to store into stored charts, numbered from 0.
pub fn number_charts(charts: Vec<NewChart>, at: Timestamp) -> Vec<Chart> {
    charts
        .into_iter()
        .zip(0u32..)
        .map(|(c, position)| Chart {
            position,
            url: c.url,
            filename: c.filename,
            content_type: c.content_type,
            kind: c.kind,
            added_at: at,
        })
        .collect()
}

/// The plan a [`NewPlan`] becomes once storage has given it `id` (with the tickers `rules` find in its text), and its
/// `Created` entry (version 1).
pub fn create_plan(id: PlanId, new: NewPlan, at: Timestamp, rules: &TickerRules) -> (Plan, NewHistoryEntry) {
    let entry = NewHistoryEntry {
        action: HistoryAction::Created,
        version: 1,
        text_before: None,
        text_after: Some(new.text.as_str().to_owned()),
        actor: new.author.clone(),
        at,
        message_id: new.source.message_id,
    };
    let tickers = rules.extract(new.text.as_str());
    let plan = Plan {
        id,
        coach: new.coach,
        date: new.date,
        text: new.text.into(),
        author: new.author,
        source: new.source,
        charts: number_charts(new.charts, at),
        tickers,
        version: 1,
        created_at: at,
        updated_at: at,
        deleted_at: None,
    };
    (plan, entry)
}

/// What a change that writes the text (an edit, a re-post) is in the history: a change of charts when only the
/// charts changed, an edit otherwise.
fn rewritten(same_text: bool, charts_changed: bool) -> HistoryAction {
    if same_text && charts_changed { HistoryAction::ChartsChanged } else { HistoryAction::Edited }
}

/// Applies `change` to `current`; a new text gets the tickers `rules` find in it.
///
/// # Errors
/// [`RepoError::VersionConflict`] when `expected_version` differs from the stored one, [`RepoError::Deleted`] for an
/// edit or delete of a deleted plan, [`RepoError::NotDeleted`] for a restore of an active plan.
pub fn apply_change(
    current: &Plan,
    change: PlanChange,
    actor: &Author,
    at: Timestamp,
    expected_version: Option<u32>,
    rules: &TickerRules,
) -> Result<AppliedChange, RepoError> {
    if let Some(expected) = expected_version.filter(|v| *v != current.version) {
        return Err(RepoError::VersionConflict { id: current.id, expected, current: current.version });
    }
    let mut plan = current.clone();
    plan.version = current.version + 1;
    plan.updated_at = at;
    let before = Some(current.text.clone());
    let mut charts_replaced = false;
    let mut text_written = false;
    let mut message_id = None;
    let (action, text_after) = match change {
        PlanChange::Edit { .. } | PlanChange::ReplaceCharts(_) | PlanChange::Repost { .. } | PlanChange::Delete
            if current.is_deleted() =>
        {
            return Err(RepoError::Deleted(current.id));
        }
        PlanChange::Restore if !current.is_deleted() => return Err(RepoError::NotDeleted(current.id)),
        PlanChange::Edit { text, charts } => {
            if let Some(charts) = charts {
                plan.charts = number_charts(charts, at);
                charts_replaced = true;
            }
            plan.text = text.into();
            text_written = true;
            (rewritten(plan.text == current.text, charts_replaced), Some(plan.text.clone()))
        }
        PlanChange::ReplaceCharts(charts) => {
            plan.charts = number_charts(charts, at);
            charts_replaced = true;
            (HistoryAction::ChartsChanged, Some(plan.text.clone()))
        }
        PlanChange::Repost { text, charts, source } => {
            let same_charts = crate::same_charts(&current.charts, &charts);
            plan.charts = number_charts(charts, at);
            charts_replaced = true;
            message_id = source.message_id;
            plan.source = source;
            plan.text = text.into();
            text_written = true;
            (rewritten(plan.text == current.text, !same_charts), Some(plan.text.clone()))
        }
        PlanChange::Delete => {
            plan.deleted_at = Some(at);
            (HistoryAction::Deleted, None)
        }
        PlanChange::Restore => {
            plan.deleted_at = None;
            (HistoryAction::Restored, Some(plan.text.clone()))
        }
    };
    if text_written {
        plan.tickers = rules.extract(&plan.text);
    }
    let entry = NewHistoryEntry {
        action,
        version: plan.version,
        text_before: before,
        text_after,
        actor: actor.clone(),
        at,
        message_id,
    };
    Ok(AppliedChange { plan, charts_replaced, text_written, entry })
}
