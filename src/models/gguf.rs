//! Reads what a GGUF file says about itself, straight from its header, for
//! `cmdai model info` and `cmdai model import`: no model is loaded, so it
//! takes milliseconds and works on files llama.cpp would refuse.
//!
//! Layout (little-endian): magic `GGUF`, u32 version (2 or 3), u64 tensor
//! count, u64 key/value count, the typed key/values, then one record per
//! tensor (name, dims, type, offset). Strings are a u64 length and UTF-8
//! bytes. Big arrays (the tokenizer's vocabulary) are skipped, not kept.

use std::collections::BTreeMap;
use std::io::{BufReader, Read};
use std::path::Path;

/// The four bytes every GGUF file starts with.
pub const MAGIC: &[u8; 4] = b"GGUF";

/// One metadata value; arrays keep only their length and element type.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i128),
    Float(f64),
    Bool(bool),
    Str(String),
    Array { len: u64 },
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Int(n) => write!(f, "{n}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Str(s) => f.write_str(s),
            Value::Array { len } => write!(f, "[{len} items]"),
        }
    }
}

/// What the header holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Header {
    pub version: u32,
    pub tensor_count: u64,
    pub metadata: BTreeMap<String, Value>,
    /// Sum of the element counts of all tensors.
    pub parameters: u64,
    /// How many bytes the file must have to hold every tensor the header
    /// lists (header, padding, then the data up to the end of the last
    /// tensor); `None` for a file without tensors.
    pub needed_size: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum GgufError {
    #[error("it is not a GGUF model file (it does not start with `GGUF`)")]
    NotGguf,
    #[error("it is GGUF version {0}, which cmdai cannot read (only 2 and 3)")]
    Version(u32),
    #[error("its GGUF header is damaged ({0})")]
    Damaged(String),
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// Upper bounds that keep a damaged or crafted header from asking for absurd
/// memory or recursing off the stack: a string's length, an array's or the
/// header's counts, and how deep arrays may nest (real models never nest).
const MAX_STRING: u64 = 64 << 20;
const MAX_COUNT: u64 = 1 << 32;
const MAX_DEPTH: u32 = 4;

struct Reader<R> {
    r: R,
    /// Bytes read so far (where the tensor data starts, once the header is read).
    pos: u64,
}

impl<R: Read> Reader<R> {
    fn bytes<const N: usize>(&mut self) -> Result<[u8; N], GgufError> {
        let mut b = [0u8; N];
        self.pos += N as u64;
        self.r.read_exact(&mut b).map_err(|e| {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                GgufError::Damaged("it ends inside the header".into())
            } else {
                GgufError::Io(e)
            }
        })?;
        Ok(b)
    }
    fn u32(&mut self) -> Result<u32, GgufError> {
        Ok(u32::from_le_bytes(self.bytes()?))
    }
    fn u64(&mut self) -> Result<u64, GgufError> {
        Ok(u64::from_le_bytes(self.bytes()?))
    }
    fn count(&mut self, what: &str) -> Result<u64, GgufError> {
        let n = self.u64()?;
        if n > MAX_COUNT {
            return Err(GgufError::Damaged(format!("{what} count {n}")));
        }
        Ok(n)
    }
    fn skip(&mut self, n: u64) -> Result<(), GgufError> {
        let copied = std::io::copy(&mut (&mut self.r).take(n), &mut std::io::sink())?;
        self.pos += copied;
        if copied != n {
            return Err(GgufError::Damaged("it ends inside the header".into()));
        }
        Ok(())
    }
    /// A string's length, refused above [`MAX_STRING`].
    fn string_len(&mut self) -> Result<u64, GgufError> {
        let n = self.u64()?;
        if n > MAX_STRING {
            return Err(GgufError::Damaged(format!("a string of {n} bytes")));
        }
        Ok(n)
    }
    fn string(&mut self) -> Result<String, GgufError> {
        let n = self.string_len()?;
        // Grows with what is really there: a length the file does not back
        // costs no memory up front.
        let mut b = Vec::with_capacity(n.min(1 << 16) as usize);
        (&mut self.r).take(n).read_to_end(&mut b)?;
        self.pos += b.len() as u64;
        if b.len() as u64 != n {
            return Err(GgufError::Damaged("it ends inside the header".into()));
        }
        Ok(String::from_utf8_lossy(&b).into_owned())
    }
    /// A value of type `t`; `keep` false skips strings (array elements).
    /// `depth` counts the arrays around it.
    fn value(&mut self, t: u32, keep: bool, depth: u32) -> Result<Value, GgufError> {
        Ok(match t {
            0 => Value::Int(self.bytes::<1>()?[0] as i128),
            1 => Value::Int(self.bytes::<1>()?[0] as i8 as i128),
            2 => Value::Int(u16::from_le_bytes(self.bytes()?) as i128),
            3 => Value::Int(i16::from_le_bytes(self.bytes()?) as i128),
            4 => Value::Int(self.u32()? as i128),
            5 => Value::Int(i32::from_le_bytes(self.bytes()?) as i128),
            6 => Value::Float(f32::from_le_bytes(self.bytes()?) as f64),
            7 => Value::Bool(self.bytes::<1>()?[0] != 0),
            8 if keep => Value::Str(self.string()?),
            8 => {
                let n = self.string_len()?;
                self.skip(n)?;
                Value::Str(String::new())
            }
            9 => {
                if depth >= MAX_DEPTH {
                    return Err(GgufError::Damaged(format!(
                        "arrays nested more than {MAX_DEPTH} deep"
                    )));
                }
                let et = self.u32()?;
                let len = self.count("array")?;
                let width = match et {
                    0 | 1 | 7 => Some(1),
                    2 | 3 => Some(2),
                    4..=6 => Some(4),
                    10..=12 => Some(8),
                    _ => None,
                };
                match width {
                    Some(w) => self.skip(len * w)?,
                    None => {
                        for _ in 0..len {
                            self.value(et, false, depth + 1)?;
                        }
                    }
                }
                Value::Array { len }
            }
            10 => Value::Int(self.u64()? as i128),
            11 => Value::Int(i64::from_le_bytes(self.bytes()?) as i128),
            12 => Value::Float(f64::from_le_bytes(self.bytes()?)),
            other => return Err(GgufError::Damaged(format!("unknown value type {other}"))),
        })
    }
}

/// True when the file starts with the GGUF magic.
pub fn is_gguf(path: &Path) -> std::io::Result<bool> {
    let mut b = [0u8; 4];
    let mut f = std::fs::File::open(path)?;
    match f.read_exact(&mut b) {
        Ok(()) => Ok(&b == MAGIC),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e),
    }
}

/// Reads the header of the GGUF file at `path`.
pub fn read(path: &Path) -> Result<Header, GgufError> {
    parse(BufReader::with_capacity(
        1 << 16,
        std::fs::File::open(path)?,
    ))
}

/// Reads a GGUF header from `r`.
pub fn parse(r: impl Read) -> Result<Header, GgufError> {
    let mut r = Reader { r, pos: 0 };
    let magic: [u8; 4] = r.bytes().map_err(|_| GgufError::NotGguf)?;
    if &magic != MAGIC {
        return Err(GgufError::NotGguf);
    }
    let version = r.u32()?;
    if !(2..=3).contains(&version) {
        return Err(GgufError::Version(version));
    }
    let tensor_count = r.count("tensor")?;
    let kv_count = r.count("key/value")?;
    let mut metadata = BTreeMap::new();
    for _ in 0..kv_count {
        let key = r.string()?;
        let t = r.u32()?;
        let v = r.value(t, true, 0)?;
        metadata.insert(key, v);
    }
    let mut parameters: u64 = 0;
    // Where the last tensor's data ends, from the data section's start; a
    // lower bound where a tensor's type is one this table does not know.
    let mut data_end: u64 = 0;
    for _ in 0..tensor_count {
        let n = r.string_len()?;
        r.skip(n)?;
        let dims = r.u32()?;
        if dims > 8 {
            return Err(GgufError::Damaged(format!(
                "a tensor with {dims} dimensions"
            )));
        }
        let mut elems: u64 = 1;
        for _ in 0..dims {
            elems = elems.saturating_mul(r.u64()?);
        }
        let kind = r.u32()?;
        let offset = r.u64()?;
        parameters = parameters.saturating_add(elems);
        let bytes = tensor_bytes(kind, elems).unwrap_or(0);
        data_end = data_end.max(offset.saturating_add(bytes));
    }
    let align = match metadata.get("general.alignment") {
        Some(Value::Int(n)) if *n > 0 => *n as u64,
        _ => 32,
    };
    let data_start = r.pos.div_ceil(align).saturating_mul(align);
    Ok(Header {
        version,
        tensor_count,
        metadata,
        parameters,
        needed_size: (tensor_count > 0).then(|| data_start.saturating_add(data_end)),
    })
}

impl Header {
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.metadata.get(key)
    }
    fn str(&self, key: &str) -> Option<&str> {
        match self.get(key) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }
    fn int(&self, key: &str) -> Option<i128> {
        match self.get(key) {
            Some(Value::Int(n)) => Some(*n),
            _ => None,
        }
    }

    pub fn architecture(&self) -> Option<&str> {
        self.str("general.architecture")
    }
    pub fn name(&self) -> Option<&str> {
        self.str("general.name")
    }
    /// `general.size_label` ("1.5B"), else the counted parameters.
    pub fn parameter_label(&self) -> String {
        match self.str("general.size_label") {
            Some(l) => format!("{l} ({} parameters)", human_count(self.parameters)),
            None => format!("{} parameters", human_count(self.parameters)),
        }
    }
    /// The trained context window, `<arch>.context_length`.
    pub fn context_length(&self) -> Option<u64> {
        let arch = self.architecture()?;
        self.int(&format!("{arch}.context_length"))
            .and_then(|n| u64::try_from(n).ok())
    }
    /// `general.file_type` as llama.cpp names it ("Q4_K_M").
    pub fn file_type(&self) -> Option<String> {
        self.int("general.file_type")
            .map(|n| file_type_name(n).map_or_else(|| format!("type {n}"), str::to_owned))
    }
    pub fn has_chat_template(&self) -> bool {
        self.str("tokenizer.chat_template")
            .is_some_and(|t| !t.trim().is_empty())
    }
    pub fn tokenizer(&self) -> Option<&str> {
        self.str("tokenizer.ggml.model")
    }
}

/// Bytes of a tensor of ggml type `kind` with `elems` elements, for the
/// types llama.cpp writes (blocks of `block` elements, `size` bytes each).
fn tensor_bytes(kind: u32, elems: u64) -> Option<u64> {
    let (block, size) = match kind {
        0 => (1, 4),      // F32
        1 => (1, 2),      // F16
        2 => (32, 18),    // Q4_0
        3 => (32, 20),    // Q4_1
        6 => (32, 22),    // Q5_0
        7 => (32, 24),    // Q5_1
        8 => (32, 34),    // Q8_0
        9 => (32, 36),    // Q8_1
        10 => (256, 84),  // Q2_K
        11 => (256, 110), // Q3_K
        12 => (256, 144), // Q4_K
        13 => (256, 176), // Q5_K
        14 => (256, 210), // Q6_K
        15 => (256, 292), // Q8_K
        16 => (256, 66),  // IQ2_XXS
        17 => (256, 74),  // IQ2_XS
        18 => (256, 98),  // IQ3_XXS
        19 => (256, 50),  // IQ1_S
        20 => (32, 18),   // IQ4_NL
        21 => (256, 110), // IQ3_S
        22 => (256, 82),  // IQ2_S
        23 => (256, 136), // IQ4_XS
        24 => (1, 1),     // I8
        25 => (1, 2),     // I16
        26 => (1, 4),     // I32
        27 => (1, 8),     // I64
        28 => (1, 8),     // F64
        29 => (256, 56),  // IQ1_M
        30 => (1, 2),     // BF16
        34 => (256, 54),  // TQ1_0
        35 => (256, 66),  // TQ2_0
        _ => return None,
    };
    Some(elems.div_ceil(block).saturating_mul(size))
}

/// When the file at `path` is shorter than its GGUF header says it must be
/// (a download or copy that stopped early): one sentence with both sizes.
pub fn truncation(path: &Path) -> Option<String> {
    let needed = read(path).ok()?.needed_size?;
    let found = std::fs::metadata(path).ok()?.len();
    (found < needed).then(|| {
        format!(
            "{} is truncated: it has {found} bytes of the {needed} its GGUF header describes (a download or copy that stopped early)",
            path.display()
        )
    })
}

/// "1.54 B", "494 M".
pub fn human_count(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{:.2} B", n as f64 / 1e9),
        n if n >= 1_000_000 => format!("{:.0} M", n as f64 / 1e6),
        n => n.to_string(),
    }
}

/// llama.cpp's `llama_ftype` names.
fn file_type_name(n: i128) -> Option<&'static str> {
    Some(match n {
        0 => "F32",
        1 => "F16",
        2 => "Q4_0",
        3 => "Q4_1",
        7 => "Q8_0",
        8 => "Q5_0",
        9 => "Q5_1",
        10 => "Q2_K",
        11 => "Q3_K_S",
        12 => "Q3_K_M",
        13 => "Q3_K_L",
        14 => "Q4_K_S",
        15 => "Q4_K_M",
        16 => "Q5_K_S",
        17 => "Q5_K_M",
        18 => "Q6_K",
        19 => "IQ2_XXS",
        20 => "IQ2_XS",
        21 => "Q2_K_S",
        22 => "IQ3_XS",
        23 => "IQ3_XXS",
        24 => "IQ1_S",
        25 => "IQ4_NL",
        26 => "IQ3_S",
        27 => "IQ3_M",
        28 => "IQ2_S",
        29 => "IQ2_M",
        30 => "IQ4_XS",
        31 => "IQ1_M",
        32 => "BF16",
        36 => "TQ1_0",
        37 => "TQ2_0",
        _ => return None,
    })
}

/// Builds a small GGUF file in memory (tests here and elsewhere).
#[cfg(test)]
pub(crate) mod synth {
    pub fn string(out: &mut Vec<u8>, s: &str) {
        out.extend((s.len() as u64).to_le_bytes());
        out.extend(s.as_bytes());
    }

    /// A header with a few typical keys and two tensors (4x3 and 5).
    pub fn header() -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(super::MAGIC);
        b.extend(3u32.to_le_bytes());
        b.extend(2u64.to_le_bytes()); // tensors
        b.extend(7u64.to_le_bytes()); // key/values
        let kv_str = |b: &mut Vec<u8>, k: &str, v: &str| {
            string(b, k);
            b.extend(8u32.to_le_bytes());
            string(b, v);
        };
        kv_str(&mut b, "general.architecture", "qwen2");
        kv_str(&mut b, "general.size_label", "1.5B");
        string(&mut b, "qwen2.context_length");
        b.extend(4u32.to_le_bytes());
        b.extend(32768u32.to_le_bytes());
        string(&mut b, "general.file_type");
        b.extend(4u32.to_le_bytes());
        b.extend(15u32.to_le_bytes());
        kv_str(&mut b, "tokenizer.ggml.model", "gpt2");
        // An array of strings, to be skipped.
        string(&mut b, "tokenizer.ggml.tokens");
        b.extend(9u32.to_le_bytes());
        b.extend(8u32.to_le_bytes());
        b.extend(3u64.to_le_bytes());
        for t in ["a", "bb", "ccc"] {
            string(&mut b, t);
        }
        kv_str(&mut b, "tokenizer.chat_template", "{{ messages }}");
        for (name, dims) in [("w", &[4u64, 3][..]), ("b", &[5u64][..])] {
            string(&mut b, name);
            b.extend((dims.len() as u32).to_le_bytes());
            for d in dims {
                b.extend(d.to_le_bytes());
            }
            b.extend(0u32.to_le_bytes());
            b.extend(0u64.to_le_bytes());
        }
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn synthetic_header_is_read() {
        let h = parse(&synth::header()[..]).unwrap();
        assert_eq!(h.version, 3);
        assert_eq!(h.tensor_count, 2);
        assert_eq!(h.architecture(), Some("qwen2"));
        assert_eq!(h.context_length(), Some(32768));
        assert_eq!(h.file_type().as_deref(), Some("Q4_K_M"));
        assert_eq!(h.tokenizer(), Some("gpt2"));
        assert!(h.has_chat_template());
        assert_eq!(h.parameters, 17);
        assert_eq!(h.parameter_label(), "1.5B (17 parameters)");
        // Both tensors are F32 at offset 0: the longer, 12 floats, sets the end.
        let start = (synth::header().len() as u64).div_ceil(32) * 32;
        assert_eq!(h.needed_size, Some(start + 48));
        assert_eq!(
            h.get("tokenizer.ggml.tokens"),
            Some(&Value::Array { len: 3 })
        );
    }

    #[test]
    fn bad_files_are_refused_clearly() {
        assert!(matches!(
            parse(&b"PK\x03\x04rest"[..]),
            Err(GgufError::NotGguf)
        ));
        assert!(matches!(parse(&b""[..]), Err(GgufError::NotGguf)));
        let mut v1 = synth::header();
        v1[4] = 1;
        assert!(matches!(parse(&v1[..]), Err(GgufError::Version(1))));
        let full = synth::header();
        let cut = &full[..full.len() - 10];
        let e = parse(cut).unwrap_err();
        assert!(e.to_string().contains("ends inside the header"), "{e}");
        let mut huge = synth::header();
        huge[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(parse(&huge[..]), Err(GgufError::Damaged(_))));
    }

    /// A header whose one key holds `value` (type tag and bytes).
    fn one_key(t: u32, value: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(MAGIC);
        b.extend(3u32.to_le_bytes());
        b.extend(0u64.to_le_bytes());
        b.extend(1u64.to_le_bytes());
        synth::string(&mut b, "k");
        b.extend(t.to_le_bytes());
        b.extend(value);
        b
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        // A million arrays, each holding one array: unbounded recursion would
        // overflow the stack long before the end.
        let mut v = Vec::new();
        for _ in 0..1_000_000 {
            v.extend(9u32.to_le_bytes());
            v.extend(1u64.to_le_bytes());
        }
        let e = parse(&one_key(9, &v)[..]).unwrap_err();
        assert!(e.to_string().contains("nested more than 4 deep"), "{e}");
        // Nesting within the limit still reads.
        let mut ok = Vec::new();
        for _ in 0..3 {
            ok.extend(9u32.to_le_bytes());
            ok.extend(1u64.to_le_bytes());
        }
        ok.extend(4u32.to_le_bytes());
        ok.extend(1u64.to_le_bytes());
        ok.extend(7u32.to_le_bytes());
        let h = parse(&one_key(9, &ok)[..]).unwrap();
        assert_eq!(h.get("k"), Some(&Value::Array { len: 1 }));
    }

    #[test]
    fn huge_lengths_are_errors_without_huge_allocations() {
        let damaged = |b: Vec<u8>| match parse(&b[..]) {
            Err(GgufError::Damaged(m)) => m,
            other => panic!("expected a damaged header, got {other:?}"),
        };
        // A string far over the limit, and one under it the file does not
        // back (63 MiB promised, 3 bytes there: refused, nothing allocated up front).
        assert!(damaged(one_key(8, &u64::MAX.to_le_bytes())).contains("a string of"));
        let mut short = (63u64 << 20).to_le_bytes().to_vec();
        short.extend(b"abc");
        assert!(damaged(one_key(8, &short)).contains("ends inside"));
        // Arrays: an absurd count, and a plausible one of strings with nothing behind it.
        let mut arr = 8u32.to_le_bytes().to_vec();
        arr.extend(u64::MAX.to_le_bytes());
        assert!(damaged(one_key(9, &arr)).contains("array count"));
        let mut arr = 8u32.to_le_bytes().to_vec();
        arr.extend((1u64 << 32).to_le_bytes());
        assert!(damaged(one_key(9, &arr)).contains("ends inside"));
        // Counts in the header itself, and a key or tensor name of absurd length.
        let mut h = synth::header();
        h[8..16].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(damaged(h).contains("tensor count"));
        let mut b = Vec::new();
        b.extend(MAGIC);
        b.extend(3u32.to_le_bytes());
        b.extend(0u64.to_le_bytes());
        b.extend(1u64.to_le_bytes());
        b.extend(u64::MAX.to_le_bytes());
        assert!(damaged(b).contains("a string of"));
        let mut b = Vec::new();
        b.extend(MAGIC);
        b.extend(3u32.to_le_bytes());
        b.extend(1u64.to_le_bytes());
        b.extend(0u64.to_le_bytes());
        b.extend(u64::MAX.to_le_bytes());
        assert!(damaged(b).contains("a string of"));
    }

    #[test]
    fn mutated_and_truncated_headers_never_panic() {
        let good = synth::header();
        let mut rng = crate::test_rng::Rng(0x9E37_79B9_7F4A_7C15);
        let (mut ok, mut err) = (0, 0);
        for i in 0..20_000 {
            let mut b = good.clone();
            // 1 to 4 mutations: a random byte, an interesting word written
            // over any offset (lengths, counts, type tags), or a truncation.
            for _ in 0..1 + rng.below(4) {
                match rng.below(4) {
                    0 => {
                        let at = rng.below(b.len());
                        b[at] = rng.next() as u8;
                    }
                    1 => {
                        let words: [u64; 6] =
                            [0, 9, u32::MAX as u64, 1 << 32, MAX_STRING + 1, u64::MAX];
                        let w = words[rng.below(words.len())].to_le_bytes();
                        let at = rng.below(b.len());
                        let n = (b.len() - at).min(8);
                        b[at..at + n].copy_from_slice(&w[..n]);
                    }
                    2 => {
                        // Array-of-array tags spliced in, to reach the nesting limit.
                        let at = rng.below(b.len());
                        for _ in 0..rng.below(64) {
                            b.splice(at..at, [9, 0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
                        }
                    }
                    _ => {
                        let keep = rng.below(b.len());
                        b.truncate(keep);
                    }
                }
                if b.is_empty() {
                    break;
                }
            }
            match parse(&b[..]) {
                Ok(_) => ok += 1,
                Err(e) => {
                    assert!(!e.to_string().is_empty(), "iteration {i}");
                    err += 1;
                }
            }
            // Every strict prefix of the valid header is an error.
            let cut = rng.below(good.len());
            assert!(
                parse(&good[..cut]).is_err(),
                "prefix of {cut} bytes read as valid"
            );
        }
        // The mutations reach both outcomes (the test is not vacuous).
        assert!(ok > 100 && err > 10_000, "ok {ok}, err {err}");
    }

    #[test]
    fn magic_check_on_files() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("a.gguf");
        std::fs::write(&good, synth::header()).unwrap();
        assert!(is_gguf(&good).unwrap());
        let bad = dir.path().join("b.gguf");
        std::fs::write(&bad, b"GG").unwrap();
        assert!(!is_gguf(&bad).unwrap());
        assert_eq!(read(&good).unwrap().architecture(), Some("qwen2"));
    }
}
