//! Evaluation of `#if` / `#elif` expressions, as far as `.x` files use them.
//!
//! rpcgen runs `cpp`, so real files write `#if RPC_HDR`, `#if defined(X) && !defined(Y)`, or
//! compare a `#define`d number. This evaluator covers `defined`, `!`, `&&`, `||`, comparisons,
//! `+ - * / %`, parentheses and integer literals. Names follow cpp: an undefined name is 0; a name
//! defined with no value counts as 1 (cpp would reject it; files that test `#if NAME` after a bare
//! `#define NAME` mean "defined"); a name defined as an expression is evaluated in turn.

use std::collections::HashMap;

/// Deepest nesting of parentheses / macro expansion before giving up (hostile input guard).
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(i64),
    Name(String),
    Op(&'static str),
}

const OPS: [&str; 19] = [
    "&&", "||", "==", "!=", "<=", ">=", "<<", ">>", "!", "<", ">", "+", "-", "*", "/", "%", "(",
    ")", "~",
];

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let word = &text[start..i];
            out.push(Tok::Num(
                parse_c_integer(word).ok_or_else(|| format!("bad number `{word}`"))?,
            ));
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Name(text[start..i].to_string()));
        } else if let Some(op) = OPS.iter().find(|op| text[i..].starts_with(**op)) {
            out.push(Tok::Op(op));
            i += op.len();
        } else {
            let ch = text[i..].chars().next().unwrap_or('?');
            return Err(format!("unexpected `{ch}`"));
        }
    }
    Ok(out)
}

/// A C integer literal: decimal, `0x` hex or `0` octal, with optional `u`/`l` suffixes.
pub(crate) fn parse_c_integer(word: &str) -> Option<i64> {
    let digits = word.trim_end_matches(['u', 'U', 'l', 'L']);
    let (radix, body) = if let Some(hex) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        (16, hex)
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, &digits[1..])
    } else {
        (10, digits)
    };
    if body.is_empty() {
        return None;
    }
    u64::from_str_radix(body, radix).ok().map(|v| v as i64)
}

/// Evaluates `text` with `defines` (name → body; empty body for `#define NAME`).
pub(crate) fn evaluate(text: &str, defines: &HashMap<String, String>) -> Result<i64, String> {
    eval_at_depth(text, defines, 0)
}

fn eval_at_depth(
    text: &str,
    defines: &HashMap<String, String>,
    depth: usize,
) -> Result<i64, String> {
    if depth > MAX_DEPTH {
        return Err("macros expand too deeply".to_string());
    }
    let tokens = tokenize(text)?;
    if tokens.is_empty() {
        return Err("empty expression".to_string());
    }
    let mut parser = ExprParser {
        tokens,
        pos: 0,
        defines,
        depth,
    };
    let value = parser.binary(0, 0)?;
    match parser.tokens.get(parser.pos) {
        None => Ok(value),
        Some(tok) => Err(format!("unexpected {}", describe(tok))),
    }
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Num(n) => format!("`{n}`"),
        Tok::Name(n) => format!("`{n}`"),
        Tok::Op(o) => format!("`{o}`"),
    }
}

struct ExprParser<'a> {
    tokens: Vec<Tok>,
    pos: usize,
    defines: &'a HashMap<String, String>,
    depth: usize,
}

/// Binary operators by precedence level, lowest first.
const LEVELS: [&[&str]; 7] = [
    &["||"],
    &["&&"],
    &["==", "!="],
    &["<", ">", "<=", ">="],
    &["<<", ">>"],
    &["+", "-"],
    &["*", "/", "%"],
];

impl ExprParser<'_> {
    fn peek_op(&self) -> Option<&'static str> {
        match self.tokens.get(self.pos) {
            Some(Tok::Op(op)) => Some(op),
            _ => None,
        }
    }

    fn binary(&mut self, level: usize, nesting: usize) -> Result<i64, String> {
        if level == LEVELS.len() {
            return self.unary(nesting);
        }
        let mut lhs = self.binary(level + 1, nesting)?;
        while let Some(op) = self.peek_op().filter(|op| LEVELS[level].contains(op)) {
            self.pos += 1;
            let rhs = self.binary(level + 1, nesting)?;
            lhs = apply(op, lhs, rhs)?;
        }
        Ok(lhs)
    }

    fn unary(&mut self, nesting: usize) -> Result<i64, String> {
        if nesting > MAX_DEPTH {
            return Err("expression nests too deeply".to_string());
        }
        let tok = self
            .tokens
            .get(self.pos)
            .cloned()
            .ok_or_else(|| "expression ends early".to_string())?;
        self.pos += 1;
        match tok {
            Tok::Num(n) => Ok(n),
            Tok::Op("!") => Ok(i64::from(self.unary(nesting + 1)? == 0)),
            Tok::Op("~") => Ok(!self.unary(nesting + 1)?),
            Tok::Op("-") => Ok(self.unary(nesting + 1)?.wrapping_neg()),
            Tok::Op("+") => self.unary(nesting + 1),
            Tok::Op("(") => {
                let v = self.binary(0, nesting + 1)?;
                self.expect(")")?;
                Ok(v)
            }
            Tok::Name(name) if name == "defined" => self.defined(),
            Tok::Name(name) => self.lookup(&name),
            Tok::Op(op) => Err(format!("unexpected `{op}`")),
        }
    }

    fn expect(&mut self, op: &str) -> Result<(), String> {
        if self.peek_op() == Some(op) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected `{op}`"))
        }
    }

    /// `defined NAME` or `defined(NAME)`.
    fn defined(&mut self) -> Result<i64, String> {
        let parens = self.peek_op() == Some("(");
        if parens {
            self.pos += 1;
        }
        let Some(Tok::Name(name)) = self.tokens.get(self.pos).cloned() else {
            return Err("expected a name after `defined`".to_string());
        };
        self.pos += 1;
        if parens {
            self.expect(")")?;
        }
        Ok(i64::from(self.defines.contains_key(&name)))
    }

    fn lookup(&self, name: &str) -> Result<i64, String> {
        match self.defines.get(name) {
            None => Ok(0),
            Some(body) if body.trim().is_empty() => Ok(1),
            Some(body) => eval_at_depth(body, self.defines, self.depth + 1),
        }
    }
}

fn apply(op: &str, a: i64, b: i64) -> Result<i64, String> {
    Ok(match op {
        "||" => i64::from(a != 0 || b != 0),
        "&&" => i64::from(a != 0 && b != 0),
        "==" => i64::from(a == b),
        "!=" => i64::from(a != b),
        "<" => i64::from(a < b),
        ">" => i64::from(a > b),
        "<=" => i64::from(a <= b),
        ">=" => i64::from(a >= b),
        "<<" => a.wrapping_shl(b as u32),
        ">>" => a.wrapping_shr(b as u32),
        "+" => a.wrapping_add(b),
        "-" => a.wrapping_sub(b),
        "*" => a.wrapping_mul(b),
        "/" | "%" if b == 0 => return Err("division by zero".to_string()),
        "/" => a.wrapping_div(b),
        "%" => a.wrapping_rem(b),
        _ => return Err(format!("unsupported operator `{op}`")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn names_follow_cpp_with_bare_defines_as_one() {
        let d = defs(&[("A", ""), ("B", "3"), ("C", "B + 1")]);
        assert_eq!(evaluate("A", &d), Ok(1));
        assert_eq!(evaluate("RPC_HDR", &d), Ok(0));
        assert_eq!(evaluate("C == 4", &d), Ok(1));
        assert_eq!(evaluate("defined(A) && !defined RPC_XDR", &d), Ok(1));
        assert_eq!(evaluate("defined(Z) || (B > 2 && 0x10 == 16)", &d), Ok(1));
        assert_eq!(evaluate("010 == 8", &d), Ok(1));
    }

    #[test]
    fn malformed_expressions_are_errors_not_panics() {
        let d = defs(&[("LOOP", "LOOP")]);
        assert!(evaluate("", &d).is_err());
        assert!(evaluate("(1", &d).is_err());
        assert!(evaluate("1 / 0", &d).is_err());
        assert!(evaluate("LOOP", &d).is_err());
        assert!(evaluate(&"(".repeat(10_000), &d).is_err());
        assert!(evaluate("defined", &d).is_err());
        assert!(evaluate("1 $ 2", &d).is_err());
    }
}
