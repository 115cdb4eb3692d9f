//! Suites: a grid of scenarios (a base merged with one value of every axis, times seeds), the
//! plots and table it produces. Each suite is a TOML file in `experiments/suites/`.

use blockchat_sim::Scenario;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use thiserror::Error;
use toml::Value;

/// Why a suite file is unusable.
#[derive(Debug, Error)]
pub enum SuiteError {
    /// Not valid TOML for a suite.
    #[error("suite {name}: {message}")]
    Parse {
        /// The suite.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A grid point is not a valid scenario.
    #[error("suite {name}, point {point}: {message}")]
    Scenario {
        /// The suite.
        name: String,
        /// The grid point.
        point: String,
        /// What is wrong.
        message: String,
    },
    /// No suite of that name.
    #[error("no suite named '{0}' (try `experiments list`)")]
    Unknown(String),
}

/// The suites shipped with the crate, in the order `all` runs them.
pub const SUITES: [(&str, &str); 7] = [
    ("performance", include_str!("../suites/performance.toml")),
    ("scalability", include_str!("../suites/scalability.toml")),
    ("fairness", include_str!("../suites/fairness.toml")),
    ("network", include_str!("../suites/network.toml")),
    ("faults", include_str!("../suites/faults.toml")),
    ("capacity", include_str!("../suites/capacity.toml")),
    ("think-time", include_str!("../suites/think-time.toml")),
];

/// One value of an axis: its label and the scenario fields it sets or extends.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AxisValue {
    /// Shown in tables, plots and run ids; read as the x coordinate when numeric.
    pub label: String,
    /// Scenario fields to set (merged into the base, tables recursively).
    #[serde(default)]
    pub set: toml::Table,
    /// Scenario lists to extend (appended to what earlier axes set).
    #[serde(default)]
    pub append: toml::Table,
    /// At most this many seeds for the points with this value (an expensive half of a grid).
    pub max_seeds: Option<u64>,
}

/// An axis of the grid.
#[derive(Debug, Clone, Deserialize)]
pub struct Axis {
    /// Its name (a column of the summary).
    pub name: String,
    /// Shorthand: the scenario field that `values` set.
    pub field: Option<String>,
    /// Values: plain numbers/strings with `field`, or `{ label, set }` tables.
    pub values: Vec<Value>,
}

/// A plot: a metric's mean (with its 95% interval) against an axis, one line per series.
#[derive(Debug, Clone, Deserialize)]
pub struct Plot {
    /// Output file name (SVG).
    pub file: String,
    /// Title.
    pub title: String,
    /// Axis on x (its labels must be numbers).
    pub x: String,
    /// X axis label, with unit.
    pub x_label: String,
    /// Metric on y (a runs.csv column).
    pub y: String,
    /// Y axis label, with unit.
    pub y_label: String,
    /// Axes whose values become separate lines: one name, or a list (then one line per
    /// combination, coloured by the first axis, dashed for the second's later values).
    #[serde(default, deserialize_with = "one_or_many")]
    pub series: Vec<String>,
    /// Logarithmic x axis.
    #[serde(default)]
    pub log_x: bool,
    /// Logarithmic y axis (values spanning decades).
    #[serde(default)]
    pub log_y: bool,
    /// Multiply the metric by this before plotting (1000: seconds shown as milliseconds).
    #[serde(default = "one")]
    pub y_scale: f64,
    /// Only points whose axis labels match these `axis = label` pairs.
    #[serde(default)]
    pub only: toml::Table,
}

/// A suite as written in its file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteFile {
    /// Title.
    pub title: String,
    /// What it measures and what the results show (two or three sentences).
    pub description: String,
    /// Seeds per grid point in `all`.
    pub seeds: u64,
    /// Seeds per grid point in `quick` (0: not part of `quick`).
    #[serde(default)]
    pub quick_seeds: u64,
    /// The scenario every point starts from.
    #[serde(default)]
    pub base: toml::Table,
    /// The grid's axes, outermost first.
    #[serde(default)]
    pub axes: Vec<Axis>,
    /// Plots to draw.
    #[serde(default)]
    pub plots: Vec<Plot>,
    /// Metrics shown in the README table.
    pub table: Vec<String>,
}

/// One run of a suite.
#[derive(Debug, Clone)]
pub struct Run {
    /// `point/seed=N`: unique within the suite.
    pub id: String,
    /// The grid point: `axis=label` pairs joined by commas.
    pub point: String,
    /// Labels of the point, one per axis.
    pub labels: Vec<String>,
    /// The scenario to simulate.
    pub scenario: Scenario,
    /// SHA-256 of the scenario's JSON and of the protocol and simulator sources (short hex): a
    /// changed scenario, or changed code, is run again.
    pub hash: String,
}

/// A suite ready to run.
#[derive(Debug, Clone)]
pub struct Suite {
    /// Its name.
    pub name: String,
    /// Its definition.
    pub file: SuiteFile,
    /// Axis names, outermost first.
    pub axes: Vec<String>,
    /// Every run, in grid order then seed order.
    pub runs: Vec<Run>,
}

fn merge(into: &mut toml::Table, from: &toml::Table) {
    for (k, v) in from {
        match (into.get_mut(k), v) {
            (Some(Value::Table(a)), Value::Table(b)) => merge(a, b),
            _ => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

fn append(into: &mut toml::Table, from: &toml::Table) {
    for (k, v) in from {
        match (into.get_mut(k), v) {
            (Some(Value::Array(a)), Value::Array(b)) => a.extend(b.iter().cloned()),
            _ => {
                into.insert(k.clone(), v.clone());
            }
        }
    }
}

fn axis_values(name: &str, axis: &Axis) -> Result<Vec<AxisValue>, SuiteError> {
    axis.values
        .iter()
        .map(|v| match (&axis.field, v) {
            (_, Value::Table(t)) if t.contains_key("label") => v
                .clone()
                .try_into()
                .map_err(|e: toml::de::Error| SuiteError::Parse { name: name.into(), message: e.to_string() }),
            (Some(field), v) => {
                let label = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                Ok(AxisValue {
                    label,
                    set: toml::Table::from_iter([(field.clone(), v.clone())]),
                    append: toml::Table::new(),
                    max_seeds: None,
                })
            }
            (None, _) => Err(SuiteError::Parse {
                name: name.into(),
                message: format!("axis '{}' needs `field` or values of the form {{ label, set }}", axis.name),
            }),
        })
        .collect()
}

impl Suite {
    /// Parses suite `name` from `text` and expands its grid with `seeds` seeds per point (the
    /// file's own count when `None`).
    pub fn parse(name: &str, text: &str, seeds: Option<u64>) -> Result<Suite, SuiteError> {
        let file: SuiteFile =
            toml::from_str(text).map_err(|e| SuiteError::Parse { name: name.into(), message: e.to_string() })?;
        let seeds = seeds.unwrap_or(file.seeds);
        let axes: Vec<Vec<AxisValue>> = file.axes.iter().map(|a| axis_values(name, a)).collect::<Result<_, _>>()?;
        let mut points: Vec<Vec<&AxisValue>> = vec![vec![]];
        for values in &axes {
            points =
                points.into_iter().flat_map(|p| values.iter().map(move |v| [p.clone(), vec![v]].concat())).collect();
        }
        let mut runs = Vec::new();
        for point in points {
            let labels: Vec<String> = point.iter().map(|v| v.label.clone()).collect();
            let key: Vec<String> = file.axes.iter().zip(&labels).map(|(a, l)| format!("{}={l}", a.name)).collect();
            let key = key.join(",");
            let seeds = point.iter().filter_map(|v| v.max_seeds).fold(seeds, u64::min);
            for seed in 1..=seeds {
                let mut table = file.base.clone();
                for v in &point {
                    merge(&mut table, &v.set);
                    append(&mut table, &v.append);
                }
                table.insert("name".into(), Value::String(name.into()));
                table.insert("seed".into(), Value::Integer(seed as i64));
                let bad = |message: String| SuiteError::Scenario { name: name.into(), point: key.clone(), message };
                let scenario: Scenario =
                    Value::Table(table).try_into().map_err(|e: toml::de::Error| bad(e.to_string()))?;
                scenario.validate().map_err(|e| bad(e.to_string()))?;
                let json = serde_json::to_string(&scenario).map_err(|e| bad(e.to_string()))?;
                let mut h = Sha256::new();
                h.update(json.as_bytes());
                h.update(env!("SIM_SOURCE_HASH").as_bytes());
                let hash = hex::encode(&h.finalize()[..8]);
                let id = if key.is_empty() { format!("seed={seed}") } else { format!("{key},seed={seed}") };
                runs.push(Run { id, point: key.clone(), labels: labels.clone(), scenario, hash });
            }
        }
        Ok(Suite { name: name.into(), axes: file.axes.iter().map(|a| a.name.clone()).collect(), file, runs })
    }

    /// The shipped suite `name`, with `seeds` per point (the file's count when `None`).
    pub fn named(name: &str, seeds: Option<u64>) -> Result<Suite, SuiteError> {
        let (_, text) = SUITES.iter().find(|(n, _)| *n == name).ok_or_else(|| SuiteError::Unknown(name.into()))?;
        Suite::parse(name, text, seeds)
    }
}

/// A plot's default scale.
fn one() -> f64 {
    1.0
}

/// A plot's series: one axis name or a list of them.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grids_expand_in_order_with_merged_settings() {
        let text = r#"
            title = "t"
            description = "d"
            seeds = 2
            table = ["throughput_tps"]
            [base]
            nodes = 4
            network = { fifo = false }
            [[axes]]
            name = "capacity"
            field = "capacity"
            values = [5, 10]
            [[axes]]
            name = "net"
            values = [
              { label = "ideal", set = { network = { latency = { model = "ideal" } } } },
              { label = "slow", set = { network = { latency = { model = "constant", ms = 5.0 } } } },
            ]
        "#;
        let s = Suite::parse("x", text, None).unwrap();
        assert_eq!(s.runs.len(), 8);
        assert_eq!(s.runs[0].id, "capacity=5,net=ideal,seed=1");
        assert_eq!(s.runs[7].id, "capacity=10,net=slow,seed=2");
        let last = &s.runs[7].scenario;
        assert_eq!((last.nodes, last.capacity, last.seed, last.network.fifo), (4, 10, 2, false));
        assert_ne!(s.runs[0].hash, s.runs[1].hash);
        assert_eq!(Suite::parse("x", text, Some(1)).unwrap().runs.len(), 4);
    }

    #[test]
    fn every_shipped_suite_expands() {
        for (name, _) in SUITES {
            let s = Suite::named(name, Some(1)).unwrap();
            assert!(!s.runs.is_empty(), "{name}");
            for p in &s.file.plots {
                assert!(s.axes.contains(&p.x), "{name}: plot x axis {}", p.x);
                for axis in &p.series {
                    assert!(s.axes.contains(axis), "{name}: plot series axis {axis}");
                }
            }
            assert!(!s.file.description.contains("PLACEHOLDER"), "{name}: the description is unwritten");
        }
        assert!(matches!(Suite::named("nope", None), Err(SuiteError::Unknown(_))));
    }

    #[test]
    fn seeds_can_be_capped_per_value_and_plots_take_several_series() {
        let text = r#"
            title = "t"
            description = "d"
            seeds = 3
            table = []
            [[axes]]
            name = "nodes"
            field = "nodes"
            values = [5, 10]
            [[axes]]
            name = "think"
            values = [
              { label = "none", set = {} },
              { label = "slow", set = { workload = { kind = "course", think = { min_ms = 1.0, max_ms = 2.0 } } }, max_seeds = 1 },
            ]
            [[plots]]
            file = "a.svg"
            title = "a"
            x = "nodes"
            x_label = "n"
            y = "throughput_tps"
            y_label = "t"
            series = ["nodes", "think"]
            [[plots]]
            file = "b.svg"
            title = "b"
            x = "nodes"
            x_label = "n"
            y = "throughput_tps"
            y_label = "t"
            series = "think"
        "#;
        let s = Suite::parse("x", text, None).unwrap();
        let ids: Vec<&str> = s.runs.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "nodes=5,think=none,seed=1",
                "nodes=5,think=none,seed=2",
                "nodes=5,think=none,seed=3",
                "nodes=5,think=slow,seed=1",
                "nodes=10,think=none,seed=1",
                "nodes=10,think=none,seed=2",
                "nodes=10,think=none,seed=3",
                "nodes=10,think=slow,seed=1",
            ]
        );
        // Fewer seeds asked for than the cap: the fewer.
        assert_eq!(Suite::parse("x", text, Some(2)).unwrap().runs.len(), 6);
        assert_eq!(s.file.plots[0].series, ["nodes", "think"]);
        assert_eq!(s.file.plots[1].series, ["think"]);
    }

    /// The course's three experiments each run with the course client's pause (uniform 100–500 ms
    /// a line) and without, report the share of lines committed, and plot both settings.
    #[test]
    fn course_experiments_run_with_and_without_think_time() {
        use blockchat_sim::scenario::{Think, Workload};
        for name in ["performance", "scalability", "fairness"] {
            let s = Suite::named(name, None).unwrap();
            let think = s.axes.iter().position(|a| a == "think").unwrap_or_else(|| panic!("{name}: no think axis"));
            let mut settings: Vec<(String, bool, bool)> = s
                .runs
                .iter()
                .map(|r| match &r.scenario.workload {
                    Workload::Course { think: t, .. } => (r.labels[think].clone(), t.is_none(), *t == Think::COURSE),
                    other => panic!("{name}: not the course's workload: {other:?}"),
                })
                .collect();
            settings.sort();
            settings.dedup();
            let want = [("0.1-0.5s".to_string(), false, true), ("none".to_string(), true, false)];
            assert_eq!(settings, want, "{name}");
            assert!(s.file.table.iter().any(|m| m == "lines_committed_pct"), "{name}: no lines committed column");
            for p in &s.file.plots {
                assert!(p.series.iter().any(|a| a == "think"), "{name}/{}: think time is not a series", p.file);
            }
        }
    }

    #[test]
    fn bad_points_are_reported_with_their_point() {
        let text = "title = 't'\ndescription = 'd'\nseeds = 1\ntable = []\n[[axes]]\nname = 'n'\nfield = 'nodes'\nvalues = [1]";
        let err = Suite::parse("x", text, None).unwrap_err().to_string();
        assert!(err.contains("point n=1") && err.contains("nodes must be at least 2"), "{err}");
    }
}
