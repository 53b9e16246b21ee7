// Open XML SPIF import (expat), scheme-only loading and clearance checks.
#include "gateway/policy/spif.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <expat.h>
#include <fmt/format.h>

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
    diagnostics.error("S010", SourceLocation{file, 0, 0}, "cannot create an XML parser");
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
      diagnostics.error("S001", where, fmt::format("elements nested more than {} deep", kMaxDepth));
    } else {
      diagnostics.error("S001", where,
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

// ---- The importer -----------------------------------------------------------

// What a marking qualifier element says.
struct Qualifiers {
  std::string prefix, suffix, separator;
  bool any() const { return !prefix.empty() || !suffix.empty() || !separator.empty(); }
};

// A category group (of a requiredCategory), resolved once every tag set is read.
struct GroupReference {
  std::string tag_set;            // tagSetRef: a SPIF tag set name
  std::string tag_type;           // restrictive, permissive, enumerated, informative
  std::optional<long long> lacv;  // absent: `all`
  SourceLocation location;
};

struct PendingCategory {
  Category category;
  std::string spif_tag_set;  // the SPIF securityCategoryTagSet it is in
  std::string tag_type;      // the SPIF tagType of its tag (enumerated stays enumerated)
  long long lacv = 0;
  // requiredCategory operations, each with its groups.
  struct Requirement {
    std::string operation;
    std::vector<GroupReference> groups;
    SourceLocation location;
  };
  std::vector<Requirement> requirements;
};

class Importer {
 public:
  Importer(std::string file, Diagnostics& diagnostics) : file_(std::move(file)), diagnostics_(diagnostics) {}

  std::optional<LabelScheme> run(const XmlElement& root) {
    if (root.name != "SPIF" || !root.in_spif_namespace()) {
      error("S002", root.location,
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
      warning("S103", root.first("markingQualifier")->location,
              "a policy-wide markingQualifier (prefix, suffix or separator around the whole marking) has no "
              "equivalent in a scheme; left out");
    }
    read_classifications(root, scheme);
    read_tag_sets(root, scheme);
    resolve_requirements(scheme);
    if (diagnostics_.has_errors()) return std::nullopt;
    return scheme;
  }

 private:
  void error(std::string code, const SourceLocation& where, std::string message) {
    diagnostics_.error(std::move(code), where, std::move(message));
  }
  void warning(std::string code, const SourceLocation& where, std::string message) {
    diagnostics_.warning(std::move(code), where, std::move(message));
  }
  std::string file_name() const { return std::filesystem::path(file_).filename().string(); }

  const XmlElement* required_element(const XmlElement& parent, std::string_view child, std::string_view owner) {
    const XmlElement* element = parent.first(child);
    if (!element) error("S003", parent.location, fmt::format("{} has no {} element", owner, child));
    return element;
  }
  std::optional<std::string> required_attribute(const XmlElement& element, std::string_view key,
                                                std::string_view owner) {
    const std::string* value = element.attribute(key);
    if (!value || trimmed(*value).empty()) {
      error("S003", element.location, fmt::format("{} has no {} attribute", owner, key));
      return std::nullopt;
    }
    return *value;
  }
  std::optional<long long> integer_attribute(const XmlElement& element, std::string_view key, std::string_view owner) {
    auto text = required_attribute(element, key, owner);
    if (!text) return std::nullopt;
    auto value = parse_integer(*text);
    if (!value) error("S004", element.location, fmt::format("{} {} '{}' is not an integer", owner, key, *text));
    return value;
  }
  void obsolete_warning(const XmlElement& element, std::string_view what) {
    const std::string* obsolete = element.attribute("obsolete");
    if (obsolete && trimmed(*obsolete) == "true") {
      warning("S104", element.location, fmt::format("{} is marked obsolete; imported all the same", what));
    }
  }

  // The display phrase of an element's markingData: the one for the page
  // (no code, or pageTopBottom, pageBottom, pageTop), in English or no language.
  std::optional<std::string> marking_phrase(const XmlElement& element, std::string_view what) {
    const XmlElement* chosen = nullptr;
    int chosen_score = -1;
    for (const XmlElement* data : element.all("markingData")) {
      const std::string* language = data->attribute("lang");
      if (language && *language != "en" && language->rfind("en-", 0) != 0) continue;
      int score = 0;
      bool page = false;
      bool has_code = false;
      for (const XmlElement* code : data->all("code")) {
        has_code = true;
        const std::string value = trimmed(code->text);
        if (value == "pageTopBottom" || value == "pageBottom" || value == "pageTop" || value == "documentStart") {
          page = true;
        }
        if (value == "suppressClassName") {
          warning("S101", code->location,
                  fmt::format("suppressClassName on {} has no equivalent in a scheme; the classification is still "
                              "shown in display markings",
                              what));
        }
      }
      score = page ? 2 : (has_code ? 0 : 1);
      if (score > chosen_score) {
        chosen = data;
        chosen_score = score;
      }
    }
    if (!chosen) return std::nullopt;
    auto phrase = required_attribute(*chosen, "phrase", "markingData");
    return phrase;
  }

  Qualifiers qualifiers(const XmlElement& element) {
    Qualifiers result;
    for (const XmlElement* qualifier_set : element.all("markingQualifier")) {
      for (const XmlElement* qualifier : qualifier_set->all("qualifier")) {
        const std::string* text = qualifier->attribute("markingQualifier");
        const std::string* code = qualifier->attribute("qualifierCode");
        if (!text || !code) {
          error("S003", qualifier->location, "qualifier needs markingQualifier and qualifierCode attributes");
          continue;
        }
        if (*code == "prefix") {
          result.prefix = *text;
        } else if (*code == "suffix") {
          result.suffix = *text;
        } else if (*code == "separator") {
          result.separator = *text;
        } else {
          error("S004", qualifier->location,
                fmt::format("qualifierCode '{}' is not prefix, suffix or separator", *code));
        }
      }
    }
    return result;
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
      obsolete_warning(*element, what);
      if (!names.emplace(*name, element->location).second) {
        error("S006", element->location, fmt::format("duplicate classification name '{}'", *name));
        continue;
      }
      if (auto [it, inserted] = lacvs.emplace(*lacv, *name); !inserted) {
        error("S007", element->location,
              fmt::format("classification '{}' has lacv {}, as '{}' does", *name, *lacv, it->second));
      }
      if (auto [it, inserted] = hierarchies.emplace(*hierarchy, *name); !inserted) {
        error("S008", element->location,
              fmt::format("classification '{}' has hierarchy {}, as '{}' does: a scheme ranks classifications in "
                          "a strict order",
                          *name, *hierarchy, it->second));
      }
      Read entry;
      entry.classification.name = *name;
      entry.classification.location = element->location;
      entry.hierarchy = *hierarchy;
      entry.lacv = *lacv;
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
          warning("S102", element->location,
                  fmt::format("colour '{}' of {} is not #rgb, #rrggbb or a known colour name; left out", *background,
                              what));
        }
      }
      if (const std::string* foreground = element->attribute("fgcolor")) {
        if (auto colour = normalise_colour(*foreground)) {
          entry.classification.text_colour = *colour;
        } else {
          warning("S102", element->location,
                  fmt::format("text colour '{}' of {} is not #rgb, #rrggbb or a known colour name; left out",
                              *foreground, what));
        }
      }
      for (std::string_view rule : {"requiredCategory", "excludedCategory"}) {
        for (const XmlElement* found : element->all(rule)) {
          warning("S101", found->location,
                  fmt::format("{} on {} (a category rule for a whole classification) has no equivalent in a scheme; "
                              "left out, so the imported scheme accepts labels the SPIF would reject",
                              rule, what));
        }
      }
      read.push_back(std::move(entry));
    }
    if (read.empty() && !diagnostics_.has_errors()) {
      error("S005", list->location, "the SPIF defines no securityClassification");
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
        error("S003", tag.location,
              fmt::format("{} is enumerated but has no enumType (restrictive or permissive)", what));
        return std::nullopt;
      }
      if (*enum_type == "restrictive") return TagSetType::restrictive;
      if (*enum_type == "permissive") return TagSetType::permissive;
      error("S004", tag.location, fmt::format("{} has enumType '{}': use restrictive or permissive", what, *enum_type));
      return std::nullopt;
    }
    error("S004", tag.location,
          fmt::format("{} has tagType '{}': use restrictive, permissive, enumerated or informative", what, type));
    return std::nullopt;
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
        error("S006", set_element->location, fmt::format("duplicate securityCategoryTagSet name '{}'", *set_name));
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
          error("S006", tag->location, fmt::format("duplicate {}", what));
          continue;
        }
        tag_set.type = *type;
        tag_set.location = tag->location;
        const Qualifiers around = qualifiers(*tag);
        const auto categories = tag->all("tagCategory");
        if (around.any() && (categories.size() > 1 || !around.separator.empty())) {
          warning("S103", tag->location,
                  fmt::format("the marking qualifiers of {} are folded into each category's marking: a label with "
                              "two of its categories repeats them instead of joining the categories",
                              what));
        }
        for (const XmlElement* element : categories) {
          auto name = required_attribute(*element, "name", "tagCategory");
          const std::string category_what =
              name ? fmt::format("category '{}' of {}", *name, what) : "tagCategory of " + what;
          auto lacv = integer_attribute(*element, "lacv", category_what);
          if (!name || !lacv) continue;
          obsolete_warning(*element, category_what);
          if (auto [it, inserted] = category_names.emplace(*name, element->location); !inserted) {
            error("S006", element->location,
                  fmt::format("category name '{}' is used twice (also at line {}): a scheme's category names are "
                              "unique across every tag set",
                              *name, it->second.line));
            continue;
          }
          if (auto [it, inserted] = lacvs.emplace(std::make_pair(*type_text, *lacv), *name); !inserted) {
            error("S007", element->location,
                  fmt::format("{} has lacv {}, as '{}' of the same tag set and tag type does", category_what, *lacv,
                              it->second));
          }
          PendingCategory pending;
          pending.category.name = *name;
          pending.category.tag_set = tag_set.name;
          pending.category.location = element->location;
          pending.spif_tag_set = *set_name;
          pending.tag_type = *type_text;
          pending.lacv = *lacv;
          std::string marking = marking_phrase(*element, category_what).value_or(*name);
          marking = trimmed(around.prefix + marking + around.suffix);
          if (marking != *name) pending.category.marking = marking;
          for (const XmlElement* excluded : element->all("excludedClass")) {
            const std::string classification = trimmed(excluded->text);
            const bool defined = std::any_of(scheme.classifications.begin(), scheme.classifications.end(),
                                             [&](const Classification& c) { return c.name == classification; });
            if (!defined) {
              error("S009", excluded->location,
                    fmt::format("excludedClass '{}' of {} names no securityClassification", classification,
                                category_what));
            } else if (std::find(pending.category.excluded_at.begin(), pending.category.excluded_at.end(),
                                 classification) == pending.category.excluded_at.end()) {
              pending.category.excluded_at.push_back(classification);
            }
          }
          for (const XmlElement* required : element->all("requiredCategory")) {
            PendingCategory::Requirement requirement;
            requirement.location = required->location;
            auto operation = required_attribute(*required, "operation", "requiredCategory of " + category_what);
            if (!operation) continue;
            if (*operation != "all" && *operation != "oneOrMore" && *operation != "onlyOne") {
              error("S004", required->location,
                    fmt::format("requiredCategory operation '{}' of {}: use all, oneOrMore or onlyOne", *operation,
                                category_what));
              continue;
            }
            requirement.operation = *operation;
            for (const XmlElement* group : required->all("categoryGroup")) {
              GroupReference reference;
              reference.location = group->location;
              auto set_ref = required_attribute(*group, "tagSetRef", "categoryGroup");
              auto group_type = required_attribute(*group, "tagType", "categoryGroup");
              if (!set_ref || !group_type) continue;
              reference.tag_set = *set_ref;
              reference.tag_type = *group_type;
              const std::string* all = group->attribute("all");
              if (!(all && trimmed(*all) == "true")) {
                reference.lacv = integer_attribute(*group, "lacv", "categoryGroup");
                if (!reference.lacv) continue;
              }
              requirement.groups.push_back(std::move(reference));
            }
            pending.requirements.push_back(std::move(requirement));
          }
          for (const XmlElement* excluded : element->all("excludedCategory")) {
            warning("S101", excluded->location,
                    fmt::format("excludedCategory on {} has no equivalent in a scheme; left out, so the imported "
                                "scheme accepts labels the SPIF would reject",
                                category_what));
          }
          tag_set.categories.push_back(*name);
          pending_.push_back(std::move(pending));
        }
        scheme.tag_sets.push_back(std::move(tag_set));
      }
    }
  }

  // Category groups to category names, then requirements to `requires`.
  void resolve_requirements(LabelScheme& scheme) {
    // Names are copied, not moved, until every requirement is resolved.
    for (PendingCategory& pending : pending_) {
      for (const PendingCategory::Requirement& requirement : pending.requirements) {
        std::vector<std::string> resolved;
        bool complete = true;
        for (const GroupReference& group : requirement.groups) {
          std::vector<std::string> members;
          bool set_exists = false;
          for (const PendingCategory& other : pending_) {
            if (other.spif_tag_set != group.tag_set) continue;
            set_exists = true;
            if (other.tag_type != group.tag_type) continue;
            if (group.lacv && other.lacv != *group.lacv) continue;
            members.push_back(other.category.name);
          }
          if (!set_exists) {
            error("S009", group.location,
                  fmt::format("categoryGroup tagSetRef '{}' names no securityCategoryTagSet", group.tag_set));
            complete = false;
          } else if (members.empty()) {
            error("S009", group.location,
                  group.lacv ? fmt::format("categoryGroup names no {} category with lacv {} in tag set '{}'",
                                           group.tag_type, *group.lacv, group.tag_set)
                             : fmt::format("categoryGroup names no {} category in tag set '{}'", group.tag_type,
                                           group.tag_set));
            complete = false;
          }
          resolved.insert(resolved.end(), members.begin(), members.end());
        }
        if (!complete) continue;
        if (requirement.operation == "all" || resolved.size() == 1) {
          for (const std::string& name : resolved) {
            auto& requires_categories = pending.category.requires_categories;
            if (std::find(requires_categories.begin(), requires_categories.end(), name) == requires_categories.end()) {
              requires_categories.push_back(name);
            }
          }
        } else {
          warning("S101", requirement.location,
                  fmt::format("requiredCategory operation {} over {} categories on category '{}' (one of several) has "
                              "no equivalent in a scheme, whose requires needs every one; left out",
                              requirement.operation, resolved.size(), pending.category.name));
        }
      }
    }
    // Only now: a requirement may name any category, read before or after it.
    for (PendingCategory& pending : pending_) scheme.categories.push_back(std::move(pending.category));
  }

  std::string file_;
  Diagnostics& diagnostics_;
  std::vector<PendingCategory> pending_;
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
  }
  if (!scheme.tag_sets.empty()) yaml += "tag_sets:\n";
  for (const TagSet& tag_set : scheme.tag_sets) {
    yaml +=
        fmt::format("  - name: {}\n    type: {}\n    categories:\n", yaml_quote(tag_set.name), type_name(tag_set.type));
    for (const std::string& name : tag_set.categories) {
      auto it = std::find_if(scheme.categories.begin(), scheme.categories.end(),
                             [&name](const Category& category) { return category.name == name; });
      yaml += fmt::format("      - name: {}\n", yaml_quote(name));
      if (it == scheme.categories.end()) continue;
      if (!it->marking.empty() && it->marking != it->name) {
        yaml += fmt::format("        marking: {}\n", yaml_quote(it->marking));
      }
      if (!it->excluded_at.empty()) yaml += fmt::format("        excluded_at: {}\n", yaml_list(it->excluded_at));
      if (!it->requires_categories.empty()) {
        yaml += fmt::format("        requires: {}\n", yaml_list(it->requires_categories));
      }
    }
  }
  return yaml;
}

SpifImport import_spif_text(std::string_view text, const std::string& file) {
  SpifImport result;
  std::unique_ptr<XmlElement> root = parse_xml(text, file, result.diagnostics);
  if (!root) return result;
  Importer importer(file, result.diagnostics);
  std::optional<LabelScheme> scheme = importer.run(*root);
  if (!scheme) return result;

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
    result.diagnostics.error("S020", root->location,
                             fmt::format("the imported scheme is not valid: {}: {}", problem.code, problem.message));
  }
  if (result.diagnostics.has_errors()) return result;
  result.scheme = std::move(scheme);
  result.yaml = std::move(yaml);
  return result;
}

SpifImport import_spif(const std::filesystem::path& file) {
  std::error_code error;
  const auto size = std::filesystem::file_size(file, error);
  if (!error && size > kMaxFileBytes) {
    SpifImport result;
    result.diagnostics.error("S010", SourceLocation{file.string(), 0, 0},
                             fmt::format("the file is {} bytes; SPIFs over {} bytes are refused", size, kMaxFileBytes));
    return result;
  }
  std::string reason;
  auto text = read_text_file(file, reason);
  if (!text) {
    SpifImport result;
    result.diagnostics.error("S010", SourceLocation{file.string(), 0, 0},
                             fmt::format("cannot read the file: {}", reason));
    return result;
  }
  return import_spif_text(*text, file.string());
}

LoadResult load_scheme(const std::filesystem::path& file) {
  LoadResult result;
  std::string reason;
  auto text = read_text_file(file, reason);
  if (!text) {
    result.diagnostics.error("P007", SourceLocation{file.string(), 0, 0},
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
