//! AES key expansion (FIPS-197 §5.2) and the equivalent-inverse-cipher
//! decryption schedule (§5.3.5), in the byte layouts implementations keep
//! in memory.
//!
//! Hand-written on purpose: the well-kept AES crates (`aes`, RustCrypto)
//! keep their expanded schedule private and, with AES-NI or bitslicing, in
//! a form that is not the one other programs leave in memory. The detector
//! needs the plain FIPS schedule, the decryption schedule as OpenSSL and
//! AES-NI code build it, and a way back from a schedule to its key; that
//! is a few dozen lines, checked against the FIPS-197 vectors and against
//! OpenSSL's own `AES_KEY`.
//!
//! Layouts. A schedule is a sequence of 32-bit words `w[i]`, each four key
//! bytes. [`ByteLayout::Fips`] stores each word's bytes in FIPS order (the
//! first byte of the key is the first byte in memory): AES-NI code, the
//! x86-64 assembly of OpenSSL and most byte-oriented code. OpenSSL's
//! portable C code (`aes_core.c`) loads each word big-endian (`GETU32`)
//! into a native `u32`, so on a little-endian machine every word's four
//! bytes are reversed: [`ByteLayout::WordSwapped`].
//!
//! The decryption schedule is the one `AES_set_decrypt_key` and `aesimc`
//! based code build for the equivalent inverse cipher: the round keys in
//! reverse order, with InvMixColumns applied to all but the first and last.

use zeroize::Zeroizing;

/// How the four bytes of each schedule word lie in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ByteLayout {
    /// Bytes in FIPS-197 order.
    Fips,
    /// Each 32-bit word byte-reversed (a big-endian word load stored on a
    /// little-endian machine).
    WordSwapped,
}

/// Which of the two schedules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    Encryption,
    Decryption,
}

/// An expanded AES key: both schedules, in FIPS byte order. Zeroed on drop.
pub struct Schedule {
    nk: usize,
    enc: Zeroizing<Vec<[u8; 4]>>,
    dec: Zeroizing<Vec<[u8; 4]>>,
}

impl Schedule {
    /// Key length in 32-bit words (4, 6 or 8).
    pub fn key_words(&self) -> usize {
        self.nk
    }

    /// Number of rounds (10, 12 or 14).
    pub fn rounds(&self) -> usize {
        self.nk + 6
    }

    /// Words of each schedule: 4·(rounds + 1).
    pub fn words(&self) -> usize {
        self.enc.len()
    }

    /// The encryption round keys, FIPS byte order.
    pub fn encryption_words(&self) -> &[[u8; 4]] {
        &self.enc
    }

    /// The decryption round keys (equivalent inverse cipher), FIPS byte
    /// order.
    pub fn decryption_words(&self) -> &[[u8; 4]] {
        &self.dec
    }

    /// One schedule as it lies in memory in one layout.
    pub fn bytes(&self, direction: Direction, layout: ByteLayout) -> Zeroizing<Vec<u8>> {
        let words = match direction {
            Direction::Encryption => &self.enc,
            Direction::Decryption => &self.dec,
        };
        let mut out = Zeroizing::new(Vec::with_capacity(words.len() * 4));
        for w in words.iter() {
            match layout {
                ByteLayout::Fips => out.extend_from_slice(w),
                ByteLayout::WordSwapped => out.extend(w.iter().rev()),
            }
        }
        out
    }

    /// The encryption schedule in FIPS byte order (AES-NI, OpenSSL x86-64).
    pub fn encryption_bytes(&self) -> Zeroizing<Vec<u8>> {
        self.bytes(Direction::Encryption, ByteLayout::Fips)
    }

    /// The decryption schedule in FIPS byte order.
    pub fn decryption_bytes(&self) -> Zeroizing<Vec<u8>> {
        self.bytes(Direction::Decryption, ByteLayout::Fips)
    }

    /// The encryption schedule as OpenSSL's portable C code keeps it on a
    /// little-endian machine.
    pub fn encryption_bytes_wordswapped(&self) -> Zeroizing<Vec<u8>> {
        self.bytes(Direction::Encryption, ByteLayout::WordSwapped)
    }

    /// The decryption schedule as OpenSSL's portable C code keeps it on a
    /// little-endian machine.
    pub fn decryption_bytes_wordswapped(&self) -> Zeroizing<Vec<u8>> {
        self.bytes(Direction::Decryption, ByteLayout::WordSwapped)
    }
}

/// Expands a 16-, 24- or 32-byte key; `None` for any other length.
pub fn expand(key: &[u8]) -> Option<Schedule> {
    let nk = match key.len() {
        16 | 24 | 32 => key.len() / 4,
        _ => return None,
    };
    let nr = nk + 6;
    let total = 4 * (nr + 1);
    let mut enc: Zeroizing<Vec<[u8; 4]>> = Zeroizing::new(Vec::with_capacity(total));
    for c in key.chunks_exact(4) {
        enc.push([c[0], c[1], c[2], c[3]]);
    }
    let mut rcon = 1u8;
    for i in nk..total {
        let mut t = enc[i - 1];
        if i % nk == 0 {
            t = sub_word([t[1], t[2], t[3], t[0]]);
            t[0] ^= rcon;
            rcon = xtime(rcon);
        } else if nk == 8 && i % nk == 4 {
            t = sub_word(t);
        }
        let p = enc[i - nk];
        enc.push([t[0] ^ p[0], t[1] ^ p[1], t[2] ^ p[2], t[3] ^ p[3]]);
    }
    let mut dec: Zeroizing<Vec<[u8; 4]>> = Zeroizing::new(Vec::with_capacity(total));
    for r in 0..=nr {
        for k in 0..4 {
            let w = enc[4 * (nr - r) + k];
            dec.push(if r == 0 || r == nr {
                w
            } else {
                inv_mix_column(w)
            });
        }
    }
    Some(Schedule { nk, enc, dec })
}

/// The key whose encryption schedule starts with `words` (FIPS order): its
/// first `nk` words.
pub fn key_from_encryption(words: &[[u8; 4]], nk: usize) -> Option<Zeroizing<Vec<u8>>> {
    if !matches!(nk, 4 | 6 | 8) || words.len() < nk {
        return None;
    }
    Some(Zeroizing::new(
        words[..nk].iter().flatten().copied().collect(),
    ))
}

/// The key whose decryption schedule is `words` (FIPS order, the whole
/// schedule). The last round key of the decryption schedule is the first
/// four key words untouched; for 192- and 256-bit keys the rest of the key
/// is the start of the round key before it, with InvMixColumns undone.
pub fn key_from_decryption(words: &[[u8; 4]], nk: usize) -> Option<Zeroizing<Vec<u8>>> {
    if !matches!(nk, 4 | 6 | 8) || words.len() != 4 * (nk + 7) {
        return None;
    }
    let nr = nk + 6;
    let mut key = Zeroizing::new(Vec::with_capacity(4 * nk));
    for w in &words[4 * nr..] {
        key.extend_from_slice(w);
    }
    for w in &words[4 * (nr - 1)..4 * (nr - 1) + (nk - 4)] {
        key.extend_from_slice(&mix_column(*w));
    }
    Some(key)
}

/// Multiplication by x in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1.
const fn xtime(a: u8) -> u8 {
    (a << 1) ^ if a & 0x80 != 0 { 0x1b } else { 0 }
}

const fn gmul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            p ^= a;
        }
        a = xtime(a);
        b >>= 1;
    }
    p
}

/// The S-box computed from its definition (inverse in GF(2^8), then the
/// affine map) rather than typed in: nothing to mistype.
const SBOX: [u8; 256] = {
    let mut s = [0u8; 256];
    let mut x = 0usize;
    while x < 256 {
        // a^254 = a^-1 for a ≠ 0, and 0 for 0.
        let mut inv = 1u8;
        let mut i = 0;
        while i < 254 {
            inv = gmul(inv, x as u8);
            i += 1;
        }
        if x == 0 {
            inv = 0;
        }
        let b = inv;
        s[x] = b ^ b.rotate_left(1) ^ b.rotate_left(2) ^ b.rotate_left(3) ^ b.rotate_left(4) ^ 0x63;
        x += 1;
    }
    s
};

fn sub_word(w: [u8; 4]) -> [u8; 4] {
    w.map(|b| SBOX[b as usize])
}

fn mix_column(a: [u8; 4]) -> [u8; 4] {
    let m = |x: u8, y: u8, z: u8, t: u8| gmul(x, 2) ^ gmul(y, 3) ^ z ^ t;
    [
        m(a[0], a[1], a[2], a[3]),
        m(a[1], a[2], a[3], a[0]),
        m(a[2], a[3], a[0], a[1]),
        m(a[3], a[0], a[1], a[2]),
    ]
}

fn inv_mix_column(a: [u8; 4]) -> [u8; 4] {
    let m = |x: u8, y: u8, z: u8, t: u8| gmul(x, 14) ^ gmul(y, 11) ^ gmul(z, 13) ^ gmul(t, 9);
    [
        m(a[0], a[1], a[2], a[3]),
        m(a[1], a[2], a[3], a[0]),
        m(a[2], a[3], a[0], a[1]),
        m(a[3], a[0], a[1], a[2]),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(hex_words: &[&str]) -> Vec<[u8; 4]> {
        hex_words
            .iter()
            .map(|h| hex::decode(h).unwrap().try_into().unwrap())
            .collect()
    }

    #[test]
    fn sbox_matches_fips_197_figure_7() {
        assert_eq!(SBOX[0x00], 0x63);
        assert_eq!(SBOX[0x01], 0x7c);
        assert_eq!(SBOX[0x53], 0xed);
        assert_eq!(SBOX[0xff], 0x16);
        let mut seen = [false; 256];
        for &b in SBOX.iter() {
            seen[b as usize] = true;
        }
        assert!(seen.iter().all(|&s| s), "the S-box is a permutation");
    }

    #[test]
    fn mix_columns_round_trip_and_fips_example() {
        // FIPS-197 / the classic MixColumns test column db 13 53 45 -> 8e 4d a1 bc.
        assert_eq!(
            mix_column([0xdb, 0x13, 0x53, 0x45]),
            [0x8e, 0x4d, 0xa1, 0xbc]
        );
        for c in [
            [0u8, 1, 2, 3],
            [0xff, 0x80, 0x7f, 0x01],
            [0xdb, 0x13, 0x53, 0x45],
        ] {
            assert_eq!(inv_mix_column(mix_column(c)), c);
        }
    }

    /// FIPS-197 Appendix A: the key and the last round key of each size.
    #[test]
    fn expansion_matches_fips_197_appendix_a() {
        let cases = [
            (
                "2b7e151628aed2a6abf7158809cf4f3c",
                // A.1: w[4..8], then w[40..44].
                ["a0fafe17", "88542cb1", "23a33939", "2a6c7605"],
                ["d014f9a8", "c9ee2589", "e13f0cc8", "b6630ca6"],
            ),
            (
                "8e73b0f7da0e6452c810f32b809079e562f8ead2522c6b7b",
                // A.2: w[6..10], then w[48..52].
                ["fe0c91f7", "2402f5a5", "ec12068e", "6c827f6b"],
                ["e98ba06f", "448c773c", "8ecc7204", "01002202"],
            ),
            (
                "603deb1015ca71be2b73aef0857d7781\
                 1f352c073b6108d72d9810a30914dff4",
                // A.3: w[8..12], then w[56..60].
                ["9ba35411", "8e6925af", "a51a8b5f", "2067fcde"],
                ["fe4890d1", "e6188d0b", "046df344", "706c631e"],
            ),
        ];
        for (key_hex, first, last) in cases {
            let key = hex::decode(key_hex).unwrap();
            let s = expand(&key).unwrap();
            let nk = key.len() / 4;
            assert_eq!(s.key_words(), nk);
            assert_eq!(s.words(), 4 * (nk + 7));
            let enc = s.encryption_words();
            assert_eq!(&enc[nk..nk + 4], words(&first).as_slice(), "key {key_hex}");
            assert_eq!(
                &enc[enc.len() - 4..],
                words(&last).as_slice(),
                "key {key_hex}"
            );
            // The decryption schedule starts with the last round key and
            // ends with the key itself.
            let dec = s.decryption_words();
            assert_eq!(&dec[..4], words(&last).as_slice());
            assert_eq!(&dec[dec.len() - 4..], &enc[..4]);
            assert_eq!(
                key_from_encryption(enc, nk).unwrap().as_slice(),
                key.as_slice()
            );
            assert_eq!(
                key_from_decryption(dec, nk).unwrap().as_slice(),
                key.as_slice()
            );
        }
        assert!(expand(&[0u8; 20]).is_none());
    }

    #[test]
    fn layouts_differ_only_by_word_byte_order() {
        let s = expand(&hex::decode("2b7e151628aed2a6abf7158809cf4f3c").unwrap()).unwrap();
        let f = s.encryption_bytes();
        let w = s.encryption_bytes_wordswapped();
        assert_eq!(f.len(), 176);
        assert_eq!(&f[..4], &[0x2b, 0x7e, 0x15, 0x16]);
        assert_eq!(&w[..4], &[0x16, 0x15, 0x7e, 0x2b]);
        assert_eq!(s.decryption_bytes_wordswapped().len(), 176);
    }

    /// Reads OpenSSL's `AES_KEY` (rd_key: [u32; 60], rounds: i32) as the
    /// bytes it occupies in memory.
    pub(crate) fn openssl_schedule_bytes(key: &[u8], direction: Direction) -> (Vec<u8>, i32) {
        use openssl::aes::AesKey;
        let k = match direction {
            Direction::Encryption => AesKey::new_encrypt(key),
            Direction::Decryption => AesKey::new_decrypt(key),
        }
        .unwrap();
        assert_eq!(std::mem::size_of::<AesKey>(), 244);
        // SAFETY: AesKey is a transparent wrapper of OpenSSL's AES_KEY, a
        // plain C struct of 61 fully initialised 32-bit integers; reading
        // it as bytes for the lifetime of `k` is sound.
        let bytes = unsafe { std::slice::from_raw_parts(&k as *const AesKey as *const u8, 244) };
        let rounds = i32::from_ne_bytes(bytes[240..244].try_into().unwrap());
        (bytes[..240].to_vec(), rounds)
    }

    /// OpenSSL's real key schedules are one of our two layouts, in both
    /// directions and for every key size.
    #[test]
    fn expansion_matches_openssl_aes_key() {
        let mut layouts = Vec::new();
        for len in [16usize, 24, 32] {
            let key: Vec<u8> = (0..len as u8)
                .map(|i| i.wrapping_mul(37).wrapping_add(11))
                .collect();
            let s = expand(&key).unwrap();
            let n = s.words() * 4;
            for direction in [Direction::Encryption, Direction::Decryption] {
                let (ossl, rounds) = openssl_schedule_bytes(&key, direction);
                assert_eq!(rounds as usize, s.rounds());
                let layout = [ByteLayout::Fips, ByteLayout::WordSwapped]
                    .into_iter()
                    .find(|&l| s.bytes(direction, l).as_slice() == &ossl[..n])
                    .unwrap_or_else(|| {
                        panic!(
                            "OpenSSL {direction:?} schedule of a {len}-byte key matches no layout"
                        )
                    });
                layouts.push(layout);
            }
        }
        layouts.dedup();
        assert_eq!(layouts.len(), 1, "OpenSSL uses one layout on one machine");
        eprintln!("OpenSSL AES_KEY layout on this machine: {:?}", layouts[0]);
    }
}
