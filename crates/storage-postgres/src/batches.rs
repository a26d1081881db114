//! Writes that threads make at the same time, run as one batch (group commit): one batch at a time, of the oldest
//! writes waiting. A write with nothing else waiting runs at once, alone; under a stream of writes (the bot's channels
//! in a burst), those that arrive while a batch runs go together in the next one, which costs one statement and one
//! commit for all of them. Each write returns only once the batch that holds it has ended.
//!
//! The thread of one of the waiting writes runs each batch (there is no thread of its own), so a batch runs on a
//! thread that may block, as every storage call does.

use std::collections::{HashMap, VecDeque};
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::{Condvar, Mutex, MutexGuard, PoisonError};

/// A batch's run panicked: the writes in it have no outcome.
#[derive(Debug, thiserror::Error)]
#[error("the batch holding this write failed unexpectedly (a panic); nothing of it was reported as stored")]
pub(crate) struct BatchPanicked;

/// Writes of type `R` waiting to run, and the outcomes (`O`) of those run, until their threads take them.
pub(crate) struct Batches<R, O> {
    state: Mutex<State<R, O>>,
    ended: Condvar,
}

struct State<R, O> {
    last_ticket: u64,
    waiting: VecDeque<(u64, R)>,
    /// Each write's outcome (and the write, handed back), or why it has none.
    outcomes: HashMap<u64, Result<(R, O), BatchPanicked>>,
    running: bool,
}

impl<R, O> Default for Batches<R, O> {
    fn default() -> Self {
        Self {
            state: Mutex::new(State {
                last_ticket: 0,
                waiting: VecDeque::new(),
                outcomes: HashMap::new(),
                running: false,
            }),
            ended: Condvar::new(),
        }
    }
}

impl<R, O> std::fmt::Debug for Batches<R, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = self.lock();
        f.debug_struct("Batches").field("waiting", &state.waiting.len()).field("running", &state.running).finish()
    }
}

impl<R, O> Batches<R, O> {
    fn lock(&self) -> MutexGuard<'_, State<R, O>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `write` in a batch of at most `max` writes, through `run`, which returns one outcome per write, in their
    /// order; hands the write back with its outcome. `run` is this call's or another's: every call passes the same.
    ///
    /// # Errors
    /// [`BatchPanicked`] when another thread's run of the batch panicked (a panic in this thread's run goes on
    /// unwinding here).
    pub(crate) fn run(
        &self,
        write: R,
        max: usize,
        mut run: impl FnMut(&[R]) -> Vec<O>,
    ) -> Result<(R, O), BatchPanicked> {
        let mut state = self.lock();
        state.last_ticket += 1;
        let ticket = state.last_ticket;
        state.waiting.push_back((ticket, write));
        loop {
            if let Some(outcome) = state.outcomes.remove(&ticket) {
                return outcome;
            }
            if state.running {
                state = self.ended.wait(state).unwrap_or_else(PoisonError::into_inner);
                continue;
            }
            state.running = true;
            let take = state.waiting.len().min(max.max(1));
            let (tickets, batch): (Vec<u64>, Vec<R>) = state.waiting.drain(..take).unzip();
            drop(state);
            let outcomes = catch_unwind(AssertUnwindSafe(|| {
                let outcomes = run(&batch);
                assert_eq!(outcomes.len(), batch.len(), "one outcome per write");
                outcomes
            }));
            state = self.lock();
            state.running = false;
            let panic = match outcomes {
                Ok(outcomes) => {
                    for ((ticket, write), outcome) in tickets.into_iter().zip(batch).zip(outcomes) {
                        state.outcomes.insert(ticket, Ok((write, outcome)));
                    }
                    None
                }
                Err(panic) => {
                    for ticket in tickets {
                        state.outcomes.insert(ticket, Err(BatchPanicked));
                    }
                    Some(panic)
                }
            };
            self.ended.notify_all();
            if let Some(panic) = panic {
                // This thread's own write was in the batch only if its ticket was taken; either way the panic is
                // its run's, and goes on here.
                state.outcomes.remove(&ticket);
                state.waiting.retain(|(t, _)| *t != ticket);
                drop(state);
                resume_unwind(panic);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{BatchPanicked, Batches};
    use std::sync::{Arc, Barrier};
    use std::thread;

    #[test]
    fn a_write_alone_runs_at_once_and_gets_its_own_outcome_back() {
        let batches = Batches::default();
        let (write, outcome) = batches.run(7, 16, |batch| batch.iter().map(|w| w * 2).collect()).unwrap();
        assert_eq!((write, outcome), (7, 14));
    }

    #[test]
    fn writes_waiting_while_a_batch_runs_go_together_in_the_next_and_each_gets_its_outcome() {
        let batches = Arc::new(Batches::default());
        let sizes = Arc::new(std::sync::Mutex::new(Vec::new()));
        let start = Arc::new(Barrier::new(9));
        let handles: Vec<_> = (0..9)
            .map(|i| {
                let (batches, sizes, start) = (Arc::clone(&batches), Arc::clone(&sizes), Arc::clone(&start));
                thread::spawn(move || {
                    start.wait();
                    batches
                        .run(i, 4, |batch: &[i32]| {
                            sizes.lock().unwrap().push(batch.len());
                            thread::sleep(std::time::Duration::from_millis(20));
                            batch.iter().map(|w| w + 100).collect()
                        })
                        .unwrap()
                })
            })
            .collect();
        for (i, handle) in handles.into_iter().enumerate() {
            let i = i32::try_from(i).unwrap();
            assert_eq!(handle.join().unwrap(), (i, i + 100));
        }
        let sizes = sizes.lock().unwrap();
        assert_eq!(sizes.iter().sum::<usize>(), 9, "every write ran once");
        assert!(sizes.iter().all(|&n| n <= 4), "no batch above the most: {sizes:?}");
        assert!(sizes.len() < 9, "writes that waited went together: {sizes:?}");
    }

    #[test]
    fn a_panicking_run_fails_every_write_of_its_batch_and_the_writes_after_it_run() {
        let batches = Arc::new(Batches::<i32, i32>::default());
        let inside = Arc::new(Barrier::new(3));
        // A slow first batch, while two writes queue behind it; their batch panics, whoever runs it.
        let first = {
            let (batches, inside) = (Arc::clone(&batches), Arc::clone(&inside));
            thread::spawn(move || {
                batches.run(1, 16, |batch| {
                    inside.wait();
                    thread::sleep(std::time::Duration::from_millis(100));
                    batch.to_vec()
                })
            })
        };
        let queued: Vec<_> = (2..4)
            .map(|i| {
                let (batches, inside) = (Arc::clone(&batches), Arc::clone(&inside));
                thread::spawn(move || {
                    inside.wait();
                    thread::sleep(std::time::Duration::from_millis(20));
                    batches.run(i, 16, |_| panic!("the run fails"))
                })
            })
            .collect();
        assert_eq!(first.join().unwrap().unwrap(), (1, 1));
        let ended: Vec<_> = queued.into_iter().map(thread::JoinHandle::join).collect();
        assert_eq!(
            ended.iter().filter(|e| e.is_err()).count(),
            1,
            "the panic goes on in the thread that ran the batch"
        );
        assert!(
            ended.iter().any(|e| matches!(e, Ok(Err(BatchPanicked)))),
            "the other write of the batch is told it failed"
        );
        assert_eq!(batches.run(4, 16, |batch| batch.to_vec()).unwrap(), (4, 4), "later writes run");
    }
}
