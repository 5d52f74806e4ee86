//! Unix `compress` (`.Z`) decoding: LZW exactly as compress(1) (ncompress 4.2) writes it.
//!
//! Written here because no maintained crate reads this format: `weezl`, the maintained LZW
//! crate, decodes the GIF/TIFF flavour (at most 12-bit codes, a reserved end code), while
//! compress uses codes of up to 16 bits, no end code, and — its well-known quirk — drops
//! the rest of a group of eight codes whenever the code width grows or the table is
//! cleared (it writes codes in groups of `width` bytes). The ESO archive ships raw frames
//! this way, so they are decoded here rather than by cfitsio's copy of gzip's `unlzw`,
//! once per use and straight into the buffer cfitsio then reads.
//!
//! The format: `1f 9d`, a flags byte (bits 0–4 the widest code, 9–16; bit 7 block mode,
//! where code 256 clears the table), then codes least-significant bit first, 9 bits wide
//! at first, one bit wider each time the table fills a width.

use std::io::{self, Read};

use thiserror::Error;

/// Why a `.Z` stream cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LzwError {
    #[error("not a Unix-compressed (.Z) stream: it does not start with 1f 9d and a flags byte")]
    NotCompress,
    #[error("compressed with {0}-bit codes; compress(1) writes 9 to 16")]
    Width(u8),
    #[error("corrupt data: code {code} at compressed byte {byte}, where at most {next} can come")]
    Corrupt {
        code: usize,
        next: usize,
        byte: usize,
    },
    #[error("cannot read: {0}")]
    Read(String),
}

impl From<io::Error> for LzwError {
    fn from(error: io::Error) -> LzwError {
        LzwError::Read(error.to_string())
    }
}

/// What a stream decodes to: its first bytes (all of them unless decoding was asked to
/// stop keeping them) and how many it holds in all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub bytes: Vec<u8>,
    pub total: u64,
}

/// Code 256 in block mode: the table starts again.
const CLEAR: usize = 256;
/// Codes are written in groups of eight: `width` bytes.
const GROUP: usize = 8;

/// Decodes `input`, keeping at least its first `keep` bytes (`usize::MAX`: all of them)
/// and counting the rest, which costs no copying: a frame's headers and its length come
/// without building its pixels. `input` is read as it is decoded; `expected` is how many
/// bytes to make room for at first.
pub fn decode(mut input: impl Read, keep: usize, expected: usize) -> Result<Decoded, LzwError> {
    let mut header = [0u8; 3];
    match input.read_exact(&mut header) {
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Err(LzwError::NotCompress),
        other => other?,
    }
    let [0x1f, 0x9d, flags] = header else {
        return Err(LzwError::NotCompress);
    };
    // Bits 5 and 6 are reserved; compress(1) ignores them, and so does this.
    let widest = usize::from(flags & 0x1f);
    if !(9..=16).contains(&widest) {
        return Err(LzwError::Width(flags & 0x1f));
    }
    let block_mode = flags & 0x80 != 0;
    let entries = 1usize << widest;
    let first_free = if block_mode { CLEAR + 1 } else { CLEAR };
    // Entry `code` (≥ 256) is `(start, length)`: that many bytes of the output from
    // `start`, since each string first appears as the previous string followed by the
    // next one's first byte.
    let mut table = vec![(0u64, 0u64); entries];
    let mut bits = Bits::new(input);
    let mut width = 9;
    let mut next = first_free;
    // Codes read at this width since it began: what is left of their group is skipped.
    let mut in_group = 0;
    // The previous string: where it starts in the output and its length.
    let mut previous: Option<(u64, u64)> = None;
    let mut out = Output::new(keep.min(expected));
    let mut total = 0u64;
    let mut keeping = keep > 0;
    loop {
        if width < widest && next >= 1 << width {
            bits.skip((GROUP - in_group % GROUP) % GROUP * width)?;
            in_group = 0;
            width += 1;
        }
        let Some(code) = bits.read(width)? else {
            break;
        };
        in_group += 1;
        if block_mode && code == CLEAR {
            bits.skip((GROUP - in_group % GROUP) % GROUP * width)?;
            in_group = 0;
            width = 9;
            next = first_free;
            previous = None;
            continue;
        }
        let corrupt = || LzwError::Corrupt {
            code,
            next,
            byte: 3 + bits.consumed_bytes(),
        };
        let here = total;
        let written = match previous {
            None if code >= CLEAR => return Err(corrupt()),
            _ if code < CLEAR => {
                if keeping {
                    out.push(code as u8);
                }
                1
            }
            Some((from, count)) if code == next => {
                // The string being defined: the previous one and its own first byte.
                if keeping {
                    out.copy(from as usize, count as usize);
                    out.push(out.buffer[from as usize]);
                }
                count + 1
            }
            _ if code < next => {
                let (from, count) = table[code];
                if keeping {
                    out.copy(from as usize, count as usize);
                }
                count
            }
            _ => return Err(corrupt()),
        };
        total += written;
        if let Some((from, count)) = previous
            && next < entries
        {
            table[next] = (from, count + 1);
            next += 1;
        }
        previous = Some((here, written));
        keeping &= out.written < keep;
    }
    Ok(Decoded {
        bytes: out.finish(),
        total,
    })
}

/// The decoded bytes, in a buffer kept longer than what is written so that a short string
/// is copied as one 16-byte move.
struct Output {
    buffer: Vec<u8>,
    written: usize,
}

impl Output {
    const SLACK: usize = 16;

    fn new(expected: usize) -> Output {
        Output {
            // Zeroed by the allocator's fresh pages: untouched capacity costs nothing.
            buffer: vec![0; expected + Self::SLACK],
            written: 0,
        }
    }

    fn make_room(&mut self, count: usize) {
        let needed = self.written + count + Self::SLACK;
        if needed > self.buffer.len() {
            self.buffer.resize(needed.max(2 * self.buffer.len()), 0);
        }
    }

    fn push(&mut self, byte: u8) {
        self.make_room(1);
        self.buffer[self.written] = byte;
        self.written += 1;
    }

    /// Appends the `count` bytes written from `from`, which end before what is written.
    fn copy(&mut self, from: usize, count: usize) {
        self.make_room(count);
        let (done, free) = self.buffer.split_at_mut(self.written);
        if count <= Self::SLACK && from + Self::SLACK <= done.len() {
            // Bytes past `count` land in the slack and are written over next.
            free[..Self::SLACK].copy_from_slice(&done[from..from + Self::SLACK]);
        } else {
            free[..count].copy_from_slice(&done[from..from + count]);
        }
        self.written += count;
    }

    fn finish(mut self) -> Vec<u8> {
        self.buffer.truncate(self.written);
        self.buffer
    }
}

/// The code stream, least-significant bit first, read from its source in chunks.
struct Bits<R> {
    source: R,
    chunk: Vec<u8>,
    /// The next byte of `chunk` to move into `buffer`, and the end of what it holds.
    at: usize,
    end: usize,
    /// Bytes of the stream before `chunk`'s first.
    before: usize,
    exhausted: bool,
    buffer: u64,
    held: usize,
}

impl<R: Read> Bits<R> {
    const CHUNK: usize = 1 << 16;

    fn new(source: R) -> Bits<R> {
        Bits {
            source,
            chunk: vec![0; Self::CHUNK],
            at: 0,
            end: 0,
            before: 0,
            exhausted: false,
            buffer: 0,
            held: 0,
        }
    }

    /// Moves what is left of `chunk` to its front and reads the source until it is full.
    fn refill(&mut self) -> io::Result<()> {
        self.chunk.copy_within(self.at..self.end, 0);
        self.before += self.at;
        self.end -= self.at;
        self.at = 0;
        while self.end < self.chunk.len() {
            match self.source.read(&mut self.chunk[self.end..]) {
                Ok(0) => {
                    self.exhausted = true;
                    break;
                }
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn fill(&mut self) -> io::Result<()> {
        if self.end - self.at < 8 && !self.exhausted {
            self.refill()?;
        }
        if let Some(word) = self.chunk[..self.end].get(self.at..self.at + 8) {
            // Eight bytes at once: as many as fit above the bits held.
            let word = u64::from_le_bytes(word.try_into().unwrap_or_default());
            self.buffer |= word << self.held;
            let whole = (63 - self.held) / 8;
            self.at += whole;
            self.held += whole * 8;
            return Ok(());
        }
        while self.held <= 56 && self.at < self.end {
            self.buffer |= u64::from(self.chunk[self.at]) << self.held;
            self.held += 8;
            self.at += 1;
        }
        Ok(())
    }

    /// The next `width`-bit code, or `None` when fewer bits are left (compress pads its
    /// last byte with zeros).
    fn read(&mut self, width: usize) -> io::Result<Option<usize>> {
        if self.held < width {
            self.fill()?;
            if self.held < width {
                return Ok(None);
            }
        }
        let code = (self.buffer & ((1 << width) - 1)) as usize;
        self.buffer >>= width;
        self.held -= width;
        Ok(Some(code))
    }

    fn skip(&mut self, mut count: usize) -> io::Result<()> {
        while count > 0 {
            if self.held == 0 {
                self.fill()?;
                if self.held == 0 {
                    return Ok(());
                }
            }
            let step = count.min(self.held);
            self.buffer = if step == 64 { 0 } else { self.buffer >> step };
            self.held -= step;
            count -= step;
        }
        Ok(())
    }

    /// Bytes of the stream read so far: where an error is.
    fn consumed_bytes(&self) -> usize {
        self.before + self.at - self.held / 8
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// Codes of the given widths, packed least-significant bit first.
    fn write_codes(codes: &[(usize, usize)]) -> Vec<u8> {
        let mut out = Vec::new();
        let (mut acc, mut held) = (0u64, 0);
        for &(code, width) in codes {
            acc |= (code as u64) << held;
            held += width;
            while held >= 8 {
                out.push(acc as u8);
                acc >>= 8;
                held -= 8;
            }
        }
        if held > 0 {
            out.push(acc as u8);
        }
        out
    }

    /// A small LZW compressor in compress(1)'s format, padding groups as compress does,
    /// with an optional CLEAR after `clear_after` codes: the decoder's counterpart.
    pub(in crate::fits::compressed) fn compress(
        data: &[u8],
        widest: usize,
        clear_after: Option<usize>,
    ) -> Vec<u8> {
        use std::collections::HashMap;
        let mut codes: Vec<(usize, usize)> = Vec::new();
        let mut table: HashMap<(usize, u8), usize> = HashMap::new();
        let (mut width, mut next, mut in_group) = (9, CLEAR + 1, 0);
        let pad = |codes: &mut Vec<(usize, usize)>, in_group: usize, width: usize| {
            for _ in 0..(GROUP - in_group % GROUP) % GROUP {
                codes.push((0, width));
            }
        };
        let mut current: Option<usize> = None;
        let mut emitted = 0;
        for &byte in data {
            let Some(prefix) = current else {
                current = Some(usize::from(byte));
                continue;
            };
            if let Some(&code) = table.get(&(prefix, byte)) {
                current = Some(code);
                continue;
            }
            codes.push((prefix, width));
            in_group += 1;
            emitted += 1;
            if next < 1 << widest {
                table.insert((prefix, byte), next);
                next += 1;
            }
            current = Some(usize::from(byte));
            if clear_after.is_some_and(|n| emitted % n == 0) {
                codes.push((CLEAR, width));
                in_group += 1;
                pad(&mut codes, in_group, width);
                in_group = 0;
                table.clear();
                width = 9;
                next = CLEAR + 1;
            } else if width < widest && next > (1 << width) {
                // The decoder grows one code later than the encoder: it defines each
                // entry one code behind.
                pad(&mut codes, in_group, width);
                in_group = 0;
                width += 1;
            }
        }
        if let Some(prefix) = current {
            codes.push((prefix, width));
        }
        let mut out = vec![0x1f, 0x9d, 0x80 | widest as u8];
        out.extend(write_codes(&codes));
        out
    }

    fn noisy(len: usize, seed: u64) -> Vec<u8> {
        let mut state = seed;
        (0..len)
            .map(|i| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                // Bias-frame-like: a slowly varying high byte, noisy low byte.
                if i % 2 == 0 {
                    0x03
                } else {
                    (state >> 60) as u8 + 0x40
                }
            })
            .collect()
    }

    #[test]
    fn compress_outputs_decode() {
        // `ncompress.compress(b"TOBEORNOTTOBEORTOBEORNOT")` (ncompress 4.2.4).
        let packed = [
            31, 157, 144, 84, 158, 8, 41, 242, 68, 138, 147, 39, 84, 2, 14, 44, 168, 144, 160, 65,
            132,
        ];
        let decoded = decode(&packed[..], usize::MAX, 0).unwrap();
        assert_eq!(decoded.bytes, b"TOBEORNOTTOBEORTOBEORNOT");
        assert_eq!(decoded.total, 24);
        // The same of `noisy(40000, 11)`: about 9000 codes, 9 to 14 bits wide, so five
        // width changes with their skipped group ends.
        let packed = include_bytes!("ncompress-noisy-40000-11.Z");
        let decoded = decode(&packed[..], usize::MAX, 0).unwrap();
        assert!(decoded.bytes == noisy(40000, 11));
    }

    #[test]
    fn widths_grow_to_the_widest_and_the_table_then_stays_full() {
        for widest in [9, 10, 12, 16] {
            let data = noisy(300_000, widest as u64);
            let decoded = decode(&compress(&data, widest, None)[..], usize::MAX, 0).unwrap();
            assert!(decoded.bytes == data, "{widest}-bit codes");
        }
    }

    #[test]
    fn clears_restart_the_table_at_nine_bits() {
        let data = noisy(200_000, 7);
        for every in [1, 7, 300, 5000] {
            let decoded = decode(&compress(&data, 16, Some(every))[..], usize::MAX, 0).unwrap();
            assert!(decoded.bytes == data, "CLEAR every {every} codes");
        }
    }

    #[test]
    fn repeated_runs_use_the_string_being_defined() {
        // aaaa… makes every code the one being defined (KwKwK).
        let data = vec![b'a'; 100_000];
        let decoded = decode(&compress(&data, 16, None)[..], usize::MAX, 0).unwrap();
        assert_eq!(decoded.bytes, data);
    }

    #[test]
    fn keeping_the_start_counts_the_rest() {
        let data = noisy(100_000, 3);
        let packed = compress(&data, 16, Some(4000));
        let head = decode(&packed[..], 2880, 0).unwrap();
        assert_eq!(head.total, data.len() as u64);
        assert!(head.bytes.len() >= 2880 && head.bytes.len() < 3000);
        assert_eq!(head.bytes[..], data[..head.bytes.len()]);
    }

    #[test]
    fn bad_headers_and_codes_are_errors() {
        assert_eq!(
            decode(&b"\x1f\x8b\x08"[..], usize::MAX, 0),
            Err(LzwError::NotCompress)
        );
        assert_eq!(
            decode(&b"\x1f\x9d"[..], usize::MAX, 0),
            Err(LzwError::NotCompress)
        );
        assert_eq!(
            decode(&b"\x1f\x9d\x91"[..], usize::MAX, 0),
            Err(LzwError::Width(17))
        );
        assert_eq!(
            decode(&b"\x1f\x9d\x88"[..], usize::MAX, 0),
            Err(LzwError::Width(8))
        );
        // A first code that is not a byte, then a code past the table's end.
        let first = [vec![0x1f, 0x9d, 0x90], write_codes(&[(300, 9)])].concat();
        assert!(matches!(
            decode(&first[..], usize::MAX, 0),
            Err(LzwError::Corrupt { code: 300, .. })
        ));
        let later = [vec![0x1f, 0x9d, 0x90], write_codes(&[(65, 9), (260, 9)])].concat();
        assert!(matches!(
            decode(&later[..], usize::MAX, 0),
            Err(LzwError::Corrupt {
                code: 260,
                next: 257,
                ..
            })
        ));
    }

    #[test]
    fn empty_and_truncated_streams_decode_what_they_hold() {
        assert_eq!(
            decode(&b"\x1f\x9d\x90"[..], usize::MAX, 0).unwrap().total,
            0
        );
        let data = noisy(10_000, 5);
        let packed = compress(&data, 16, None);
        let cut = decode(&packed[..packed.len() / 2], usize::MAX, 0).unwrap();
        assert!(cut.total < data.len() as u64);
        assert_eq!(cut.bytes[..], data[..cut.bytes.len()]);
    }
}
