//! The service's rules, over the in-memory store: authorization, every error, and the behaviours users rely on.

use std::sync::Arc;

use core_model::jiff::Timestamp;
use core_model::memory::MemoryStore;
use core_model::{
    Actor, Author, ChartKind, Clock, CoachId, HistoryAction, HistoryEntry, HistoryQuery, NewChart, NewPlan, Plan,
    PlanChange, PlanId, PlanRepository, PlanSource, RepoError, RoleId, StatusStore, StoreStats, TradingDate, UserId,
};
use service::{EditPlan, MessagePost, Operation, PlanService, Policy, PostPlan, Posted, ServiceError};

use core_model::testing::ManualClock as FixedClock;

struct Fixture {
    service: PlanService,
    store: Arc<MemoryStore>,
    clock: Arc<FixedClock>,
}

use core_model::testing::{NOW, TODAY};

fn policy() -> Policy {
    Policy { admin_users: vec![UserId(9)], admin_roles: vec![ADMIN_ROLE], ..Policy::default() }
}

fn fixture_with(policy: Policy) -> Fixture {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(FixedClock::starting_at(NOW));
    let service = PlanService::new(store.clone(), store.clone(), clock.clone(), policy);
    Fixture { service, store, clock }
}

fn fixture() -> Fixture {
    fixture_with(policy())
}

use core_model::testing::{ADMIN_ROLE, ANN, BOB, ann, bob};

fn admin() -> Actor {
    Actor::new(UserId(9), "Admin")
}
fn role_admin() -> Actor {
    Actor { roles: vec![RoleId(5), ADMIN_ROLE], ..core_model::testing::moderator() }
}
/// Same display name as Ann, different user: names never grant anything.
fn ann_impostor() -> Actor {
    Actor::new(UserId(3), "Ann")
}

fn coach(id: &str) -> CoachId {
    CoachId::new(id).unwrap()
}

fn date(d: &str) -> TradingDate {
    TradingDate::parse(d).unwrap()
}

fn charts(n: usize) -> Vec<NewChart> {
    (0..n)
        .map(|i| NewChart {
            url: format!("https://cdn.test/{i}.png"),
            filename: None,
            content_type: None,
            kind: ChartKind::Link,
        })
        .collect()
}

fn post_request(c: &str, text: &str) -> PostPlan {
    PostPlan {
        coach: coach(c),
        date: None,
        text: core_model::PlanText::new(text).unwrap(),
        charts: vec![],
        source: PlanSource { message_id: Some(500), ..PlanSource::default() },
    }
}

fn edit_request(c: &str, text: &str) -> EditPlan {
    EditPlan {
        coach: coach(c),
        date: None,
        text: core_model::PlanText::new(text).unwrap(),
        charts: service::EditCharts::Keep,
        expected_version: None,
    }
}

impl Fixture {
    async fn stored(&self, c: &str) -> Option<Plan> {
        self.service.plan(&coach(c), Some(date(TODAY))).await.unwrap()
    }

    async fn history(&self, c: &str) -> Vec<HistoryEntry> {
        self.service.history(&coach(c), None, 100).await.unwrap()
    }
}

#[tokio::test]
async fn post_stores_a_plan_for_today_in_the_market_time_zone() {
    let f = fixture();
    let posted = f.service.post(&ann(), post_request("d", "Long NVDA above 950")).await.unwrap();
    let Posted::Created(plan) = posted else { panic!("expected a new plan") };
    assert_eq!(plan.date, date(TODAY), "today is New York's date, not UTC's");
    assert_eq!(plan.author, Author { user_id: Some(ANN), display_name: "Ann".into() });
    assert_eq!(plan.source.message_id, Some(500));
    assert_eq!(f.stored("d").await.unwrap().text, "Long NVDA above 950");
}

#[tokio::test]
async fn a_message_delivered_again_posts_nothing_and_gets_the_plan_it_posted() {
    let f = fixture();
    let MessagePost::Posted(Posted::Created(first)) =
        f.service.post_message(&ann(), post_request("d", "v1")).await.unwrap()
    else {
        panic!("the first delivery posts")
    };
    // The same message again (message 500), even with another text, posts nothing.
    let again = f.service.post_message(&ann(), post_request("d", "v1 edited meanwhile")).await.unwrap();
    assert_eq!(again, MessagePost::Earlier(first.clone()));
    // Still the plan it posted once deleted: a replay does not bring a deleted plan back.
    f.service.sync_source_delete(500).await.unwrap().unwrap();
    let MessagePost::Earlier(deleted) = f.service.post_message(&ann(), post_request("d", "v1")).await.unwrap() else {
        panic!("a replay after the deletion posts nothing")
    };
    assert!(deleted.is_deleted());
    // Another message posts; `post` (the API's) never looks at earlier messages.
    let mut other = post_request("d", "v2");
    other.source.message_id = Some(501);
    assert!(matches!(f.service.post_message(&ann(), other).await.unwrap(), MessagePost::Posted(Posted::Created(_))));
    assert_eq!(f.stored("d").await.unwrap().text, "v2");
}

/// A re-post of the same text with other charts is recorded as a change of charts, as an edit of them is.
#[tokio::test]
async fn reposting_the_same_text_with_other_charts_is_a_change_of_charts() {
    let f = fixture();
    let mut first = post_request("d", "Long NVDA");
    first.charts = charts(2);
    f.service.post(&ann(), first).await.unwrap();
    let mut again = post_request("d", "Long NVDA");
    again.charts = charts(1);
    again.source.message_id = Some(501);
    f.service.post(&ann(), again).await.unwrap();
    let history = f.history("d").await;
    assert_eq!(history[0].action, HistoryAction::ChartsChanged);
    assert_eq!(f.stored("d").await.unwrap().charts.len(), 1);
}

#[tokio::test]
async fn reposting_ones_own_plan_replaces_text_charts_and_source_message() {
    let f = fixture();
    let mut first = post_request("d", "v1");
    first.charts = charts(2);
    f.service.post(&ann(), first).await.unwrap();
    let mut again = post_request("d", "v2");
    again.source = PlanSource { guild_id: Some(7), channel_id: Some(8), channel_name: None, message_id: Some(501) };
    let posted = f.service.post(&ann(), again).await.unwrap();
    let Posted::Replaced(plan) = posted else { panic!("expected a replacement") };
    assert_eq!((plan.text.as_str(), plan.version, plan.charts.len()), ("v2", 2, 0), "text and charts replaced");
    assert_eq!((plan.source.channel_id, plan.source.message_id), (Some(8), Some(501)), "the new message is the source");
    let history = f.history("d").await;
    assert_eq!(history.len(), 2, "one entry for the re-post");
    assert_eq!((history[0].action, history[0].message_id), (HistoryAction::Edited, Some(501)));
    assert_eq!((history[0].text_before.as_deref(), history[0].text_after.as_deref()), (Some("v1"), Some("v2")));

    // Both messages are known to have posted the plan (a replay of either is recognised) ...
    for message in [500, 501] {
        assert_eq!(f.service.plan_posted_by_message(message).await.unwrap().map(|p| p.id), Some(plan.id));
    }
    // ... but only the new one drives it: editing or deleting the first message changes nothing.
    let text = core_model::PlanText::new("v3 from the first message").unwrap();
    assert_eq!(f.service.sync_source_edit(&ann(), 500, text, vec![]).await.unwrap(), None);
    assert_eq!(f.service.sync_source_delete(500).await.unwrap(), None);
    assert_eq!(f.stored("d").await.unwrap(), plan);
    let text = core_model::PlanText::new("v3 from the re-post").unwrap();
    let edited = f.service.sync_source_edit(&ann(), 501, text, vec![]).await.unwrap().unwrap();
    assert_eq!((edited.text.as_str(), edited.version), ("v3 from the re-post", 3));
    assert!(f.service.sync_source_delete(501).await.unwrap().unwrap().is_deleted());
    assert_eq!(f.stored("d").await, None);
}

#[tokio::test]
async fn a_deleted_plan_can_be_posted_again_by_anyone() {
    let f = fixture();
    f.service.post(&ann(), post_request("d", "ann's")).await.unwrap();
    f.service.delete(&ann(), &coach("d"), None).await.unwrap();
    let posted = f.service.post(&bob(), post_request("d", "bob's")).await.unwrap();
    assert!(matches!(posted, Posted::Created(_)));
    assert_eq!(f.stored("d").await.unwrap().author.display_name, "Bob");
}

// ---------------------------------------------------------------- authorization matrix

#[derive(Debug, Clone, Copy)]
enum Op {
    PostOver,
    Edit,
    Delete,
    Restore,
    /// The Discord message that posted the plan is edited; the event names `actor` as its author.
    SourceEdit,
    /// The Discord message that posted the plan is deleted (Discord does not say by whom).
    SourceDelete,
}

const OPS: [Op; 6] = [Op::PostOver, Op::Edit, Op::Delete, Op::Restore, Op::SourceEdit, Op::SourceDelete];

#[derive(Debug, PartialEq)]
enum Outcome {
    Allowed,
    Forbidden,
    AlreadyPosted,
    /// Nothing changes and nobody is told (an edit event that does not come from the plan's author).
    Ignored,
}

const ANN_PLAN_MESSAGE: u64 = 500;
const POST_OVER_MESSAGE: u64 = 501;

/// Ann posts a plan (and deletes it, for a restore); then `actor` tries `op` on it. Returns what happened, with the
/// error's message when it was refused, and Ann's plan afterwards.
async fn attempt(actor: &Actor, op: Op) -> (Outcome, Option<String>, Plan) {
    let f = fixture();
    f.service.post(&ann(), post_request("d", "ann's plan")).await.unwrap();
    if matches!(op, Op::Restore) {
        f.service.delete(&ann(), &coach("d"), None).await.unwrap();
    }
    let before = f.store.get(PlanId(1)).unwrap().unwrap();
    let result = match op {
        Op::PostOver => {
            let mut request = post_request("d", "changed");
            request.source.message_id = Some(POST_OVER_MESSAGE);
            f.service.post(actor, request).await.map(|p| Some(p.plan().clone()))
        }
        Op::Edit => f.service.edit(actor, edit_request("d", "changed")).await.map(Some),
        Op::Delete => f.service.delete(actor, &coach("d"), None).await.map(Some),
        Op::Restore => f.service.restore(actor, &coach("d"), None).await.map(Some),
        Op::SourceEdit => {
            let text = core_model::PlanText::new("changed").unwrap();
            f.service.sync_source_edit(actor, ANN_PLAN_MESSAGE, text, charts(1)).await
        }
        Op::SourceDelete => f.service.sync_source_delete(ANN_PLAN_MESSAGE).await,
    };
    let after = f.store.get(PlanId(1)).unwrap().unwrap();
    assert_eq!(f.store.stats().unwrap().active_plans + f.store.stats().unwrap().deleted_plans, 1, "never a 2nd plan");
    let (outcome, message) = match result {
        Ok(Some(plan)) => {
            assert_eq!(plan.id, before.id, "{op:?} changed Ann's plan, not another");
            assert_eq!(after.version, before.version + 1, "{op:?} by {} changed the plan", actor.display_name);
            (Outcome::Allowed, None)
        }
        Ok(None) => {
            assert_eq!(after, before, "an ignored {op:?} changes nothing");
            (Outcome::Ignored, None)
        }
        Err(err) => {
            assert_eq!(after, before, "a refused {op:?} changes nothing");
            assert!(err.is_user_error());
            let message = err.to_string();
            let outcome = match err {
                ServiceError::Forbidden { operation, author, .. } => {
                    assert_eq!(author, "Ann", "the error names the author");
                    let expected = match op {
                        Op::Edit => Operation::Edit,
                        Op::Delete => Operation::Delete,
                        Op::Restore => Operation::Restore,
                        other => panic!("{other:?} is never refused as Forbidden"),
                    };
                    assert_eq!(operation, expected);
                    Outcome::Forbidden
                }
                ServiceError::AlreadyPosted { author, .. } => {
                    assert_eq!(author, "Ann", "the error names the author");
                    Outcome::AlreadyPosted
                }
                other => panic!("unexpected error for {op:?}: {other:?}"),
            };
            (outcome, Some(message))
        }
    };
    (outcome, message, after)
}

/// What a refused post-over tells the one who tried.
const ASK_THE_AUTHOR: &str =
    "coach d already has a plan for 2025-11-09, posted by Ann; ask them or an admin to edit it";
const ADMIN_EDITS_INSTEAD: &str =
    "coach d already has a plan for 2025-11-09, posted by Ann; as an admin, edit it instead";

#[tokio::test]
async fn authorization_matrix() {
    use Outcome::{Allowed, AlreadyPosted, Forbidden, Ignored};
    // Who × [post over Ann's plan, edit, delete, restore, edit of the plan's message, deletion of the plan's
    // message]. Posting over someone else's plan is refused for everyone, admins included (they edit instead);
    // editing, deleting and restoring are for the author and admins; only the author's own edit of the message
    // changes the plan (an edit event naming anyone else is ignored, admins included: Discord lets no one edit
    // another user's message). A deleted message deletes its plan whoever deleted it: Discord does not say who, and
    // only the author or a moderator with Manage Messages can delete it; the author can restore the plan.
    let table: [(&str, Actor, [Outcome; 6], Option<&str>); 5] = [
        ("author", ann(), [Allowed, Allowed, Allowed, Allowed, Allowed, Allowed], None),
        ("other user", bob(), [AlreadyPosted, Forbidden, Forbidden, Forbidden, Ignored, Allowed], Some(ASK_THE_AUTHOR)),
        (
            "other user with the author's name",
            ann_impostor(),
            [AlreadyPosted, Forbidden, Forbidden, Forbidden, Ignored, Allowed],
            Some(ASK_THE_AUTHOR),
        ),
        (
            "admin by user id",
            admin(),
            [AlreadyPosted, Allowed, Allowed, Allowed, Ignored, Allowed],
            Some(ADMIN_EDITS_INSTEAD),
        ),
        (
            "admin by role",
            role_admin(),
            [AlreadyPosted, Allowed, Allowed, Allowed, Ignored, Allowed],
            Some(ADMIN_EDITS_INSTEAD),
        ),
    ];
    for (who, actor, expected, post_over_refusal) in table {
        for (op, want) in OPS.into_iter().zip(expected) {
            let (got, message, after) = attempt(&actor, op).await;
            assert_eq!(got, want, "{who} × {op:?}");
            if got == Allowed {
                assert_eq!(after.author.user_id, Some(ANN), "the author stays Ann whoever changes the plan");
            }
            match op {
                Op::PostOver => {
                    assert_eq!(message.as_deref(), post_over_refusal, "{who} × {op:?}");
                    let source = if got == Allowed { POST_OVER_MESSAGE } else { ANN_PLAN_MESSAGE };
                    assert_eq!(after.source.message_id, Some(source), "{who} × {op:?}");
                }
                Op::SourceEdit if got == Allowed => {
                    assert_eq!((after.text.as_str(), after.charts.len()), ("changed", 1), "{who} × {op:?}");
                }
                Op::SourceDelete => assert!(after.is_deleted(), "{who} × {op:?}"),
                _ => {}
            }
        }
    }
}

/// A deleted message's plan is deleted in the name of no one, and only its author or an admin brings it back.
#[tokio::test]
async fn a_plan_deleted_with_its_message_is_restored_only_by_its_author_or_an_admin() {
    for (who, actor, restores) in [
        ("author", ann(), true),
        ("other user", bob(), false),
        ("impostor", ann_impostor(), false),
        ("admin", admin(), true),
    ] {
        let f = fixture();
        f.service.post(&ann(), post_request("d", "ann's plan")).await.unwrap();
        f.service.sync_source_delete(ANN_PLAN_MESSAGE).await.unwrap().unwrap();
        let history = f.history("d").await;
        assert_eq!(history[0].actor, Author { user_id: None, display_name: service::SOURCE_DELETED_ACTOR.into() });
        let result = f.service.restore(&actor, &coach("d"), None).await;
        assert_eq!(result.is_ok(), restores, "{who}: {result:?}");
        assert_eq!(f.stored("d").await.is_some(), restores, "{who}");
    }
}

/// Each writer restores their own deleted plan, even when another's, posted after it, was deleted too; an admin
/// restores the newest.
#[tokio::test]
async fn a_restore_brings_back_the_callers_own_plan_when_a_newer_deleted_one_is_anothers() {
    let f = fixture();
    f.service.post(&ann(), post_request("d", "ann's plan")).await.unwrap();
    f.service.delete(&ann(), &coach("d"), None).await.unwrap();
    f.service.post(&bob(), post_request("d", "bob's plan")).await.unwrap();
    f.service.delete(&bob(), &coach("d"), None).await.unwrap();
    let restored = f.service.restore(&ann(), &coach("d"), None).await.unwrap();
    assert_eq!(restored.text, "ann's plan");
    f.service.delete(&ann(), &coach("d"), None).await.unwrap();
    let stranger = f.service.restore(&ann_impostor(), &coach("d"), None).await.unwrap_err();
    assert!(stranger.to_string().contains("may restore"), "{stranger}");
    let restored = f.service.restore(&admin(), &coach("d"), None).await.unwrap();
    assert_eq!(restored.text, "bob's plan", "an admin restores the newest plan deleted");
}

#[tokio::test]
async fn forbidden_message_names_the_author_and_what_to_do() {
    let f = fixture();
    f.service.post(&ann(), post_request("d", "ann's plan")).await.unwrap();
    let err = f.service.edit(&bob(), edit_request("d", "mine now")).await.unwrap_err();
    assert_eq!(err.to_string(), "only Ann (who posted it) or an admin may edit the plan of coach d for 2025-11-09");
    let err = f.service.post(&bob(), post_request("d", "mine now")).await.unwrap_err();
    assert_eq!(err.to_string(), ASK_THE_AUTHOR);
    // An admin is told to edit it instead (a chat face adds its command); a restore beside it says what must
    // happen first.
    let err = f.service.post(&admin(), post_request("d", "admin's")).await.unwrap_err();
    assert!(matches!(err, ServiceError::AlreadyPosted { admin: true, restoring: false, .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "coach d already has a plan for 2025-11-09, posted by Ann; as an admin, edit it instead"
    );
    let ivan_day = PostPlan { date: Some(date("2025-11-08")), ..post_request("s", "ann's") };
    f.service.post(&ann(), ivan_day.clone()).await.unwrap();
    f.service.delete(&ann(), &coach("s"), Some(date("2025-11-08"))).await.unwrap();
    f.service.post(&bob(), ivan_day).await.unwrap();
    let err = f.service.restore(&ann(), &coach("s"), Some(date("2025-11-08"))).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "coach s already has a plan for 2025-11-08, posted by Bob; the deleted plan can come back once that one is \
         deleted (by its author or an admin)"
    );
}

// ---------------------------------------------------------------- every error

#[tokio::test]
async fn unknown_coach_is_refused_everywhere_with_the_valid_list() {
    let f = fixture();
    let x = coach("x");
    let expected = "unknown coach `x`; valid coaches are: d, i, s, n";
    let errors = [
        f.service.post(&ann(), PostPlan { coach: x.clone(), ..post_request("d", "t") }).await.unwrap_err(),
        f.service.edit(&ann(), EditPlan { coach: x.clone(), ..edit_request("d", "t") }).await.unwrap_err(),
        f.service.delete(&ann(), &x, None).await.unwrap_err(),
        f.service.restore(&ann(), &x, None).await.unwrap_err(),
        f.service.plan(&x, None).await.unwrap_err(),
        f.service.history(&x, None, 10).await.unwrap_err(),
        f.service.parse_coach("x").unwrap_err(),
    ];
    for err in errors {
        assert!(matches!(err, ServiceError::UnknownCoach(_)), "{err:?}");
        assert_eq!(err.to_string(), expected);
    }
    // `coach_d` is a well-formed id, but not the roster's id: the service does not guess.
    let err = f.service.plan(&coach("coach_d"), None).await.unwrap_err();
    assert!(matches!(err, ServiceError::UnknownCoach(_)));
    assert_eq!(f.service.parse_coach("coach_d").unwrap(), coach("d"));
    assert_eq!(f.store.stats().unwrap(), StoreStats::default(), "nothing was stored");
}

#[tokio::test]
async fn bad_dates_and_texts_are_refused_with_a_fix() {
    let f = fixture();
    let err = f.service.parse_date(Some("2025-13-01")).unwrap_err();
    assert!(matches!(err, ServiceError::InvalidDate(_)));
    assert_eq!(err.to_string(), "`2025-13-01` is not a date; write it as YYYY-MM-DD, e.g. 2025-11-09");
    assert_eq!(f.service.parse_date(None).unwrap(), date(TODAY));
    assert_eq!(f.service.parse_date(Some(" ")).unwrap(), date(TODAY));
    assert_eq!(f.service.parse_date(Some("2024-02-29")).unwrap(), date("2024-02-29"));
    let err = f.service.parse_text("   ").unwrap_err();
    assert!(matches!(err, ServiceError::InvalidText(_)));
    assert!(err.to_string().contains("empty"), "{err}");
    let err = f.service.parse_text(&"x".repeat(4001)).unwrap_err();
    assert_eq!(err.to_string(), "the plan text has 4001 characters; the limit is 4000, so shorten it or split it");
}

#[tokio::test]
async fn too_many_charts_stores_nothing() {
    let f = fixture_with(Policy { max_charts: 3, ..policy() });
    let mut request = post_request("d", "t");
    request.charts = charts(4);
    let err = f.service.post(&ann(), request.clone()).await.unwrap_err();
    assert!(matches!(err, ServiceError::TooManyCharts { given: 4, max: 3 }));
    assert_eq!(err.to_string(), "a plan can have at most 3 charts and this one has 4; remove 1 and post again");
    assert_eq!(f.store.stats().unwrap(), StoreStats::default());
    request.charts = charts(3);
    f.service.post(&ann(), request).await.unwrap();
    let err = f
        .service
        .edit(&ann(), EditPlan { charts: service::EditCharts::Replace(charts(5)), ..edit_request("d", "more") })
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::TooManyCharts { given: 5, max: 3 }));
    assert_eq!(f.stored("d").await.unwrap().charts.len(), 3);
}

#[tokio::test]
async fn missing_plans_are_not_found() {
    let f = fixture();
    let err = f.service.edit(&ann(), edit_request("d", "x")).await.unwrap_err();
    assert!(matches!(err, ServiceError::NotFound { .. }));
    assert_eq!(err.to_string(), "there is no plan for coach d on 2025-11-09");
    let err = f.service.delete(&ann(), &coach("d"), Some(date("2025-11-01"))).await.unwrap_err();
    assert_eq!(err.to_string(), "there is no plan for coach d on 2025-11-01");
    let err = f.service.restore(&ann(), &coach("d"), None).await.unwrap_err();
    assert!(matches!(err, ServiceError::NothingToRestore { .. }));
    assert_eq!(err.to_string(), "there is no deleted plan for coach d on 2025-11-09 to restore");
    // Deleting twice: the second finds nothing.
    f.service.post(&ann(), post_request("d", "x")).await.unwrap();
    f.service.delete(&ann(), &coach("d"), None).await.unwrap();
    assert!(matches!(f.service.delete(&ann(), &coach("d"), None).await, Err(ServiceError::NotFound { .. })));
    assert_eq!(f.service.plan(&coach("d"), None).await.unwrap(), None);
}

#[tokio::test]
async fn restore_refuses_when_another_plan_took_the_slot() {
    let f = fixture();
    f.service.post(&ann(), post_request("d", "ann's")).await.unwrap();
    f.service.delete(&ann(), &coach("d"), None).await.unwrap();
    f.service.post(&bob(), post_request("d", "bob's")).await.unwrap();
    let err = f.service.restore(&ann(), &coach("d"), None).await.unwrap_err();
    assert!(matches!(&err, ServiceError::AlreadyPosted { author, .. } if author == "Bob"), "{err:?}");
    let err = f.service.restore(&admin(), &coach("d"), None).await.unwrap_err();
    assert!(
        err.to_string().ends_with(
            "posted by Bob; the deleted plan can come back once that one is deleted (by its author or an admin)"
        ),
        "{err}"
    );
    assert_eq!(f.stored("d").await.unwrap().text, "bob's");
}

#[tokio::test]
async fn coach_posters_bind_a_coach_to_its_users() {
    let mut policy = policy();
    policy.posters.insert(coach("s"), vec![ANN]);
    let f = fixture_with(policy);
    let err = f.service.post(&bob(), post_request("s", "swing")).await.unwrap_err();
    assert!(matches!(err, ServiceError::NotAPoster { .. }));
    assert_eq!(err.to_string(), "you are not one of the users allowed to post as coach s; ask an admin to add you");
    assert_eq!(f.stored("s").await, None);
    f.service.post(&bob(), post_request("d", "open coach")).await.unwrap();
    f.service.post(&ann(), post_request("s", "ann is a poster")).await.unwrap();
    f.service.delete(&ann(), &coach("s"), None).await.unwrap();
    f.service.post(&admin(), post_request("s", "admins may post too")).await.unwrap();
}

#[tokio::test]
async fn an_edit_against_a_stale_version_is_a_conflict() {
    let f = fixture();
    f.service.post(&ann(), post_request("d", "v1")).await.unwrap();
    f.service.edit(&ann(), edit_request("d", "v2")).await.unwrap();
    let stale = EditPlan { expected_version: Some(1), ..edit_request("d", "v3 from an old read") };
    let err = f.service.edit(&ann(), stale).await.unwrap_err();
    assert!(matches!(err, ServiceError::Conflict { current: 2 }), "{err:?}");
    assert!(err.to_string().contains("read it again"));
    assert_eq!(f.stored("d").await.unwrap().text, "v2");
    let fresh = EditPlan { expected_version: Some(2), ..edit_request("d", "v3") };
    assert_eq!(f.service.edit(&ann(), fresh).await.unwrap().version, 3);
}

/// Makes the error a failing store returns.
type MakeError = fn() -> RepoError;

/// A store whose every call fails with the error made by its function.
struct FailingStore(MakeError);

impl PlanRepository for FailingStore {
    fn insert(&self, _: NewPlan, _: Timestamp) -> Result<Plan, RepoError> {
        Err((self.0)())
    }
    fn change(&self, _: PlanId, _: PlanChange, _: &Author, _: Timestamp, _: Option<u32>) -> Result<Plan, RepoError> {
        Err((self.0)())
    }
    fn get(&self, _: PlanId) -> Result<Option<Plan>, RepoError> {
        Err((self.0)())
    }
    fn find_active(&self, _: &CoachId, _: TradingDate) -> Result<Option<Plan>, RepoError> {
        Err((self.0)())
    }
    fn find_latest_deleted(&self, _: &CoachId, _: TradingDate) -> Result<Option<Plan>, RepoError> {
        Err((self.0)())
    }
    fn find_by_source_message(&self, _: u64) -> Result<Option<Plan>, RepoError> {
        Err((self.0)())
    }
    fn find_by_posting_message(&self, _: u64) -> Result<Option<Plan>, RepoError> {
        Err((self.0)())
    }
    fn list_active_by_date(&self, _: TradingDate) -> Result<Vec<Plan>, RepoError> {
        Err((self.0)())
    }
    fn list_active_by_author(&self, _: UserId, _: Option<TradingDate>) -> Result<Vec<Plan>, RepoError> {
        Err((self.0)())
    }
    fn history(&self, _: &HistoryQuery) -> Result<Vec<HistoryEntry>, RepoError> {
        Err((self.0)())
    }
    fn stats(&self) -> Result<StoreStats, RepoError> {
        Err((self.0)())
    }
    fn ping(&self) -> Result<(), RepoError> {
        Err((self.0)())
    }
    fn change_count(&self) -> Result<u64, RepoError> {
        Err((self.0)())
    }
}

impl core_model::PlanSearch for FailingStore {
    fn search(&self, _: &core_model::SearchQuery) -> Result<core_model::SearchPage, RepoError> {
        Err((self.0)())
    }
    fn ticker_mentions(&self, _: &core_model::MentionQuery) -> Result<Vec<core_model::TickerMention>, RepoError> {
        Err((self.0)())
    }
}

impl StatusStore for FailingStore {
    fn put_status(&self, _: &str, _: &str, _: Timestamp) -> Result<(), RepoError> {
        Err((self.0)())
    }
    fn status(&self, _: &str) -> Result<Option<core_model::StatusRecord>, RepoError> {
        Err((self.0)())
    }
}

fn failing_service(fail: MakeError) -> PlanService {
    let store = Arc::new(FailingStore(fail));
    let clock = Arc::new(FixedClock::starting_at(NOW));
    PlanService::new(store.clone(), store, clock, policy())
}

#[tokio::test]
async fn storage_failures_become_busy_unwritable_or_unexpected() {
    let cases: [(MakeError, &str); 3] = [
        (
            || RepoError::Busy("database is locked".into()),
            "storage is busy with other requests; try again in a few seconds",
        ),
        (
            || RepoError::Unwritable("database or disk is full".into()),
            "nothing was saved because the server's storage is full or read-only; plans can still be read; tell the \
             operator (the cause is in the server's log) and try again once it is fixed",
        ),
        (|| RepoError::Failure("disk I/O error".into()), "an unexpected error happened; it has been logged"),
    ];
    for (fail, message) in cases {
        let service = failing_service(fail);
        let errors = [
            service.post(&ann(), post_request("d", "t")).await.unwrap_err(),
            service.edit(&ann(), edit_request("d", "t")).await.unwrap_err(),
            service.delete(&ann(), &coach("d"), None).await.unwrap_err(),
            service.restore(&ann(), &coach("d"), None).await.unwrap_err(),
            service.plan(&coach("d"), None).await.unwrap_err(),
            service.plans_for_date(None).await.unwrap_err(),
            service.plans_by_author(ANN, None).await.unwrap_err(),
            service.history(&coach("d"), None, 5).await.unwrap_err(),
            service.stats().await.unwrap_err(),
            service.ping().await.unwrap_err(),
            service.record_status("k", "v").await.unwrap_err(),
            service.status("k").await.unwrap_err(),
            service.sync_source_delete(1).await.unwrap_err(),
            service.plan_posted_by_message(1).await.unwrap_err(),
        ];
        for err in errors {
            assert_eq!(err.to_string(), message);
            assert!(!err.is_user_error());
            assert!(std::error::Error::source(&err).is_some(), "the storage error is kept as the source");
        }
    }
}

// ---------------------------------------------------------------- reads and message sync

#[tokio::test]
async fn plans_of_a_date_come_in_roster_order() {
    let f = fixture();
    for c in ["n", "s", "i", "d"] {
        f.service.post(&ann(), post_request(c, &format!("plan {c}"))).await.unwrap();
    }
    let order: Vec<_> =
        f.service.plans_for_date(None).await.unwrap().into_iter().map(|p| p.coach.to_string()).collect();
    assert_eq!(order, ["d", "i", "s", "n"]);
    let mine = f.service.plans_by_author(ANN, Some(date(TODAY))).await.unwrap();
    assert_eq!(mine.len(), 4);
    assert!(f.service.plans_by_author(BOB, None).await.unwrap().is_empty());
}

#[tokio::test]
async fn history_without_a_date_covers_every_date() {
    let f = fixture();
    f.service.post(&ann(), post_request("d", "today")).await.unwrap();
    let yesterday = PostPlan { date: Some(date("2025-11-08")), ..post_request("d", "yesterday") };
    f.service.post(&ann(), yesterday).await.unwrap();
    f.clock.advance(60);
    f.service.edit(&ann(), edit_request("d", "today, edited")).await.unwrap();
    let all = f.history("d").await;
    assert_eq!(all.len(), 3, "the predecessor returned nothing here");
    assert_eq!(all[0].text_after.as_deref(), Some("today, edited"));
    let one_day = f.service.history(&coach("d"), Some(date("2025-11-08")), 100).await.unwrap();
    assert_eq!(one_day.len(), 1);
    assert_eq!(f.service.history(&coach("d"), None, 0).await.unwrap().len(), 1, "limit is at least 1");
}

#[tokio::test]
async fn editing_the_source_message_updates_the_plan() {
    let f = fixture();
    f.service.post(&ann(), post_request("d", "v1")).await.unwrap();
    let text = core_model::PlanText::new("v2 from the message").unwrap();
    assert_eq!(
        f.service.sync_source_edit(&bob(), 500, text.clone(), vec![]).await.unwrap(),
        None,
        "only the author's edit counts"
    );
    let updated = f.service.sync_source_edit(&ann(), 500, text.clone(), charts(1)).await.unwrap().unwrap();
    assert_eq!((updated.text.as_str(), updated.charts.len(), updated.version), ("v2 from the message", 1, 2));
    assert_eq!(
        f.service.sync_source_edit(&ann(), 500, text, charts(1)).await.unwrap(),
        None,
        "no change, no new version"
    );
    assert_eq!(
        f.service.sync_source_edit(&ann(), 999, core_model::PlanText::new("x").unwrap(), vec![]).await.unwrap(),
        None
    );
    let err =
        f.service.sync_source_edit(&ann(), 500, core_model::PlanText::new("x").unwrap(), charts(11)).await.unwrap_err();
    assert!(matches!(err, ServiceError::TooManyCharts { .. }));
}

#[tokio::test]
async fn deleting_the_source_message_soft_deletes_the_plan() {
    let f = fixture();
    f.service.post(&ann(), post_request("d", "v1")).await.unwrap();
    let deleted = f.service.sync_source_delete(500).await.unwrap().unwrap();
    assert!(deleted.is_deleted());
    assert_eq!(f.stored("d").await, None);
    assert_eq!(f.service.sync_source_delete(500).await.unwrap(), None, "already deleted");
    assert_eq!(f.history("d").await[0].actor.display_name, service::SOURCE_DELETED_ACTOR);
    // The author can bring it back.
    f.service.restore(&ann(), &coach("d"), None).await.unwrap();
    assert_eq!(f.stored("d").await.unwrap().text, "v1");
}

#[tokio::test]
async fn status_values_round_trip_with_the_clock() {
    let f = fixture();
    f.service.record_status("bot.connection", "connected").await.unwrap();
    let record = f.service.status("bot.connection").await.unwrap().unwrap();
    assert_eq!(record.value, "connected");
    assert_eq!(record.updated_at, f.clock.now());
    assert_eq!(f.service.status("nothing").await.unwrap(), None);
    f.service.ping().await.unwrap();
    assert_eq!(f.service.stats().await.unwrap().active_plans, 0);
}

#[tokio::test]
async fn bot_health_follows_the_heartbeat() {
    use service::BotState;
    let f = fixture();
    let stale_after = std::time::Duration::from_secs(90);
    let health = f.service.bot_health(stale_after).await.unwrap();
    assert_eq!((health.state, health.last_seen), (BotState::Unknown, None), "never recorded");
    f.service.record_bot_state(BotState::Connected).await.unwrap();
    f.clock.advance(30);
    let health = f.service.bot_health(stale_after).await.unwrap();
    assert_eq!((health.state, health.age_seconds, health.stale), (BotState::Connected, Some(30), false));
    f.clock.advance(61);
    let health = f.service.bot_health(stale_after).await.unwrap();
    assert_eq!((health.state, health.stale), (BotState::Disconnected, true), "no heartbeat for 91 s");
    f.service.record_bot_state(BotState::Connected).await.unwrap();
    assert_eq!(f.service.bot_health(stale_after).await.unwrap().state, BotState::Connected, "a heartbeat revives it");
    f.service.record_bot_state(BotState::Disconnected).await.unwrap();
    let health = f.service.bot_health(stale_after).await.unwrap();
    assert_eq!((health.state, health.stale), (BotState::Disconnected, false));
}

// Searching.

/// Posts `text` for coach `c` on `d` (a date string) as `who`.
async fn post_on(f: &Fixture, who: &Actor, c: &str, d: &str, text: &str) {
    let request = PostPlan { date: Some(date(d)), ..post_request(c, text) };
    f.service.post(who, request).await.unwrap();
}

fn search_texts(results: &service::SearchResults) -> Vec<String> {
    results.plans.iter().map(|p| format!("{} {} {}", p.date, p.coach, p.text)).collect()
}

#[tokio::test]
async fn a_search_without_dates_covers_the_30_days_ending_today_in_roster_order() {
    let f = fixture();
    post_on(&f, &ann(), "n", TODAY, "NVDA news").await;
    post_on(&f, &ann(), "s", TODAY, "NVDA swing").await;
    post_on(&f, &bob(), "d", "2025-10-11", "NVDA day 30").await;
    post_on(&f, &bob(), "d", "2025-10-10", "NVDA day 31").await;
    let nvda =
        || service::SearchRequest { tickers: vec![core_model::Ticker::parse("nvda").unwrap()], ..Default::default() };
    let results = f.service.search(nvda()).await.unwrap();
    assert_eq!((results.from, results.to), (date("2025-10-11"), date(TODAY)), "30 days, today included");
    assert_eq!(
        search_texts(&results),
        ["2025-11-09 s NVDA swing", "2025-11-09 n NVDA news", "2025-10-11 d NVDA day 30"],
        "newest date first, then roster order (s before n), nothing from 31 days ago"
    );
    assert_eq!(results.next_cursor, None);

    let first = f.service.search(service::SearchRequest { limit: Some(2), ..nvda() }).await.unwrap();
    assert_eq!(first.plans.len(), 2);
    let cursor = first.next_cursor.clone().expect("a next page");
    let second = f.service.search(service::SearchRequest { limit: Some(2), cursor: Some(cursor), ..nvda() }).await;
    assert_eq!(search_texts(&second.unwrap()), ["2025-10-11 d NVDA day 30"]);

    let by_bob = service::SearchRequest { author: Some(BOB), from: Some(date("2025-01-01")), ..nvda() };
    assert_eq!(f.service.search(by_bob).await.unwrap().plans.len(), 2);
    let one_day = service::SearchRequest { date: Some(date("2025-10-10")), ..Default::default() };
    assert_eq!(search_texts(&f.service.search(one_day).await.unwrap()), ["2025-10-10 d NVDA day 31"]);
}

#[tokio::test]
async fn bad_searches_say_what_to_change() {
    let f = fixture();
    let search = |request: service::SearchRequest| {
        let service = f.service.clone();
        async move { service.search(request).await.unwrap_err().to_string() }
    };
    let d = |s: &str| Some(date(s));
    let cases = [
        (
            service::SearchRequest { date: d("2025-11-01"), from: d("2025-10-01"), ..Default::default() },
            "give either `date` (one day) or `from` and `to` (a range), not both",
        ),
        (
            service::SearchRequest { from: d("2025-11-02"), to: d("2025-11-01"), ..Default::default() },
            "`from` (2025-11-02) is after `to` (2025-11-01); give the earlier date as `from`",
        ),
        (
            service::SearchRequest { from: d("2024-01-01"), to: d("2025-01-01"), ..Default::default() },
            "the range from 2024-01-01 to 2025-01-01 covers 367 days; search at most 366 days at a time",
        ),
        (
            service::SearchRequest { from: d("2020-01-01"), ..Default::default() },
            "the range from 2020-01-01 to 2025-11-09 covers 2140 days; search at most 366 days at a time",
        ),
        (service::SearchRequest { limit: Some(0), ..Default::default() }, "`limit` must be from 1 to 200, not 0"),
        (service::SearchRequest { limit: Some(201), ..Default::default() }, "`limit` must be from 1 to 200, not 201"),
        (
            service::SearchRequest { cursor: Some("page-2".into()), ..Default::default() },
            "`page-2` is not a cursor this server gave; repeat the search without `cursor` to start again",
        ),
        (
            service::SearchRequest { coaches: vec![coach("x")], ..Default::default() },
            "unknown coach `x`; valid coaches are: d, i, s, n",
        ),
    ];
    for (request, message) in cases {
        assert_eq!(search(request.clone()).await, message, "{request:?}");
    }
    let leap = service::SearchRequest { from: d("2024-01-01"), to: d("2024-12-31"), ..Default::default() };
    assert!(f.service.search(leap).await.is_ok(), "366 days is allowed");
    assert!(f.service.last_days(0).is_err() && f.service.last_days(367).is_err());
    assert_eq!(f.service.last_days(7).unwrap(), (date("2025-11-03"), date(TODAY)));
}

#[tokio::test]
async fn ticker_mentions_list_coaches_in_roster_order() {
    let f = fixture();
    post_on(&f, &ann(), "n", TODAY, "NVDA news, TSLA").await;
    post_on(&f, &ann(), "s", TODAY, "NVDA swing").await;
    post_on(&f, &ann(), "d", "2025-11-01", "NVDA day").await;
    let mentions = f.service.ticker_mentions(None, None, Vec::new()).await.unwrap();
    assert_eq!((mentions.from, mentions.to), (date("2025-10-11"), date(TODAY)));
    let shown: Vec<String> = mentions
        .tickers
        .iter()
        .map(|m| {
            let coaches: Vec<&str> = m.coaches.iter().map(CoachId::as_str).collect();
            format!("{} {} {} {}", m.ticker, m.plans, coaches.join(","), m.last_date)
        })
        .collect();
    assert_eq!(shown, ["NVDA 3 d,s,n 2025-11-09", "TSLA 1 n 2025-11-09"]);
    let only_news = f.service.ticker_mentions(None, None, vec![coach("n")]).await.unwrap();
    assert_eq!(only_news.tickers.len(), 2);
    assert!(f.service.ticker_mentions(None, None, vec![coach("zz")]).await.is_err());
}

#[tokio::test]
async fn a_date_far_ahead_or_before_2000_is_refused_as_a_mistyped_year() {
    let f = fixture();
    let on = |d: &str| PostPlan { date: Some(date(d)), ..post_request("d", "plan") };
    // Today is 2025-11-09: 31 days ahead is 2025-12-10.
    f.service.post(&ann(), on("2025-12-10")).await.unwrap();
    f.service.post(&ann(), on("2000-01-01")).await.unwrap();
    for far in ["2025-12-11", "2052-11-09", "9999-12-31", "1999-12-31"] {
        let err = f.service.post(&ann(), on(far)).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("a plan's date is from 2000-01-01 to 2025-12-10 (31 days ahead); {far} is not: check its year")
        );
        assert!(err.is_user_error());
    }
    let err = f.service.check_may_post(&ann(), &coach("d"), Some(date("2052-11-09"))).await.unwrap_err();
    assert!(matches!(err, ServiceError::DateOutOfRange { .. }), "{err:?}");
    assert_eq!(f.service.stats().await.unwrap().active_plans, 2, "nothing stored for the refused dates");
}
