//! Shards and their results files.
//!
//! Run r belongs to shard `r % N` of N, so every shard gets a fair mix of design points.
//! Each shard appends to one file, `shards/shard-I-of-N.csv`, run by run:
//!
//! ```text
//! #esh-shard,1,plan=<16 hex>,shard=I/N,esh=<version>
//! r,<run>,<tick>,<metric>,...          one line per kept row of the run
//! done,<run>,<rows>,<16 hex>           checksum of the run's row lines: the run is complete
//! failed,<run>,<16 hex>,"<error>"      the run failed; the hash covers the message
//! ```
//!
//! A run's rows count only once its `done` line follows them with the right row count
//! and checksum. Whatever follows the last valid record (a run cut off by a kill, a torn
//! last write after a crash) is cut off when the shard is opened again, and the shard
//! goes on from there: a kill loses at most the runs in progress and never duplicates
//! one. A record that does not verify before the last valid one (a flipped byte on disk)
//! is reported as corrupt at its byte and run; the records after it that verify are kept,
//! and the corrupt run is run again. A tail that is not the start of one run (garbage
//! after the last record) is reported as such before it is cut. A shard is run by one
//! process at a time (an exclusive lock on its file).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::{Checksum, Plan, SweepError};

/// Shard `index` of `count` (0-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Shard {
    pub(crate) index: u32,
    pub(crate) count: u32,
}

/// Array-index variables of the schedulers ESH knows, in the order they are looked at.
pub(crate) const INDEX_VARS: &[&str] =
    &["SLURM_ARRAY_TASK_ID", "PBS_ARRAY_INDEX", "JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"];

impl Shard {
    /// The one shard that holds every run (shard 0/1).
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Parses "I/N" (0 <= I < N): shard I of N, as `--shard` takes it.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let help = "give the shard as INDEX/COUNT with 0 <= INDEX < COUNT, e.g. 3/16";
        let (i, n) = text.split_once('/').ok_or_else(|| format!("--shard {text}: {help}"))?;
        let index: u32 = i.trim().parse().map_err(|_| format!("--shard {text}: `{i}` is not a shard index; {help}"))?;
        let count: u32 = n.trim().parse().map_err(|_| format!("--shard {text}: `{n}` is not a shard count; {help}"))?;
        if count == 0 || index >= count {
            return Err(format!(
                "--shard {text}: the index must be in 0..={} (shards are numbered from 0)",
                count.saturating_sub(1)
            ));
        }
        Ok(Shard { index, count })
    }

    /// The shard from a job array's environment: the index from the first of
    /// [`INDEX_VARS`] that is set; the count from `count` (the --shards flag), else
    /// `ESH_SHARDS`, else `SLURM_ARRAY_TASK_COUNT`. None when no index variable is set.
    pub(crate) fn from_env(count: Option<u32>, env: &dyn Fn(&str) -> Option<String>) -> Result<Option<Shard>, String> {
        let Some((var, value)) = INDEX_VARS.iter().find_map(|v| env(v).map(|x| (*v, x))) else {
            return Ok(None);
        };
        let index: u32 = value.trim().parse().map_err(|_| format!("{var}={value} is not a shard index"))?;
        let (count, from) = match count {
            Some(c) => (c, "--shards".to_string()),
            None => match env("ESH_SHARDS")
                .or_else(|| (var == "SLURM_ARRAY_TASK_ID").then(|| env("SLURM_ARRAY_TASK_COUNT")).flatten())
            {
                Some(c) => {
                    let from = if env("ESH_SHARDS").is_some() { "ESH_SHARDS" } else { "SLURM_ARRAY_TASK_COUNT" };
                    (c.trim().parse().map_err(|_| format!("{from}={c} is not a shard count"))?, from.to_string())
                }
                None => {
                    return Err(format!(
                        "{var}={value} gives the shard index, but the number of shards is unknown\n  help: pass --shards N (or set ESH_SHARDS), or give --shard {value}/N"
                    ));
                }
            },
        };
        if count == 0 || index >= count {
            return Err(format!(
                "{var}={value} is not below the shard count {count} (from {from}); shards are numbered from 0\n  help: number the array from 0 (e.g. --array=0-{}), or give --shard I/N",
                count.saturating_sub(1)
            ));
        }
        Ok(Some(Shard { index, count }))
    }

    pub(crate) fn owns(&self, run: u64) -> bool {
        run % self.count as u64 == self.index as u64
    }

    /// Runs of a plan of `runs` runs that belong to this shard.
    pub(crate) fn assigned(&self, runs: u64) -> u64 {
        let (i, n) = (self.index as u64, self.count as u64);
        if i >= runs { 0 } else { (runs - i).div_ceil(n) }
    }

    pub(crate) fn file_name(&self) -> String {
        format!("shard-{}-of-{}.csv", self.index, self.count)
    }

    /// The shard a results file belongs to, from its name.
    pub(crate) fn from_file_name(name: &str) -> Option<Shard> {
        let rest = name.strip_prefix("shard-")?.strip_suffix(".csv")?;
        let (i, n) = rest.split_once("-of-")?;
        let s = Shard { index: i.parse().ok()?, count: n.parse().ok()? };
        (s.index < s.count).then_some(s)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// One complete record of a shard file.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Record {
    pub(crate) run: u64,
    pub(crate) outcome: Outcome,
    /// Where the run's row lines start in the file, and their length in bytes.
    pub(crate) rows_at: u64,
    pub(crate) rows_len: u64,
    pub(crate) checksum: u64,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Outcome {
    Done { rows: u32 },
    Failed(String),
}

/// What a scan of a shard file found.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    /// End of the last valid record: everything after it is a torn tail.
    pub(crate) valid_end: u64,
    pub(crate) len: u64,
    /// The esh version that wrote the file.
    pub(crate) esh: String,
    /// Records before `valid_end` that do not verify: where they start, and their run when
    /// it can be read.
    pub(crate) corrupt: Vec<Corrupt>,
    /// Whether the tail after `valid_end` is something other than the start of one run
    /// (its row lines, the last perhaps cut short): garbage, not an interruption.
    pub(crate) garbage: bool,
    /// Whether the tail holds a whole record (its `done` or `failed` line) that does not
    /// verify: then it is a corrupt last record (in `corrupt`), not garbage or a torn write.
    pub(crate) tail_corrupt: bool,
}

/// A stretch of a shard file that does not verify.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Corrupt {
    pub(crate) at: u64,
    pub(crate) run: Option<u64>,
}

impl std::fmt::Display for Corrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.run {
            Some(r) => write!(f, "corrupt at byte {} (run {r})", self.at),
            None => write!(f, "corrupt at byte {} (run unknown)", self.at),
        }
    }
}

impl Scan {
    /// The tail in words, for status and run: empty when there is none.
    pub(crate) fn describe_tail(&self) -> String {
        let bytes = self.len - self.valid_end;
        match (bytes, self.garbage) {
            (0, _) => String::new(),
            (b, _) if self.tail_corrupt => {
                format!("{b} bytes after byte {}: a last record that does not verify (corrupt, above)", self.valid_end)
            }
            (b, false) => format!("{b} bytes of an unfinished run after byte {}", self.valid_end),
            (b, true) => format!("{b} bytes of trailing garbage after the last record (byte {})", self.valid_end),
        }
    }
}

fn header(plan: &Plan, shard: Shard) -> String {
    format!("#esh-shard,1,plan={:016x},shard={shard},esh={}\n", plan.id, env!("CARGO_PKG_VERSION"))
}

/// Reads a shard file's complete records, in file order. A later record of the same run
/// (a failed run retried) supersedes an earlier one; that is the reader's business.
pub(crate) fn scan(path: &Path, plan: &Plan, mut visit: impl FnMut(Record)) -> Result<Scan, SweepError> {
    let ioe = |e: io::Error| SweepError::Io(format!("cannot read '{}': {e}", path.display()));
    let file = File::open(path).map_err(ioe)?;
    let len = file.metadata().map_err(ioe)?.len();
    let mut r = BufReader::with_capacity(1 << 16, file);
    let mut line = Vec::new();
    r.read_until(b'\n', &mut line).map_err(ioe)?;
    if line.last() != Some(&b'\n') {
        return Ok(Scan { valid_end: 0, len, ..Scan::default() }); // not even a whole header: an empty shard
    }
    let esh = check_header(path, plan, &line)?;
    let mut offset = line.len() as u64;
    let mut s = Scanner { scan: Scan { valid_end: offset, len, esh, ..Scan::default() }, ..Scanner::default() };
    loop {
        line.clear();
        let n = r.read_until(b'\n', &mut line).map_err(ioe)?;
        if n == 0 {
            break;
        }
        if line.last() != Some(&b'\n') {
            s.cut_short(&line);
            break;
        }
        let at = offset;
        offset += n as u64;
        if let Some(record) = s.line(&line, at) {
            visit(record);
            s.verified(offset);
        }
    }
    Ok(s.finish())
}

/// The shard header's version of esh, once the header is checked to be this plan's.
fn check_header(path: &Path, plan: &Plan, line: &[u8]) -> Result<String, SweepError> {
    let head = String::from_utf8_lossy(line).trim_end().to_string();
    let fields: Vec<&str> = head.split(',').collect();
    let plan_field = format!("plan={:016x}", plan.id);
    if fields.len() < 5 || fields[0] != "#esh-shard" || fields[1] != "1" {
        return Err(SweepError::Input(format!(
            "'{}' is not an esh shard file (its first line is `{head}`)",
            path.display()
        )));
    }
    if fields[2] != plan_field {
        return Err(SweepError::Input(format!(
            "'{}' was written for another plan ({}, this plan is {plan_field})\n  help: the plan files were changed after runs began; move the shard file away or plan the sweep again into a new directory",
            path.display(),
            fields[2]
        )));
    }
    Ok(fields[4].trim_start_matches("esh=").to_string())
}

/// The rows of the run being read: its run, where they start, how many, their hash.
type Block = (u64, u64, u32, Checksum);

/// The state of a scan between lines.
#[derive(Default)]
struct Scanner {
    scan: Scan,
    block: Option<Block>,
    /// Corruption seen since the last valid record; it counts as corrupt only if a valid
    /// record follows it (otherwise it is the tail).
    pending: Vec<Corrupt>,
    /// Whether the stretch after the last valid record is more than one run's row lines.
    tail_garbage: bool,
    /// Whether a whole record since the last valid one failed to verify.
    closed_fault: bool,
}

impl Scanner {
    /// A fault ends the block in progress; the record where it began is corrupt.
    fn fault(&mut self, at: u64, run: Option<u64>) {
        let (at, run) = match self.block.take() {
            Some((b_run, start, _, _)) => (start, Some(b_run)),
            None => (at, run),
        };
        if self.pending.last().is_none_or(|c| c.at != at) {
            self.pending.push(Corrupt { at, run });
        }
    }

    /// A fault that also makes the tail garbage if no valid record follows.
    fn garbage(&mut self, at: u64, run: Option<u64>) {
        self.fault(at, run);
        self.tail_garbage = true;
    }

    /// A last line cut short: a torn write if it starts like a record, else garbage.
    fn cut_short(&mut self, line: &[u8]) {
        let torn =
            ["r,", "done,", "failed,"].iter().any(|k| line.starts_with(k.as_bytes()) || k.as_bytes().starts_with(line));
        if !torn {
            self.tail_garbage = true;
        }
    }

    /// One whole line at byte `at`: the record it closes, if that verifies.
    fn line(&mut self, line: &[u8], at: u64) -> Option<Record> {
        let Ok(text) = std::str::from_utf8(&line[..line.len() - 1]) else {
            self.garbage(at, None);
            return None;
        };
        let (kind, rest) = text.split_once(',').unwrap_or((text, ""));
        let (run_text, rest) = rest.split_once(',').unwrap_or((rest, ""));
        let Ok(run) = run_text.parse::<u64>() else {
            self.garbage(at, None);
            return None;
        };
        // A whole record (its `done` or `failed` line) ends here: where it starts, and the
        // record if it verifies.
        let (start, verified) = match kind {
            "r" => {
                self.row(line, at, run);
                return None;
            }
            "done" => self.done(rest, at, run)?,
            "failed" => self.failed(rest, at, run),
            _ => {
                self.garbage(at, Some(run));
                return None;
            }
        };
        if verified.is_none() {
            let block = self.block.take();
            self.fault(start, Some(run));
            self.block = block;
            self.tail_garbage = true;
            self.closed_fault = true;
        }
        verified
    }

    fn row(&mut self, line: &[u8], at: u64, run: u64) {
        if self.block.as_ref().is_some_and(|b| b.0 != run) {
            // Rows of another run before this one's end: the block is broken; the new rows
            // may start a good one.
            self.garbage(at, Some(run));
        }
        let b = self.block.get_or_insert((run, at, 0, Checksum::new()));
        b.2 += 1;
        b.3.write(line);
    }

    /// A `done` line: where its record starts and the record if its rows verify; None when
    /// it ends another run's block (a fault, not a record).
    fn done(&mut self, rest: &str, at: u64, run: u64) -> Option<(u64, Option<Record>)> {
        let (rows_text, sum_text) = rest.split_once(',').unwrap_or((rest, ""));
        let parsed = (rows_text.parse::<u32>(), u64::from_str_radix(sum_text, 16));
        let (start, count, hash) = match self.block.take() {
            Some((b_run, start, count, hash)) if b_run == run => (start, count, hash.finish()),
            Some(other) => {
                self.block = Some(other);
                self.garbage(at, Some(run));
                return None;
            }
            None => (at, 0, Checksum::new().finish()),
        };
        let verified = match parsed {
            (Ok(rows), Ok(sum)) if count == rows && hash == sum => Some(Record {
                run,
                outcome: Outcome::Done { rows },
                rows_at: start,
                rows_len: at - start,
                checksum: sum,
            }),
            _ => None,
        };
        Some((start, verified))
    }

    /// A `failed` line: its record, if its message verifies.
    fn failed(&mut self, rest: &str, at: u64, run: u64) -> (u64, Option<Record>) {
        if self.block.is_some() {
            self.fault(at, Some(run));
        }
        let (sum_text, quoted) = rest.split_once(',').unwrap_or((rest, ""));
        let sum = u64::from_str_radix(sum_text, 16).ok();
        let verified = match (sum, unquote(quoted)) {
            (Some(sum), Some(message)) if Checksum::of(message.as_bytes()) == sum => {
                Some(Record { run, outcome: Outcome::Failed(message), rows_at: at, rows_len: 0, checksum: sum })
            }
            _ => None,
        };
        (at, verified)
    }

    /// A record verified, ending at byte `end`: the corruption before it is real.
    fn verified(&mut self, end: u64) {
        self.scan.corrupt.append(&mut self.pending);
        self.tail_garbage = false;
        self.closed_fault = false;
        self.scan.valid_end = end;
    }

    fn finish(mut self) -> Scan {
        if self.closed_fault {
            // The last record is whole but does not verify: corrupt, not an interruption.
            self.scan.corrupt.append(&mut self.pending);
            self.scan.tail_corrupt = true;
        }
        let s = &mut self.scan;
        s.garbage = self.tail_garbage && !s.tail_corrupt && s.valid_end < s.len;
        self.scan
    }
}

/// A CSV field in double quotes, with quotes doubled inside.
fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\"").replace(['\n', '\r'], " "))
}

fn unquote(s: &str) -> Option<String> {
    let inner = s.strip_prefix('"')?.strip_suffix('"')?;
    Some(inner.replace("\"\"", "\""))
}

/// The results files under a plan's shard directory, by shard.
pub(crate) fn files(plan: &Plan) -> Result<Vec<(Shard, PathBuf)>, SweepError> {
    let dir = plan.shard_dir();
    let mut out = Vec::new();
    let entries = match fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(SweepError::Io(format!("cannot read '{}': {e}", dir.display()))),
    };
    for entry in entries {
        let entry = entry.map_err(|e| SweepError::Io(format!("cannot read '{}': {e}", dir.display())))?;
        if let Some(shard) = entry.file_name().to_str().and_then(Shard::from_file_name) {
            out.push((shard, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

/// Who is running a shard, kept beside its file while it runs.
pub(crate) fn running_note(path: &Path) -> PathBuf {
    path.with_extension("running")
}

/// Whether a process holds the shard's lock now.
pub(crate) fn is_locked(path: &Path) -> bool {
    match File::open(path) {
        Ok(f) => match f.try_lock_shared() {
            Ok(()) => {
                let _ = f.unlock();
                false
            }
            Err(_) => true,
        },
        Err(_) => false,
    }
}

/// The open results file of the shard this process runs.
pub(crate) struct ShardWriter {
    file: File,
    path: PathBuf,
    /// The file's identity (device, inode): if the path stops naming this file, the sweep
    /// directory was replaced or the file moved while the shard ran.
    id: (u64, u64),
}

fn file_id(m: &fs::Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    (m.dev(), m.ino())
}

/// What reopening a shard file found.
#[derive(Debug, Default)]
pub(crate) struct Recovered {
    pub(crate) done: Vec<u64>,
    pub(crate) failed: Vec<(u64, String)>,
    /// Bytes of an incomplete run cut off the end.
    pub(crate) cut: u64,
    /// Whether what was cut was garbage rather than an unfinished run.
    pub(crate) garbage: bool,
    /// Records that do not verify before the last valid one (their runs run again).
    pub(crate) corrupt: Vec<Corrupt>,
}

impl ShardWriter {
    /// Opens (or creates) the shard's file, takes its lock, and cuts off a torn tail.
    pub(crate) fn open(plan: &Plan, shard: Shard) -> Result<(ShardWriter, Recovered), SweepError> {
        let dir = plan.shard_dir();
        fs::create_dir_all(&dir).map_err(|e| SweepError::Io(format!("cannot create '{}': {e}", dir.display())))?;
        let path = dir.join(shard.file_name());
        let ioe = |e: io::Error| SweepError::Io(format!("cannot write '{}': {e}", path.display()));
        let mut file =
            OpenOptions::new().read(true).write(true).create(true).truncate(false).open(&path).map_err(ioe)?;
        if file.try_lock().is_err() {
            let who = fs::read_to_string(running_note(&path)).unwrap_or_default();
            return Err(SweepError::Io(format!(
                "shard {shard} is being run by another process{}; '{}' is locked\n  help: wait for it, or stop it first",
                if who.is_empty() { String::new() } else { format!(" ({})", who.trim()) },
                path.display()
            )));
        }
        let mut rec = Recovered::default();
        let scan = scan(&path, plan, |r| match r.outcome {
            Outcome::Done { .. } => rec.done.push(r.run),
            Outcome::Failed(m) => rec.failed.push((r.run, m)),
        })?;
        if scan.valid_end == 0 {
            file.set_len(0).map_err(ioe)?;
            file.write_all(header(plan, shard).as_bytes()).map_err(ioe)?;
        } else if scan.valid_end < scan.len {
            rec.cut = scan.len - scan.valid_end;
            rec.garbage = scan.garbage;
            file.set_len(scan.valid_end).map_err(ioe)?;
        }
        rec.corrupt = scan.corrupt;
        file.sync_data().map_err(ioe)?;
        file.seek(SeekFrom::End(0)).map_err(ioe)?;
        let host = fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .or_else(|_| std::env::var("HOSTNAME"))
            .unwrap_or_else(|_| "unknown host".into());
        let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let _ = fs::write(running_note(&path), format!("pid {} on {host}, since {}\n", std::process::id(), utc(since)));
        let id = file_id(&file.metadata().map_err(ioe)?);
        Ok((ShardWriter { file, path, id }, rec))
    }

    /// Fails if the shard's path no longer names the file this process writes: the sweep
    /// directory was replaced (`sweep plan --force` of an old esh, a copy, a move) and
    /// nothing written from now on would count.
    pub(crate) fn check_in_place(&self) -> Result<(), SweepError> {
        match fs::metadata(&self.path) {
            Ok(m) if file_id(&m) == self.id => Ok(()),
            _ => Err(SweepError::Io(format!(
                "the shard file '{}' was replaced or removed while this shard ran: the sweep directory is no longer the one this run started in, and its results were not kept\n  help: check `esh sweep status` on the directory, and run the shard again",
                self.path.display()
            ))),
        }
    }

    /// A completed run as appended: its row lines (each starting `r,<run>,`) and the
    /// record that makes them count. Built outside the writer's lock (hashing is per byte).
    pub(crate) fn done_block(run: u64, mut rows: Vec<u8>, count: u32) -> Vec<u8> {
        let sum = Checksum::of(&rows);
        rows.extend_from_slice(format!("done,{run},{count},{sum:016x}\n").as_bytes());
        rows
    }

    /// A failed run's record, with its error.
    pub(crate) fn failed_block(run: u64, message: &str) -> Vec<u8> {
        let message = message.replace(['\n', '\r'], " ");
        format!("failed,{run},{:016x},{}\n", Checksum::of(message.as_bytes()), quote(&message)).into_bytes()
    }

    /// Appends a block from [`ShardWriter::done_block`] or [`ShardWriter::failed_block`]
    /// in one write.
    pub(crate) fn append(&mut self, block: &[u8]) -> Result<(), SweepError> {
        self.check_in_place()?;
        self.write(block)
    }

    /// One write per run, straight to the OS: a killed process loses nothing it wrote.
    /// There is no fsync per run (it would cost more than a small run): a machine crash
    /// may lose what the OS had not yet written back, which the next open finds torn or
    /// missing and runs again.
    fn write(&mut self, bytes: &[u8]) -> Result<(), SweepError> {
        self.file.write_all(bytes).map_err(|e| SweepError::Io(format!("cannot write '{}': {e}", self.path.display())))
    }

    /// Releases the shard.
    pub(crate) fn close(self) -> Result<(), SweepError> {
        let placed = self.check_in_place();
        if placed.is_ok() {
            let _ = fs::remove_file(running_note(&self.path));
        }
        placed
    }
}

/// Unix seconds as "YYYY-MM-DD HH:MM:SS UTC" (Howard Hinnant's civil-from-days).
pub(crate) fn utc(secs: u64) -> String {
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + (month <= 2) as i64;
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rem / 3600, rem / 60 % 60, rem % 60)
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_dates() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(super::utc(1_795_609_298), "2026-11-25 12:21:38 UTC");
    }

    use super::*;

    #[test]
    fn shards_parse_and_split_runs_evenly() {
        assert_eq!(Shard::parse("3/16"), Ok(Shard { index: 3, count: 16 }));
        assert!(Shard::parse("16/16").is_err());
        assert!(Shard::parse("3").is_err());
        assert!(Shard::parse("a/4").is_err());
        let total: u64 = (0..7).map(|i| Shard { index: i, count: 7 }.assigned(100)).sum();
        assert_eq!(total, 100);
        assert_eq!(Shard { index: 5, count: 8 }.assigned(3), 0);
        assert_eq!(Shard::from_file_name("shard-3-of-16.csv"), Some(Shard { index: 3, count: 16 }));
        assert_eq!(Shard::from_file_name("shard-16-of-16.csv"), None);
    }

    #[test]
    fn shard_from_scheduler_variables() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let slurm = env(&[("SLURM_ARRAY_TASK_ID", "3"), ("SLURM_ARRAY_TASK_COUNT", "8")]);
        assert_eq!(Shard::from_env(None, &slurm), Ok(Some(Shard { index: 3, count: 8 })));
        assert_eq!(Shard::from_env(Some(4), &slurm), Ok(Some(Shard { index: 3, count: 4 })));
        let k8s = env(&[("JOB_COMPLETION_INDEX", "2"), ("ESH_SHARDS", "5")]);
        assert_eq!(Shard::from_env(None, &k8s), Ok(Some(Shard { index: 2, count: 5 })));
        let pbs = env(&[("PBS_ARRAY_INDEX", "1")]);
        assert!(Shard::from_env(None, &pbs).unwrap_err().contains("--shards"));
        let aws = env(&[("AWS_BATCH_JOB_ARRAY_INDEX", "4")]);
        assert!(Shard::from_env(Some(4), &aws).unwrap_err().contains("numbered from 0"));
        assert_eq!(Shard::from_env(None, &env(&[])), Ok(None));
    }

    #[test]
    fn quoting_round_trips() {
        let m = "bad \"value\", here";
        assert_eq!(unquote(&quote(m)).as_deref(), Some(m));
    }
}
