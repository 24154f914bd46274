//! Test helpers: the structural-schema rules the API server enforces on a
//! CRD, and a small validator for the parts of `OpenAPI` the CRD uses, so a
//! test can tell what the API server would accept without a cluster.

use serde_json::{Map, Value};

/// Keys a `oneOf`/`anyOf`/`allOf`/`not` branch must not set in a structural
/// schema (they belong to the structural part only).
const FORBIDDEN_IN_BRANCHES: &[&str] = &[
    "type",
    "description",
    "default",
    "nullable",
    "additionalProperties",
    "properties",
    "items",
];

/// Every structural-schema rule `schema` breaks, as `path: problem`.
pub fn structural_violations(schema: &Value, path: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(node) = schema.as_object() else {
        return vec![format!("{path}: schema is not an object")];
    };
    let flag = |key: &str| node.get(key) == Some(&Value::Bool(true));
    let untyped_ok =
        flag("x-kubernetes-preserve-unknown-fields") || flag("x-kubernetes-int-or-string");
    if !node.contains_key("type") && !untyped_ok {
        problems.push(format!("{path}: no type"));
    }
    for key in ["$ref", "definitions", "$defs", "uniqueItems", "const"] {
        if node.contains_key(key) {
            problems.push(format!("{path}: `{key}` is not allowed"));
        }
    }
    if node.contains_key("properties") && node.contains_key("additionalProperties") {
        problems.push(format!("{path}: both properties and additionalProperties"));
    }
    let properties = node.get("properties").and_then(Value::as_object);
    for (name, child) in properties.into_iter().flatten() {
        problems.extend(structural_violations(child, &format!("{path}.{name}")));
    }
    if let Some(additional) = node.get("additionalProperties").filter(|v| v.is_object()) {
        problems.extend(structural_violations(additional, &format!("{path}.*")));
    }
    if let Some(items) = node.get("items") {
        problems.extend(structural_violations(items, &format!("{path}[]")));
        problems.extend(list_map_violations(node, items, path));
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        let branches = node.get(key).and_then(Value::as_array);
        for (i, branch) in branches.into_iter().flatten().enumerate() {
            problems.extend(branch_violations(
                branch,
                properties,
                &format!("{path}.{key}[{i}]"),
            ));
        }
    }
    if let Some(not) = node.get("not") {
        problems.extend(branch_violations(not, properties, &format!("{path}.not")));
    }
    problems
}

/// A value-validation branch: only constraints on declared fields.
fn branch_violations(
    branch: &Value,
    properties: Option<&Map<String, Value>>,
    path: &str,
) -> Vec<String> {
    let mut problems = Vec::new();
    for key in FORBIDDEN_IN_BRANCHES {
        if branch.get(key).is_some() {
            problems.push(format!("{path}: `{key}` is not allowed in a branch"));
        }
    }
    for name in strings(branch.get("required")) {
        if !properties.is_some_and(|p| p.contains_key(name)) {
            problems.push(format!("{path}: requires undeclared field `{name}`"));
        }
    }
    problems
}

/// A list-map's keys must be required (or defaulted) in its items.
fn list_map_violations(node: &Map<String, Value>, items: &Value, path: &str) -> Vec<String> {
    let keys = strings(node.get("x-kubernetes-list-map-keys"));
    let is_map = node.get("x-kubernetes-list-type") == Some(&Value::from("map"));
    if keys.is_empty() {
        return if is_map {
            vec![format!("{path}: list-type map without list-map-keys")]
        } else {
            Vec::new()
        };
    }
    if !is_map {
        return vec![format!("{path}: list-map-keys without list-type map")];
    }
    let required = strings(items.get("required"));
    keys.into_iter()
        .filter(|key| {
            !required.contains(key)
                && items
                    .pointer(&format!("/properties/{key}/default"))
                    .is_none()
        })
        .map(|key| format!("{path}: list-map key `{key}` is neither required nor defaulted"))
        .collect()
}

/// [`validate`] for a whole resource: the API server checks `apiVersion`,
/// `kind` and `metadata` itself, so the CRD schema leaves them out.
pub fn validate_resource(schema: &Value, resource: &Value) -> Vec<String> {
    let mut body = resource.clone();
    if let Some(fields) = body.as_object_mut() {
        for implicit in ["apiVersion", "kind", "metadata"] {
            fields.remove(implicit);
        }
    }
    validate(schema, &body, "")
}

/// Every reason `value` fails `schema`, as `path: problem`: types,
/// required fields, `oneOf` of required sets, `maxLength`, and fields the
/// API server would prune as unknown.
pub fn validate(schema: &Value, value: &Value, path: &str) -> Vec<String> {
    let flag = |key: &str| schema.get(key) == Some(&Value::Bool(true));
    if value.is_null() && flag("nullable") {
        return Vec::new();
    }
    if flag("x-kubernetes-int-or-string") {
        return if value.is_string() || value.is_i64() || value.is_u64() {
            Vec::new()
        } else {
            vec![format!(
                "{path}: expected an integer or a string, found {value}"
            )]
        };
    }
    let mut problems = Vec::new();
    if let Some(expected) = schema.get("type").and_then(Value::as_str)
        && !has_type(value, expected)
    {
        return vec![format!("{path}: expected {expected}, found {value}")];
    }
    if let (Some(max), Some(text)) = (
        schema.get("maxLength").and_then(Value::as_u64),
        value.as_str(),
    ) && text.chars().count() as u64 > max
    {
        problems.push(format!("{path}: longer than {max}"));
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            problems.extend(validate(item_schema, item, &format!("{path}[{i}]")));
        }
    }
    if let Value::Object(fields) = value {
        problems.extend(validate_object(schema, fields, path));
    }
    problems
}

fn validate_object(schema: &Value, fields: &Map<String, Value>, path: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for name in strings(schema.get("required")) {
        if !fields.contains_key(name) {
            problems.push(format!("{path}: missing required field `{name}`"));
        }
    }
    if let Some(branches) = schema.get("oneOf").and_then(Value::as_array) {
        let matching = branches
            .iter()
            .filter(|branch| {
                strings(branch.get("required"))
                    .iter()
                    .all(|f| fields.contains_key(*f))
            })
            .count();
        if matching != 1 {
            problems.push(format!(
                "{path}: matches {matching} oneOf branches, expected exactly 1"
            ));
        }
    }
    let preserve = schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    let properties = schema.get("properties").and_then(Value::as_object);
    let additional = schema.get("additionalProperties").filter(|v| v.is_object());
    for (name, field) in fields {
        let child = format!("{path}.{name}");
        match (properties.and_then(|p| p.get(name)), additional) {
            (Some(field_schema), _) | (None, Some(field_schema)) => {
                problems.extend(validate(field_schema, field, &child));
            }
            (None, None) if preserve || properties.is_none() => {}
            (None, None) => problems.push(format!("{child}: unknown field, would be pruned")),
        }
    }
    problems
}

fn has_type(value: &Value, expected: &str) -> bool {
    match expected {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        _ => false,
    }
}

/// The strings of a JSON array, or none.
fn strings(value: Option<&Value>) -> Vec<&str> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}
