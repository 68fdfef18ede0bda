//! Load-time guards shared by every stage (issue #22): the memory budget that sizes are
//! checked against before anything large is allocated, the one helper that cuts echoed user
//! values to a readable length, UTF-8 BOM stripping, and the reason a path cannot be read as
//! a file.
//!
//! Nothing here runs in the simulation loop.

use std::fmt::Display;
use std::path::Path;

/// Longest echoed user value, in characters, before [`clip`] cuts it.
pub const CLIP_CHARS: usize = 80;

/// A user value as it may appear in a one-line error: control characters escaped (a newline or
/// NUL must not break the line) and cut to [`CLIP_CHARS`] characters with an ellipsis and the
/// full length. Every error that echoes a value from an input file goes through this.
pub fn clip(value: impl Display) -> String {
    let s = value.to_string();
    let mut out = String::new();
    let mut n = 0;
    for (k, c) in s.chars().enumerate() {
        if n >= CLIP_CHARS {
            let total = k + s[out_len_bytes(&s, k)..].chars().count();
            out.push_str(&format!("… ({total} characters)"));
            return out;
        }
        if c.is_control() {
            let e: String = c.escape_default().collect();
            n += e.chars().count();
            out.push_str(&e);
        } else {
            out.push(c);
            n += 1;
        }
    }
    out
}

/// Byte offset of the `k`-th character of `s`.
fn out_len_bytes(s: &str, k: usize) -> usize {
    s.char_indices().nth(k).map_or(s.len(), |(b, _)| b)
}

/// `text` without a leading UTF-8 byte-order mark (accepted in every text input).
pub fn strip_bom(text: &str) -> &str {
    text.strip_prefix('\u{feff}').unwrap_or(text)
}

/// `bytes` without a leading UTF-8 byte-order mark.
pub fn strip_bom_bytes(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// Why `path` cannot be opened as a regular file, in words ("is a directory", "too many
/// levels of symbolic links", "no such file", …); `None` if it looks like a readable file.
pub fn file_problem(path: &Path) -> Option<String> {
    match std::fs::metadata(path) {
        Ok(m) if m.is_dir() => Some("is a directory, not a file".into()),
        Ok(_) => None,
        Err(e) => Some(io_reason(&e)),
    }
}

/// An I/O error in words without Rust's "(os error N)" noise, with the cases users hit named
/// plainly.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(libc::ELOOP) => "too many levels of symbolic links (a symlink loop?)".into(),
        Some(libc::EISDIR) => "is a directory, not a file".into(),
        Some(libc::ENOENT) => "no such file or directory".into(),
        Some(libc::ENOTDIR) => "a component of the path is not a directory".into(),
        Some(libc::EACCES) => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Read a whole text-ish file, naming directories and symlink loops plainly; the BOM is left
/// in place (callers strip it with [`strip_bom`]).
pub fn read_file(path: &Path) -> Result<Vec<u8>, String> {
    if let Some(p) = file_problem(path) {
        return Err(p);
    }
    std::fs::read(path).map_err(|e| io_reason(&e))
}

/// Bytes of memory a load may plan to use: `$GLIFNET_MEMORY_BUDGET` (bytes) if set, else 90 %
/// of `MemAvailable` in `/proc/meminfo`, else 8 GiB.
pub fn memory_budget() -> u64 {
    if let Some(b) = std::env::var("GLIFNET_MEMORY_BUDGET")
        .ok()
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|b| b.is_finite() && *b > 0.0)
    {
        return b as u64;
    }
    available_memory().map_or(FALLBACK_BUDGET, |a| a / 10 * 9)
}

/// Used when `/proc/meminfo` cannot be read.
const FALLBACK_BUDGET: u64 = 8 << 30;

/// `MemAvailable` from `/proc/meminfo`, in bytes.
pub fn available_memory() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = s.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb.saturating_mul(1024))
}

/// A number as a person would write it: plain when short (`0.1`, `200`), else in exponent form
/// (`1e-9` rather than `0.000000001`).
pub fn fmt_num(x: f64) -> String {
    let plain = format!("{x}");
    if plain.len() > 10 {
        format!("{x:e}")
    } else {
        plain
    }
}

/// `bytes` for people: "51.2 GB", "840 MB", "12 kB" (decimal units).
pub fn fmt_bytes(bytes: f64) -> String {
    const UNITS: [&str; 7] = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut v = bytes;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{v:.0} B")
    } else if v >= 100.0 {
        format!("{v:.0} {}", UNITS[u])
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// `Some(reason)` if `need` bytes (an estimate, f64 so that absurd sizes do not overflow)
/// exceed the budget: "needs 51.2 GB, more than the 20.1 GB of memory available".
pub fn over_budget(need: f64) -> Option<String> {
    let budget = memory_budget();
    // NaN counts as too big
    let fits = matches!(
        need.partial_cmp(&(budget as f64)),
        Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
    );
    (!fits).then(|| {
        format!(
            "needs {}, more than the {} of memory available",
            fmt_bytes(need),
            fmt_bytes(budget as f64)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_cuts_and_escapes() {
        assert_eq!(clip("abc"), "abc");
        assert_eq!(clip("a\nb\0"), "a\\nb\\u{0}");
        let long = "x".repeat(1000);
        let c = clip(&long);
        assert!(c.starts_with(&"x".repeat(80)));
        assert!(c.ends_with("… (1000 characters)"), "{c}");
        assert!(c.chars().count() < 110);
        // escapes count towards the limit: 2 MB of NULs stay a short line
        let c = clip("\0".repeat(1 << 21));
        assert!(c.chars().count() < 120, "{c}");
        assert!(c.ends_with("(2097152 characters)"), "{c}");
    }

    #[test]
    fn bytes_for_people() {
        assert_eq!(fmt_bytes(51.2e9), "51.2 GB");
        assert_eq!(fmt_bytes(840e6), "840 MB");
        assert_eq!(fmt_bytes(12.0), "12 B");
        assert_eq!(fmt_bytes(f64::INFINITY), "inf EB");
        assert_eq!(fmt_num(1e-9), "1e-9");
        assert_eq!(fmt_num(0.1), "0.1");
    }

    #[test]
    fn bom_and_file_problems() {
        assert_eq!(strip_bom("\u{feff}{}"), "{}");
        assert_eq!(strip_bom_bytes(b"\xEF\xBB\xBFa"), b"a");
        let d = tempfile::tempdir().unwrap();
        assert!(file_problem(d.path()).unwrap().contains("is a directory"));
        let l = d.path().join("loop");
        std::os::unix::fs::symlink(&l, &l).unwrap();
        assert!(file_problem(&l).unwrap().contains("symbolic links"));
        assert!(file_problem(&d.path().join("nope"))
            .unwrap()
            .contains("no such file"));
    }
}
