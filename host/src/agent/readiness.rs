//! Whether the agent is ready to be scraped: `/readyz`, the `DaemonSet`'s
//! readiness probe.
//!
//! An agent starts `Starting`; it is `Ready` once it runs what it should
//! (file mode: after the first pass over the manifests; Kubernetes mode:
//! after both watches have listed and the first reconcile pass), and
//! `Draining` from the moment it is told to stop, so load balancers and
//! Prometheus' service discovery stop sending it work.

use std::sync::atomic::{AtomicU8, Ordering};

/// The agent's readiness, shared by the reconcilers and the server.
#[derive(Debug, Default)]
pub struct Readiness(AtomicU8);

/// What `/readyz` reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadyState {
    Starting,
    Ready,
    Draining,
}

impl Readiness {
    const STARTING: u8 = 0;
    const READY: u8 = 1;
    const DRAINING: u8 = 2;

    /// The current state.
    pub fn state(&self) -> ReadyState {
        match self.0.load(Ordering::Acquire) {
            Self::STARTING => ReadyState::Starting,
            Self::READY => ReadyState::Ready,
            _ => ReadyState::Draining,
        }
    }

    /// Marks the agent ready, unless it is already draining.
    pub fn set_ready(&self) {
        // A pass that ends after shutdown began must not undo the drain.
        let _ = self.0.compare_exchange(
            Self::STARTING,
            Self::READY,
            Ordering::AcqRel,
            Ordering::Acquire,
        );
    }

    /// Marks the agent as shutting down, for good.
    pub fn set_draining(&self) {
        self.0.store(Self::DRAINING, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_once_started_and_draining_for_good() {
        let readiness = Readiness::default();
        assert_eq!(readiness.state(), ReadyState::Starting);
        readiness.set_ready();
        assert_eq!(readiness.state(), ReadyState::Ready);
        readiness.set_draining();
        readiness.set_ready();
        assert_eq!(readiness.state(), ReadyState::Draining);
    }
}
