//! Output directories that appear only when complete: the hidden names they are built
//! under, clearing what killed runs left behind, and publishing (with `--force`, without a
//! moment when the output directory is missing).
//!
//! A directory `out` is built as `.<name>.partial-<pid>` beside it. With `--force`, the
//! finished one takes the old one's place in one step where the system can (Linux's
//! `renameat2(RENAME_EXCHANGE)`); elsewhere the old one is first renamed to
//! `.<name>.old-<pid>`. A run killed with SIGKILL (which no program can catch) may leave
//! either behind: the next run of the same output removes a partial directory whose process
//! is gone, and puts an old directory back in place if the output directory is missing.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// The longest file name most file systems allow (NAME_MAX), in bytes.
const NAME_MAX: usize = 255;

/// Why a path cannot be an output directory, or None when it can. Checked before a run
/// starts, so that nothing runs only to fail at the end.
pub(crate) fn check_name(out: &Path) -> Option<String> {
    let text = out.as_os_str().to_string_lossy();
    let trimmed = text.trim_end_matches('/');
    let last = trimmed.rsplit('/').next().unwrap_or("");
    if trimmed.is_empty() || (out.file_name().is_none() && last != "." && last != "..") {
        return Some("the path has no directory name of its own".into());
    }
    if last == "." || last == ".." {
        return Some(format!(
            "it ends in `{last}`, which names no new directory; give the directory's own name (e.g. `runs/x`)"
        ));
    }
    let name = out.file_name().map_or(0, |n| n.len());
    if name > NAME_MAX {
        return Some(format!("its last component is {name} bytes long; at most {NAME_MAX} are allowed"));
    }
    None
}

/// The directory holding `out` (`.` for a bare name).
fn parent(out: &Path) -> PathBuf {
    match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// The part of the hidden names that stands for `out`: its name, or, where the hidden name
/// would exceed NAME_MAX, its first bytes and a hash of the whole name.
fn base(out: &Path) -> String {
    let name = out.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "run".into());
    // "." + base + ".partial-" + a pid of up to 10 digits.
    let room = NAME_MAX - 1 - ".partial-".len() - 10;
    if name.len() <= room {
        return name;
    }
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
    let mut cut = room - 17;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}~{hash:016x}", &name[..cut])
}

/// The hidden name `.<name>.<kind>-<pid>` beside `out`.
fn hidden(out: &Path, kind: &str, pid: u32) -> PathBuf {
    parent(out).join(format!(".{}.{kind}-{pid}", base(out)))
}

/// Where this process builds `out`.
pub(crate) fn partial_dir(out: &Path) -> PathBuf {
    hidden(out, "partial", std::process::id())
}

/// Whether a process with this id is running (on systems where that cannot be asked, it is
/// taken to be running, so that nothing of a live run is ever removed).
fn alive(pid: u32) -> bool {
    if pid == std::process::id() {
        // A directory with this process's id is from an earlier process of the same id.
        return false;
    }
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else { return false };
        // SAFETY: kill with signal 0 only checks that the process exists.
        let r = unsafe { libc::kill(pid, 0) };
        r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
    }
    #[cfg(not(unix))]
    {
        true
    }
}

/// The file inside a run's partial directory naming the host that builds it, so that a
/// run on another machine sharing the file system (a cluster's) is never taken for a dead
/// process of this one. Removed before the directory is published.
pub(crate) const OWNER: &str = ".esh-host";

/// This machine's name ("" where it cannot be asked).
fn host() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: gethostname writes at most buf.len() bytes into buf.
        if unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            return String::from_utf8_lossy(&buf[..end]).into_owned();
        }
    }
    std::env::var("COMPUTERNAME").unwrap_or_default()
}

/// Marks a partial directory as built on this host (see [`OWNER`]).
pub(crate) fn mark_owner(tmp: &Path) -> io::Result<()> {
    fs::write(tmp.join(OWNER), host() + "\n")
}

/// Whether a partial directory was marked by another host.
fn other_host(dir: &Path) -> bool {
    fs::read_to_string(dir.join(OWNER)).is_ok_and(|h| h.trim_end() != host())
}

/// Clears what killed runs of `out` left beside it: a partial directory whose process is
/// gone is removed; an old directory (a `--force` killed in the middle of replacing it) is
/// put back in place when `out` is missing, and removed when `out` is there. Each thing
/// done is told to `note`.
pub(crate) fn clear_stale(out: &Path, note: &mut dyn FnMut(String)) -> io::Result<()> {
    let dir = parent(out);
    let Ok(entries) = fs::read_dir(&dir) else { return Ok(()) };
    let b = base(out);
    let (partial, old) = (format!(".{b}.partial-"), format!(".{b}.old-"));
    let mut stale = Vec::new();
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        for (prefix, is_old) in [(&partial, false), (&old, true)] {
            if let Some(pid) = name.strip_prefix(prefix.as_str()).and_then(|r| r.parse::<u32>().ok())
                && !alive(pid)
                && !other_host(&dir.join(&name))
            {
                stale.push((is_old, pid, dir.join(&name)));
            }
        }
    }
    // Old directories first: one killed between its two renames left the old run as
    // `.old-` and the new one, never published, as `.partial-`; the old one goes back.
    stale.sort_by_key(|(is_old, pid, _)| (!is_old, *pid));
    for (is_old, pid, path) in stale {
        if is_old && !out.exists() {
            fs::rename(&path, out)?;
            note(format!(
                "restored '{}' from '{}', left by a run (process {pid}) killed while replacing it",
                out.display(),
                path.display()
            ));
        } else {
            fs::remove_dir_all(&path)?;
            let what = if is_old { "replaced directory" } else { "partial directory" };
            note(format!("removed the {what} '{}' left by an interrupted run (process {pid})", path.display()));
        }
    }
    Ok(())
}

/// Why [`build_dir`] failed.
pub(crate) enum BuildError<E> {
    /// A stale hidden directory could not be cleared.
    Stale(io::Error),
    /// Filling the directory failed; nothing is left behind.
    Fill(E),
    /// The directory is complete but could not take its place; it is kept where it was built.
    Publish { kept: PathBuf, why: String },
}

/// Builds a whole output directory out of sight and moves it into place only when complete
/// (a sweep plan, a report): `fill` writes into a fresh hidden directory beside `out`.
/// What killed runs of the same output left behind is cleared first.
pub(crate) fn build_dir<E>(
    out: &Path,
    force: bool,
    fill: impl FnOnce(&Path) -> Result<(), E>,
) -> Result<(), BuildError<E>> {
    clear_stale(out, &mut |_| {}).map_err(BuildError::Stale)?;
    let tmp = partial_dir(out);
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(BuildError::Stale)?;
    }
    if let Err(e) = fill(&tmp) {
        let _ = fs::remove_dir_all(&tmp);
        return Err(BuildError::Fill(e));
    }
    publish(&tmp, out, force).map_err(|why| BuildError::Publish { kept: tmp, why })
}

/// Swaps two directories in one step, where the system can.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let (ca, cb) = (CString::new(a.as_os_str().as_bytes())?, CString::new(b.as_os_str().as_bytes())?);
    // SAFETY: both are valid NUL-terminated paths; renameat2 only reads them.
    let r = unsafe { libc::renameat2(libc::AT_FDCWD, ca.as_ptr(), libc::AT_FDCWD, cb.as_ptr(), libc::RENAME_EXCHANGE) };
    if r == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn exchange(_: &Path, _: &Path) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

/// Moves the finished directory into place, replacing an old one only now.
/// Without `force`, an output directory that appeared while the run ran (another run
/// with the same `--out`) is never replaced. With it, the new directory and the old one
/// swap places in one step where the system can; elsewhere the old one is renamed aside
/// first and put back if the new one cannot take its place.
pub(crate) fn publish(tmp: &Path, out: &Path, force: bool) -> Result<(), String> {
    if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    }
    if !out.exists() {
        // rename does not replace a non-empty directory, so a racing run cannot be lost.
        return fs::rename(tmp, out)
            .map_err(|e| if out.exists() { "another run created it meanwhile".to_string() } else { e.to_string() });
    }
    if !force {
        return Err("another run created it meanwhile (pass --force to replace it)".to_string());
    }
    if exchange(tmp, out).is_ok() {
        // `tmp` now holds the old run; if it cannot be removed now, the next run of this
        // output removes it (a partial directory of a finished process).
        let _ = fs::remove_dir_all(tmp);
        return Ok(());
    }
    let old = hidden(out, "old", std::process::id());
    fs::rename(out, &old).map_err(|e| format!("cannot move the old directory aside: {e}"))?;
    if let Err(e) = fs::rename(tmp, out) {
        return Err(match fs::rename(&old, out) {
            Ok(()) => e.to_string(),
            Err(_) => format!("{e}; the old directory is kept as '{}'", old.display()),
        });
    }
    // The new run is in place; an old copy that cannot be removed now is removed by the
    // next run of this output.
    let _ = fs::remove_dir_all(&old);
    Ok(())
}

/// A file written under a temporary name beside its place and renamed into it on
/// [`AtomicFile::commit`]: a reader never sees it half-written, and an interrupted writer
/// leaves the previous version (if any) untouched.
pub(crate) struct AtomicFile {
    tmp: PathBuf,
    path: PathBuf,
    writer: Option<BufWriter<File>>,
}

impl AtomicFile {
    pub(crate) fn create(path: &Path) -> io::Result<AtomicFile> {
        let tmp = partial_dir(path);
        let file = File::create(&tmp)?;
        Ok(AtomicFile { tmp, path: path.to_path_buf(), writer: Some(BufWriter::with_capacity(1 << 16, file)) })
    }

    /// Flushes, syncs and renames the file into place.
    pub(crate) fn commit(mut self) -> io::Result<()> {
        let w = self.writer.take().expect("committed once");
        let file = w.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        fs::rename(&self.tmp, &self.path)
    }

    /// Writes a whole file at once.
    pub(crate) fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
        let mut f = AtomicFile::create(path)?;
        f.write_all(bytes)?;
        f.commit()
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.writer.as_mut().expect("not committed").write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.writer.as_mut().expect("not committed").flush()
    }
}

impl Drop for AtomicFile {
    /// An abandoned file (an error part-way) leaves no temporary behind.
    fn drop(&mut self) {
        if self.writer.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_names_fit_name_max() {
        for len in [1, 100, 230, 236, 237, 250, 255] {
            let name = "x".repeat(len);
            let p = hidden(Path::new(&name), "partial", u32::MAX);
            let n = p.file_name().unwrap().len();
            assert!(n <= NAME_MAX, "{len}: {n}");
        }
        // Long names that differ only at the end get different hidden names.
        let (a, b) = ("y".repeat(250) + "a", "y".repeat(250) + "b");
        assert_ne!(base(Path::new(&a)), base(Path::new(&b)));
        assert_eq!(base(Path::new("runs/x")), "x");
    }

    #[test]
    fn names_that_are_no_directory_are_refused() {
        for bad in ["", "/", "y/.", "y/..", ".", "..", "runs/./", "a/../"] {
            assert!(check_name(Path::new(bad)).is_some(), "{bad:?} accepted");
        }
        for good in ["x", "runs/x", "runs/x/", "./x", "../x", ".hidden"] {
            assert_eq!(check_name(Path::new(good)), None, "{good:?}");
        }
        assert!(check_name(Path::new(&"z".repeat(256))).unwrap().contains("256 bytes"));
    }

    #[test]
    fn stale_directories_are_cleared_and_old_ones_restored() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        // A pid that cannot be running (above the kernel's pid_max).
        let dead = 4_000_000_000u32;
        fs::create_dir(hidden(&out, "partial", dead)).unwrap();
        let old = hidden(&out, "old", dead);
        fs::create_dir(&old).unwrap();
        fs::write(old.join("ticks.csv"), "old").unwrap();
        // A live process's directory (pid 1) is left alone, and so is one of another host.
        let live = hidden(&out, "partial", 1);
        fs::create_dir(&live).unwrap();
        let elsewhere = hidden(&out, "partial", dead - 1);
        fs::create_dir(&elsewhere).unwrap();
        fs::write(elsewhere.join(OWNER), "another-machine\n").unwrap();
        let mut notes = Vec::new();
        clear_stale(&out, &mut |m| notes.push(m)).unwrap();
        assert_eq!(fs::read_to_string(out.join("ticks.csv")).unwrap(), "old");
        assert!(live.exists() && elsewhere.exists());
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].contains("restored") && notes[1].contains("removed the partial"), "{notes:?}");
        // With the output in place, an old copy is only removed.
        fs::create_dir(&old).unwrap();
        clear_stale(&out, &mut |_| {}).unwrap();
        assert!(!old.exists() && out.join("ticks.csv").exists());
    }

    #[test]
    fn force_swaps_without_a_gap() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        fs::create_dir(&out).unwrap();
        fs::write(out.join("a"), "old").unwrap();
        let tmp = partial_dir(&out);
        fs::create_dir(&tmp).unwrap();
        fs::write(tmp.join("a"), "new").unwrap();
        publish(&tmp, &out, true).unwrap();
        assert_eq!(fs::read_to_string(out.join("a")).unwrap(), "new");
        let mut left: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        left.sort();
        assert_eq!(left, ["run"]);
    }
}
