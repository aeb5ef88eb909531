//! The inference thread: owns an [`Engine`] and serves requests in order.
//!
//! llama.cpp contexts are `!Send`, so the backend is built *on* this thread and
//! never leaves it. Everyone else holds a [`Worker`] (which is `Send + Sync`)
//! and talks to the thread through channels. A request can be cancelled with
//! its flag, e.g. when a daemon client disconnects or the user presses Ctrl-C.

use super::{Engine, EngineError, GenerateRequest, Generation};
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// What a job asks of the backend.
enum Task {
    Command(GenerateRequest),
    /// Explain a command, sending each piece of text as it comes.
    Explain {
        command: String,
        pieces: Sender<String>,
    },
}

struct Job {
    task: Task,
    cancel: Arc<AtomicBool>,
    reply: Sender<Result<Generation, EngineError>>,
}

/// Handle to the inference thread.
pub struct Worker {
    tx: Mutex<Option<Sender<Job>>>,
    ready: Mutex<Option<Receiver<Result<(), EngineError>>>>,
    load_result: Mutex<Option<Result<(), EngineError>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// A request in flight.
pub struct Pending {
    pub cancel: Arc<AtomicBool>,
    rx: Receiver<Result<Generation, EngineError>>,
}

impl Pending {
    /// Waits for the answer.
    pub fn wait(self) -> Result<Generation, EngineError> {
        self.rx.recv().unwrap_or(Err(EngineError::WorkerGone))
    }
    /// Waits up to `timeout`; `None` if still running.
    pub fn wait_timeout(
        &self,
        timeout: std::time::Duration,
    ) -> Option<Result<Generation, EngineError>> {
        match self.rx.recv_timeout(timeout) {
            Ok(r) => Some(r),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => Some(Err(EngineError::WorkerGone)),
        }
    }
}

impl Worker {
    /// Starts the thread; `make` builds the backend on it (loading the model).
    pub fn spawn<F>(make: F) -> Worker
    where
        F: FnOnce() -> Result<Box<dyn Engine>, EngineError> + Send + 'static,
    {
        let (tx, rx) = mpsc::channel::<Job>();
        let (ready_tx, ready_rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("cmdai-inference".into())
            .spawn(move || {
                let mut backend = match make() {
                    Ok(b) => {
                        let _ = ready_tx.send(Ok(()));
                        b
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.clone()));
                        for job in rx {
                            let _ = job.reply.send(Err(e.clone()));
                        }
                        return;
                    }
                };
                for job in rx {
                    if job.cancel.load(std::sync::atomic::Ordering::Relaxed) {
                        let _ = job.reply.send(Err(EngineError::Cancelled));
                        continue;
                    }
                    let result = match job.task {
                        Task::Command(req) => backend.generate(&req, &job.cancel),
                        Task::Explain { command, pieces } => {
                            // A reader that went away does not stop the work;
                            // its cancel flag does.
                            backend.explain(&command, &job.cancel, &mut |p| {
                                let _ = pieces.send(p.to_string());
                            })
                        }
                    };
                    let _ = job.reply.send(result);
                }
            })
            .expect("spawning the inference thread");
        Worker {
            tx: Mutex::new(Some(tx)),
            ready: Mutex::new(Some(ready_rx)),
            load_result: Mutex::new(None),
            thread: Mutex::new(Some(thread)),
        }
    }

    /// Blocks until the backend is loaded (or failed to load).
    pub fn wait_ready(&self) -> Result<(), EngineError> {
        let mut cached = self.load_result.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(r) = cached.as_ref() {
            return r.clone();
        }
        let rx = self.ready.lock().unwrap_or_else(|e| e.into_inner()).take();
        let r = rx
            .and_then(|rx| rx.recv().ok())
            .unwrap_or(Err(EngineError::WorkerGone));
        *cached = Some(r.clone());
        r
    }

    /// Queues a request; requests are served one at a time, in order.
    pub fn submit(&self, req: GenerateRequest) -> Pending {
        self.queue(Task::Command(req))
    }

    /// Queues an explanation of `command`. The receiver yields its text piece
    /// by piece and closes before the [`Pending`] answer arrives.
    pub fn submit_explain(&self, command: String) -> (Pending, Receiver<String>) {
        let (pieces, rx) = mpsc::channel();
        (self.queue(Task::Explain { command, pieces }), rx)
    }

    fn queue(&self, task: Task) -> Pending {
        let cancel = Arc::new(AtomicBool::new(false));
        let (reply, rx) = mpsc::channel();
        let job = Job {
            task,
            cancel: cancel.clone(),
            reply,
        };
        let sent = self
            .tx
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .as_ref()
            .map(|tx| tx.send(job).is_ok())
            .unwrap_or(false);
        if !sent {
            let (reply, rx2) = mpsc::channel();
            let _ = reply.send(Err(EngineError::WorkerGone));
            return Pending { cancel, rx: rx2 };
        }
        Pending { cancel, rx }
    }

    /// Submits and waits.
    pub fn submit_and_wait(&self, req: GenerateRequest) -> Result<Generation, EngineError> {
        self.submit(req).wait()
    }

    /// Stops accepting work and waits for the thread to finish its queue.
    pub fn shutdown(&self) {
        self.tx.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(t) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::RequestContext;
    use crate::engine::Timings;
    use std::sync::atomic::Ordering;

    struct Echo;
    impl Engine for Echo {
        fn generate(
            &mut self,
            req: &GenerateRequest,
            _c: &AtomicBool,
        ) -> Result<Generation, EngineError> {
            Ok(Generation {
                text: req.query.clone(),
                prefilled: false,
                retried: false,
                prompt_tokens: 0,
                generated_tokens: 0,
                timings: Timings::default(),
                candidates: Vec::new(),
            })
        }
    }

    fn req(q: &str) -> GenerateRequest {
        GenerateRequest::plain(q, RequestContext::detect())
    }

    #[test]
    fn serves_requests_in_order_from_many_threads() {
        let w = Arc::new(Worker::spawn(|| Ok(Box::new(Echo) as Box<dyn Engine>)));
        w.wait_ready().unwrap();
        let handles: Vec<_> = (0..10)
            .map(|i| {
                let w = w.clone();
                std::thread::spawn(move || w.submit_and_wait(req(&format!("q{i}"))).unwrap().text)
            })
            .collect();
        let mut got: Vec<String> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        got.sort();
        assert_eq!(got.len(), 10);
        assert!(got.contains(&"q7".to_string()));
    }

    #[test]
    fn explanations_stream_before_the_answer() {
        struct Words;
        impl Engine for Words {
            fn generate(
                &mut self,
                _r: &GenerateRequest,
                _c: &AtomicBool,
            ) -> Result<Generation, EngineError> {
                Err(EngineError::Inference("unused".into()))
            }
            fn explain(
                &mut self,
                command: &str,
                _c: &AtomicBool,
                on_piece: &mut dyn FnMut(&str),
            ) -> Result<Generation, EngineError> {
                for w in command.split_inclusive(' ') {
                    on_piece(w);
                }
                Ok(Generation {
                    text: command.to_string(),
                    prefilled: false,
                    retried: false,
                    prompt_tokens: 0,
                    generated_tokens: 0,
                    timings: Timings::default(),
                    candidates: Vec::new(),
                })
            }
        }
        let w = Worker::spawn(|| Ok(Box::new(Words) as Box<dyn Engine>));
        let (pending, pieces) = w.submit_explain("ls -l /tmp".into());
        let streamed: Vec<String> = pieces.iter().collect();
        assert_eq!(streamed, ["ls ", "-l ", "/tmp"]);
        assert_eq!(pending.wait().unwrap().text, "ls -l /tmp");
        // The default backend method says it cannot explain.
        let w = Worker::spawn(|| Ok(Box::new(Echo) as Box<dyn Engine>));
        let (pending, pieces) = w.submit_explain("ls".into());
        assert_eq!(pieces.iter().count(), 0);
        assert!(pending.wait().is_err());
    }

    #[test]
    fn load_failure_reaches_every_request() {
        let w = Worker::spawn(|| {
            Err(EngineError::Load {
                path: "/nope".into(),
            })
        });
        assert!(matches!(w.wait_ready(), Err(EngineError::Load { .. })));
        assert!(matches!(
            w.submit_and_wait(req("x")),
            Err(EngineError::Load { .. })
        ));
    }

    #[test]
    fn cancelled_before_start_is_not_run() {
        let w = Worker::spawn(|| Ok(Box::new(Echo) as Box<dyn Engine>));
        let p = w.submit(req("x"));
        p.cancel.store(true, Ordering::Relaxed);
        // Either it ran before the flag was seen, or it was cancelled: never lost.
        let r = p.wait();
        assert!(r.is_ok() || matches!(r, Err(EngineError::Cancelled)));
        w.shutdown();
    }
}
