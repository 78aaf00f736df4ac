//! Wall and CPU time per step of `hotlink plan`, and the process's peak RSS (`plan --timings`).
//!
//! A plan's time goes to very different places on different firmware: runs of the image on the
//! virtual board on one, the solve on another, reading a large map or profile on a third. The
//! steps are fixed and always all reported (a step that did not run shows zero), so a script can
//! compare breakdowns between images and builds. Steps never overlap and the clocks are
//! monotonic, so the steps' times add up to at most the total; times are whole microseconds
//! (rounded down) to keep that true of the printed figures too.
//!
//! CPU time is the process's (every thread: the solver may use several), from
//! `CLOCK_PROCESS_CPUTIME_ID`; peak RSS is `getrusage`'s `ru_maxrss`. Neither exists outside
//! Unix; there both read as zero / absent.

use std::fmt::Write;
use std::time::{Duration, Instant};

use serde::Serialize;

/// A step of `hotlink plan`, in the order the report lists them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The board, the link map and the objects it names.
    Read,
    /// The ELF and the profile, matched against each other.
    Profile,
    /// The run of the baseline up to its startup copies (the startup-safe set).
    StartupRun,
    /// The runs that measure what each function costs: as linked, then once with all code
    /// fetched as from each kind of memory (ITCM, OCRAM, XIP) the plan may move some into.
    StallRuns,
    /// Items, regions, costs, constraints and edges of the solver's problem, and the plan made
    /// from its answer.
    Model,
    Solve,
    /// The run with the planned moves that measures the instruction cache's change.
    CacheRun,
    /// plan.json, the `--emit-ld` output and the printed summary.
    Write,
}

impl Step {
    pub const ALL: [Step; 8] = [
        Step::Read,
        Step::Profile,
        Step::StartupRun,
        Step::StallRuns,
        Step::Model,
        Step::Solve,
        Step::CacheRun,
        Step::Write,
    ];

    /// Its name in the report (stable: scripts read it from the JSON form).
    pub fn name(self) -> &'static str {
        match self {
            Step::Read => "read",
            Step::Profile => "profile",
            Step::StartupRun => "startup-run",
            Step::StallRuns => "stall-runs",
            Step::Model => "model",
            Step::Solve => "solve",
            Step::CacheRun => "cache-run",
            Step::Write => "write",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Step::Read => "read board, map, objects",
            Step::Profile => "read ELF and profile",
            Step::StartupRun => "startup run (virtual board)",
            Step::StallRuns => "what-if: stall runs (1+kinds)",
            Step::Model => "model build",
            Step::Solve => "solve",
            Step::CacheRun => "what-if: cache run",
            Step::Write => "write plan",
        }
    }
}

/// Where the clocks stood at one moment.
#[derive(Clone, Copy)]
pub struct Clock {
    wall: Instant,
    cpu: Duration,
}

impl Clock {
    pub fn now() -> Clock {
        Clock {
            wall: Instant::now(),
            cpu: process_cpu_time(),
        }
    }

    /// (wall, CPU) since this moment.
    fn elapsed(&self) -> (Duration, Duration) {
        (
            self.wall.elapsed(),
            process_cpu_time().saturating_sub(self.cpu),
        )
    }
}

/// Time spent in each step so far.
#[derive(Clone, Debug, Default)]
pub struct Timings {
    wall: [Duration; Step::ALL.len()],
    cpu: [Duration; Step::ALL.len()],
}

impl Timings {
    /// Runs `f` as (part of) `step`: a step timed twice adds up.
    pub fn time<T>(&mut self, step: Step, f: impl FnOnce() -> T) -> T {
        let start = Clock::now();
        let value = f();
        let (wall, cpu) = start.elapsed();
        self.wall[step as usize] += wall;
        self.cpu[step as usize] += cpu;
        value
    }

    /// Adds what `other` timed (the planner's steps to the command's).
    pub fn add(&mut self, other: &Timings) {
        for i in 0..Step::ALL.len() {
            self.wall[i] += other.wall[i];
            self.cpu[i] += other.cpu[i];
        }
    }

    /// The report, with the totals since `start` (which must precede every timed step).
    pub fn report(&self, start: &Clock) -> TimingReport {
        let (wall, cpu) = start.elapsed();
        TimingReport {
            steps: Step::ALL
                .iter()
                .map(|&step| StepTime {
                    step: step.name(),
                    wall_us: micros(self.wall[step as usize]),
                    cpu_us: micros(self.cpu[step as usize]),
                })
                .collect(),
            total: Total {
                wall_us: micros(wall),
                cpu_us: micros(cpu),
            },
            peak_rss_kib: peak_rss_kib(),
        }
    }
}

/// What `--timings` prints.
#[derive(Debug, Serialize)]
pub struct TimingReport {
    pub steps: Vec<StepTime>,
    pub total: Total,
    /// None where the system does not say.
    pub peak_rss_kib: Option<u64>,
}

#[derive(Debug, Serialize)]
pub struct StepTime {
    pub step: &'static str,
    pub wall_us: u64,
    pub cpu_us: u64,
}

#[derive(Debug, Serialize)]
pub struct Total {
    pub wall_us: u64,
    pub cpu_us: u64,
}

impl TimingReport {
    /// A table for stderr.
    pub fn to_text(&self) -> String {
        let ms = |us: u64| us as f64 / 1000.0;
        let mut out = format!("\n  {:<30} {:>11} {:>11}\n", "step", "wall ms", "CPU ms");
        for (step, t) in Step::ALL.iter().zip(&self.steps) {
            let _ = writeln!(
                out,
                "  {:<30} {:>11.1} {:>11.1}",
                step.description(),
                ms(t.wall_us),
                ms(t.cpu_us)
            );
        }
        let _ = writeln!(
            out,
            "  {:<30} {:>11.1} {:>11.1}",
            "total",
            ms(self.total.wall_us),
            ms(self.total.cpu_us)
        );
        if let Some(kib) = self.peak_rss_kib {
            let _ = writeln!(out, "  peak RSS {:.1} MiB", kib as f64 / 1024.0);
        }
        out
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(unix)]
fn process_cpu_time() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the call only writes it.
    if unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) } != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[cfg(not(unix))]
fn process_cpu_time() -> Duration {
    Duration::ZERO
}

#[cfg(unix)]
fn peak_rss_kib() -> Option<u64> {
    // SAFETY: an all-zero rusage is valid; getrusage only writes it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) } != 0 {
        return None;
    }
    let max = u64::try_from(usage.ru_maxrss).ok()?;
    // Linux and the BSDs give KiB, macOS bytes.
    Some(if cfg!(target_os = "macos") {
        max / 1024
    } else {
        max
    })
}

#[cfg(not(unix))]
fn peak_rss_kib() -> Option<u64> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Busy work the optimiser cannot remove, so CPU time advances.
    fn spin(n: u64) -> u64 {
        (0..n).fold(0u64, |a, i| {
            std::hint::black_box(a.wrapping_mul(31).wrapping_add(i))
        })
    }

    #[test]
    fn steps_add_up_to_at_most_the_total_and_repeat_steps_accumulate() {
        let start = Clock::now();
        let mut timings = Timings::default();
        timings.time(Step::Solve, || spin(2_000_000));
        let after_one = timings.cpu[Step::Solve as usize];
        timings.time(Step::Solve, || spin(2_000_000));
        let mut planner = Timings::default();
        planner.time(Step::Model, || spin(1_000_000));
        timings.add(&planner);
        spin(1_000_000);
        let report = timings.report(&start);

        let names: Vec<&str> = report.steps.iter().map(|s| s.step).collect();
        assert_eq!(names, Step::ALL.map(Step::name));
        assert!(timings.cpu[Step::Solve as usize] > after_one);
        let solve = &report.steps[Step::Solve as usize];
        assert!(solve.wall_us > 0 && solve.cpu_us > 0, "{report:?}");
        assert!(report.steps[Step::Model as usize].cpu_us > 0, "{report:?}");
        assert_eq!(report.steps[Step::Write as usize].wall_us, 0);
        let wall: u64 = report.steps.iter().map(|s| s.wall_us).sum();
        let cpu: u64 = report.steps.iter().map(|s| s.cpu_us).sum();
        assert!(wall <= report.total.wall_us, "{report:?}");
        assert!(cpu <= report.total.cpu_us, "{report:?}");
        #[cfg(target_os = "linux")]
        assert!(report.peak_rss_kib.is_some_and(|k| k > 0), "{report:?}");
        let text = report.to_text();
        assert!(text.contains("solve") && text.contains("total"), "{text}");
    }
}
