use memmap_core::Error;

/// JavaScript hands over sizes as doubles: accept only what is exactly a non-negative integer
/// (`Number.isSafeInteger`), so NaN, fractions and values past 2^53 never become a size.
pub fn size(name: &str, value: f64) -> Result<u64, Error> {
    const MAX_SAFE: f64 = 9_007_199_254_740_991.0;
    if value.is_finite() && value >= 0.0 && value.fract() == 0.0 && value <= MAX_SAFE {
        Ok(value as u64)
    } else {
        Err(Error::invalid_arg(
            format!("{name} must be a non-negative safe integer, got {value}"),
            None,
        ))
    }
}

pub fn usize_of(name: &str, value: f64) -> Result<usize, Error> {
    let v = size(name, value)?;
    usize::try_from(v).map_err(|_| Error::invalid_arg(format!("{name} {v} is out of range"), None))
}
