//! Counter-keyed random streams: every stream is derived from `(seed, domain, a, b)` (e.g. the
//! rule index and the target node id), so results do not depend on thread count or on the
//! order in which streams are consumed. The generator (xoshiro256** seeded by SplitMix64) is
//! implemented here so the bytes a spec produces never change with a dependency upgrade.

/// Stream domains (first key component after the seed).
pub const NODES: u64 = 1;
pub const EDGES: u64 = 2;
pub const INPUTS: u64 = 3;

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xoshiro256** stream.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// The stream keyed by `(seed, domain, a, b)`.
    pub fn new(seed: u64, domain: u64, a: u64, b: u64) -> Self {
        let mut st = seed;
        for k in [domain, a, b] {
            st = splitmix64(&mut st) ^ k.wrapping_mul(0xD6E8_FEB8_6659_FD93);
        }
        let mut s = [0u64; 4];
        for x in &mut s {
            *x = splitmix64(&mut st);
        }
        Self { s }
    }

    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in (0, 1]: safe for `ln`.
    pub fn uniform_pos(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in [0, n), n > 0 (Lemire's multiply-shift with rejection).
    pub fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = (self.next_u64() as u128) * (n as u128);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// Standard normal (Box–Muller, one value per call).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform_pos();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Exponential with rate 1.
    pub fn exp1(&mut self) -> f64 {
        -self.uniform_pos().ln()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_keyed_and_reproducible() {
        let a: Vec<u64> = (0..4)
            .map(|_| Rng::new(1, EDGES, 3, 7).next_u64())
            .collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(
            Rng::new(1, EDGES, 3, 7).next_u64(),
            Rng::new(1, EDGES, 3, 8).next_u64()
        );
    }

    #[test]
    fn uniform_and_below_moments() {
        let mut r = Rng::new(42, 0, 0, 0);
        let n = 200_000;
        let mean = (0..n).map(|_| r.uniform()).sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.005, "{mean}");
        let mut hist = [0u32; 4];
        for _ in 0..n {
            hist[r.below(4) as usize] += 1;
        }
        for h in hist {
            assert!((h as f64 / n as f64 - 0.25).abs() < 0.005);
        }
        let m2 = (0..n).map(|_| r.normal().powi(2)).sum::<f64>() / n as f64;
        assert!((m2 - 1.0).abs() < 0.02, "{m2}");
    }
}
