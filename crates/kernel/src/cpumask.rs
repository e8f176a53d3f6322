//! `struct cpumask`: a set of CPU numbers.

#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct CpuMask {
    words: Vec<u64>,
}

impl CpuMask {
    pub fn empty(nr_cpus: usize) -> CpuMask {
        CpuMask {
            words: vec![0; nr_cpus.div_ceil(64).max(1)],
        }
    }

    pub fn full(nr_cpus: usize) -> CpuMask {
        let mut m = CpuMask::empty(nr_cpus);
        for c in 0..nr_cpus {
            m.set(c as u32);
        }
        m
    }

    pub fn from_list(nr_cpus: usize, cpus: &[u32]) -> CpuMask {
        let mut m = CpuMask::empty(nr_cpus);
        for &c in cpus {
            m.set(c);
        }
        m
    }

    pub fn set(&mut self, cpu: u32) {
        let w = (cpu / 64) as usize;
        if w >= self.words.len() {
            self.words.resize(w + 1, 0);
        }
        self.words[w] |= 1 << (cpu % 64);
    }

    pub fn test(&self, cpu: u32) -> bool {
        self.words
            .get((cpu / 64) as usize)
            .is_some_and(|w| w & (1 << (cpu % 64)) != 0)
    }

    pub fn weight(&self) -> u32 {
        self.words.iter().map(|w| w.count_ones()).sum()
    }

    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &w)| {
            (0..64u32)
                .filter(move |b| w & (1 << b) != 0)
                .map(move |b| i as u32 * 64 + b)
        })
    }

    pub fn first(&self) -> Option<u32> {
        self.iter().next()
    }

    /// `cpumask_and`.
    pub fn and(&self, other: &CpuMask) -> CpuMask {
        CpuMask {
            words: self
                .words
                .iter()
                .zip(other.words.iter().chain(std::iter::repeat(&0)))
                .map(|(a, b)| a & b)
                .collect(),
        }
    }
}
