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
        let ci = row[cc].parse::<f64>().unwrap_or(0.0);
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
    for plot in &suite.file.plots {
        let path = dir.join(&plot.file);
        draw(plot, &series(plot, summary), &path)
            .map_err(|e| RunError::File { path: path.clone(), message: e.to_string() })?;
    }
    Ok(())
}

fn draw(plot: &Plot, lines: &[(String, Series)], path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let points = lines.iter().flat_map(|(_, s)| s.iter());
    let (mut x0, mut x1, mut y1) = (f64::MAX, f64::MIN, 0.0f64);
    for (x, m, ci) in points {
        x0 = x0.min(*x);
        x1 = x1.max(*x);
        y1 = y1.max(m + ci);
    }
    if x0 > x1 {
        (x0, x1) = (0.0, 1.0);
    }
    if x0 == x1 {
        (x0, x1) = (x0 - 1.0, x1 + 1.0);
    }
    let y1 = if y1 > 0.0 { y1 * 1.1 } else { 1.0 };
    let root = SVGBackend::new(path, (760, 460)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut builder = ChartBuilder::on(&root);
    builder.caption(&plot.title, ("sans-serif", 20)).margin(16).x_label_area_size(44).y_label_area_size(76);
    let style = |c: &RGBColor| ShapeStyle { color: c.to_rgba(), filled: true, stroke_width: 2 };
    macro_rules! body {
        ($chart:expr) => {{
            let mut chart = $chart;
            chart
                .configure_mesh()
                .x_desc(&plot.x_label)
                .y_desc(&plot.y_label)
                .label_style(("sans-serif", 13))
                .draw()?;
            for (i, (name, pts)) in lines.iter().enumerate() {
                let c = COLOURS[i % COLOURS.len()];
                let label = match &plot.series {
                    Some(axis) => format!("{axis} = {name}"),
                    None => plot.y.clone(),
                };
                chart
                    .draw_series(LineSeries::new(pts.iter().map(|(x, m, _)| (*x, *m)), style(&c)))?
                    .label(label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], style(&c)));
                chart.draw_series(pts.iter().map(|(x, m, _)| Circle::new((*x, *m), 3, style(&c))))?;
                chart.draw_series(
                    pts.iter()
                        .filter(|p| p.2 > 0.0)
                        .map(|(x, m, ci)| PathElement::new(vec![(*x, (m - ci).max(0.0)), (*x, m + ci)], style(&c))),
                )?;
            }
            chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;
        }};
    }
    if plot.log_x {
        body!(builder.build_cartesian_2d((x0 * 0.8..x1 * 1.25).log_scale(), 0.0..y1)?);
    } else {
        let pad = (x1 - x0) * 0.05;
        body!(builder.build_cartesian_2d(x0 - pad..x1 + pad, 0.0..y1)?);
    }
    root.present()?;
    Ok(())
}
