//! Points of an accountability score (docs/architecture.md, "Accountability
//! and points"), kept in hundredths so sums are exact. A leaf: the
//! configuration, the accountability rules and the commands read points
//! through it, and it reads none of them.

/// An amount of points, in hundredths of a point.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Points(pub i32);

impl Points {
    /// Points as written (`2`, `1.5`, `0.25`), if `p` is a finite number
    /// from 0 to 100 with at most two decimals.
    pub fn parse(p: f64) -> Option<Self> {
        if !p.is_finite() || !(0.0..=100.0).contains(&p) {
            return None;
        }
        let c = (p * 100.0).round();
        ((p * 100.0 - c).abs() < 1e-6).then_some(Self(c as i32))
    }

    /// The amount in hundredths of a point.
    pub fn centi(self) -> i32 {
        self.0
    }

    /// The amount in points.
    pub fn points(self) -> f64 {
        points(i64::from(self.0))
    }
}

/// Points → hundredths of a point, if `p` is a finite number from 0 to 100
/// with at most two decimals.
pub fn centipoints(p: f64) -> Option<i32> {
    Points::parse(p).map(Points::centi)
}

/// Hundredths of a point → points.
pub fn points(centi: i64) -> f64 {
    centi as f64 / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_have_at_most_two_decimals_and_stay_in_range() {
        assert_eq!(centipoints(1.0), Some(100));
        assert_eq!(centipoints(0.5), Some(50));
        assert_eq!(centipoints(2.25), Some(225));
        assert_eq!(centipoints(0.1 + 0.2), Some(30));
        assert_eq!(centipoints(100.0), Some(10_000));
        assert_eq!(centipoints(0.125), None);
        assert_eq!(centipoints(-1.0), None);
        assert_eq!(centipoints(100.01), None);
        assert_eq!(centipoints(f64::NAN), None);
        assert_eq!(centipoints(f64::INFINITY), None);
    }

    #[test]
    fn points_read_back_as_written() {
        assert_eq!(Points::parse(1.5), Some(Points(150)));
        assert_eq!(Points(225).points(), 2.25);
        assert_eq!(points(-100), -1.0);
    }
}
