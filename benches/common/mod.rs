//! What the benches measure: the benchmark thread's own CPU time (`/proc/thread-self/schedstat`,
//! ns), not wall time — the development machine is shared, and wall time there measures the
//! neighbours — reported per element of the bench's throughput (neuron-step, synaptic event).

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::Throughput;

/// CPU time of the calling thread in ns (Linux schedstat; falls back to 0 elsewhere).
fn thread_cpu_ns() -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .next()
                .and_then(|x| x.parse::<f64>().ok())
        })
        .unwrap_or(0.0)
}

/// Thread CPU time; throughputs are shown as ns per element.
pub struct CpuTime {
    fmt: NsFormatter,
}

impl CpuTime {
    /// `unit` names the element, e.g. "ns/neuron-step".
    pub fn per(unit: &'static str) -> CpuTime {
        CpuTime {
            fmt: NsFormatter { unit },
        }
    }
}

struct NsFormatter {
    unit: &'static str,
}

impl ValueFormatter for NsFormatter {
    fn scale_values(&self, _typical: f64, _values: &mut [f64]) -> &'static str {
        "ns"
    }
    fn scale_throughputs(&self, _typical: f64, t: &Throughput, values: &mut [f64]) -> &'static str {
        // ns per element instead of elements per second
        if let Throughput::Elements(e) = t {
            for v in values.iter_mut() {
                *v /= *e as f64;
            }
        }
        self.unit
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

impl Measurement for CpuTime {
    type Intermediate = f64;
    type Value = f64;
    fn start(&self) -> f64 {
        thread_cpu_ns()
    }
    fn end(&self, i: f64) -> f64 {
        thread_cpu_ns() - i
    }
    fn add(&self, a: &f64, b: &f64) -> f64 {
        a + b
    }
    fn zero(&self) -> f64 {
        0.0
    }
    fn to_f64(&self, v: &f64) -> f64 {
        *v
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &self.fmt
    }
}
