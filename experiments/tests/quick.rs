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

/// A suite computed in three shards and merged gives exactly the files of an unsharded run;
/// a merge with a shard missing is refused and names how many runs are missing.
#[test]
fn merged_shards_are_byte_identical_to_an_unsharded_run() {
    use experiments::shard::{Shard, merge, run_shard};
    let (whole, parts) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let suite = Suite::named("fairness", Some(2)).unwrap();
    experiments::produce(&suite, whole.path(), false, &|| {}).unwrap();
    let dir = parts.path().join(&suite.name);
    let mut computed = 0;
    for index in 0..3 {
        computed += run_shard(&suite, &dir, Shard { index, count: 3 }, &|| {}).unwrap();
    }
    assert_eq!(computed, suite.runs.len(), "every run in exactly one shard");
    std::fs::rename(dir.join("shards/2-of-3.csv"), parts.path().join("aside.csv")).unwrap();
    let refused = merge(&suite, &dir).unwrap_err().to_string();
    assert!(refused.contains("runs are in no shard"), "{refused}");
    std::fs::rename(parts.path().join("aside.csv"), dir.join("shards/2-of-3.csv")).unwrap();
    let runs = merge(&suite, &dir).unwrap();
    experiments::finish(&suite, &runs, &dir).unwrap();
    let mut files: Vec<String> = std::fs::read_dir(whole.path().join(&suite.name))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    files.sort();
    assert!(files.iter().any(|f| f.ends_with(".svg")), "{files:?}");
    for file in &files {
        let x = std::fs::read(whole.path().join(&suite.name).join(file)).unwrap();
        let y = std::fs::read(dir.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert_eq!(x, y, "{file} differs between the merged shards and the unsharded run");
    }
}
