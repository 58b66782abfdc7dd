//! Open311 responses (README, "Open311"): one tree rendered as XML or JSON
//! (the Spark convention: a list element becomes an array, a record becomes
//! an object).

use serde_json::{Map, Value, json};

/// One node of a response, rendered as XML or JSON.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// JSON `null`, an empty XML element.
    Null,
    Text(String),
    Bool(bool),
    Int(i64),
    /// A JSON array; in XML a container whose children are all `item`.
    List {
        item: &'static str,
        items: Vec<Node>,
    },
    /// A JSON object; in XML one child element per field, in order.
    Record(Vec<(&'static str, Node)>),
}

impl Node {
    pub fn text(s: impl Into<String>) -> Self {
        Node::Text(s.into())
    }

    pub fn opt(s: Option<String>) -> Self {
        s.map_or(Node::Null, Node::Text)
    }

    pub fn to_json(&self) -> Value {
        match self {
            Node::Null => Value::Null,
            Node::Text(s) => Value::String(s.clone()),
            Node::Bool(b) => Value::Bool(*b),
            Node::Int(n) => json!(n),
            Node::List { items, .. } => Value::Array(items.iter().map(Node::to_json).collect()),
            Node::Record(fields) => {
                let mut map = Map::new();
                for (k, v) in fields {
                    map.insert((*k).to_owned(), v.to_json());
                }
                Value::Object(map)
            }
        }
    }

    /// The whole XML document with `root` as its root element.
    pub fn to_xml(&self, root: &str) -> String {
        let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        write_xml(&mut out, root, self);
        out.push('\n');
        out
    }
}

fn write_xml(out: &mut String, tag: &str, node: &Node) {
    match node {
        Node::Null => {
            out.push('<');
            out.push_str(tag);
            out.push_str("/>");
            return;
        }
        _ => {
            out.push('<');
            out.push_str(tag);
            out.push('>');
        }
    }
    match node {
        Node::Null => {}
        Node::Text(s) => out.push_str(&escape_xml(s)),
        Node::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Node::Int(n) => out.push_str(&n.to_string()),
        Node::List { item, items } => {
            for i in items {
                write_xml(out, item, i);
            }
        }
        Node::Record(fields) => {
            for (k, v) in fields {
                write_xml(out, k, v);
            }
        }
    }
    out.push_str("</");
    out.push_str(tag);
    out.push('>');
}

/// Escapes text for element content or attribute values. Characters XML 1.0
/// cannot carry at all (most C0 controls) are dropped.
pub fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// A response: the XML root element's name and the tree.
#[derive(Clone, Debug, PartialEq)]
pub struct Doc {
    pub root: &'static str,
    pub node: Node,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_drops_forbidden_controls() {
        assert_eq!(
            escape_xml("a&b<c>d\"e'f\u{1}g\nh"),
            "a&amp;b&lt;c&gt;d&quot;e&apos;fg\nh"
        );
    }

    #[test]
    fn lists_records_and_nulls_render_by_the_spark_convention() {
        let node = Node::List {
            item: "error",
            items: vec![Node::Record(vec![
                ("code", Node::Int(400)),
                ("description", Node::text("x<y")),
                ("extra", Node::Null),
            ])],
        };
        assert_eq!(
            node.to_xml("errors"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<errors><error><code>400</code>\
             <description>x&lt;y</description><extra/></error></errors>\n"
        );
        assert_eq!(
            node.to_json(),
            json!([{"code": 400, "description": "x<y", "extra": null}])
        );
    }
}
