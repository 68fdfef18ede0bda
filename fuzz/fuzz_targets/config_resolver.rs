//! BMTK config resolver: child-file merging, manifest substitution, sections (§3.1–3.3).
//! The input is split at lines `---` into up to three files: `config.json` (loaded),
//! `config.circuit.json` and `node_sets.json`, so merging, self-references and cycles between
//! files are reachable.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let names = ["config.json", "config.circuit.json", "node_sets.json"];
    let mut parts: Vec<&[u8]> = Vec::new();
    let mut rest = data;
    while parts.len() < names.len() - 1 {
        match rest.windows(5).position(|w| w == b"\n---\n") {
            Some(i) => {
                parts.push(&rest[..i]);
                rest = &rest[i + 5..];
            }
            None => break,
        }
    }
    parts.push(rest);
    for (i, name) in names.iter().enumerate() {
        let p = common::scratch().join(name);
        match parts.get(i) {
            Some(d) => std::fs::write(&p, d).expect("scratch folder writable"),
            None => {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
    let opts = glifnet::config::LoadOptions {
        working_dir: Some(common::scratch()),
        ..Default::default()
    };
    match glifnet::config::SimulationConfig::load_with(common::scratch().join(names[0]), &opts) {
        Ok(c) => {
            let _ = c.run_section();
            let _ = c.to_json();
        }
        Err(e) => common::check_message(e),
    }
});
