//! Grouping runs by grid point: mean and 95% confidence interval of every metric.

/// Metrics summarised per grid point (runs.csv columns).
pub const METRICS: [&str; 25] = [
    "throughput_tps",
    "block_time_mean_s",
    "block_time_p50_s",
    "block_time_p99_s",
    "block_time_max_s",
    "latency_p50_s",
    "latency_p99_s",
    "planned",
    "submitted",
    "committed",
    "rejected",
    "rejected_balance",
    "pending",
    "unsent",
    "blocks",
    "forks",
    "reorgs",
    "messages",
    "bytes",
    "virtual_time_s",
    "top_stake_share",
    "top_validator_share",
    "top_validator_blocks",
    "top_validator_balance_bcc",
    "others_mean_balance_bcc",
];

/// Metrics computed per run from two runs.csv columns, as a percentage of the second: (name,
/// numerator, denominator).
pub const PERCENTAGES: [(&str, &str, &str); 1] = [("lines_committed_pct", "committed", "planned")];

/// `100 × part ÷ whole` for one run; `None` when the run planned nothing.
pub fn percent(part: f64, whole: f64) -> Option<f64> {
    (whole > 0.0).then(|| 100.0 * part / whole)
}

/// Two-sided 95% quantile of Student's t with `df` degrees of freedom.
pub fn t95(df: usize) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
        2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => TABLE[df - 1],
        31..=40 => 2.021,
        41..=60 => 2.000,
        61..=120 => 1.980,
        _ => 1.960,
    }
}

/// Mean and half-width of the 95% confidence interval of the mean (0 for a single value).
pub fn mean_ci(values: &[f64]) -> (f64, f64) {
    let n = values.len();
    if n == 0 {
        return (f64::NAN, f64::NAN);
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    if n == 1 {
        return (mean, 0.0);
    }
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (mean, t95(n - 1) * (var / n as f64).sqrt())
}

/// A number for a CSV or table: six significant digits, fixed notation, no trailing noise.
pub fn fmt(v: f64) -> String {
    if !v.is_finite() {
        return String::new();
    }
    if v == 0.0 {
        return "0".into();
    }
    let digits = (6 - 1 - v.abs().log10().floor() as i32).clamp(0, 9) as usize;
    let s = format!("{v:.digits$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_and_formatting() {
        let (m, ci) = mean_ci(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(m, 2.5);
        // sd = 1.290994, se = 0.645497, t(3) = 3.182
        assert!((ci - 2.0540).abs() < 1e-3, "{ci}");
        assert_eq!(mean_ci(&[7.0]), (7.0, 0.0));
        assert_eq!(fmt(12345.678), "12345.7");
        assert_eq!(fmt(0.000123456789), "0.000123457");
        assert_eq!(fmt(3.0), "3");
        assert_eq!(fmt(0.0), "0");
        assert_eq!(t95(1000), 1.96);
        assert_eq!(percent(475.0, 500.0), Some(95.0));
        assert_eq!(percent(3.0, 0.0), None);
    }
}
