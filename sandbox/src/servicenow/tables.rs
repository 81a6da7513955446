//! The simulated instance's tables: declared columns, reference columns and string rows.

use std::collections::{BTreeMap, HashMap};

/// One record. Every value is a string, as the Table API returns them; a reference column
/// holds the target's `sys_id` (empty when unset).
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub values: BTreeMap<String, String>,
    /// Dropped by the row-level ACL *after* `sysparm_limit` is applied.
    pub hidden: bool,
}

impl Row {
    pub fn get(&self, field: &str) -> Option<&str> {
        self.values.get(field).map(String::as_str)
    }
}

#[derive(Debug, Clone)]
pub struct Table {
    pub name: String,
    pub columns: Vec<String>,
    /// Reference column -> target table.
    pub references: HashMap<String, String>,
    pub rows: Vec<Row>,
}

impl Table {
    /// A table with the given columns; `sys_id` is always present.
    pub fn new(name: &str, columns: &[&str]) -> Self {
        let mut all = vec!["sys_id".to_string()];
        all.extend(columns.iter().map(|c| c.to_string()));
        Table {
            name: name.to_string(),
            columns: all,
            references: HashMap::new(),
            rows: Vec::new(),
        }
    }

    /// Declares reference columns as `(column, target table)`.
    pub fn refs(mut self, refs: &[(&str, &str)]) -> Self {
        for (column, target) in refs {
            if !self.columns.iter().any(|c| c == column) {
                self.columns.push(column.to_string());
            }
            self.references.insert(column.to_string(), target.to_string());
        }
        self
    }

    /// Adds a row from `(column, value)` pairs; undeclared columns panic so scenarios stay honest.
    pub fn row(&mut self, pairs: &[(&str, &str)]) -> &mut Self {
        let mut values = BTreeMap::new();
        for column in &self.columns {
            values.insert(column.clone(), String::new());
        }
        for (k, v) in pairs {
            assert!(
                self.columns.iter().any(|c| c == k),
                "scenario error: {} has no column {k}",
                self.name
            );
            values.insert(k.to_string(), v.to_string());
        }
        self.rows.push(Row { values, hidden: false });
        self
    }

    /// Adds a row that the integration user's row-level ACL hides.
    pub fn hidden_row(&mut self, pairs: &[(&str, &str)]) -> &mut Self {
        self.row(pairs);
        self.rows.last_mut().expect("just pushed").hidden = true;
        self
    }

    /// Sets one column of the row with `sys_id` (scenarios that tweak a seeded record).
    pub fn set(&mut self, sys_id: &str, column: &str, value: &str) -> &mut Self {
        assert!(
            self.has_column(column),
            "scenario error: {} has no column {column}",
            self.name
        );
        let row = self
            .rows
            .iter_mut()
            .find(|r| r.get("sys_id") == Some(sys_id))
            .unwrap_or_else(|| panic!("scenario error: no row {sys_id} in {}", self.name));
        row.values.insert(column.to_string(), value.to_string());
        self
    }

    pub fn has_column(&self, column: &str) -> bool {
        self.columns.iter().any(|c| c == column)
    }
}

/// All tables of one simulated instance, by name.
#[derive(Debug, Clone, Default)]
pub struct Tables {
    tables: HashMap<String, Table>,
}

impl Tables {
    pub fn insert(&mut self, table: Table) {
        self.tables.insert(table.name.clone(), table);
    }

    pub fn get(&self, name: &str) -> Option<&Table> {
        self.tables.get(name)
    }

    pub fn get_mut(&mut self, name: &str) -> &mut Table {
        self.tables
            .get_mut(name)
            .unwrap_or_else(|| panic!("scenario error: no table {name}"))
    }

    pub fn remove(&mut self, name: &str) -> Option<Table> {
        self.tables.remove(name)
    }

    /// Finds the row with `sys_id` in `table`.
    pub fn lookup(&self, table: &str, sys_id: &str) -> Option<&Row> {
        self.get(table)?.rows.iter().find(|r| r.get("sys_id") == Some(sys_id))
    }
}
