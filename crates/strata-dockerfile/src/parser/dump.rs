//! BuildKit's parse-tree dump notation, used by its parser test vectors.

use super::Node;
use crate::util::go_quote;

pub(super) fn dump_node(node: &Node) -> String {
    let mut s = node.instruction.to_lowercase();
    if !node.flags.is_empty() {
        let flags: Vec<String> = node.flags.iter().map(|f| go_quote(f)).collect();
        s.push_str(&format!(" [{}]", flags.join(" ")));
    }
    if let Some(child) = &node.trigger {
        s.push(' ');
        s.push_str(&dump_node(child));
    }
    for arg in &node.args {
        s.push(' ');
        s.push_str(&go_quote(arg));
    }
    format!("({})", s.trim_matches(char::is_whitespace))
}
