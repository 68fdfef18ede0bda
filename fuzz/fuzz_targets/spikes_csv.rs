//! BMTK spike CSV reader (`timestamps population node_ids`, docs/sonata-bmtk.md §4.1, §6.2).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let p = common::put("spikes.csv", data);
    match glifnet::sonata::spikes::read_spikes_csv(&p) {
        Ok(s) => {
            for pop in &s.populations {
                assert_eq!(pop.node_ids.len(), pop.timestamps_ms.len());
                let _ = pop.sorted(glifnet::sonata::spikes::SortOrder::ByTime);
                let _ = pop.sorted(glifnet::sonata::spikes::SortOrder::ById);
            }
        }
        Err(e) => common::check_message(e),
    }
});
