//! The pages the module writes itself: error pages (built-in or `OIDCHTMLErrorTemplate`), the
//! fragment-post page, auto-submit forms (authorization request by POST, preserved POST
//! replay), "logged out" and the info hook's HTML. Everything from outside is HTML-escaped.

use crate::decision::{LogLevel, Response};

pub const HTML: &str = "text/html; charset=utf-8";

/// HTML-escapes text for element content and double-quoted attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A complete page in the reference's layout (`oidc_util_html_send`). `head` and `body` are
/// trusted markup made here; `title` is escaped.
pub fn page(title: &str, head: &str, on_load: Option<&str>, body: &str) -> String {
    let on_load = on_load
        .map(|f| format!(" onload=\"{f}()\""))
        .unwrap_or_default();
    let body = if body.is_empty() { "<p></p>" } else { body };
    format!(
        "<!DOCTYPE html>\n<html>\n  <head>\n    <meta http-equiv=\"Content-Type\" content=\"text/html; charset=utf-8\">\n    <title>{}</title>\n    {head}\n  </head>\n  <body{on_load}>\n{body}\n  </body>\n</html>\n",
        escape(title)
    )
}

/// Fills a `OIDCHTMLErrorTemplate`: the first `%s` gets the error, the second the description
/// (both escaped), `%%` is a `%`; other `%` sequences are kept as written.
fn fill_template(template: &str, error: &str, description: &str) -> String {
    let mut args = [escape(error), escape(description)].into_iter();
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('s') {
            out.push_str(&args.next().unwrap_or_default());
            rest = tail;
        } else if let Some(tail) = after.strip_prefix('%') {
            out.push('%');
            rest = tail;
        } else {
            out.push('%');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// An error page with `status`, logged at `level` with `log`.
pub fn error(
    template: Option<&str>,
    status: u16,
    error: &str,
    description: &str,
    level: LogLevel,
    log: String,
) -> Response {
    let html = match template {
        Some(t) => fill_template(t, error, description),
        None => {
            let mut body = format!("<p>Error: <pre>{}</pre></p>", escape(error));
            if !description.is_empty() {
                body.push_str(&format!(
                    "<p>Description: <pre>{}</pre></p>",
                    escape(description)
                ));
            }
            page("Error", "", None, &body)
        }
    };
    no_store(Response::status(status).with_body(HTML, html.into_bytes())).with_log(level, log)
}

/// Adds `Cache-Control: no-cache, no-store, max-age=0` (pages with tokens, state or errors).
pub fn no_store(r: Response) -> Response {
    r.with_header("Cache-Control", "no-cache, no-store, max-age=0")
}

/// The bare-redirect-URI page: posts the URL fragment back as a form with
/// `response_mode=fragment` (implicit-flow support, as the reference).
pub fn fragment_post() -> Response {
    let script = "<script type=\"text/javascript\">\n      function postOnLoad() {\n        var encoded = location.hash.substring(1).split('&');\n        for (var i = 0; i < encoded.length; i++) {\n          var n = encoded[i].indexOf('=');\n          if (n < 0) continue;\n          var input = document.createElement('input');\n          input.type = 'hidden';\n          input.name = decodeURIComponent(encoded[i].substring(0, n).replace(/\\+/g, ' '));\n          input.value = decodeURIComponent(encoded[i].substring(n + 1).replace(/\\+/g, ' '));\n          document.forms[0].appendChild(input);\n        }\n        document.forms[0].action = window.location.href.substr(0, window.location.href.indexOf('#') < 0 ? window.location.href.length : window.location.href.indexOf('#'));\n        document.forms[0].submit();\n      }\n    </script>";
    let body = "    <p>Submitting...</p>\n    <form method=\"post\" action=\"\">\n      <p>\n        <input type=\"hidden\" name=\"response_mode\" value=\"fragment\">\n      </p>\n    </form>";
    no_store(Response::status(200).with_body(
        HTML,
        page("Submitting...", script, Some("postOnLoad"), body).into_bytes(),
    ))
}

/// A page that auto-submits `fields` to `action` by POST (values escaped).
pub fn auto_submit(title: &str, text: &str, action: &str, fields: &[(String, String)]) -> String {
    let mut body = format!(
        "    <p>{}</p>\n    <form method=\"post\" action=\"{}\">\n      <p>\n",
        escape(text),
        escape(action)
    );
    for (k, v) in fields {
        body.push_str(&format!(
            "        <input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
            escape(k),
            escape(v)
        ));
    }
    body.push_str("      </p>\n      <noscript><input type=\"submit\" value=\"Continue\"></noscript>\n    </form>");
    let script = "<script type=\"text/javascript\">function submitOnLoad() { document.forms[0].submit(); }</script>";
    page(title, script, Some("submitOnLoad"), &body)
}

/// The "Logged Out" page.
pub fn logged_out() -> String {
    page("Logged Out", "", None, "<p>Logged Out</p>")
}
