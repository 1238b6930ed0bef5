//! Reading the small files ferry is pointed at — the settings file, token files, the event
//! payload, a simulator script — with a bound, so a hostile or mistaken path cannot hang ferry or
//! grow its memory without limit.
//!
//! Only regular files are read: a FIFO with no writer would block forever and `/dev/zero` would
//! never end, so anything else is refused *before* it is opened. At most `limit + 1` bytes are
//! read, which tells "exactly at the limit" from "over it" without reading the rest. The error is
//! the problem alone (naming the file); callers name the setting and the fix. The `ci` stage uses
//! this module too, for `GITHUB_EVENT_PATH`.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use crate::error::quote;

/// The most `ferry.toml` (`--config` / `FERRY_CONFIG`) may hold: 1 MiB. A platform description
/// is a few KiB.
pub(crate) const SETTINGS_FILE_LIMIT: u64 = 1024 * 1024;

/// The most a token file (`token_file`, `platform_token_file`, `token_file` of
/// `[platforms.<name>]`) may hold: 64 KiB. A token is a line.
pub(crate) const TOKEN_FILE_LIMIT: u64 = 64 * 1024;

/// The most the event payload (`GITHUB_EVENT_PATH`) may hold: 25 MiB, as GitHub caps webhook
/// payloads at 25 MB (<https://docs.github.com/en/webhooks/webhook-events-and-payloads#payload-cap>).
pub(crate) const EVENT_FILE_LIMIT: u64 = 25 * 1024 * 1024;

/// The most a simulator script (`ferry sim --script`) may hold: 1 MiB.
pub(crate) const SIM_SCRIPT_LIMIT: u64 = 1024 * 1024;

/// Why a file could not be read. `Display` says what is wrong with which file.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The file cannot be looked at, opened or read (missing, no permission, …).
    Io {
        path: String,
        source: std::io::Error,
    },
    /// A directory, FIFO, socket or device: not something with an end ferry can trust.
    NotRegular { path: String, kind: &'static str },
    /// Larger than the limit.
    TooLarge { path: String, limit: u64 },
    /// Bytes that are not UTF-8.
    NotUtf8 { path: String },
}

impl ReadError {
    /// True when the file does not exist (the settings file is optional unless named).
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }

    /// The fix for this problem; `usual` is the caller's fix for a file that cannot be read.
    pub(crate) fn fix(&self, usual: &str) -> String {
        match self {
            ReadError::Io { .. } => usual.to_string(),
            ReadError::NotRegular { .. } => {
                "name a regular file (not a directory, pipe, socket or device)".to_string()
            }
            ReadError::TooLarge { limit, .. } => {
                format!("{usual}; ferry reads at most {}", size(*limit))
            }
            ReadError::NotUtf8 { .. } => "save the file as UTF-8 text".to_string(),
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io { path, source } => write!(f, "cannot read {path}: {source}"),
            ReadError::NotRegular { path, kind } => {
                write!(f, "{path} is not a regular file (it is {kind})")
            }
            ReadError::TooLarge { path, limit } => {
                write!(f, "{path} is larger than the limit of {}", size(*limit))
            }
            ReadError::NotUtf8 { path } => write!(f, "{path} is not UTF-8 text"),
        }
    }
}

impl std::error::Error for ReadError {}

/// Reads at most `limit` bytes of the regular file at `path`.
pub(crate) fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let shown = || quote(&path.display().to_string());
    let io = |source| ReadError::Io {
        path: shown(),
        source,
    };
    // `metadata` follows symbolic links, so a link to a regular file is fine; checked before
    // opening, since opening a FIFO blocks until a writer comes.
    let meta = std::fs::metadata(path).map_err(io)?;
    regular(&meta, &shown)?;
    let too_large = || ReadError::TooLarge {
        path: shown(),
        limit,
    };
    if meta.len() > limit {
        return Err(too_large());
    }
    let file = File::open(path).map_err(io)?;
    // The path may have been swapped between the two looks; a device would open without
    // blocking, and is caught here.
    regular(&file.metadata().map_err(io)?, &shown)?;
    let expected = usize::try_from(meta.len().saturating_add(1)).unwrap_or(usize::MAX);
    let mut bytes = Vec::with_capacity(expected);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > limit {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Reads the regular file at `path` as UTF-8 text of at most `limit` bytes.
pub(crate) fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    String::from_utf8(read_bytes(path, limit)?).map_err(|_| ReadError::NotUtf8 {
        path: quote(&path.display().to_string()),
    })
}

fn regular(meta: &std::fs::Metadata, shown: &dyn Fn() -> String) -> Result<(), ReadError> {
    let kind = meta.file_type();
    if kind.is_file() {
        return Ok(());
    }
    Err(ReadError::NotRegular {
        path: shown(),
        kind: describe(kind),
    })
}

#[cfg(unix)]
fn describe(kind: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "a directory"
    } else if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a file"
    }
}

#[cfg(not(unix))]
fn describe(kind: std::fs::FileType) -> &'static str {
    if kind.is_dir() {
        "a directory"
    } else {
        "not a file"
    }
}

/// A limit for people: `64 KiB`, `25 MiB`, or bytes when it is neither.
pub(crate) fn size(bytes: u64) -> String {
    const KIB: u64 = 1024;
    const MIB: u64 = 1024 * 1024;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_up_to_the_limit_and_no_further() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "12345").unwrap();
        assert_eq!(read_text(&path, 5).unwrap(), "12345");
        let err = read_text(&path, 4).unwrap_err();
        assert!(matches!(err, ReadError::TooLarge { limit: 4, .. }), "{err}");
        assert!(err.to_string().contains("limit of 4 bytes"), "{err}");
    }

    #[test]
    fn refuses_what_is_not_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_text(dir.path(), 10).unwrap_err();
        assert!(err.to_string().contains("a directory"), "{err}");
        #[cfg(unix)]
        {
            let err = read_text(Path::new("/dev/zero"), 10).unwrap_err();
            assert!(
                err.to_string()
                    .contains("\"/dev/zero\" is not a regular file (it is a character device)"),
                "{err}"
            );
            let fifo = dir.path().join("fifo");
            let made = std::process::Command::new("mkfifo")
                .arg(&fifo)
                .status()
                .unwrap();
            assert!(made.success());
            let err = read_text(&fifo, 10).unwrap_err();
            assert!(err.to_string().contains("a FIFO"), "{err}");
        }
    }

    #[test]
    fn names_missing_and_binary_files() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let err = read_text(&missing, 10).unwrap_err();
        assert!(err.is_not_found());
        assert!(err.to_string().starts_with("cannot read \""), "{err}");
        let binary = dir.path().join("binary");
        std::fs::write(&binary, [0xff, 0xfe]).unwrap();
        let err = read_text(&binary, 10).unwrap_err();
        assert!(err.to_string().contains("is not UTF-8 text"), "{err}");
        assert_eq!(err.fix("x"), "save the file as UTF-8 text");
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(size(SETTINGS_FILE_LIMIT), "1 MiB");
        assert_eq!(size(TOKEN_FILE_LIMIT), "64 KiB");
        assert_eq!(size(EVENT_FILE_LIMIT), "25 MiB");
        assert_eq!(size(1000), "1000 bytes");
    }
}
