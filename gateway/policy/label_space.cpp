// Labels as JSON text (json_quote) and the label space of a
// policy's scheme (enumerate_labels): every valid label the analyses decide.
#include <map>

#include "gateway/model/json.hpp"
#include "gateway/policy/diff.hpp"
#include "gateway/policy/diff_support.hpp"

namespace icegate::policy {

using detail::contains;

// ---- Labels as text ---------------------------------------------------------

std::string json_quote(std::string_view text) { return json::quote(text); }

// ---- The label space --------------------------------------------------------

LabelSpace enumerate_labels(const CompiledPolicy& policy, const LabelSpaceOptions& options) {
  const LabelScheme& scheme = policy.source().scheme;
  LabelSpace space;

  // Per tag set that affects access, its subsets of at most k categories.
  std::vector<std::vector<std::vector<std::string>>> choices;
  for (const TagSet& tag_set : scheme.tag_sets) {
    if (tag_set.type == TagSetType::informative) continue;
    if (tag_set.type == TagSetType::permissive && !options.include_permissive) continue;
    std::vector<std::vector<std::string>> subsets = {{}};
    const std::vector<std::string>& names = tag_set.categories;
    for (std::size_t i = 0; i < names.size() && options.max_categories_per_set >= 1; ++i) {
      subsets.push_back({names[i]});
    }
    for (std::size_t i = 0; i < names.size() && options.max_categories_per_set >= 2; ++i) {
      for (std::size_t j = i + 1; j < names.size(); ++j) subsets.push_back({names[i], names[j]});
    }
    choices.push_back(std::move(subsets));
  }

  // The product of the choices, fewest categories first, within a budget.
  const std::size_t classification_count = std::max<std::size_t>(1, scheme.classifications.size());
  const std::size_t budget = std::max<std::size_t>(1, options.max_labels / classification_count);
  std::vector<std::vector<std::string>> combinations;
  std::vector<std::size_t> odometer(choices.size(), 0);
  const std::size_t generation_cap = budget * 8;
  while (true) {
    std::vector<std::string> combination;
    for (std::size_t s = 0; s < choices.size(); ++s) {
      const auto& subset = choices[s][odometer[s]];
      combination.insert(combination.end(), subset.begin(), subset.end());
    }
    combinations.push_back(std::move(combination));
    if (combinations.size() >= generation_cap) {
      space.truncated = true;
      break;
    }
    std::size_t s = 0;
    for (; s < choices.size(); ++s) {
      if (++odometer[s] < choices[s].size()) break;
      odometer[s] = 0;
    }
    if (s == choices.size()) break;
  }
  std::stable_sort(combinations.begin(), combinations.end(),
                   [](const auto& a, const auto& b) { return a.size() < b.size(); });
  if (combinations.size() > budget) {
    combinations.resize(budget);
    space.truncated = true;
  }

  std::map<std::string, const Category*> categories;
  for (const Category& category : scheme.categories) categories.emplace(category.name, &category);
  for (const Classification& classification : scheme.classifications) {
    std::vector<Label> labels;
    for (const auto& combination : combinations) {
      Label label{classification.name, combination};
      // Close under `requires`: a required category is on every valid label
      // that has the requiring one.
      for (std::size_t i = 0; i < label.categories.size(); ++i) {
        auto it = categories.find(label.categories[i]);
        if (it == categories.end()) continue;
        for (const std::string& required : it->second->requires_categories) {
          if (!contains(label.categories, required)) label.categories.push_back(required);
        }
      }
      normalise(label);
      if (!policy.label_problems(label).empty() || contains(labels, label)) continue;
      labels.push_back(std::move(label));
    }
    std::stable_sort(labels.begin(), labels.end(),
                     [](const Label& a, const Label& b) { return a.categories.size() < b.categories.size(); });
    space.labels.insert(space.labels.end(), labels.begin(), labels.end());
  }
  return space;
}

}  // namespace icegate::policy
