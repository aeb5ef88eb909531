//! Request building, reply parsing and retry rules, and the HTTP exchange
//! against a scripted server on a loopback port. End-to-end proof with a real
//! server and model is in tests/integration/openai.rs.

use super::*;
use crate::context::RequestContext;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;

fn ctx() -> RequestContext {
    RequestContext::new(Os::Linux, "bash", "~/project")
}

fn request(query: &str, avoid: &[&str]) -> GenerateRequest {
    GenerateRequest {
        avoid: avoid.iter().map(|s| s.to_string()).collect(),
        ..GenerateRequest::plain(query, ctx())
    }
}

fn settings(base_url: &str) -> OpenAiSettings {
    OpenAiSettings {
        base_url: base_url.into(),
        model: "qwen-test".into(),
        api_key_env: "CMDAI_TEST_NO_SUCH_KEY_VAR".into(),
        timeout: Duration::from_secs(5),
        retries: 2,
    }
}

// ---------------------------------------------------------------------------
// Settings

#[test]
fn the_declared_defaults() {
    let s = OpenAiSettings::default();
    assert_eq!(s.base_url, "http://127.0.0.1:8080/v1");
    assert_eq!(s.model, "default");
    assert_eq!(s.api_key_env, "OPENAI_API_KEY");
    assert_eq!(s.timeout, Duration::from_secs(60));
    assert_eq!(s.retries, 2);
    assert_eq!(s.endpoint(), "http://127.0.0.1:8080/v1/chat/completions");
    let s = OpenAiSettings {
        base_url: "http://gpu-box:8000/v1/".into(),
        ..s
    };
    assert_eq!(s.endpoint(), "http://gpu-box:8000/v1/chat/completions");
}

// ---------------------------------------------------------------------------
// Request building

#[test]
fn messages_are_the_prompt_prefix_then_the_request_turn() {
    let msgs = command_messages(&request("show free disk space", &[]));
    let prefix = prompt::prefix_messages(Os::Linux);
    assert_eq!(&msgs[..prefix.len()], &prefix[..]);
    assert_eq!(msgs.len(), prefix.len() + 1);
    let last = msgs.last().unwrap();
    assert_eq!(last.role, "user");
    assert_eq!(last.content, "[bash .] show free disk space");
}

#[test]
fn avoid_list_is_worded_like_the_local_engine() {
    let msgs = command_messages(&request("list files", &["ls", "ls -la"]));
    assert_eq!(
        msgs.last().unwrap().content,
        "[bash .] list files (give a different command than: ls ; ls -la)"
    );
}

#[test]
fn request_body_is_a_deterministic_chat_completion() {
    let msgs = command_messages(&request("count lines in notes.txt", &[]));
    let body = request_body("qwen-test", &msgs, 192);
    assert_eq!(body["model"], "qwen-test");
    assert_eq!(body["temperature"], 0);
    assert_eq!(body["max_tokens"], 192);
    assert_eq!(body["stream"], false);
    // No stop sequence: a newline or brace may be part of the answer.
    assert!(body.get("stop").is_none());
    let sent = body["messages"].as_array().unwrap();
    assert_eq!(sent.len(), msgs.len());
    assert_eq!(sent[0]["role"], "system");
    for (m, s) in msgs.iter().zip(sent) {
        assert_eq!(s["role"], m.role);
        assert_eq!(s["content"], m.content.as_str());
    }
    // The examples teach the JSON answer shape.
    assert!(sent[2]["content"]
        .as_str()
        .unwrap()
        .starts_with("{\"cmd\": \""));
}

// ---------------------------------------------------------------------------
// Reply parsing

const LLAMA_REPLY: &str = r#"{"choices":[{"finish_reason":"stop","index":0,"message":{"role":"assistant","content":"{\"cmd\": \"df -h\"}"}}],"created":1,"model":"m.gguf","object":"chat.completion","usage":{"completion_tokens":9,"prompt_tokens":812,"total_tokens":821},"id":"x","timings":{"prompt_n":812,"prompt_ms":3120.5,"predicted_n":9,"predicted_ms":401.4}}"#;

#[test]
fn parses_a_llama_server_reply_with_timings() {
    let r = parse_reply_json(LLAMA_REPLY).unwrap();
    assert_eq!(r.text, r#"{"cmd": "df -h"}"#);
    assert_eq!((r.prompt_tokens, r.generated_tokens), (812, 9));
    assert_eq!((r.prompt_ms, r.generate_ms), (Some(3120.5), Some(401.4)));
    let g = Reply {
        round_trip: Duration::from_millis(3600),
        ..r
    }
    .into_generation(Instant::now());
    assert!(!g.prefilled);
    assert_eq!((g.timings.prompt, g.timings.generate), (3121, 401));
    assert_eq!(
        crate::parser::parse_reply(&g.text).unwrap().command,
        "df -h"
    );
}

#[test]
fn parses_a_plain_openai_reply() {
    let body = r#"{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"wc -l notes.txt"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":4}}"#;
    let r = parse_reply_json(body).unwrap();
    assert_eq!(r.text, "wc -l notes.txt");
    assert_eq!(r.prompt_ms, None);
    // Without server timings the round trip counts as generation time.
    let g = Reply {
        round_trip: Duration::from_millis(250),
        ..r
    }
    .into_generation(Instant::now());
    assert_eq!(
        (g.timings.load, g.timings.prompt, g.timings.generate),
        (0, 0, 250)
    );

    let null = r#"{"choices":[{"message":{"role":"assistant","content":null}}]}"#;
    assert_eq!(parse_reply_json(null).unwrap().text, "");
}

#[test]
fn replies_that_are_not_chat_completions_are_errors() {
    for (body, needle) in [
        ("<html>nginx</html>", "invalid JSON"),
        (r#"{"object":"list","data":[]}"#, "choices"),
        (r#"{"choices":[{"text":"ls"}]}"#, "message"),
        (r#"{"choices":[{"message":{"content":[1]}}]}"#, "not text"),
        (
            r#"{"error":{"message":"model is loading","code":503}}"#,
            "model is loading",
        ),
    ] {
        let e = parse_reply_json(body).unwrap_err();
        assert!(e.contains(needle), "{body}: {e}");
    }
}

#[test]
fn server_messages_are_short_single_lines() {
    assert_eq!(
        server_message(
            r#"{"error":{"message":"The model `x` does not exist","type":"invalid_request_error"}}"#
        ),
        "The model `x` does not exist"
    );
    assert_eq!(
        server_message(r#"{"error":"model 'x' not found"}"#),
        "model 'x' not found"
    );
    assert_eq!(server_message(r#"{"detail":"Not Found"}"#), "Not Found");
    assert_eq!(server_message("Bad\n  Gateway"), "Bad Gateway");
    let long = server_message(&"x".repeat(1000));
    assert_eq!(long.chars().count(), MAX_SERVER_MESSAGE + 1);
    assert!(long.ends_with('…'));
}

// ---------------------------------------------------------------------------
// Retry rules

fn status(code: u16) -> Failure {
    Failure::Status {
        code,
        message: String::new(),
        retry_after: None,
    }
}

#[test]
fn what_is_retried() {
    for code in [429, 500, 502, 503, 504] {
        assert!(status(code).retryable(), "{code}");
    }
    for code in [400, 401, 403, 404, 405, 413, 422] {
        assert!(!status(code).retryable(), "{code}");
    }
    assert!(Failure::Connect("connection refused".into()).retryable());
    assert!(Failure::Transport {
        why: "reset".into(),
        retry: true
    }
    .retryable());
    assert!(!Failure::Transport {
        why: "dns".into(),
        retry: false
    }
    .retryable());
    assert!(!Failure::Timeout.retryable());
    assert!(!Failure::BadReply("x".into()).retryable());
}

#[test]
fn backoff_doubles_and_honours_retry_after() {
    let f = status(503);
    let pauses: Vec<_> = (0..6).map(|a| backoff(a, &f).unwrap()).collect();
    assert_eq!(pauses[0], Duration::from_millis(500));
    assert_eq!(pauses[1], Duration::from_secs(1));
    assert_eq!(pauses[2], Duration::from_secs(2));
    assert_eq!(pauses[5], MAX_BACKOFF);
    let ask = |s| Failure::Status {
        code: 429,
        message: String::new(),
        retry_after: Some(Duration::from_secs(s)),
    };
    assert_eq!(backoff(0, &ask(3)), Some(Duration::from_secs(3)));
    assert_eq!(backoff(0, &ask(3600)), None);
}

#[test]
fn loopback_hosts_are_recognised() {
    for u in [
        "http://127.0.0.1:8080/v1",
        "http://localhost/v1",
        "http://LOCALHOST:1",
        "http://[::1]:8080/v1",
        "http://127.1.2.3",
    ] {
        assert!(is_loopback(u), "{u}");
    }
    for u in [
        "http://10.0.0.5:8000/v1",
        "https://api.openai.com/v1",
        "http://localhost.example.com/v1",
    ] {
        assert!(!is_loopback(u), "{u}");
    }
}

#[test]
fn explanations_end_after_the_effect_line() {
    assert_eq!(
        cut_after_effect("ls - lists\nEffect: only reads.\nMore chatter\n"),
        "ls - lists\nEffect: only reads.\n"
    );
    assert_eq!(cut_after_effect("ls - lists"), "ls - lists");
}

// ---------------------------------------------------------------------------
// HTTP exchange with a scripted server on a loopback port

struct Canned {
    status: u16,
    headers: &'static str,
    body: String,
}

fn ok(body: &str) -> Canned {
    Canned {
        status: 200,
        headers: "",
        body: body.into(),
    }
}

fn fail(status: u16, body: &str) -> Canned {
    Canned {
        status,
        headers: "",
        body: body.into(),
    }
}

/// One request as the server saw it.
#[derive(Debug)]
struct Seen {
    request_line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn read_request(stream: &TcpStream) -> Seen {
    let mut r = BufReader::new(stream);
    let mut request_line = String::new();
    r.read_line(&mut request_line).unwrap();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        r.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (k, v) = line.split_once(':').unwrap();
        headers.push((k.trim().to_string(), v.trim().to_string()));
    }
    let len = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, v)| v.parse().unwrap());
    let mut body = vec![0u8; len];
    r.read_exact(&mut body).unwrap();
    Seen {
        request_line: request_line.trim_end().to_string(),
        headers,
        body: String::from_utf8(body).unwrap(),
    }
}

/// Answers one connection per canned response, in order; returns the base URL
/// and what it was sent.
fn serve(answers: Vec<Canned>) -> (String, JoinHandle<Vec<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    let h = std::thread::spawn(move || {
        let mut seen = Vec::new();
        for a in answers {
            let (mut stream, _) = listener.accept().unwrap();
            seen.push(read_request(&stream));
            let reply = format!(
                "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n{}\r\n{}",
                a.status,
                a.body.len(),
                a.headers,
                a.body
            );
            stream.write_all(reply.as_bytes()).unwrap();
        }
        seen
    });
    (base, h)
}

fn backend(base: &str, key: Option<&str>, retries: u32) -> OpenAiEngine {
    let s = OpenAiSettings {
        retries,
        ..settings(base)
    };
    OpenAiEngine::with_key(s, key.map(str::to_string), Os::Linux)
}

fn ask_free_disk_space(b: &mut OpenAiEngine) -> Result<Generation, EngineError> {
    b.generate(
        &request("show free disk space", &[]),
        &AtomicBool::new(false),
    )
}

fn message(e: EngineError) -> String {
    match e {
        EngineError::Server(m) => m,
        other => panic!("not a server error: {other:?}"),
    }
}

#[test]
fn posts_the_chat_and_returns_the_reply() {
    let (base, h) = serve(vec![ok(LLAMA_REPLY)]);
    let mut b = backend(&base, Some("sk-secret-123"), 0);
    let g = ask_free_disk_space(&mut b).unwrap();
    assert_eq!(g.text, r#"{"cmd": "df -h"}"#);
    assert!(!g.prefilled);
    assert_eq!((g.prompt_tokens, g.generated_tokens), (812, 9));
    assert_eq!(g.timings.prompt, 3121);

    let seen = h.join().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].request_line, "POST /v1/chat/completions HTTP/1.1");
    assert_eq!(
        seen[0].header("authorization"),
        Some("Bearer sk-secret-123")
    );
    assert_eq!(seen[0].header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(body["model"], "qwen-test");
    assert_eq!(
        body["messages"].as_array().unwrap().last().unwrap()["content"],
        "[bash .] show free disk space"
    );
    // The key is not in anything printable.
    assert!(!format!("{b:?}").contains("sk-secret"));
}

#[test]
fn no_key_means_no_authorization_header() {
    let (base, h) = serve(vec![ok(LLAMA_REPLY)]);
    ask_free_disk_space(&mut backend(&base, None, 0)).unwrap();
    let seen = h.join().unwrap();
    assert_eq!(seen[0].header("authorization"), None);
}

#[test]
fn the_key_comes_from_the_named_variable_only_when_not_blank() {
    // A variable name no other test or tool uses; set before any reader runs.
    let var = "CMDAI_OPENAI_UNIT_TEST_KEY";
    let s = OpenAiSettings {
        api_key_env: var.into(),
        ..OpenAiSettings::default()
    };
    std::env::remove_var(var);
    assert_eq!(s.api_key(), None);
    std::env::set_var(var, "  ");
    assert_eq!(s.api_key(), None);
    std::env::set_var(var, "sk-abc");
    assert_eq!(s.api_key().as_deref(), Some("sk-abc"));
    std::env::remove_var(var);
}

#[test]
fn server_errors_and_rate_limits_are_retried() {
    let (base, h) = serve(vec![
        fail(503, r#"{"error":{"message":"Loading model","code":503}}"#),
        Canned {
            status: 429,
            headers: "Retry-After: 0\r\n",
            body: "{}".into(),
        },
        ok(LLAMA_REPLY),
    ]);
    let g = ask_free_disk_space(&mut backend(&base, None, 2)).unwrap();
    assert_eq!(g.text, r#"{"cmd": "df -h"}"#);
    assert_eq!(h.join().unwrap().len(), 3);
}

#[test]
fn retries_run_out_with_a_clear_error() {
    let (base, h) = serve(vec![fail(500, "boom"), fail(502, "Bad Gateway")]);
    let e = message(ask_free_disk_space(&mut backend(&base, None, 1)).unwrap_err());
    assert!(e.contains("HTTP 502: Bad Gateway"), "{e}");
    assert!(e.contains("tried 2 times"), "{e}");
    assert!(e.contains(&base), "{e}");
    assert_eq!(h.join().unwrap().len(), 2);
}

#[test]
fn client_errors_are_not_retried() {
    let (base, h) = serve(vec![fail(
        400,
        r#"{"error":{"message":"'messages' is required","type":"invalid_request_error"}}"#,
    )]);
    let e = message(ask_free_disk_space(&mut backend(&base, None, 3)).unwrap_err());
    assert!(e.contains("HTTP 400: 'messages' is required"), "{e}");
    assert!(!e.contains('\n'));
    assert_eq!(h.join().unwrap().len(), 1);
}

#[test]
fn a_refused_key_names_the_variable_and_never_the_key() {
    let (base, h) = serve(vec![fail(
        401,
        r#"{"error":{"message":"Invalid API Key"}}"#,
    )]);
    let e =
        message(ask_free_disk_space(&mut backend(&base, Some("sk-very-secret"), 3)).unwrap_err());
    assert!(e.contains("HTTP 401: Invalid API Key"), "{e}");
    assert!(e.contains("$CMDAI_TEST_NO_SUCH_KEY_VAR"), "{e}");
    assert!(!e.contains("sk-very-secret"), "{e}");
    assert_eq!(h.join().unwrap().len(), 1);
}

#[test]
fn a_wrong_path_says_where_to_look() {
    let (base, h) = serve(vec![fail(404, "File Not Found")]);
    let e = message(ask_free_disk_space(&mut backend(&base, None, 3)).unwrap_err());
    assert!(e.contains("HTTP 404"), "{e}");
    assert!(e.contains("/v1/chat/completions"), "{e}");
    assert!(e.contains("CMDAI_OPENAI_BASE_URL"), "{e}");
    h.join().unwrap();
}

#[test]
fn nothing_listening_is_retried_then_explained() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let base = format!("http://127.0.0.1:{port}/v1");
    let started = Instant::now();
    let e = message(ask_free_disk_space(&mut backend(&base, None, 1)).unwrap_err());
    assert!(
        e.starts_with(&format!(
            "the inference server at {base} did not answer: connection refused"
        )),
        "{e}"
    );
    assert!(e.contains("tried 2 times"), "{e}");
    assert!(e.contains("unset CMDAI_BACKEND"), "{e}");
    // One backoff pause between the two attempts.
    assert!(
        started.elapsed() >= FIRST_BACKOFF,
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_silent_server_times_out_without_retrying() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/v1", listener.local_addr().unwrap());
    let h = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        read_request(&stream);
        listener.set_nonblocking(true).unwrap();
        // Hold the connection open, and count any second attempt.
        std::thread::sleep(Duration::from_millis(2500));
        let again = listener.accept().is_ok();
        drop(stream);
        again
    });
    let mut b = OpenAiEngine::with_key(
        OpenAiSettings {
            timeout: Duration::from_secs(1),
            ..settings(&base)
        },
        None,
        Os::Linux,
    );
    let started = Instant::now();
    let e = message(ask_free_disk_space(&mut b).unwrap_err());
    assert!(e.contains("did not answer within 1 s"), "{e}");
    assert!(e.contains("CMDAI_OPENAI_TIMEOUT"), "{e}");
    assert!(started.elapsed() < Duration::from_millis(2400));
    assert!(!h.join().unwrap(), "a timed-out request was retried");
}

#[test]
fn cancelling_stops_before_the_next_attempt() {
    let (base, h) = serve(vec![fail(503, "busy")]);
    let cancel = AtomicBool::new(false);
    let b = backend(&base, None, 5);
    let t = std::thread::scope(|s| {
        let r = s.spawn(|| b.chat(&command_messages(&request("x", &[])), 8, &cancel));
        std::thread::sleep(Duration::from_millis(200));
        cancel.store(true, Ordering::Relaxed);
        r.join().unwrap()
    });
    assert!(matches!(t, Err(EngineError::Cancelled)), "{t:?}");
    assert_eq!(h.join().unwrap().len(), 1);
}

#[test]
fn explanations_go_through_the_same_endpoint() {
    let reply = json!({"choices":[{"message":{"role":"assistant","content":"df - disk free\n-h - human sizes\nEffect: only reads; nothing is changed.\nextra"}}]});
    let (base, h) = serve(vec![ok(&reply.to_string())]);
    let mut pieces = String::new();
    let g = backend(&base, None, 0)
        .explain("df -h", &AtomicBool::new(false), &mut |p| {
            pieces.push_str(p)
        })
        .unwrap();
    assert_eq!(
        pieces,
        "df - disk free\n-h - human sizes\nEffect: only reads; nothing is changed.\n"
    );
    assert_eq!(g.text, pieces);
    let seen = h.join().unwrap();
    let body: Value = serde_json::from_str(&seen[0].body).unwrap();
    assert_eq!(body["max_tokens"], explain_prompt::MAX_EXPLAIN_TOKENS);
    assert!(body["messages"][1]["content"]
        .as_str()
        .unwrap()
        .ends_with("df -h"));
}
