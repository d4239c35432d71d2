//! The finding lifecycle: the one function that every trigger uses to turn a
//! verdict or an operator action into a finding change (DESIGN.md §3).

use crate::finding::TransitionKind;
use crate::{Finding, FindingState, ResolvedReason, ResourceRef, Severity, Timestamp, Transition, Trigger, Verdict};

/// What happened to the resource/policy pair.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The policy evaluated the resource.
    Evaluated(Verdict),
    /// The finding must close for a reason other than evaluation: the resource
    /// was deleted, the policy suspended or deleted, the resource left scope.
    Close(ResolvedReason),
}

/// What the lifecycle did, for counting (drift, job results).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Opened,
    Reopened,
    /// Still failing: `LastEvaluated` and evidence refreshed.
    Refreshed,
    Resolved(ResolvedReason),
    Unchanged,
}

impl Effect {
    /// A finding that became active (a "missed open" when a sweep did it).
    pub fn is_open(self) -> bool {
        matches!(self, Effect::Opened | Effect::Reopened)
    }

    pub fn is_resolve(self) -> bool {
        matches!(self, Effect::Resolved(_))
    }
}

/// The pair a finding is about, and the severity a new or refreshed finding gets.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub resource: &'a ResourceRef,
    pub policy_id: &'a str,
    pub severity: Severity,
}

/// Applies one outcome to the current finding (if any). Returns the effect and
/// the finding to write, or `None` when nothing must be written. Applying the
/// same outcome twice changes nothing but `LastEvaluated` of an active finding.
pub fn apply(
    current: Option<&Finding>,
    subject: Subject<'_>,
    outcome: &Outcome,
    trigger: &Trigger,
    now: Timestamp,
) -> (Effect, Option<Finding>) {
    let active = current.filter(|f| f.state == FindingState::Active);
    match (current, outcome) {
        (None, Outcome::Evaluated(Verdict::Fail(evidence))) => {
            let finding = Finding {
                arn: subject.resource.arn.clone(),
                policy: subject.policy_id.to_string(),
                account_service: subject.resource.account_service(),
                account_id: subject.resource.account_id.clone(),
                region: subject.resource.region.clone(),
                resource_type: subject.resource.resource_type.clone(),
                severity: subject.severity,
                state: FindingState::Active,
                first_seen: now,
                last_evaluated: now,
                evidence: evidence.clone(),
                resolved_at: None,
                resolved_reason: None,
                detected_by: trigger.detected_by,
                history: vec![transition(now, TransitionKind::Opened, None, trigger)],
                transitions: 1,
                version: 0,
            };
            (Effect::Opened, Some(finding))
        }
        (Some(f), Outcome::Evaluated(Verdict::Fail(evidence))) => {
            let mut f = f.clone();
            f.last_evaluated = now;
            f.evidence = evidence.clone();
            f.severity = subject.severity;
            // Where the resource is now (a bucket name that moved accounts, a
            // region read correctly since), not where it was when first seen.
            f.account_service = subject.resource.account_service();
            f.account_id = subject.resource.account_id.clone();
            f.region = subject.resource.region.clone();
            f.resource_type = subject.resource.resource_type.clone();
            if f.state == FindingState::Active {
                return (Effect::Refreshed, Some(f));
            }
            f.state = FindingState::Active;
            f.resolved_at = None;
            f.resolved_reason = None;
            f.detected_by = trigger.detected_by;
            f.record(transition(now, TransitionKind::Reopened, None, trigger));
            (Effect::Reopened, Some(f))
        }
        (_, Outcome::Evaluated(Verdict::Pass)) => resolve(active, ResolvedReason::Compliant, trigger, now),
        (_, Outcome::Evaluated(Verdict::NotApplicable)) => resolve(active, ResolvedReason::NotApplicable, trigger, now),
        (_, Outcome::Evaluated(Verdict::Error(_))) => (Effect::Unchanged, None),
        (_, Outcome::Close(reason)) => resolve(active, *reason, trigger, now),
    }
}

fn resolve(
    active: Option<&Finding>,
    reason: ResolvedReason,
    trigger: &Trigger,
    now: Timestamp,
) -> (Effect, Option<Finding>) {
    let Some(f) = active else {
        return (Effect::Unchanged, None);
    };
    let mut f = f.clone();
    f.state = FindingState::Resolved;
    f.resolved_at = Some(now);
    f.resolved_reason = Some(reason);
    f.last_evaluated = now;
    f.record(transition(now, TransitionKind::Resolved, Some(reason), trigger));
    (Effect::Resolved(reason), Some(f))
}

fn transition(at: Timestamp, kind: TransitionKind, reason: Option<ResolvedReason>, trigger: &Trigger) -> Transition {
    Transition { at, kind, reason, trigger: trigger.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DetectedBy, Service};
    use chrono::{Duration, TimeZone, Utc};
    use serde_json::json;

    fn rref() -> ResourceRef {
        ResourceRef {
            arn: "arn:aws:s3:::b".into(),
            account_id: "123412341234".into(),
            region: "us-east-1".into(),
            service: Service::S3,
            resource_type: "AWS::S3::Bucket".into(),
        }
    }

    fn t(mins: i64) -> Timestamp {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap() + Duration::minutes(mins)
    }

    fn run(current: Option<&Finding>, outcome: Outcome, at: i64) -> (Effect, Option<Finding>) {
        let r = rref();
        let subject = Subject { resource: &r, policy_id: "p", severity: Severity::of(80) };
        apply(current, subject, &outcome, &Trigger::job(DetectedBy::Bootstrap, "job-1"), t(at))
    }

    fn fail() -> Outcome {
        Outcome::Evaluated(Verdict::Fail(json!({"Path": "Acl.Grants[0]"})))
    }

    fn active() -> Finding {
        run(None, fail(), 0).1.unwrap()
    }

    fn resolved() -> Finding {
        run(Some(&active()), Outcome::Evaluated(Verdict::Pass), 5).1.unwrap()
    }

    #[test]
    fn none_fail_opens() {
        let (e, f) = run(None, fail(), 0);
        let f = f.unwrap();
        assert_eq!(e, Effect::Opened);
        assert_eq!(f.state, FindingState::Active);
        assert_eq!((f.first_seen, f.last_evaluated), (t(0), t(0)));
        assert_eq!(f.account_service, "123412341234_s3");
        assert_eq!(f.severity, Severity::of(80));
        assert_eq!(f.detected_by, DetectedBy::Bootstrap);
        assert_eq!(f.history.len(), 1);
        assert_eq!(f.history[0].kind, TransitionKind::Opened);
        assert_eq!(f.history[0].trigger.job_id.as_deref(), Some("job-1"));
    }

    #[test]
    fn active_fail_refreshes_and_is_idempotent() {
        let a = active();
        let (e, f) = run(Some(&a), Outcome::Evaluated(Verdict::Fail(json!({"new": true}))), 10);
        let f = f.unwrap();
        assert_eq!(e, Effect::Refreshed);
        assert_eq!(f.first_seen, t(0));
        assert_eq!(f.last_evaluated, t(10));
        assert_eq!(f.evidence, json!({"new": true}));
        assert_eq!(f.history.len(), 1, "no transition for a refresh");
        let (e2, f2) = run(Some(&f), Outcome::Evaluated(Verdict::Fail(json!({"new": true}))), 10);
        assert_eq!(e2, Effect::Refreshed);
        assert_eq!(f2.unwrap(), f);
    }

    #[test]
    fn resolved_fail_reopens_keeping_first_seen() {
        let r = resolved();
        let (e, f) = run(Some(&r), fail(), 20);
        let f = f.unwrap();
        assert_eq!(e, Effect::Reopened);
        assert_eq!(f.state, FindingState::Active);
        assert_eq!(f.first_seen, t(0));
        assert_eq!(f.resolved_at, None);
        assert_eq!(f.resolved_reason, None);
        let kinds: Vec<_> = f.history.iter().map(|h| h.kind).collect();
        assert_eq!(kinds, [TransitionKind::Opened, TransitionKind::Resolved, TransitionKind::Reopened]);
    }

    #[test]
    fn active_pass_resolves_compliant() {
        let f = resolved();
        assert_eq!(f.state, FindingState::Resolved);
        assert_eq!(f.resolved_reason, Some(ResolvedReason::Compliant));
        assert_eq!(f.resolved_at, Some(t(5)));
        assert_eq!(f.history.last().unwrap().reason, Some(ResolvedReason::Compliant));
    }

    #[test]
    fn every_close_reason_resolves_an_active_finding() {
        for reason in [
            ResolvedReason::ResourceDeleted,
            ResolvedReason::PolicySuspended,
            ResolvedReason::PolicyDeleted,
            ResolvedReason::OutOfScope,
        ] {
            let (e, f) = run(Some(&active()), Outcome::Close(reason), 7);
            let f = f.unwrap();
            assert_eq!(e, Effect::Resolved(reason));
            assert_eq!(f.resolved_reason, Some(reason));
            assert_eq!(f.resolved_at, Some(t(7)));
        }
    }

    #[test]
    fn closing_is_idempotent_and_needs_an_active_finding() {
        let r = resolved();
        for outcome in [
            Outcome::Evaluated(Verdict::Pass),
            Outcome::Close(ResolvedReason::PolicySuspended),
            Outcome::Evaluated(Verdict::NotApplicable),
        ] {
            assert_eq!(run(Some(&r), outcome.clone(), 30), (Effect::Unchanged, None));
            assert_eq!(run(None, outcome, 30), (Effect::Unchanged, None));
        }
    }

    #[test]
    fn not_applicable_resolves_an_active_finding() {
        let (e, f) = run(Some(&active()), Outcome::Evaluated(Verdict::NotApplicable), 3);
        assert_eq!(e, Effect::Resolved(ResolvedReason::NotApplicable));
        assert_eq!(f.unwrap().state, FindingState::Resolved);
    }

    #[test]
    fn error_changes_nothing() {
        let err = Outcome::Evaluated(Verdict::Error("AccessDenied".into()));
        assert_eq!(run(None, err.clone(), 1), (Effect::Unchanged, None));
        assert_eq!(run(Some(&active()), err.clone(), 1), (Effect::Unchanged, None));
        assert_eq!(run(Some(&resolved()), err, 1), (Effect::Unchanged, None));
    }

    #[test]
    fn reopen_and_refresh_take_the_resource_placement_of_now() {
        // A finding opened when the bucket's region could not be read (home
        // region) and its owner was another account: the next failing
        // evaluation carries where the resource is now.
        let moved = |f: Finding| Finding {
            account_id: "999999999999".into(),
            account_service: "999999999999_s3".into(),
            region: "eu-west-1".into(),
            resource_type: "AWS::S3::Old".into(),
            ..f
        };
        for current in [moved(active()), moved(resolved())] {
            let (_, f) = run(Some(&current), fail(), 30);
            let f = f.unwrap();
            assert_eq!(f.account_id, "123412341234");
            assert_eq!(f.account_service, "123412341234_s3");
            assert_eq!(f.region, "us-east-1");
            assert_eq!(f.resource_type, "AWS::S3::Bucket");
        }
    }

    #[test]
    fn a_flapping_finding_keeps_its_first_and_latest_transitions() {
        let mut f = active();
        for i in 0..200 {
            let outcome = if i % 2 == 0 { Outcome::Evaluated(Verdict::Pass) } else { fail() };
            f = run(Some(&f), outcome, 10 + i).1.unwrap();
        }
        assert_eq!(f.transition_count(), 201);
        assert_eq!(f.history.len(), crate::finding::HISTORY_KEPT);
        assert_eq!(f.history[0].kind, TransitionKind::Opened);
        assert_eq!(f.history.last().unwrap().at, t(209));
        assert_eq!(f.history[1].at, t(209 - 48), "the latest 49 after the first");
    }
}
