//! The reference configuration `apache/auth_openidc_rs.conf`, rendered from the directive
//! table so that the two cannot drift apart (a unit test compares them).

use std::fmt::Write as _;

use super::directives::{DIRECTIVES, Directive, Origin, Section};

const WIDTH: usize = 100;
const BANNER: &str =
    "########################################################################################";

/// The text of `apache/auth_openidc_rs.conf`.
pub fn reference_conf() -> String {
    let supported = DIRECTIVES.iter().filter(|d| d.is_supported()).count();
    let mut out = String::new();
    let header = format!(
        "mod_auth_openidc_rs: reference configuration.\n\
         \n\
         mod_auth_openidc_rs is a drop-in replacement, written in Rust, for the Apache module \
         mod_auth_openidc (OpenID Connect relying party and OAuth 2.0 resource server). It is \
         loaded under the same name (see auth_openidc_rs.load) and reads the same directives. \
         This file lists all {total} of them: every directive of mod_auth_openidc 2.4.12.3 (the \
         version in Debian 12), the ones added up to mod_auth_openidc 2.4.20.2, and the ones \
         removed since 2.4.12.3. Every directive is commented out; copy what you need into your \
         server or virtual host configuration.\n\
         \n\
         {supported} directives are supported. The others are recognised with their exact \
         syntax, but a configuration that uses one of them is rejected at startup \
         (apache2 -t) with the message \"<Name> is not supported yet by mod_auth_openidc_rs\"; \
         they are marked \"(not supported yet by mod_auth_openidc_rs)\" below.\n\
         \n\
         Context \"server config, virtual host\": the directive may appear at server level or \
         in a <VirtualHost>. Context \"... directory, .htaccess\": also in <Directory>, \
         <Location> and <Files>, and in .htaccess files under AllowOverride AuthConfig.\n\
         \n\
         This file is generated from the module's directive table (src/config/directives.rs). \
         To regenerate it: UPDATE_REFERENCE_CONF=1 cargo test reference_conf",
        total = DIRECTIVES.len(),
    );
    for para in header.split('\n') {
        if para.is_empty() {
            out.push_str("#\n");
        } else {
            wrap_into(&mut out, para, "# ", "# ");
        }
    }
    let mut section: Option<Section> = None;
    for d in DIRECTIVES {
        if section != Some(d.section) {
            section = Some(d.section);
            let _ = write!(out, "\n{BANNER}\n#\n# {}\n#\n{BANNER}\n", d.section.title());
        }
        render(&mut out, d);
    }
    out
}

fn render(out: &mut String, d: &Directive) {
    let name = d.name_str();
    out.push('\n');
    wrap_into(out, d.doc_str(), "# ", "# ");
    field(out, "Syntax:", &format!("{name} {}", d.syntax));
    field(out, "Arguments:", d.shape.describe());
    field(out, "Context:", d.scope.describe());
    field(out, "Default:", d.default);
    match d.origin {
        Origin::Base => {}
        Origin::Added(v) => {
            field(
                out,
                "Since:",
                &format!("mod_auth_openidc {v} (not in 2.4.12.3)"),
            );
        }
        Origin::Removed(v) => {
            field(out, "Removed:", &format!("from mod_auth_openidc {v} on"));
        }
    }
    if !d.note.is_empty() {
        field(out, "Note:", d.note);
    }
    if !d.is_supported() {
        out.push_str("# (not supported yet by mod_auth_openidc_rs)\n");
    }
    let _ = writeln!(out, "#{name} {}", d.syntax);
}

fn field(out: &mut String, label: &str, text: &str) {
    let first = format!("# {label:<11}");
    let cont = format!("# {:<11}", "");
    wrap_into(out, text, &first, &cont);
}

/// Appends `text` word-wrapped to [`WIDTH`] columns, the first line starting with `first`, the
/// others with `cont`. A word longer than a line stays whole.
fn wrap_into(out: &mut String, text: &str, first: &str, cont: &str) {
    let mut line = String::from(first);
    let mut empty = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !empty && line.chars().count() + 1 + word.chars().count() > WIDTH {
            out.push_str(line.trim_end());
            out.push('\n');
            line = String::from(cont);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    const COMMITTED: &str = include_str!("../../apache/auth_openidc_rs.conf");

    #[test]
    fn reference_conf_is_up_to_date() {
        let fresh = reference_conf();
        if std::env::var_os("UPDATE_REFERENCE_CONF").is_some_and(|v| v == "1") {
            let path = concat!(env!("CARGO_MANIFEST_DIR"), "/apache/auth_openidc_rs.conf");
            std::fs::write(path, &fresh).expect("write apache/auth_openidc_rs.conf");
            return;
        }
        assert!(
            COMMITTED == fresh,
            "apache/auth_openidc_rs.conf differs from the directive table; regenerate it with: \
             UPDATE_REFERENCE_CONF=1 cargo test reference_conf (then review and commit it)"
        );
    }

    #[test]
    fn reference_conf_lists_every_directive_commented_out() {
        let conf = reference_conf();
        for d in DIRECTIVES {
            let line = format!("\n#{} {}\n", d.name_str(), d.syntax);
            assert!(conf.contains(&line), "{line}");
        }
        // nothing is active: every line is a comment or empty
        for l in conf.lines() {
            assert!(l.is_empty() || l.starts_with('#'), "{l}");
        }
        let marks = conf
            .matches("# (not supported yet by mod_auth_openidc_rs)\n")
            .count();
        assert_eq!(marks, super::super::unsupported_names().len());
        // only the example lines, and single words too long to wrap, exceed the width
        for l in conf
            .lines()
            .filter(|l| l.chars().count() > WIDTH && !l.starts_with("#OIDC"))
        {
            let words: Vec<&str> = l.trim_start_matches('#').split_whitespace().collect();
            assert!(
                words.len() <= 2 && words.last().is_some_and(|w| w.len() > WIDTH / 2),
                "{l}"
            );
        }
    }

    #[test]
    fn wraps() {
        let mut out = String::new();
        let long = "word ".repeat(40);
        wrap_into(&mut out, &long, "# ", "#   ");
        let lines: Vec<&str> = out.lines().collect();
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| l.len() <= WIDTH));
        assert!(lines[1].starts_with("#   word"));
    }
}
