//! The header of an HDU as mbias writes it: byte for byte the header cfitsio wrote for the
//! same cards, so that a product is the same file whichever wrote it (a test holds the two
//! side by side), with `DATASUM` and `CHECKSUM` set as cfitsio's `ffupck` sets them.

use super::write::ImageData;

/// The bytes of a header record.
const RECORD: usize = 80;
/// Headers and data units come in blocks of this many bytes.
pub const BLOCK: usize = 2880;

/// The records of one HDU's header, END not included.
pub struct HduHeader {
    records: Vec<[u8; RECORD]>,
}

/// Whether `record` is the card of `key` (a standard keyword of at most 8 characters).
fn is_card_of(record: &[u8; RECORD], key: &str) -> bool {
    let name = &record[..8];
    name.starts_with(key.as_bytes()) && name[key.len()..].iter().all(|&b| b == b' ')
}

/// A card with a value written as is (a number or a logical), right-aligned in columns
/// 11–30, as cfitsio writes the structural keywords.
fn fixed_card(key: &str, value: &str, comment: &str) -> [u8; RECORD] {
    padded(&format!("{key:<8}= {value:>20} / {comment}"))
}

/// A card with a string value, quoted and padded to at least 8 characters, the comment
/// from column 33 when the value is short (cfitsio's `ffmkky`).
fn string_card(key: &str, value: &str, comment: &str) -> [u8; RECORD] {
    let quoted = format!("'{value:<8}'");
    let card = if comment.is_empty() {
        format!("{key:<8}= {quoted}")
    } else {
        format!("{key:<8}= {quoted:<20} / {comment}")
    };
    padded(&card)
}

/// `text` cut to 80 bytes and padded with spaces.
fn padded(text: &str) -> [u8; RECORD] {
    let mut record = [b' '; RECORD];
    let bytes = text.as_bytes();
    let n = bytes.len().min(RECORD);
    record[..n].copy_from_slice(&bytes[..n]);
    record
}

/// The ones' complement sum of `bytes` as big-endian 32-bit words, added to `sum`.
fn ones_complement_sum(bytes: &[u8], sum: u32) -> u32 {
    let total = bytes
        .chunks(4)
        .map(|w| {
            let mut word = [0u8; 4];
            word[..w.len()].copy_from_slice(w);
            u64::from(u32::from_be_bytes(word))
        })
        .sum::<u64>()
        + u64::from(sum);
    fold_carries(total)
}

/// Ones' complement: carries out of 32 bits wrap around into the low bits.
pub fn fold_carries(mut sum: u64) -> u32 {
    while sum >> 32 != 0 {
        sum = (sum & 0xFFFF_FFFF) + (sum >> 32);
    }
    sum as u32
}

/// The 16 characters that encode the complement of a checksum (the FITS checksum
/// convention: each byte spread over four characters, letters and digits only, the string
/// rotated by one).
fn encode_complement(sum: u32) -> [u8; 16] {
    const PUNCTUATION: [std::ops::RangeInclusive<u8>; 2] = [0x3a..=0x40, 0x5b..=0x60];
    let excluded = |c: u8| PUNCTUATION.iter().any(|r| r.contains(&c));
    let value = !sum;
    let mut spread = [0u8; 16];
    for (i, byte) in value.to_be_bytes().into_iter().enumerate() {
        let quotient = byte / 4 + b'0';
        let mut ch = [quotient; 4];
        ch[0] += byte % 4;
        while ch.iter().any(|&c| excluded(c)) {
            for pair in ch.chunks_exact_mut(2) {
                if excluded(pair[0]) || excluded(pair[1]) {
                    pair[0] += 1;
                    pair[1] -= 1;
                }
            }
        }
        for (j, &c) in ch.iter().enumerate() {
            spread[4 * j + i] = c;
        }
    }
    std::array::from_fn(|i| spread[(i + 15) % 16])
}

impl HduHeader {
    /// The structural keywords cfitsio writes for an image HDU: the primary's when
    /// `primary` (NAXIS 0 without `data`), an IMAGE extension's otherwise.
    pub fn image(primary: bool, data: Option<(&ImageData<'_>, (usize, usize))>) -> HduHeader {
        let bitpix = match data {
            Some((ImageData::F32(_) | ImageData::F32Made { .. }, _)) => "-32",
            Some((ImageData::U16(_), _)) => "16",
            Some((ImageData::U8(_), _)) | None => "8",
        };
        let mut records = Vec::with_capacity(40);
        if primary {
            records.push(fixed_card(
                "SIMPLE",
                "T",
                "file does conform to FITS standard",
            ));
        } else {
            records.push(string_card("XTENSION", "IMAGE", "IMAGE extension"));
        }
        records.push(fixed_card(
            "BITPIX",
            bitpix,
            "number of bits per data pixel",
        ));
        let axes = data.map(|(_, (rows, cols))| [cols, rows]);
        let naxis = axes.map_or(0, |a| a.len());
        records.push(fixed_card(
            "NAXIS",
            &naxis.to_string(),
            "number of data axes",
        ));
        for (i, length) in axes.iter().flatten().enumerate() {
            records.push(fixed_card(
                &format!("NAXIS{}", i + 1),
                &length.to_string(),
                &format!("length of data axis {}", i + 1),
            ));
        }
        if primary {
            records.push(fixed_card(
                "EXTEND",
                "T",
                "FITS dataset may contain extensions",
            ));
            records.push(padded(
                "COMMENT   FITS (Flexible Image Transport System) format is defined in 'Astronomy",
            ));
            records.push(padded(
                "COMMENT   and Astrophysics', volume 376, page 359; bibcode: 2001A&A...376..359H",
            ));
        } else {
            records.push(fixed_card("PCOUNT", "0", "required keyword; must = 0"));
            records.push(fixed_card("GCOUNT", "1", "required keyword; must = 1"));
        }
        if let Some((ImageData::U16(_), _)) = data {
            records.push(fixed_card(
                "BZERO",
                "32768",
                "offset data range to that of unsigned short",
            ));
            records.push(fixed_card("BSCALE", "1", "default scaling factor"));
        }
        HduHeader { records }
    }

    /// Appends a card as cfitsio's `ffprec` writes a record: cut to 80 bytes, every byte
    /// that is not printable ASCII made a space, the keyword name upper-cased. `Err` names
    /// what the keyword's name holds that FITS forbids.
    pub fn push_record(&mut self, raw: &str) -> Result<(), String> {
        let mut record = padded(raw);
        for b in &mut record {
            if !(b' '..=b'~').contains(b) {
                *b = b' ';
            }
        }
        let commentary = [b"COMMENT " as &[u8], b"HISTORY ", b"        ", b"CONTINUE"]
            .iter()
            .any(|k| record[..8].eq_ignore_ascii_case(k));
        let name_length = match record.iter().position(|&b| b == b'=') {
            Some(n) if !commentary => n,
            _ => 8,
        };
        record[..name_length].make_ascii_uppercase();
        let name = &record[..8];
        let legal = |b: &u8| b.is_ascii_uppercase() || b.is_ascii_digit() || b"-_".contains(b);
        let name_end = name.iter().position(|&b| b == b' ').unwrap_or(8);
        if !name[..name_end].iter().all(legal) || name[name_end..].iter().any(|&b| b != b' ') {
            return Err(format!(
                "keyword name {:?} holds a character FITS does not allow",
                String::from_utf8_lossy(&name[..name_end.max(1)]).trim_end()
            ));
        }
        self.records.push(record);
        Ok(())
    }

    /// Replaces the first card of `key` with a string card, or appends one (cfitsio's
    /// `ffukys`).
    fn update_string(&mut self, key: &str, value: &str, comment: &str) {
        let card = string_card(key, value, comment);
        match self.records.iter_mut().find(|r| is_card_of(r, key)) {
            Some(record) => *record = card,
            None => self.records.push(card),
        }
    }

    /// The header's bytes: the records, END, and spaces to the end of the last block.
    fn bytes(&self) -> Vec<u8> {
        let blocks = ((self.records.len() + 1) * RECORD).div_ceil(BLOCK);
        let mut bytes = Vec::with_capacity(blocks * BLOCK);
        for record in &self.records {
            bytes.extend_from_slice(record);
        }
        bytes.extend_from_slice(&padded("END"));
        bytes.resize(blocks * BLOCK, b' ');
        bytes
    }

    /// The finished header's bytes, with `DATASUM` = `datasum` and the `CHECKSUM` that
    /// makes the HDU sum to zero, as cfitsio's `ffukys` and `ffupck` set them: both
    /// updated, the checksum to zeros first; left so if the HDU already sums to zero, else
    /// computed with the comment that says when (`stamp`, UTC to the second).
    pub fn finish(mut self, datasum: u32, stamp: &str) -> Vec<u8> {
        const ZEROS: &str = "0000000000000000";
        self.update_string("DATASUM", &datasum.to_string(), "data unit checksum");
        self.update_string("CHECKSUM", ZEROS, "HDU checksum");
        let sum = ones_complement_sum(&self.bytes(), datasum);
        if sum == 0 || sum == u32::MAX {
            return self.bytes();
        }
        let comment = format!("HDU checksum updated {stamp}");
        self.update_string("CHECKSUM", ZEROS, &comment);
        let sum = ones_complement_sum(&self.bytes(), datasum);
        let encoded = encode_complement(sum);
        let checksum = String::from_utf8_lossy(&encoded);
        self.update_string("CHECKSUM", &checksum, &comment);
        self.bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_are_encoded_as_cfitsio_encodes_them() {
        let sums = (0..20_000u32)
            .map(|i| i.wrapping_mul(2_654_435_761))
            .chain([0, 1, u32::MAX, u32::MAX - 1, 0x3a3a_3a3a, 0x6060_6060]);
        for sum in sums {
            let mut theirs = [0 as std::os::raw::c_char; 17];
            // SAFETY: ffesum writes 16 characters and a NUL into the 17 given.
            unsafe { fitsio::sys::ffesum(sum.into(), 1, theirs.as_mut_ptr()) };
            let theirs: Vec<u8> = theirs[..16].iter().map(|&c| c as u8).collect();
            assert_eq!(encode_complement(sum).as_slice(), theirs, "{sum:#x}");
        }
    }

    #[test]
    fn records_are_cleaned_and_named_as_cfitsio_writes_them() {
        let mut header = HduHeader { records: vec![] };
        header.push_record("object  = 'bias'").unwrap();
        header.push_record("HIERARCH eso det = 'x\u{e9}'").unwrap();
        header.push_record("comment lower case stays").unwrap();
        assert_eq!(&header.records[0][..16], b"OBJECT  = 'bias'");
        assert_eq!(&header.records[1][..29], b"HIERARCH ESO DET = 'x  '     ");
        assert_eq!(&header.records[2][..25], b"COMMENT lower case stays ");
        assert!(header.push_record("BAD*KEY = 1").is_err());
        assert!(header.push_record("A B     = 1").is_err());
    }
}
