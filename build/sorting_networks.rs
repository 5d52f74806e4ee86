//! Comparator lists of the sorting networks the stack clip runs, shared by the build
//! script (which writes them out as straight-line code) and the library's tests.

/// One network: compare-exchange pairs `(i, j)`, `i < j`, in order.
pub type Comparators = Vec<(u8, u8)>;

/// Batcher's odd-even merge sort for the next power of two, without the comparators
/// that touch the padding: padding is +∞ at the end, so those never exchange.
pub fn odd_even_merge_sort(n: usize) -> Comparators {
    let size = n.next_power_of_two();
    let mut out = Vec::new();
    let mut p = 1;
    while p < size {
        let mut k = p;
        while k >= 1 {
            for j in (k % p..size - k).step_by(2 * k) {
                for i in 0..k.min(size - j - k) {
                    let (a, b) = (i + j, i + j + k);
                    if a / (2 * p) == b / (2 * p) && b < n {
                        out.push((a as u8, b as u8));
                    }
                }
            }
            k /= 2;
        }
        p *= 2;
    }
    out
}

/// Batcher's bitonic merger: sorts a sequence that falls then rises (or rises then
/// falls), again without the comparators that touch +∞ padding at the end.
pub fn bitonic_merge(n: usize) -> Comparators {
    let size = n.next_power_of_two();
    let mut out = Vec::new();
    let mut k = size / 2;
    while k >= 1 {
        for i in 0..size {
            if i & k == 0 && i + k < n {
                out.push((i as u8, (i + k) as u8));
            }
        }
        k /= 2;
    }
    out
}
