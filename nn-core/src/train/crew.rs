//! The worker threads of `ParallelGrads` and how work reaches them.
//!
//! A [`Crew`] keeps `size - 1` rayon worker threads. [`Crew::run`] hands a job to all of
//! them and runs its own share on the calling thread. While a worker has nothing to do it
//! waits in a loop that watches a counter, for at most [`Crew::set_idle_spin`], and picks
//! up the next job within a fraction of a microsecond. After that time the loop ends and
//! the thread returns to rayon, which puts it to sleep. The next job then starts a new
//! loop through `rayon::ThreadPool::spawn`, which wakes the thread.
//!
//! Rayon's own scopes were used before. The calling thread of such a scope waits for it
//! on a lock, and a worker that finds no job goes to sleep within microseconds. Waking a
//! thread took an estimated 50 to 130 µs on the AMD EPYC virtual machine of
//! `BENCHMARKS.md`, a large part of a 32-sample step of a 784-128-10 network. Here
//! neither side sleeps while work keeps coming.

use std::any::Any;
use std::boxed::Box;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};
use std::vec::Vec;

/// A job as the workers see it: the caller's closure with its lifetime erased.
#[derive(Clone, Copy)]
struct JobPtr(*const (dyn Fn(usize) + Sync + 'static));

// SAFETY: the closure behind the pointer is `Sync`, and `Crew::run` keeps it alive until
// every worker has finished calling it.
unsafe impl Send for JobPtr {}
// SAFETY: as for `Send`.
unsafe impl Sync for JobPtr {}

/// A worker's loop has ended (or never started).
const IDLE: u8 = 0;
/// A worker's loop is running, or has been spawned and will run.
const RUNNING: u8 = 1;

/// The state that the calling thread and the workers share.
struct Shared {
    /// The number of jobs handed out. A worker runs the job when this number changes.
    epoch: AtomicU64,
    /// The current job, set before `epoch` advances and cleared after every worker is done.
    job: RwLock<Option<JobPtr>>,
    /// The number of workers that have finished the current job.
    done: AtomicUsize,
    /// [`IDLE`] or [`RUNNING`] for each worker, by index (index 0, the caller, unused).
    state: Vec<AtomicU8>,
    /// The epoch of the last job each worker ran. A loop started for a worker whose old
    /// loop already ran the current job must not run it again.
    last_run: Vec<AtomicU64>,
    /// Held for the duration of [`Crew::run`]. A call made while another is running,
    /// from another thread or from inside a job, runs every share on its own thread.
    busy: Mutex<()>,
    /// How long an idle worker waits for the next job, in nanoseconds.
    idle_spin: AtomicU64,
    /// Set when a worker's share of the current job panicked.
    panicked: AtomicBool,
    /// The first panic's payload, which [`Crew::run`] resumes on the calling thread.
    payload: Mutex<Option<Box<dyn Any + Send>>>,
}

/// Worker threads that run the shares of a job together with the calling thread.
pub(crate) struct Crew {
    pool: rayon::ThreadPool,
    shared: Arc<Shared>,
    size: usize,
}

impl Crew {
    /// Wraps `pool`, whose `size - 1` threads become the workers.
    pub(crate) fn new(pool: rayon::ThreadPool, size: usize) -> Self {
        let shared = Shared {
            epoch: AtomicU64::new(0),
            job: RwLock::new(None),
            done: AtomicUsize::new(0),
            state: (0..size).map(|_| AtomicU8::new(IDLE)).collect(),
            last_run: (0..size).map(|_| AtomicU64::new(0)).collect(),
            busy: Mutex::new(()),
            idle_spin: AtomicU64::new(0),
            panicked: AtomicBool::new(false),
            payload: Mutex::new(None),
        };
        Self {
            pool,
            shared: Arc::new(shared),
            size,
        }
    }

    /// Returns the number of threads, counting the calling thread.
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Sets how long idle workers wait for the next job before their threads go to sleep.
    pub(crate) fn set_idle_spin(&self, spin: Duration) {
        let nanos = u64::try_from(spin.as_nanos()).unwrap_or(u64::MAX);
        self.shared.idle_spin.store(nanos, Ordering::Relaxed);
    }

    /// Calls `job(index)` once for every index from 0 to `size - 1`: index 0 on the calling
    /// thread, the others on the workers, and returns when all calls have returned.
    ///
    /// # Panics
    ///
    /// When a call panics, after all calls have returned: a worker's panic is resumed here.
    pub(crate) fn run(&self, job: &(dyn Fn(usize) + Sync)) {
        let shared = &*self.shared;
        let _busy = match shared.busy.try_lock() {
            Ok(guard) => guard,
            Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
            Err(std::sync::TryLockError::WouldBlock) => {
                (0..self.size).for_each(job);
                return;
            }
        };

        // A panic that unwound through an earlier call may have left these set.
        shared.panicked.store(false, Ordering::Relaxed);
        *shared
            .payload
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = None;

        // SAFETY: only the lifetime is erased. The workers call the job only between the
        // `epoch` increment below and their `done` increment, and `Finish` waits for all
        // of those increments before this function returns or unwinds.
        let erased: JobPtr = unsafe {
            JobPtr(core::mem::transmute::<
                *const (dyn Fn(usize) + Sync + '_),
                *const (dyn Fn(usize) + Sync + 'static),
            >(job))
        };
        *shared.job.write().unwrap_or_else(PoisonError::into_inner) = Some(erased);
        shared.done.store(0, Ordering::Relaxed);
        let epoch = shared.epoch.fetch_add(1, Ordering::SeqCst) + 1;

        for index in 1..self.size {
            // A worker whose loop has ended gets a new one. One whose loop is still
            // running reads the new epoch itself (see `work`).
            let restart = shared.state[index].compare_exchange(
                IDLE,
                RUNNING,
                Ordering::SeqCst,
                Ordering::SeqCst,
            );
            if restart.is_ok() {
                let shared = Arc::clone(&self.shared);
                self.pool.spawn(move || work(&shared, index, epoch - 1));
            }
        }

        {
            let _finish = Finish {
                shared,
                workers: self.size - 1,
            };
            job(0);
        }
        *shared.job.write().unwrap_or_else(PoisonError::into_inner) = None;
        if shared.panicked.swap(false, Ordering::AcqRel) {
            let payload = shared
                .payload
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take();
            std::panic::resume_unwind(payload.unwrap_or_else(|| Box::new("a worker panicked")));
        }
    }
}

/// Waits, when dropped, until every worker has finished the current job, also while the
/// calling thread unwinds from a panic in its own share.
struct Finish<'a> {
    shared: &'a Shared,
    workers: usize,
}

impl Drop for Finish<'_> {
    fn drop(&mut self) {
        let mut spins = 0u32;
        while self.shared.done.load(Ordering::Acquire) < self.workers {
            if spins < 100_000 {
                spins += 1;
                core::hint::spin_loop();
            } else {
                // A worker that rayon has not woken yet, or whose core the host took
                // away, can take long; let it have this core.
                std::thread::yield_now();
            }
        }
    }
}

/// Runs the loop of worker `index`: each job whose epoch is newer than `seen`, waiting
/// for the next one for up to the idle time before the loop ends.
fn work(shared: &Shared, index: usize, mut seen: u64) {
    loop {
        let idle_spin = Duration::from_nanos(shared.idle_spin.load(Ordering::Relaxed));
        let started = Instant::now();
        loop {
            let epoch = shared.epoch.load(Ordering::Acquire);
            if epoch != seen {
                seen = epoch;
                break;
            }
            if started.elapsed() >= idle_spin {
                shared.state[index].store(IDLE, Ordering::SeqCst);
                // `Crew::run` advances the epoch before it reads the state. So either it
                // reads IDLE and starts a new loop, or this load reads the new epoch, and
                // whichever of the two sets RUNNING first runs the job.
                let epoch = shared.epoch.load(Ordering::SeqCst);
                let resume = epoch != seen
                    && shared.state[index]
                        .compare_exchange(IDLE, RUNNING, Ordering::SeqCst, Ordering::SeqCst)
                        .is_ok();
                if !resume {
                    return;
                }
                seen = epoch;
                break;
            }
            for _ in 0..64 {
                core::hint::spin_loop();
            }
        }
        if shared.last_run[index].swap(seen, Ordering::AcqRel) == seen {
            // The loop this one replaced ran this job already and counted it.
            continue;
        }
        let job = *shared.job.read().unwrap_or_else(PoisonError::into_inner);
        if let Some(JobPtr(job)) = job {
            // SAFETY: `Crew::run` set this job before advancing the epoch and keeps it
            // alive until this worker increments `done` below.
            let job = unsafe { &*job };
            if let Err(payload) =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(index)))
            {
                let mut first = shared
                    .payload
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                if first.is_none() {
                    *first = Some(payload);
                }
                shared.panicked.store(true, Ordering::Release);
            }
        }
        shared.done.fetch_add(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crew(size: usize) -> Crew {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(size - 1)
            .build()
            .expect("threads start");
        Crew::new(pool, size)
    }

    #[test]
    fn every_index_runs_once_per_job() {
        for (size, spin) in [(2, Duration::ZERO), (3, Duration::from_micros(200))] {
            let crew = crew(size);
            crew.set_idle_spin(spin);
            let counts: Vec<AtomicUsize> = (0..size).map(|_| AtomicUsize::new(0)).collect();
            for _ in 0..500 {
                crew.run(&|index| {
                    counts[index].fetch_add(1, Ordering::Relaxed);
                });
            }
            for (index, count) in counts.iter().enumerate() {
                assert_eq!(
                    count.load(Ordering::Relaxed),
                    500,
                    "{size} threads, index {index}"
                );
            }
        }
    }

    #[test]
    fn jobs_started_after_idle_loops_end_still_run() {
        let crew = crew(2);
        crew.set_idle_spin(Duration::from_micros(50));
        let count = AtomicUsize::new(0);
        for round in 0..20 {
            // Let the worker's loop end now and then, and hand it a job right around then.
            std::thread::sleep(Duration::from_micros(40 + 5 * (round % 5)));
            crew.run(&|index| {
                if index == 1 {
                    count.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        assert_eq!(count.load(Ordering::Relaxed), 20);
    }

    #[test]
    fn restarted_loops_run_each_job_once() {
        // Short idle loops on 4 threads end and restart all the time.
        let crew = crew(4);
        crew.set_idle_spin(Duration::from_micros(1));
        for round in 0..2000 {
            let counts: Vec<AtomicUsize> = (0..4).map(|_| AtomicUsize::new(0)).collect();
            crew.run(&|index| {
                counts[index].fetch_add(1, Ordering::Relaxed);
            });
            let counts: Vec<usize> = counts.iter().map(|c| c.load(Ordering::Relaxed)).collect();
            assert_eq!(counts, [1, 1, 1, 1], "round {round}");
        }
    }

    #[test]
    fn nested_and_concurrent_calls_run_every_share_once() {
        let crew = crew(2);
        crew.set_idle_spin(Duration::from_micros(100));
        let count = AtomicUsize::new(0);
        crew.run(&|_| {
            crew.run(&|_| {
                count.fetch_add(1, Ordering::Relaxed);
            });
        });
        assert_eq!(count.load(Ordering::Relaxed), 4);
        let count = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    for _ in 0..200 {
                        crew.run(&|_| {
                            count.fetch_add(1, Ordering::Relaxed);
                        });
                    }
                });
            }
        });
        assert_eq!(count.load(Ordering::Relaxed), 800);
    }

    #[test]
    fn worker_panic_reaches_caller() {
        let crew = crew(2);
        crew.set_idle_spin(Duration::from_micros(100));
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            crew.run(&|index| assert!(index != 1, "worker share fails on purpose"));
        }));
        assert!(outcome.is_err(), "the worker's panic must reach the caller");
        // Both shares panic: the next call must not raise a stale panic.
        let both = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            crew.run(&|_| panic!("every share fails on purpose"));
        }));
        assert!(both.is_err());
        let count = AtomicUsize::new(0);
        crew.run(&|_| {
            count.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(count.load(Ordering::Relaxed), 2);
    }
}
