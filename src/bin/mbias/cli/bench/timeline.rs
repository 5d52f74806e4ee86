//! How busy the cores are while the bench runs the recipe in process: the process's CPU
//! time, sampled every two milliseconds, against the stages' start times. It shows which
//! stage leaves a core idle, and for how long, without a profiler.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Time between samples.
const PERIOD: Duration = Duration::from_millis(2);
/// Width of one character of a stage's bar.
const BUCKET: Duration = Duration::from_millis(10);
/// Bars from idle to every core busy.
const LEVELS: [char; 9] = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// The CPU time of the whole process (every thread), from the kernel's scheduler
/// accounting: nanosecond resolution, unlike getrusage's ticks.
fn process_cpu() -> Duration {
    // SAFETY: clock_gettime writes the timespec it is given, which is plain data.
    let spec = unsafe {
        let mut spec: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut spec);
        spec
    };
    Duration::new(spec.tv_sec as u64, spec.tv_nsec as u32)
}

/// Samples the process's CPU time on a thread of its own until [`Sampler::finish`].
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<(Instant, Duration)>>,
}

impl Sampler {
    pub fn start() -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut samples = vec![(Instant::now(), process_cpu())];
            while !stopped.load(Ordering::Relaxed) {
                std::thread::sleep(PERIOD);
                samples.push((Instant::now(), process_cpu()));
            }
            samples
        });
        Sampler { stop, thread }
    }

    pub fn finish(self) -> Timeline {
        self.stop.store(true, Ordering::Relaxed);
        Timeline {
            samples: self.thread.join().unwrap_or_default(),
        }
    }
}

/// The samples of one run.
pub struct Timeline {
    samples: Vec<(Instant, Duration)>,
}

/// One stage's use of the cores.
pub struct StageUse {
    pub name: &'static str,
    pub wall: Duration,
    /// CPU time over wall time.
    pub cores: f64,
    /// Time the cores were not busy, summed over the cores.
    pub idle: Duration,
    /// One character per 10 ms, from idle to every core busy.
    pub bar: String,
}

impl Timeline {
    /// The process's CPU time at `t`, read off the samples around it.
    fn cpu_at(&self, t: Instant) -> Duration {
        let after = self.samples.partition_point(|(s, _)| *s <= t);
        match (
            after.checked_sub(1).map(|i| self.samples[i]),
            self.samples.get(after),
        ) {
            (Some((t0, c0)), Some(&(t1, c1))) => {
                let part = (t - t0).as_secs_f64() / (t1 - t0).as_secs_f64().max(1e-12);
                c0 + (c1.saturating_sub(c0)).mul_f64(part.clamp(0.0, 1.0))
            }
            (Some((_, c)), None) => c,
            (None, Some(&(_, c))) => c,
            (None, None) => Duration::ZERO,
        }
    }

    fn cores_between(&self, from: Instant, to: Instant) -> f64 {
        let wall = to.saturating_duration_since(from).as_secs_f64();
        if wall <= 0.0 {
            return 0.0;
        }
        self.cpu_at(to)
            .saturating_sub(self.cpu_at(from))
            .as_secs_f64()
            / wall
    }

    /// Each stage's use of `cores` cores, a stage being (name, start, end).
    pub fn stages(
        &self,
        stages: &[(&'static str, Instant, Instant)],
        cores: usize,
    ) -> Vec<StageUse> {
        stages
            .iter()
            .map(|&(name, from, to)| {
                let to = to.max(from);
                let wall = to - from;
                let busy = self.cores_between(from, to);
                let mut bar = String::new();
                let mut t = from;
                while t < to {
                    let next = (t + BUCKET).min(to);
                    let share = self.cores_between(t, next) / cores as f64;
                    let level = (share * (LEVELS.len() - 1) as f64).round() as usize;
                    bar.push(LEVELS[level.min(LEVELS.len() - 1)]);
                    t = next;
                }
                StageUse {
                    name,
                    wall,
                    cores: busy,
                    idle: wall.mul_f64((cores as f64 - busy).max(0.0)),
                    bar,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cores_are_read_off_the_samples() {
        let t0 = Instant::now();
        let ms = |n: u64| Duration::from_millis(n);
        // Two cores busy for 20 ms, then one for 20 ms.
        let timeline = Timeline {
            samples: vec![(t0, ms(0)), (t0 + ms(20), ms(40)), (t0 + ms(40), ms(60))],
        };
        let stages = timeline.stages(
            &[("a", t0, t0 + ms(20)), ("b", t0 + ms(20), t0 + ms(40))],
            2,
        );
        assert!((stages[0].cores - 2.0).abs() < 1e-9);
        assert!((stages[1].cores - 1.0).abs() < 1e-9);
        assert_eq!(stages[0].bar, "██");
        assert_eq!(stages[1].bar, "▄▄");
        assert_eq!(stages[1].idle, ms(20));
        assert!((timeline.cores_between(t0 + ms(10), t0 + ms(30)) - 1.5).abs() < 1e-9);
    }
}
