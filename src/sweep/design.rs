//! Designs: from the axes of a sweep file to its design points (full grid, random
//! sample, Latin hypercube), and from a design point to the scenario of one run.
//!
//! Every sampled value comes from the sweep seed's own stream and every spacing from
//! IEEE-exact arithmetic, so the same sweep file plans the same runs on any machine.

use super::file::{Axis, AxisValues, DesignKind, Scale, Seeds, SweepFile};
use crate::foundation::{Draw, Purpose, StreamKey, det_exp, det_ln};
use crate::scenario::{Domain, ParamSpec, Scenario, ScenarioError, Value};

/// The values of one design point, in axis order.
pub(crate) type Point = Vec<Value>;

/// Every design point of the sweep, in plan order, as a stream: a grid point is decoded
/// from its index, a random one drawn as it comes, and a Latin hypercube keeps only its
/// permutations (4 bytes per sample and axis). Memory does not grow with the points.
pub(crate) fn points(s: &SweepFile) -> Box<dyn Iterator<Item = Point> + '_> {
    match s.design {
        DesignKind::Grid => {
            let lens: Vec<usize> = s.axes.iter().map(super::file::grid_len).collect();
            let total = s.points();
            Box::new((0..total).map(move |mut k| {
                let mut p = vec![Value::Int(0); lens.len()];
                for (j, len) in lens.iter().enumerate().rev() {
                    p[j] = grid_value(&s.axes[j], (k % *len as u64) as usize);
                    k /= *len as u64;
                }
                p
            }))
        }
        DesignKind::Random => {
            let mut rng = StreamKey::new(s.seed, 0).setup(Purpose::Design, 0, 0);
            Box::new((0..s.samples).map(move |_| s.axes.iter().map(|a| at(a, rng.unit())).collect()))
        }
        DesignKind::Lhs => Box::new(lhs_stream(&s.axes, s.samples as usize, s.seed)),
    }
}

/// The master seed of a design point's runs.
pub(crate) fn point_seed(s: &SweepFile, point: u64) -> u64 {
    match s.seeds {
        Seeds::Common => s.seed,
        Seeds::Independent => StreamKey::new(s.seed, 0).hash(Purpose::PointSeed, 0, point) >> 1,
    }
}

/// The scenario of one run: the base with the point's values and the point's seed, checked
/// against every rule of a scenario file (a bad combination fails this run, not the sweep).
pub fn scenario(base: &Scenario, axes: &[Axis], values: &[Value], seed: u64) -> Result<Scenario, ScenarioError> {
    let mut s = base.clone();
    for (a, v) in axes.iter().zip(values) {
        s.set(a.spec, v).map_err(|m| ScenarioError::new("design point", m).key(a.name()))?;
    }
    s.run.seed = seed;
    s.run.replications = 1;
    s.validate("design point")?;
    Ok(s)
}

/// The values of an axis on a grid.
pub fn grid_values(a: &Axis) -> Vec<Value> {
    match &a.values {
        AxisValues::List(v) => v.clone(),
        AxisValues::Range { from, to, steps: None, .. } => (*from as i64..=*to as i64).map(Value::Int).collect(),
        AxisValues::Range { from, to, steps: Some(n), scale } => {
            let n = *n as usize;
            (0..n).map(|i| typed(a.spec, range_value(*from, *to, n, i, *scale))).collect()
        }
    }
}

/// Value i of a range of n values on a grid, both ends included (the last exactly `to`).
pub(crate) fn range_value(from: f64, to: f64, n: usize, i: usize, scale: Scale) -> f64 {
    let t = if n == 1 { 0.0 } else { i as f64 / (n - 1) as f64 };
    if i + 1 == n && n > 1 { to } else { spaced(from, to, t, scale) }
}

/// Value i of an axis on a grid, without building the list.
pub(crate) fn grid_value(a: &Axis, i: usize) -> Value {
    match &a.values {
        AxisValues::List(v) => v[i].clone(),
        AxisValues::Range { from, steps: None, .. } => Value::Int(*from as i64 + i as i64),
        AxisValues::Range { from, to, steps: Some(n), scale } => {
            typed(a.spec, range_value(*from, *to, *n as usize, i, *scale))
        }
    }
}

/// Every combination of the axes' grid values, the last axis varying fastest.
pub(crate) fn grid(axes: &[Axis]) -> Vec<Point> {
    let values: Vec<Vec<Value>> = axes.iter().map(grid_values).collect();
    let mut out = vec![Vec::new()];
    for vs in &values {
        out = out.into_iter().flat_map(|p| vs.iter().map(move |v| [p.clone(), vec![v.clone()]].concat())).collect();
    }
    out
}

#[cfg(test)]
fn lhs(axes: &[Axis], n: usize, seed: u64) -> Vec<Point> {
    lhs_stream(axes, n, seed).collect()
}

fn lhs_stream(axes: &[Axis], n: usize, seed: u64) -> impl Iterator<Item = Point> + '_ {
    let mut rng = StreamKey::new(seed, 0).setup(Purpose::Design, 0, 0);
    // u32 strata: the sample count is at most MAX_RUNS.
    let strata: Vec<Vec<u32>> = axes
        .iter()
        .map(|_| {
            let mut perm: Vec<u32> = (0..n as u32).collect();
            for i in (1..n).rev() {
                perm.swap(i, rng.below(i as u64 + 1) as usize);
            }
            perm
        })
        .collect();
    (0..n).map(move |i| {
        axes.iter().zip(&strata).map(|(a, perm)| at(a, (perm[i] as f64 + rng.unit()) / n as f64)).collect()
    })
}

/// The value of an axis at quantile u in [0, 1).
fn at(a: &Axis, u: f64) -> Value {
    match &a.values {
        AxisValues::List(v) => v[((u * v.len() as f64) as usize).min(v.len() - 1)].clone(),
        AxisValues::Range { from, to, scale, .. } => {
            if let Domain::Int { .. } = a.spec.domain {
                // Equal weight to every integer of [from, to].
                let k = ((to - from + 1.0) * u).floor().min(to - from);
                return Value::Int((from + k) as i64);
            }
            typed(a.spec, spaced(*from, *to, u, *scale).clamp(*from, *to))
        }
    }
}

fn spaced(from: f64, to: f64, t: f64, scale: Scale) -> f64 {
    match scale {
        Scale::Linear => from + (to - from) * t,
        Scale::Log => from * det_exp(det_ln(to / from) * t),
    }
}

/// A number as the parameter's type: integers rounded to the nearest.
fn typed(spec: &ParamSpec, x: f64) -> Value {
    match spec.domain {
        Domain::Int { .. } => Value::Int(x.round() as i64),
        _ => Value::Float(x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::spec;

    fn axis(path: &str, values: AxisValues) -> Axis {
        Axis { spec: spec(path).unwrap(), values }
    }

    #[test]
    fn grid_varies_the_last_axis_fastest() {
        let a = axis("centre.tolerance", AxisValues::List(vec![Value::Float(0.0), Value::Float(1.0)]));
        let b = axis("zones.supervisors", AxisValues::Range { from: 1.0, to: 3.0, steps: None, scale: Scale::Linear });
        let p = grid(&[a, b]);
        assert_eq!(p.len(), 6);
        assert_eq!(p[0], vec![Value::Float(0.0), Value::Int(1)]);
        assert_eq!(p[1], vec![Value::Float(0.0), Value::Int(2)]);
        assert_eq!(p[5], vec![Value::Float(1.0), Value::Int(3)]);
    }

    #[test]
    fn ranges_hit_their_ends_exactly() {
        let lin =
            axis("centre.tolerance", AxisValues::Range { from: 0.1, to: 0.7, steps: Some(4), scale: Scale::Linear });
        let v = grid_values(&lin);
        assert_eq!(v.first(), Some(&Value::Float(0.1)));
        assert_eq!(v.last(), Some(&Value::Float(0.7)));
        let log =
            axis("centre.tolerance", AxisValues::Range { from: 0.001, to: 1.0, steps: Some(4), scale: Scale::Log });
        let v: Vec<f64> =
            grid_values(&log).iter().map(|v| if let Value::Float(x) = v { *x } else { panic!() }).collect();
        for (x, want) in v.iter().zip([0.001, 0.01, 0.1, 1.0]) {
            assert!((x - want).abs() < 1e-12 * want, "{x} vs {want}");
        }
        assert_eq!(v[3], 1.0);
    }

    #[test]
    fn latin_hypercube_uses_every_stratum_once() {
        let a = axis("centre.tolerance", AxisValues::Range { from: 0.0, to: 1.0, steps: None, scale: Scale::Linear });
        let b =
            axis("zones.experiment_rate", AxisValues::Range { from: 0.0, to: 1.0, steps: None, scale: Scale::Linear });
        let n = 50;
        let p = lhs(&[a, b], n, 3);
        for axis in 0..2 {
            let mut seen = vec![false; n];
            for point in &p {
                let Value::Float(x) = point[axis] else { panic!() };
                let k = (x * n as f64) as usize;
                assert!(!seen[k], "stratum {k} used twice");
                seen[k] = true;
            }
        }
        assert_eq!(
            p,
            lhs(
                &[
                    axis(
                        "centre.tolerance",
                        AxisValues::Range { from: 0.0, to: 1.0, steps: None, scale: Scale::Linear }
                    ),
                    axis(
                        "zones.experiment_rate",
                        AxisValues::Range { from: 0.0, to: 1.0, steps: None, scale: Scale::Linear }
                    )
                ],
                n,
                3
            )
        );
    }

    #[test]
    fn streamed_grid_points_are_the_grid_in_order() {
        let text = "[sweep]\n[scenario.run]\nticks = 2\n[axes]\n\"centre.tolerance\" = { from = 0.0, to = 1.0, steps = 3 }\n\"zones.supervisors\" = [1, 3]\n\"landscape.k\" = { from = 1, to = 4 }\n";
        let s = SweepFile::parse(text, "t.toml", std::path::Path::new("")).unwrap();
        let streamed: Vec<Point> = points(&s).collect();
        assert_eq!(streamed.len(), 24);
        assert_eq!(streamed, grid(&s.axes));
    }

    #[test]
    fn integer_ranges_sample_every_integer() {
        let a = axis("zones.supervisors", AxisValues::Range { from: 1.0, to: 5.0, steps: None, scale: Scale::Linear });
        let mut seen = [false; 6];
        for i in 0..100 {
            let Value::Int(k) = at(&a, i as f64 / 100.0) else { panic!() };
            seen[k as usize] = true;
        }
        assert_eq!(seen, [false, true, true, true, true, true]);
    }
}
