//! Elliptic-curve validation: a scalar is a key on a curve when it is in
//! range, and it is *that* key when d·G equals the public point stored
//! beside it.

use elliptic_curve::sec1::ToSec1Point;
use elliptic_curve::SecretKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Curve {
    P256,
    P384,
    P521,
    Secp256k1,
}

impl Curve {
    pub fn name(self) -> &'static str {
        match self {
            Curve::P256 => "p256",
            Curve::P384 => "p384",
            Curve::P521 => "p521",
            Curve::Secp256k1 => "secp256k1",
        }
    }

    /// Length of a scalar or coordinate in bytes.
    pub fn field_len(self) -> usize {
        match self {
            Curve::P256 | Curve::Secp256k1 => 32,
            Curve::P384 => 48,
            Curve::P521 => 66,
        }
    }

    /// The curve named by a DER object identifier (as in SEC1 / PKCS#8).
    pub fn from_oid(oid: &str) -> Option<Curve> {
        match oid {
            "1.2.840.10045.3.1.7" => Some(Curve::P256),
            "1.3.132.0.34" => Some(Curve::P384),
            "1.3.132.0.35" => Some(Curve::P521),
            "1.3.132.0.10" => Some(Curve::Secp256k1),
            _ => None,
        }
    }

    /// The public point d·G (SEC1 uncompressed), or `None` if `d` is not a
    /// valid scalar (zero or not below the group order).
    pub fn public_point(self, d: &[u8]) -> Option<Vec<u8>> {
        fn point<C>(d: &[u8]) -> Option<Vec<u8>>
        where
            C: elliptic_curve::CurveArithmetic,
            elliptic_curve::AffinePoint<C>: elliptic_curve::sec1::FromSec1Point<C> + ToSec1Point<C>,
            elliptic_curve::FieldBytesSize<C>: elliptic_curve::sec1::ModulusSize,
        {
            let sk = SecretKey::<C>::from_slice(d).ok()?;
            Some(sk.public_key().to_sec1_point(false).as_bytes().to_vec())
        }
        match self {
            Curve::P256 => point::<p256::NistP256>(d),
            Curve::P384 => point::<p384::NistP384>(d),
            Curve::P521 => point::<p521::NistP521>(d),
            Curve::Secp256k1 => point::<k256::Secp256k1>(d),
        }
    }

    /// Validates `d` against an optional stored public point (SEC1,
    /// compressed or not; or the bare X‖Y coordinates as CNG stores them).
    /// Returns the uncompressed public point when `d` is a valid scalar and
    /// agrees with `public` if one was given.
    pub fn validate(self, d: &[u8], public: Option<&[u8]>) -> Option<Vec<u8>> {
        let derived = self.public_point(d)?;
        match public {
            None => Some(derived),
            Some(q) => {
                let xy = &derived[1..];
                let x = &xy[..self.field_len()];
                let matches = q == derived.as_slice()
                    || q == xy
                    || (q.len() == 1 + self.field_len()
                        && matches!(q[0], 2 | 3)
                        && &q[1..] == x
                        && (q[0] & 1) == (xy[xy.len() - 1] & 1));
                matches.then_some(derived)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalar_one_gives_the_generator_and_bad_scalars_fail() {
        let mut one = vec![0u8; 32];
        one[31] = 1;
        let g = Curve::P256.public_point(&one).unwrap();
        // The P-256 generator's x coordinate starts 6b17d1f2.
        assert_eq!(&g[..5], &[4, 0x6b, 0x17, 0xd1, 0xf2]);
        assert!(Curve::P256.validate(&one, Some(&g)).is_some());
        assert!(Curve::P256.validate(&one, Some(&g[1..])).is_some());
        let mut two = one.clone();
        two[31] = 2;
        assert!(Curve::P256.validate(&two, Some(&g)).is_none());
        assert!(Curve::P256.public_point(&[0u8; 32]).is_none());
        assert!(Curve::P256.public_point(&[0xffu8; 32]).is_none());
    }
}
