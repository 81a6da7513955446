//! A small regular-expression matcher for the patterns Google's discovery documents put on
//! parameters (`C.+|my_customer`, the RFC 3339 `startTime` pattern, `(id:[a-z0-9]+)`) and for
//! the Policy API's `setting.type.matches('…')` (RE2 syntax, a search). The sandbox has no
//! `regex` dependency; a Pike VM keeps matching linear, so no pattern can blow up.
//!
//! Supported: literals, `.`, classes `[a-z0-9_]` / `[^/]`, escapes (`\d \w \s \D \W \S`, `\.`
//! and other punctuation), groups `( )` / `(?: )`, `|`, `* + ?`, `{n}` `{n,}` `{n,m}`, `^`, `$`.

#[derive(Debug, Clone)]
enum Node {
    Empty,
    Char(Class),
    Start,
    End,
    Concat(Vec<Node>),
    Alt(Vec<Node>),
    Repeat(Box<Node>, u32, Option<u32>),
}

/// A set of characters: ranges (inclusive), possibly negated.
#[derive(Debug, Clone)]
struct Class {
    ranges: Vec<(char, char)>,
    negated: bool,
}

impl Class {
    fn one(c: char) -> Class {
        Class {
            ranges: vec![(c, c)],
            negated: false,
        }
    }

    fn any() -> Class {
        Class {
            ranges: vec![('\n', '\n')],
            negated: true,
        }
    }

    fn matches(&self, c: char) -> bool {
        self.ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi) != self.negated
    }
}

fn perl_class(c: char) -> Option<Class> {
    let (ranges, negated) = match c {
        'd' => (vec![('0', '9')], false),
        'D' => (vec![('0', '9')], true),
        'w' => (vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')], false),
        'W' => (vec![('a', 'z'), ('A', 'Z'), ('0', '9'), ('_', '_')], true),
        's' => (vec![(' ', ' '), ('\t', '\r')], false),
        'S' => (vec![(' ', ' '), ('\t', '\r')], true),
        _ => return None,
    };
    Some(Class { ranges, negated })
}

fn escaped(c: char) -> char {
    match c {
        'n' => '\n',
        't' => '\t',
        'r' => '\r',
        other => other,
    }
}

struct Parser<'a> {
    chars: std::iter::Peekable<std::str::Chars<'a>>,
}

impl Parser<'_> {
    fn alt(&mut self) -> Result<Node, String> {
        let mut branches = vec![self.concat()?];
        while self.chars.peek() == Some(&'|') {
            self.chars.next();
            branches.push(self.concat()?);
        }
        Ok(if branches.len() == 1 {
            branches.pop().unwrap_or(Node::Empty)
        } else {
            Node::Alt(branches)
        })
    }

    fn concat(&mut self) -> Result<Node, String> {
        let mut items = Vec::new();
        while let Some(&c) = self.chars.peek() {
            if c == '|' || c == ')' {
                break;
            }
            let atom = self.atom()?;
            items.push(self.quantified(atom)?);
        }
        Ok(Node::Concat(items))
    }

    fn quantified(&mut self, atom: Node) -> Result<Node, String> {
        let mut node = atom;
        loop {
            let (min, max) = match self.chars.peek() {
                Some('*') => (0, None),
                Some('+') => (1, None),
                Some('?') => (0, Some(1)),
                Some('{') => {
                    self.chars.next();
                    let mut text = String::new();
                    for c in self.chars.by_ref() {
                        if c == '}' {
                            break;
                        }
                        text.push(c);
                    }
                    let bound = |s: &str| {
                        s.trim()
                            .parse::<u32>()
                            .map_err(|_| format!("bad repetition {{{text}}}"))
                    };
                    let (min, max) = match text.split_once(',') {
                        None => (bound(&text)?, Some(bound(&text)?)),
                        Some((lo, "")) => (bound(lo)?, None),
                        Some((lo, hi)) => (bound(lo)?, Some(bound(hi)?)),
                    };
                    if min > 100 || max.is_some_and(|m| m > 100 || m < min) {
                        return Err(format!("bad repetition {{{text}}}"));
                    }
                    node = Node::Repeat(Box::new(node), min, max);
                    continue;
                }
                _ => return Ok(node),
            };
            self.chars.next();
            // A lazy marker changes nothing for a yes/no match.
            if self.chars.peek() == Some(&'?') {
                self.chars.next();
            }
            node = Node::Repeat(Box::new(node), min, max);
        }
    }

    fn atom(&mut self) -> Result<Node, String> {
        let c = self.chars.next().ok_or("unexpected end")?;
        Ok(match c {
            '(' => {
                if self.chars.peek() == Some(&'?') {
                    self.chars.next();
                    if self.chars.next() != Some(':') {
                        return Err("unsupported group flag".into());
                    }
                }
                let inner = self.alt()?;
                if self.chars.next() != Some(')') {
                    return Err("missing )".into());
                }
                inner
            }
            '[' => Node::Char(self.class()?),
            '.' => Node::Char(Class::any()),
            '^' => Node::Start,
            '$' => Node::End,
            '\\' => {
                let e = self.chars.next().ok_or("trailing backslash")?;
                Node::Char(perl_class(e).unwrap_or_else(|| Class::one(escaped(e))))
            }
            '*' | '+' | '?' | '{' => return Err(format!("nothing to repeat before {c}")),
            other => Node::Char(Class::one(other)),
        })
    }

    fn class(&mut self) -> Result<Class, String> {
        let mut class = Class {
            ranges: Vec::new(),
            negated: false,
        };
        if self.chars.peek() == Some(&'^') {
            self.chars.next();
            class.negated = true;
        }
        let mut first = true;
        loop {
            let c = self.chars.next().ok_or("missing ]")?;
            if c == ']' && !first {
                return Ok(class);
            }
            first = false;
            let lo = if c == '\\' {
                let e = self.chars.next().ok_or("trailing backslash")?;
                if let Some(p) = perl_class(e) {
                    // Only the positive shorthands fold into a class.
                    if !p.negated {
                        class.ranges.extend(p.ranges);
                    }
                    continue;
                }
                escaped(e)
            } else {
                c
            };
            let mut ahead = self.chars.clone();
            if ahead.next() == Some('-') && ahead.peek().is_some_and(|&n| n != ']') {
                self.chars.next();
                let hi = match self.chars.next().ok_or("missing ]")? {
                    '\\' => escaped(self.chars.next().ok_or("trailing backslash")?),
                    h => h,
                };
                class.ranges.push((lo, hi));
            } else {
                class.ranges.push((lo, lo));
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Inst {
    Char(Class),
    Start,
    End,
    Split(usize, usize),
    Jmp(usize),
    Match,
}

fn compile(node: &Node, prog: &mut Vec<Inst>) {
    match node {
        Node::Empty => {}
        Node::Char(c) => prog.push(Inst::Char(c.clone())),
        Node::Start => prog.push(Inst::Start),
        Node::End => prog.push(Inst::End),
        Node::Concat(items) => items.iter().for_each(|n| compile(n, prog)),
        Node::Alt(branches) => {
            // split L1, next; L1: a; jmp end; next: split ... (chained)
            let mut jumps = Vec::new();
            for (i, branch) in branches.iter().enumerate() {
                if i + 1 < branches.len() {
                    let split = prog.len();
                    prog.push(Inst::Split(split + 1, 0));
                    compile(branch, prog);
                    jumps.push(prog.len());
                    prog.push(Inst::Jmp(0));
                    let next = prog.len();
                    prog[split] = Inst::Split(split + 1, next);
                } else {
                    compile(branch, prog);
                }
            }
            let end = prog.len();
            for j in jumps {
                prog[j] = Inst::Jmp(end);
            }
        }
        Node::Repeat(inner, min, max) => {
            for _ in 0..*min {
                compile(inner, prog);
            }
            match max {
                None => {
                    let split = prog.len();
                    prog.push(Inst::Split(split + 1, 0));
                    compile(inner, prog);
                    prog.push(Inst::Jmp(split));
                    let end = prog.len();
                    prog[split] = Inst::Split(split + 1, end);
                }
                Some(max) => {
                    let mut splits = Vec::new();
                    for _ in *min..*max {
                        splits.push(prog.len());
                        prog.push(Inst::Split(prog.len() + 1, 0));
                        compile(inner, prog);
                    }
                    let end = prog.len();
                    for s in splits {
                        prog[s] = Inst::Split(s + 1, end);
                    }
                }
            }
        }
    }
}

/// A compiled pattern.
#[derive(Debug, Clone)]
pub struct Pattern {
    prog: Vec<Inst>,
}

impl Pattern {
    pub fn new(pattern: &str) -> Result<Pattern, String> {
        let mut parser = Parser {
            chars: pattern.chars().peekable(),
        };
        let node = parser.alt()?;
        if parser.chars.next().is_some() {
            return Err("unbalanced )".into());
        }
        let mut prog = Vec::new();
        compile(&node, &mut prog);
        prog.push(Inst::Match);
        Ok(Pattern { prog })
    }

    /// The whole of `text` matches (how discovery patterns are held).
    pub fn full_match(&self, text: &str) -> bool {
        self.run(text, true)
    }

    /// Some part of `text` matches (RE2's and CEL's `matches`).
    pub fn search(&self, text: &str) -> bool {
        self.run(text, false)
    }

    fn run(&self, text: &str, anchored: bool) -> bool {
        let chars: Vec<char> = text.chars().collect();
        let len = chars.len();
        let mut current: Vec<usize> = Vec::new();
        let mut seen = vec![usize::MAX; self.prog.len()];
        self.add(&mut current, &mut seen, 0, 0, len);
        for pos in 0..=len {
            if current.iter().any(|&pc| matches!(self.prog[pc], Inst::Match)) && (!anchored || pos == len) {
                return true;
            }
            let Some(&c) = chars.get(pos) else {
                break;
            };
            let mut next = Vec::new();
            for &pc in &current {
                if let Inst::Char(class) = &self.prog[pc] {
                    if class.matches(c) {
                        self.add(&mut next, &mut seen, pc + 1, pos + 1, len);
                    }
                }
            }
            if !anchored {
                self.add(&mut next, &mut seen, 0, pos + 1, len);
            }
            current = next;
        }
        false
    }

    /// Adds `pc` and everything reachable from it without reading a character.
    fn add(&self, list: &mut Vec<usize>, seen: &mut [usize], pc: usize, pos: usize, len: usize) {
        if seen[pc] == pos {
            return;
        }
        seen[pc] = pos;
        match &self.prog[pc] {
            Inst::Jmp(to) => self.add(list, seen, *to, pos, len),
            Inst::Split(a, b) => {
                self.add(list, seen, *a, pos, len);
                self.add(list, seen, *b, pos, len);
            }
            Inst::Start => {
                if pos == 0 {
                    self.add(list, seen, pc + 1, pos, len);
                }
            }
            Inst::End => {
                if pos == len {
                    self.add(list, seen, pc + 1, pos, len);
                }
            }
            Inst::Char(_) | Inst::Match => list.push(pc),
        }
    }
}
