//! gzip (`.gz`) decoding with `flate2` over zlib-rs, several times faster than the zlib
//! bundled in cfitsio (which also decompressed a whole file at every open). gzip's CRC-32
//! and length checks are flate2's: a corrupt or cut copy is an error, never garbage.

use std::io::{self, BufRead, Read, Seek, SeekFrom};

use flate2::bufread::MultiGzDecoder;

/// Decompressed bytes per compressed byte that deflate can reach at most (258-byte
/// matches in 2-bit codes, about 1032): a bound on what a trailer's length may promise.
const MAX_RATIO: u64 = 1032;

/// The length gzip's trailer gives (the last member's, modulo 2³²), when `file` is long
/// enough to have one. Leaves `file` at its start.
pub fn stated_length(file: &mut (impl Read + Seek)) -> io::Result<Option<u32>> {
    let length = file.seek(SeekFrom::End(0))?;
    let stated = if length >= 18 {
        file.seek(SeekFrom::End(-4))?;
        let mut trailer = [0; 4];
        file.read_exact(&mut trailer)?;
        Some(u32::from_le_bytes(trailer))
    } else {
        None
    };
    file.rewind()?;
    Ok(stated)
}

/// What a buffer for `file`'s decompressed bytes should hold: its trailer's length, within
/// what deflate can reach. Leaves `file` at its start.
pub fn expected_length(file: &mut (impl Read + Seek)) -> io::Result<usize> {
    let bound = file.seek(SeekFrom::End(0))?.saturating_mul(MAX_RATIO);
    let stated = stated_length(file)?.map_or(0, u64::from);
    Ok(usize::try_from(stated.min(bound)).unwrap_or(0))
}

/// Every member of `input`, decompressed and checked, into a buffer made `expected` long
/// at first.
pub fn decode(input: impl BufRead, expected: usize) -> io::Result<Vec<u8>> {
    let mut out = vec![0; expected];
    let mut decoder = MultiGzDecoder::new(input);
    let mut filled = 0;
    loop {
        if filled == out.len() {
            // Full: as long as expected, unless more follows.
            let mut probe = [0; 4096];
            let more = decoder.read(&mut probe)?;
            if more == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&probe[..more]);
            filled = out.len();
            out.resize(2 * filled, 0);
            continue;
        }
        match decoder.read(&mut out[filled..])? {
            0 => {
                out.truncate(filled);
                return Ok(out);
            }
            n => filled += n,
        }
    }
}

/// The first bytes of `input`, decompressed in 2880-byte FITS records up to and with the
/// one for which `enough` says so (or to the end), and whether that was the end.
pub fn decode_start(
    input: impl BufRead,
    enough: impl Fn(&[u8]) -> bool,
) -> io::Result<(Vec<u8>, bool)> {
    const RECORD: usize = 2880;
    let mut decoder = MultiGzDecoder::new(input);
    let mut out = Vec::with_capacity(4 * RECORD);
    loop {
        let filled = out.len();
        out.resize(filled + RECORD, 0);
        let mut got = 0;
        while got < RECORD {
            match decoder.read(&mut out[filled + got..])? {
                0 => break,
                n => got += n,
            }
        }
        out.truncate(filled + got);
        if got < RECORD {
            return Ok((out, true));
        }
        if enough(&out[filled..]) {
            return Ok((out, false));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn data(len: usize) -> Vec<u8> {
        (0..len)
            .map(|i| (i * 7 % 251) as u8 ^ (i >> 9) as u8)
            .collect()
    }

    #[test]
    fn whole_files_and_concatenated_members_decode() {
        let plain = data(100_000);
        let packed = gzip(&plain);
        let mut file = io::Cursor::new(&packed);
        assert_eq!(stated_length(&mut file).unwrap(), Some(100_000));
        assert_eq!(expected_length(&mut file).unwrap(), 100_000);
        assert!(decode(&packed[..], 100_000).unwrap() == plain);
        assert!(decode(&packed[..], 0).unwrap() == plain, "no length stated");
        // The trailer states only the last member's length: the rest makes room.
        let two = [gzip(&plain[..90_000]), gzip(&plain[90_000..])].concat();
        assert!(decode(&two[..], 10_000).unwrap() == plain);
        let two = [gzip(&plain[..10_000]), gzip(&plain[10_000..])].concat();
        assert!(decode(&two[..], 90_000).unwrap() == plain);
    }

    #[test]
    fn corrupt_and_cut_copies_are_errors() {
        let packed = gzip(&data(100_000));
        let mut bad_crc = packed.clone();
        let at = bad_crc.len() - 6;
        bad_crc[at] ^= 1;
        assert!(decode(&bad_crc[..], 100_000).is_err(), "CRC mismatch");
        let mut bad_data = packed.clone();
        bad_data[packed.len() / 2] ^= 0x55;
        assert!(
            decode(&bad_data[..], 100_000).is_err(),
            "corrupt deflate data"
        );
        for cut in [packed.len() - 1, packed.len() - 8, packed.len() / 2, 12] {
            assert!(
                decode(&packed[..cut], 100_000).is_err(),
                "cut to {cut} bytes"
            );
        }
    }

    #[test]
    fn the_start_stops_at_the_record_asked_for() {
        let plain = data(20_000);
        let packed = gzip(&plain);
        let (start, end) = decode_start(&packed[..], |record| record[0] == plain[2880]).unwrap();
        assert_eq!(start, plain[..5760]);
        assert!(!end);
        let (all, end) = decode_start(&packed[..], |_| false).unwrap();
        assert!(all == plain && end);
    }
}
