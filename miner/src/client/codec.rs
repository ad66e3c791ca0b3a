//! Newline-delimited framing with a hard cap on the line length.
//!
//! Bytes are taken from the reader's buffer as they come, so a line split across reads and
//! several lines in one read both work; a line longer than the cap is an error before more than
//! the cap is buffered (a pool, or anything pretending to be one, cannot make the miner grow a
//! buffer without bound).

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// The longest line accepted from a pool, newline included. A `mining.notify` with a large
/// coinbase (a P2Pool-style coinbase with a few hundred payouts) and a full merkle branch is
/// about 30 KiB of hex.
pub const MAX_LINE: usize = 128 * 1024;

/// A line that could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LineError {
    /// The line went past the cap without a newline.
    #[error("the pool sent a line longer than {cap} bytes")]
    TooLong {
        /// The cap.
        cap: usize,
    },
    /// The line is not UTF-8.
    #[error("the pool sent a line that is not UTF-8")]
    NotUtf8,
    /// The connection failed.
    #[error("reading from the pool failed: {0}")]
    Io(std::io::Error),
}

/// Reads lines from a buffered reader, keeping a partial line across calls.
///
/// [`LineReader::next_line`] is cancel-safe (it may lose a race in `tokio::select!`): its only
/// await is the reader's `fill_buf`, and bytes are moved into the partial line and consumed
/// together, without an await in between.
#[derive(Debug)]
pub struct LineReader<R> {
    reader: R,
    partial: Vec<u8>,
    cap: usize,
}

impl<R: AsyncBufRead + Unpin> LineReader<R> {
    /// Lines of at most `cap` bytes from `reader`.
    pub fn new(reader: R, cap: usize) -> Self {
        Self {
            reader,
            partial: Vec::new(),
            cap,
        }
    }

    /// The next line, without the `\n` and an optional `\r`; `None` at the end of the stream
    /// (a final line without a newline is still returned first).
    pub async fn next_line(&mut self) -> Result<Option<String>, LineError> {
        loop {
            let available = self.reader.fill_buf().await.map_err(LineError::Io)?;
            if available.is_empty() {
                if self.partial.is_empty() {
                    return Ok(None);
                }
                break;
            }
            let (take, done) = match available.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (available.len(), false),
            };
            if self.partial.len() + take > self.cap {
                return Err(LineError::TooLong { cap: self.cap });
            }
            self.partial.extend_from_slice(&available[..take]);
            self.reader.consume(take);
            if done {
                break;
            }
        }
        let mut bytes = std::mem::take(&mut self.partial);
        while matches!(bytes.last(), Some(b'\n' | b'\r')) {
            bytes.pop();
        }
        String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| LineError::NotUtf8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::BufReader;

    async fn lines(input: &[u8], cap: usize, buffer: usize) -> Result<Vec<String>, LineError> {
        let mut reader = LineReader::new(BufReader::with_capacity(buffer, input), cap);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().await? {
            out.push(line);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn splits_joins_and_caps() {
        let input = b"{\"a\":1}\n{\"b\":2}\r\n\n{\"c\":3}";
        for buffer in [1, 3, 64] {
            assert_eq!(
                lines(input, 100, buffer).await.expect("valid"),
                vec!["{\"a\":1}", "{\"b\":2}", "", "{\"c\":3}"],
                "reads of {buffer} bytes"
            );
        }
        let long = [b'x'; 50];
        assert!(matches!(
            lines(&long, 40, 8).await,
            Err(LineError::TooLong { cap: 40 })
        ));
        assert_eq!(lines(&long[..39], 40, 8).await.expect("fits").len(), 1);
        assert!(matches!(
            lines(b"\xff\xfe\n", 40, 8).await,
            Err(LineError::NotUtf8)
        ));
    }
}
