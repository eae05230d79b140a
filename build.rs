//! Records the git commit for provenance.json, when git can tell.
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs");
    let commit = Command::new("git").args(["rev-parse", "HEAD"]).output().ok().filter(|o| o.status.success());
    if let Some(o) = commit {
        let hash = String::from_utf8_lossy(&o.stdout).trim().to_string();
        let dirty = Command::new("git")
            .args(["status", "--porcelain", "--untracked-files=no"])
            .output()
            .map(|o| !o.stdout.is_empty())
            .unwrap_or(false);
        println!("cargo:rustc-env=ESH_GIT_COMMIT={hash}{}", if dirty { "-dirty" } else { "" });
    }
}
