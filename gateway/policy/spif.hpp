// Label schemes from outside a policy: Open XML SPIF import, scheme-only
// loading, and the clearance-against-label check of `icegate label check`.
//
// An Open XML SPIF (Security Policy Information File, xmlspif.org schema 2.x)
// defines a security policy's classifications and security categories. The
// importer maps it onto the scheme file format of policies/README.md:
//
//   securityClassification (ordered by `hierarchy`)  -> classifications, lowest first
//     name, page markingData@phrase (+ prefix/suffix) -> name, marking
//     color/fgcolor                                  -> colour, text_colour
//     requiredCategory all | oneOrMore | onlyOne     -> requires | requires_any_of | requires_exactly_one_of
//   securityCategoryTag (one per tag set of ours)    -> tag_sets
//     tagType restrictive | permissive               -> type restrictive | permissive
//     tagType enumerated + enumType                  -> type restrictive | permissive
//     tagType informative (or tagType7)              -> type informative
//     markingQualifier prefix/separator/suffix       -> marking_prefix/_separator/_suffix
//     singleSelection, maxSelection                  -> max_selection
//   tagCategory                                      -> categories
//     page markingData@phrase                        -> marking
//     excludedClass, requiredClass (its complement)  -> excluded_at
//     requiredCategory all | oneOrMore | onlyOne     -> requires | requires_any_of | requires_exactly_one_of
//     excludedCategory                               -> excludes
//   equivalentPolicies, equivalentClassification,    -> equivalences (see import_spif)
//     equivalentSecCategoryTag
//
// Markings are the page's (a page marking code, else none) in English or no
// language; a portion marking's phrase or qualifiers never are. What the
// scheme format cannot say (a classification's excludedCategory,
// minSelection, suppressClassName, policy-wide qualifiers) is reported as a
// warning and left out; a classification or category name with '/' is
// refused (S011). Problems carry stable codes S001... and `file:line:col`
// locations from the XML parser (expat); every problem is collected. The
// codes are listed in policies/README.md ("Comparing policies and label schemes").
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/model/message.hpp"
#include "gateway/policy/diagnostics.hpp"
#include "gateway/policy/engine.hpp"
#include "gateway/policy/model.hpp"

namespace icegate::policy {

// A SPIF's values as other SPIFs' equivalences name them: equivalentClassification
// and equivalentSecCategoryTag give a lacv (and a tag set's OID), not a name.
struct SpifValues {
  std::string policy;                                // securityPolicyId name
  std::map<long long, std::string> classifications;  // lacv -> name
  std::map<std::pair<std::string, long long>, std::string> categories;  // (tag set id, lacv) -> name
};

struct SpifImport {
  std::optional<LabelScheme> scheme;  // absent when diagnostics has errors
  std::string yaml;                   // the scheme as a scheme file; empty on errors
  Diagnostics diagnostics;            // S0xx errors, S1xx warnings
  SpifValues values;                  // for resolving another SPIF's equivalences to this one
};

// Reads an Open XML SPIF file and converts it. The YAML is checked by loading
// it back through the scheme validator (a problem there is S020).
//
// Equivalences (equivalentPolicies, equivalentClassification and
// equivalentSecCategoryTag with applied "encrypt" or "both") become the
// scheme's `equivalences:`, one per equivalent policy whose own SPIF is among
// `equivalent_spifs` (its lacvs are resolved to names there): one
// equivalent value is `to`, several are `one_of`, none is `none`. An
// equivalent policy whose SPIF is not given is left out with a warning
// (S110); an "applied decrypt" equivalent says how the other policy's labels
// read here, which belongs to the other scheme's equivalences, and is left
// out with a warning (S111).
SpifImport import_spif(const std::filesystem::path& file,
                       const std::vector<std::filesystem::path>& equivalent_spifs = {});
// Same, from text in memory; `file` names it in diagnostics. `others` are
// the values of the equivalent policies' SPIFs.
SpifImport import_spif_text(std::string_view text, const std::string& file,
                            const std::vector<SpifValues>& others = {});

// A scheme as a scheme file (policies/README.md, "The scheme file"), with
// `header` (lines without '#') as a leading comment.
std::string scheme_to_yaml(const LabelScheme& scheme, std::string_view header = {});

// A scheme file on its own, as a policy with no nodes or rules, so that label
// validity and display markings can be asked of it.
LoadResult load_scheme(const std::filesystem::path& file);

// ---- Clearance against a label ---------------------------------------------

enum class ClearanceLevel {
  regular,          // at or below the vetting's regular ceiling
  occasional,       // above it, at or below the occasional ceiling
  above_clearance,  // above both
};
std::string_view to_string(ClearanceLevel level);

struct ClearanceCheck {
  std::vector<std::string> label_problems;  // the label is invalid under the scheme when non-empty
  std::string marking;
  std::string vetting;
  std::string regular_ceiling;
  std::string occasional_ceiling;
  ClearanceLevel level = ClearanceLevel::above_clearance;
  // Restrictive categories on the label the holder lacks, in scheme order.
  std::vector<std::string> missing_restrictive;
  // Permissive tag sets on the label none of whose label categories the
  // holder has: the set's name and the label's categories from it.
  std::vector<std::pair<std::string, std::vector<std::string>>> missing_permissive;

  bool valid() const { return label_problems.empty(); }
  bool categories_ok() const { return missing_restrictive.empty() && missing_permissive.empty(); }
  // Valid, within a ceiling (regular or occasional) and every category test passed.
  bool cleared() const { return valid() && level != ClearanceLevel::above_clearance && categories_ok(); }
};

// Whether a holder of `vetting` (a vetting name of `policy`) cleared for the
// scheme categories `held` may see `label` (the SPIF access control decision:
// hierarchy, restrictive categories all held, one of each permissive set's).
// nullopt when the policy defines no such vetting.
std::optional<ClearanceCheck> check_clearance(const CompiledPolicy& policy, std::string_view vetting,
                                              const std::vector<std::string>& held, const Label& label);

}  // namespace icegate::policy
