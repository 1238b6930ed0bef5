//! Colour for ferry's own terminal lines: on only when the caller says so (a TTY without
//! `NO_COLOR`); the decision is a constructor parameter, never read from the environment here.

use anstyle::{AnsiColor, Style};

/// What a piece of text means, which picks its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tone {
    Plain,
    Dim,
    Bold,
    Good,
    Bad,
    Warn,
    Active,
}

/// Paints text in a tone, or leaves it alone when colour is off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Paint {
    pub(crate) color: bool,
}

impl Paint {
    /// `text` wrapped in the tone's style and a reset (or unchanged without colour).
    pub(crate) fn paint(self, tone: Tone, text: &str) -> String {
        let style = match tone {
            Tone::Plain => Style::new(),
            Tone::Dim => Style::new().dimmed(),
            Tone::Bold => Style::new().bold(),
            Tone::Good => Style::new().fg_color(Some(AnsiColor::Green.into())),
            Tone::Bad => Style::new().fg_color(Some(AnsiColor::Red.into())).bold(),
            Tone::Warn => Style::new().fg_color(Some(AnsiColor::Yellow.into())),
            Tone::Active => Style::new().fg_color(Some(AnsiColor::Cyan.into())),
        };
        if !self.color || style == Style::new() {
            return text.to_owned();
        }
        format!("{style}{text}{style:#}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_only_when_on() {
        assert_eq!(Paint { color: false }.paint(Tone::Bad, "x"), "x");
        assert_eq!(
            Paint { color: true }.paint(Tone::Good, "ok"),
            "\x1b[32mok\x1b[0m"
        );
    }
}
