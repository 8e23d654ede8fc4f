//! pest errors → [`Diagnostic`]s in users' words: "expected `;`, found `}`", never rule names.

use pest::error::{Error, ErrorVariant, InputLocation};

use crate::diagnostic::Diagnostic;
use crate::source::{FileId, Span};

use super::grammar::Rule;

/// What a rule is called in messages; `None` for rules that never start at an error position.
fn describe(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::semi => "`;`",
        Rule::comma => "`,`",
        Rule::colon => "`:`",
        Rule::eq => "`=`",
        Rule::star | Rule::pointer_decl => "`*`",
        Rule::lbrace | Rule::enum_body | Rule::struct_body => "`{`",
        Rule::rbrace => "`}`",
        Rule::lparen => "`(`",
        Rule::rparen => "`)`",
        Rule::lbracket | Rule::fixed_len => "`[`",
        Rule::rbracket => "`]`",
        Rule::langle | Rule::var_len => "`<`",
        Rule::rangle => "`>`",
        Rule::ident | Rule::array_decl | Rule::enum_member => "identifier",
        Rule::value | Rule::number | Rule::char_lit | Rule::string_lit => "number or constant name",
        Rule::type_spec
        | Rule::typed_decl
        | Rule::builtin
        | Rule::unsigned_type
        | Rule::named_type
        | Rule::enum_type
        | Rule::struct_type
        | Rule::union_type
        | Rule::proc_result => "type",
        Rule::proc_args | Rule::proc_arg => "argument type or `void`",
        Rule::proc_string => "type",
        Rule::declaration | Rule::struct_field | Rule::opaque_decl | Rule::string_decl => {
            "declaration"
        }
        Rule::const_def
        | Rule::typedef_def
        | Rule::enum_def
        | Rule::struct_def
        | Rule::union_def
        | Rule::program_def => "definition",
        Rule::version_def => "`version`",
        Rule::procedure_def => "procedure",
        Rule::case_arm | Rule::case_label => "`case`",
        Rule::default_arm => "`default`",
        Rule::union_body | Rule::kw_switch => "`switch`",
        Rule::EOI => "end of file",
        Rule::kw_bool => "`bool`",
        Rule::kw_case => "`case`",
        Rule::kw_char => "`char`",
        Rule::kw_const => "`const`",
        Rule::kw_default => "`default`",
        Rule::kw_double => "`double`",
        Rule::kw_enum => "`enum`",
        Rule::kw_float => "`float`",
        Rule::kw_hyper => "`hyper`",
        Rule::kw_int => "`int`",
        Rule::kw_long => "`long`",
        Rule::kw_opaque => "`opaque`",
        Rule::kw_program => "`program`",
        Rule::kw_quadruple => "`quadruple`",
        Rule::kw_short => "`short`",
        Rule::kw_string => "`string`",
        Rule::kw_struct => "`struct`",
        Rule::kw_typedef => "`typedef`",
        Rule::kw_union => "`union`",
        Rule::kw_unsigned => "`unsigned`",
        Rule::kw_version => "`version`",
        Rule::kw_void => "`void`",
        Rule::file
        | Rule::define_builtin
        | Rule::WHITESPACE
        | Rule::definition
        | Rule::keyword
        | Rule::ident_char => return None,
    })
}

/// Tokens that only continue a construct that could also end here (`int x` may go on with `[` or
/// `<`; `A` in an enum with `=`): when a closing token is also expected, naming the closer alone
/// is the better hint ("expected `;`").
const OPTIONAL_CONTINUATIONS: [&str; 3] = ["`[`", "`<`", "`=`"];
const CLOSERS: [&str; 4] = ["`;`", "`,`", "`}`", "`)`"];

/// Tokens that end or separate what came before: when one is missing at a line break, the error
/// is shown right after the previous token.
const SEPARATORS: [&str; 7] = ["`;`", "`,`", "`:`", "`)`", "`]`", "`>`", "`=`"];

/// The keywords that start a definition: listed in full, the list reads worse than one word.
const DEFINITION_STARTS: [&str; 6] = [
    "`const`",
    "`enum`",
    "`program`",
    "`struct`",
    "`typedef`",
    "`union`",
];

/// The reserved words of the grammar (rpcgen's, plus `hyper` and `quadruple`).
pub(crate) const KEYWORDS: [&str; 23] = [
    "bool",
    "case",
    "char",
    "const",
    "default",
    "double",
    "enum",
    "float",
    "hyper",
    "int",
    "long",
    "opaque",
    "program",
    "quadruple",
    "short",
    "string",
    "struct",
    "switch",
    "typedef",
    "union",
    "unsigned",
    "version",
    "void",
];

/// Converts a pest error on `text` (the preprocessed text of `file`) into a diagnostic.
pub(crate) fn to_diagnostic(err: &Error<Rule>, file: FileId, text: &str) -> Diagnostic {
    let pos = match err.location {
        InputLocation::Pos(p) => p,
        InputLocation::Span((s, _)) => s,
    }
    .min(text.len());
    let (found, found_len) = found_at(text, pos);
    let expected = match &err.variant {
        ErrorVariant::ParsingError { positives, .. } => expected_list(positives),
        ErrorVariant::CustomError { message } => {
            // pest's own limits ("call limit reached", "stack limit reached").
            return Diagnostic::error(
                Span::new(file, pos, pos + found_len.max(1)),
                format!("input too complex to parse: {message}"),
            );
        }
    };
    let expected_text = join(&expected);
    let message = if found == "`%`" {
        "`%` pass-through lines must start in column 0".to_string()
    } else if expected.is_empty() {
        format!("unexpected {found}")
    } else if expected.contains(&"identifier") && KEYWORDS.contains(&found.trim_matches('`')) {
        format!("expected {expected_text}, found keyword {found}")
    } else {
        format!("expected {expected_text}, found {found}")
    };
    // When a separator is missing (or the file ends), point just past the previous token, where
    // the `;` belongs, as compilers do; otherwise point at the unexpected token.
    let bytes = text.as_bytes();
    let mut prev_end = pos;
    while prev_end > 0 && bytes[prev_end - 1].is_ascii_whitespace() {
        prev_end -= 1;
    }
    let missing_separator = expected.iter().any(|e| SEPARATORS.contains(e));
    let after_previous = prev_end > 0
        && (pos == text.len() || missing_separator && text[prev_end..pos].contains('\n'));
    let span = if after_previous {
        Span::new(file, prev_end, prev_end + 1)
    } else {
        Span::new(file, pos, pos + found_len.max(1))
    };
    Diagnostic::error(span, message)
}

/// The names of what pest tried at the error position, deduplicated and simplified.
fn expected_list(positives: &[Rule]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for name in positives.iter().filter_map(|r| describe(*r)) {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    if names.iter().any(|n| CLOSERS.contains(n)) {
        names.retain(|n| !OPTIONAL_CONTINUATIONS.contains(n));
    }
    if DEFINITION_STARTS.iter().all(|k| names.contains(k)) {
        names.retain(|n| !DEFINITION_STARTS.contains(n));
        if !names.contains(&"definition") {
            names.insert(0, "definition");
        }
    }
    names
}

/// "`;`", "`;` or `}`", "`,`, `;` or `}`".
fn join(names: &[&str]) -> String {
    match names.split_last() {
        None => String::new(),
        Some((last, [])) => (*last).to_string(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// The token at `pos`, quoted, and its length in bytes.
fn found_at(text: &str, pos: usize) -> (String, usize) {
    let rest = &text[pos..];
    let Some(c) = rest.chars().next() else {
        return ("end of file".to_string(), 0);
    };
    if c.is_ascii_alphanumeric() || c == '_' {
        let len = rest
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        let word = &rest[..len];
        if len > 40 {
            return (format!("`{}...`", &word[..40]), len);
        }
        return (format!("`{word}`"), len);
    }
    (format!("`{c}`"), c.len_utf8())
}
