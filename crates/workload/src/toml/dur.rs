//! Durations: `2ms`, `500us`, `1.5s`, `100ns`, and distributions of them:
//! `uniform(1ms, 3ms)`, `exp(2ms)`, `normal(5ms, 1ms)`, `lognormal(5ms, 1ms)`.
//!
//! A bare number is refused: whether `10` meant ms or us is exactly the ambiguity that
//! makes a scheduling experiment silently wrong by a factor of 1000.

use crate::model::{Dur, Nanos};

use super::hint::did_you_mean;

pub(crate) const UNITS_HINT: &str =
    "accepted units: ns, us (or µs), ms, s — e.g. \"2ms\", \"1.5s\"";

const UNITS: &[(&str, u64)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
];

const DISTRIBUTIONS: &[&str] = &["fixed", "uniform", "exp", "normal", "lognormal"];

/// A duration error at byte `off` of the parsed text.
#[derive(Debug)]
pub(crate) struct DurErr {
    pub off: usize,
    pub msg: String,
    pub hint: String,
}

fn fail(off: usize, msg: impl Into<String>, hint: impl Into<String>) -> DurErr {
    DurErr {
        off,
        msg: msg.into(),
        hint: hint.into(),
    }
}

/// A fixed duration: no distribution allowed (periods, delays, slices).
pub(crate) fn parse_nanos(s: &str) -> Result<Nanos, DurErr> {
    if let Some(p) = s.find('(') {
        return Err(fail(
            s[..p].len() - s[..p].trim_start().len(),
            format!(
                "`{}` must be a fixed duration, not a distribution",
                s.trim()
            ),
            "only run, runwall and sleep take random durations",
        ));
    }
    plain(s, 0)
}

/// A duration or a distribution of durations, outside a workload file (a machine's path
/// costs): the message and its hint in one line.
pub fn parse_distribution(s: &str) -> Result<Dur, String> {
    parse_dur(s).map_err(|e| format!("{} ({})", e.msg, e.hint))
}

/// A duration or a distribution of durations.
pub(crate) fn parse_dur(s: &str) -> Result<Dur, DurErr> {
    let Some(open) = s.find('(') else {
        return plain(s, 0).map(Dur::Fixed);
    };
    let name = s[..open].trim();
    let name_off = s.len() - s.trim_start().len();
    let close = s
        .rfind(')')
        .filter(|&c| c > open && s[c + 1..].trim().is_empty());
    let Some(close) = close else {
        return Err(fail(
            open,
            format!("`{}`: missing closing `)`", s.trim()),
            "write e.g. uniform(1ms, 3ms)",
        ));
    };
    // Split the arguments, remembering where each starts for error columns.
    let mut args = Vec::new();
    let mut start = open + 1;
    for part in s[open + 1..close].split(',') {
        args.push((start, part));
        start += part.len() + 1;
    }
    let arity = |n: usize, usage: &str| -> Result<Vec<Nanos>, DurErr> {
        if args.len() != n {
            return Err(fail(
                open,
                format!("`{name}` takes {n} duration(s), found {}", args.len()),
                format!("write {usage}"),
            ));
        }
        args.iter().map(|&(off, a)| plain(a, off)).collect()
    };
    match name {
        "fixed" => Ok(Dur::Fixed(arity(1, "fixed(2ms)")?[0])),
        "uniform" => {
            let v = arity(2, "uniform(1ms, 3ms)")?;
            if v[0] > v[1] {
                return Err(fail(
                    open,
                    "uniform(lo, hi) needs lo <= hi",
                    "write the smaller duration first",
                ));
            }
            Ok(Dur::Uniform { lo: v[0], hi: v[1] })
        }
        "exp" | "exponential" => {
            let v = arity(1, "exp(2ms)")?;
            if v[0] == 0 {
                return Err(fail(
                    open,
                    "exp(mean) needs a mean above 0",
                    "e.g. exp(2ms)",
                ));
            }
            Ok(Dur::Exponential { mean: v[0] })
        }
        "normal" => {
            let v = arity(2, "normal(5ms, 1ms) (mean, standard deviation)")?;
            Ok(Dur::Normal {
                mean: v[0],
                stddev: v[1],
            })
        }
        "lognormal" => {
            let v = arity(2, "lognormal(5ms, 1ms) (mean, standard deviation)")?;
            Ok(Dur::LogNormal {
                mean: v[0],
                stddev: v[1],
            })
        }
        _ => {
            let hint = match did_you_mean(name, DISTRIBUTIONS) {
                Some(d) => format!("did you mean `{d}`?"),
                None => format!("distributions: {}", DISTRIBUTIONS.join(", ")),
            };
            Err(fail(
                name_off,
                format!("unknown distribution `{name}`"),
                hint,
            ))
        }
    }
}

/// `<number><unit>`, number possibly decimal; `base` is where `s` starts, for error offsets.
fn plain(s: &str, base: usize) -> Result<Nanos, DurErr> {
    let lead = s.len() - s.trim_start().len();
    let t = s.trim();
    let at = base + lead;
    if t.is_empty() {
        return Err(fail(at, "missing duration", UNITS_HINT));
    }
    if t.starts_with('-') {
        return Err(fail(
            at,
            format!("`{t}`: durations cannot be negative"),
            UNITS_HINT,
        ));
    }
    let num_len = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = (&t[..num_len], t[num_len..].trim_start());
    if num.is_empty()
        || !num.starts_with(|c: char| c.is_ascii_digit())
        || num.matches('.').count() > 1
    {
        return Err(fail(at, format!("`{t}` is not a duration"), UNITS_HINT));
    }
    if unit.is_empty() {
        return Err(fail(
            at,
            format!("`{t}` has no unit"),
            format!("write e.g. \"{num}ms\" or \"{num}us\"; {UNITS_HINT}"),
        ));
    }
    let Some(&(_, scale)) = UNITS.iter().find(|(u, _)| *u == unit) else {
        return Err(fail(
            at + num_len,
            format!("unknown unit `{unit}` in `{t}`"),
            UNITS_HINT,
        ));
    };
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    // Exact decimal arithmetic: 1.5s is 1_500_000_000ns, no float rounding.
    let too_big = || {
        fail(
            at,
            format!("`{t}` is too large"),
            "durations must fit in 64-bit nanoseconds (about 584 years)",
        )
    };
    let mut total: u128 = int
        .parse::<u128>()
        .ok()
        .and_then(|i| i.checked_mul(u128::from(scale)))
        .ok_or_else(too_big)?;
    let mut unit_scale = u128::from(scale);
    for d in frac.chars() {
        let digit = u128::from(d.to_digit(10).unwrap_or(0));
        if unit_scale % 10 != 0 {
            if digit != 0 {
                return Err(fail(
                    at,
                    format!("`{t}` is not a whole number of nanoseconds"),
                    "the resolution is 1ns",
                ));
            }
            continue;
        }
        unit_scale /= 10;
        total += digit * unit_scale;
    }
    u64::try_from(total).map_err(|_| too_big())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_nanos("2ms").unwrap(), 2_000_000);
        assert_eq!(parse_nanos("500us").unwrap(), 500_000);
        assert_eq!(parse_nanos("500µs").unwrap(), 500_000);
        assert_eq!(parse_nanos("1.5s").unwrap(), 1_500_000_000);
        assert_eq!(parse_nanos(" 100 ns ").unwrap(), 100);
        assert_eq!(parse_nanos("0.000000001s").unwrap(), 1);
        assert_eq!(
            parse_nanos("2.50ns").unwrap_err().msg,
            "`2.50ns` is not a whole number of nanoseconds"
        );
        assert_eq!(parse_nanos("2.0ns").unwrap(), 2);
        assert!(parse_nanos("10").unwrap_err().msg.contains("no unit"));
        assert!(parse_nanos("-1ms").unwrap_err().msg.contains("negative"));
        assert!(parse_nanos("1.2.3ms").is_err());
        assert!(parse_nanos("99999999999999999999999s").is_err());
        assert!(parse_nanos("1ks").unwrap_err().msg.contains("unknown unit"));
    }

    #[test]
    fn distributions() {
        assert_eq!(
            parse_dur("uniform(1ms, 3ms)").unwrap(),
            Dur::Uniform {
                lo: 1_000_000,
                hi: 3_000_000
            }
        );
        assert_eq!(
            parse_dur("exp(2ms)").unwrap(),
            Dur::Exponential { mean: 2_000_000 }
        );
        assert_eq!(
            parse_dur("normal(5ms,1ms)").unwrap(),
            Dur::Normal {
                mean: 5_000_000,
                stddev: 1_000_000
            }
        );
        assert_eq!(
            parse_dur("lognormal (5ms, 1ms)").unwrap(),
            Dur::LogNormal {
                mean: 5_000_000,
                stddev: 1_000_000
            }
        );
        let e = parse_dur("unifrom(1ms, 2ms)").unwrap_err();
        assert_eq!((e.off, e.hint.as_str()), (0, "did you mean `uniform`?"));
        let e = parse_dur("uniform(1ms, 2)").unwrap_err();
        assert_eq!(e.off, 13);
        assert!(parse_dur("uniform(3ms, 1ms)").is_err());
        assert!(parse_dur("exp(1ms").is_err());
        assert!(parse_nanos("exp(1ms)").is_err());
    }
}
