//! d·G for thousands of candidate scalars d.
//!
//! Testing an EC candidate means computing d·G and comparing it with the
//! public point. The curve crates' own scalar multiplication takes about
//! 0.6–0.9 ms for P-256 here (no precomputed base-point tables in the
//! feature set this crate builds with), which would make a ±16 KiB window
//! cost seconds. A fixed-base comb with 8-bit digits needs one point
//! addition per non-zero byte of d (32 for P-256) after a one-off table of
//! 255 multiples per byte position: about 12× faster per candidate. The
//! comb is only a filter: a scalar it accepts is validated again with
//! [`Curve::validate`](crate::keys::Curve::validate) before it is reported.

use std::sync::Arc;

use elliptic_curve::group::Group;
use elliptic_curve::{CurveArithmetic, ProjectivePoint};

/// Multiples `b · 256^i · G` for every byte position `i` and byte `b`.
pub(crate) struct Table<C: CurveArithmetic> {
    points: Vec<ProjectivePoint<C>>,
}

impl<C: CurveArithmetic> Table<C> {
    pub(crate) fn new(digits: usize) -> Self {
        let mut points = Vec::with_capacity(digits * 255);
        let mut base = ProjectivePoint::<C>::generator();
        for _ in 0..digits {
            let mut acc = base;
            for _ in 1..=255 {
                points.push(acc);
                acc += base;
            }
            // After 255 additions `acc` is 256 · base: the next position's base.
            base = acc;
        }
        Table { points }
    }

    /// d·G for `d` given as little-endian bytes (digits). Digits beyond
    /// the table's length must not be passed.
    fn mul(&self, digits: impl Iterator<Item = u8>) -> ProjectivePoint<C> {
        let mut acc = ProjectivePoint::<C>::identity();
        for (i, d) in digits.enumerate() {
            if d != 0 {
                acc += &self.points[i * 255 + d as usize - 1];
            }
        }
        acc
    }
}

/// One public point and the table of its curve.
pub(crate) struct Checker<C: CurveArithmetic> {
    table: Arc<Table<C>>,
    target: ProjectivePoint<C>,
}

impl<C> Checker<C>
where
    C: CurveArithmetic,
    elliptic_curve::AffinePoint<C>:
        elliptic_curve::sec1::FromSec1Point<C> + elliptic_curve::sec1::ToSec1Point<C>,
    elliptic_curve::FieldBytesSize<C>: elliptic_curve::sec1::ModulusSize,
{
    pub(crate) fn new(table: Arc<Table<C>>, sec1: &[u8]) -> Option<Self> {
        let target = elliptic_curve::PublicKey::<C>::from_sec1_bytes(sec1)
            .ok()?
            .to_projective();
        Some(Checker { table, target })
    }

    /// Whether the scalar stored in `bytes` (little- or big-endian, exactly
    /// as many bytes as the table has digits) gives the target point.
    pub(crate) fn matches(&self, bytes: &[u8], little_endian: bool) -> bool {
        let p = if little_endian {
            self.table.mul(bytes.iter().copied())
        } else {
            self.table.mul(bytes.iter().rev().copied())
        };
        p == self.target
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Curve;

    #[test]
    fn comb_agrees_with_the_curve_crate() {
        let table = Arc::new(Table::<p256::NistP256>::new(32));
        let mut d = [0u8; 32];
        for (i, b) in d.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37).wrapping_add(11);
        }
        let public = Curve::P256.public_point(&d).unwrap();
        let checker = Checker::new(table, &public).unwrap();
        assert!(checker.matches(&d, false));
        let mut le = d;
        le.reverse();
        assert!(checker.matches(&le, true));
        assert!(!checker.matches(&d, true));
        d[5] ^= 1;
        assert!(!checker.matches(&d, false));
    }
}
