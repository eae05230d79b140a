//! Fuzzing the sweep file parser: random sweep files built from its own keys with values of
//! every type, and byte-level mutations of a valid one. The parser must never panic, and
//! every error must name its file and a place in it (a line and column, or a key).
//! A few hundred cases each, so it runs in seconds with the rest of the suite.

use std::path::Path;

use esh::sweep::SweepFile;
use proptest::prelude::*;

const BASE: &str = "[run]\nticks = 5\n[landscape]\nn = 8\nk = 2\n[[regions]]\nname = \"a\"\nzones = 10\n";

const VALID: &str = r#"[sweep]
scenario = "base.toml"
replications = 2
seed = 7
seeds = "independent"
design = "grid"

[axes]
"centre.tolerance" = { from = 0.0, to = 1.0, steps = 3 }
"zones.supervisors" = [1, 3]
"landscape.k" = { from = 1, to = 3 }

[keep]
ticks = "window"
window = [1, 4]
metrics = ["mean_performance", "diversity"]

[slurm]
tasks = 4
time = "01:00:00"
partition = "short"
memory = "1G"
extra = ["--qos=normal"]
"#;

fn dir() -> &'static Path {
    static DIR: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let d = tempfile::TempDir::new().unwrap();
        std::fs::write(d.path().join("base.toml"), BASE).unwrap();
        d
    })
    .path()
}

/// Parses and checks the contract: Ok, or an error that names a file and a place.
fn check(text: &str) -> Result<(), TestCaseError> {
    match SweepFile::parse(text, "fuzz.toml", dir()) {
        Ok(s) => {
            // A parsed sweep's counts are in range, and its normal form parses again.
            prop_assert!(s.runs() <= esh::sweep::file::MAX_RUNS);
            let again = SweepFile::parse(&s.to_toml(), "normal.toml", dir());
            prop_assert!(again.is_ok(), "the normal form of\n{text}\ndoes not parse: {:?}", again.err());
        }
        Err(e) => {
            prop_assert!(e.file == "fuzz.toml" || e.file.ends_with("base.toml"), "no file: {e}");
            prop_assert!(e.at.is_some() || e.key.is_some(), "no place in the file:\n{text}\n=> {e}");
        }
    }
    Ok(())
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|i| i.to_string()),
        (0i64..100).prop_map(|i| i.to_string()),
        any::<f64>().prop_map(|x| if x.is_finite() { format!("{x:?}") } else { "nan".into() }),
        (0.0f64..1.0).prop_map(|x| format!("{x:?}")),
        Just("true".to_string()),
        "[a-z_.]{0,12}".prop_map(|s| format!("{s:?}")),
        Just("\"grid\"".to_string()),
        Just("\"lhs\"".to_string()),
        Just("\"window\"".to_string()),
        Just("\"final\"".to_string()),
        Just("\"log\"".to_string()),
        Just("\"base.toml\"".to_string()),
        Just("[0.1, 0.5]".to_string()),
        Just("[1, 1]".to_string()),
        Just("[]".to_string()),
        Just("[0, 3]".to_string()),
        Just("{ from = 1, to = 2, steps = 5 }".to_string()),
        Just("{ from = 0.001, to = 1.0, steps = 65536, scale = \"log\" }".to_string()),
        Just("{ from = 3, to = 1 }".to_string()),
        Just("{ from = 1 }".to_string()),
        Just("1988-01-01".to_string()),
        Just("\"a\\nb\"".to_string()),
        Just("{ x = { y = 1 } }".to_string()),
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        proptest::sample::select(esh::sweep::file::KEYS.iter().map(|k| k.key).collect::<Vec<_>>())
            .prop_map(str::to_string),
        Just("\"centre.tolerance\"".to_string()),
        Just("\"zones.supervisors\"".to_string()),
        Just("\"landscape.k\"".to_string()),
        Just("\"run.seed\"".to_string()),
        Just("centre.tolerance".to_string()),
        Just("\"firms.enabled\"".to_string()),
        "[a-z]{1,8}",
    ]
}

fn section() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("sweep"),
        Just("axes"),
        Just("keep"),
        Just("slurm"),
        Just("scenario"),
        Just("scenario.run"),
        Just("other"),
        Just("axes.\"centre.tolerance\""),
    ]
    .prop_map(str::to_string)
}

/// A sweep file of random sections and keys (always with the base scenario, so that
/// planning gets past it some of the time).
fn random_file() -> impl Strategy<Value = String> {
    proptest::collection::vec((section(), proptest::collection::vec((key(), value()), 0..6)), 0..5).prop_map(
        |sections| {
            let mut o = String::from("[sweep]\nscenario = \"base.toml\"\n");
            for (name, entries) in sections {
                if name != "sweep" {
                    o.push_str(&format!("[{name}]\n"));
                }
                for (k, v) in entries {
                    o.push_str(&format!("{k} = {v}\n"));
                }
            }
            o
        },
    )
}

/// A byte-level mutation of the valid sweep: replace, insert or delete at a few places.
fn mutated() -> impl Strategy<Value = String> {
    proptest::collection::vec((0usize..VALID.len(), 0u8..3, any::<u8>()), 1..4).prop_map(|edits| {
        let mut b = VALID.as_bytes().to_vec();
        for (at, op, byte) in edits {
            let at = at.min(b.len().saturating_sub(1));
            const SIGNS: &[u8] = b"=[]{}\",.\n0123456789-";
            let byte = if byte.is_ascii() { byte } else { SIGNS[byte as usize % SIGNS.len()] };
            match op {
                0 => b[at] = byte,
                1 => b.insert(at, byte),
                _ => {
                    b.remove(at);
                }
            }
        }
        String::from_utf8_lossy(&b).into_owned()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_sweep_files_parse_or_fail_with_a_place(text in random_file()) {
        check(&text)?;
    }

    #[test]
    fn mutated_sweep_files_parse_or_fail_with_a_place(text in mutated()) {
        check(&text)?;
    }
}

#[test]
fn the_valid_sweep_parses() {
    SweepFile::parse(VALID, "fuzz.toml", dir()).unwrap();
}
