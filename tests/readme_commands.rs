//! The README's commands run verbatim (issue #22, item 14), so the README cannot drift from
//! the program:
//!
//! * every ```sh block of README.md runs with `bash -e -o pipefail`, in order, each starting in
//!   one scratch folder laid out as the README assumes: a copy of the repository's `networks/`
//!   (spec and models; generated files are rebuilt by the blocks), bmtk's examples
//!   `point_450glifs/` and `point_components/` and bmtk's `637930677_lif_r_asc_a.json` (copies
//!   from `$GLIFNET_SHARED`, which is also exported to the blocks), with the freshly built
//!   `glifnet` first on `PATH`. A block must exit 0 and print the numbers listed for it in
//!   [`EXPECT`]; a block that cannot run here must be listed in [`SKIP`] with the reason. New
//!   blocks run automatically, so a README edit that breaks a command fails this test;
//! * every ```json block parses, and a config `inputs` block runs in a copy of point_450glifs;
//! * every `glifnet <command> ... --option` the README names exists in `glifnet <command>
//!   --help`, and every subcommand of `glifnet --help` is in the README;
//! * the example of `glifnet neuron --help` runs and fires the spikes it says it fires.

use std::path::{Path, PathBuf};
use std::process::Command;

mod common;

/// Blocks not run here, identified by their first line, with the reason.
const SKIP: &[(&str, &str)] = &[
    (
        "bash scripts/run-main.sh",
        "setup script: installs system packages (apt-get, sudo) and runs cargo build; its two \
         glifnet commands are the README's `glifnet build networks/v1_l4` block, run here",
    ),
    (
        "bash scripts/test.sh",
        "setup script: installs system packages and runs the whole cargo test suite (this test \
         is part of it)",
    ),
    (
        "python3 -m venv .venv && . .venv/bin/activate && pip install .",
        "builds the Python package with maturin (minutes); scripts/test-python.sh builds and \
         tests it in .venv-test",
    ),
    (
        "cargo install --path .",
        "installs into ~/.cargo/bin; the test puts the freshly built binary first on PATH instead",
    ),
    (
        "cargo install cargo-fuzz",
        "downloads and builds cargo-fuzz and then fuzzes a sanitizer build for a minute: minutes \
         of CPU; the fuzz targets' seeds are checked by tests/viz_fuzz_seeds.rs",
    ),
    (
        "sudo apt-get install libopenmpi-dev openmpi-bin libclang-dev   # Open MPI + bindgen for rsmpi",
        "installs system packages and builds with --features mpi; MPI runs are tested by \
         tests/mpi_run.rs",
    ),
    (
        "REF_DIR=$HOME/.cache/glifnet-ref bash \"$GLIFNET_SHARED/tools/ref-setup.sh\"",
        "installs NEST, BMTK and AllenSDK from PyPI into venvs and benchmarks against NEST: long",
    ),
];

/// Text every run of a block (identified by its first line) must print (stdout + stderr).
const EXPECT: &[(&str, &[&str])] = &[
    // NEST 3.10's count at dt 0.1 (reference-data.md: spikes_dt0.1.h5, 76,318 v1 spikes)
    ("cd point_450glifs\nglifnet run", &["76318"]),
    // window of the run, per-type rates over [1000, 1500) ms
    (
        "cd point_450glifs\nglifnet plot raster",
        &[
            "window [0, 3000] ms (default 0; end: run.tstop from output/config.json)",
            "window [1000, 1500) ms (--tmin; end: --tmax)",
        ],
    ),
    (
        "glifnet neuron 637930677_lif_r_asc_a.json",
        &["19 spikes in 1.0 s (19.0 Hz)"],
    ),
    ("glifnet convert 637930677_lif_r_asc_a.json", &["t_ref"]),
    ("glifnet build networks/v1_l4", &["l4_exc", "l4_pv"]),
    (
        "glifnet inspect networks/v1_l4/config.simulation.json",
        &["l4_exc", "l4_pv", "v_report"],
    ),
    (
        "glifnet plot trace networks/v1_l4/output/v_report.h5",
        &["trace_12.png"],
    ),
];

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

/// The fenced blocks of `text` whose info string is `lang`, in order.
fn blocks(text: &str, lang: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        let t = line.trim_start();
        match &mut cur {
            None => {
                if let Some(info) = t.strip_prefix("```") {
                    if info.trim() == lang {
                        cur = Some(String::new());
                    } else if !info.trim().is_empty() || t == "```" {
                        // another language's block: skip to its end
                        cur = None;
                    }
                }
            }
            Some(b) => {
                if t.starts_with("```") {
                    out.push(std::mem::take(b));
                    cur = None;
                } else {
                    b.push_str(line);
                    b.push('\n');
                }
            }
        }
    }
    assert!(cur.is_none(), "README.md: unterminated ```{lang} block");
    out
}

fn copy_dir(from: &Path, to: &Path, skip: &dyn Fn(&Path) -> bool) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if skip(&p) {
            continue;
        }
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&p, &dst, skip);
        } else {
            std::fs::copy(&p, &dst).unwrap();
        }
    }
}

/// The scratch folder the README's commands run in (see the module docs).
fn workspace() -> tempfile::TempDir {
    let shared = common::shared_dir();
    let ws = tempfile::tempdir().unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    // only the tracked spec files: generated circuits and outputs are rebuilt by the blocks
    let generated = |p: &Path| {
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        name.starts_with("output")
            || ["network", "components", "inputs"].contains(&name.as_str())
            || name.starts_with("config.")
    };
    copy_dir(
        &repo.join("networks"),
        &ws.path().join("networks"),
        &generated,
    );
    for ex in ["point_450glifs", "point_components"] {
        copy_dir(
            &shared.join("data/bmtk").join(ex),
            &ws.path().join(ex),
            &|p: &Path| p.file_name().is_some_and(|n| n == "output"),
        );
    }
    std::fs::copy(
        shared.join("data/glif/allen/bmtk_637930677_lif_r_asc_a.json"),
        ws.path().join("637930677_lif_r_asc_a.json"),
    )
    .unwrap();
    ws
}

/// `PATH` with the freshly built glifnet's folder first.
fn path_with_glifnet() -> std::ffi::OsString {
    let bin = common::glifnet_bin();
    let mut dirs = vec![bin.parent().unwrap().to_path_buf()];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(dirs).unwrap()
}

fn bash(script: &str, dir: &Path) -> (bool, String) {
    let o = Command::new("bash")
        .args(["-e", "-o", "pipefail", "-c", script])
        .current_dir(dir)
        .env("PATH", path_with_glifnet())
        .env("GLIFNET_SHARED", common::shared_dir())
        .env("HDF5_USE_FILE_LOCKING", "FALSE")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    (o.status.success(), text)
}

#[test]
fn readme_sh_blocks_run_verbatim() {
    let text = readme();
    let sh = blocks(&text, "sh");
    assert!(sh.len() >= 10, "only {} ```sh blocks found", sh.len());
    // every skip and expectation entry must still name a block (no stale lists)
    for (first, _) in SKIP {
        assert!(
            sh.iter().any(|b| b.lines().next() == Some(*first)),
            "SKIP lists `{first}`, which is no longer a README block's first line"
        );
    }
    for (start, _) in EXPECT {
        assert!(
            sh.iter().any(|b| b.starts_with(start)),
            "EXPECT lists `{start}`, which no README block starts with"
        );
    }
    let ws = workspace();
    let mut ran = 0;
    let mut failures = Vec::new();
    for b in &sh {
        let first = b.lines().next().unwrap_or("");
        if let Some((_, why)) = SKIP.iter().find(|(f, _)| *f == first) {
            eprintln!("skipped `{first}`: {why}");
            continue;
        }
        let (ok, out) = bash(b, ws.path());
        ran += 1;
        if !ok {
            failures.push(format!("README block failed:\n{b}--- output:\n{out}"));
            continue;
        }
        for (start, want) in EXPECT {
            if b.starts_with(start) {
                for w in *want {
                    if !out.contains(w) {
                        failures.push(format!("README block\n{b}printed no `{w}`; output:\n{out}"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert_eq!(ran + SKIP.len(), sh.len());
    // the commands made what the README says they make
    let ex = ws.path().join("point_450glifs");
    assert!(ex.join("output/spikes.h5").is_file());
    assert!(ex.join("output/config.json").is_file());
    let svg = std::fs::read_to_string(ex.join("raster.svg")).unwrap();
    assert!(svg.contains("76318 spikes, 450 cells, [0, 3000] ms"));
    assert!(svg.contains("font-family=\"DejaVu Sans\""));
    assert!(ws
        .path()
        .join("networks/v1_l4/output/v_report.h5")
        .is_file());
    assert!(ws.path().join("trace_12.png").is_file());
    assert!(ws.path().join("v1_l4.dot").is_file());
    assert!(ws.path().join("neuron_output/summary.json").is_file());
}

#[test]
fn readme_json_blocks_are_valid_config_sections() {
    let text = readme();
    let json = blocks(&text, "json");
    assert!(!json.is_empty());
    let shared = common::shared_dir();
    for b in &json {
        let v: serde_json::Value = serde_json::from_str(b)
            .unwrap_or_else(|e| panic!("README ```json block does not parse ({e}):\n{b}"));
        let obj = v.as_object().expect("a JSON object");
        let is_inputs = obj.values().all(|i| i.get("input_type").is_some());
        assert!(is_inputs, "README ```json block of unknown kind:\n{b}");
        // run it as the `inputs` of point_450glifs (100 ms at dt 0.1) beside the LGN input
        let ws = tempfile::tempdir().unwrap();
        for ex in ["point_450glifs", "point_components"] {
            copy_dir(
                &shared.join("data/bmtk").join(ex),
                &ws.path().join(ex),
                &|p: &Path| p.file_name().is_some_and(|n| n == "output"),
            );
        }
        let ex = ws.path().join("point_450glifs");
        let run = |inputs: Option<&serde_json::Value>, out: &str| -> u64 {
            let cfg_path = ex.join("config.simulation.json");
            let mut cfg: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&cfg_path).unwrap()).unwrap();
            if let Some(i) = inputs {
                for (k, v) in i.as_object().unwrap() {
                    cfg["inputs"][k] = v.clone();
                }
            }
            let p = ex.join(format!("config.{out}.json"));
            std::fs::write(&p, serde_json::to_string_pretty(&cfg).unwrap()).unwrap();
            let o = Command::new(common::glifnet_bin())
                .args(["run", p.to_str().unwrap(), "--tstop", "300", "--dt", "0.1"])
                .args(["--output-dir", out, "--quiet", "--no-plot"])
                .current_dir(&ex)
                .output()
                .unwrap();
            assert!(
                o.status.success(),
                "README inputs block\n{b}fails: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            let csv = std::fs::read_to_string(ex.join(out).join("spikes.csv")).unwrap();
            csv.lines().skip(1).filter(|l| !l.is_empty()).count() as u64
        };
        let base = run(None, "out_base");
        let with = run(Some(&v), "out_readme");
        // 200 Hz of 10 pA onto every v1 cell adds spikes
        assert!(
            with > base,
            "README input block adds no spikes ({base} -> {with})"
        );
    }
}

/// `glifnet <args>` output (stdout), asserting success.
fn glifnet(args: &[&str]) -> String {
    let o = Command::new(common::glifnet_bin())
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "glifnet {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// The subcommand names listed in a clap `--help` text.
fn subcommands(help: &str) -> Vec<String> {
    help.split("Commands:")
        .nth(1)
        .unwrap_or("")
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

/// Every `glifnet ...` command line of the README: the lines of ```sh blocks (from `glifnet`
/// on) and inline code spans starting with `glifnet `.
fn readme_commands(text: &str) -> Vec<String> {
    let mut cmds = Vec::new();
    for b in blocks(text, "sh") {
        // join continuation lines
        let joined = b.replace("\\\n", " ");
        for line in joined.lines() {
            for part in line.split("&&") {
                let part = part.trim();
                if let Some(i) = part.find("glifnet ") {
                    if i == 0 || part[..i].ends_with('/') || part[..i].ends_with(' ') {
                        cmds.push(part[i..].to_string());
                    }
                }
            }
        }
    }
    let mut rest = text;
    while let Some(i) = rest.find('`') {
        let after = &rest[i + 1..];
        if let Some(fence) = after.strip_prefix("``") {
            rest = fence;
            continue;
        }
        let Some(j) = after.find('`') else { break };
        let span = &after[..j];
        if span.starts_with("glifnet ") {
            cmds.push(span.to_string());
        }
        rest = &after[j + 1..];
    }
    cmds
}

#[test]
fn readme_and_help_agree() {
    let text = readme();
    let top = glifnet(&["--help"]);
    let subs = subcommands(&top);
    assert_eq!(
        subs,
        ["run", "neuron", "convert", "inspect", "build", "plot"]
    );
    for s in &subs {
        assert!(
            text.contains(&format!("glifnet {s} ")),
            "README never shows `glifnet {s}`"
        );
    }
    let plot_kinds = subcommands(&glifnet(&["plot", "--help"]));
    assert_eq!(plot_kinds, ["raster", "rates", "trace"]);
    let cmds = readme_commands(&text);
    assert!(cmds.len() >= 15, "{cmds:?}");
    let mut checked = 0;
    for c in &cmds {
        let toks: Vec<&str> = c.split_whitespace().skip(1).collect();
        let Some(&first) = toks.first() else { continue };
        if first.starts_with('-')
            || first.starts_with('<')
            || !first.chars().all(|ch| ch.is_ascii_lowercase())
        {
            continue; // `glifnet --help`, `glifnet <command>`, `glifnet 0.1.0 (...)`
        }
        assert!(
            subs.iter().any(|s| s == first),
            "README: `{c}`: glifnet has no subcommand {first}"
        );
        let mut path = vec![first];
        if first == "plot" {
            let kind = toks.get(1).copied().unwrap_or("");
            assert!(
                plot_kinds.iter().any(|k| k == kind),
                "README: `{c}`: glifnet plot has no {kind}"
            );
            path.push(kind);
        }
        let mut args = path.clone();
        args.push("--help");
        let help = glifnet(&args);
        for t in &toks {
            let t = t.trim_matches(|ch| "[]()`,.;".contains(ch));
            let opt = t.split('=').next().unwrap();
            if opt.starts_with("--") && opt.len() > 2 && opt != "--help" {
                assert!(
                    help.contains(opt),
                    "README: `{c}`: `glifnet {} --help` has no {opt}",
                    path.join(" ")
                );
                checked += 1;
            } else if opt.starts_with('-') && opt.len() == 2 {
                assert!(
                    help.contains(&format!("{opt},")) || help.contains(&format!("{opt} ")),
                    "README: `{c}`: `glifnet {} --help` has no {opt}",
                    path.join(" ")
                );
                checked += 1;
            }
        }
    }
    assert!(checked >= 20, "only {checked} options checked");
    // options listed in prose next to their command
    let run_help = glifnet(&["run", "--help"]);
    for opt in [
        "--threads",
        "--tstop",
        "--dt",
        "--output-dir",
        "--quiet",
        "--no-plot",
    ] {
        assert!(
            text.contains(&format!("`{opt}")),
            "README does not name {opt}"
        );
        assert!(run_help.contains(opt), "glifnet run --help has no {opt}");
    }
    // --version names the features
    let v = glifnet(&["--version"]);
    let want = if cfg!(feature = "mpi") {
        "glifnet 0.1.0 (features: mpi)"
    } else {
        "glifnet 0.1.0 (features: none)"
    };
    assert_eq!(v.trim(), want);
    assert!(text.contains(
        want.trim_start_matches("glifnet ")
            .split(' ')
            .next()
            .unwrap()
    ));
}

#[test]
fn neuron_help_example_fires() {
    let help = glifnet(&["neuron", "--help"]);
    let ex = help
        .split("Example")
        .nth(1)
        .expect("neuron --help has an example");
    let cmd = ex
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("glifnet neuron "))
        .expect("example command");
    // the help says what it prints: `prints N spikes in ...`
    let claim = ex
        .split("prints ")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .expect("the example says what it prints");
    let ws = workspace();
    let (ok, out) = bash(cmd, ws.path());
    assert!(ok, "{cmd}: {out}");
    let claim = claim.trim_matches('`');
    assert!(out.contains(claim), "{cmd}: printed\n{out}\nnot `{claim}`");
    let n: u64 = claim.split_whitespace().next().unwrap().parse().unwrap();
    assert!(n > 0);
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(ws.path().join("neuron_output/summary.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(summary["n_spikes"].as_u64(), Some(n));
    let _ = PathBuf::new();
}

#[test]
fn packaging_metadata_and_licence_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let toml = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    assert!(toml.contains("\nlicense = \"MIT OR Apache-2.0\"\n"));
    assert!(toml.contains("\nauthors = [\"The glifnet developers\"]\n"));
    let mit = std::fs::read_to_string(root.join("LICENSE-MIT")).unwrap();
    assert!(mit.starts_with("MIT License\n\nCopyright (c) the glifnet developers\n"));
    assert!(mit
        .contains("Permission is hereby granted, free of charge, to any person obtaining a copy"));
    assert!(mit.contains("THE SOFTWARE IS PROVIDED \"AS IS\", WITHOUT WARRANTY OF ANY KIND"));
    let apache = std::fs::read_to_string(root.join("LICENSE-APACHE")).unwrap();
    for s in [
        "Apache License",
        "Version 2.0, January 2004",
        "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION",
        "9. Accepting Warranty or Additional Liability.",
        "END OF TERMS AND CONDITIONS",
    ] {
        assert!(apache.contains(s), "LICENSE-APACHE lacks `{s}`");
    }
    // the standard text is about 11,350 bytes
    assert!((11_000..12_000).contains(&apache.len()), "{}", apache.len());
}
