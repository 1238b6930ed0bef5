//! The background reader against scripted openings: no network, paused time.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::super::entries::tests::Collect;
use super::*;
use crate::platform::event::Phase;

/// One scripted answer: status, where its body starts, its chunks, and whether it is cut off
/// after them.
struct Script {
    status: u16,
    start: u64,
    chunks: Vec<&'static str>,
    cut: bool,
}

fn answer(status: u16, chunks: &[&'static str], cut: bool) -> Script {
    Script {
        status,
        start: 0,
        chunks: chunks.to_vec(),
        cut,
    }
}

/// (from, last_id) of every opening.
type Openings = Arc<Mutex<Vec<(u64, Option<String>)>>>;

#[derive(Clone, Default)]
struct Fake {
    answers: Arc<Mutex<VecDeque<Script>>>,
    opened: Openings,
    /// Chunks taken from the bodies.
    pulled: Arc<AtomicUsize>,
}

impl Fake {
    fn new(answers: Vec<Script>) -> Self {
        Self {
            answers: Arc::new(Mutex::new(answers.into())),
            ..Self::default()
        }
    }

    fn opened(&self) -> Vec<(u64, Option<String>)> {
        self.opened.lock().unwrap().clone()
    }
}

#[async_trait]
impl Opener for Fake {
    async fn open(&self, from: u64, last_id: Option<&str>) -> Result<Opened> {
        self.opened
            .lock()
            .unwrap()
            .push((from, last_id.map(str::to_string)));
        let Some(script) = self.answers.lock().unwrap().pop_front() else {
            return Err(Error::PlatformApi {
                platform: "p".into(),
                method: "GET".into(),
                url: "u".into(),
                status: 404,
                body: String::new(),
                retry_after: None,
            });
        };
        if script.status >= 500 {
            return Err(Error::PlatformApi {
                platform: "p".into(),
                method: "GET".into(),
                url: "u".into(),
                status: script.status,
                body: String::new(),
                retry_after: None,
            });
        }
        let pulled = Arc::clone(&self.pulled);
        let mut items: Vec<std::result::Result<Bytes, String>> = script
            .chunks
            .iter()
            .map(|c| Ok(Bytes::from_static(c.as_bytes())))
            .collect();
        if script.cut {
            items.push(Err("connection reset".into()));
        }
        let body = futures_util::stream::iter(items)
            .inspect(move |_| {
                pulled.fetch_add(1, Ordering::SeqCst);
            })
            .boxed();
        Ok(Opened {
            status: script.status,
            start: script.start,
            body,
        })
    }

    fn dropped(&self, message: &str) -> Error {
        Error::Unreachable {
            platform: "p".into(),
            url: "u".into(),
            message: format!("dropped {MAX_FAILURES} times: {message}"),
            hint: String::new(),
        }
    }
}

/// Reads the live log until it ends (or fails), as the engine would, a poll at a time.
async fn read_all(live: Live) -> (Vec<String>, Result<()>) {
    let mut op = Operation::new(Phase::Build, "1", crate::platform::backend::Vars::new());
    let mut st = HttpState {
        live: Some(live),
        ..HttpState::default()
    };
    let mut sink = Collect::default();
    for _ in 0..1000 {
        match take_live(&mut op, &mut st, &mut sink).await {
            Ok(read) if read.complete == Some(true) => return (sink.0, Ok(())),
            Ok(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            Err(e) => return (sink.0, Err(e)),
        }
    }
    panic!("the stream never ended: {:?}", sink.0);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_stream_resumes_from_the_bytes_shown_and_shows_each_line_once() {
    let mut resumed = answer(206, &["rd\nfour\n"], false);
    resumed.start = 11;
    let fake = Fake::new(vec![answer(200, &["one\ntwo\nthi"], true), resumed]);
    let (lines, end) = read_all(spawn(fake.clone(), StreamFormat::Text, 0)).await;
    end.unwrap();
    assert_eq!(lines, ["one", "two", "third", "four"]);
    assert_eq!(fake.opened(), [(0, None), (11, None)]);
}

#[tokio::test(start_paused = true)]
async fn a_whole_answer_after_a_drop_skips_what_was_shown() {
    let fake = Fake::new(vec![
        answer(200, &["one\ntw"], true),
        answer(200, &["one\n", "two\nthree\n"], false),
    ]);
    let (lines, end) = read_all(spawn(fake.clone(), StreamFormat::Text, 0)).await;
    end.unwrap();
    assert_eq!(lines, ["one", "two", "three"]);
    assert_eq!(fake.opened(), [(0, None), (6, None)]);
}

#[tokio::test(start_paused = true)]
async fn range_not_satisfiable_means_complete() {
    let fake = Fake::new(vec![
        answer(200, &["all of it\n"], true),
        answer(416, &[], false),
    ]);
    let (lines, end) = read_all(spawn(fake.clone(), StreamFormat::Text, 0)).await;
    end.unwrap();
    assert_eq!(lines, ["all of it"]);
    assert_eq!(fake.opened().len(), 2);
}

#[tokio::test(start_paused = true)]
async fn server_sent_events_resume_after_the_last_event_id() {
    let fake = Fake::new(vec![
        answer(200, &["id: 1\ndata: one\n\nid: 2\ndata: tw"], true),
        answer(200, &["id: 2\ndata: two\n\n", "data: three\n\n"], false),
    ]);
    let (lines, end) = read_all(spawn(fake.clone(), StreamFormat::Sse, 0)).await;
    end.unwrap();
    assert_eq!(lines, ["one", "two", "three"]);
    assert_eq!(fake.opened(), [(0, None), (0, Some("1".into()))]);
}

#[tokio::test(start_paused = true)]
async fn a_stream_that_keeps_dropping_without_progress_gives_up() {
    let mut answers = vec![answer(200, &["a\n"], true)];
    for _ in 0..MAX_FAILURES + 2 {
        answers.push(answer(503, &[], false));
    }
    let fake = Fake::new(answers);
    let (lines, end) = read_all(spawn(fake.clone(), StreamFormat::Text, 0)).await;
    assert_eq!(lines, ["a"]);
    let e = end.unwrap_err();
    assert!(e.to_string().contains("dropped 8 times"), "{e}");
    // The drop that brought a line, then 7 failures in a row.
    assert_eq!(fake.opened().len(), 8);
}

#[tokio::test(start_paused = true)]
async fn an_answer_that_is_not_transient_ends_the_stream_at_once() {
    let fake = Fake::new(vec![]);
    let (_, end) = read_all(spawn(fake.clone(), StreamFormat::Text, 0)).await;
    assert!(end.unwrap_err().to_string().contains("404"));
    assert_eq!(fake.opened().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_log_nobody_reads_fills_the_channel_and_then_waits() {
    let chunks: Vec<&'static str> = vec!["line\n"; 10 * CHANNEL];
    let fake = Fake::new(vec![answer(200, &chunks, false)]);
    let live = spawn(fake.clone(), StreamFormat::Text, 0);
    tokio::time::sleep(Duration::from_secs(5)).await;
    let pulled = fake.pulled.load(Ordering::SeqCst);
    // The channel is full and the body is read no further: memory stays flat.
    assert!(pulled <= CHANNEL + 2, "{pulled}");
    let (lines, end) = read_all(live).await;
    end.unwrap();
    assert_eq!(lines.len(), 10 * CHANNEL);
}

#[tokio::test(start_paused = true)]
async fn stopping_the_reader_ends_its_task() {
    let chunks: Vec<&'static str> = vec!["line\n"; 10 * CHANNEL];
    let fake = Fake::new(vec![answer(200, &chunks, false)]);
    let live = spawn(fake.clone(), StreamFormat::Text, 0);
    let watch = live.clone();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(!watch.stopped());
    live.stop();
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(watch.stopped());
}
