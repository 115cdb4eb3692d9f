//! SVG plots: a metric's mean with its 95% interval against an axis, one line per series.

use std::collections::BTreeMap;
use std::path::Path;

use plotters::prelude::*;

use crate::runner::{RunError, Table};
use crate::suite::{Plot, Suite};

/// Line colours, in series order.
const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];

/// One line: (x, mean, ci) points in x order.
type Series = Vec<(f64, f64, f64)>;

/// A line of a plot: its labels on the plot's series axes, and its points.
pub type Line = (Vec<String>, Series);

/// The lines of `plot` from the summary table, one per combination of its series axes' labels,
/// in first-appearance order.
pub fn series(plot: &Plot, summary: &Table) -> Vec<Line> {
    let (Some(xc), Some(mc), Some(cc)) =
        (summary.col(&plot.x), summary.col(&format!("{}_mean", plot.y)), summary.col(&format!("{}_ci95", plot.y)))
    else {
        return Vec::new();
    };
    let sc: Vec<usize> = plot.series.iter().filter_map(|s| summary.col(s)).collect();
    let mut order = Vec::new();
    let mut lines: BTreeMap<Vec<String>, Series> = BTreeMap::new();
    for row in rows(plot, summary) {
        let name: Vec<String> = sc.iter().map(|c| row[*c].clone()).collect();
        let (Ok(x), Ok(m)) = (row[xc].parse::<f64>(), row[mc].parse::<f64>()) else { continue };
        let ci = row[cc].parse::<f64>().unwrap_or(0.0) * plot.y_scale;
        let m = m * plot.y_scale;
        if !lines.contains_key(&name) {
            order.push(name.clone());
        }
        lines.entry(name).or_default().push((x, m, ci));
    }
    order
        .into_iter()
        .map(|n| {
            let mut pts = lines.remove(&n).unwrap_or_default();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            (n, pts)
        })
        .collect()
}

/// The summary rows `plot` shows: those matching its `only` labels.
fn rows<'a>(plot: &'a Plot, summary: &'a Table) -> impl Iterator<Item = &'a Vec<String>> + 'a {
    summary.rows.iter().filter(move |row| {
        plot.only.iter().all(|(axis, want)| {
            let want = want.as_str().map(String::from).unwrap_or_else(|| want.to_string());
            summary.col(axis).is_none_or(|c| row[c] == want)
        })
    })
}

/// The caption's account of seeds: "mean of 20 seeds", "mean of 2–3 seeds", "one run per point".
fn seeds_caption(plot: &Plot, summary: &Table) -> String {
    let counts: Vec<usize> =
        summary.col("runs").map_or(Vec::new(), |c| rows(plot, summary).filter_map(|r| r[c].parse().ok()).collect());
    match (counts.iter().min(), counts.iter().max()) {
        (Some(&lo), Some(&hi)) if hi > 1 && lo < hi => format!("mean of {lo}–{hi} seeds, bars: 95% interval"),
        (_, Some(&hi)) if hi > 1 => format!("mean of {hi} seeds, bars: 95% interval"),
        _ => "one run per point".into(),
    }
}

/// Each line's colour (by its label on the first series axis) and dash (0: solid; by its label
/// on the second), in first-appearance order of the labels.
fn styles(lines: &[Line]) -> Vec<(usize, usize)> {
    let index = |k: usize, labels: &[String]| {
        let mut seen: Vec<&String> = Vec::new();
        for (l, _) in lines {
            if let Some(v) = l.get(k)
                && !seen.contains(&v)
            {
                seen.push(v);
            }
        }
        labels.get(k).and_then(|v| seen.iter().position(|s| *s == v)).unwrap_or(0)
    };
    lines
        .iter()
        .enumerate()
        .map(|(i, (labels, _))| match labels.len() {
            0 | 1 => (i, 0),
            _ => (index(0, labels), index(1, labels)),
        })
        .collect()
}

/// Draws every plot of `suite` into `dir`.
pub fn draw_all(suite: &Suite, summary: &Table, dir: &Path) -> Result<(), RunError> {
    for plot in &suite.file.plots {
        let path = dir.join(&plot.file);
        draw(plot, &series(plot, summary), &seeds_caption(plot, summary), &path)
            .map_err(|e| RunError::File { path: path.clone(), message: e.to_string() })?;
    }
    Ok(())
}

/// Width of the drawing, and of the legend column right of the data.
const WIDTH: u32 = 900;
const LEGEND: u32 = 170;

/// An axis label: integers without decimals; on an axis of integers, nothing between them.
fn tick(v: f64, integers: bool) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else if integers {
        String::new()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else {
        crate::format::sig3(v)
    }
}

/// The bottom of a log axis: `y0`, or a little under the power of ten just below it when that is
/// near (within a factor of 4), so that the lowest points have a labelled tick beneath them.
fn log_floor(y0: f64) -> f64 {
    let power = 10f64.powi(y0.log10().floor() as i32);
    if y0 < 4.0 * power { 0.9 * power } else { y0 }
}

fn draw(plot: &Plot, lines: &[Line], caption: &str, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let points: Vec<&(f64, f64, f64)> = lines.iter().flat_map(|(_, s)| s.iter()).collect();
    let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, 0.0f64);
    for (x, m, ci) in &points {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y1 = y1.max(m + ci);
        if *m > 0.0 {
            y0 = y0.min((m - ci).max(m / 10.0));
        }
    }
    if x0 > x1 {
        (x0, x1) = (0.0, 1.0);
    }
    if x0 == x1 {
        (x0, x1) = (x0 - 1.0, x1 + 1.0);
    }
    let integers = points.iter().all(|(x, _, _)| x.fract() == 0.0);
    let y1 = if y1 > 0.0 { y1 * 1.1 } else { 1.0 };
    let y0 = log_floor(if y0 < f64::MAX && y0 > 0.0 { y0 / 1.5 } else { y1 / 1000.0 });
    let root = SVGBackend::new(path, (WIDTH, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let (area, legend_area) = root.split_horizontally(WIDTH - LEGEND);
    let mut builder = ChartBuilder::on(&area);
    builder.caption(&plot.title, ("sans-serif", 19)).margin(16).x_label_area_size(56).y_label_area_size(80);
    let style = |c: &RGBColor| ShapeStyle { color: c.to_rgba(), filled: true, stroke_width: 2 };
    // A legend entry per line: one row per series axis ("nodes = 5", "think = none").
    let names: Vec<Vec<String>> = lines
        .iter()
        .map(|(labels, _)| match labels.len() {
            0 => vec![plot.y.clone()],
            _ => plot.series.iter().zip(labels).map(|(axis, label)| format!("{axis} = {label}")).collect(),
        })
        .collect();
    let looks = styles(lines);
    macro_rules! body {
        ($chart:expr, $floor:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc(format!("{}   ({caption})", plot.x_label))
                .y_desc(&plot.y_label)
                .x_label_formatter(&|v| tick(*v, integers))
                .y_label_formatter(&|v| tick(*v, false))
                .label_style(("sans-serif", 13))
                .draw()?;
            let floor: f64 = $floor;
            for (i, (_, pts)) in lines.iter().enumerate() {
                let (colour, dash) = looks[i];
                let c = COLOURS[colour % COLOURS.len()];
                let line = pts.iter().map(|(x, m, _)| (*x, m.max(floor)));
                if dash == 0 {
                    chart.draw_series(LineSeries::new(line, style(&c)))?;
                } else {
                    chart.draw_series(DashedLineSeries::new(line, 6 + 3 * dash as i32, 5, style(&c)))?;
                }
                chart.draw_series(pts.iter().map(|(x, m, _)| Circle::new((*x, m.max(floor)), 3, style(&c))))?;
                // Whiskers with caps, a few pixels wide whatever the axis.
                for (x, m, ci) in pts.iter().filter(|p| p.2 > 0.0) {
                    let (lo, hi) = ((m - ci).max(floor), m + ci);
                    chart.draw_series(std::iter::once(PathElement::new(vec![(*x, lo), (*x, hi)], style(&c))))?;
                    for y in [lo, hi] {
                        let (px, py) = chart.backend_coord(&(*x, y));
                        area.draw(&PathElement::new(vec![(px - 4, py), (px + 4, py)], style(&c)))?;
                    }
                }
            }
        }};
    }
    match (plot.log_x, plot.log_y) {
        (true, true) => body!(builder.build_cartesian_2d((x0 * 0.8..x1 * 1.25).log_scale(), (y0..y1).log_scale())?, y0),
        (true, false) => body!(builder.build_cartesian_2d((x0 * 0.8..x1 * 1.25).log_scale(), 0.0..y1)?, 0.0),
        (false, true) => {
            let pad = (x1 - x0) * 0.05;
            body!(builder.build_cartesian_2d(x0 - pad..x1 + pad, (y0..y1).log_scale())?, y0)
        }
        (false, false) => {
            let pad = (x1 - x0) * 0.05;
            body!(builder.build_cartesian_2d(x0 - pad..x1 + pad, 0.0..y1)?, 0.0)
        }
    }
    // The legend beside the data, never over it.
    let mut y = 60;
    for (i, rows) in names.iter().enumerate() {
        let (colour, dash) = looks[i];
        let c = COLOURS[colour % COLOURS.len()];
        if dash == 0 {
            legend_area.draw(&PathElement::new(vec![(4, y), (28, y)], style(&c)))?;
        } else {
            legend_area.draw(&PathElement::new(vec![(4, y), (12, y)], style(&c)))?;
            legend_area.draw(&PathElement::new(vec![(18, y), (28, y)], style(&c)))?;
        }
        legend_area.draw(&Circle::new((16, y), 3, style(&c)))?;
        for (k, text) in rows.iter().enumerate() {
            legend_area.draw(&Text::new(text.clone(), (34, y - 7 + 17 * k as i32), ("sans-serif", 13)))?;
        }
        y += 17 * rows.len() as i32 + 10;
    }
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plot(series: &[&str], only: &str) -> Plot {
        let text = format!(
            "file = 'a.svg'\ntitle = 't'\nx = 'capacity'\nx_label = 'c'\ny = 'throughput_tps'\ny_label = 'y'\n\
             series = {series:?}\nonly = {{ {only} }}"
        );
        toml::from_str(&text).unwrap()
    }

    fn summary() -> Table {
        let header = ["nodes", "think", "capacity", "runs", "throughput_tps_mean", "throughput_tps_ci95"];
        let rows = [
            ["5", "none", "10", "3", "200", "2"],
            ["5", "none", "5", "3", "100", "1"],
            ["5", "slow", "5", "2", "15", "0.5"],
            ["10", "none", "5", "3", "90", "1"],
            ["10", "slow", "5", "2", "14", "0.5"],
        ];
        Table {
            header: header.map(String::from).to_vec(),
            rows: rows.iter().map(|r| r.map(String::from).to_vec()).collect(),
        }
    }

    #[test]
    fn a_line_per_combination_coloured_by_the_first_axis_and_dashed_by_the_second() {
        let lines = series(&plot(&["nodes", "think"], ""), &summary());
        let labels: Vec<Vec<&str>> = lines.iter().map(|(l, _)| l.iter().map(String::as_str).collect()).collect();
        assert_eq!(labels, [["5", "none"], ["5", "slow"], ["10", "none"], ["10", "slow"]]);
        assert_eq!(lines[0].1, [(5.0, 100.0, 1.0), (10.0, 200.0, 2.0)], "points in x order");
        assert_eq!(styles(&lines), [(0, 0), (0, 1), (1, 0), (1, 1)]);
        let one = series(&plot(&["think"], ""), &summary());
        assert_eq!(styles(&one), [(0, 0), (1, 0)], "one axis: a colour per line");
    }

    #[test]
    fn log_axes_reach_down_to_a_labelled_tick() {
        for (y0, want) in [(0.21, 0.09), (0.5, 0.5), (0.00063, 0.00063), (0.00031, 0.00009), (1.0, 0.9), (35.0, 9.0)] {
            assert!((log_floor(y0) - want).abs() < 1e-12, "log_floor({y0}) = {}", log_floor(y0));
        }
        for (v, want) in [(0.0001, "0.0001"), (0.5, "0.5"), (1000.0, "1000"), (150.7, "151"), (2.5, "2.5")] {
            assert_eq!(tick(v, false), want, "{v}");
        }
        assert_eq!(tick(2.5, true), "", "no ticks between integers");
    }

    #[test]
    fn the_caption_counts_the_seeds_of_the_points_shown() {
        let cases = [
            (plot(&["nodes", "think"], ""), "mean of 2–3 seeds, bars: 95% interval"),
            (plot(&["nodes"], "think = 'none'"), "mean of 3 seeds, bars: 95% interval"),
            (plot(&["nodes"], "think = 'slow'"), "mean of 2 seeds, bars: 95% interval"),
            (plot(&["nodes"], "think = 'absent'"), "one run per point"),
        ];
        for (p, want) in cases {
            assert_eq!(seeds_caption(&p, &summary()), want, "{:?}", p.only);
        }
    }
}
