//! A hosted platform's deploy: one remote object that first builds the app and then releases it
//! (Render's `build_in_progress` → `update_in_progress`, DigitalOcean's `BUILDING` →
//! `DEPLOYING`). It is two scripted operations: a build following `Script::build` and a release
//! following `Script::deploy` that starts when the build ends. The release exists only when the
//! build is scripted to succeed, so a failed build never goes live.

use std::time::Duration;

use tokio::time::Instant;

use super::op::State;
use super::op_script::{OpScript, Outcome};
use super::store::{OpIndex, Store};
use super::world::World;
use crate::platform::Phase;

/// Where a hosted deploy is, in words each dialect maps to its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Created, not building yet.
    Queued,
    Building,
    BuildFailed,
    /// Built; the release waits for its turn.
    PendingRelease,
    Releasing,
    Live,
    ReleaseFailed,
    Cancelled,
}

impl Stage {
    pub(crate) fn is_terminal(self) -> bool {
        matches!(
            self,
            Stage::BuildFailed | Stage::Live | Stage::ReleaseFailed | Stage::Cancelled
        )
    }
}

/// The two operations of one hosted deploy.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Chain {
    pub(crate) build: OpIndex,
    /// `None` when the build is scripted to fail.
    pub(crate) release: Option<OpIndex>,
}

impl Chain {
    /// Starts a deploy of `app` now: the build follows `build` (the dialect may shorten it, e.g.
    /// for a deploy that reuses the last build), the release `Script::deploy` once the build is
    /// done. Both operations are labelled `label` in their logs; the release serves
    /// `environment` when live.
    pub(crate) fn start(
        world: &mut World,
        app: &str,
        label: &str,
        environment: &str,
        build: OpScript,
    ) -> Chain {
        let built_after = build.terminal_after();
        let succeeds = build.outcome == Outcome::Success;
        let build = world.store.create(Phase::Build, app, build);
        label.clone_into(&mut world.store.get_mut(build).label);
        let release = succeeds.then(|| {
            let mut script = world.script.deploy.clone();
            script.queue = script.queue.saturating_add(built_after);
            let release = world.store.create(Phase::Deploy, app, script);
            let op = world.store.get_mut(release);
            label.clone_into(&mut op.label);
            op.environment = Some(environment.to_owned());
            release
        });
        Chain { build, release }
    }

    /// The stage at `now`.
    pub(crate) fn stage(&self, store: &Store, now: Instant) -> Stage {
        match store.get(self.build).state(now) {
            State::Queued => Stage::Queued,
            State::Running => Stage::Building,
            State::Failed => Stage::BuildFailed,
            State::Cancelled => Stage::Cancelled,
            State::Succeeded => match self.release.map(|r| store.get(r).state(now)) {
                Some(State::Queued) | None => Stage::PendingRelease,
                Some(State::Running) => Stage::Releasing,
                Some(State::Succeeded) => Stage::Live,
                Some(State::Failed) => Stage::ReleaseFailed,
                Some(State::Cancelled) => Stage::Cancelled,
            },
        }
    }

    /// Cancels the deploy while it builds or releases; a finished one is left alone and its stage
    /// returned.
    pub(crate) fn cancel(&self, store: &mut Store, now: Instant) -> Result<(), Stage> {
        let stage = self.stage(store, now);
        if stage.is_terminal() {
            return Err(stage);
        }
        if matches!(stage, Stage::Queued | Stage::Building) {
            let _ = store.get_mut(self.build).cancel(now);
        }
        if let Some(release) = self.release {
            let _ = store.get_mut(release).cancel(now);
        }
        Ok(())
    }

    pub(crate) fn created_at(&self, store: &Store) -> Instant {
        store.get(self.build).created_at()
    }

    /// When the build started running, once it has.
    pub(crate) fn started_at(&self, store: &Store, now: Instant) -> Option<Instant> {
        let build = store.get(self.build);
        let started = build.started_at();
        let cut = build.cancelled_at().is_some_and(|at| at < started);
        (now >= started && !cut).then_some(started)
    }

    /// When the current stage began (what `updatedAt` and `phase_last_updated_at` show).
    pub(crate) fn stage_since(&self, store: &Store, now: Instant) -> Instant {
        let build = store.get(self.build);
        let release = self.release.map(|r| store.get(r));
        match self.stage(store, now) {
            Stage::Queued => build.created_at(),
            Stage::Building => build.started_at(),
            Stage::BuildFailed | Stage::PendingRelease => build.ends_at(),
            Stage::Releasing => release.map_or(build.ends_at(), super::op::Op::started_at),
            Stage::Live | Stage::ReleaseFailed => {
                release.map_or(build.ends_at(), super::op::Op::ends_at)
            }
            Stage::Cancelled => build
                .cancelled_at()
                .or_else(|| release.and_then(super::op::Op::cancelled_at))
                .unwrap_or(now),
        }
    }

    /// When the deploy ended, once it has.
    pub(crate) fn finished_at(&self, store: &Store, now: Instant) -> Option<Instant> {
        self.stage(store, now)
            .is_terminal()
            .then(|| self.stage_since(store, now))
    }

    /// The operation whose log is the `phase` log (build or release), once it has anything to
    /// show: a release only after a successful build (a cancelled build cancels its release too,
    /// whose log must not appear).
    pub(crate) fn log_op(&self, store: &Store, phase: Phase, now: Instant) -> Option<OpIndex> {
        match phase {
            Phase::Build => Some(self.build),
            Phase::Deploy | Phase::Stop => self
                .release
                .filter(|_| store.get(self.build).state(now) == State::Succeeded),
        }
    }
}

/// A build that does nothing: for a deploy that reuses the last build.
pub(crate) fn no_build() -> OpScript {
    OpScript {
        queue: Duration::ZERO,
        duration: Duration::ZERO,
        log_lines: 0,
        outcome: Outcome::Success,
        tail_lines: 0,
        tail_delay: Duration::ZERO,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::Script;

    fn world(build: Outcome) -> World {
        let mut script = Script::fast();
        script.build.outcome = build;
        World::new(script)
    }

    #[test]
    fn builds_then_releases_then_is_live() {
        let mut world = world(Outcome::Success);
        let build = world.script.build.clone();
        let chain = Chain::start(&mut world, "srv", "#1", "render", build);
        let t0 = chain.created_at(&world.store);
        let at = |ms| t0 + Duration::from_millis(ms);
        let stage = |world: &World, ms| chain.stage(&world.store, at(ms));
        // fast(): build queued 20 ms, runs 60 ms; the release queues 20 ms more and runs 60 ms.
        assert_eq!(stage(&world, 10), Stage::Queued);
        assert_eq!(stage(&world, 50), Stage::Building);
        assert_eq!(stage(&world, 90), Stage::PendingRelease);
        assert_eq!(stage(&world, 120), Stage::Releasing);
        assert_eq!(stage(&world, 200), Stage::Live);
        // The release was created a moment after the build: allow for that moment.
        let finished = chain.finished_at(&world.store, at(200)).unwrap();
        assert!(finished >= at(160) && finished < at(161), "{finished:?}");
        assert!(world.store.is_live("srv", "render", at(200)));
        assert_eq!(chain.log_op(&world.store, Phase::Deploy, at(50)), None);
        assert!(chain.log_op(&world.store, Phase::Deploy, at(90)).is_some());
    }

    #[test]
    fn a_failed_build_never_releases_and_a_cancel_stops_both() {
        let mut world = world(Outcome::Failure);
        let build = world.script.build.clone();
        let chain = Chain::start(&mut world, "srv", "#1", "render", build);
        assert!(chain.release.is_none());
        let t0 = chain.created_at(&world.store);
        let late = t0 + Duration::from_secs(5);
        assert_eq!(chain.stage(&world.store, late), Stage::BuildFailed);
        assert!(!world.store.is_live("srv", "render", late));

        let mut world = self::world(Outcome::Success);
        let build = world.script.build.clone();
        let chain = Chain::start(&mut world, "srv", "#2", "render", build);
        let t0 = chain.created_at(&world.store);
        let during = t0 + Duration::from_millis(40);
        assert_eq!(chain.cancel(&mut world.store, during), Ok(()));
        assert_eq!(chain.stage(&world.store, late), Stage::Cancelled);
        assert_eq!(chain.finished_at(&world.store, late), Some(during));
        assert_eq!(
            chain.started_at(&world.store, late),
            Some(t0 + Duration::from_millis(20))
        );
        assert_eq!(chain.log_op(&world.store, Phase::Deploy, late), None);
        assert_eq!(chain.cancel(&mut world.store, late), Err(Stage::Cancelled));
    }
}
