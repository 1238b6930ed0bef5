//! Splitting a streamed body into lines without holding more than one line in memory.

use crate::platform::backend::LogSink;

/// The longest line kept whole; longer runs without a newline are passed on in pieces (cut where
/// the sink says, so that no secret is split), so a log without newlines cannot grow memory.
const MAX_LINE: usize = 64 * 1024;

/// Feeds `chunk` to `sink` line by line, keeping an unfinished line in `carry`.
/// Returns the number of lines delivered.
pub(crate) async fn feed(carry: &mut Vec<u8>, chunk: &[u8], sink: &mut dyn LogSink) -> u64 {
    let mut lines = 0;
    let mut rest = chunk;
    while let Some(pos) = rest.iter().position(|b| *b == b'\n') {
        carry.extend_from_slice(&rest[..pos]);
        emit(carry, sink).await;
        lines += 1;
        rest = &rest[pos + 1..];
    }
    carry.extend_from_slice(rest);
    while carry.len() > MAX_LINE {
        // Never cut through a secret: each half would escape redaction.
        let Some(cut) = sink.safe_cut(carry, MAX_LINE) else {
            break;
        };
        let cut = cut.clamp(1, carry.len());
        if cut == carry.len() {
            break;
        }
        let tail = carry.split_off(cut);
        emit(carry, sink).await;
        *carry = tail;
        lines += 1;
    }
    lines
}

/// Delivers an unfinished last line (the log is complete). Returns 1 if there was one.
pub(crate) async fn flush(carry: &mut Vec<u8>, sink: &mut dyn LogSink) -> u64 {
    if carry.is_empty() {
        return 0;
    }
    emit(carry, sink).await;
    1
}

async fn emit(carry: &mut Vec<u8>, sink: &mut dyn LogSink) {
    if carry.last() == Some(&b'\r') {
        carry.pop();
    }
    let line = String::from_utf8_lossy(carry);
    sink.line(&line).await;
    carry.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct Collect(Vec<String>);

    #[async_trait::async_trait]
    impl LogSink for Collect {
        async fn line(&mut self, line: &str) {
            self.0.push(line.to_string());
        }
    }

    #[tokio::test]
    async fn lines_split_across_chunks_are_joined() {
        let mut sink = Collect::default();
        let mut carry = Vec::new();
        assert_eq!(feed(&mut carry, b"a\r\nb", &mut sink).await, 1);
        assert_eq!(feed(&mut carry, b"c\nd", &mut sink).await, 1);
        assert_eq!(flush(&mut carry, &mut sink).await, 1);
        assert_eq!(sink.0, vec!["a", "bc", "d"]);
    }

    /// Cuts wherever it is told to, like a redacting sink would.
    struct CutAt(Vec<String>, usize);

    #[async_trait::async_trait]
    impl LogSink for CutAt {
        async fn line(&mut self, line: &str) {
            self.0.push(line.to_string());
        }

        fn safe_cut(&self, _: &[u8], _: usize) -> Option<usize> {
            Some(self.1)
        }
    }

    #[tokio::test]
    async fn long_lines_are_cut_where_the_sink_says() {
        let mut sink = CutAt(Vec::new(), MAX_LINE - 3);
        let mut carry = Vec::new();
        feed(&mut carry, &vec![b'y'; MAX_LINE + 10], &mut sink).await;
        assert_eq!(sink.0.len(), 1);
        assert_eq!(sink.0[0].len(), MAX_LINE - 3);
        assert_eq!(carry.len(), 13);
    }

    #[tokio::test]
    async fn endless_lines_are_cut() {
        let mut sink = Collect::default();
        let mut carry = Vec::new();
        let big = vec![b'x'; MAX_LINE * 2 + 10];
        feed(&mut carry, &big, &mut sink).await;
        assert_eq!(sink.0.len(), 2);
        assert_eq!(carry.len(), 10);
    }
}
