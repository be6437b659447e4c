//! Ticket codes: what a buyer shows at the door.
//!
//! A code is 60 random bits from a cryptographic generator, written in
//! Crockford's base32 as `XXXX-XXXX-XXXX` (no I, L, O or U, so it reads
//! aloud without confusion). Codes are made when a payment is recorded; the
//! order store keeps the first recorded set, so a replayed webhook cannot
//! change them.

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// One fresh ticket code.
pub fn ticket_code() -> String {
    let bits: u64 = rand::random::<u64>() >> 4;
    let mut code = String::with_capacity(14);
    for group in 0..3 {
        if group > 0 {
            code.push('-');
        }
        for digit in 0..4 {
            let shift = 55 - 5 * (group * 4 + digit);
            code.push(char::from(ALPHABET[((bits >> shift) & 31) as usize]));
        }
    }
    code
}

/// `quantity` fresh ticket codes.
pub fn ticket_codes(quantity: u16) -> Vec<String> {
    (0..quantity).map(|_| ticket_code()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticket_codes_are_three_groups_of_four_crockford_digits() {
        let codes = ticket_codes(50);
        assert_eq!(codes.len(), 50);
        for code in &codes {
            assert_eq!(code.len(), 14, "{code}");
            assert!(code.bytes().enumerate().all(|(i, b)| if i == 4 || i == 9 {
                b == b'-'
            } else {
                ALPHABET.contains(&b)
            }));
        }
        let distinct: std::collections::HashSet<_> = codes.iter().collect();
        assert_eq!(distinct.len(), codes.len());
    }
}
