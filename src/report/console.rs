//! Human progress on a writer (stderr in the binary): a live line on a terminal, plain lines
//! elsewhere, and collapsible log sections in GitHub Actions and GitLab CI.
//!
//! The caller picks the [`Flavour`] (see [`Flavour::choose`]); whether stderr is a terminal and
//! whether `NO_COLOR` is set are its parameters, never read here.
//!
//! What each flavour writes:
//!
//! | | progress | platform log lines | problems |
//! |---|---|---|---|
//! | `Tty` | one line per step; a live `⠋ build  RUNNING  12s` line redrawn with `\r` | above the live line, `  │ ` prefix, colour kept only with `color` | coloured lines |
//! | `Plain` | one line per step, heartbeat lines | `  | ` prefix | lines |
//! | `GithubActions` | as `Plain` | `::group::build log` … `::endgroup::`, no prefix | `::error title=ferry <phase> failed::…`, `::warning::…` |
//! | `GitlabCi` | as `Plain` | `section_start` … `section_end` (`ferry_build_log`, collapsed; a failed phase's last lines again in an expanded `ferry_build_failure`) | lines |
//!
//! Untrusted text (log lines, states, ids, URLs, messages) is cleaned by [`super::sanitize`]
//! everywhere: no escape sequence from a platform reaches a terminal or a job log (on a colour
//! terminal, plain SGR colour in log lines is the one thing kept). In `GithubActions`, everything
//! but ferry's own commands is written with command processing stopped (see
//! [`super::workflow_commands`]), so no log line or message can run a workflow command.

use std::fmt::Write as _;
use std::io::Write;
use std::time::SystemTime;

use async_trait::async_trait;

use super::human_duration::HumanDuration;
use super::log_section::LogSection;
use super::paint::{Paint, Tone};
use super::progress_line::ProgressLine;
use super::row::culprit;
use super::sanitize::{self, Clean};
use super::workflow_commands::{WorkflowCommands, escape_data, escape_property};
use super::{Sink, Stamped};
use crate::ci::{Ci, Context};
use crate::error::{Error, Result};
use crate::platform::{
    CancelReason, Command, Event, Level, Phase, PhaseOutcome, RunOutcome, Status,
};

/// How progress is shown (a closed set, chosen by the caller).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    /// An interactive terminal: a live progress line; colour only when `color` is true.
    Tty { color: bool },
    /// Anything else (a pipe, a file, an unknown CI): plain lines, no control characters.
    Plain,
    /// A GitHub Actions (or Gitea/Forgejo Actions) job log: plain lines, log groups, annotations.
    GithubActions,
    /// A GitLab CI job log: plain lines and collapsible log sections.
    GitlabCi,
}

impl Flavour {
    /// The flavour for a run in `ci`, writing to a terminal or not, with `NO_COLOR` set or not.
    /// A CI log wins over a terminal (CI logs are not terminals, even when a runner allocates a
    /// pseudo-terminal).
    pub fn choose(ci: Ci, is_tty: bool, no_color: bool) -> Self {
        match ci {
            // Gitea and Forgejo runners are act-based and read the same workflow commands.
            Ci::Github | Ci::Gitea | Ci::Forgejo => Flavour::GithubActions,
            Ci::Gitlab => Flavour::GitlabCi,
            _ if is_tty => Flavour::Tty { color: !no_color },
            _ => Flavour::Plain,
        }
    }
}

/// The console sink. See the module docs for what each flavour writes.
pub struct Console<W> {
    out: W,
    flavour: Flavour,
    paint: Paint,
    commands: WorkflowCommands,
    progress: ProgressLine,
    /// The phase whose log group/section is open.
    open_log: Option<Phase>,
    /// The time of the last event (section markers at `finish` use it).
    last_time: SystemTime,
    buf: String,
}

impl<W: Write + Send> Console<W> {
    /// A console writing to `out` in `flavour`.
    pub fn new(out: W, flavour: Flavour) -> Self {
        let color = matches!(flavour, Flavour::Tty { color: true });
        Self {
            out,
            flavour,
            paint: Paint { color },
            commands: WorkflowCommands::default(),
            progress: ProgressLine::default(),
            open_log: None,
            last_time: SystemTime::UNIX_EPOCH,
            buf: String::new(),
        }
    }

    /// The writer back (tests read what was written).
    pub fn into_inner(self) -> W {
        self.out
    }

    fn on_event(&mut self, s: Stamped<'_>) {
        self.last_time = s.time;
        self.progress.set_now(s.elapsed);
        match s.event {
            Event::PhaseStarted { phase, platform } => {
                self.progress.begin(*phase, s.elapsed);
                let platform = sanitize::inline(platform);
                self.say(Tone::Bold, &format!("{phase}: starting on {platform}"));
            }
            Event::Triggered {
                phase,
                id,
                url,
                observed,
            } => {
                let verb = if *observed { "following" } else { "triggered" };
                let mut text = format!("{phase}: {verb} {}", sanitize::inline(id));
                if let Some(url) = url {
                    let _ = write!(text, " ({})", sanitize::inline(url));
                }
                self.say(Tone::Plain, &text);
            }
            Event::StateChanged {
                phase,
                state,
                class,
            } => {
                self.progress.set_state(state, *class);
                let state = sanitize::inline(state);
                self.say(Tone::Dim, &format!("{phase} state: {state}"));
            }
            Event::Log { phase, line } => self.log_line(*phase, line),
            Event::Heartbeat {
                phase,
                state,
                elapsed,
            } => {
                // On a terminal the live line already shows it.
                if !matches!(self.flavour, Flavour::Tty { .. }) {
                    let mut text =
                        format!("{phase} still running after {}", HumanDuration(*elapsed));
                    if let Some(state) = state {
                        let _ = write!(text, " (state: {})", sanitize::inline(state));
                    }
                    self.say(Tone::Dim, &text);
                }
            }
            Event::Retrying {
                phase,
                attempt,
                wait,
                reason,
                budget,
            } => {
                // One short line per retry; the full error and its fix come once, at the end.
                let reason = sanitize::inline(reason);
                let wait = HumanDuration(*wait);
                let text = match budget {
                    Some(b) => format!("{phase}: {reason}; retry {}/{} in {wait}", b.used, b.max),
                    None => format!("{phase}: {reason}; waiting {wait} as asked (retry {attempt})"),
                };
                self.say(Tone::Warn, &text);
            }
            Event::Notice { level, message } => self.notice(*level, message),
            Event::Cancelling { phase, reason } => {
                let why = match reason {
                    CancelReason::Signal => "the job was cancelled",
                    CancelReason::Timeout => "time limit reached",
                };
                self.say(
                    Tone::Warn,
                    &format!("{phase}: cancelling the remote operation ({why})"),
                );
            }
            Event::PhaseFinished(outcome) => self.phase_finished(outcome),
        }
        if matches!(self.flavour, Flavour::Tty { .. }) {
            self.progress.draw(&mut self.buf, self.paint);
        }
    }

    fn notice(&mut self, level: Level, message: &str) {
        match (level, self.flavour) {
            (Level::Warning, Flavour::GithubActions) => {
                let message = escape_data(&multiline(message));
                self.commands
                    .command(&mut self.buf, &format!("::warning::{message}"));
            }
            (Level::Warning, _) => {
                self.say(Tone::Warn, &format!("warning: {}", multiline(message)));
            }
            (Level::Info, _) => self.say(Tone::Plain, &format!("note: {}", multiline(message))),
        }
    }

    fn phase_finished(&mut self, p: &PhaseOutcome) {
        self.close_log();
        self.progress.end();
        let d = HumanDuration(p.duration);
        let (tone, mut text) = match p.status {
            Status::Succeeded => (Tone::Good, format!("{} succeeded in {d}", p.phase)),
            Status::Detached => (Tone::Good, format!("{} triggered, not waiting", p.phase)),
            Status::Skipped => (Tone::Dim, format!("{} skipped", p.phase)),
            status => (Tone::Bad, format!("{} {} after {d}", p.phase, verb(status))),
        };
        if let Some(id) = &p.id {
            let _ = write!(text, " (id {})", sanitize::inline(id));
        }
        // A failure's message (and its fix) is said once, in the run's last line.
        let failed = matches!(
            p.status,
            Status::Failed | Status::Errored | Status::TimedOut
        );
        if let Some(message) = p.message.as_deref().filter(|_| !failed) {
            let _ = write!(text, ": {}", multiline(message));
        }
        self.say(tone, &text);
        if failed && self.flavour == Flavour::GitlabCi {
            self.failure_section(p);
        }
    }

    /// GitLab: a failed phase's last log lines in an expanded section (its log section was
    /// opened collapsed before the outcome was known; see `log_section`).
    fn failure_section(&mut self, p: &PhaseOutcome) {
        let skip = p.log_tail.len().saturating_sub(FAILURE_LINES);
        let lines = &p.log_tail[skip..];
        if lines.is_empty() {
            return;
        }
        let section = LogSection::named(&format!("ferry_{}_failure", p.phase.as_str()));
        let header = format!(
            "{} {}: the last {} log lines",
            p.phase,
            verb(p.status),
            lines.len()
        );
        section.start_expanded(&mut self.buf, self.last_time, &header);
        for line in lines {
            self.buf.push_str(&sanitize::inline(line));
            self.buf.push('\n');
        }
        section.end(&mut self.buf, self.last_time);
    }

    /// One `::error` annotation (GitHub only).
    fn annotate_error(&mut self, title: &str, message: &str) {
        if self.flavour == Flavour::GithubActions {
            let line = format!(
                "::error title={}::{}",
                escape_property(title),
                escape_data(message)
            );
            self.commands.command(&mut self.buf, &line);
        }
    }

    /// Writes one of ferry's lines (continuation lines indented), in `tone` on a colour terminal.
    fn say(&mut self, tone: Tone, text: &str) {
        let mut lines = String::with_capacity(text.len() + 1);
        for (i, line) in text.split('\n').enumerate() {
            if i > 0 {
                lines.push_str("  ");
            }
            lines.push_str(&self.paint.paint(tone, line));
            lines.push('\n');
        }
        match self.flavour {
            Flavour::Tty { .. } => {
                self.progress.clear(&mut self.buf);
                self.buf.push_str(&lines);
            }
            Flavour::GithubActions => self.commands.text(&mut self.buf, &lines),
            Flavour::Plain | Flavour::GitlabCi => self.buf.push_str(&lines),
        }
    }

    fn log_line(&mut self, phase: Phase, line: &str) {
        match self.flavour {
            Flavour::Tty { color } => {
                self.progress.clear(&mut self.buf);
                let opts = Clean {
                    keep_color: color,
                    keep_newlines: false,
                };
                self.buf.push_str(&self.paint.paint(Tone::Dim, "  │ "));
                self.buf.push_str(&sanitize::clean(line, opts));
                self.buf.push('\n');
            }
            Flavour::Plain => {
                self.buf.push_str("  | ");
                self.buf.push_str(&sanitize::inline(line));
                self.buf.push('\n');
            }
            Flavour::GithubActions => {
                self.open_log(phase);
                let mut line = sanitize::inline(line).into_owned();
                line.push('\n');
                self.commands.text(&mut self.buf, &line);
            }
            Flavour::GitlabCi => {
                self.open_log(phase);
                self.buf.push_str(&sanitize::inline(line));
                self.buf.push('\n');
            }
        }
    }

    /// Opens `phase`'s log group/section (closing another one first).
    fn open_log(&mut self, phase: Phase) {
        if self.open_log == Some(phase) {
            return;
        }
        self.close_log();
        match self.flavour {
            Flavour::GithubActions => self
                .commands
                .command(&mut self.buf, &format!("::group::{phase} log")),
            Flavour::GitlabCi => {
                LogSection::for_phase(phase).start(
                    &mut self.buf,
                    self.last_time,
                    &format!("{phase} log"),
                );
            }
            Flavour::Tty { .. } | Flavour::Plain => return,
        }
        self.open_log = Some(phase);
    }

    fn close_log(&mut self) {
        let Some(phase) = self.open_log.take() else {
            return;
        };
        match self.flavour {
            Flavour::GithubActions => self.commands.command(&mut self.buf, "::endgroup::"),
            Flavour::GitlabCi => LogSection::for_phase(phase).end(&mut self.buf, self.last_time),
            Flavour::Tty { .. } | Flavour::Plain => {}
        }
    }

    fn on_finish(&mut self, outcome: &RunOutcome) {
        self.close_log();
        self.progress.end();
        self.progress.clear(&mut self.buf);
        let (good, sentence) = final_sentence(outcome);
        if matches!(
            outcome.status,
            Status::Failed | Status::Errored | Status::TimedOut
        ) && self.flavour == Flavour::GithubActions
        {
            // The annotation is the failure's one line in the job log (GitHub shows it there
            // and on the run's page).
            let what = culprit(outcome).map_or(outcome.command.as_str(), |p| p.phase.as_str());
            self.annotate_error(&format!("ferry {what} failed"), &sentence);
            self.commands.resume(&mut self.buf);
            return;
        }
        let symbol = match (self.flavour, good) {
            (Flavour::Plain, true) => "ok:",
            (Flavour::Plain, false) => "error:",
            (_, true) => "✔",
            (_, false) => "✘",
        };
        let tone = if good { Tone::Good } else { Tone::Bad };
        self.say(tone, &format!("{symbol} {sentence}"));
        // Leave the step's command processing as we found it.
        self.commands.resume(&mut self.buf);
    }

    fn flush(&mut self) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let res = self
            .out
            .write_all(self.buf.as_bytes())
            .and_then(|()| self.out.flush());
        self.buf.clear();
        res.map_err(|source| Error::Io {
            path: "console output".into(),
            source,
        })
    }
}

/// How many of a failed phase's last log lines GitLab's expanded failure section shows.
const FAILURE_LINES: usize = 20;

/// A message that may span lines, cleaned (line breaks kept; [`Console::say`] indents them).
fn multiline(message: &str) -> String {
    let opts = Clean {
        keep_color: false,
        keep_newlines: true,
    };
    sanitize::clean(message.trim_end(), opts).into_owned()
}

fn verb(status: Status) -> &'static str {
    match status {
        Status::Failed => "failed",
        Status::Errored => "errored",
        Status::TimedOut => "timed out",
        Status::Cancelled => "was cancelled",
        Status::Succeeded => "succeeded",
        Status::Detached => "was detached",
        Status::Skipped => "was skipped",
    }
}

/// The last line's text (without its symbol), and whether the run went well.
fn final_sentence(outcome: &RunOutcome) -> (bool, String) {
    let d = HumanDuration(outcome.duration);
    let env = outcome.environment.as_deref().map(sanitize::inline);
    let url = outcome.url.as_deref().map(sanitize::inline);
    let text = match (outcome.status, outcome.command) {
        (Status::Succeeded, Command::Deploy) => match (env, url) {
            (Some(env), Some(url)) => format!("{env} deployed to {url} in {d}"),
            (None, Some(url)) => format!("deployed to {url} in {d}"),
            (Some(env), None) => format!("{env} deployed in {d}"),
            (None, None) => format!("deployed in {d}"),
        },
        (Status::Succeeded, Command::Build) => {
            let id = outcome
                .phase(Phase::Build)
                .and_then(|p| p.id.as_deref())
                .map(|id| format!(" (build {})", sanitize::inline(id)))
                .unwrap_or_default();
            format!("built in {d}{id}")
        }
        (Status::Succeeded, Command::Stop) => match env {
            Some(env) => format!("{env} stopped in {d}"),
            None => format!("stopped in {d}"),
        },
        (Status::Detached, command) => {
            let mut text = format!("{} triggered, not waiting (detached)", command.as_str());
            if let Some(url) = url {
                let _ = write!(text, ": {url}");
            }
            text
        }
        (Status::Skipped, _) => "nothing to do".to_owned(),
        (status, command) => {
            let culprit = culprit(outcome);
            let what = culprit.map_or(command.as_str(), |p| p.phase.as_str());
            let mut text = format!("{what} {} after {d}", verb(status));
            let message = culprit
                .and_then(|p| p.message.as_deref())
                .or(outcome.message.as_deref());
            if let Some(message) = message {
                let _ = write!(text, ": {}", multiline(message));
            }
            if let Some(log) = culprit.and_then(|p| p.outputs.get("log_url")) {
                let _ = write!(text, "\nlogs: {}", sanitize::inline(log));
            }
            return (false, text);
        }
    };
    (true, text)
}

#[async_trait]
impl<W: Write + Send> Sink for Console<W> {
    fn name(&self) -> &'static str {
        "console"
    }

    async fn event(&mut self, event: Stamped<'_>) -> Result<()> {
        self.on_event(event);
        self.flush()
    }

    async fn tick(&mut self, elapsed: std::time::Duration) -> Result<()> {
        if matches!(self.flavour, Flavour::Tty { .. }) {
            self.progress.set_now(elapsed);
            self.progress.draw(&mut self.buf, self.paint);
        }
        self.flush()
    }

    async fn finish(&mut self, outcome: &RunOutcome, _context: &Context) -> Result<()> {
        self.on_finish(outcome);
        self.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::report::fixture;

    async fn render(flavour: Flavour, outcome: &RunOutcome) -> String {
        let mut console = Console::new(Vec::new(), flavour);
        fixture::run(&mut console, outcome).await;
        String::from_utf8(console.into_inner()).unwrap_or_default()
    }

    /// Replaces the random stop-commands tokens with numbered placeholders (same token, same
    /// number), so snapshots are stable and still show which resume matches which stop.
    fn number_tokens(text: &str) -> String {
        let mut tokens: Vec<String> = Vec::new();
        text.lines()
            .map(|line| {
                let token = line
                    .strip_prefix("::stop-commands::")
                    .or_else(|| line.strip_prefix("::").and_then(|l| l.strip_suffix("::")))
                    .filter(|t| t.len() == 32 && t.bytes().all(|b| b.is_ascii_hexdigit()));
                match token {
                    Some(t) => {
                        let n = tokens.iter().position(|k| k == t).unwrap_or_else(|| {
                            tokens.push(t.to_owned());
                            tokens.len() - 1
                        });
                        line.replace(t, &format!("<token-{n}>"))
                    }
                    None => line.to_owned(),
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    }

    /// What the GitHub runner would do with `text`, per actions/runner's `ActionCommandManager`:
    /// V2 `::cmd::` at a line start (after leading whitespace), legacy `##[cmd]` anywhere, both
    /// ignored between `::stop-commands::T` and `::T::`. Returns the commands it would run.
    fn runner_commands(text: &str) -> Vec<String> {
        const REGISTERED: [&str; 14] = [
            "set-env",
            "set-output",
            "save-state",
            "add-mask",
            "add-path",
            "add-matcher",
            "remove-matcher",
            "debug",
            "warning",
            "error",
            "notice",
            "group",
            "endgroup",
            "echo",
        ];
        let mut run = Vec::new();
        let mut stop: Option<String> = None;
        for line in text.lines() {
            let trimmed = line.trim_start();
            let v2 = trimmed
                .strip_prefix("::")
                .and_then(|rest| rest.find("::").map(|end| rest[..end].to_owned()));
            let v1 = line.find("##[").and_then(|i| {
                let rest = &line[i + 3..];
                rest.find(']').map(|end| rest[..end].to_owned())
            });
            for info in [v2, v1].into_iter().flatten() {
                let name = info.split(' ').next().unwrap_or_default().to_owned();
                if let Some(token) = &stop {
                    if name.eq_ignore_ascii_case(token) {
                        stop = None;
                        break;
                    }
                    continue;
                }
                if name == "stop-commands" {
                    let data = trimmed.split("::").nth(2).unwrap_or_default();
                    stop = Some(data.to_owned());
                    run.push(name);
                    break;
                }
                if REGISTERED.contains(&name.as_str()) {
                    run.push(line.trim().to_owned());
                    break;
                }
            }
        }
        assert!(stop.is_none(), "commands left stopped at the end");
        run
    }

    fn runner_commands_are_ferrys_own(text: &str) {
        for cmd in runner_commands(text) {
            assert!(
                cmd == "stop-commands"
                    || cmd == "::endgroup::"
                    || cmd.starts_with("::group::")
                    || cmd.starts_with("::error title=ferry ")
                    || cmd.starts_with("::warning::platform is slow"),
                "the runner would run {cmd:?}"
            );
        }
    }

    #[tokio::test]
    async fn github_log_is_grouped_and_neutralised() {
        let text = render(Flavour::GithubActions, &fixture::failed_outcome()).await;
        runner_commands_are_ferrys_own(&text);
        let errors: Vec<String> = runner_commands(&text)
            .into_iter()
            .filter(|c| c.starts_with("::error"))
            .collect();
        assert_eq!(
            errors,
            [
                "::error title=ferry deploy failed::deploy failed after 1m 47s: rollout failed: 0/3 pods ready%0Asee the platform log%0Alogs: https://paas.example.com/deploys/d-553/log"
            ]
        );
        // The failure is said once: in the annotation, not again in a line of its own.
        assert_eq!(
            text.matches("rollout failed: 0/3 pods ready").count(),
            2,
            "{text}"
        );
        insta::assert_snapshot!(number_tokens(&text));
    }

    #[tokio::test]
    async fn github_success_ends_with_the_url_and_commands_on() {
        let text = render(Flavour::GithubActions, &fixture::succeeded_outcome()).await;
        runner_commands_are_ferrys_own(&text);
        let last_lines: Vec<&str> = text.lines().rev().take(2).collect();
        assert!(last_lines[0].starts_with("::") && last_lines[0].ends_with("::"));
        assert_eq!(
            last_lines[1],
            "✔ review-42 deployed to https://review-42.shop.example.com/ in 1m 48s"
        );
    }

    #[tokio::test]
    async fn gitlab_log_is_in_sections() {
        let text = render(Flavour::GitlabCi, &fixture::failed_outcome()).await;
        // Only ferry's own six markers (two log sections, the failure's); the forged one in a
        // log line lost its ESC and CR.
        assert_eq!(text.matches("\x1b[0Ksection_").count(), 6, "{text}");
        assert_eq!(text.matches('\r').count(), 6);
        // The failed phase's lines are on screen: its failure section is not collapsed.
        assert!(
            text.contains("section_start:1735787152:ferry_deploy_failure\r"),
            "{text}"
        );
        assert!(!text.contains("ferry_deploy_failure[collapsed"), "{text}");
        insta::assert_snapshot!(text.replace('\x1b', "␛").replace('\r', "␍"));
    }

    #[tokio::test]
    async fn plain_has_no_control_characters() {
        let text = render(Flavour::Plain, &fixture::failed_outcome()).await;
        assert!(
            !text.chars().any(|c| c.is_control() && c != '\n'),
            "{text:?}"
        );
        insta::assert_snapshot!(text);
    }

    #[tokio::test]
    async fn tty_redraws_a_live_line_and_colours_only_when_asked() {
        let plain = render(Flavour::Tty { color: false }, &fixture::failed_outcome()).await;
        assert!(
            plain.contains("\r\x1b[2K⠼ build  QUEUED  2.5s"),
            "{plain:?}"
        );
        // Escape sequences in log lines are gone, except nothing: no colour asked.
        assert!(!plain.contains("\x1b[31m") && !plain.contains("\x1b]0;"));
        assert!(plain.ends_with("✘ deploy failed after 1m 47s: rollout failed: 0/3 pods ready\n  see the platform log\n  logs: https://paas.example.com/deploys/d-553/log\n"), "{plain:?}");

        let color = render(Flavour::Tty { color: true }, &fixture::failed_outcome()).await;
        // The platform's own colour survives (and is reset); its title change does not.
        assert!(color.contains("\x1b[31mred\x1b[0m"), "{color:?}");
        assert!(!color.contains("\x1b]0;"));
    }

    #[tokio::test]
    async fn tty_ticks_update_the_elapsed_time() {
        let mut console = Console::new(Vec::new(), Flavour::Tty { color: false });
        fixture::feed(&mut console, &fixture::cancelled_events()).await;
        console.tick(Duration::from_millis(61_005)).await.ok();
        let text = String::from_utf8(console.into_inner()).unwrap_or_default();
        assert!(text.ends_with("\r\x1b[2K⠼ build  1m 01s"), "{text:?}");
        assert!(text.contains("build: cancelling the remote operation (the job was cancelled)\n"));
    }

    #[test]
    fn flavour_follows_ci_then_terminal_then_no_color() {
        assert_eq!(
            Flavour::choose(Ci::Github, true, false),
            Flavour::GithubActions
        );
        assert_eq!(Flavour::choose(Ci::Gitlab, false, false), Flavour::GitlabCi);
        assert_eq!(
            Flavour::choose(Ci::Local, true, false),
            Flavour::Tty { color: true }
        );
        assert_eq!(
            Flavour::choose(Ci::Local, true, true),
            Flavour::Tty { color: false }
        );
        assert_eq!(Flavour::choose(Ci::Jenkins, false, false), Flavour::Plain);
    }

    #[tokio::test]
    async fn a_broken_writer_is_an_error_not_a_panic() {
        struct Broken;
        impl Write for Broken {
            fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
                Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut console = Console::new(Broken, Flavour::Plain);
        let event = Event::Notice {
            level: Level::Info,
            message: "hi".into(),
        };
        let stamped = Stamped {
            seq: 1,
            time: fixture::start(),
            elapsed: Duration::ZERO,
            event: &event,
        };
        assert!(matches!(
            console.event(stamped).await,
            Err(Error::Io { .. })
        ));
    }
}
