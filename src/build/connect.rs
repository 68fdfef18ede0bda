//! Connection rules and the streaming edge generator.
//!
//! Edges are generated target by target: each (rule, target) pair has its own random stream
//! keyed by `(seed, rule index, target id)`, so the result is independent of the thread count
//! and of the block size. A first pass only counts edges (the edges file is then created with
//! exact, contiguous datasets as h5py writes them); the second pass regenerates the same edges
//! block by block and streams them to the writer. Memory: O(block) + 4 bytes per edge (index).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use rayon::prelude::*;

use super::rng::{self, Rng};
use super::spec::Nsyns;
use super::BuildError;
use crate::sonata::circuit_writer::EdgeFileWriter;

/// A source node id with its position.
type Located = (u32, [f64; 3]);

/// Spatial hash of source positions for the distance rule (cell edge = cutoff distance).
#[derive(Debug)]
pub struct Grid {
    cell: f64,
    cells: HashMap<(i64, i64, i64), Vec<Located>>,
}

impl Grid {
    fn key(&self, p: &[f64; 3]) -> (i64, i64, i64) {
        (
            (p[0] / self.cell).floor() as i64,
            (p[1] / self.cell).floor() as i64,
            (p[2] / self.cell).floor() as i64,
        )
    }

    pub fn new(cell: f64, points: impl Iterator<Item = Located>) -> Self {
        let mut g = Grid {
            cell,
            cells: HashMap::new(),
        };
        for (id, p) in points {
            let k = g.key(&p);
            g.cells.entry(k).or_default().push((id, p));
        }
        g
    }
}

/// How a rule picks the sources of one target.
#[derive(Debug)]
pub enum Kind {
    Probability {
        sources: Vec<u32>,
        p: f64,
    },
    Gaussian {
        grid: Grid,
        p_max: f64,
        sigma: f64,
        max_distance: f64,
        /// Target positions by target id (targets outside the selection: unused).
        target_pos: Vec<[f64; 3]>,
    },
    Indegree {
        sources: Vec<u32>,
        k: u64,
    },
    /// Target id -> source id (`u32::MAX`: none).
    OneToOne {
        map: Vec<u32>,
    },
}

/// A connection rule ready to generate (one edge type).
#[derive(Debug)]
pub struct Rule {
    /// Index of the rule in the spec (random stream key).
    pub index: usize,
    pub edge_type_id: u32,
    /// Membership of each target-population node in the target selection.
    pub is_target: Vec<bool>,
    pub kind: Kind,
    /// Same population and autapses not allowed.
    pub skip_self: bool,
    pub nsyns: Nsyns,
}

/// One generated edge of a target: (source id, rule position in its edge population, nsyns).
type Edge = (u32, u16, u32);

fn draw_nsyns(n: Nsyns, r: &mut Rng) -> u32 {
    match n {
        Nsyns::Fixed(k) => k,
        Nsyns::Uniform { uniform: [a, b] } => a + r.below(u64::from(b - a) + 1) as u32,
    }
}

impl Rule {
    /// Append the edges this rule gives target `t` (sources ascending within the rule).
    fn generate(&self, pos: u16, t: u32, seed: u64, out: &mut Vec<Edge>) {
        if !self.is_target[t as usize] {
            return;
        }
        let mut r = Rng::new(seed, rng::EDGES, self.index as u64, t as u64);
        let skip = |s: u32| self.skip_self && s == t;
        match &self.kind {
            Kind::Probability { sources, p } => {
                if *p <= 0.0 {
                } else if *p >= 1.0 {
                    for &s in sources.iter().filter(|&&s| !skip(s)) {
                        out.push((s, pos, draw_nsyns(self.nsyns, &mut r)));
                    }
                } else {
                    // Geometric gaps between successes: O(edges), not O(candidates).
                    let l = (-p).ln_1p();
                    let mut i = (r.uniform_pos().ln() / l).floor();
                    while i < sources.len() as f64 {
                        let s = sources[i as usize];
                        if !skip(s) {
                            out.push((s, pos, draw_nsyns(self.nsyns, &mut r)));
                        }
                        i += 1.0 + (r.uniform_pos().ln() / l).floor();
                    }
                }
            }
            Kind::Gaussian {
                grid,
                p_max,
                sigma,
                max_distance,
                target_pos,
            } => {
                let tp = target_pos[t as usize];
                let (kx, ky, kz) = grid.key(&tp);
                let md2 = max_distance * max_distance;
                let inv = 1.0 / (2.0 * sigma * sigma);
                let start = out.len();
                for dx in -1..=1 {
                    for dy in -1..=1 {
                        for dz in -1..=1 {
                            let Some(cell) = grid.cells.get(&(kx + dx, ky + dy, kz + dz)) else {
                                continue;
                            };
                            for &(s, sp) in cell {
                                if skip(s) {
                                    continue;
                                }
                                let d2 = (sp[0] - tp[0]).powi(2)
                                    + (sp[1] - tp[1]).powi(2)
                                    + (sp[2] - tp[2]).powi(2);
                                if d2 <= md2 && r.uniform() < p_max * (-d2 * inv).exp() {
                                    out.push((s, pos, draw_nsyns(self.nsyns, &mut r)));
                                }
                            }
                        }
                    }
                }
                out[start..].sort_unstable_by_key(|e| e.0);
            }
            Kind::Indegree { sources, k } => {
                // Floyd's sampling of k distinct indices among the candidates minus `t`.
                let self_pos = if self.skip_self {
                    sources.binary_search(&t).ok()
                } else {
                    None
                };
                let n = sources.len() as u64 - self_pos.is_some() as u64;
                let mut chosen: HashSet<u64> = HashSet::with_capacity(*k as usize);
                for j in n - k..n {
                    let x = r.below(j + 1);
                    if !chosen.insert(x) {
                        chosen.insert(j);
                    }
                }
                let mut idx: Vec<u64> = chosen.into_iter().collect();
                idx.sort_unstable();
                for i in idx {
                    let i = match self_pos {
                        Some(sp) if i as usize >= sp => i as usize + 1,
                        _ => i as usize,
                    };
                    out.push((sources[i], pos, draw_nsyns(self.nsyns, &mut r)));
                }
            }
            Kind::OneToOne { map } => {
                let s = map[t as usize];
                if s != u32::MAX && !skip(s) {
                    out.push((s, pos, draw_nsyns(self.nsyns, &mut r)));
                }
            }
        }
    }
}

/// All edges of target `t` under `rules`, ordered by source id, then rule.
fn target_edges(rules: &[Rule], t: u32, seed: u64, out: &mut Vec<Edge>) {
    out.clear();
    for (pos, rule) in rules.iter().enumerate() {
        rule.generate(pos as u16, t, seed, out);
    }
    out.sort_by_key(|e| e.0); // stable: rule order kept for equal sources
}

/// Totals of one written edge population.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EdgeTotals {
    pub edges: usize,
    pub nsyns: u64,
    /// Edges per rule (in `rules` order).
    pub per_rule: Vec<usize>,
}

/// Edge columns of a block: source, target, edge type (rule position first), nsyns.
type Columns = (Vec<u64>, Vec<u64>, Vec<u32>, Vec<u32>);

const CHUNK: usize = 256;
const BLOCK_EDGES: usize = 1 << 22;

/// Generate the edges of `rules` (all between one source and one target population, with
/// `n_targets` nodes) and stream them into `path`.
pub fn write_edges(
    path: &Path,
    population: &str,
    source_pop: &str,
    target_pop: &str,
    n_targets: usize,
    rules: &[Rule],
    seed: u64,
) -> Result<EdgeTotals, BuildError> {
    // Pass 1: in-degree per target.
    let indeg: Vec<u32> = (0..n_targets)
        .into_par_iter()
        .with_min_len(CHUNK)
        .map_init(Vec::new, |buf, t| {
            target_edges(rules, t as u32, seed, buf);
            buf.len() as u32
        })
        .collect();
    let total: usize = indeg.iter().map(|&d| d as usize).sum();
    // edge_group_index is written as u32: more edges would wrap around
    if total > u32::MAX as usize {
        return Err(BuildError::Io {
            path: path.to_path_buf(),
            msg: format!(
                "{total} edges in population {population}; at most {} edges per edge population are supported",
                u32::MAX
            ),
        });
    }
    let mut w = EdgeFileWriter::create(path, population, source_pop, target_pop, total)?;
    let mut totals = EdgeTotals {
        edges: total,
        nsyns: 0,
        per_rule: vec![0; rules.len()],
    };
    // Pass 2: blocks of targets holding about BLOCK_EDGES edges.
    let mut t0 = 0usize;
    while t0 < n_targets {
        let mut t1 = t0;
        let mut n = 0usize;
        while t1 < n_targets && (t1 == t0 || n + indeg[t1] as usize <= BLOCK_EDGES) {
            n += indeg[t1] as usize;
            t1 += 1;
        }
        let parts: Vec<Columns> = (t0..t1)
            .collect::<Vec<_>>()
            .par_chunks(CHUNK)
            .map(|ts| {
                let mut buf = Vec::new();
                let (mut s, mut tg, mut ty, mut ns) =
                    (Vec::new(), Vec::new(), Vec::new(), Vec::new());
                for &t in ts {
                    target_edges(rules, t as u32, seed, &mut buf);
                    for &(src, pos, k) in &buf {
                        s.push(src as u64);
                        tg.push(t as u64);
                        ty.push(pos as u32);
                        ns.push(k);
                    }
                }
                (s, tg, ty, ns)
            })
            .collect();
        let mut s = Vec::with_capacity(n);
        let mut tg = Vec::with_capacity(n);
        let mut ty = Vec::with_capacity(n);
        let mut ns = Vec::with_capacity(n);
        for (a, b, c, d) in parts {
            s.extend(a);
            tg.extend(b);
            ty.extend(c);
            ns.extend(d);
        }
        for x in ty.iter_mut() {
            totals.per_rule[*x as usize] += 1;
            *x = rules[*x as usize].edge_type_id;
        }
        totals.nsyns += ns.iter().map(|&k| k as u64).sum::<u64>();
        w.append(&s, &tg, &ty, &ns)?;
        t0 = t1;
    }
    w.finish()?;
    Ok(totals)
}
