//! Counts and the adoption ratio, computed exactly.
//!
//! The ratio is adopted ÷ count, shown as a percentage with two decimals, rounded half up from
//! the exact fraction (integer arithmetic, no floating point on the way): 30/31 → 96.77%,
//! 85/116 → 73.28%, 9/22 → 40.91%, 124/169 → 73.37%. The NDC's 2017 document printed 73.3% and
//! 73.4% for the 3rd-level agencies and the total (the same ratios to one decimal); the tool
//! prints the two decimals the document uses for the other rows.
//! An empty group has no ratio: it is shown as "—", never NaN.

use serde::Serialize;
use std::fmt;
use std::ops::AddAssign;

/// The figures of one row of the NDC table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Sites (數量).
    pub count: u64,
    /// Sites with HTTPS adopted (已導入HTTPS).
    pub adopted: u64,
    /// Sites with HTTPS forced (強制導入).
    pub forced: u64,
}

impl Counts {
    /// Count one site.
    pub fn add_site(&mut self, adopted: bool, forced: bool) {
        self.count += 1;
        self.adopted += u64::from(adopted);
        self.forced += u64::from(forced);
    }

    /// adopted ÷ count (導入比率).
    pub fn ratio(&self) -> Ratio {
        Ratio::new(self.adopted, self.count)
    }

    /// forced ÷ count.
    pub fn forced_ratio(&self) -> Ratio {
        Ratio::new(self.forced, self.count)
    }
}

impl AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.count += o.count;
        self.adopted += o.adopted;
        self.forced += o.forced;
    }
}

/// An exact fraction, shown as a percentage with two decimals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ratio {
    pub num: u64,
    pub den: u64,
}

impl Ratio {
    pub fn new(num: u64, den: u64) -> Self {
        Ratio { num, den }
    }

    /// The percentage in hundredths of a percent (basis points), rounded half up;
    /// `None` for an empty group.
    pub fn basis_points(&self) -> Option<u64> {
        if self.den == 0 {
            return None;
        }
        let (n, d) = (u128::from(self.num), u128::from(self.den));
        // round(n * 10000 / d), half up, exactly.
        let bp = (n * 20_000 + d) / (2 * d);
        Some(u64::try_from(bp).unwrap_or(u64::MAX))
    }

    /// The percentage as a number with two decimals (`96.77`), for machines.
    pub fn percent(&self) -> Option<f64> {
        // bp / 100 is the closest f64 to the two-decimal value, and prints as such.
        self.basis_points().map(|bp| bp as f64 / 100.0)
    }

    /// The percentage without the sign (`96.77`), or `—` for an empty group.
    pub fn number_text(&self) -> String {
        match self.basis_points() {
            Some(bp) => format!("{}.{:02}", bp / 100, bp % 100),
            None => "—".to_owned(),
        }
    }
}

impl fmt::Display for Ratio {
    /// `96.77%`, or `—` for an empty group.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.basis_points() {
            Some(bp) => write!(f, "{}.{:02}%", bp / 100, bp % 100),
            None => f.write_str("—"),
        }
    }
}

impl Serialize for Ratio {
    /// As the percentage number (`96.77`), or `null` for an empty group.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.percent().serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documents_ratios_to_two_decimals() {
        assert_eq!(Ratio::new(30, 31).to_string(), "96.77%");
        assert_eq!(Ratio::new(85, 116).to_string(), "73.28%");
        assert_eq!(Ratio::new(9, 22).to_string(), "40.91%");
        assert_eq!(Ratio::new(124, 169).to_string(), "73.37%");
    }

    #[test]
    fn rounding_is_half_up_on_the_exact_fraction() {
        // 1/8 = 12.5% exactly; 1/16 = 6.25%; 1/32 = 3.125% → 3.13%; 1/64 = 1.5625% → 1.56%.
        assert_eq!(Ratio::new(1, 8).to_string(), "12.50%");
        assert_eq!(Ratio::new(1, 32).to_string(), "3.13%");
        assert_eq!(Ratio::new(1, 64).to_string(), "1.56%");
        assert_eq!(Ratio::new(1, 200_000).to_string(), "0.00%"); // 0.0005% rounds down
        assert_eq!(Ratio::new(1, 20_000).to_string(), "0.01%"); // 0.005% rounds up
        assert_eq!(Ratio::new(2, 3).to_string(), "66.67%");
        assert_eq!(Ratio::new(7, 7).to_string(), "100.00%");
        assert_eq!(Ratio::new(0, 5).to_string(), "0.00%");
    }

    #[test]
    fn an_empty_group_has_no_ratio() {
        let r = Ratio::new(0, 0);
        assert_eq!(r.to_string(), "—");
        assert_eq!(r.percent(), None);
        assert_eq!(serde_json::to_string(&r).unwrap(), "null");
    }

    #[test]
    fn machines_get_the_rounded_number() {
        assert_eq!(serde_json::to_string(&Ratio::new(30, 31)).unwrap(), "96.77");
        assert_eq!(
            serde_json::to_string(&Ratio::new(124, 169)).unwrap(),
            "73.37"
        );
        assert_eq!(serde_json::to_string(&Ratio::new(1, 1)).unwrap(), "100.0");
    }
}
