//! Reference pre-tokenizer: splits strings exactly as tiktoken does (`fancy_regex::Regex::new(pattern)` then
//! `find_iter`), so the TypeScript tokenizer can be checked against the Rust regex semantics.
//!
//!   tokref split PATTERN_FILE < strings > pieces
//!     input:  one string per line, as space-separated hex code points (an empty line is the empty string)
//!     output: one line per input line: the pieces separated by '|', each as space-separated hex code points
//!   tokref classes
//!     for each class the pattern uses, one line "NAME lo-hi lo-hi ..." (hex code point ranges) as the regex crate sees it
use fancy_regex::Regex;
use std::io::{self, BufRead, Write};

fn parse(line: &str) -> String {
    line.split_whitespace()
        .map(|h| char::from_u32(u32::from_str_radix(h, 16).expect("hex")).expect("scalar value"))
        .collect()
}

fn hex(s: &str) -> String {
    s.chars().map(|c| format!("{:X}", c as u32)).collect::<Vec<_>>().join(" ")
}

fn split(pattern_file: &str) {
    let pattern = std::fs::read_to_string(pattern_file).expect("pattern file");
    let regex = Regex::new(pattern.trim_end_matches('\n')).expect("pattern compiles");
    let out = io::stdout();
    let mut out = out.lock();
    for line in io::stdin().lock().lines() {
        let text = parse(&line.expect("stdin"));
        let pieces: Vec<String> = regex.find_iter(&text).map(|m| hex(m.expect("match").as_str())).collect();
        writeln!(out, "{}", pieces.join("|")).unwrap();
    }
}

fn classes() {
    for (name, class) in [
        ("s", r"\s"), ("L", r"\p{L}"), ("N", r"\p{N}"), ("Lu", r"\p{Lu}"), ("Ll", r"\p{Ll}"), ("Lt", r"\p{Lt}"),
        ("Lm", r"\p{Lm}"), ("Lo", r"\p{Lo}"), ("M", r"\p{M}"), ("Cn", r"\p{Cn}"), ("Age15", r"\p{Age:15.0}"),
    ] {
        let regex = Regex::new(&format!("^{}$", class)).unwrap();
        let mut ranges: Vec<(u32, u32)> = Vec::new();
        for cp in 0..=0x10FFFFu32 {
            let Some(c) = char::from_u32(cp) else { continue };
            if !regex.is_match(c.encode_utf8(&mut [0; 4])).unwrap() { continue }
            match ranges.last_mut() {
                Some(last) if last.1 + 1 == cp => last.1 = cp,
                _ => ranges.push((cp, cp)),
            }
        }
        let text: Vec<String> = ranges.iter().map(|(a, b)| format!("{:X}-{:X}", a, b)).collect();
        println!("{} {}", name, text.join(" "));
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("split") => split(args.get(2).expect("tokref split PATTERN_FILE")),
        Some("classes") => classes(),
        _ => panic!("usage: tokref split PATTERN_FILE | tokref classes"),
    }
}
