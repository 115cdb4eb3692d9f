//! Numbers for a reader: the README's table cells with three significant digits, in the unit
//! their column names. The CSV files keep full precision; only the tables are rounded.

/// Whether `metric` is a count (shown exactly when every seed gave the same whole number): a
/// summarised metric whose name carries no unit.
fn is_count(metric: &str) -> bool {
    const UNITS: [&str; 5] = ["_s", "_tps", "_share", "_bcc", "_pct"];
    crate::stats::METRICS.contains(&metric) && !UNITS.iter().any(|u| metric.ends_with(u))
}

/// `v` rounded to three significant digits, in fixed notation, trailing zeros after the decimal
/// point dropped and thousands grouped with commas: 16442.9 → "16,400", 0.000317 → "0.000317".
pub fn sig3(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    if v == 0.0 {
        return "0".into();
    }
    let exponent = v.abs().log10().floor() as i32;
    let text = if exponent >= 3 {
        let unit = 10f64.powi(exponent - 2);
        format!("{:.0}", (v / unit).round() * unit)
    } else {
        let decimals = (2 - exponent) as usize;
        let s = format!("{v:.decimals$}");
        if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
    };
    if text == "-0" { "0".into() } else { group(&text) }
}

/// A whole number with its thousands grouped: "5994000" → "5,994,000"; any fraction is kept.
pub fn group(text: &str) -> String {
    let (sign, rest) = text.strip_prefix('-').map_or(("", text), |r| ("-", r));
    let (int, frac) = rest.split_once('.').map_or((rest, None), |(i, f)| (i, Some(f)));
    let mut out = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

/// How a metric is shown: the column's name with its unit, and the factor from the CSV's unit.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    /// The column's name, with its unit.
    pub name: String,
    /// Multiplies the CSV's value (1000: seconds shown as milliseconds).
    pub scale: f64,
}

/// The column for `metric` when its smallest mean in the table is `smallest`: times in
/// milliseconds when any is under a second (so none reads 0.000317 s), else in seconds; shares in
/// percent; every other metric in the CSV's own unit.
pub fn unit(metric: &str, smallest: f64) -> Unit {
    let named = |name: &str, scale: f64| Unit { name: name.to_string(), scale };
    let time = |what: &str| {
        if smallest.abs() < 1.0 { named(&format!("{what} (ms)"), 1000.0) } else { named(&format!("{what} (s)"), 1.0) }
    };
    match metric {
        "throughput_tps" => named("throughput (tx/s)", 1.0),
        "block_time_mean_s" => time("mean block time"),
        "block_time_p50_s" => time("median block time"),
        "block_time_p99_s" => time("p99 block time"),
        "latency_p50_s" => time("median latency"),
        "latency_p99_s" => time("p99 latency"),
        "virtual_time_s" => time("virtual time"),
        "committed" => named("committed (tx)", 1.0),
        "rejected" => named("rejected (tx)", 1.0),
        "pending" => named("pending at the end (tx)", 1.0),
        "lines_committed_pct" => named("lines committed (%)", 1.0),
        "forks" => named("blocks off the final chain", 1.0),
        "agreement" => named("runs in agreement (%)", 100.0),
        "top_stake_share" => named("node 0's stake share (%)", 100.0),
        "top_validator_share" => named("node 0's block share (%)", 100.0),
        "top_validator_blocks" => named("node 0's blocks", 1.0),
        "top_validator_balance_bcc" => named("node 0's balance (BCC)", 1.0),
        "others_mean_balance_bcc" => named("others' mean balance (BCC)", 1.0),
        other => named(other, 1.0),
    }
}

/// A table cell for `metric`: `mean ± interval` (each to three significant digits, in the unit
/// `scale` converts to), the mean alone when the interval is zero, and a count that every seed
/// agreed on exactly as it is. Empty when the mean is not a number.
pub fn cell(metric: &str, mean: &str, ci: &str, scale: f64) -> String {
    let Ok(m) = mean.parse::<f64>() else { return String::new() };
    let c = ci.parse::<f64>().unwrap_or(0.0);
    let exact = is_count(metric) && m.fract() == 0.0 && c == 0.0 && m.abs() < 1e15;
    if exact {
        return group(&format!("{}", m as i64));
    }
    let (m, c) = (m * scale, c * scale);
    if c > 0.0 && c.is_finite() { format!("{} ± {}", sig3(m), sig3(c)) } else { sig3(m) }
}

/// A cell copied from another CSV: whole numbers as they are (grouped), other numbers to three
/// significant digits, text unchanged.
pub fn plain(text: &str) -> String {
    match text.parse::<f64>() {
        Ok(v) if v.fract() == 0.0 && v.abs() < 1e15 && !text.contains(['e', 'E']) => group(text),
        Ok(v) if v.is_finite() => sig3(v),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_the_metrics_without_a_unit() {
        let counts: Vec<&str> = crate::stats::METRICS.into_iter().filter(|m| is_count(m)).collect();
        let want = "planned submitted committed rejected rejected_balance pending unsent blocks forks reorgs messages bytes \
                    top_validator_blocks";
        assert_eq!(counts.join(" "), want);
        assert!(!is_count("lines_committed_pct") && !is_count("throughput_tps"));
    }

    #[test]
    fn three_significant_digits() {
        let cases: [(f64, &str); 18] = [
            (16442.9, "16,400"),
            (35694.0, "35,700"),
            (5994000.0, "5,990,000"),
            (999.75, "1,000"),
            (499.0, "499"),
            (91.1234, "91.1"),
            (12.1149, "12.1"),
            (9.996, "10"),
            (1.6, "1.6"),
            (0.317, "0.317"),
            (0.2, "0.2"),
            (0.0003170, "0.000317"),
            (0.00000401234, "0.00000401"),
            (0.0009996, "0.001"),
            (-1234.5, "-1,230"),
            (-0.0001, "-0.0001"),
            (0.0, "0"),
            (f64::NAN, ""),
        ];
        for (v, want) in cases {
            assert_eq!(sig3(v), want, "sig3({v})");
        }
    }

    #[test]
    fn thousands_are_grouped() {
        for (text, want) in
            [("5994000", "5,994,000"), ("100", "100"), ("1000", "1,000"), ("-12345.5", "-12,345.5"), ("0", "0")]
        {
            assert_eq!(group(text), want, "{text}");
        }
    }

    #[test]
    fn cells_in_their_columns_unit() {
        // (metric, mean, ci, smallest mean of the column, column name, cell)
        let cases = [
            ("throughput_tps", "16442.9", "203.4", 15.3, "throughput (tx/s)", "16,400 ± 203"),
            ("throughput_tps", "14173.4", "5.71", 15.3, "throughput (tx/s)", "14,200 ± 5.71"),
            ("block_time_mean_s", "0.000317", "0.00000401234", 0.0003, "mean block time (ms)", "0.317 ± 0.00401"),
            ("block_time_mean_s", "1.3192", "0.0434", 0.0003, "mean block time (ms)", "1,320 ± 43.4"),
            ("latency_p99_s", "11.7392", "2.5", 1.2, "p99 latency (s)", "11.7 ± 2.5"),
            ("virtual_time_s", "30.84", "0", 29.9, "virtual time (s)", "30.8"),
            ("committed", "2000", "0", 2000.0, "committed (tx)", "2,000"),
            ("committed", "999.75", "0.52", 40.0, "committed (tx)", "1,000 ± 0.52"),
            ("messages", "5994000", "0", 5994000.0, "messages", "5,994,000"),
            ("top_stake_share", "0.714286", "0", 0.2, "node 0's stake share (%)", "71.4"),
            ("top_validator_share", "0.7181", "0.0113", 0.18, "node 0's block share (%)", "71.8 ± 1.13"),
            ("lines_committed_pct", "99.8", "0.32", 71.3, "lines committed (%)", "99.8 ± 0.32"),
            ("agreement", "1", "0", 1.0, "runs in agreement (%)", "100"),
            ("throughput_tps", "", "", 0.0, "throughput (tx/s)", ""),
        ];
        for (metric, mean, ci, largest, name, want) in cases {
            let u = unit(metric, largest);
            assert_eq!(u.name, name, "{metric}");
            assert_eq!(cell(metric, mean, ci, u.scale), want, "{metric} {mean} ± {ci}");
        }
    }

    #[test]
    fn copied_cells() {
        for (text, want) in
            [("5464.4", "5,460"), ("0.000607379", "0.000607"), ("5", "5"), ("+51%", "+51%"), ("full", "full")]
        {
            assert_eq!(plain(text), want, "{text}");
        }
    }
}
