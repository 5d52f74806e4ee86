//! Runs a kernel compiled for the widest instruction set the CPU has.
//!
//! A kernel is written once, as the `#[inline(always)]` body of [`Kernel::run`], generic
//! over a [`Simd`] token. [`dispatch`] finds the CPU's features and enters the body
//! through a `#[target_feature]` function, so the body is inlined into it and compiled
//! with those features: the [`Simd`] methods become single instructions, and the loops
//! the compiler vectorises by itself get the wider registers. This file and `simd.rs` are
//! the only places that name an architecture.

#[cfg(target_arch = "x86_64")]
use super::simd::{Avx2, Avx512};
use super::simd::{Portable, Simd};

/// Instruction sets a kernel may be compiled for beyond the portable build, narrowest
/// first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Isa {
    Avx2,
    Avx512,
}

/// A body to run on the best instruction set the CPU has, up to [`Kernel::WIDEST`].
pub(super) trait Kernel {
    type Output;

    /// The widest instruction set the body is compiled for. Bodies written against
    /// [`Simd`] take AVX-512; bodies the compiler vectorises by itself stop at AVX2, the
    /// build they were measured and tuned with.
    const WIDEST: Isa;

    /// The body, on the instruction set of `s`. Must be `#[inline(always)]`: only code
    /// inlined into the `#[target_feature]` entry is compiled with its features.
    fn run<S: Simd>(self, s: S) -> Self::Output;
}

/// Runs `kernel` on the widest instruction set that both the CPU and the kernel allow.
/// All builds perform the same IEEE operations in the same order, so the choice changes
/// the speed, never the bits.
#[inline]
pub(super) fn dispatch<K: Kernel>(kernel: K) -> K::Output {
    #[cfg(target_arch = "x86_64")]
    {
        if K::WIDEST >= Isa::Avx512
            && let Some(s) = Avx512::detect()
        {
            // SAFETY: the token exists only where the CPU has AVX-512F, VL and AVX2.
            return unsafe { on_avx512(s, kernel) };
        }
        if let Some(s) = Avx2::detect() {
            // SAFETY: the token exists only where the CPU has AVX2.
            return unsafe { on_avx2(s, kernel) };
        }
    }
    kernel.run(Portable)
}

/// The kernel's body compiled for AVX-512 (F and VL, with AVX2).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,avx512f,avx512vl")]
fn on_avx512<K: Kernel>(s: Avx512, kernel: K) -> K::Output {
    kernel.run(s)
}

/// The kernel's body compiled for AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn on_avx2<K: Kernel>(s: Avx2, kernel: K) -> K::Output {
    kernel.run(s)
}

/// The kernel `make` makes, run on every instruction set the CPU has up to the kernel's
/// widest, each result named: for tests that hold the builds to the same bits.
#[cfg(test)]
pub(super) fn each_available<K: Kernel>(make: impl Fn() -> K) -> Vec<(&'static str, K::Output)> {
    let mut results = vec![("portable", make().run(Portable))];
    #[cfg(target_arch = "x86_64")]
    {
        if let Some(s) = Avx2::detect() {
            // SAFETY: the token exists only where the CPU has AVX2.
            results.push(("avx2", unsafe { on_avx2(s, make()) }));
        }
        if K::WIDEST >= Isa::Avx512
            && let Some(s) = Avx512::detect()
        {
            // SAFETY: the token exists only where the CPU has AVX-512F, VL and AVX2.
            results.push(("avx512", unsafe { on_avx512(s, make()) }));
        }
    }
    results
}

/// Asserts that every build of the kernel `make` makes gives the portable build's result,
/// compared by `Debug` text, which spells every float exactly (NaN, ±0 and infinities
/// apart).
#[cfg(test)]
pub(super) fn same_bits_everywhere<K: Kernel>(make: impl Fn() -> K)
where
    K::Output: std::fmt::Debug,
{
    let results = each_available(make);
    let expected = format!("{:?}", results[0].1);
    for (isa, result) in &results {
        assert_eq!(format!("{result:?}"), expected, "on {isa}");
    }
}
