//! Criterion benchmarks of whole simulated runs. The large runs (100 × 100,000 and
//! 1,000 × 10,000) are measured by `blockchat-sim bench` instead: one run takes seconds.

use std::hint::black_box;

use blockchat_host::client::synthetic::Receivers;
use blockchat_sim::scenario::{Cpu, Scenario, Topology, Workload};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn course(c: &mut Criterion) {
    let mut g = c.benchmark_group("simulation");
    g.sample_size(20);
    let s = Scenario::default();
    g.throughput(Throughput::Elements(500));
    g.bench_function("course experiment: 5 nodes, 500 transactions", |b| {
        b.iter(|| black_box(blockchat_sim::run(&s).unwrap()))
    });
    let mesh = Scenario {
        nodes: 20,
        capacity: 20,
        cpu: Cpu::Zero,
        topology: Topology::FullMesh,
        workload: Workload::Synthetic {
            burst: false,
            rate_per_node: Some(50.0),
            count: 2_000,
            coin_fraction: 1.0,
            amount_units: [1_000, 2_000],
            message_chars: [1, 1],
            receivers: Receivers::Uniform,
        },
        ..Scenario::default()
    };
    g.throughput(Throughput::Elements(2_000));
    g.bench_function("20-node mesh, 2,000 transfers", |b| b.iter(|| black_box(blockchat_sim::run(&mesh).unwrap())));
    g.finish();
}

criterion_group!(benches, course);
criterion_main!(benches);
