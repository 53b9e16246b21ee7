// Open XML SPIF import (expat), scheme-only loading and clearance checks.
#include "gateway/policy/spif.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <climits>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <expat.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include "gateway/policy/parser.hpp"
#include "gateway/policy/validator.hpp"

namespace icegate::policy {
namespace {

// ---- A small located XML tree, built with expat -----------------------------

constexpr std::string_view kSpifNamespace = "http://www.xmlspif.org/spif";
// A misspelling found in SPIFs in the wild; accepted as the same namespace.
constexpr std::string_view kSpifNamespaceTypo = "http://www.xmslpif.org/spif";
constexpr std::size_t kMaxFileBytes = 16 * 1024 * 1024;
constexpr int kMaxDepth = 64;

struct XmlElement {
  std::string ns;                                               // namespace URI, "" for none
  std::string name;                                             // local name
  std::vector<std::pair<std::string, std::string>> attributes;  // local name, value
  std::vector<std::unique_ptr<XmlElement>> children;
  std::string text;  // character data directly inside
  SourceLocation location;

  bool in_spif_namespace() const { return ns.empty() || ns == kSpifNamespace || ns == kSpifNamespaceTypo; }
  const std::string* attribute(std::string_view key) const {
    for (const auto& [name, value] : attributes) {
      if (name == key) return &value;
    }
    return nullptr;
  }
  // SPIF children named `child`, in document order.
  std::vector<const XmlElement*> all(std::string_view child) const {
    std::vector<const XmlElement*> result;
    for (const auto& element : children) {
      if (element->name == child && element->in_spif_namespace()) result.push_back(element.get());
    }
    return result;
  }
  const XmlElement* first(std::string_view child) const {
    auto found = all(child);
    return found.empty() ? nullptr : found.front();
  }
};

// Splits expat's "uri local" (namespace processing, ' ' separator) name.
void split_name(const XML_Char* qualified, std::string& ns, std::string& local) {
  std::string_view text(qualified);
  const std::size_t space = text.rfind(' ');
  if (space == std::string_view::npos) {
    ns.clear();
    local = std::string(text);
  } else {
    ns = std::string(text.substr(0, space));
    local = std::string(text.substr(space + 1));
  }
}

struct TreeBuilder {
  XML_Parser parser = nullptr;
  std::string file;
  std::unique_ptr<XmlElement> root;
  std::vector<XmlElement*> open;
  bool too_deep = false;

  static void XMLCALL on_start(void* data, const XML_Char* name, const XML_Char** attributes) {
    auto* self = static_cast<TreeBuilder*>(data);
    if (static_cast<int>(self->open.size()) >= kMaxDepth) {
      self->too_deep = true;
      XML_StopParser(self->parser, XML_FALSE);
      return;
    }
    auto element = std::make_unique<XmlElement>();
    split_name(name, element->ns, element->name);
    for (const XML_Char** attribute = attributes; *attribute; attribute += 2) {
      std::string ns, local;
      split_name(attribute[0], ns, local);
      element->attributes.emplace_back(local, attribute[1]);
    }
    element->location = SourceLocation{self->file, static_cast<int>(XML_GetCurrentLineNumber(self->parser)),
                                       static_cast<int>(XML_GetCurrentColumnNumber(self->parser)) + 1};
    XmlElement* raw = element.get();
    if (self->open.empty()) {
      self->root = std::move(element);
    } else {
      self->open.back()->children.push_back(std::move(element));
    }
    self->open.push_back(raw);
  }
  static void XMLCALL on_end(void* data, const XML_Char*) { static_cast<TreeBuilder*>(data)->open.pop_back(); }
  static void XMLCALL on_text(void* data, const XML_Char* text, int length) {
    auto* self = static_cast<TreeBuilder*>(data);
    if (!self->open.empty()) self->open.back()->text.append(text, static_cast<std::size_t>(length));
  }
};

std::unique_ptr<XmlElement> parse_xml(std::string_view text, const std::string& file, Diagnostics& diagnostics) {
  TreeBuilder builder;
  builder.file = file;
  builder.parser = XML_ParserCreateNS(nullptr, ' ');
  if (!builder.parser) {
    diagnostics.error(Code::S010, SourceLocation{file, 0, 0}, "cannot create an XML parser");
    return nullptr;
  }
  XML_SetUserData(builder.parser, &builder);
  XML_SetElementHandler(builder.parser, &TreeBuilder::on_start, &TreeBuilder::on_end);
  XML_SetCharacterDataHandler(builder.parser, &TreeBuilder::on_text);
  const XML_Status status = XML_Parse(builder.parser, text.data(), static_cast<int>(text.size()), XML_TRUE);
  if (status != XML_STATUS_OK) {
    const SourceLocation where{file, static_cast<int>(XML_GetCurrentLineNumber(builder.parser)),
                               static_cast<int>(XML_GetCurrentColumnNumber(builder.parser)) + 1};
    if (builder.too_deep) {
      diagnostics.error(Code::S001, where, fmt::format("elements nested more than {} deep", kMaxDepth));
    } else {
      diagnostics.error(Code::S001, where,
                        fmt::format("XML is not well-formed: {}", XML_ErrorString(XML_GetErrorCode(builder.parser))));
    }
    XML_ParserFree(builder.parser);
    return nullptr;
  }
  XML_ParserFree(builder.parser);
  return std::move(builder.root);
}

// ---- Values -----------------------------------------------------------------

std::string trimmed(std::string_view text) {
  const auto space = [](unsigned char c) { return std::isspace(c) != 0; };
  while (!text.empty() && space(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && space(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  return std::string(text);
}

std::optional<long long> parse_integer(std::string_view text) {
  const std::string value = trimmed(text);
  long long result = 0;
  auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), result);
  if (error != std::errc() || end != value.data() + value.size() || value.empty()) return std::nullopt;
  return result;
}

// The colours SPIFs use by name (CSS names), as #rrggbb.
const std::map<std::string, std::string, std::less<>> kColourNames = {
    {"white", "#ffffff"},  {"black", "#000000"},      {"red", "#ff0000"},      {"green", "#008000"},
    {"blue", "#0000ff"},   {"yellow", "#ffff00"},     {"orange", "#ffa500"},   {"amber", "#ffbf00"},
    {"purple", "#800080"}, {"grey", "#808080"},       {"gray", "#808080"},     {"pink", "#ffc0cb"},
    {"brown", "#a52a2a"},  {"cyan", "#00ffff"},       {"magenta", "#ff00ff"},  {"lime", "#00ff00"},
    {"navy", "#000080"},   {"maroon", "#800000"},     {"olive", "#808000"},    {"teal", "#008080"},
    {"silver", "#c0c0c0"}, {"lightgreen", "#90ee90"}, {"lightblue", "#add8e6"}};

// "#abc", "#AABBCC" or a colour name, as "#aabbcc"; nullopt otherwise.
std::optional<std::string> normalise_colour(std::string_view text) {
  std::string value = trimmed(text);
  std::transform(value.begin(), value.end(), value.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (auto it = kColourNames.find(value); it != kColourNames.end()) return it->second;
  if (value.size() != 4 && value.size() != 7) return std::nullopt;
  if (value.front() != '#' ||
      !std::all_of(value.begin() + 1, value.end(), [](unsigned char c) { return std::isxdigit(c) != 0; })) {
    return std::nullopt;
  }
  if (value.size() == 4) return std::string{'#', value[1], value[1], value[2], value[2], value[3], value[3]};
  return value;
}

// ---- Markings ---------------------------------------------------------------

// Whether an xml:lang value is English or absent: the display markings a
// scheme holds are the English ones. Language tags are case-insensitive
// (BCP 47), so EN-GB is English too.
bool is_english(const std::string* language) {
  if (!language) return true;
  std::string tag = trimmed(*language);
  std::transform(tag.begin(), tag.end(), tag.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return tag.empty() || tag == "en" || tag.rfind("en-", 0) == 0;
}

// Where a markingData or markingQualifier applies, from its marking codes
// (`code` elements, or a `code` / `markingCode` attribute): a scheme's
// display marking is the page marking.
enum class MarkingPlace {
  page,       // pageTop, pageBottom, pageTopBottom, documentStart, documentEnd
  anywhere,   // no place given: it applies wherever no more specific one does
  elsewhere,  // only a portion marking, a watermark, a subject line...: not a display marking
};

// The codes that say where a marking goes; the others (suppressClassName,
// noNameDisplay, noMarkingDisplay, replacePolicy) say how, not where.
bool is_place_code(std::string_view code) {
  return code != "suppressClassName" && code != "noNameDisplay" && code != "noMarkingDisplay" &&
         code != "replacePolicy";
}
bool is_page_code(std::string_view code) {
  return code == "pageTopBottom" || code == "pageTop" || code == "pageBottom" || code == "documentStart" ||
         code == "documentEnd";
}

// ---- The importer -----------------------------------------------------------

// What the marking qualifiers of an element say for the page, in English.
struct Qualifiers {
  std::string prefix, suffix, separator;
};

// A category group (of a requiredCategory or an excludedCategory), resolved
// once every tag set is read.
struct GroupReference {
  std::string tag_set;                 // tagSetRef: a SPIF tag set name
  std::string tag_type;                // restrictive, permissive, enumerated, tagType7, informative
  std::optional<std::string> enum_type;  // of an enumerated group, when given
  std::optional<long long> lacv;       // absent: `all`
  SourceLocation location;
};

// A requiredCategory: its operation (all, oneOrMore, onlyOne) and groups.
struct Requirement {
  std::string operation;
  std::vector<GroupReference> groups;
  SourceLocation location;
};

struct PendingCategory {
  Category category;
  std::string spif_tag_set;  // the SPIF securityCategoryTagSet it is in
  std::string tag_type;      // the SPIF tagType of its tag (enumerated stays enumerated)
  std::string enum_type;     // the tag's enumType, for an enumerated tag
  long long lacv = 0;
  std::vector<Requirement> requirements;
  std::vector<GroupReference> exclusions;  // excludedCategory elements
};

// An equivalentClassification or equivalentSecCategoryTag, resolved once
// the other policy's values are known.
struct PendingEquivalent {
  std::string name;  // our classification or category
  bool category = false;
  std::string policy;      // policyRef
  std::string tag_set_id;  // a category's: the other policy's tag set OID
  long long lacv = 0;
  std::string applied;  // encrypt, decrypt, both
  SourceLocation location;
};

class Importer {
 public:
  Importer(std::string file, Diagnostics& diagnostics) : file_(std::move(file)), diagnostics_(diagnostics) {}

  std::optional<LabelScheme> run(const XmlElement& root) {
    if (root.name != "SPIF" || !root.in_spif_namespace()) {
      error(Code::S002, root.location,
            fmt::format("the root element is {}{}{}, not an Open XML SPIF's SPIF in {}", root.ns,
                        root.ns.empty() ? "" : ":", root.name, kSpifNamespace));
      return std::nullopt;
    }
    LabelScheme scheme;
    if (const XmlElement* id = required_element(root, "securityPolicyId", "SPIF")) {
      if (auto name = required_attribute(*id, "name", "securityPolicyId")) scheme.name = *name;
      const std::string* oid = id->attribute("id");
      scheme.description = fmt::format("Imported from the Open XML SPIF {}{}", file_name(),
                                       oid ? fmt::format(" (security policy {})", *oid) : "");
    }
    if (root.first("markingQualifier")) {
      warning(Code::S103, root.first("markingQualifier")->location,
              "a policy-wide markingQualifier (prefix, suffix or separator around the whole marking) has no "
              "equivalent in a scheme; left out");
    }
    read_classifications(root, scheme);
    read_tag_sets(root, scheme);
    resolve_requirements(scheme);
    values_.policy = scheme.name;
    if (const XmlElement* policies = root.first("equivalentPolicies")) {
      for (const XmlElement* policy : policies->all("equivalentPolicy")) {
        if (auto name = required_attribute(*policy, "name", "equivalentPolicy")) {
          equivalent_policies_.emplace_back(*name, policy->location);
        }
      }
    }
    if (diagnostics_.has_errors()) return std::nullopt;
    return scheme;
  }

  const SpifValues& values() const { return values_; }

  // The scheme's `equivalences:`, one per equivalent policy whose values are in `others`.
  void resolve_equivalences(LabelScheme& scheme, const std::vector<SpifValues>& others) {
    for (const PendingEquivalent& pending : equivalents_) {
      const bool declared = std::any_of(equivalent_policies_.begin(), equivalent_policies_.end(),
                                        [&pending](const auto& policy) { return policy.first == pending.policy; });
      if (!declared) {
        error(Code::S030, pending.location,
              fmt::format("policyRef '{}' names no equivalentPolicy of this SPIF", pending.policy));
      } else if (pending.applied == "decrypt") {
        warning(Code::S111, pending.location,
                fmt::format("an equivalent applied on decrypt says how {}'s labels read under this policy: that "
                            "belongs to {}'s scheme's equivalences; left out",
                            pending.policy, pending.policy));
      }
    }
    for (const auto& entry : equivalent_policies_) {
      const std::string& policy = entry.first;
      if (policy == scheme.name) {
        error(Code::S030, entry.second, fmt::format("equivalentPolicy '{}' is this policy itself", policy));
        continue;
      }
      auto other = std::find_if(others.begin(), others.end(),
                                [&policy](const SpifValues& values) { return values.policy == policy; });
      if (other == others.end()) {
        warning(Code::S110, entry.second,
                fmt::format("equivalences to {} left out: its values (lacv) can be read only from its own SPIF; "
                            "give that SPIF too (icegate policy import-spif --with)",
                            policy));
        continue;
      }
      SchemeEquivalence equivalence;
      equivalence.to = policy;
      equivalence.description = fmt::format("Imported from the Open XML SPIF {} (equivalentPolicy {})", file_name(),
                                            policy);
      equivalence.location = entry.second;
      for (const Classification& classification : scheme.classifications) {
        equivalence.classifications.push_back(
            mapping_of(classification.name, false, *other, "equivalentClassification"));
      }
      for (const Category& category : scheme.categories) {
        equivalence.categories.push_back(mapping_of(category.name, true, *other, "equivalentSecCategoryTag"));
      }
      scheme.equivalences.push_back(std::move(equivalence));
    }
  }

 private:
  EquivalenceMapping mapping_of(const std::string& name, bool category, const SpifValues& other,
                                std::string_view element) {
    EquivalenceMapping mapping;
    mapping.name = name;
    for (const PendingEquivalent& pending : equivalents_) {
      if (pending.name != name || pending.category != category || pending.policy != other.policy ||
          pending.applied == "decrypt") {
        continue;
      }
      const std::string* target = nullptr;
      if (category) {
        auto it = other.categories.find({pending.tag_set_id, pending.lacv});
        if (it != other.categories.end()) target = &it->second;
      } else {
        auto it = other.classifications.find(pending.lacv);
        if (it != other.classifications.end()) target = &it->second;
      }
      if (!target) {
        error(Code::S031, pending.location,
              category ? fmt::format("{} names no category of {} with lacv {} in tag set {}", element, other.policy,
                                     pending.lacv, pending.tag_set_id)
                       : fmt::format("{} names no classification of {} with lacv {}", element, other.policy,
                                     pending.lacv));
        continue;
      }
      if (std::none_of(mapping.targets.begin(), mapping.targets.end(),
                       [target](const EquivalenceName& t) { return t.name == *target; })) {
        mapping.targets.push_back({*target, pending.location});
      }
    }
    if (mapping.targets.empty()) {
      mapping.kind = EquivalenceKind::none;
      mapping.note = fmt::format("the SPIF gives no {} for {}", element, other.policy);
    } else if (mapping.targets.size() == 1) {
      mapping.kind = EquivalenceKind::exact;
    } else {
      mapping.kind = EquivalenceKind::one_of;
      mapping.note = fmt::format("the SPIF gives several {} for {}: someone must choose", element, other.policy);
    }
    return mapping;
  }

  void read_equivalents(const XmlElement& element, std::string_view child, const std::string& name, bool category) {
    for (const XmlElement* found : element.all(child)) {
      auto policy = required_attribute(*found, "policyRef", child);
      auto lacv = integer_attribute(*found, "lacv", child);
      auto applied = required_attribute(*found, "applied", child);
      std::optional<std::string> tag_set_id;
      if (category) tag_set_id = required_attribute(*found, "tagSetId", child);
      if (!policy || !lacv || !applied || (category && !tag_set_id)) continue;
      if (*applied != "encrypt" && *applied != "decrypt" && *applied != "both") {
        error(Code::S004, found->location, fmt::format("{} applied '{}': use encrypt, decrypt or both", child, *applied));
        continue;
      }
      equivalents_.push_back(
          {name, category, *policy, tag_set_id.value_or(""), *lacv, *applied, found->location});
    }
  }

 private:
  void error(Code code, const SourceLocation& where, std::string message) {
    diagnostics_.error(code, where, std::move(message));
  }
  void warning(Code code, const SourceLocation& where, std::string message) {
    diagnostics_.warning(code, where, std::move(message));
  }
  std::string file_name() const { return std::filesystem::path(file_).filename().string(); }

  const XmlElement* required_element(const XmlElement& parent, std::string_view child, std::string_view owner) {
    const XmlElement* element = parent.first(child);
    if (!element) error(Code::S003, parent.location, fmt::format("{} has no {} element", owner, child));
    return element;
  }
  std::optional<std::string> required_attribute(const XmlElement& element, std::string_view key,
                                                std::string_view owner) {
    const std::string* value = element.attribute(key);
    if (!value || trimmed(*value).empty()) {
      error(Code::S003, element.location, fmt::format("{} has no {} attribute", owner, key));
      return std::nullopt;
    }
    return *value;
  }
  std::optional<long long> integer_attribute(const XmlElement& element, std::string_view key, std::string_view owner) {
    auto text = required_attribute(element, key, owner);
    if (!text) return std::nullopt;
    auto value = parse_integer(*text);
    if (!value) error(Code::S004, element.location, fmt::format("{} {} '{}' is not an integer", owner, key, *text));
    return value;
  }
  void obsolete_warning(const XmlElement& element, std::string_view what) {
    const std::string* obsolete = element.attribute("obsolete");
    if (obsolete && trimmed(*obsolete) == "true") {
      warning(Code::S104, element.location, fmt::format("{} is marked obsolete; imported all the same", what));
    }
  }

  // The marking codes of a markingData or markingQualifier: its `code`
  // elements and any codes in `attribute` (several, space-separated).
  static std::vector<std::string> marking_codes(const XmlElement& element, std::string_view attribute) {
    std::vector<std::string> codes;
    for (const XmlElement* code : element.all("code")) codes.push_back(trimmed(code->text));
    if (const std::string* listed = element.attribute(attribute)) {
      std::istringstream words(*listed);
      for (std::string word; words >> word;) codes.push_back(word);
    }
    return codes;
  }

  static MarkingPlace marking_place(const std::vector<std::string>& codes) {
    bool placed = false;
    for (const std::string& code : codes) {
      if (is_page_code(code)) return MarkingPlace::page;
      if (is_place_code(code)) placed = true;
    }
    return placed ? MarkingPlace::elsewhere : MarkingPlace::anywhere;
  }

  // How well a marking element fits a display marking: 2 for the page, 1 for
  // no place given, nothing for a portion marking or another place.
  static std::optional<int> page_score(MarkingPlace place) {
    switch (place) {
      case MarkingPlace::page: return 2;
      case MarkingPlace::anywhere: return 1;
      case MarkingPlace::elsewhere: return std::nullopt;
    }
    return std::nullopt;
  }

  // The display phrase of an element's markingData: the page's (a page code,
  // else no place code), in English or no language; the first of equals. A
  // phrase only for a portion marking, a watermark or the like is not a
  // display marking: without a page phrase the name is the marking.
  std::optional<std::string> marking_phrase(const XmlElement& element, std::string_view what) {
    const XmlElement* chosen = nullptr;
    int chosen_score = 0;
    for (const XmlElement* data : element.all("markingData")) {
      if (!is_english(data->attribute("lang"))) continue;
      const std::vector<std::string> codes = marking_codes(*data, "code");
      for (const std::string& code : codes) {
        if (code == "suppressClassName") {
          warning(Code::S101, data->location,
                  fmt::format("suppressClassName on {} has no equivalent in a scheme; the classification is still "
                              "shown in display markings",
                              what));
        }
      }
      const std::optional<int> score = page_score(marking_place(codes));
      if (score && *score > chosen_score) {
        chosen = data;
        chosen_score = *score;
      }
    }
    if (!chosen) return std::nullopt;
    return required_attribute(*chosen, "phrase", "markingData");
  }

  // The page qualifiers of an element in English: for each of prefix, suffix
  // and separator, the one of the best-fitting markingQualifier (page code,
  // else none), the first of equals. A portion marking's qualifiers and other
  // languages' are not the display marking's.
  Qualifiers qualifiers(const XmlElement& element) {
    Qualifiers result;
    int prefix_score = 0, suffix_score = 0, separator_score = 0;
    for (const XmlElement* qualifier_set : element.all("markingQualifier")) {
      const std::optional<int> score = page_score(marking_place(marking_codes(*qualifier_set, "markingCode")));
      for (const XmlElement* qualifier : qualifier_set->all("qualifier")) {
        const std::string* text = qualifier->attribute("markingQualifier");
        const std::string* code = qualifier->attribute("qualifierCode");
        if (!text || !code) {
          error(Code::S003, qualifier->location, "qualifier needs markingQualifier and qualifierCode attributes");
          continue;
        }
        std::string* field = nullptr;
        int* field_score = nullptr;
        if (*code == "prefix") {
          field = &result.prefix;
          field_score = &prefix_score;
        } else if (*code == "suffix") {
          field = &result.suffix;
          field_score = &suffix_score;
        } else if (*code == "separator") {
          field = &result.separator;
          field_score = &separator_score;
        } else {
          error(Code::S004, qualifier->location,
                fmt::format("qualifierCode '{}' is not prefix, suffix or separator", *code));
          continue;
        }
        if (!score || !is_english(qualifier->attribute("lang")) || *score <= *field_score) continue;
        *field = *text;
        *field_score = *score;
      }
    }
    return result;
  }

  // A classification or category name with '/' could never be written on a
  // label (CLASSIFICATION/CATEGORY/...); icegate refuses it rather than
  // import a scheme with a category no label can carry.
  bool label_name_ok(const std::string& name, const XmlElement& element, std::string_view what) {
    if (name.find('/') == std::string::npos) return true;
    error(Code::S011, element.location,
          fmt::format("{} contains '/', which separates the parts of a label (CLASSIFICATION/CATEGORY/...), so it "
                      "could never be written on one",
                      what));
    return false;
  }

  void read_classifications(const XmlElement& root, LabelScheme& scheme) {
    const XmlElement* list = required_element(root, "securityClassifications", "SPIF");
    if (!list) return;
    struct Read {
      Classification classification;
      long long hierarchy = 0;
      long long lacv = 0;
    };
    std::vector<Read> read;
    std::map<std::string, SourceLocation> names;
    std::map<long long, std::string> lacvs, hierarchies;
    for (const XmlElement* element : list->all("securityClassification")) {
      auto name = required_attribute(*element, "name", "securityClassification");
      const std::string what = name ? fmt::format("classification '{}'", *name) : "securityClassification";
      auto lacv = integer_attribute(*element, "lacv", what);
      auto hierarchy = integer_attribute(*element, "hierarchy", what);
      if (!name || !lacv || !hierarchy) continue;
      if (!label_name_ok(*name, *element, fmt::format("classification name '{}'", *name))) continue;
      obsolete_warning(*element, what);
      if (!names.emplace(*name, element->location).second) {
        error(Code::S006, element->location, fmt::format("duplicate classification name '{}'", *name));
        continue;
      }
      if (auto [it, inserted] = lacvs.emplace(*lacv, *name); !inserted) {
        error(Code::S007, element->location,
              fmt::format("classification '{}' has lacv {}, as '{}' does", *name, *lacv, it->second));
      }
      if (auto [it, inserted] = hierarchies.emplace(*hierarchy, *name); !inserted) {
        error(Code::S008, element->location,
              fmt::format("classification '{}' has hierarchy {}, as '{}' does: a scheme ranks classifications in "
                          "a strict order",
                          *name, *hierarchy, it->second));
      }
      Read entry;
      entry.classification.name = *name;
      entry.classification.location = element->location;
      entry.hierarchy = *hierarchy;
      entry.lacv = *lacv;
      values_.classifications.emplace(*lacv, *name);
      read_equivalents(*element, "equivalentClassification", *name, false);
      if (auto phrase = marking_phrase(*element, what); phrase && *phrase != *name) {
        entry.classification.marking = *phrase;
      }
      const Qualifiers around = qualifiers(*element);
      if (!around.prefix.empty() || !around.suffix.empty()) {
        const std::string base = entry.classification.marking.empty() ? *name : entry.classification.marking;
        entry.classification.marking = trimmed(around.prefix + base + around.suffix);
      }
      const std::string* background = element->attribute("color");
      if (!background) background = element->attribute("bgcolor");
      if (background) {
        if (auto colour = normalise_colour(*background)) {
          entry.classification.colour = *colour;
        } else {
          warning(Code::S102, element->location,
                  fmt::format("colour '{}' of {} is not #rgb, #rrggbb or a known colour name; left out", *background,
                              what));
        }
      }
      if (const std::string* foreground = element->attribute("fgcolor")) {
        if (auto colour = normalise_colour(*foreground)) {
          entry.classification.text_colour = *colour;
        } else {
          warning(Code::S102, element->location,
                  fmt::format("text colour '{}' of {} is not #rgb, #rrggbb or a known colour name; left out",
                              *foreground, what));
        }
      }
      for (const XmlElement* required : element->all("requiredCategory")) {
        if (auto requirement = read_requirement(*required, what)) {
          classification_requirements_.emplace_back(*name, std::move(*requirement));
        }
      }
      for (const XmlElement* found : element->all("excludedCategory")) {
        warning(Code::S101, found->location,
                fmt::format("excludedCategory on {} (a category rule for a whole classification) has no equivalent "
                            "in a scheme; left out, so the imported scheme accepts labels the SPIF would reject",
                            what));
      }
      read.push_back(std::move(entry));
    }
    if (read.empty() && !diagnostics_.has_errors()) {
      error(Code::S005, list->location, "the SPIF defines no securityClassification");
    }
    std::stable_sort(read.begin(), read.end(), [](const Read& a, const Read& b) { return a.hierarchy < b.hierarchy; });
    for (Read& entry : read) {
      entry.classification.rank = static_cast<int>(scheme.classifications.size());
      scheme.classifications.push_back(std::move(entry.classification));
    }
  }

  std::optional<TagSetType> tag_type(const XmlElement& tag, const std::string& type, const std::string& what) {
    if (type == "restrictive") return TagSetType::restrictive;
    if (type == "permissive") return TagSetType::permissive;
    if (type == "informative" || type == "tagType7") return TagSetType::informative;
    if (type == "enumerated") {
      const std::string* enum_type = tag.attribute("enumType");
      if (!enum_type) {
        error(Code::S003, tag.location,
              fmt::format("{} is enumerated but has no enumType (restrictive or permissive)", what));
        return std::nullopt;
      }
      if (*enum_type == "restrictive") return TagSetType::restrictive;
      if (*enum_type == "permissive") return TagSetType::permissive;
      error(Code::S004, tag.location, fmt::format("{} has enumType '{}': use restrictive or permissive", what, *enum_type));
      return std::nullopt;
    }
    error(Code::S004, tag.location,
          fmt::format("{} has tagType '{}': use restrictive, permissive, enumerated or informative", what, type));
    return std::nullopt;
  }

  // singleSelection and maxSelection of a tag, as a max_selection (0: no limit).
  int selection_limit(const XmlElement& tag, const std::string& what) {
    long long limit = 0;
    if (const std::string* single = tag.attribute("singleSelection"); single && trimmed(*single) == "true") limit = 1;
    if (tag.attribute("maxSelection")) {
      if (auto most = integer_attribute(tag, "maxSelection", what)) {
        if (*most < 1) {
          error(Code::S004, tag.location, fmt::format("{} has maxSelection {}: use 1 or more", what, *most));
        } else if (limit == 0 || *most < limit) {
          limit = std::min<long long>(*most, INT_MAX);
        }
      }
    }
    if (tag.attribute("minSelection")) {
      warning(Code::S101, tag.location,
              fmt::format("minSelection on {} has no equivalent in a scheme; left out, so the imported scheme "
                          "accepts labels the SPIF would reject",
                          what));
    }
    return static_cast<int>(limit);
  }

  // requiredClass (an attribute naming one classification, or elements each
  // naming one): the category is allowed only at those, so it is excluded at
  // every other. A scheme says that with excluded_at, in rank order.
  void read_required_classes(const XmlElement& element, const std::string& what, const LabelScheme& scheme,
                             Category& category) {
    std::vector<std::string> allowed;
    auto add = [&](const std::string& text, const SourceLocation& where) {
      const std::string classification = trimmed(text);
      const bool defined = std::any_of(scheme.classifications.begin(), scheme.classifications.end(),
                                       [&](const Classification& c) { return c.name == classification; });
      if (!defined) {
        error(Code::S009, where,
              fmt::format("requiredClass '{}' of {} names no securityClassification", classification, what));
        return;
      }
      allowed.push_back(classification);
    };
    if (const std::string* attribute = element.attribute("requiredClass")) add(*attribute, element.location);
    for (const XmlElement* required : element.all("requiredClass")) add(required->text, required->location);
    if (allowed.empty()) return;
    for (const Classification& classification : scheme.classifications) {
      if (std::find(allowed.begin(), allowed.end(), classification.name) != allowed.end()) continue;
      if (std::find(category.excluded_at.begin(), category.excluded_at.end(), classification.name) ==
          category.excluded_at.end()) {
        category.excluded_at.push_back(classification.name);
      }
    }
  }

  std::optional<Requirement> read_requirement(const XmlElement& required, const std::string& what) {
    Requirement requirement;
    requirement.location = required.location;
    auto operation = required_attribute(required, "operation", "requiredCategory of " + what);
    if (!operation) return std::nullopt;
    if (*operation != "all" && *operation != "oneOrMore" && *operation != "onlyOne") {
      error(Code::S004, required.location,
            fmt::format("requiredCategory operation '{}' of {}: use all, oneOrMore or onlyOne", *operation, what));
      return std::nullopt;
    }
    requirement.operation = *operation;
    for (const XmlElement* group : required.all("categoryGroup")) {
      if (auto reference = group_reference(*group, "categoryGroup")) requirement.groups.push_back(std::move(*reference));
    }
    return requirement;
  }

  // A categoryGroup or excludedCategory: tagSetRef, tagType, enumType and a
  // lacv or all="true".
  std::optional<GroupReference> group_reference(const XmlElement& group, std::string_view what) {
    GroupReference reference;
    reference.location = group.location;
    auto set_ref = required_attribute(group, "tagSetRef", what);
    auto group_type = required_attribute(group, "tagType", what);
    if (!set_ref || !group_type) return std::nullopt;
    reference.tag_set = *set_ref;
    reference.tag_type = *group_type;
    if (const std::string* enum_type = group.attribute("enumType")) reference.enum_type = trimmed(*enum_type);
    const std::string* all = group.attribute("all");
    if (!(all && trimmed(*all) == "true")) {
      reference.lacv = integer_attribute(group, "lacv", what);
      if (!reference.lacv) return std::nullopt;
    }
    return reference;
  }

  void read_tag_sets(const XmlElement& root, LabelScheme& scheme) {
    const XmlElement* list = root.first("securityCategoryTagSets");
    if (!list) return;
    std::set<std::string> spif_tag_sets;
    std::map<std::string, SourceLocation> category_names;
    for (const XmlElement* set_element : list->all("securityCategoryTagSet")) {
      auto set_name = required_attribute(*set_element, "name", "securityCategoryTagSet");
      if (!set_name) continue;
      if (!spif_tag_sets.insert(*set_name).second) {
        error(Code::S006, set_element->location, fmt::format("duplicate securityCategoryTagSet name '{}'", *set_name));
        continue;
      }
      std::map<std::pair<std::string, long long>, std::string> lacvs;  // (tag type, lacv) -> category
      for (const XmlElement* tag : set_element->all("securityCategoryTag")) {
        auto tag_name = required_attribute(*tag, "name", "securityCategoryTag");
        auto type_text = required_attribute(*tag, "tagType", "securityCategoryTag");
        if (!tag_name || !type_text) continue;
        const std::string what = fmt::format("tag '{}' of tag set '{}'", *tag_name, *set_name);
        auto type = tag_type(*tag, *type_text, what);
        if (!type) continue;
        TagSet tag_set;
        // Our tag sets are SPIF tags (a SPIF tag set holds tags of several
        // types); a tag's name names it unless two tags share one.
        tag_set.name = *tag_name;
        if (std::any_of(scheme.tag_sets.begin(), scheme.tag_sets.end(),
                        [&](const TagSet& other) { return other.name == tag_set.name; })) {
          tag_set.name = *set_name + " " + *tag_name;
        }
        if (std::any_of(scheme.tag_sets.begin(), scheme.tag_sets.end(),
                        [&](const TagSet& other) { return other.name == tag_set.name; })) {
          error(Code::S006, tag->location, fmt::format("duplicate {}", what));
          continue;
        }
        tag_set.type = *type;
        tag_set.location = tag->location;
        tag_set.max_selection = selection_limit(*tag, what);
        // The tag's qualifiers frame its categories once on a marking: "REL TO " + "POLICE, COUNCIL".
        const Qualifiers around = qualifiers(*tag);
        tag_set.marking_prefix = around.prefix;
        tag_set.marking_suffix = around.suffix;
        if (!around.separator.empty()) tag_set.marking_separator = around.separator;
        const std::string* enum_type = tag->attribute("enumType");
        for (const XmlElement* element : tag->all("tagCategory")) {
          auto name = required_attribute(*element, "name", "tagCategory");
          const std::string category_what =
              name ? fmt::format("category '{}' of {}", *name, what) : "tagCategory of " + what;
          auto lacv = integer_attribute(*element, "lacv", category_what);
          if (!name || !lacv) continue;
          if (!label_name_ok(*name, *element, fmt::format("category name '{}' of {}", *name, what))) continue;
          obsolete_warning(*element, category_what);
          if (auto [it, inserted] = category_names.emplace(*name, element->location); !inserted) {
            error(Code::S006, element->location,
                  fmt::format("category name '{}' is used twice (also at line {}): a scheme's category names are "
                              "unique across every tag set",
                              *name, it->second.line));
            continue;
          }
          if (auto [it, inserted] = lacvs.emplace(std::make_pair(*type_text, *lacv), *name); !inserted) {
            error(Code::S007, element->location,
                  fmt::format("{} has lacv {}, as '{}' of the same tag set and tag type does", category_what, *lacv,
                              it->second));
          }
          PendingCategory pending;
          pending.category.name = *name;
          pending.category.tag_set = tag_set.name;
          pending.category.location = element->location;
          pending.spif_tag_set = *set_name;
          pending.tag_type = *type_text;
          if (enum_type) pending.enum_type = trimmed(*enum_type);
          pending.lacv = *lacv;
          if (const std::string* set_id = set_element->attribute("id")) {
            values_.categories.emplace(std::make_pair(trimmed(*set_id), *lacv), *name);
          }
          read_equivalents(*element, "equivalentSecCategoryTag", *name, true);
          std::string marking = marking_phrase(*element, category_what).value_or(*name);
          const Qualifiers own = qualifiers(*element);  // a category's own qualifiers are part of its marking
          marking = trimmed(own.prefix + marking + own.suffix);
          if (marking != *name) pending.category.marking = marking;
          read_required_classes(*element, category_what, scheme, pending.category);
          for (const XmlElement* excluded : element->all("excludedClass")) {
            const std::string classification = trimmed(excluded->text);
            const bool defined = std::any_of(scheme.classifications.begin(), scheme.classifications.end(),
                                             [&](const Classification& c) { return c.name == classification; });
            if (!defined) {
              error(Code::S009, excluded->location,
                    fmt::format("excludedClass '{}' of {} names no securityClassification", classification,
                                category_what));
            } else if (std::find(pending.category.excluded_at.begin(), pending.category.excluded_at.end(),
                                 classification) == pending.category.excluded_at.end()) {
              pending.category.excluded_at.push_back(classification);
            }
          }
          for (const XmlElement* required : element->all("requiredCategory")) {
            if (auto requirement = read_requirement(*required, category_what)) {
              pending.requirements.push_back(std::move(*requirement));
            }
          }
          for (const XmlElement* excluded : element->all("excludedCategory")) {
            if (auto reference = group_reference(*excluded, "excludedCategory")) {
              pending.exclusions.push_back(std::move(*reference));
            }
          }
          tag_set.categories.push_back(*name);
          pending_.push_back(std::move(pending));
        }
        scheme.tag_sets.push_back(std::move(tag_set));
      }
    }
  }

  // The categories a group names, in SPIF order; nullopt (reported) when it names none.
  std::optional<std::vector<std::string>> resolve_group(const GroupReference& group) {
    std::vector<std::string> members;
    bool set_exists = false;
    for (const PendingCategory& other : pending_) {
      if (other.spif_tag_set != group.tag_set) continue;
      set_exists = true;
      if (other.tag_type != group.tag_type) continue;
      if (group.enum_type && other.tag_type == "enumerated" && other.enum_type != *group.enum_type) continue;
      if (group.lacv && other.lacv != *group.lacv) continue;
      members.push_back(other.category.name);
    }
    if (!set_exists) {
      error(Code::S009, group.location,
            fmt::format("categoryGroup tagSetRef '{}' names no securityCategoryTagSet", group.tag_set));
      return std::nullopt;
    }
    if (members.empty()) {
      error(Code::S009, group.location,
            group.lacv ? fmt::format("categoryGroup names no {} category with lacv {} in tag set '{}'", group.tag_type,
                                     *group.lacv, group.tag_set)
                       : fmt::format("categoryGroup names no {} category in tag set '{}'", group.tag_type,
                                     group.tag_set));
      return std::nullopt;
    }
    return members;
  }

  static void add_unique(std::vector<std::string>& names, const std::string& name) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  }

  // Category groups to category names, then requiredCategory to `requires`
  // (all, or one category), `requires_any_of` (oneOrMore) or
  // `requires_exactly_one_of` (onlyOne), and excludedCategory to `excludes`.
  // A group naming the category itself (a rule over its own tag) is
  // restated without it, since a scheme category may not name itself:
  // oneOrMore is then always met, onlyOne excludes the others.
  // The categories a requirement names, every group resolved; nullopt when
  // some group names none (reported).
  std::optional<std::vector<std::string>> resolve_requirement(const Requirement& requirement) {
    std::vector<std::string> resolved;
    bool complete = true;
    for (const GroupReference& group : requirement.groups) {
      auto members = resolve_group(group);
      if (!members) {
        complete = false;
        continue;
      }
      for (const std::string& name : *members) add_unique(resolved, name);
    }
    if (!complete || resolved.empty()) return std::nullopt;
    return resolved;
  }

  // A resolved requirement as `requires` (all, or one category),
  // `requires_any_of` (oneOrMore) or `requires_exactly_one_of` (onlyOne).
  template <typename Owner>
  static void add_requirement(const std::string& operation, std::vector<std::string> names, Owner& owner) {
    if (operation == "all" || names.size() == 1) {
      for (const std::string& name : names) add_unique(owner.requires_categories, name);
    } else if (operation == "oneOrMore") {
      owner.requires_any_of.push_back(std::move(names));
    } else {
      owner.requires_exactly_one_of.push_back(std::move(names));
    }
  }

  void resolve_requirements(LabelScheme& scheme) {
    // Names are copied, not moved, until every requirement is resolved.
    for (PendingCategory& pending : pending_) {
      Category& category = pending.category;
      for (const Requirement& requirement : pending.requirements) {
        auto resolved = resolve_requirement(requirement);
        if (!resolved) continue;
        const bool includes_itself = std::find(resolved->begin(), resolved->end(), category.name) != resolved->end();
        std::erase(*resolved, category.name);
        if (!includes_itself) {
          add_requirement(requirement.operation, std::move(*resolved), category);
        } else if (requirement.operation == "all") {
          add_requirement("all", std::move(*resolved), category);
        } else if (requirement.operation == "onlyOne") {  // and this is the one
          for (const std::string& name : *resolved) add_unique(category.excludes, name);
        }  // oneOrMore, met by the category itself
      }
      for (const GroupReference& group : pending.exclusions) {
        auto members = resolve_group(group);
        if (!members) continue;
        for (const std::string& name : *members) {
          if (name != category.name) add_unique(category.excludes, name);
        }
      }
    }
    for (const auto& entry : classification_requirements_) {
      // Not a structured binding: clang 14 cannot capture one in a lambda.
      const std::string& name = entry.first;
      const auto& requirement = entry.second;
      auto resolved = resolve_requirement(requirement);
      auto classification = std::find_if(scheme.classifications.begin(), scheme.classifications.end(),
                                         [&name](const Classification& c) { return c.name == name; });
      if (resolved && classification != scheme.classifications.end()) {
        add_requirement(requirement.operation, std::move(*resolved), *classification);
      }
    }
    // Only now: a requirement may name any category, read before or after it.
    for (PendingCategory& pending : pending_) scheme.categories.push_back(std::move(pending.category));
  }

  std::string file_;
  Diagnostics& diagnostics_;
  std::vector<PendingCategory> pending_;
  SpifValues values_;
  std::vector<std::pair<std::string, SourceLocation>> equivalent_policies_;  // name, where
  std::vector<PendingEquivalent> equivalents_;
  // requiredCategory of a classification, by classification name.
  std::vector<std::pair<std::string, Requirement>> classification_requirements_;
};

// ---- YAML -------------------------------------------------------------------

std::string yaml_quote(std::string_view text) {
  std::string result = "\"";
  for (const char c : text) {
    switch (c) {
      case '"': result += "\\\""; break;
      case '\\': result += "\\\\"; break;
      case '\n': result += "\\n"; break;
      case '\t': result += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          result += fmt::format("\\x{:02x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
        } else {
          result += c;
        }
    }
  }
  return result + "\"";
}

std::string yaml_list(const std::vector<std::string>& values) {
  std::string result = "[";
  for (std::size_t i = 0; i < values.size(); ++i) result += (i ? ", " : "") + yaml_quote(values[i]);
  return result + "]";
}

// `requires`, `requires_any_of`, `requires_exactly_one_of` of a category or
// classification, each key at `indent`.
template <typename Owner>
std::string requirements_yaml(const Owner& owner, std::string_view indent) {
  std::string yaml;
  if (!owner.requires_categories.empty()) {
    yaml += fmt::format("{}requires: {}\n", indent, yaml_list(owner.requires_categories));
  }
  for (auto [key, groups] : {std::pair{"requires_any_of", &owner.requires_any_of},
                             std::pair{"requires_exactly_one_of", &owner.requires_exactly_one_of}}) {
    if (groups->empty()) continue;
    std::vector<std::string> lists;
    for (const auto& group : *groups) lists.push_back(yaml_list(group));
    yaml += fmt::format("{}{}: [{}]\n", indent, key, fmt::join(lists, ", "));
  }
  return yaml;
}

std::string mappings_yaml(std::string_view key, const std::vector<EquivalenceMapping>& mappings) {
  if (mappings.empty()) return {};
  std::string yaml = fmt::format("    {}:\n", key);
  for (const EquivalenceMapping& mapping : mappings) {
    yaml += fmt::format("      - name: {}\n", yaml_quote(mapping.name));
    std::vector<std::string> targets;
    for (const EquivalenceName& target : mapping.targets) targets.push_back(target.name);
    switch (mapping.kind) {
      case EquivalenceKind::exact: yaml += fmt::format("        to: {}\n", yaml_quote(targets.front())); break;
      case EquivalenceKind::one_of: yaml += fmt::format("        one_of: {}\n", yaml_list(targets)); break;
      case EquivalenceKind::none: yaml += "        none: true\n"; break;
    }
    if (!mapping.note.empty()) yaml += fmt::format("        note: {}\n", yaml_quote(mapping.note));
  }
  return yaml;
}

std::string_view type_name(TagSetType type) {
  switch (type) {
    case TagSetType::restrictive: return "restrictive";
    case TagSetType::permissive: return "permissive";
    case TagSetType::informative: return "informative";
  }
  return "informative";
}

}  // namespace

std::string scheme_to_yaml(const LabelScheme& scheme, std::string_view header) {
  std::string yaml;
  std::size_t start = 0;
  while (start < header.size()) {
    std::size_t end = header.find('\n', start);
    if (end == std::string_view::npos) end = header.size();
    const std::string_view line = header.substr(start, end - start);
    yaml += line.empty() ? "#\n" : fmt::format("# {}\n", line);
    start = end + 1;
  }
  yaml += fmt::format("scheme: {}\n", yaml_quote(scheme.name));
  if (!scheme.description.empty()) yaml += fmt::format("description: {}\n", yaml_quote(scheme.description));
  yaml += "classifications:\n";
  for (const Classification& classification : scheme.classifications) {
    yaml += fmt::format("  - name: {}\n", yaml_quote(classification.name));
    if (!classification.marking.empty() && classification.marking != classification.name) {
      yaml += fmt::format("    marking: {}\n", yaml_quote(classification.marking));
    }
    if (!classification.colour.empty()) yaml += fmt::format("    colour: {}\n", yaml_quote(classification.colour));
    if (!classification.text_colour.empty()) {
      yaml += fmt::format("    text_colour: {}\n", yaml_quote(classification.text_colour));
    }
    yaml += requirements_yaml(classification, "    ");
  }
  if (!scheme.tag_sets.empty()) yaml += "tag_sets:\n";
  for (const TagSet& tag_set : scheme.tag_sets) {
    yaml += fmt::format("  - name: {}\n    type: {}\n", yaml_quote(tag_set.name), type_name(tag_set.type));
    if (tag_set.max_selection > 0) yaml += fmt::format("    max_selection: {}\n", tag_set.max_selection);
    if (!tag_set.marking_prefix.empty()) {
      yaml += fmt::format("    marking_prefix: {}\n", yaml_quote(tag_set.marking_prefix));
    }
    if (!tag_set.marking_separator.empty() && tag_set.marking_separator != " ") {
      yaml += fmt::format("    marking_separator: {}\n", yaml_quote(tag_set.marking_separator));
    }
    if (!tag_set.marking_suffix.empty()) {
      yaml += fmt::format("    marking_suffix: {}\n", yaml_quote(tag_set.marking_suffix));
    }
    yaml += "    categories:\n";
    for (const std::string& name : tag_set.categories) {
      auto it = std::find_if(scheme.categories.begin(), scheme.categories.end(),
                             [&name](const Category& category) { return category.name == name; });
      yaml += fmt::format("      - name: {}\n", yaml_quote(name));
      if (it == scheme.categories.end()) continue;
      if (!it->marking.empty() && it->marking != it->name) {
        yaml += fmt::format("        marking: {}\n", yaml_quote(it->marking));
      }
      if (!it->excluded_at.empty()) yaml += fmt::format("        excluded_at: {}\n", yaml_list(it->excluded_at));
      yaml += requirements_yaml(*it, "        ");
      if (!it->excludes.empty()) yaml += fmt::format("        excludes: {}\n", yaml_list(it->excludes));
    }
  }
  if (!scheme.equivalences.empty()) yaml += "equivalences:\n";
  for (const SchemeEquivalence& equivalence : scheme.equivalences) {
    yaml += fmt::format("  - to: {}\n", yaml_quote(equivalence.to));
    if (!equivalence.description.empty()) {
      yaml += fmt::format("    description: {}\n", yaml_quote(equivalence.description));
    }
    yaml += mappings_yaml("classifications", equivalence.classifications);
    yaml += mappings_yaml("categories", equivalence.categories);
  }
  return yaml;
}

SpifImport import_spif_text(std::string_view text, const std::string& file, const std::vector<SpifValues>& others) {
  SpifImport result;
  std::unique_ptr<XmlElement> root = parse_xml(text, file, result.diagnostics);
  if (!root) return result;
  Importer importer(file, result.diagnostics);
  std::optional<LabelScheme> scheme = importer.run(*root);
  result.values = importer.values();
  if (!scheme) return result;
  importer.resolve_equivalences(*scheme, others);
  if (result.diagnostics.has_errors()) return result;

  std::string yaml = scheme_to_yaml(
      *scheme, fmt::format("Label scheme imported from the Open XML SPIF {} by `icegate policy import-spif`.\n"
                           "Edit the SPIF and import it again rather than editing this file.",
                           std::filesystem::path(file).filename().string()));
  // The output must be a scheme the loader accepts; if not, that is a SPIF
  // the importer could not express, and it says so rather than writing it.
  const std::string yaml_name = file + " (imported scheme)";
  ParseResult parsed = parse_policy_file(yaml, yaml_name);
  Diagnostics check = parsed.diagnostics;
  if (parsed.root) check.append(validate_scheme(*parsed.root).diagnostics);
  for (const Diagnostic& problem : check.sorted()) {
    if (problem.severity != Severity::error) continue;
    result.diagnostics.error(Code::S020, root->location,
                             fmt::format("the imported scheme is not valid: {}: {}", to_string(problem.code), problem.message));
  }
  if (result.diagnostics.has_errors()) return result;
  result.scheme = std::move(scheme);
  result.yaml = std::move(yaml);
  return result;
}

SpifImport import_spif(const std::filesystem::path& file, const std::vector<std::filesystem::path>& equivalent_spifs) {
  std::vector<SpifValues> others;
  Diagnostics others_problems;
  for (const std::filesystem::path& other : equivalent_spifs) {
    SpifImport imported = import_spif(other);
    for (const Diagnostic& problem : imported.diagnostics.all()) {
      if (problem.severity == Severity::error) others_problems.add(problem);
    }
    if (imported.scheme) others.push_back(std::move(imported.values));
  }
  if (others_problems.has_errors()) {
    SpifImport result;
    result.diagnostics = std::move(others_problems);
    return result;
  }
  std::error_code error;
  const auto size = std::filesystem::file_size(file, error);
  if (!error && size > kMaxFileBytes) {
    SpifImport result;
    result.diagnostics.error(Code::S010, SourceLocation{file.string(), 0, 0},
                             fmt::format("the file is {} bytes; SPIFs over {} bytes are refused", size, kMaxFileBytes));
    return result;
  }
  std::string reason;
  auto text = read_text_file(file, reason);
  if (!text) {
    SpifImport result;
    result.diagnostics.error(Code::S010, SourceLocation{file.string(), 0, 0},
                             fmt::format("cannot read the file: {}", reason));
    return result;
  }
  return import_spif_text(*text, file.string(), others);
}

LoadResult load_scheme(const std::filesystem::path& file) {
  LoadResult result;
  std::string reason;
  auto text = read_text_file(file, reason);
  if (!text) {
    result.diagnostics.error(Code::P007, SourceLocation{file.string(), 0, 0},
                             fmt::format("cannot read scheme file: {}", reason));
    return result;
  }
  ParseResult parsed = parse_policy_file(*text, file.string());
  result.diagnostics.append(parsed.diagnostics);
  if (!parsed.root) return result;
  SchemeValidationResult validated = validate_scheme(*parsed.root);
  result.diagnostics.append(validated.diagnostics);
  if (result.diagnostics.has_errors() || !validated.scheme) return result;
  Policy policy;
  policy.name = validated.scheme->name;
  policy.file = file.string();
  policy.scheme = std::move(*validated.scheme);
  result.policy = std::make_shared<const CompiledPolicy>(std::move(policy));
  return result;
}

// ---- Clearance --------------------------------------------------------------

std::string_view to_string(ClearanceLevel level) {
  switch (level) {
    case ClearanceLevel::regular: return "regular";
    case ClearanceLevel::occasional: return "occasional";
    case ClearanceLevel::above_clearance: return "above clearance";
  }
  return "unknown";
}

std::optional<ClearanceCheck> check_clearance(const CompiledPolicy& policy, std::string_view vetting,
                                              const std::vector<std::string>& held, const Label& label) {
  const Policy& source = policy.source();
  auto found = std::find_if(source.vetting.begin(), source.vetting.end(),
                            [vetting](const Vetting& entry) { return entry.name == vetting; });
  if (found == source.vetting.end()) return std::nullopt;
  ClearanceCheck check;
  check.label_problems = policy.label_problems(label);
  check.marking = policy.display_marking(label);
  check.vetting = found->name;
  check.regular_ceiling = found->regular_ceiling;
  check.occasional_ceiling = found->occasional_ceiling.empty() ? found->regular_ceiling : found->occasional_ceiling;
  const int rank = policy.classification_rank(label.classification);
  const int regular = policy.classification_rank(check.regular_ceiling);
  const int occasional = std::max(regular, policy.classification_rank(check.occasional_ceiling));
  if (rank < 0) {
    check.level = ClearanceLevel::above_clearance;
  } else if (rank <= regular) {
    check.level = ClearanceLevel::regular;
  } else if (rank <= occasional) {
    check.level = ClearanceLevel::occasional;
  } else {
    check.level = ClearanceLevel::above_clearance;
  }
  auto holds = [&held](const std::string& category) {
    return std::find(held.begin(), held.end(), category) != held.end();
  };
  const LabelScheme& scheme = source.scheme;
  for (const TagSet& tag_set : scheme.tag_sets) {
    std::vector<std::string> on_label;
    for (const std::string& category : tag_set.categories) {
      if (std::find(label.categories.begin(), label.categories.end(), category) != label.categories.end()) {
        on_label.push_back(category);
      }
    }
    if (on_label.empty()) continue;
    if (tag_set.type == TagSetType::restrictive) {
      for (const std::string& category : on_label) {
        if (!holds(category)) check.missing_restrictive.push_back(category);
      }
    } else if (tag_set.type == TagSetType::permissive) {
      if (std::none_of(on_label.begin(), on_label.end(), holds)) {
        check.missing_permissive.emplace_back(tag_set.name, on_label);
      }
    }
  }
  return check;
}

}  // namespace icegate::policy
