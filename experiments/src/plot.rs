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

/// The lines of `plot` from the summary table, series in first-appearance order.
pub fn series(plot: &Plot, summary: &Table) -> Vec<(String, Series)> {
    let (Some(xc), Some(mc), Some(cc)) =
        (summary.col(&plot.x), summary.col(&format!("{}_mean", plot.y)), summary.col(&format!("{}_ci95", plot.y)))
    else {
        return Vec::new();
    };
    let sc = plot.series.as_ref().and_then(|s| summary.col(s));
    let mut order = Vec::new();
    let mut lines: BTreeMap<String, Series> = BTreeMap::new();
    'rows: for row in &summary.rows {
        for (axis, want) in &plot.only {
            let want = want.as_str().map(String::from).unwrap_or_else(|| want.to_string());
            if summary.col(axis).is_some_and(|c| row[c] != want) {
                continue 'rows;
            }
        }
        let name = sc.map(|c| row[c].clone()).unwrap_or_default();
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

/// Draws every plot of `suite` into `dir`.
pub fn draw_all(suite: &Suite, summary: &Table, dir: &Path) -> Result<(), RunError> {
    // Seeds per point, for the caption (the most any point has).
    let seeds = summary
        .col("runs")
        .map_or(0, |c| summary.rows.iter().filter_map(|r| r[c].parse::<usize>().ok()).max().unwrap_or(0));
    for plot in &suite.file.plots {
        let path = dir.join(&plot.file);
        draw(plot, &series(plot, summary), seeds, &path)
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
        format!("{}", (v * 1000.0).round() / 1000.0)
    }
}

fn draw(plot: &Plot, lines: &[(String, Series)], seeds: usize, path: &Path) -> Result<(), Box<dyn std::error::Error>> {
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
    let y0 = if y0 < f64::MAX && y0 > 0.0 { y0 / 1.5 } else { y1 / 1000.0 };
    let root = SVGBackend::new(path, (WIDTH, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let (area, legend_area) = root.split_horizontally(WIDTH - LEGEND);
    let caption =
        if seeds > 1 { format!("mean of {seeds} seeds, bars: 95% interval") } else { "one run per point".into() };
    let mut builder = ChartBuilder::on(&area);
    builder.caption(&plot.title, ("sans-serif", 19)).margin(16).x_label_area_size(56).y_label_area_size(80);
    let style = |c: &RGBColor| ShapeStyle { color: c.to_rgba(), filled: true, stroke_width: 2 };
    let names: Vec<String> = lines
        .iter()
        .map(|(name, _)| match &plot.series {
            Some(axis) => format!("{axis} = {name}"),
            None => plot.y.clone(),
        })
        .collect();
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
                let c = COLOURS[i % COLOURS.len()];
                chart.draw_series(LineSeries::new(pts.iter().map(|(x, m, _)| (*x, m.max(floor))), style(&c)))?;
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
    for (i, name) in names.iter().enumerate() {
        let c = COLOURS[i % COLOURS.len()];
        let y = 60 + 22 * i as i32;
        legend_area.draw(&PathElement::new(vec![(4, y), (24, y)], style(&c)))?;
        legend_area.draw(&Circle::new((14, y), 3, style(&c)))?;
        legend_area.draw(&Text::new(name.clone(), (30, y - 7), ("sans-serif", 13)))?;
    }
    root.present()?;
    Ok(())
}
