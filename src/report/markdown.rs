//! Escaping untrusted text for GitHub- and GitLab-flavoured Markdown (comments, notes, summaries).
//!
//! Environment names, URLs, messages and log lines come from settings, branch names and the
//! platform; none of them may change the structure of the body around them. The rules:
//!
//! - **inline text** ([`text`]): control characters out, line breaks to spaces, and every character
//!   that Markdown or HTML could read as syntax written as a numeric character reference (`|` as
//!   `&#124;` so a table row cannot be split, `<` as `&lt;` so no tag or `<!--` can open, `*`, `_`,
//!   `` ` ``, `[`, `]`, `~`, `$`, `\` so no emphasis, code span, link, strikethrough or maths).
//!   References work both in Markdown inline text and inside HTML blocks such as `<summary>`, so
//!   one escaper serves both. `@` is followed by a zero-width space so no one gets mentioned (the
//!   forges resolve mentions after decoding references; the same trick Renovate uses);
//! - **links** ([`link`]): only `http`/`https` URLs become links; the destination is percent-encoded
//!   where Markdown or a table could read it (`(`, `)`, `|`, `<`, `>`, quotes, spaces, `&`);
//!   anything else is shown as escaped text;
//! - **log tails** ([`code_block`]): a fenced block with an info string; runs of three or more
//!   backticks inside have a zero-width space between the backticks, so no line can close the
//!   fence (vercel-action's `escapeFencedBlock` lesson); a line starting with `/` gets a leading
//!   space so GitLab never reads it as a quick action (`/merge`, `/approve` run as the token's user).
//!
//! Lengths are counted in `char`s where text is shortened for people; the body limits themselves
//! are enforced by the renderers.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::sanitize;

const ZERO_WIDTH_SPACE: char = '\u{200b}';

/// Escapes untrusted text for inline Markdown and HTML: table cells, `<summary>`, headings.
pub(crate) fn text(s: &str) -> String {
    let s = sanitize::inline(s);
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '|' => out.push_str("&#124;"),
            '\\' => out.push_str("&#92;"),
            '`' => out.push_str("&#96;"),
            '*' => out.push_str("&#42;"),
            '_' => out.push_str("&#95;"),
            '[' => out.push_str("&#91;"),
            ']' => out.push_str("&#93;"),
            '~' => out.push_str("&#126;"),
            '$' => out.push_str("&#36;"),
            '@' => {
                out.push('@');
                out.push(ZERO_WIDTH_SPACE);
            }
            '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// Shortens `s` to at most `max` characters, ending with `…` when it cut something.
pub(crate) fn shorten(s: &str, max: usize) -> Cow<'_, str> {
    crate::net::fit(s, max)
}

/// The URL as a Markdown link destination, or `None` when it is not an absolute http(s) URL.
pub(crate) fn href(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url.trim()).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") || !parsed.has_host() {
        return None;
    }
    let mut out = String::with_capacity(parsed.as_str().len());
    for c in parsed.as_str().chars() {
        match c {
            // `[`/`]` (IPv6 hosts), `*` and `_` mean nothing inside a destination; these do.
            '(' | ')' | '|' | '<' | '>' | '"' | '\'' | '`' | '\\' | ' ' => {
                let _ = write!(out, "%{:02X}", u32::from(c));
            }
            // Character references are decoded in destinations: `&copy=1` must stay literal.
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    Some(out)
}

/// A Markdown link to `url` labelled with the escaped `label`, or just the escaped label (or URL)
/// when the URL cannot be linked safely.
pub(crate) fn link(label: &str, url: &str) -> String {
    match href(url) {
        Some(dest) => format!("[{}]({dest})", text(label)),
        None => text(label),
    }
}

/// How a URL is shown as a link label: without the scheme and trailing slash, shortened.
pub(crate) fn url_label(url: &str, max: usize) -> String {
    let bare = url
        .trim()
        .strip_prefix("https://")
        .or_else(|| url.trim().strip_prefix("http://"))
        .unwrap_or(url.trim());
    shorten(bare.trim_end_matches('/'), max).into_owned()
}

/// Untrusted text as inline code: `<code>…</code>` with the content escaped (a backtick code span
/// could be closed by a backtick in the text).
pub(crate) fn code(s: &str) -> String {
    format!("<code>{}</code>", text(s))
}

/// One untrusted log line made safe for the inside of a fenced code block.
pub(crate) fn code_line(line: &str) -> String {
    let line = sanitize::inline(line);
    let mut out = String::with_capacity(line.len() + 1);
    if line.starts_with('/') {
        out.push(' ');
    }
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '`' {
            let run = chars[i..].iter().take_while(|&&c| c == '`').count();
            for k in 0..run {
                if k > 0 && run >= 3 {
                    out.push(ZERO_WIDTH_SPACE);
                }
                out.push('`');
            }
            i += run;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    out
}

/// A fenced code block holding untrusted lines; nothing inside can close it.
pub(crate) fn code_block<S: AsRef<str>>(lines: &[S]) -> String {
    let mut out = String::from("```text\n");
    for line in lines {
        out.push_str(&code_line(line.as_ref()));
        out.push('\n');
    }
    out.push_str("```\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_markdown_and_html_syntax() {
        assert_eq!(text("a|b"), "a&#124;b");
        assert_eq!(
            text("<!-- x --> </details>"),
            "&lt;!-- x --&gt; &lt;/details&gt;"
        );
        assert_eq!(
            text("**bold** _it_"),
            "&#42;&#42;bold&#42;&#42; &#95;it&#95;"
        );
        assert_eq!(text("[x](javascript:y)"), "&#91;x&#93;(javascript:y)");
        assert_eq!(
            text("`code` ~~s~~ $m$"),
            "&#96;code&#96; &#126;&#126;s&#126;&#126; &#36;m&#36;"
        );
        assert_eq!(text("a\nb\x1b[31mc"), "a bc");
        assert_eq!(text("@octocat"), "@\u{200b}octocat");
        assert_eq!(text("fix & ship"), "fix &amp; ship");
    }

    #[test]
    fn only_http_urls_become_links() {
        assert_eq!(
            link("app", "https://app.example.com/x"),
            "[app](https://app.example.com/x)"
        );
        assert_eq!(link("app", "javascript:alert(1)"), "app");
        assert_eq!(link("app", "data:text/html,x"), "app");
        assert_eq!(link("a|b", "ftp://x"), "a&#124;b");
    }

    #[test]
    fn link_destinations_cannot_break_out() {
        let dest = href("https://x.example/a)b|c(d?q=<'\"`>&copy=1").unwrap_or_default();
        assert!(
            !dest.contains([')', '(', '|', '<', '>', '"', '\'', '`', ' ']),
            "{dest}"
        );
        assert!(dest.contains("&amp;copy=1"), "{dest}");
        assert_eq!(
            href("http://[::1]:8080/").as_deref(),
            Some("http://[::1]:8080/")
        );
    }

    #[test]
    fn url_labels_are_short() {
        assert_eq!(url_label("https://app.example.com/", 60), "app.example.com");
        assert_eq!(url_label("http://abcdefgh", 5), "abcd…");
    }

    #[test]
    fn shorten_counts_chars() {
        assert_eq!(shorten("héllo", 5), "héllo");
        assert_eq!(shorten("héllo wörld", 6), "héllo…");
    }

    #[test]
    fn code_blocks_cannot_be_closed_from_inside() {
        let block = code_block(&["```", "````rust", "~~~", "</details>", "/merge", "a ``` b"]);
        let inner: Vec<&str> = block.lines().skip(1).collect();
        // Only the last line is a fence.
        let fences: Vec<&&str> = inner
            .iter()
            .filter(|l| l.trim_start().starts_with("```"))
            .collect();
        assert_eq!(fences, vec![&"```"]);
        assert!(block.contains("\n /merge\n"));
        assert!(block.contains("</details>"), "code content stays verbatim");
    }

    #[test]
    fn two_backticks_are_left_alone() {
        assert_eq!(code_line("a `` b"), "a `` b");
    }
}
