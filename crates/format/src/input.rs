//! Opening files someone else wrote: regular files only, and of a bounded
//! size where a reader holds the whole file.
//!
//! Any input path can name something that is not a file: a FIFO blocks
//! `open` until a writer comes (forever, in a CI job), `/dev/zero` never
//! ends, a directory cannot be read. Every reader of outside input opens
//! through [`open`], which refuses them at once with a message that says
//! what the path is. Files read whole (the bench file, a scenario,
//! `run.json`, a SigMF meta file) go through [`read_capped`], so a huge or
//! sparse file is an error, not gigabytes of memory; the streamed files
//! (journal, SigMF data, captures) are bounded per line, frame or block by
//! their readers instead.

use std::fs::File;
use std::io::{Error, ErrorKind, Read};
use std::path::Path;

/// The most a bench file or suite file may hold: a bench of a hundred
/// phones with every option spelled out is under 100 KiB.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// The most a scenario may hold: about 170,000 one-line steps (a week at
/// a step every 4 s). The TOML parser holds a document tree of about 70
/// times the text (a 4 MiB scenario peaks near 300 MB; README "Fuzzing"
/// and `benchctl run --dry-run` measurements), so this also bounds memory.
pub const MAX_SCENARIO_BYTES: u64 = 4 << 20;

/// The most a JSON document of a run directory (`run.json`, a
/// `.sigmf-meta`, `findings.json`) may hold: `run.json` grows with its
/// step timing, a meta file with its annotations; a week-long run at one
/// step a second stays under 64 MiB.
pub const MAX_DOCUMENT_BYTES: u64 = 64 << 20;

/// Open `path` for reading if it is a regular file (or a symlink to one).
/// Anything else is an `InvalidInput` error naming what it is; a missing
/// file keeps its `NotFound` kind so callers can say which file is needed.
pub fn open(path: &Path) -> std::io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    // Opening a FIFO for reading blocks until a writer opens it; without
    // blocking, the open returns and the check below refuses it. The flag
    // changes nothing for reads of regular files.
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path)?;
    let kind = file.metadata()?.file_type();
    if kind.is_file() {
        return Ok(file);
    }
    Err(Error::new(
        ErrorKind::InvalidInput,
        format!(
            "it is {}, not a regular file (benchctl reads inputs only from regular files: a pipe or device may block or never end)",
            describe(&kind)
        ),
    ))
}

/// Read all of `path`, a regular file of at most `cap` bytes; `what` names
/// it in the error ("a bench file").
pub fn read_capped(path: &Path, cap: u64, what: &str) -> std::io::Result<Vec<u8>> {
    let file = open(path)?;
    let too_big = |size: u64| {
        Error::new(
            ErrorKind::InvalidData,
            format!(
                "it is {}, more than the {} {what} may be",
                size_words(size),
                size_words(cap)
            ),
        )
    };
    let declared = file.metadata()?.len();
    if declared > cap {
        return Err(too_big(declared));
    }
    // The size may grow while reading (a file still being written): read
    // one byte past the cap to notice.
    let mut bytes = Vec::with_capacity(declared as usize);
    file.take(cap + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > cap {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Read a JSON document of a run directory (`run.json`, a `.sigmf-meta`,
/// `findings.json`, `baseline.json`), at most [`MAX_DOCUMENT_BYTES`].
pub fn read_document(path: &Path) -> std::io::Result<Vec<u8>> {
    let name = path
        .file_name()
        .map_or_else(|| "document".into(), |n| n.to_string_lossy());
    read_capped(path, MAX_DOCUMENT_BYTES, &format!("a {name}"))
}

/// Like [`read_capped`], for text: invalid UTF-8 is an `InvalidData` error
/// at the byte where it starts.
pub fn read_text_capped(path: &Path, cap: u64, what: &str) -> std::io::Result<String> {
    String::from_utf8(read_capped(path, cap, what)?).map_err(|e| {
        Error::new(
            ErrorKind::InvalidData,
            format!(
                "it is not UTF-8 text (byte {})",
                e.utf8_error().valid_up_to()
            ),
        )
    })
}

fn describe(kind: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

/// `4 MiB`, `1.2 GiB`, `512 bytes`.
fn size_words(bytes: u64) -> String {
    const MIB: f64 = (1u64 << 20) as f64;
    match bytes {
        b if b < 1 << 10 => format!("{b} bytes"),
        b if b < 1 << 20 => format!("{:.0} KiB", b as f64 / 1024.0),
        b if b < 1 << 30 => format!("{:.0} MiB", b as f64 / MIB),
        b => format!("{:.1} GiB", b as f64 / MIB / 1024.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("bench.toml");
        let status = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo runs");
        assert!(status.success());
        let e = open(&fifo).expect_err("a FIFO");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert!(e.to_string().contains("a FIFO (named pipe)"), "{e}");
    }

    #[test]
    fn devices_and_directories_are_named() {
        let e = read_capped(Path::new("/dev/zero"), MAX_CONFIG_BYTES, "a bench file")
            .expect_err("a device");
        assert!(e.to_string().contains("a character device"), "{e}");
        let e = open(Path::new("/")).expect_err("a directory");
        assert!(e.to_string().contains("a directory"), "{e}");
        let e = open(Path::new("/nonexistent/run.json")).expect_err("missing");
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }

    #[test]
    fn a_file_over_its_cap_is_refused_without_reading_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.json");
        // Sparse: 1 GiB declared, nothing on disk.
        File::create(&path).unwrap().set_len(1 << 30).unwrap();
        let e = read_capped(&path, MAX_DOCUMENT_BYTES, "a run.json").expect_err("too big");
        assert_eq!(e.kind(), ErrorKind::InvalidData);
        assert_eq!(
            e.to_string(),
            "it is 1.0 GiB, more than the 64 MiB a run.json may be"
        );
        std::fs::write(&path, b"{}").unwrap();
        assert_eq!(read_capped(&path, 2, "x").unwrap(), b"{}");
        assert!(read_capped(&path, 1, "x").is_err());
        std::fs::write(&path, b"a\xffb").unwrap();
        let e = read_text_capped(&path, 10, "x").expect_err("not UTF-8");
        assert!(e.to_string().contains("byte 1"), "{e}");
    }
}
