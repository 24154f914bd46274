//! When a plugin that trapped may be started again: exponential back-off,
//! then quarantine after too many traps in a row.

use std::time::{Duration, Instant};

/// How restarts after traps are paced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RestartPolicy {
    /// Wait before the first restart; doubled after every further trap.
    pub first_delay: Duration,
    /// Longest wait between restarts before quarantine.
    pub max_delay: Duration,
    /// Traps in a row that put the plugin in quarantine.
    pub quarantine_after: u32,
    /// Wait before a quarantined plugin is tried again.
    pub quarantine_for: Duration,
}

impl Default for RestartPolicy {
    fn default() -> Self {
        Self {
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(30),
            quarantine_after: 5,
            quarantine_for: Duration::from_mins(5),
        }
    }
}

/// The restart state of one plugin.
#[derive(Debug, Clone)]
pub struct Restarts {
    policy: RestartPolicy,
    consecutive: u32,
    not_before: Option<Instant>,
}

impl Restarts {
    /// No trap yet.
    pub fn new(policy: RestartPolicy) -> Self {
        Self {
            policy,
            consecutive: 0,
            not_before: None,
        }
    }

    /// Records a trap (or a failed restart) at `now`.
    pub fn on_trap(&mut self, now: Instant) {
        self.consecutive += 1;
        let delay = if self.quarantined() {
            self.policy.quarantine_for
        } else {
            let doubling = 2u32.saturating_pow(self.consecutive - 1);
            self.policy
                .first_delay
                .saturating_mul(doubling)
                .min(self.policy.max_delay)
        };
        self.not_before = Some(now + delay);
    }

    /// Records a successful call: the count of traps in a row starts over.
    pub fn on_success(&mut self) {
        self.consecutive = 0;
        self.not_before = None;
    }

    /// Whether the plugin trapped too often in a row.
    pub fn quarantined(&self) -> bool {
        self.consecutive >= self.policy.quarantine_after
    }

    /// `Ok` when a restart may be tried at `now`, else why not.
    pub fn check(&self, now: Instant) -> Result<(), String> {
        match self.not_before {
            Some(at) if at > now => {
                let wait = at - now;
                Err(if self.quarantined() {
                    format!(
                        "quarantined after {} traps in a row; next try in {:.0?}",
                        self.consecutive, wait
                    )
                } else {
                    format!("restarting after a trap; next try in {wait:.1?}")
                })
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backs_off_exponentially_then_quarantines() {
        let policy = RestartPolicy {
            first_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(4),
            quarantine_after: 4,
            quarantine_for: Duration::from_secs(100),
        };
        let mut r = Restarts::new(policy);
        let t0 = Instant::now();
        assert!(r.check(t0).is_ok());
        let mut now = t0;
        for expected in [1, 2, 4] {
            r.on_trap(now);
            assert!(
                r.check(now + Duration::from_millis(expected * 1000 - 1))
                    .is_err()
            );
            now += Duration::from_secs(expected);
            assert!(r.check(now).is_ok(), "after {expected}s");
            assert!(!r.quarantined());
        }
        r.on_trap(now);
        assert!(r.quarantined());
        let err = r
            .check(now + Duration::from_secs(99))
            .expect_err("quarantined");
        assert!(
            err.starts_with("quarantined after 4 traps in a row"),
            "{err}"
        );
        assert!(r.check(now + Duration::from_secs(100)).is_ok());
        r.on_success();
        assert!(!r.quarantined());
        assert!(r.check(now).is_ok());
    }
}
