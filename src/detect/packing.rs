//! Which literals share a packed (Teddy) searcher, and in which order they
//! are given to it.
//!
//! A Fat Teddy searcher looks at the first (up to) four bytes of every
//! position and keeps 16 buckets: a position is a candidate for a bucket
//! when each of those bytes' low and high nibbles is among the nibbles
//! that the bucket's literals have there. Candidates are then verified one
//! literal at a time. So what a searcher costs beyond its vector pass is
//! its buckets' false candidates, and they depend on which literals share
//! a bucket: `ghp_`, `gho_` and `ghs_` together admit little more than
//! each alone; `ghp_`, `AKIA` and `://` together admit every mix of them.
//!
//! aho-corasick assigns a literal with new low nibbles to bucket
//! `15 - id % 16` (and one with low nibbles already seen to that one's
//! bucket), so the order of the literals chooses their buckets. Literals
//! are clustered into 16 buckets per searcher (greedily, merging the pair
//! that adds the fewest expected false candidates under a byte model of
//! half binary, half printable text), and each cluster's members are
//! placed in the same column of rows of 16. Short clusters repeat their
//! first member, which lands in the same bucket and never matches before
//! it.
//!
//! Measured on the 1.5 GiB benchmark dump and a 1.4 GB core of a Python
//! process (the 185 built-in literals, one thread, best of 3): length order
//! in three searchers of 64 took 0.94 and 0.74 s; two clustered searchers
//! 0.52 and 0.44 s. Clustering by byte frequencies measured on the
//! generated dump did no better there (0.64-0.75 s) and far worse on the
//! core (1.49-2.03 s).
//!
//! At one position every matching literal shares the searcher's first
//! (up to) four bytes, so they share low nibbles and a bucket, where they
//! keep their given order: the first reported is still the longest.

/// Fat Teddy's buckets.
const BUCKETS: usize = 16;

/// Literals per bucket at most: rows of 16 make at most the 128 patterns
/// a packed searcher takes.
const CAP: usize = 8;

/// Literals per searcher aimed for (of at most 128): 96 leaves the
/// clustering room to keep unlike literals apart.
const TARGET: usize = 96;

/// Searchers of at most this many literals are Slim Teddy (8 buckets),
/// which assigns its own buckets.
const SLIM: usize = 32;

/// Plain searchers (no clustering): Teddy refuses more than 64.
const PLAIN: usize = 64;

/// A searcher's literals: indexes into the needles, in the order to add
/// them (an index may repeat), and whether the searcher needs Teddy's
/// pattern-count limit lifted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pack {
    pub order: Vec<u32>,
    pub over_limit: bool,
}

/// Packs `needles` (nonempty, distinct, longest first: index order is
/// priority) into searchers. Text needles (printable ASCII) come first, so
/// that the first searcher holds only the longest of them: a searcher of
/// text needles is run only where text is (see
/// [`super::literals::LiteralSet::search_chunk`]), and the few binary
/// needles (DER's) would make it run everywhere.
pub fn pack(needles: &[Vec<u8>]) -> Vec<Pack> {
    let (mut all, binary): (Vec<u32>, Vec<u32>) =
        (0..needles.len() as u32).partition(|&i| super::literals::is_text(&needles[i as usize]));
    all.extend(binary);
    // Literals of one or two bytes make a searcher's masks short; they are
    // last (longest first), and stay with Teddy's own heuristics. Literals
    // that can match at one position are all text or all not, so each
    // keeps its order among them.
    all.sort_by_key(|&i| std::cmp::Reverse(needles[i as usize].len().min(3)));
    let long = needles.iter().filter(|n| n.len() >= 3).count();
    if !fat_teddy() || long <= PLAIN {
        return plain(&all);
    }
    let (clustered, short) = all.split_at(long);
    let groups = long.div_ceil(TARGET);
    let size = long.div_ceil(groups);
    let mut packs = Vec::new();
    for group in clustered.chunks(size) {
        match cluster(needles, group) {
            Some(order) => packs.push(Pack {
                order,
                over_limit: true,
            }),
            None => return plain(&all),
        }
    }
    packs.extend(plain(short));
    packs
}

/// Searchers of [`PLAIN`] literals in index order.
fn plain(ids: &[u32]) -> Vec<Pack> {
    ids.chunks(PLAIN)
        .map(|c| Pack {
            order: c.to_vec(),
            over_limit: false,
        })
        .collect()
}

/// Whether aho-corasick can run Fat Teddy here (it needs AVX2): the
/// bucket layout is for its 16 buckets.
pub(super) fn fat_teddy() -> bool {
    super::has_avx2()
}

/// The low and high nibbles a bucket admits at each of the mask's bytes.
#[derive(Debug, Clone, Copy, Default)]
struct Masks([(u16, u16); 4]);

impl Masks {
    fn of(needle: &[u8], mask_len: usize) -> Masks {
        let mut m = Masks::default();
        for (i, &b) in needle[..mask_len].iter().enumerate() {
            m.0[i] = (1 << (b & 15), 1 << (b >> 4));
        }
        m
    }

    fn union(self, other: Masks) -> Masks {
        let mut m = self;
        for (a, b) in m.0.iter_mut().zip(other.0) {
            *a = (a.0 | b.0, a.1 | b.1);
        }
        m
    }

    /// Expected false candidates per position under the byte model (half
    /// uniform, half printable ASCII: dumps are mostly binary and text,
    /// and a model measured on one dump fits another badly), taking the
    /// bytes as independent.
    fn rate(&self, mask_len: usize) -> f64 {
        self.0[..mask_len]
            .iter()
            .map(|&(lo, hi)| {
                let bytes = lo.count_ones() * hi.count_ones();
                // Printable: high nibbles 2 to 7, less 0x7f.
                let printable = lo.count_ones() * (hi & 0xfc).count_ones()
                    - u32::from(lo >> 15 & hi >> 7 & 1 == 1);
                (f64::from(bytes) / 256.0 + f64::from(printable) / 95.0) / 2.0
            })
            .product()
    }
}

struct Cluster {
    members: Vec<u32>,
    masks: Masks,
    rate: f64,
}

/// The order in which to add `group` (of more than [`SLIM`] needles of at
/// least 3 bytes) so that Fat Teddy's buckets are the clusters, or `None`
/// when they cannot be kept to [`CAP`] literals each.
fn cluster(needles: &[Vec<u8>], group: &[u32]) -> Option<Vec<u32>> {
    let mask_len = group
        .iter()
        .map(|&i| needles[i as usize].len())
        .min()?
        .min(4);
    // Literals with the same low nibbles share a bucket whatever the order.
    let mut clusters: Vec<Cluster> = Vec::new();
    let mut by_low: std::collections::HashMap<Vec<u8>, usize> = Default::default();
    for &i in group {
        let needle = &needles[i as usize];
        let low: Vec<u8> = needle[..mask_len].iter().map(|b| b & 15).collect();
        let masks = Masks::of(needle, mask_len);
        match by_low.get(&low) {
            Some(&c) => {
                let cl = &mut clusters[c];
                cl.members.push(i);
                cl.masks = cl.masks.union(masks);
            }
            None => {
                by_low.insert(low, clusters.len());
                clusters.push(Cluster {
                    members: vec![i],
                    masks,
                    rate: 0.0,
                });
            }
        }
    }
    for c in &mut clusters {
        c.rate = c.masks.rate(mask_len);
    }
    if clusters.iter().any(|c| c.members.len() > CAP) || group.len() <= SLIM {
        return None;
    }
    merge(&mut clusters, mask_len)?;
    let rows = clusters.iter().map(|c| c.members.len()).max()?;
    let mut order = Vec::with_capacity(rows * BUCKETS);
    for row in 0..rows {
        for slot in 0..BUCKETS {
            // A short cluster's slot, or a missing cluster's, repeats a
            // literal already placed: it goes to that literal's bucket.
            let id = match clusters.get(slot) {
                Some(c) => *c.members.get(row).unwrap_or(&c.members[0]),
                None => clusters[0].members[0],
            };
            order.push(id);
        }
    }
    Some(order)
}

/// Merges clusters, cheapest pair first, until [`BUCKETS`] are left.
fn merge(clusters: &mut Vec<Cluster>, mask_len: usize) -> Option<()> {
    let cost = |a: &Cluster, b: &Cluster| -> f64 {
        if a.members.len() + b.members.len() > CAP {
            f64::INFINITY
        } else {
            a.masks.union(b.masks).rate(mask_len) - a.rate - b.rate
        }
    };
    let n = clusters.len();
    let mut pair = vec![f64::INFINITY; n * n];
    for a in 0..n {
        for b in a + 1..n {
            pair[a * n + b] = cost(&clusters[a], &clusters[b]);
        }
    }
    let mut alive = vec![true; n];
    let mut left = n;
    while left > BUCKETS {
        let mut best: Option<(f64, usize, usize)> = None;
        for a in (0..n).filter(|&a| alive[a]) {
            for b in (a + 1..n).filter(|&b| alive[b]) {
                let c = pair[a * n + b];
                if c.is_finite() && best.is_none_or(|(bc, _, _)| c < bc) {
                    best = Some((c, a, b));
                }
            }
        }
        let (_, a, b) = best?;
        let taken = std::mem::take(&mut clusters[b].members);
        let masks = clusters[a].masks.union(clusters[b].masks);
        let merged = &mut clusters[a];
        merged.members.extend(taken);
        // Priority order within a bucket: the longest literal first.
        merged.members.sort_unstable();
        merged.masks = masks;
        merged.rate = masks.rate(mask_len);
        alive[b] = false;
        left -= 1;
        for o in (0..n).filter(|&o| alive[o] && o != a) {
            let (x, y) = (o.min(a), o.max(a));
            pair[x * n + y] = cost(&clusters[x], &clusters[y]);
        }
    }
    let mut i = 0;
    clusters.retain(|_| {
        i += 1;
        alive[i - 1]
    });
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needles(list: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = list.iter().map(|n| n.to_vec()).collect();
        v.sort_unstable_by(|a, b| b.len().cmp(&a.len()).then(a.cmp(b)));
        v.dedup();
        v
    }

    /// Every needle is in exactly one searcher, clustered searchers keep
    /// to the packed limit, and the buckets they ask for are the clusters:
    /// like literals together, each bucket in priority order.
    #[test]
    fn packs_cover_every_needle_in_buckets_of_like_literals() {
        let mut list: Vec<Vec<u8>> = Vec::new();
        for p in ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"] {
            list.push(format!("{p}TOKEN").into_bytes());
            list.push(p.as_bytes().to_vec());
        }
        for d in 0..10 {
            list.push(format!("{d}Q~").into_bytes());
        }
        for i in 0..150 {
            list.push(format!("k{:02x}{}", i * 7 % 256, "x".repeat(i % 9)).into_bytes());
        }
        list.push(b"ab".to_vec());
        let refs: Vec<&[u8]> = list.iter().map(Vec::as_slice).collect();
        let needles = needles(&refs);
        let packs = pack(&needles);
        let mut seen = vec![0; needles.len()];
        for p in &packs {
            let distinct: std::collections::BTreeSet<u32> = p.order.iter().copied().collect();
            for &i in &distinct {
                seen[i as usize] += 1;
            }
            assert!(p.order.len() <= 128);
        }
        assert!(seen.iter().all(|&s| s == 1), "{seen:?}");
        if !fat_teddy() {
            return;
        }
        let clustered: Vec<&Pack> = packs.iter().filter(|p| p.over_limit).collect();
        assert_eq!(clustered.len(), 2, "{} needles", needles.len());
        // The `ab` needle is in a plain searcher of its own.
        assert_eq!(packs.last().unwrap().order.len(), 1);
        for p in &clustered {
            // Repeats go to the bucket of their first placement.
            for (at, &i) in p.order.iter().enumerate() {
                let first = p.order.iter().position(|&o| o == i).unwrap();
                assert_eq!(at % BUCKETS, first % BUCKETS);
            }
            for col in 0..BUCKETS {
                let ids: Vec<u32> = p.order.iter().skip(col).step_by(BUCKETS).copied().collect();
                let mut firsts: Vec<u32> = Vec::new();
                let mut last_new = 0;
                for (row, &i) in ids.iter().enumerate() {
                    if !firsts.contains(&i) {
                        firsts.push(i);
                        last_new = row;
                    }
                }
                assert_eq!(last_new + 1, firsts.len(), "repeats come last: {ids:?}");
                assert!(
                    firsts.windows(2).all(|w| w[0] < w[1]),
                    "priority order: {ids:?}"
                );
            }
            // Fewer expected false candidates than Teddy's own buckets for
            // the same literals in priority order.
            let mut distinct: Vec<u32> = p.order.clone();
            distinct.sort_unstable();
            distinct.dedup();
            let mask_len = distinct
                .iter()
                .map(|&i| needles[i as usize].len())
                .min()
                .unwrap()
                .min(4);
            let rate = |assign: &mut dyn FnMut(usize, u32) -> usize, ids: &[u32]| {
                let mut buckets = [None::<Masks>; BUCKETS];
                for (at, &i) in ids.iter().enumerate() {
                    let m = Masks::of(&needles[i as usize], mask_len);
                    let b = &mut buckets[assign(at, i)];
                    *b = Some(b.map_or(m, |x| x.union(m)));
                }
                buckets
                    .iter()
                    .flatten()
                    .map(|m| m.rate(mask_len))
                    .sum::<f64>()
            };
            let ours = rate(&mut |at, _| at % BUCKETS, &p.order);
            let mut first_bucket = std::collections::HashMap::new();
            let teddy = rate(
                &mut |at, i| {
                    let low: Vec<u8> = needles[i as usize][..mask_len]
                        .iter()
                        .map(|b| b & 15)
                        .collect();
                    *first_bucket
                        .entry(low)
                        .or_insert(BUCKETS - 1 - at % BUCKETS)
                },
                &distinct,
            );
            assert!(ours < teddy / 2.0, "clustered {ours}, Teddy's own {teddy}");
        }
    }

    /// The closed form of the byte model is the sum over the bytes a mask
    /// admits.
    #[test]
    fn rate_sums_the_admitted_bytes() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..500 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
            let (lo, hi) = ((state >> 16) as u16, (state >> 40) as u16);
            let want: f64 = (0..256usize)
                .filter(|&b| lo >> (b & 15) & 1 == 1 && hi >> (b >> 4) & 1 == 1)
                .map(|b| {
                    let text = if (0x20..0x7f).contains(&b) {
                        1.0 / 95.0
                    } else {
                        0.0
                    };
                    (1.0 / 256.0 + text) / 2.0
                })
                .sum();
            let got = Masks([(lo, hi), (0, 0), (0, 0), (0, 0)]).rate(1);
            assert!((got - want).abs() < 1e-12, "{lo:#x} {hi:#x}: {got} {want}");
        }
    }

    #[test]
    fn few_needles_stay_plain() {
        let needles = needles(&[b"AKIA", b"ghp_", b"xox"]);
        assert_eq!(
            pack(&needles),
            vec![Pack {
                order: vec![0, 1, 2],
                over_limit: false
            }]
        );
    }
}
