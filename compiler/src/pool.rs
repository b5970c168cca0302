//! Independent jobs on every core, the calling thread among them: how the CLI formats the
//! generated Rust (most of the cost of `schemac generate`, docs/bench-compile.md).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Where jobs run: on every core, or on the calling thread only. Inside a procedural macro,
/// syn reaches the compiler's `proc_macro` bridge, which exists on the macro's own thread only:
/// a macro that formats must use [`Threads::One`], or make proc-macro2 use its own
/// implementation meanwhile (`proc_macro2::fallback::force`, as `catalogue!` does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Threads {
    /// One thread per core (`std::thread::available_parallelism`), the calling thread being one.
    All,
    /// The calling thread.
    One,
}

/// `job` of every item, the results in the order of `items`. With [`Threads::All`], each
/// thread takes the next item not taken yet until none is left, so the work spreads evenly
/// when the largest items come first.
pub fn map<T: Sync, R: Send>(
    threads: Threads,
    items: &[T],
    job: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let count = match threads {
        Threads::All => std::thread::available_parallelism().map_or(1, |n| n.get()),
        Threads::One => 1,
    }
    .min(items.len());
    if count <= 1 {
        return items.iter().map(job).collect();
    }
    let next = AtomicUsize::new(0);
    let done = Mutex::new(Vec::with_capacity(items.len()));
    let work = || {
        let mut mine = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else { break };
            mine.push((i, job(item)));
        }
        done.lock().unwrap_or_else(|e| e.into_inner()).extend(mine);
    };
    std::thread::scope(|scope| {
        for _ in 1..count {
            // A thread the system refuses is one helper fewer: the calling thread takes
            // whatever is left.
            // The main thread's stack size (std's default for others is 2 MiB), so a job
            // needs the same stack whichever thread takes it.
            let _ = std::thread::Builder::new()
                .stack_size(8 << 20)
                .spawn_scoped(scope, work);
        }
        work();
    });
    let mut done = done.into_inner().unwrap_or_else(|e| e.into_inner());
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_order_of_the_items_whichever_thread_ran_them() {
        let items: Vec<u64> = (0..200).collect();
        // Uneven jobs, so threads finish out of order.
        let job = |n: &u64| {
            let mut x = *n;
            for _ in 0..(n % 7) * 1000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
            (*n, x)
        };
        let all = map(Threads::All, &items, job);
        let one = map(Threads::One, &items, job);
        assert_eq!(all, one);
        assert_eq!(all.iter().map(|(n, _)| *n).collect::<Vec<_>>(), items);
    }

    #[test]
    fn one_thread_runs_on_the_calling_thread() {
        let me = std::thread::current().id();
        let ids = map(Threads::One, &[1, 2, 3], |_| std::thread::current().id());
        assert!(ids.iter().all(|id| *id == me));
    }

    #[test]
    fn no_items_no_results() {
        assert!(map(Threads::All, &[] as &[u8], |_| 0).is_empty());
    }
}
