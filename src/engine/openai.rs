//! A shared inference server: any OpenAI-compatible `POST /chat/completions`
//! endpoint (llama.cpp's `llama-server`, vLLM, Ollama's `/v1`, a hosted API).
//!
//! It is sent the same conversation the local engine renders (system message,
//! few-shot example turns, the request turn with its `avoid` list), at
//! temperature 0. Such servers cannot be given our grammar nor a pre-filled
//! answer, so the reply is free-form: the examples teach the `{"cmd": "…"}`
//! shape and [`crate::parser::parse_reply`] copes with what comes back
//! (`prefilled` is false). No stop sequence is sent: a newline or `}` can be
//! part of the answer's JSON or of the command itself; `max_tokens` bounds it.
//!
//! Connection failures, HTTP 429 and 5xx answers are retried with exponential
//! backoff (honouring a short `Retry-After`); other 4xx answers and timeouts
//! are not. The API key is read from the environment variable the settings
//! name, sent only as `Authorization: Bearer`, and never printed.

use super::{Engine, EngineError, GenerateRequest, Generation, Timings};
use crate::context::Os;
use crate::pipeline::explain_prompt;
use crate::pipeline::prompt::{self, Message};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Room for what a chat model wraps around the command (`{"cmd": "`, a code
/// fence) beyond the command itself.
const REPLY_OVERHEAD_TOKENS: usize = 32;
/// First pause before a retry; doubled each time, at most [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// Longest wait a server's `Retry-After` may ask for; longer means "give up".
const MAX_RETRY_AFTER: Duration = Duration::from_secs(20);
/// Longest piece of a server's error message quoted to the user.
const MAX_SERVER_MESSAGE: usize = 200;

/// Where the server is and how to talk to it: the `[openai]` settings
/// ([`crate::settings::OPENAI_BASE_URL`] and the four after it), resolved
/// from the environment, the config file and their declared defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAiSettings {
    /// Up to and including the API version, e.g. `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    /// The `model` field of each request (single-model servers ignore it).
    pub model: String,
    /// Name of the environment variable holding the API key (not the key).
    pub api_key_env: String,
    /// Limit for one attempt, connecting included.
    pub timeout: Duration,
    /// Extra attempts after a retryable failure.
    pub retries: u32,
}

impl Default for OpenAiSettings {
    /// The declared defaults (written once, in the settings table).
    fn default() -> Self {
        use crate::settings as s;
        OpenAiSettings {
            base_url: s::OPENAI_BASE_URL.fallback_value(),
            model: s::OPENAI_MODEL.fallback_value(),
            api_key_env: s::OPENAI_API_KEY_ENV.fallback_value(),
            timeout: s::OPENAI_TIMEOUT.fallback_value(),
            retries: s::OPENAI_RETRIES.fallback_value(),
        }
    }
}

impl OpenAiSettings {
    /// `{base_url}/chat/completions`, whether or not the base ends with `/`.
    pub fn endpoint(&self) -> String {
        format!("{}/chat/completions", self.base_url.trim_end_matches('/'))
    }

    /// The API key: the variable named by `api_key_env`, if set and not blank.
    pub fn api_key(&self) -> Option<String> {
        std::env::var(&self.api_key_env)
            .ok()
            .filter(|k| !k.trim().is_empty())
    }
}

/// Talks to one OpenAI-compatible server.
pub struct OpenAiEngine {
    settings: OpenAiSettings,
    /// Never shown: `Debug` prints only whether there is one.
    api_key: Option<String>,
    agent: ureq::Agent,
    /// For explanations (a command request carries its own context).
    os: Os,
}

impl std::fmt::Debug for OpenAiEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiEngine")
            .field("settings", &self.settings)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl OpenAiEngine {
    /// Reads the API key from the environment now.
    pub fn new(settings: OpenAiSettings, os: Os) -> Self {
        let api_key = settings.api_key();
        Self::with_key(settings, api_key, os)
    }

    fn with_key(settings: OpenAiSettings, api_key: Option<String>, os: Os) -> Self {
        let mut b = ureq::AgentBuilder::new()
            .timeout_connect(settings.timeout.min(Duration::from_secs(10)))
            .timeout(settings.timeout)
            .user_agent(concat!("cmdai/", env!("CARGO_PKG_VERSION")));
        // ureq ignores NO_PROXY: a server on this machine is never proxied.
        if !is_loopback(&settings.base_url) {
            b = b.try_proxy_from_env(true);
        }
        OpenAiEngine {
            settings,
            api_key,
            agent: b.build(),
            os,
        }
    }

    pub fn settings(&self) -> &OpenAiSettings {
        &self.settings
    }

    /// Sends one chat, retrying what may succeed on a second try.
    fn chat(
        &self,
        messages: &[Message],
        max_tokens: usize,
        cancel: &AtomicBool,
    ) -> Result<Reply, EngineError> {
        let body = request_body(&self.settings.model, messages, max_tokens).to_string();
        let url = self.settings.endpoint();
        let mut attempt = 0u32;
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled);
            }
            let sent = Instant::now();
            let mut req = self
                .agent
                .post(&url)
                .set("Content-Type", "application/json")
                .set("Accept", "application/json");
            if let Some(key) = &self.api_key {
                req = req.set("Authorization", &format!("Bearer {key}"));
            }
            let failure = match req.send_string(&body) {
                Ok(resp) => match resp.into_string() {
                    Ok(text) => {
                        return parse_reply_json(&text)
                            .map(|mut r| {
                                r.round_trip = sent.elapsed();
                                r
                            })
                            .map_err(|why| self.error(&Failure::BadReply(why), attempt + 1))
                    }
                    Err(e) => Failure::Transport {
                        why: format!("the answer could not be read: {e}"),
                        retry: true,
                    },
                },
                Err(e) => classify(e),
            };
            if attempt >= self.settings.retries || !failure.retryable() {
                return Err(self.error(&failure, attempt + 1));
            }
            let pause =
                backoff(attempt, &failure).ok_or_else(|| self.error(&failure, attempt + 1))?;
            sleep_unless_cancelled(pause, cancel)?;
            attempt += 1;
        }
    }

    /// One sentence: what went wrong with which server, and a way out.
    fn error(&self, f: &Failure, attempts: u32) -> EngineError {
        let at = format!("the inference server at {}", self.settings.base_url);
        let tries = if attempts > 1 {
            format!(" (tried {attempts} times)")
        } else {
            String::new()
        };
        let local = "or unset CMDAI_BACKEND to use the local model";
        EngineError::Server(match f {
            Failure::Connect(why) => format!(
                "{at} did not answer: {why}{tries}; start it, check CMDAI_OPENAI_BASE_URL, {local}"
            ),
            Failure::Timeout => format!(
                "{at} did not answer within {} s; check that it is running and not overloaded, raise CMDAI_OPENAI_TIMEOUT, {local}",
                self.settings.timeout.as_secs()
            ),
            Failure::Transport { why, .. } => format!(
                "{at} could not be reached: {why}{tries}; check CMDAI_OPENAI_BASE_URL, {local}"
            ),
            Failure::Status { code: 401 | 403, message, .. } => format!(
                "{at} refused the request (HTTP {}{}); put a valid API key in ${} (CMDAI_OPENAI_API_KEY_ENV names that variable)",
                f.code(),
                quoted(message),
                self.settings.api_key_env
            ),
            Failure::Status { code: 404, message, .. } => format!(
                "{at} has no {} or no model `{}` (HTTP 404{}); check CMDAI_OPENAI_BASE_URL (it usually ends in /v1) and CMDAI_OPENAI_MODEL",
                self.settings.endpoint(),
                self.settings.model,
                quoted(message)
            ),
            Failure::Status { code, message, .. } if (400..500).contains(code) && *code != 429 => {
                format!(
                    "{at} rejected the request (HTTP {code}{}); check CMDAI_OPENAI_MODEL and the server's log",
                    quoted(message)
                )
            }
            Failure::Status { code, message, .. } => format!(
                "{at} failed (HTTP {code}{}){tries}; try again later, check the server's log, {local}",
                quoted(message)
            ),
            Failure::BadReply(why) => format!(
                "{at} sent something that is not an OpenAI chat completion ({why}); check that CMDAI_OPENAI_BASE_URL points at an OpenAI-compatible API"
            ),
        })
    }
}

fn quoted(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

impl Engine for OpenAiEngine {
    fn generate(
        &mut self,
        req: &GenerateRequest,
        cancel: &AtomicBool,
    ) -> Result<Generation, EngineError> {
        let start = Instant::now();
        let messages = command_messages(req);
        let reply = self.chat(
            &messages,
            prompt::MAX_COMMAND_TOKENS + REPLY_OVERHEAD_TOKENS,
            cancel,
        )?;
        Ok(reply.into_generation(start))
    }

    /// Not streamed: the whole explanation arrives at once, cut after its
    /// `Effect:` line like the local engine's.
    fn explain(
        &mut self,
        command: &str,
        cancel: &AtomicBool,
        on_piece: &mut dyn FnMut(&str),
    ) -> Result<Generation, EngineError> {
        let start = Instant::now();
        let messages = explain_prompt::messages(self.os, command);
        let mut reply = self.chat(&messages, explain_prompt::MAX_EXPLAIN_TOKENS, cancel)?;
        reply.text = cut_after_effect(&reply.text);
        on_piece(&reply.text);
        Ok(reply.into_generation(start))
    }
}

/// The conversation for a command request: the prompt's prefix, then the
/// request turn (with the commands to avoid, worded as the local engine does).
pub fn command_messages(req: &GenerateRequest) -> Vec<Message> {
    let mut messages = prompt::prefix_messages(req.context.os);
    messages.extend(prompt::example_messages(&req.context, &req.examples));
    messages.push(Message {
        role: "user",
        content: super::request_text(req),
    });
    messages
}

/// The JSON body of a chat-completion request.
pub fn request_body(model: &str, messages: &[Message], max_tokens: usize) -> Value {
    json!({
        "model": model,
        "messages": messages
            .iter()
            .map(|m| json!({ "role": m.role, "content": m.content }))
            .collect::<Vec<_>>(),
        "temperature": 0,
        "max_tokens": max_tokens,
        "stream": false,
    })
}

/// What a server answered, with the timings it reports where it does.
#[derive(Debug, Clone, Default, PartialEq)]
struct Reply {
    text: String,
    prompt_tokens: usize,
    generated_tokens: usize,
    /// llama.cpp's `timings.prompt_ms` / `timings.predicted_ms`.
    prompt_ms: Option<f64>,
    generate_ms: Option<f64>,
    round_trip: Duration,
}

impl Reply {
    fn into_generation(self, start: Instant) -> Generation {
        let total = start.elapsed().as_millis() as u64;
        let round_trip = self.round_trip.as_millis() as u64;
        let prompt = self.prompt_ms.map_or(0, |ms| ms.round() as u64);
        let generate = self
            .generate_ms
            .map_or(round_trip.saturating_sub(prompt), |ms| ms.round() as u64);
        Generation {
            text: self.text,
            prefilled: false,
            retried: false,
            prompt_tokens: self.prompt_tokens,
            generated_tokens: self.generated_tokens,
            timings: Timings {
                load: 0,
                prompt,
                generate,
                total,
            },
            candidates: Vec::new(),
        }
    }
}

/// Reads a chat completion: `choices[0].message.content`, `usage`, and
/// llama.cpp's `timings` when present.
fn parse_reply_json(body: &str) -> Result<Reply, String> {
    let v: Value = serde_json::from_str(body).map_err(|e| format!("invalid JSON: {e}"))?;
    if let Some(err) = v.get("error") {
        return Err(format!("it answered with an error: {}", error_text(err)));
    }
    let choice = v
        .get("choices")
        .and_then(|c| c.get(0))
        .ok_or("no `choices` in the answer")?;
    let message = choice
        .get("message")
        .ok_or("no `message` in the answer's first choice")?;
    let text = match message.get("content") {
        Some(Value::String(s)) => s.clone(),
        // Some servers send null content for an empty answer.
        Some(Value::Null) | None => String::new(),
        Some(other) => return Err(format!("`content` is not text but {other}")),
    };
    let count = |k: &str| {
        v.get("usage")
            .and_then(|u| u.get(k))
            .and_then(Value::as_u64)
            .unwrap_or(0) as usize
    };
    let ms = |k: &str| {
        v.get("timings")
            .and_then(|t| t.get(k))
            .and_then(Value::as_f64)
    };
    Ok(Reply {
        text,
        prompt_tokens: count("prompt_tokens"),
        generated_tokens: count("completion_tokens"),
        prompt_ms: ms("prompt_ms"),
        generate_ms: ms("predicted_ms"),
        round_trip: Duration::ZERO,
    })
}

/// The message in an error body: OpenAI's `{"error": {"message": …}}`,
/// `{"error": "…"}`, FastAPI's `{"detail": …}`, or the start of the text.
fn server_message(body: &str) -> String {
    let text = match serde_json::from_str::<Value>(body) {
        Ok(v) => match v
            .get("error")
            .or_else(|| v.get("detail"))
            .or(v.get("message"))
        {
            Some(e) => error_text(e),
            None => body.to_string(),
        },
        Err(_) => body.to_string(),
    };
    let one_line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(MAX_SERVER_MESSAGE) {
        Some((i, _)) => format!("{}…", &one_line[..i]),
        None => one_line,
    }
}

fn error_text(e: &Value) -> String {
    match e {
        Value::String(s) => s.clone(),
        Value::Object(o) => match o.get("message") {
            Some(Value::String(s)) => s.clone(),
            _ => e.to_string(),
        },
        other => other.to_string(),
    }
}

/// Why one attempt failed.
#[derive(Debug, Clone, PartialEq)]
enum Failure {
    /// Nothing listening, or unreachable: retried.
    Connect(String),
    /// Connected, but no answer in time: not retried (the server is busy).
    Timeout,
    /// The connection broke mid-answer (`retry`), or the URL or host name is
    /// unusable (not retried).
    Transport { why: String, retry: bool },
    /// An HTTP error status: 429 and 5xx retried, others not.
    Status {
        code: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    /// A 200 answer that is not a chat completion: not retried.
    BadReply(String),
}

impl Failure {
    fn retryable(&self) -> bool {
        match self {
            Failure::Connect(_) => true,
            Failure::Transport { retry, .. } => *retry,
            Failure::Status { code, .. } => *code == 429 || *code >= 500,
            Failure::Timeout | Failure::BadReply(_) => false,
        }
    }

    fn code(&self) -> u16 {
        match self {
            Failure::Status { code, .. } => *code,
            _ => 0,
        }
    }
}

fn classify(e: ureq::Error) -> Failure {
    match e {
        ureq::Error::Status(code, resp) => {
            let retry_after = resp
                .header("Retry-After")
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let message = resp
                .into_string()
                .map(|b| server_message(&b))
                .unwrap_or_default();
            Failure::Status {
                code,
                message,
                retry_after,
            }
        }
        ureq::Error::Transport(t) => {
            use ureq::ErrorKind as K;
            let io_kind = std::error::Error::source(&t)
                .and_then(|s| s.downcast_ref::<std::io::Error>())
                .map(std::io::Error::kind);
            let timed_out = matches!(
                io_kind,
                Some(std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock)
            );
            match t.kind() {
                K::ConnectionFailed => Failure::Connect(connect_reason(&t, timed_out)),
                K::Io if timed_out => Failure::Timeout,
                K::Io => Failure::Transport {
                    why: format!("the connection broke ({})", describe(&t)),
                    retry: true,
                },
                K::Dns => Failure::Transport {
                    why: format!("its host name did not resolve ({})", describe(&t)),
                    retry: false,
                },
                _ => Failure::Transport {
                    why: describe(&t),
                    retry: false,
                },
            }
        }
    }
}

/// "connection refused", "timed out connecting", … for a failed connect.
fn connect_reason(t: &ureq::Transport, timed_out: bool) -> String {
    if timed_out {
        return "timed out connecting".into();
    }
    let io = std::error::Error::source(t).and_then(|s| s.downcast_ref::<std::io::Error>());
    match io.map(std::io::Error::kind) {
        Some(std::io::ErrorKind::ConnectionRefused) => "connection refused".into(),
        _ => describe(t),
    }
}

fn describe(t: &ureq::Transport) -> String {
    let mut s = t.kind().to_string();
    if let Some(m) = t.message() {
        s = format!("{s}: {m}");
    }
    if let Some(src) = std::error::Error::source(t) {
        s = format!("{s}: {src}");
    }
    s
}

/// The pause before retry number `attempt + 1`; `None` when the server asks
/// for a longer wait than is worth making.
fn backoff(attempt: u32, f: &Failure) -> Option<Duration> {
    if let Failure::Status {
        retry_after: Some(d),
        ..
    } = f
    {
        return (*d <= MAX_RETRY_AFTER).then_some(*d);
    }
    Some(
        FIRST_BACKOFF
            .saturating_mul(1u32 << attempt.min(16))
            .min(MAX_BACKOFF),
    )
}

fn sleep_unless_cancelled(d: Duration, cancel: &AtomicBool) -> Result<(), EngineError> {
    let until = Instant::now() + d;
    while Instant::now() < until {
        if cancel.load(Ordering::Relaxed) {
            return Err(EngineError::Cancelled);
        }
        std::thread::sleep(Duration::from_millis(20).min(until - Instant::now()));
    }
    Ok(())
}

/// True for `localhost`, `127.x.x.x` and `[::1]` base URLs.
fn is_loopback(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host.strip_prefix('[') {
        v6.split(']').next().unwrap_or("")
    } else {
        host.split(':').next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// An explanation up to the end of its `Effect:` line.
fn cut_after_effect(text: &str) -> String {
    let at = if text.starts_with("Effect:") {
        Some(0)
    } else {
        text.find("\nEffect:").map(|i| i + 1)
    };
    match at.and_then(|i| text[i..].find('\n').map(|j| i + j + 1)) {
        Some(end) => text[..end].to_string(),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests;
