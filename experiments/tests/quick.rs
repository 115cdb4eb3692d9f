//! `experiments quick` twice, into two fresh directories: every CSV byte-identical, and every
//! suite's outputs present.

use std::path::Path;

use experiments::suite::{SUITES, Suite};

fn quick_into(dir: &Path) -> Vec<Suite> {
    let suites: Vec<Suite> = SUITES
        .iter()
        .filter_map(|(name, text)| {
            let seeds = Suite::named(name, None).unwrap().file.quick_seeds;
            (seeds > 0).then(|| Suite::parse(name, text, Some(seeds)).unwrap())
        })
        .collect();
    for s in &suites {
        experiments::produce(s, dir, false, &|| {}).unwrap();
    }
    suites
}

#[test]
fn quick_results_are_byte_identical_across_runs() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let suites = quick_into(a.path());
    quick_into(b.path());
    assert!(suites.len() >= 3);
    for s in &suites {
        for file in ["runs.csv", "summary.csv", "scenarios.jsonl"] {
            let x = std::fs::read(a.path().join(&s.name).join(file)).unwrap();
            let y = std::fs::read(b.path().join(&s.name).join(file)).unwrap();
            assert!(!x.is_empty(), "{}/{file} is empty", s.name);
            assert_eq!(x, y, "{}/{file} differs between two runs", s.name);
        }
        for plot in &s.file.plots {
            let svg = std::fs::read_to_string(a.path().join(&s.name).join(&plot.file)).unwrap();
            let opening: String = plot.title.chars().take(20).collect();
            assert!(svg.contains("<svg") && svg.contains(&opening), "{}/{}", s.name, plot.file);
        }
    }
}

#[test]
fn stored_runs_are_reused_and_a_redo_recomputes_them_identically() {
    let dir = tempfile::tempdir().unwrap();
    let suite = Suite::named("think-time", Some(1)).unwrap();
    let count = std::sync::atomic::AtomicUsize::new(0);
    experiments::produce(&suite, dir.path(), false, &|| {
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    })
    .unwrap();
    let first = std::fs::read(dir.path().join("think-time/runs.csv")).unwrap();
    experiments::produce(&suite, dir.path(), false, &|| {}).unwrap();
    assert_eq!(std::fs::read(dir.path().join("think-time/runs.csv")).unwrap(), first);
    experiments::produce(&suite, dir.path(), true, &|| {}).unwrap();
    assert_eq!(std::fs::read(dir.path().join("think-time/runs.csv")).unwrap(), first, "a redo gives the same bytes");
    assert_eq!(count.load(std::sync::atomic::Ordering::Relaxed), suite.runs.len());
}
