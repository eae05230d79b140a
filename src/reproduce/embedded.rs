//! The experiments and ready scenarios compiled into the binary, so `esh reproduce` works
//! from any directory. A scenario path in an embedded experiment (`../scenarios/x.toml`)
//! resolves to the embedded copy of `scenarios/x.toml`.

/// (id, file name, text) of every shipped experiment, in report order.
pub(crate) const EXPERIMENTS: &[(&str, &str, &str)] = &[
    ("H1", "H1_esh_vs_top_down.toml", include_str!("../../experiments/H1_esh_vs_top_down.toml")),
    ("H2", "H2_esh_vs_laissez_faire.toml", include_str!("../../experiments/H2_esh_vs_laissez_faire.toml")),
    ("H3", "H3_feedback.toml", include_str!("../../experiments/H3_feedback.toml")),
    ("H4", "H4_procedural_strength.toml", include_str!("../../experiments/H4_procedural_strength.toml")),
    ("H5", "H5_networks_vs_hierarchy.toml", include_str!("../../experiments/H5_networks_vs_hierarchy.toml")),
    ("H6", "H6_lazer_friedman.toml", include_str!("../../experiments/H6_lazer_friedman.toml")),
    ("H7", "H7_march.toml", include_str!("../../experiments/H7_march.toml")),
];

/// The ready scenarios, by file name.
pub(crate) const SCENARIOS: &[(&str, &str)] = &[
    ("baseline.toml", include_str!("../../scenarios/baseline.toml")),
    ("top_down.toml", include_str!("../../scenarios/top_down.toml")),
    ("laissez_faire.toml", include_str!("../../scenarios/laissez_faire.toml")),
    ("strict_hierarchy.toml", include_str!("../../scenarios/strict_hierarchy.toml")),
    ("strong_networks.toml", include_str!("../../scenarios/strong_networks.toml")),
    ("hierarchy_only.toml", include_str!("../../scenarios/hierarchy_only.toml")),
    ("many_supervisors.toml", include_str!("../../scenarios/many_supervisors.toml")),
    ("march1991.toml", include_str!("../../scenarios/march1991.toml")),
    ("lazer_friedman_linear.toml", include_str!("../../scenarios/lazer_friedman_linear.toml")),
    ("lazer_friedman_full.toml", include_str!("../../scenarios/lazer_friedman_full.toml")),
];

/// The embedded scenario a path of an embedded experiment names: its text and a name for
/// errors.
pub(crate) fn scenario(path: &str) -> Option<(String, String)> {
    let name = path.rsplit('/').next()?;
    SCENARIOS.iter().find(|(n, _)| *n == name).map(|(n, t)| (t.to_string(), format!("(embedded) scenarios/{n}")))
}
