//! Fingerprints the protocol, host and simulator sources, so stored runs made by other code are never
//! reused.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut paths = Vec::new();
    for krate in ["blockchat-core/src", "blockchat-host/src", "blockchat-sim/src"] {
        let dir = root.join(krate);
        println!("cargo:rerun-if-changed={}", dir.display());
        files(&dir, &mut paths);
    }
    paths.sort();
    let mut h = Sha256::new();
    for p in &paths {
        h.update(p.strip_prefix(&root).unwrap_or(p).to_string_lossy().as_bytes());
        h.update(std::fs::read(p).unwrap_or_default());
    }
    println!("cargo:rustc-env=SIM_SOURCE_HASH={}", hex::encode(&h.finalize()[..8]));
}
