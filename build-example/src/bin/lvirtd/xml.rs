//! Domain XML: a small XML reader (elements, attributes, text; comments and declarations
//! skipped), the domain definition lvirtd keeps, and its formatting in the layout libvirt's
//! test driver prints.

use std::fmt::Write as _;

/// An XML element: name, attributes in document order, text, and child elements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    /// The tag name.
    pub name: String,
    /// Attributes, in the order they were written.
    pub attrs: Vec<(String, String)>,
    /// The element's own text (concatenated, trimmed).
    pub text: String,
    /// Child elements.
    pub children: Vec<Element>,
}

impl Element {
    /// The value of attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Writes the element as libvirt formats XML: two spaces per level, single-quoted
    /// attributes, `<x/>` when empty.
    pub fn write(&self, out: &mut String, indent: usize) {
        let pad = " ".repeat(indent);
        let _ = write!(out, "{pad}<{}", self.name);
        for (k, v) in &self.attrs {
            let _ = write!(out, " {k}='{}'", escape(v));
        }
        if self.children.is_empty() && self.text.is_empty() {
            out.push_str("/>\n");
        } else if self.children.is_empty() {
            let _ = writeln!(out, ">{}</{}>", escape(&self.text), self.name);
        } else {
            out.push_str(">\n");
            for c in &self.children {
                c.write(out, indent + 2);
            }
            let _ = writeln!(out, "{pad}</{}>", self.name);
        }
    }
}

/// Escapes text for an XML attribute or element.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

fn unescape(s: &str) -> Result<String, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..]
            .find(';')
            .ok_or_else(|| "unterminated entity reference".to_string())?;
        let entity = &rest[i + 1..i + end];
        match entity {
            "amp" => out.push('&'),
            "lt" => out.push('<'),
            "gt" => out.push('>'),
            "apos" => out.push('\''),
            "quot" => out.push('"'),
            e if e.starts_with("#x") => out.push(char_ref(&e[2..], 16)?),
            e if e.starts_with('#') => out.push(char_ref(&e[1..], 10)?),
            e => return Err(format!("unknown entity '&{e};'")),
        }
        rest = &rest[i + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn char_ref(digits: &str, radix: u32) -> Result<char, String> {
    u32::from_str_radix(digits, radix)
        .ok()
        .and_then(char::from_u32)
        .ok_or_else(|| format!("bad character reference '{digits}'"))
}

/// Parses a document into its root element.
pub fn parse(doc: &str) -> Result<Element, String> {
    let mut p = Parser { s: doc, pos: 0 };
    p.misc()?;
    if !p.rest().starts_with('<') {
        return Err("Start tag expected, '<' not found".into());
    }
    let root = p.element()?;
    p.misc()?;
    if !p.rest().is_empty() {
        return Err("Extra content at the end of the document".into());
    }
    Ok(root)
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl Parser<'_> {
    fn rest(&self) -> &str {
        &self.s[self.pos..]
    }

    fn skip_ws(&mut self) {
        let n = self.rest().len() - self.rest().trim_start().len();
        self.pos += n;
    }

    fn skip_past(&mut self, end: &str) -> Result<(), String> {
        match self.rest().find(end) {
            Some(i) => {
                self.pos += i + end.len();
                Ok(())
            }
            None => Err(format!("'{end}' expected")),
        }
    }

    /// Whitespace, comments, declarations and processing instructions.
    fn misc(&mut self) -> Result<(), String> {
        loop {
            self.skip_ws();
            let r = self.rest();
            if r.starts_with("<!--") {
                self.skip_past("-->")?;
            } else if r.starts_with("<?") {
                self.skip_past("?>")?;
            } else if r.starts_with("<!") {
                self.skip_past(">")?;
            } else {
                return Ok(());
            }
        }
    }

    fn name(&mut self) -> Result<String, String> {
        let r = self.rest();
        let n = r
            .find(|c: char| c.is_whitespace() || matches!(c, '>' | '/' | '='))
            .unwrap_or(r.len());
        if n == 0 {
            return Err("name expected".into());
        }
        let name = r[..n].to_string();
        self.pos += n;
        Ok(name)
    }

    fn element(&mut self) -> Result<Element, String> {
        self.pos += 1; // '<'
        let mut el = Element {
            name: self.name()?,
            ..Element::default()
        };
        loop {
            self.skip_ws();
            let r = self.rest();
            if let Some(stripped) = r.strip_prefix("/>") {
                let _ = stripped;
                self.pos += 2;
                return Ok(el);
            }
            if r.starts_with('>') {
                self.pos += 1;
                break;
            }
            let key = self.name()?;
            self.skip_ws();
            if !self.rest().starts_with('=') {
                return Err(format!("Specification mandates value for attribute {key}"));
            }
            self.pos += 1;
            self.skip_ws();
            let quote = self
                .rest()
                .chars()
                .next()
                .filter(|c| *c == '\'' || *c == '"')
                .ok_or_else(|| "AttValue: \" or ' expected".to_string())?;
            self.pos += 1;
            let end = self
                .rest()
                .find(quote)
                .ok_or_else(|| "AttValue: ' expected".to_string())?;
            let value = unescape(&self.rest()[..end])?;
            self.pos += end + 1;
            el.attrs.push((key, value));
        }
        let mut text = String::new();
        loop {
            let r = self.rest();
            let lt = r
                .find('<')
                .ok_or_else(|| format!("Premature end of data in tag {}", el.name))?;
            text.push_str(&unescape(&r[..lt])?);
            self.pos += lt;
            let r = self.rest();
            if r.starts_with("</") {
                self.pos += 2;
                let name = self.name()?;
                if name != el.name {
                    return Err(format!(
                        "Opening and ending tag mismatch: {} and {name}",
                        el.name
                    ));
                }
                self.skip_ws();
                if !self.rest().starts_with('>') {
                    return Err("'>' expected".into());
                }
                self.pos += 1;
                el.text = text.trim().to_string();
                return Ok(el);
            } else if r.starts_with("<!--") {
                self.skip_past("-->")?;
            } else if let Some(cdata) = r.strip_prefix("<![CDATA[") {
                let end = cdata.find("]]>").ok_or("unterminated CDATA")?;
                text.push_str(&cdata[..end]);
                self.pos += 9 + end + 3;
            } else if r.starts_with("<?") {
                self.skip_past("?>")?;
            } else {
                let child = self.element()?;
                el.children.push(child);
            }
        }
    }
}

/// The parts of a domain definition lvirtd keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainDef {
    /// `<domain type=…>`.
    pub virt_type: String,
    /// `<name>`.
    pub name: String,
    /// `<uuid>`, if given (a new one is made otherwise).
    pub uuid: Option<[u8; 16]>,
    /// `<memory>` in KiB.
    pub memory: u64,
    /// `<currentMemory>` in KiB.
    pub current_memory: u64,
    /// `<vcpu>`.
    pub vcpus: u16,
    /// `<os><type arch=…>`.
    pub arch: String,
    /// `<os><type>`.
    pub os_type: String,
    /// The children of `<devices>`, kept as written.
    pub devices: Vec<Element>,
}

/// libvirt's "XML error: …" text.
pub type XmlError = String;

/// Reads a domain definition; errors are the text after libvirt's "XML error: ".
pub fn parse_domain(doc: &str) -> Result<DomainDef, XmlError> {
    let root = parse(doc)?;
    if root.name != "domain" {
        return Err(format!(
            "unexpected root element <{}>, expecting <domain>",
            root.name
        ));
    }
    let virt_type = root
        .attr("type")
        .ok_or("missing domain type attribute")?
        .to_string();
    let name = root
        .child("name")
        .map(|n| n.text.clone())
        .filter(|n| !n.is_empty())
        .ok_or("missing name information")?;
    let uuid = match root.child("uuid") {
        Some(u) => Some(parse_uuid(&u.text).ok_or("malformed uuid element")?),
        None => None,
    };
    let os = root.child("os").and_then(|os| os.child("type"));
    let Some(os) = os.filter(|t| !t.text.is_empty()) else {
        return Err("an os <type> must be specified".into());
    };
    let memory = match root.child("memory") {
        Some(m) => kib(m)?,
        None => {
            return Err(
                "Memory size must be specified via <memory> or in the <numa> configuration".into(),
            )
        }
    };
    let current_memory = match root.child("currentMemory") {
        Some(m) => kib(m)?.min(memory),
        None => memory,
    };
    let vcpus = match root.child("vcpu") {
        Some(v) => v
            .text
            .parse::<u16>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or("Invalid value for number of vCPUs")?,
        None => 1,
    };
    Ok(DomainDef {
        virt_type,
        name,
        uuid,
        memory,
        current_memory,
        vcpus,
        arch: os.attr("arch").unwrap_or("i686").to_string(),
        os_type: os.text.clone(),
        devices: root
            .child("devices")
            .map(|d| d.children.clone())
            .unwrap_or_default(),
    })
}

/// A memory element's value in KiB, from its `unit` (default KiB).
fn kib(el: &Element) -> Result<u64, XmlError> {
    scaled(el, "KiB").map(|b| b.div_ceil(1024))
}

/// A size element's value in bytes, from its `unit` attribute (`default_unit` without one),
/// with libvirt's unit names.
pub fn scaled(el: &Element, default_unit: &str) -> Result<u64, XmlError> {
    let n: u64 = el
        .text
        .parse()
        .map_err(|_| format!("invalid value '{}' for element '{}'", el.text, el.name))?;
    let bytes_per: u64 = match el.attr("unit").unwrap_or(default_unit) {
        "b" | "bytes" => 1,
        "KB" => 1000,
        "k" | "KiB" => 1024,
        "MB" => 1_000_000,
        "M" | "MiB" => 1 << 20,
        "GB" => 1_000_000_000,
        "G" | "GiB" => 1 << 30,
        "TB" => 1_000_000_000_000,
        "T" | "TiB" => 1 << 40,
        u => return Err(format!("unknown suffix '{u}'")),
    };
    n.checked_mul(bytes_per)
        .ok_or_else(|| format!("value '{}' of element '{}' is too large", el.text, el.name))
}

/// Parses a UUID as libvirt accepts it: 32 hex digits, dashes anywhere between pairs.
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let hex: Vec<u8> = s
        .trim()
        .bytes()
        .filter(|b| *b != b'-')
        .map(|b| (b as char).to_digit(16).map(|d| d as u8))
        .collect::<Option<_>>()?;
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks(2).enumerate() {
        out[i] = pair[0] << 4 | pair[1];
    }
    Some(out)
}

/// Formats a UUID as `8-4-4-4-12` lower-case hex.
pub fn format_uuid(u: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The domain's XML as libvirt's test driver prints it; `id` is written for a running
/// domain unless the inactive definition was asked for.
pub fn format_domain(def: &DomainDef, uuid: &[u8; 16], id: Option<i32>) -> String {
    let mut out = String::new();
    let _ = write!(out, "<domain type='{}'", escape(&def.virt_type));
    if let Some(id) = id {
        let _ = write!(out, " id='{id}'");
    }
    out.push_str(">\n");
    let _ = writeln!(out, "  <name>{}</name>", escape(&def.name));
    let _ = writeln!(out, "  <uuid>{}</uuid>", format_uuid(uuid));
    let _ = writeln!(out, "  <memory unit='KiB'>{}</memory>", def.memory);
    let _ = writeln!(
        out,
        "  <currentMemory unit='KiB'>{}</currentMemory>",
        def.current_memory
    );
    let _ = writeln!(out, "  <vcpu placement='static'>{}</vcpu>", def.vcpus);
    out.push_str("  <os>\n");
    let _ = writeln!(
        out,
        "    <type arch='{}'>{}</type>",
        escape(&def.arch),
        escape(&def.os_type)
    );
    out.push_str("    <boot dev='hd'/>\n  </os>\n");
    out.push_str("  <clock offset='utc'/>\n");
    out.push_str("  <on_poweroff>destroy</on_poweroff>\n");
    out.push_str("  <on_reboot>restart</on_reboot>\n");
    out.push_str("  <on_crash>destroy</on_crash>\n");
    out.push_str("  <devices>\n");
    for d in &def.devices {
        d.write(&mut out, 4);
    }
    out.push_str("  </devices>\n</domain>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_domain_round_trips_through_the_test_drivers_layout() {
        let def = parse_domain(crate::driver::TEST_DOMAIN_XML).unwrap();
        let uuid = def.uuid.unwrap();
        assert_eq!(format_uuid(&uuid), "6695eb01-f6a4-8304-79aa-97f2502e193f");
        assert_eq!(
            format_domain(&def, &uuid, None),
            crate::driver::TEST_DOMAIN_XML
        );
        assert_eq!(
            (def.memory, def.current_memory, def.vcpus),
            (8388608, 2097152, 2)
        );
    }

    #[test]
    fn units_defaults_and_errors() {
        let def = parse_domain(
            "<?xml version='1.0'?><!-- c --><domain type=\"kvm\"><name>a&amp;b</name>\
             <memory unit='MiB'>2</memory><os><type>hvm</type></os></domain>",
        )
        .unwrap();
        assert_eq!(def.name, "a&b");
        assert_eq!((def.memory, def.current_memory, def.vcpus), (2048, 2048, 1));
        assert_eq!(def.arch, "i686");
        assert!(def.uuid.is_none());
        let e = parse_domain("<domain type='test'><name>x</name></domain>").unwrap_err();
        assert_eq!(e, "an os <type> must be specified");
        assert!(parse_domain("garbage").is_err());
        assert!(parse_domain("<domain type='test'><name>x</domain>").is_err());
    }
}
