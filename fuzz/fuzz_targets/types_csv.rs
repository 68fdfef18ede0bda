//! node/edge types CSV parser (space separated, CRLF, quoting, NULL; docs/sonata-bmtk.md §1.2).
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let p = common::put("types.csv", data);
    match glifnet::sonata::read_types_csv(&p) {
        Ok(t) => {
            // Accessors on a parsed table must not panic either.
            let _ = t.column("node_type_id");
            let _ = t.require("model_template");
        }
        Err(e) => common::check_message(e),
    }
});
