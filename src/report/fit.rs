//! Keeping a rendered body within a forge's size limit, whatever the rows hold.
//!
//! GitHub rejects a comment over 65,536 characters (422 `Body is too long`), GitLab a note over
//! 1,000,000, and a job summary over 1 MiB shows an error. A log tail can be any size, so the
//! renderers go through [`fit`], which gives up content in this order and says so each time:
//!
//! 1. always: tail lines are cleaned of control characters and cut at [`LINE_MAX`] characters
//!    (a comment is no place for a minified bundle; the full log is one link away);
//! 2. drop tail lines from the top (oldest first), from the longest tail first; the row records
//!    how many were dropped and the table says "N earlier not shown";
//! 3. shorten messages, names and URLs (ending with `…`);
//! 4. drop whole rows, least recently updated first (never the last one), with a note;
//! 5. last resort for absurd limits: cut the body (it may no longer parse).
//!
//! Sizes are measured in UTF-8 bytes, never fewer than the characters the forges count, so a body
//! that fits here fits there whichever way they count.

use super::markdown;
use super::row::Row;
use super::sanitize;

/// The longest tail line kept, in characters.
pub(crate) const LINE_MAX: usize = 2_000;
/// Lengths fields are cut to in step 3, in characters.
const MESSAGE_SHORT: usize = 200;
const NAME_SHORT: usize = 100;
const URL_SHORT: usize = 500;

/// What [`fit`] had to give up, for the renderer to say so.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Omitted {
    /// Rows dropped entirely (step 4).
    pub(crate) rows: usize,
}

/// Renders `rows` with `render` within `max` bytes, trimming as described in the module docs.
/// Returns the body and the rows as rendered (to be stored, so the state matches the body).
pub(crate) fn fit(
    mut rows: Vec<Row>,
    max: usize,
    render: impl Fn(&[Row], Omitted) -> String,
) -> (String, Vec<Row>) {
    for row in &mut rows {
        for line in &mut row.log_tail {
            let cleaned = markdown::shorten(&sanitize::inline(line), LINE_MAX).into_owned();
            *line = cleaned;
        }
    }
    let mut omitted = Omitted::default();
    let mut shortened = false;
    loop {
        let body = render(&rows, omitted);
        if body.len() <= max {
            return (body, rows);
        }
        let excess = body.len() - max;
        // A tail byte costs at least one byte of body (more with escaping or an embedded state),
        // so dropping a quarter of the excess per round never gives up much more than needed.
        if drop_tail_lines(&mut rows, excess.div_ceil(4)) {
            continue;
        }
        if !shortened {
            shortened = true;
            shorten_fields(&mut rows);
            continue;
        }
        if rows.len() > 1 {
            let per_row = body.len() / rows.len();
            let n = (excess.div_ceil(per_row.max(1))).clamp(1, rows.len() - 1);
            for _ in 0..n {
                drop_oldest_row(&mut rows);
            }
            omitted.rows += n;
            continue;
        }
        return (cut(&body, max).to_owned(), rows);
    }
}

/// Drops lines from the top of the longest tails until at least `target` bytes of lines are gone.
/// False when there was nothing left to drop.
fn drop_tail_lines(rows: &mut [Row], target: usize) -> bool {
    let mut dropped = 0;
    let mut any = false;
    while dropped < target {
        let Some(row) = rows
            .iter_mut()
            .filter(|r| !r.log_tail.is_empty())
            .max_by_key(|r| r.log_tail.iter().map(String::len).sum::<usize>())
        else {
            break;
        };
        let line = row.log_tail.remove(0);
        row.log_tail_omitted += 1;
        dropped += line.len() + 1;
        any = true;
    }
    any
}

fn shorten_fields(rows: &mut [Row]) {
    for row in rows {
        let short = |s: &str, n| markdown::shorten(s, n).into_owned();
        row.environment = short(&row.environment, NAME_SHORT);
        row.message = row.message.as_deref().map(|m| short(m, MESSAGE_SHORT));
        // A shortened URL is useless as a link; drop it instead of linking somewhere wrong.
        for url in [&mut row.url, &mut row.logs_url, &mut row.commit_url] {
            if url.as_ref().is_some_and(|u| u.len() > URL_SHORT) {
                *url = None;
            }
        }
        row.commit = row.commit.as_deref().map(|c| short(c, NAME_SHORT));
    }
}

fn drop_oldest_row(rows: &mut Vec<Row>) {
    if let Some(i) = rows
        .iter()
        .enumerate()
        .min_by_key(|(_, r)| r.updated)
        .map(|(i, _)| i)
    {
        rows.remove(i);
    }
}

/// The longest prefix of `s` within `max` bytes, on a character boundary.
fn cut(s: &str, max: usize) -> &str {
    let mut end = max.min(s.len());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::report::row::RowStatus;

    fn render(rows: &[Row], omitted: Omitted) -> String {
        let mut s = format!("{} omitted\n", omitted.rows);
        for r in rows {
            s.push_str(&r.environment);
            s.push('\n');
            for l in &r.log_tail {
                s.push_str(l);
                s.push('\n');
            }
        }
        s
    }

    fn row(env: &str, secs: u64, tail: usize) -> Row {
        let mut r = Row::new(
            env,
            RowStatus::Failed,
            UNIX_EPOCH + Duration::from_secs(secs),
        );
        r.log_tail = (0..tail).map(|i| format!("line {i:04}")).collect();
        r
    }

    #[test]
    fn drops_tail_lines_from_the_top_of_the_longest_tail() {
        let rows = vec![row("a", 1, 10), row("b", 2, 100)];
        let full = render(&rows, Omitted::default()).len();
        let (body, kept) = fit(rows, full - 50, render);
        assert!(body.len() <= full - 50);
        assert_eq!(kept[0].log_tail.len(), 10);
        assert!(kept[1].log_tail.len() < 100 && kept[1].log_tail.len() >= 93);
        assert_eq!(
            kept[1].log_tail.last().map(String::as_str),
            Some("line 0099")
        );
        assert_eq!(kept[1].log_tail_omitted + kept[1].log_tail.len(), 100);
    }

    #[test]
    fn drops_oldest_rows_last() {
        let rows = (0..50).map(|i| row(&format!("env-{i:02}"), i, 0)).collect();
        let (body, kept) = fit(rows, 120, render);
        assert!(body.len() <= 120, "{body}");
        assert!(
            kept.iter().any(|r| r.environment == "env-49"),
            "newest kept"
        );
        assert!(body.starts_with(&format!("{} omitted", 50 - kept.len())));
    }

    #[test]
    fn cuts_as_a_last_resort_on_a_char_boundary() {
        let (body, _) = fit(vec![row("ééééé", 1, 0)], 4, render);
        assert!(body.len() <= 4);
    }

    #[test]
    fn long_lines_are_cut_and_cleaned() {
        let mut r = row("a", 1, 0);
        r.log_tail = vec!["\x1b[31m".to_owned() + &"x".repeat(10_000)];
        let (_, kept) = fit(vec![r], usize::MAX, render);
        assert_eq!(kept[0].log_tail[0].chars().count(), LINE_MAX);
        assert!(kept[0].log_tail[0].starts_with('x'));
    }
}
