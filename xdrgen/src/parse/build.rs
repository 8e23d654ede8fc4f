//! pest pairs → [`crate::ast`] nodes, with docs attached and literals checked.
//!
//! The grammar fixes the shape of every pair, so the walk below takes children in order; a
//! mismatch between the two would be a bug in this module, not in the input.

use pest::iterators::Pair;

use crate::ast::*;
use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::source::{FileId, Span};

use super::doc::{self, Docs};
use super::grammar::Rule;

/// Builds AST nodes for one file.
pub(crate) struct Builder<'a, 'd> {
    file: FileId,
    docs: Docs<'a>,
    diags: &'d mut Diagnostics,
}

type P<'i> = Pair<'i, Rule>;

/// Children of a pair without punctuation (keywords and brackets carry no information once the
/// pair's rule is known).
fn parts(pair: P<'_>) -> impl Iterator<Item = P<'_>> {
    pair.into_inner().filter(|p| {
        !matches!(
            p.as_rule(),
            Rule::semi
                | Rule::comma
                | Rule::colon
                | Rule::eq
                | Rule::star
                | Rule::lbrace
                | Rule::rbrace
                | Rule::lparen
                | Rule::rparen
                | Rule::lbracket
                | Rule::rbracket
                | Rule::langle
                | Rule::rangle
                | Rule::kw_const
                | Rule::kw_typedef
                | Rule::kw_enum
                | Rule::kw_struct
                | Rule::kw_union
                | Rule::kw_program
                | Rule::kw_version
                | Rule::kw_switch
                | Rule::kw_case
                | Rule::kw_default
                | Rule::kw_opaque
                | Rule::kw_string
        )
    })
}

/// The next child; the grammar guarantees it exists.
fn next<'i>(it: &mut impl Iterator<Item = P<'i>>) -> P<'i> {
    it.next()
        .expect("grammar.pest guarantees this child (parse/build.rs out of sync)")
}

impl<'a, 'd> Builder<'a, 'd> {
    /// A builder for `file`.
    pub(crate) fn new(file: FileId, docs: Docs<'a>, diags: &'d mut Diagnostics) -> Self {
        Builder { file, docs, diags }
    }

    fn span(&self, pair: &P<'_>) -> Span {
        let s = pair.as_span();
        Span::new(self.file, s.start(), s.end())
    }

    /// The leading doc of a node plus any comment on the line where it ends.
    fn node_doc(&self, pair: &P<'_>) -> Doc {
        let s = pair.as_span();
        let mut d = self.docs.leading(s.start());
        doc::append(&mut d, self.docs.trailing(s.end()));
        d
    }

    /// Adds a comment written on the line of a body's `{` to `doc`.
    fn brace_doc(&self, doc: &mut Doc, body: &P<'_>) {
        if let Some(lbrace) = body
            .clone()
            .into_inner()
            .find(|p| p.as_rule() == Rule::lbrace)
        {
            doc::append(doc, self.docs.trailing(lbrace.as_span().end()));
        }
    }

    /// The definitions of a `file` pair.
    pub(crate) fn file(&mut self, pair: P<'_>) -> Vec<Definition> {
        pair.into_inner()
            .filter(|p| p.as_rule() != Rule::EOI)
            .filter_map(|p| self.definition(p))
            .collect()
    }

    /// A definition; `None` for a string constant whose text cannot be a Rust `&str`.
    fn definition(&mut self, pair: P<'_>) -> Option<Definition> {
        let span = self.span(&pair);
        let mut doc = self.node_doc(&pair);
        let rule = pair.as_rule();
        if rule == Rule::program_def {
            self.brace_doc(&mut doc, &pair);
        }
        let mut it = parts(pair);
        let kind = match rule {
            Rule::const_def => {
                let name = self.ident(next(&mut it));
                let value = next(&mut it);
                if value.as_rule() == Rule::string_lit {
                    let quoted = value.as_str();
                    return match unescape_c(&quoted[1..quoted.len() - 1]) {
                        Ok(text) => Some(Definition {
                            doc,
                            kind: DefinitionKind::StringConst { name, text },
                            span,
                        }),
                        Err(why) => {
                            self.diags.push(Diagnostic::warning(
                                self.span(&value),
                                format!("string constant `{}` ignored: {why}", name.name),
                            ));
                            None
                        }
                    };
                }
                let value = self.value(value);
                DefinitionKind::Const { name, value }
            }
            Rule::typedef_def => DefinitionKind::Typedef(self.declaration(next(&mut it))),
            Rule::enum_def => {
                let name = self.ident(next(&mut it));
                let body = next(&mut it);
                self.brace_doc(&mut doc, &body);
                DefinitionKind::Enum {
                    name,
                    body: self.enum_body(body),
                }
            }
            Rule::struct_def => {
                let name = self.ident(next(&mut it));
                let body = next(&mut it);
                self.brace_doc(&mut doc, &body);
                DefinitionKind::Struct {
                    name,
                    body: self.struct_body(body),
                }
            }
            Rule::union_def => {
                let name = self.ident(next(&mut it));
                let body = next(&mut it);
                self.brace_doc(&mut doc, &body);
                DefinitionKind::Union {
                    name,
                    body: self.union_body(body),
                }
            }
            _ => {
                // `program_def`: the only other rule `file` holds. Its `{` is a direct child.
                let whole = it.collect::<Vec<_>>();
                DefinitionKind::Program(self.program(whole))
            }
        };
        Some(Definition { doc, kind, span })
    }

    fn program(&mut self, parts: Vec<P<'_>>) -> Program {
        let mut it = parts.into_iter();
        let name = self.ident(next(&mut it));
        let mut versions = Vec::new();
        let mut number = None;
        for p in it {
            match p.as_rule() {
                Rule::version_def => versions.push(self.version(p)),
                _ => number = Some(self.value(p)),
            }
        }
        Program {
            number: number.unwrap_or_else(|| placeholder(name.span)),
            name,
            versions,
        }
    }

    fn version(&mut self, pair: P<'_>) -> Version {
        let span = self.span(&pair);
        let mut doc = self.node_doc(&pair);
        self.brace_doc(&mut doc, &pair);
        let mut it = parts(pair);
        let name = self.ident(next(&mut it));
        let mut procedures = Vec::new();
        let mut number = None;
        for p in it {
            match p.as_rule() {
                Rule::procedure_def => procedures.push(self.procedure(p)),
                _ => number = Some(self.value(p)),
            }
        }
        Version {
            doc,
            number: number.unwrap_or_else(|| placeholder(name.span)),
            name,
            procedures,
            span,
        }
    }

    fn procedure(&mut self, pair: P<'_>) -> Procedure {
        let span = self.span(&pair);
        let doc = self.node_doc(&pair);
        let mut it = parts(pair);
        let result_pair = next(&mut it);
        let result = self.proc_type(result_pair);
        let name = self.ident(next(&mut it));
        let args = parts(next(&mut it))
            .filter(|p| p.as_rule() == Rule::proc_arg)
            .filter_map(|arg| {
                let arg_span = self.span(&arg);
                // The optional argument name only names a C parameter; a `*` makes a pointer.
                let pointer = arg.clone().into_inner().any(|p| p.as_rule() == Rule::star);
                let ty = self.proc_type(next(&mut parts(arg)));
                if pointer {
                    // rpcgen passes every argument by pointer in C and ignores the `*`: the
                    // wire carries the value itself, not optional data.
                    self.diags.push(Diagnostic::warning(
                        arg_span,
                        "`*` ignored, as rpcgen does: the argument is sent as the value itself \
                         (for optional data, declare `typedef T *name;` and use `name`)",
                    ));
                }
                ty
            })
            .collect();
        let number = self.value(next(&mut it));
        Procedure {
            doc,
            result,
            name,
            args,
            number,
            span,
        }
    }

    /// The type of a procedure result or argument (`None` for `void`).
    fn proc_type(&mut self, pair: P<'_>) -> Option<DeclType> {
        match pair.as_rule() {
            Rule::type_spec => Some(DeclType::Plain(self.type_spec(pair))),
            // `string` or `string<N>`; a missing bound means `<>`.
            Rule::proc_string => {
                let bound = parts(pair)
                    .find(|p| p.as_rule() == Rule::var_len)
                    .and_then(|len| parts(len).find(|p| p.as_rule() == Rule::value))
                    .map(|v| self.value(v));
                Some(DeclType::String(bound))
            }
            Rule::kw_void => None,
            // `proc_result`: one of the above inside.
            _ => pair.into_inner().next().and_then(|p| self.proc_type(p)),
        }
    }

    fn enum_body(&mut self, pair: P<'_>) -> EnumBody {
        let members = parts(pair)
            .map(|m| {
                let span = self.span(&m);
                let doc = self.node_doc(&m);
                let mut it = parts(m);
                let name = self.ident(next(&mut it));
                let value = it.next().map(|v| self.value(v));
                EnumMember {
                    doc,
                    name,
                    value,
                    span,
                }
            })
            .collect();
        EnumBody { members }
    }

    fn struct_body(&mut self, pair: P<'_>) -> StructBody {
        let fields = parts(pair).map(|f| self.field(f)).collect();
        StructBody { fields }
    }

    /// A `struct_field`, `case_arm` or `default_arm`: its declaration with its doc.
    fn field(&mut self, pair: P<'_>) -> Field {
        let doc = self.node_doc(&pair);
        let decl = parts(pair)
            .find(|p| p.as_rule() == Rule::declaration)
            .map(|d| self.declaration(d));
        Field {
            doc,
            decl: decl.expect("every field rule holds a declaration"),
        }
    }

    fn union_body(&mut self, pair: P<'_>) -> UnionBody {
        let mut it = parts(pair);
        let discriminant = self.declaration(next(&mut it));
        let mut arms = Vec::new();
        let mut default = None;
        for p in it {
            match p.as_rule() {
                Rule::case_arm => {
                    let span = self.span(&p);
                    let labels = parts(p.clone())
                        .filter(|l| l.as_rule() == Rule::case_label)
                        .map(|l| {
                            let v = next(&mut parts(l));
                            self.value(v)
                        })
                        .collect();
                    let field = self.field(p);
                    arms.push(UnionArm {
                        labels,
                        field,
                        span,
                    });
                }
                _ => default = Some(Box::new(self.field(p))),
            }
        }
        UnionBody {
            discriminant,
            arms,
            default,
        }
    }

    fn declaration(&mut self, pair: P<'_>) -> Declaration {
        let span = self.span(&pair);
        let inner = next(&mut pair.into_inner());
        let rule = inner.as_rule();
        if rule == Rule::kw_void {
            return Declaration::Void { span };
        }
        let mut it = parts(inner);
        let (name, ty) = match rule {
            Rule::opaque_decl => {
                let name = self.ident(next(&mut it));
                let len = next(&mut it);
                let ty = match len.as_rule() {
                    Rule::fixed_len => DeclType::FixedOpaque(
                        self.length(len).unwrap_or_else(|| placeholder(name.span)),
                    ),
                    _ => DeclType::VarOpaque(self.length(len)),
                };
                (name, ty)
            }
            Rule::string_decl => {
                let name = self.ident(next(&mut it));
                let len = self.length(next(&mut it));
                (name, DeclType::String(len))
            }
            _ => {
                // typed_decl: a type, then `*name` or `name`, `name[N]`, `name<N>`.
                let ty = self.type_spec(next(&mut it));
                let rest = next(&mut it);
                let pointer = rest.as_rule() == Rule::pointer_decl;
                let mut rest = parts(rest);
                let name = self.ident(next(&mut rest));
                let decl_ty = match rest.next() {
                    _ if pointer => DeclType::Optional(ty),
                    None => DeclType::Plain(ty),
                    Some(len) if len.as_rule() == Rule::fixed_len => {
                        let n = self.length(len).unwrap_or_else(|| placeholder(name.span));
                        DeclType::FixedArray(ty, n)
                    }
                    Some(len) => DeclType::VarArray(ty, self.length(len)),
                };
                (name, decl_ty)
            }
        };
        Declaration::Named { name, ty, span }
    }

    /// The value inside `[N]` or `<N>` (`None` for `<>`).
    fn length(&mut self, pair: P<'_>) -> Option<Value> {
        parts(pair).next().map(|v| self.value(v))
    }

    fn type_spec(&mut self, pair: P<'_>) -> TypeSpec {
        let span = self.span(&pair);
        let inner = next(&mut pair.into_inner());
        match inner.as_rule() {
            Rule::builtin => TypeSpec::Builtin {
                ty: builtin(inner),
                span,
            },
            Rule::named_type => TypeSpec::Named(self.ident(next(&mut inner.into_inner()))),
            rule => {
                // `enum`/`struct`/`union` followed by a body (anonymous) or a name.
                let body = next(&mut parts(inner));
                match (rule, body.as_rule()) {
                    (_, Rule::ident) => TypeSpec::Named(self.ident(body)),
                    (Rule::enum_type, _) => TypeSpec::Enum(Box::new(self.enum_body(body)), span),
                    (Rule::struct_type, _) => {
                        TypeSpec::Struct(Box::new(self.struct_body(body)), span)
                    }
                    _ => TypeSpec::Union(Box::new(self.union_body(body)), span),
                }
            }
        }
    }

    fn ident(&self, pair: P<'_>) -> Ident {
        Ident {
            name: pair.as_str().to_string(),
            span: self.span(&pair),
        }
    }

    fn value(&mut self, pair: P<'_>) -> Value {
        let inner = next(&mut pair.into_inner());
        let span = self.span(&inner);
        if inner.as_rule() == Rule::ident {
            return Value::Named(self.ident(inner));
        }
        let parsed = if inner.as_rule() == Rule::char_lit {
            parse_char(inner.as_str())
        } else {
            parse_number(inner.as_str())
        };
        match parsed {
            Ok(value) => Value::Literal { value, span },
            Err(message) => {
                self.diags.push(Diagnostic::error(span, message));
                Value::Literal { value: 0, span }
            }
        }
    }
}

/// A stand-in value after an error was reported (never reached for valid grammar output).
fn placeholder(span: Span) -> Value {
    Value::Literal { value: 0, span }
}

/// The built-in type of a `builtin` pair.
pub(super) fn builtin(pair: P<'_>) -> Builtin {
    let inner = next(&mut pair.into_inner());
    match inner.as_rule() {
        Rule::unsigned_type => match inner.into_inner().nth(1).map(|p| p.as_rule()) {
            Some(Rule::kw_hyper) => Builtin::UnsignedHyper,
            Some(Rule::kw_char) => Builtin::UnsignedChar,
            Some(Rule::kw_short) => Builtin::UnsignedShort,
            // `unsigned`, `unsigned int`, `unsigned long`: one 32-bit word.
            _ => Builtin::UnsignedInt,
        },
        Rule::kw_long => Builtin::Int,
        Rule::kw_hyper => Builtin::Hyper,
        Rule::kw_float => Builtin::Float,
        Rule::kw_double => Builtin::Double,
        Rule::kw_quadruple => Builtin::Quadruple,
        Rule::kw_bool => Builtin::Bool,
        Rule::kw_char => Builtin::Char,
        Rule::kw_short => Builtin::Short,
        _ => Builtin::Int,
    }
}

/// A C character literal (`'a'`, `'\\n'`, `'\\0'`, `'\\x41'`, `'\\101'`), which rpcgen copies to C as
/// is: its value is the character's code, negative from 0x80 as a (signed) `char` of x86-64.
pub(crate) fn parse_char(text: &str) -> Result<i128, String> {
    let body = &text[1..text.len() - 1];
    let bad = || format!("invalid character constant {text}: one ASCII character or escape");
    let code: u32 = match body.strip_prefix('\\') {
        None => {
            let mut chars = body.chars();
            match (chars.next(), chars.next()) {
                (Some(c), None) if c.is_ascii() => c as u32,
                _ => return Err(bad()),
            }
        }
        Some("n") => 10,
        Some("t") => 9,
        Some("r") => 13,
        Some("a") => 7,
        Some("b") => 8,
        Some("f") => 12,
        Some("v") => 11,
        Some("\\") => 92,
        Some("'") => 39,
        Some("\"") => 34,
        Some("?") => 63,
        Some(hex) if hex.starts_with('x') && hex.len() > 1 => {
            u32::from_str_radix(&hex[1..], 16).map_err(|_| bad())?
        }
        Some(oct) if !oct.is_empty() && oct.len() <= 3 => {
            u32::from_str_radix(oct, 8).map_err(|_| bad())?
        }
        Some(_) => return Err(bad()),
    };
    if code > 0xff {
        return Err(format!("character constant {text} does not fit in a char"));
    }
    Ok(i128::from(code as u8 as i8))
}

/// The text of a C string literal's body: escapes (`\\n`, `\\\\`, `\\x41`, `\\101`, …) resolved; an
/// error when the bytes are not UTF-8 (a Rust `&str` must be).
pub(crate) fn unescape_c(body: &str) -> Result<String, String> {
    let mut out = Vec::with_capacity(body.len());
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'\\' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let Some(&e) = bytes.get(i + 1) else {
            return Err("it ends with a lone `\\`".into());
        };
        i += 2;
        let simple = match e {
            b'n' => Some(b'\n'),
            b't' => Some(b'\t'),
            b'r' => Some(b'\r'),
            b'a' => Some(7),
            b'b' => Some(8),
            b'f' => Some(12),
            b'v' => Some(11),
            b'\\' | b'\'' | b'"' | b'?' => Some(e),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        let (radix, max, start) = match e {
            b'x' => (16, usize::MAX, i),
            b'0'..=b'7' => (8, 3, i - 1),
            _ => return Err(format!("unknown escape `\\{}`", e as char)),
        };
        let digits = bytes[start..]
            .iter()
            .take(max)
            .take_while(|b| (**b as char).is_digit(radix))
            .count();
        let text = &body[start..start + digits];
        let value = u32::from_str_radix(text, radix)
            .ok()
            .filter(|v| *v <= 0xff)
            .ok_or_else(|| {
                format!(
                    "escape `\\{}` is not one byte",
                    &body[i - 1..start + digits]
                )
            })?;
        out.push(value as u8);
        i = start + digits;
    }
    String::from_utf8(out).map_err(|_| "its bytes are not UTF-8".into())
}

/// A decimal, `0x` hex or `0` octal literal with an optional `-`, as rpcgen reads them.
pub(crate) fn parse_number(text: &str) -> Result<i128, String> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (radix, digits, kind) =
        if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, hex, "hexadecimal ")
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..], "octal ")
        } else {
            (10, body, "")
        };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return Err(format!("invalid {kind}number `{text}`"));
    }
    let magnitude = i128::from_str_radix(digits, radix)
        .ok()
        .filter(|v| *v <= i128::from(u64::MAX))
        .ok_or_else(|| format!("number `{text}` is too large (more than 64 bits)"))?;
    Ok(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::parse_number;

    #[test]
    fn numbers_in_every_radix() {
        assert_eq!(parse_number("0"), Ok(0));
        assert_eq!(parse_number("-17"), Ok(-17));
        assert_eq!(parse_number("0755"), Ok(0o755));
        assert_eq!(parse_number("0x87539319"), Ok(0x8753_9319));
        assert_eq!(parse_number("-0X10"), Ok(-16));
        assert_eq!(parse_number("0xffffffffffffffff"), Ok(i128::from(u64::MAX)));
        assert!(parse_number("09").is_err());
        assert!(parse_number("0x").is_err());
        assert!(parse_number("12ab").is_err());
        assert!(parse_number("0x10000000000000000").is_err());
        assert!(parse_number(&"9".repeat(100)).is_err());
    }
}
