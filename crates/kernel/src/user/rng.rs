//! Seeded randomness for workload distributions: xoshiro256** per thread, seeded from
//! (`--seed`, thread index) with splitmix64, so one thread's draws never depend on another's.

use schedsim_workload::Dur;

/// The machine's own random streams within its `cost_seed`, one per use so that no two
/// draw alike (the workload's threads use `--seed` with their index as the stream).
pub mod stream {
    /// The kernel paths' costs (docs/cost-model.md).
    pub const PATH_COST: u64 = u64::MAX;
    /// `get_random_u32()`: the kernel's global generator.
    pub const GET_RANDOM: u64 = u64::MAX - 1;
    /// The refvm's background daemon and its trace reader.
    pub const DAEMON: u64 = u64::MAX - 2;
    pub const READER: u64 = u64::MAX - 3;
    /// The machine's background kthreads (core/kthreads.rs).
    pub const KTHREADS: u64 = u64::MAX - 4;
    /// Which ticks read `jiffies` before the timekeeper advanced it (core/tick.rs).
    pub const TICK_RACE: u64 = u64::MAX - 5;
    /// A drawn `tick_phase` (config.rs).
    pub const TICK_PHASE: u64 = u64::MAX - 6;
    /// `sched_rnd_state` of CPU n is `SCHED_RND - n`.
    pub const SCHED_RND: u64 = u64::MAX - 16;
}

#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

fn splitmix(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl Rng {
    pub fn new(seed: u64, stream: u64) -> Rng {
        let mut x = seed ^ stream.wrapping_mul(0xd1b5_4a32_d192_ed03);
        Rng {
            s: [
                splitmix(&mut x),
                splitmix(&mut x),
                splitmix(&mut x),
                splitmix(&mut x),
            ],
        }
    }

    pub fn next_u64(&mut self) -> u64 {
        let r = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        r
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    fn gauss(&mut self) -> f64 {
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    /// Draws a duration in ns (never negative).
    pub fn sample(&mut self, d: Dur) -> u64 {
        let v = match d {
            Dur::Fixed(n) => return n,
            Dur::Uniform { lo, hi } => lo as f64 + self.unit() * (hi.saturating_sub(lo)) as f64,
            Dur::Exponential { mean } => -(1.0 - self.unit()).ln() * mean as f64,
            Dur::Normal { mean, stddev } => mean as f64 + self.gauss() * stddev as f64,
            Dur::LogNormal { mean, stddev } => {
                // Parameters of the underlying normal from the distribution's mean and sd.
                let (m, s) = (mean as f64, stddev as f64);
                let sigma2 = (1.0 + s * s / (m * m)).ln();
                let mu = m.ln() - sigma2 / 2.0;
                (mu + sigma2.sqrt() * self.gauss()).exp()
            }
        };
        v.max(0.0).round() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_draws_and_means_hold() {
        let mut a = Rng::new(7, 1);
        let mut b = Rng::new(7, 1);
        for _ in 0..10 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let n = 20000;
        let mean: f64 = (0..n)
            .map(|_| a.sample(Dur::Exponential { mean: 1000 }) as f64)
            .sum::<f64>()
            / n as f64;
        assert!((mean - 1000.0).abs() < 40.0, "{mean}");
        let u = a.sample(Dur::Uniform { lo: 10, hi: 20 });
        assert!((10..=20).contains(&u));
    }
}
