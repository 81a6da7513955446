//! The access graph: who can invoke an agent, whom it runs as, what its tools read, write or
//! send out, which untrusted inputs reach it, which agents can recruit each other; and the
//! search for exposure paths over it.

use crate::view::{to_cel, Index};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use schemas::*;
use serde_json::{json, Value};
use std::collections::{HashMap, VecDeque};

pub struct Node {
    pub id: String,
    pub kind: &'static str,
    pub name: String,
    pub connection_id: String,
    pub provider: String,
    /// What a path predicate sees as `node`.
    pub view: cel::Value,
}

/// The access graph of a tenant's connections. Nodes are keyed by (connection, id): two
/// connections of one vendor (production and its clone) use the same ids for different
/// things, so the graph never joins connections through a shared id.
pub struct AccessGraph {
    pub graph: DiGraph<Node, &'static str>,
    /// connection id → resource id → node (nested, so a lookup allocates nothing).
    by_id: HashMap<String, HashMap<String, NodeIndex>>,
}

pub const EXTERNAL_SINK: &str = "external";

impl AccessGraph {
    pub fn build(inventories: &[Inventory]) -> Self {
        let mut g = AccessGraph {
            graph: DiGraph::new(),
            by_id: HashMap::new(),
        };
        for inv in inventories {
            let ix = Index::new(inv);
            let add = |g: &mut AccessGraph, id: &str, kind: &'static str, name: &str, view: Value| {
                g.node(inv, id, kind, name, view);
            };
            for p in &inv.principals {
                add(
                    &mut g,
                    &p.id,
                    "principal",
                    &p.name,
                    json!({
                        "principal_kind": p.kind, "privileged": p.privileged, "roles": p.roles, "attributes": p.attributes,
                    }),
                );
            }
            for a in &inv.agents {
                add(
                    &mut g,
                    &a.id,
                    "agent",
                    &a.name,
                    json!({
                        "agent_kind": a.kind, "identity": a.identity, "active": a.active, "autonomy": a.autonomy,
                        "channels": a.channels, "attributes": a.attributes,
                    }),
                );
            }
            for t in &inv.tools {
                add(
                    &mut g,
                    &t.id,
                    "tool",
                    &t.name,
                    json!({
                        "tool_kind": t.kind, "active": t.active, "attributes": t.attributes,
                        // Unknown capabilities are null, so a path rule asking about them cannot
                        // pass silently: it is not assessed, with the tool named.
                        "capabilities": if t.capabilities_unknown.is_some() { Value::Null } else { json!(t.capabilities) },
                        "capabilities_unknown": t.capabilities_unknown,
                    }),
                );
            }
            for d in &inv.data_stores {
                add(
                    &mut g,
                    &d.id,
                    "data_store",
                    &d.name,
                    json!({
                        "store_kind": d.kind, "sensitivity": d.sensitivity, "external_sharing": d.external_sharing,
                        "attributes": d.attributes,
                    }),
                );
            }
            for i in &inv.untrusted_inputs {
                add(
                    &mut g,
                    &i.id,
                    "untrusted_input",
                    &i.name,
                    json!({
                        "input_kind": i.kind, "unauthenticated": i.unauthenticated, "attributes": i.attributes,
                    }),
                );
            }
            for team in &inv.teams {
                add(&mut g, &team.id, "team", &team.name, json!({}));
            }
            // Teams named by agents but not described (no name known).
            for team in ix.teams.keys() {
                add(&mut g, team, "team", team, json!({}));
            }
            let sink = format!("{}:{EXTERNAL_SINK}", inv.connection_id);
            add(&mut g, &sink, "sink", "Outside the organisation", json!({}));

            for a in &inv.agents {
                for p in &a.audience {
                    g.edge(&inv.connection_id, p, &a.id, "invokes");
                }
                if let Some(p) = &a.run_as {
                    g.edge(&inv.connection_id, &a.id, p, "runs_as");
                }
                for b in a.tools.iter().filter(|b| b.active) {
                    g.edge(&inv.connection_id, &a.id, &b.tool_id, "uses");
                }
                for d in &a.knowledge {
                    g.edge(&inv.connection_id, &a.id, d, "grounds_on");
                }
                for t in &a.teams {
                    g.edge(&inv.connection_id, &a.id, t, "member_of");
                    g.edge(&inv.connection_id, t, &a.id, "recruits");
                }
            }
            for team in &inv.teams {
                for a in &team.orchestrators {
                    g.edge(&inv.connection_id, a, &team.id, "orchestrates");
                }
            }
            for i in &inv.untrusted_inputs {
                for a in &i.reaches {
                    g.edge(&inv.connection_id, &i.id, a, "ingests");
                }
            }
            for t in &inv.tools {
                for d in &t.targets {
                    if t.capabilities.contains(&Capability::Read) {
                        g.edge(&inv.connection_id, &t.id, d, "reads");
                    }
                    if t.capabilities
                        .iter()
                        .any(|c| matches!(c, Capability::Write | Capability::ExecuteCode))
                    {
                        g.edge(&inv.connection_id, &t.id, d, "writes");
                    }
                }
                if t.capabilities.contains(&Capability::SendExternal) {
                    g.edge(&inv.connection_id, &t.id, &sink, "sends_to");
                }
            }
            for grant in &inv.grants {
                g.edge(&inv.connection_id, &grant.holder, &grant.target, "has_access");
            }
        }
        g
    }

    fn node(&mut self, inv: &Inventory, id: &str, kind: &'static str, name: &str, extra: Value) {
        if self
            .by_id
            .get(&inv.connection_id)
            .is_some_and(|ids| ids.contains_key(id))
        {
            return;
        }
        let mut view = extra;
        view["kind"] = json!(kind);
        view["id"] = json!(id);
        view["name"] = json!(name);
        view["provider"] = json!(inv.provider);
        let index = self.graph.add_node(Node {
            id: id.to_string(),
            kind,
            name: name.to_string(),
            connection_id: inv.connection_id.clone(),
            provider: inv.provider.clone(),
            view: to_cel(&view),
        });
        self.by_id
            .entry(inv.connection_id.clone())
            .or_default()
            .insert(id.to_string(), index);
    }

    /// An edge between two things of one connection. Edges to things the inventory did not
    /// describe are dropped, not invented.
    fn edge(&mut self, connection_id: &str, from: &str, to: &str, kind: &'static str) {
        let Some(ids) = self.by_id.get(connection_id) else {
            return;
        };
        if let (Some(a), Some(b)) = (ids.get(from), ids.get(to)) {
            self.graph.add_edge(*a, *b, kind);
        }
    }

    /// Shortest path from `start` to any node in `targets` that passes a node in `via`
    /// (not the start) and, if given, an edge of kind `through`; at most `max_hops` edges.
    /// Returns one path per reached target; each step names the edge kind that led into it.
    pub fn paths_from(
        &self,
        start: NodeIndex,
        via: &[bool],
        targets: &[bool],
        through: Option<&str>,
        max_hops: usize,
    ) -> Vec<Vec<(NodeIndex, Option<&'static str>)>> {
        // State: (node, passed a via node, passed the required edge kind).
        type State = (NodeIndex, bool, bool);
        let need_through = through.is_none();
        let mut parent: HashMap<State, (State, &'static str)> = HashMap::new();
        let mut depth: HashMap<State, usize> = HashMap::new();
        let first: State = (start, false, need_through);
        depth.insert(first, 0);
        let mut queue = VecDeque::from([first]);
        let mut found: Vec<State> = Vec::new();
        let mut reached_targets = std::collections::HashSet::new();
        while let Some(state) = queue.pop_front() {
            let d = depth[&state];
            let (node, passed_via, passed_through) = state;
            if passed_via && passed_through && targets[node.index()] && node != start && reached_targets.insert(node) {
                found.push(state);
                continue;
            }
            if d == max_hops {
                continue;
            }
            for edge in self.graph.edges(node) {
                let next_node = edge.target();
                let next: State = (
                    next_node,
                    passed_via || via[next_node.index()],
                    passed_through || through == Some(*edge.weight()),
                );
                if next_node == start || depth.contains_key(&next) {
                    continue;
                }
                // An agent recruited by its own team is not a new hop.
                if *edge.weight() == "recruits" && parent.get(&state).is_some_and(|(p, _)| p.0 == next_node) {
                    continue;
                }
                depth.insert(next, d + 1);
                parent.insert(next, (state, edge.weight()));
                queue.push_back(next);
            }
        }
        found
            .into_iter()
            .map(|end| {
                // Walk back to the start; each step records the edge kind that led into it.
                let mut steps = Vec::new();
                let mut cursor = end;
                while let Some((prev, kind)) = parent.get(&cursor) {
                    steps.push((cursor.0, Some(*kind)));
                    cursor = *prev;
                }
                steps.push((cursor.0, None));
                steps.reverse();
                steps
            })
            .collect()
    }

    /// For every node, the next hop on a shortest path (of at most `max_hops` edges) to some
    /// node marked in `targets`: a multi-source search over reversed edges. Targets map to
    /// `Some(None)`; nodes that cannot reach one map to `None`.
    pub fn toward(&self, targets: &[bool], max_hops: usize) -> Vec<Option<Option<(NodeIndex, &'static str)>>> {
        let mut next: Vec<Option<Option<(NodeIndex, &'static str)>>> = vec![None; self.graph.node_count()];
        let mut depth = vec![usize::MAX; self.graph.node_count()];
        let mut queue = VecDeque::new();
        for n in self.graph.node_indices().filter(|n| targets[n.index()]) {
            next[n.index()] = Some(None);
            depth[n.index()] = 0;
            queue.push_back(n);
        }
        while let Some(n) = queue.pop_front() {
            if depth[n.index()] == max_hops {
                continue;
            }
            for e in self.graph.edges_directed(n, petgraph::Direction::Incoming) {
                let from = e.source();
                if next[from.index()].is_none() {
                    next[from.index()] = Some(Some((n, *e.weight())));
                    depth[from.index()] = depth[n.index()] + 1;
                    queue.push_back(from);
                }
            }
        }
        next
    }

    /// The path from `start` to the nearest target recorded by [`AccessGraph::toward`]; each
    /// step names the edge kind that led into it. `None` when no target is in reach; a start
    /// that is itself a target does not count.
    pub fn leg_from(
        &self,
        start: NodeIndex,
        toward: &[Option<Option<(NodeIndex, &'static str)>>],
    ) -> Option<Vec<(NodeIndex, Option<&'static str>)>> {
        let mut steps = vec![(start, None)];
        let mut cursor = start;
        loop {
            match toward[cursor.index()]? {
                Some((hop, kind)) => {
                    steps.push((hop, Some(kind)));
                    cursor = hop;
                }
                None => return (steps.len() > 1).then_some(steps),
            }
        }
    }

    /// The path as evidence.
    pub fn exposure_path(&self, steps: &[(NodeIndex, Option<&'static str>)]) -> ExposurePath {
        let nodes = steps
            .iter()
            .map(|(n, _)| {
                let node = &self.graph[*n];
                PathNode {
                    id: node.id.clone(),
                    kind: node.kind.to_string(),
                    name: node.name.clone(),
                }
            })
            .collect();
        let edges = (1..steps.len())
            .map(|i| PathEdge {
                from: i - 1,
                to: i,
                kind: steps[i].1.unwrap_or("edge").to_string(),
            })
            .collect();
        ExposurePath { nodes, edges }
    }
}
