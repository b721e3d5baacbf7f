//! Units of work and chunks. A unit is the batch items that name each other (by `id` or
//! `lid`, in either direction): the `data` items an included item is linked to and the
//! included items themselves, which are written together or not at all. Chunks group whole
//! units, up to a number of `data` and `included` items (a unit larger than that is a chunk
//! of its own).

use crate::actions::write::local_key;
use crate::document::ResourceObject;

/// One unit: positions of its items in `data` and in `included`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Unit {
    pub(crate) data: Vec<usize>,
    pub(crate) included: Vec<usize>,
}

/// The units of a batch, in the order of their first `data` item (units of included items
/// linked to no `data` item come last: writing them reports that).
pub(crate) fn units(data: &[ResourceObject], included: &[ResourceObject]) -> Vec<Unit> {
    let objects: Vec<&ResourceObject> = data.iter().chain(included).collect();
    let mut parent: Vec<usize> = (0..objects.len()).collect();
    fn root(parent: &mut [usize], mut n: usize) -> usize {
        while parent[n] != n {
            parent[n] = parent[parent[n]];
            n = parent[n];
        }
        n
    }
    let mut named = std::collections::HashMap::new();
    for (n, o) in objects.iter().enumerate() {
        if let Some(id) = &o.id {
            named.entry(local_key(&o.ty, id, false)).or_insert(n);
        }
        if let Some(lid) = &o.lid {
            named.entry(local_key(&o.ty, lid, true)).or_insert(n);
        }
    }
    for (n, o) in objects.iter().enumerate() {
        for linkage in o.relationships.values() {
            for ident in linkage.identifiers() {
                if let Some(&m) = named.get(&local_key(&ident.ty, &ident.id, ident.local)) {
                    let (a, b) = (root(&mut parent, n), root(&mut parent, m));
                    // The smaller root wins, so a unit's root is its first item.
                    parent[a.max(b)] = a.min(b);
                }
            }
        }
    }
    let mut units: Vec<Unit> = Vec::new();
    let mut unit_of_root = std::collections::HashMap::new();
    for n in 0..objects.len() {
        let r = root(&mut parent, n);
        let u = *unit_of_root.entry(r).or_insert_with(|| {
            units.push(Unit::default());
            units.len() - 1
        });
        if n < data.len() {
            units[u].data.push(n);
        } else {
            units[u].included.push(n - data.len());
        }
    }
    units
}

/// Groups units into chunks of at most `max_data` `data` items and `max_included` included
/// items, keeping the units' order.
pub(crate) fn chunks(units: Vec<Unit>, max_data: usize, max_included: usize) -> Vec<Vec<Unit>> {
    let mut chunks: Vec<Vec<Unit>> = Vec::new();
    let mut sizes = (0, 0);
    for unit in units {
        let fits =
            sizes.0 + unit.data.len() <= max_data && sizes.1 + unit.included.len() <= max_included;
        match chunks.last_mut() {
            Some(chunk) if fits => chunk.push(unit.clone()),
            _ => {
                sizes = (0, 0);
                chunks.push(vec![unit.clone()]);
            }
        }
        sizes.0 += unit.data.len();
        sizes.1 += unit.included.len();
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::parse_batch;

    #[test]
    fn linked_items_share_a_unit_and_chunks_keep_units_whole() {
        let body = br#"{"data":[
            {"type":"products","attributes":{}},
            {"type":"products","relationships":{"category":{"data":{"type":"categories","id":"c1"}}}},
            {"type":"products","relationships":{"category":{"data":{"type":"categories","lid":"c2"}}}},
            {"type":"products","relationships":{"category":{"data":{"type":"categories","id":"c1"}}}}],
          "included":[{"type":"categories","id":"c1"},{"type":"categories","lid":"c2"},
                      {"type":"categories","id":"lonely"}]}"#;
        let batch = parse_batch(body).expect("a batch");
        let units = units(&batch.primary, &batch.included);
        assert_eq!(
            units,
            [
                Unit {
                    data: vec![0],
                    included: vec![]
                },
                Unit {
                    data: vec![1, 3],
                    included: vec![0]
                },
                Unit {
                    data: vec![2],
                    included: vec![1]
                },
                Unit {
                    data: vec![],
                    included: vec![2]
                },
            ]
        );
        let sizes: Vec<usize> = chunks(units.clone(), 3, 2).iter().map(Vec::len).collect();
        assert_eq!(sizes, [2, 2]);
        let sizes: Vec<usize> = chunks(units, 1, 1).iter().map(Vec::len).collect();
        assert_eq!(
            sizes,
            [1, 1, 1, 1],
            "a unit larger than a chunk is a chunk of its own"
        );
    }
}
