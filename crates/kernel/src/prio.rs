//! Priorities and load weights (kernel/sched/core.c `sched_prio_to_weight`,
//! `sched_prio_to_wmult`, `set_load_weight`; include/linux/sched/prio.h).

pub const MAX_RT_PRIO: i32 = 100;
pub const MAX_PRIO: i32 = 140;
pub const DEFAULT_PRIO: i32 = 120;

/// `NICE_TO_PRIO`.
pub fn nice_to_prio(nice: i32) -> i32 {
    nice + DEFAULT_PRIO
}

/// `PRIO_TO_NICE`.
pub fn prio_to_nice(prio: i32) -> i32 {
    prio - DEFAULT_PRIO
}

/// Weight of each nice level, index nice+20 (`sched_prio_to_weight`).
pub const PRIO_TO_WEIGHT: [u64; 40] = [
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904,
    3906, 3121, 2501, 1991, 1586, 1277, 1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87,
    70, 56, 45, 36, 29, 23, 18, 15,
];

/// 2^32 / weight (`sched_prio_to_wmult`).
pub const PRIO_TO_WMULT: [u32; 40] = [
    48388, 59856, 76040, 92818, 118348, 147320, 184698, 229616, 287308, 360437, 449829, 563644,
    704093, 875809, 1099582, 1376151, 1717300, 2157191, 2708050, 3363326, 4194304, 5237765,
    6557202, 8165337, 10153587, 12820798, 15790321, 19976592, 24970740, 31350126, 39045157,
    49367440, 61356676, 76695844, 95443717, 119304647, 148102320, 186737708, 238609294, 286331153,
];

/// SCHED_IDLE tasks: `WEIGHT_IDLEPRIO` and `WMULT_IDLEPRIO`.
pub const WEIGHT_IDLEPRIO: u64 = 3;
pub const WMULT_IDLEPRIO: u32 = 1431655765;

/// 64-bit kernels keep weights with 10 extra bits of resolution (`SCHED_FIXEDPOINT_SHIFT`).
pub const SCHED_FIXEDPOINT_SHIFT: u32 = 10;
pub const NICE_0_LOAD: u64 = 1 << 20;

pub fn scale_load(w: u64) -> u64 {
    w << SCHED_FIXEDPOINT_SHIFT
}

/// `scale_load_down`: never rounds a non-zero weight below 2.
pub fn scale_load_down(w: u64) -> u64 {
    if w == 0 {
        0
    } else {
        (w >> SCHED_FIXEDPOINT_SHIFT).max(2)
    }
}

/// `struct load_weight`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LoadWeight {
    pub weight: u64,
    pub inv_weight: u32,
}

impl LoadWeight {
    /// `update_load_set`: a weight whose inverse is computed when first needed.
    pub fn from_weight(weight: u64) -> LoadWeight {
        LoadWeight {
            weight,
            inv_weight: 0,
        }
    }

    /// `set_load_weight` for a fair task of this nice value (or SCHED_IDLE).
    pub fn for_task(nice: i32, idle_policy: bool) -> LoadWeight {
        if idle_policy {
            return LoadWeight {
                weight: scale_load(WEIGHT_IDLEPRIO),
                inv_weight: WMULT_IDLEPRIO,
            };
        }
        let idx = (nice + 20).clamp(0, 39) as usize;
        LoadWeight {
            weight: scale_load(PRIO_TO_WEIGHT[idx]),
            inv_weight: PRIO_TO_WMULT[idx],
        }
    }
}

const WMULT_CONST: u64 = !0u32 as u64;
const WMULT_SHIFT: u32 = 32;

/// `__calc_delta(delta_exec, weight, lw)` = delta_exec * weight / lw.weight, computed with the
/// kernel's 32-bit inverse weight and shift normalisation so the rounding is identical.
pub fn calc_delta(delta_exec: u64, weight: u64, lw: &LoadWeight) -> u64 {
    let mut fact = scale_load_down(weight);
    let mut shift = WMULT_SHIFT as i32;
    let inv = if lw.inv_weight != 0 {
        lw.inv_weight as u64
    } else {
        // __update_inv_weight: weight 0 divides to the largest inverse.
        let w = scale_load_down(lw.weight);
        if w >= WMULT_CONST {
            1
        } else {
            WMULT_CONST.checked_div(w).unwrap_or(WMULT_CONST)
        }
    };
    // __update_inv_weight + mul_u32_u32 / fls normalisation.
    let mut fhi = fact >> 32;
    if fhi != 0 {
        let fs = 64 - fhi.leading_zeros() as i32;
        shift -= fs;
        fact >>= fs;
    }
    fact = (fact & 0xffff_ffff) * inv;
    fhi = fact >> 32;
    if fhi != 0 {
        let fs = 64 - fhi.leading_zeros() as i32;
        shift -= fs;
        fact >>= fs;
    }
    // mul_u64_u32_shr(delta_exec, fact, shift)
    ((delta_exec as u128 * fact as u128) >> shift) as u64
}

/// `calc_delta_fair`: wall-clock delta to virtual time for this entity's weight.
pub fn calc_delta_fair(delta: u64, lw: &LoadWeight) -> u64 {
    if lw.weight != NICE_0_LOAD {
        calc_delta(delta, NICE_0_LOAD, lw)
    } else {
        delta
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice0_is_identity() {
        let lw = LoadWeight::for_task(0, false);
        assert_eq!(calc_delta_fair(1_400_000, &lw), 1_400_000);
    }

    #[test]
    fn nice5_matches_kernel_arithmetic() {
        // 1024 * 12820798 = 13128497152 -> fls(3)=2 bits over 32: fact >>= 2, shift 30.
        let lw = LoadWeight::for_task(5, false);
        let fact: u64 = (1024u64 * 12820798) >> 2;
        assert_eq!(fact, 3282124288);
        assert_eq!(
            calc_delta_fair(1_400_000, &lw),
            ((1_400_000u128 * fact as u128) >> 30) as u64
        );
        assert_eq!(calc_delta_fair(1_400_000, &lw), 4_279_403);
    }

    #[test]
    fn negative_nice_shrinks_virtual_time() {
        let lw = LoadWeight::for_task(-5, false);
        // 1024/3121 of a ms.
        let v = calc_delta_fair(1_000_000, &lw);
        assert!((328_090..=328_100).contains(&v), "{v}");
    }
}
