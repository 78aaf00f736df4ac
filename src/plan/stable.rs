//! Finding a plan's input sections in a link of another build.
//!
//! A plan names each section by object file, archive member and section name, as the baseline
//! link saw them. rustc puts hashes into all three, and they change with flags and dependencies
//! ([`crate::rustnames`]), so a plan made on one build named nothing in the next. [`SectionIndex::find`] matches the same path first, then the same file name (what
//! the `*file.o(...)` pattern of a GNU ld fragment matches), then the *stable key*: file, member
//! and section with those hashes removed (crate, codegen unit and symbol path stay). A stable key
//! that several sections share is reported as ambiguous, never guessed.

use rustc_hash::FxHashMap;

use super::Placement;
use crate::rustnames::{unhashed_file, unhashed_symbol};

/// The file name of a path (the part after the last `/` or `\`).
pub fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// The build-independent name of an input section.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StableKey {
    pub file: String,
    pub member: Option<String>,
    pub section: String,
}

impl StableKey {
    pub fn new(path: &str, member: Option<&str>, section: &str) -> StableKey {
        StableKey {
            file: unhashed_file(file_name(path)),
            member: member.map(unhashed_file),
            section: unhashed_symbol(section),
        }
    }
}

/// Where a planned section is in a link.
#[derive(Debug, PartialEq, Eq)]
pub enum Found<T> {
    /// Under the same path, or the same file name (every such section).
    Same(Vec<T>),
    /// Under another name that has the same stable key (a rebuild renamed it).
    Renamed(T),
    /// Several sections share its stable key: which one is meant cannot be told.
    Ambiguous(usize),
    Missing,
}

/// The input sections of one link, indexed for [`SectionIndex::find`].
pub struct SectionIndex<T> {
    exact: FxHashMap<(String, Option<String>, String), Vec<T>>,
    by_file: FxHashMap<(String, Option<String>, String), Vec<T>>,
    stable: FxHashMap<StableKey, Vec<T>>,
}

impl<T: Copy> SectionIndex<T> {
    /// Indexes `(id, object path, member, section name)` of every input section of a link.
    pub fn new<'a>(
        sections: impl IntoIterator<Item = (T, &'a str, Option<&'a str>, &'a str)>,
    ) -> Self {
        let mut index = SectionIndex {
            exact: FxHashMap::default(),
            by_file: FxHashMap::default(),
            stable: FxHashMap::default(),
        };
        for (id, path, member, section) in sections {
            let member_owned = member.map(str::to_string);
            index
                .exact
                .entry((path.to_string(), member_owned.clone(), section.to_string()))
                .or_default()
                .push(id);
            index
                .by_file
                .entry((
                    file_name(path).to_string(),
                    member_owned,
                    section.to_string(),
                ))
                .or_default()
                .push(id);
            index
                .stable
                .entry(StableKey::new(path, member, section))
                .or_default()
                .push(id);
        }
        index
    }

    /// The sections of this link that placement `p` names.
    pub fn find(&self, p: &Placement) -> Found<T> {
        let member = p.member.clone();
        if let Some(v) = self
            .exact
            .get(&(p.object.clone(), member.clone(), p.section.clone()))
        {
            return Found::Same(v.clone());
        }
        let file = file_name(&p.object).to_string();
        if let Some(v) = self.by_file.get(&(file, member, p.section.clone())) {
            return Found::Same(v.clone());
        }
        match self
            .stable
            .get(&StableKey::new(&p.object, p.member.as_deref(), &p.section))
            .map(Vec::as_slice)
        {
            Some([one]) => Found::Renamed(*one),
            Some(many) if !many.is_empty() => Found::Ambiguous(many.len()),
            _ => Found::Missing,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placement(object: &str, member: Option<&str>, section: &str) -> Placement {
        Placement {
            object: object.into(),
            member: member.map(str::to_string),
            section: section.into(),
            size: 4,
            from: "FLASH".into(),
            to: "ITCM".into(),
            reason: "hot".into(),
            cycles_saved: 1.0,
        }
    }

    #[test]
    fn finds_same_then_renamed_and_refuses_to_guess() {
        let old_obj = "/a/deps/app-1111111111111111.app.2222222222222222-cgu.0.rcgu.o";
        let new_obj = "/b/deps/app-3333333333333333.app.2222222222222222-cgu.0.rcgu.o";
        let lib = "/b/deps/libdep-4444444444444444.rlib";
        let members = [
            "dep-4444444444444444.dep.5555555555555555-cgu.0.rcgu.o",
            "dep-4444444444444444.dep.5555555555555555-cgu.1.rcgu.o",
        ];
        let sections = vec![
            (0, new_obj, None, ".text._ZN3app3hot17h0000000000000001E"),
            (1, lib, Some(members[0]), ".text.dep_a"),
            (2, lib, Some(members[1]), ".text.dep_a"),
            (3, "/b/main.o", None, ".text.main"),
        ];
        let index = SectionIndex::new(sections);
        let renamed = placement(old_obj, None, ".text._ZN3app3hot17h00000000000000ffE");
        assert_eq!(index.find(&renamed), Found::Renamed(0));
        assert_eq!(
            index.find(&placement("/x/main.o", None, ".text.main")),
            Found::Same(vec![3])
        );
        let member = "dep-6666666666666666.dep.5555555555555555-cgu.1.rcgu.o";
        assert_eq!(
            index.find(&placement(
                "/a/libdep-6666666666666666.rlib",
                Some(member),
                ".text.dep_a"
            )),
            Found::Renamed(2)
        );
        // The same stable key twice (two versions of one crate, say): not guessed.
        let index = SectionIndex::new(vec![
            (0, "/b/libdep-1111111111111111.rlib", Some("d.o"), ".text.f"),
            (1, "/b/libdep-2222222222222222.rlib", Some("d.o"), ".text.f"),
        ]);
        assert_eq!(
            index.find(&placement(
                "/a/libdep-3333333333333333.rlib",
                Some("d.o"),
                ".text.f"
            )),
            Found::Ambiguous(2)
        );
        assert_eq!(
            index.find(&placement("/a/other.o", None, ".text.f")),
            Found::Missing
        );
    }
}
