//! Slurm job arrays: one array task per shard, and a merge job that waits for the whole
//! array (`afterany`, so it also reports an array with failed tasks). The scripts are
//! plain files in `<sweep>/slurm/`, printed for the user to read, and submitted with
//! `sbatch` only when asked.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::file::SlurmDefaults;
use super::merge::Index;
use super::shard::Shard;
use super::{Plan, SweepError};

/// `esh sweep slurm`'s settings: its flags, which go over the sweep file's `[slurm]` table
/// (the same settings, `SlurmDefaults`), and what only a flag can say.
#[derive(Clone, Debug, Default)]
pub(crate) struct Options {
    /// The flags' settings; `extra` holds the `#SBATCH` options added after the file's.
    pub(crate) flags: SlurmDefaults,
    /// The esh binary the tasks run [default: this one].
    pub(crate) esh: Option<PathBuf>,
    /// Only the shards that still have runs without a record.
    pub(crate) missing: bool,
}

/// The written scripts, and the array indices to submit.
pub(crate) struct Scripts {
    pub(crate) array: PathBuf,
    pub(crate) merge: PathBuf,
    pub(crate) array_text: String,
    pub(crate) merge_text: String,
    pub(crate) tasks: u32,
    /// The indices to submit (all, or those with missing runs); empty: nothing to do.
    pub(crate) indices: Vec<u32>,
    pub(crate) throttle: Option<u32>,
}

/// The values of `esh sweep slurm` that go into a script, as Slurm accepts them. Every
/// value is checked before a script is written, so that none can add a line to it (a
/// command after `#SBATCH` lines also ends them: sbatch stops reading options at the first
/// command).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Field {
    Partition,
    Account,
    Memory,
    Time,
    Extra,
}

impl Field {
    /// The key in a sweep file's [slurm] table.
    pub(crate) fn key(self) -> &'static str {
        match self {
            Field::Partition => "partition",
            Field::Account => "account",
            Field::Memory => "memory",
            Field::Time => "time",
            Field::Extra => "extra",
        }
    }

    /// The command-line flag.
    pub(crate) fn flag(self) -> &'static str {
        match self {
            Field::Partition => "--partition",
            Field::Account => "--account",
            Field::Memory => "--memory",
            Field::Time => "--time",
            Field::Extra => "--sbatch",
        }
    }

    /// Whether `value` is one Slurm accepts for this field; Err says what is allowed.
    pub(crate) fn check(self, value: &str) -> Result<(), String> {
        if let Some(c) = value.chars().find(|c| c.is_control()) {
            return Err(format!(
                "{:?} holds a control character ({}); a value in an sbatch script must be one line of printable text",
                value,
                c.escape_default()
            ));
        }
        let name = |s: &str| {
            !s.is_empty() && s.len() <= 200 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        };
        let ok = match self {
            Field::Partition => value.split(',').all(name),
            Field::Account => name(value),
            Field::Memory => {
                let digits = value.trim_end_matches(['K', 'M', 'G', 'T', 'k', 'm', 'g', 't']);
                !digits.is_empty()
                    && digits.len() + 1 >= value.len()
                    && digits.len() <= 15
                    && digits.bytes().all(|b| b.is_ascii_digit())
            }
            Field::Time => super::file::valid_slurm_time(value),
            Field::Extra => {
                value.starts_with('-')
                    && value.len() > 1
                    && value.bytes().all(|b| b.is_ascii_graphic() || b == b' ')
                    && !value.contains(['\'', '"', '\\', '`', '$'])
            }
        };
        if ok {
            return Ok(());
        }
        Err(match self {
            Field::Partition => format!(
                "{value:?} is not a Slurm partition name: letters, digits, '_', '-' and '.', several separated by commas"
            ),
            Field::Account => format!("{value:?} is not a Slurm account name: letters, digits, '_', '-' and '.'"),
            Field::Memory => {
                format!("{value:?} is not a Slurm memory size: an integer with an optional unit K, M, G or T, e.g. 2G")
            }
            Field::Time => format!(
                "{value:?} is not a Slurm time limit: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS, e.g. 01:00:00"
            ),
            Field::Extra => format!(
                "{value:?} is not an sbatch option: one option starting with '-', printable, without quotes, backslashes, '`' or '$', e.g. --qos=normal"
            ),
        })
    }
}

/// A path that is written into a script: one line, and, where an `#SBATCH` line holds it
/// (the log directory), no spaces, quotes or '%' either (sbatch splits and expands them).
fn check_path(what: &str, path: &Path, in_sbatch_line: bool) -> Result<(), SweepError> {
    let text = path.to_string_lossy();
    let bad = |why: &str| {
        SweepError::Input(format!(
            "{what} '{}' {why}, so it cannot go into an sbatch script\n  help: move it to a path of letters, digits and '/', '_', '-', '.'",
            text.escape_default()
        ))
    };
    if text.chars().any(char::is_control) {
        return Err(bad("holds a control character"));
    }
    if in_sbatch_line && text.contains([' ', '\t', '"', '\'', '\\', '%', '#']) {
        return Err(bad("holds a space, a quote, a backslash, '%' or '#' (sbatch reads its #SBATCH lines itself)"));
    }
    Ok(())
}

/// Quotes a word for bash.
fn sh(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Checks every value of the merged options, naming where each came from: a flag, or the
/// sweep file's [slurm] table.
/// The most array tasks (and the largest throttle) a sweep's Slurm job may have.
pub(crate) const MAX_TASKS: u32 = 1_000_000;
/// The most CPUs one task may ask for.
pub(crate) const MAX_CPUS: u32 = 100_000;

fn check_options(file: &SlurmDefaults, o: &SlurmDefaults) -> Result<(), SweepError> {
    // The counts in the flags have the sweep file's ranges (docs/sweeps.md).
    for (flag, v, max) in
        [("--tasks", o.tasks, MAX_TASKS), ("--cpus", o.cpus, MAX_CPUS), ("--throttle", o.throttle, MAX_TASKS)]
    {
        if let Some(v) = v
            && !(1..=max).contains(&v)
        {
            return Err(SweepError::Input(format!("{flag} {v}: expected an integer in [1, {max}]")));
        }
    }
    let fields = [
        (Field::Partition, &o.partition, &file.partition),
        (Field::Account, &o.account, &file.account),
        (Field::Memory, &o.memory, &file.memory),
        (Field::Time, &o.time, &file.time),
    ];
    let from = |f: Field, flag: bool| {
        if flag { f.flag().to_string() } else { format!("[slurm] {} in the sweep's sweep.toml", f.key()) }
    };
    for (f, flag, in_file) in fields {
        if let Some(v) = flag.as_ref().or(in_file.as_ref())
            && let Err(why) = f.check(v)
        {
            return Err(SweepError::Input(format!("{}: {why}", from(f, flag.is_some()))));
        }
    }
    for (v, flag) in file.extra.iter().map(|e| (e, false)).chain(o.extra.iter().map(|e| (e, true))) {
        if let Err(why) = Field::Extra.check(v) {
            return Err(SweepError::Input(format!("{}: {why}", from(Field::Extra, flag))));
        }
    }
    Ok(())
}

fn merged(file: &SlurmDefaults, o: &SlurmDefaults) -> SlurmDefaults {
    let mut extra = file.extra.clone();
    extra.extend(o.extra.iter().cloned());
    SlurmDefaults {
        tasks: o.tasks.or(file.tasks),
        time: o.time.clone().or(file.time.clone()),
        partition: o.partition.clone().or(file.partition.clone()),
        memory: o.memory.clone().or(file.memory.clone()),
        cpus: o.cpus.or(file.cpus),
        account: o.account.clone().or(file.account.clone()),
        throttle: o.throttle.or(file.throttle),
        extra,
    }
}

/// Array indices as sbatch takes them: runs of consecutive indices as ranges.
pub(crate) fn ranges(indices: &[u32]) -> String {
    let mut out = Vec::new();
    let mut i = 0;
    while i < indices.len() {
        let mut j = i;
        while j + 1 < indices.len() && indices[j + 1] == indices[j] + 1 {
            j += 1;
        }
        out.push(if i == j { indices[i].to_string() } else { format!("{}-{}", indices[i], indices[j]) });
        i = j + 1;
    }
    out.join(",")
}

/// Writes `<sweep>/slurm/array.sbatch` and `merge.sbatch`.
pub(crate) fn write_scripts(plan: &Plan, opts: &Options) -> Result<Scripts, SweepError> {
    // Its tasks run `esh sweep run`, which registers no reporters: refused now, not per task.
    super::execute::check_reporters(plan, &Default::default())?;
    check_options(&plan.sweep.slurm, &opts.flags)?;
    let o = merged(&plan.sweep.slurm, &opts.flags);
    let tasks = o.tasks.ok_or_else(|| {
        SweepError::Input("how many array tasks? pass --tasks N (or set `tasks` in the sweep file's [slurm])".into())
    })?;
    let dir =
        plan.dir.canonicalize().map_err(|e| SweepError::Io(format!("cannot resolve '{}': {e}", plan.dir.display())))?;
    let esh = match &opts.esh {
        Some(p) => p.canonicalize().map_err(|e| SweepError::Input(format!("--esh {}: {e}", p.display())))?,
        None => std::env::current_exe().map_err(|e| SweepError::Io(format!("cannot find the esh binary: {e}")))?,
    };
    check_path("the sweep directory", &dir, true)?;
    check_path("the esh binary", &esh, false)?;
    let slurm_dir = dir.join("slurm");
    let logs = slurm_dir.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| SweepError::Io(format!("cannot create '{}': {e}", logs.display())))?;
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "sweep".into());
    let name: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect();

    let indices = task_indices(plan, tasks, opts.missing)?;
    let paths = ScriptPaths { dir: &dir, esh: &esh, logs: &logs, name: &name };
    let a = array_script(plan, &o, tasks, &paths);
    let m = merge_script(&o, &paths);

    let array = slurm_dir.join("array.sbatch");
    let merge = slurm_dir.join("merge.sbatch");
    super::plan::write_atomic(&array, a.as_bytes())?;
    super::plan::write_atomic(&merge, m.as_bytes())?;
    super::plan::write_atomic(&slurm_dir.join("tasks"), format!("{tasks}\n").as_bytes())?;
    Ok(Scripts { array, merge, array_text: a, merge_text: m, tasks, indices, throttle: o.throttle })
}

/// The array's task indices: every task with runs, or with --missing those of them that
/// still have runs to do.
fn task_indices(plan: &Plan, tasks: u32, missing: bool) -> Result<Vec<u32>, SweepError> {
    Ok(if missing {
        let index = Index::build(plan)?;
        (0..tasks)
            .filter(|&i| {
                let mut r = i as u64;
                while r < plan.runs {
                    if !index.is_complete(r) {
                        return true;
                    }
                    r += tasks as u64;
                }
                false
            })
            .collect()
    } else {
        (0..tasks).filter(|&i| Shard { index: i, count: tasks }.assigned(plan.runs) > 0).collect()
    })
}

/// The `#SBATCH` lines both scripts share: time, partition, account, memory.
fn common(o: &SlurmDefaults, s: &mut String) {
    if let Some(t) = &o.time {
        writeln!(s, "#SBATCH --time={t}").unwrap();
    }
    if let Some(p) = &o.partition {
        writeln!(s, "#SBATCH --partition={p}").unwrap();
    }
    if let Some(a) = &o.account {
        writeln!(s, "#SBATCH --account={a}").unwrap();
    }
    if let Some(m) = &o.memory {
        writeln!(s, "#SBATCH --mem={m}").unwrap();
    }
}

/// Where the scripts point: the sweep directory, the esh binary, the log directory, and
/// the job name (the directory's name with only safe characters).
struct ScriptPaths<'a> {
    dir: &'a Path,
    esh: &'a Path,
    logs: &'a Path,
    name: &'a str,
}

/// The array job: one task a shard, each running its shard with the task's CPUs.
fn array_script(plan: &Plan, o: &SlurmDefaults, tasks: u32, paths: &ScriptPaths<'_>) -> String {
    let mut a = String::from("#!/bin/bash\n");
    writeln!(
        a,
        "# ESH sweep {}: {} runs, {} array tasks (one shard each). Written by `esh sweep slurm`.\n\
         # A task that is killed or runs out of time loses at most its runs in progress: submit the\n\
         # missing shards again with `esh sweep slurm {} --tasks {tasks} --missing --submit`.",
        paths.dir.display(),
        plan.runs,
        tasks,
        paths.dir.display()
    )
    .unwrap();
    writeln!(a, "#SBATCH --job-name=esh-{}", paths.name).unwrap();
    let throttle = o.throttle.map(|t| format!("%{t}")).unwrap_or_default();
    writeln!(a, "#SBATCH --array=0-{}{throttle}", tasks - 1).unwrap();
    common(o, &mut a);
    writeln!(a, "#SBATCH --cpus-per-task={}", o.cpus.unwrap_or(1)).unwrap();
    writeln!(a, "#SBATCH --output={}/%A_%a.out", paths.logs.display()).unwrap();
    for e in &o.extra {
        writeln!(a, "#SBATCH {e}").unwrap();
    }
    writeln!(
        a,
        "set -euo pipefail\nexec {} sweep run {} --shard \"${{SLURM_ARRAY_TASK_ID}}/{tasks}\" --threads \"${{SLURM_CPUS_PER_TASK:-1}}\"",
        sh(&paths.esh.to_string_lossy()),
        sh(&paths.dir.to_string_lossy())
    )
    .unwrap();
    a
}

/// The merge job, submitted to run after the array has ended.
fn merge_script(o: &SlurmDefaults, paths: &ScriptPaths<'_>) -> String {
    let mut m = String::from("#!/bin/bash\n");
    writeln!(
        m,
        "# Merges ESH sweep {} once its array has ended (submitted with --dependency=afterany).",
        paths.dir.display()
    )
    .unwrap();
    writeln!(m, "#SBATCH --job-name=esh-{}-merge", paths.name).unwrap();
    common(o, &mut m);
    writeln!(m, "#SBATCH --cpus-per-task=1").unwrap();
    writeln!(m, "#SBATCH --output={}/merge-%j.out", paths.logs.display()).unwrap();
    for e in &o.extra {
        writeln!(m, "#SBATCH {e}").unwrap();
    }
    writeln!(
        m,
        "set -euo pipefail\nexec {} sweep merge {}",
        sh(&paths.esh.to_string_lossy()),
        sh(&paths.dir.to_string_lossy())
    )
    .unwrap();
    m
}

/// The shard layout last written by `esh sweep slurm`, for `status` to list shards that
/// have not started.
pub(crate) fn layout(plan: &Plan) -> Option<u32> {
    std::fs::read_to_string(plan.dir.join("slurm").join("tasks")).ok()?.trim().parse().ok()
}

/// Submits the array (only `indices`) and the merge job after it; returns their job ids.
pub(crate) fn submit(plan: &Plan, s: &Scripts) -> Result<(String, String), SweepError> {
    let mut array_arg = ranges(&s.indices);
    if let Some(t) = s.throttle {
        write!(array_arg, "%{t}").unwrap();
    }
    let array_id = sbatch(&[&format!("--array={array_arg}"), &s.array.to_string_lossy()])?;
    let merge_id = sbatch(&[&format!("--dependency=afterany:{array_id}"), &s.merge.to_string_lossy()])?;
    let log = plan.dir.join("slurm").join("jobs.csv");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let mut text =
        std::fs::read_to_string(&log).unwrap_or_else(|_| "submitted_unix,array_job,merge_job,indices\n".into());
    writeln!(text, "{now},{array_id},{merge_id},\"{}\"", ranges(&s.indices)).unwrap();
    super::plan::write_atomic(&log, text.as_bytes())?;
    Ok((array_id, merge_id))
}

fn sbatch(args: &[&str]) -> Result<String, SweepError> {
    let out = Command::new("sbatch").arg("--parsable").args(args).output().map_err(|e| {
        SweepError::Io(format!(
            "cannot run sbatch: {e}\n  help: run this on a Slurm login node; the scripts are written, so `sbatch` them by hand if need be"
        ))
    })?;
    if !out.status.success() {
        return Err(SweepError::Io(format!(
            "sbatch {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    // --parsable prints "<job id>" or "<job id>;<cluster>".
    let id = text.trim().split(';').next().unwrap_or("").to_string();
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SweepError::Io(format!("sbatch printed `{}`, not a job id", text.trim())));
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_ranges_are_compact() {
        assert_eq!(ranges(&[0, 1, 2, 3]), "0-3");
        assert_eq!(ranges(&[1, 3, 4, 5, 9]), "1,3-5,9");
        assert_eq!(ranges(&[7]), "7");
    }

    #[test]
    fn script_values_are_what_slurm_accepts_and_never_a_new_line() {
        let ok: &[(Field, &str)] = &[
            (Field::Partition, "short"),
            (Field::Partition, "short,long.q"),
            (Field::Account, "proj-42_a.b"),
            (Field::Memory, "2G"),
            (Field::Memory, "512"),
            (Field::Memory, "1024m"),
            (Field::Time, "1-00:00:00"),
            (Field::Extra, "--qos=normal"),
            (Field::Extra, "--mail-type=END,FAIL"),
        ];
        for (f, v) in ok {
            assert_eq!(f.check(v), Ok(()), "{f:?} {v:?}");
        }
        let hostile = ["x\nrm -rf ~", "x\r", "x\u{0}", "x\u{1b}[2J", "x\u{85}y"];
        for f in [Field::Partition, Field::Account, Field::Memory, Field::Time, Field::Extra] {
            for h in hostile {
                let e = f.check(&format!("-{h}")).unwrap_err();
                assert!(e.contains("control character"), "{f:?} {h:?}: {e}");
            }
        }
        let bad: &[(Field, &str)] = &[
            (Field::Partition, ""),
            (Field::Partition, "a,,b"),
            (Field::Partition, "a b"),
            (Field::Account, "$(id)"),
            (Field::Account, "a;b"),
            (Field::Memory, "2GG"),
            (Field::Memory, "G"),
            (Field::Memory, "-1G"),
            (Field::Time, "1h"),
            (Field::Extra, "rm -rf ~"),
            (Field::Extra, "--comment=`id`"),
            (Field::Extra, "--comment=\"x\""),
            (Field::Extra, "-"),
        ];
        for (f, v) in bad {
            assert!(f.check(v).is_err(), "{f:?} {v:?} was accepted");
        }
    }

    #[test]
    fn shell_words_are_quoted() {
        assert_eq!(sh("/a b/it's"), "'/a b/it'\\''s'");
    }
}
