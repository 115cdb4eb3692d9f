//! What each simulated node's client sends: the scenario's workload as the host's plans and
//! paces (the same client the TCP daemon runs).

use blockchat_host::client::course;
use blockchat_host::client::synthetic::Mix;
use blockchat_host::{Pace, Plan};

use crate::scenario::Workload;

/// Every node's plan and pace for `workload` on `nodes` nodes under `seed`.
pub fn plans(workload: &Workload, nodes: usize, seed: u64) -> Result<Vec<(Plan, Pace)>, course::CourseError> {
    match workload {
        Workload::Course { inputs, lines, think } => {
            let files = match inputs {
                Some(dir) => course::read_dir(dir, nodes)?,
                None => course::generate_lines(nodes, *lines, seed)?,
            };
            Ok(files.into_iter().map(|lines| (Plan::Lines(lines), think.pace())).collect())
        }
        Workload::Synthetic { rate_per_node, burst, count, coin_fraction, amount_units, message_chars, receivers } => {
            let mix = Mix {
                coin_fraction: *coin_fraction,
                amount_units: *amount_units,
                message_chars: *message_chars,
                receivers: *receivers,
            };
            let pace = match (burst, rate_per_node) {
                (true, _) => Pace::Burst,
                (false, Some(per_second)) => Pace::Poisson { per_second: *per_second },
                (false, None) => Pace::ClosedLoop,
            };
            Ok((0..nodes)
                .map(|i| {
                    let count = count / nodes + usize::from(i < count % nodes);
                    (Plan::Synthetic { count, mix }, pace)
                })
                .collect())
        }
    }
}

/// A short label for the workload, for reports.
pub fn label(workload: &Workload) -> String {
    match workload {
        Workload::Course { inputs: Some(dir), .. } => format!("course:{}", dir.display()),
        Workload::Course { inputs: None, lines, .. } => format!("course:generated-{lines}"),
        Workload::Synthetic { burst: true, count, .. } => format!("synthetic:burst:{count}"),
        Workload::Synthetic { rate_per_node: Some(r), count, .. } => format!("synthetic:open-{r}/s:{count}"),
        Workload::Synthetic { rate_per_node: None, count, .. } => format!("synthetic:closed:{count}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use blockchat_host::client::synthetic::Receivers;

    #[test]
    fn synthetic_counts_are_split_and_paces_follow_the_rate() {
        let w = Workload::Synthetic {
            burst: false,
            rate_per_node: Some(10.0),
            count: 1_003,
            coin_fraction: 0.25,
            amount_units: [5, 9],
            message_chars: [2, 4],
            receivers: Receivers::Uniform,
        };
        let p = plans(&w, 4, 1).unwrap();
        assert_eq!(p.iter().map(|(plan, _)| plan.len()).collect::<Vec<_>>(), vec![251, 251, 251, 250]);
        assert!(p.iter().all(|(_, pace)| *pace == Pace::Poisson { per_second: 10.0 }));
        let course = Workload::Course { inputs: None, lines: 7, think: Default::default() };
        let p = plans(&course, 3, 1).unwrap();
        assert!(p.iter().all(|(plan, pace)| plan.len() == 7 && *pace == Pace::Burst));
    }
}
