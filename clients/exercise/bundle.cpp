#include "clients/exercise/bundle.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <set>
#include <system_error>

#include "clients/exercise/report.hpp"
#include "gateway/model/json_value.hpp"

namespace icegate::exercise {

namespace fs = std::filesystem;

namespace {

std::string read_file(const fs::path& file, std::size_t limit) {
  std::error_code error;
  const auto size = fs::file_size(file, error);
  if (error) throw BundleError(fmt::format("cannot read '{}': {}", file.string(), error.message()));
  if (size > limit)
    throw BundleError(fmt::format("'{}' is too large ({} bytes, at most {})", file.string(), size, limit));
  std::ifstream in(file, std::ios::binary);
  if (!in) throw BundleError(fmt::format("cannot open '{}'", file.string()));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) throw BundleError(fmt::format("cannot read '{}'", file.string()));
  return text;
}

YAML::Node parse_yaml(const std::string& text, const fs::path& file) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception& error) {
    throw BundleError(
        fmt::format("{}:{}:{}: {}", file.string(), error.mark.line + 1, error.mark.column + 1, error.msg));
  }
}

// A top-level scalar of a YAML mapping, or "".
std::string top_level_scalar(const YAML::Node& root, const char* key) {
  if (!root.IsMap()) return {};
  const YAML::Node value = root[key];
  return value.IsDefined() && value.IsScalar() ? value.Scalar() : std::string();
}

fs::path absolute_normal(const fs::path& file) { return fs::absolute(file).lexically_normal(); }

// The deepest directory that holds every one of `files` (absolute, normal).
fs::path common_root(const std::vector<fs::path>& files) {
  fs::path root = files.front().parent_path();
  for (const fs::path& file : files) {
    const fs::path dir = file.parent_path();
    fs::path common;
    auto a = root.begin();
    auto b = dir.begin();
    for (; a != root.end() && b != dir.end() && *a == *b; ++a, ++b) common /= *a;
    root = common;
  }
  return root;
}

struct Gathered {
  fs::path file;  // absolute, normal
  std::string role;
};

}  // namespace

std::vector<std::string> Bundle::policy_paths() const {
  std::vector<std::string> paths;
  for (const BundleFile& file : files)
    if (file.role == "policy") paths.push_back(file.path);
  return paths;
}

Bundle make_bundle(const fs::path& scenario_file, const std::vector<fs::path>& policy_files,
                   std::vector<RunResult> results, const std::vector<fs::path>& extra_files) {
  const fs::path scenario = absolute_normal(scenario_file);
  Bundle bundle;
  bundle.scenario_text = read_file(scenario, kMaxBundledFileBytes);
  const YAML::Node scenario_root = parse_yaml(bundle.scenario_text, scenario);
  // The scenario file names itself with `exercise:` (scenarios/README.md); `name:` is accepted too.
  bundle.scenario_name = top_level_scalar(scenario_root, "exercise");
  if (bundle.scenario_name.empty()) bundle.scenario_name = top_level_scalar(scenario_root, "name");
  if (bundle.scenario_name.empty()) bundle.scenario_name = scenario.stem().string();

  std::vector<Gathered> gathered;
  std::set<fs::path> seen{scenario};
  auto add = [&](const fs::path& file, const std::string& role) {
    const fs::path normal = absolute_normal(file);
    if (seen.insert(normal).second) gathered.push_back({normal, role});
  };
  auto add_policy = [&](const fs::path& file) {
    const fs::path policy = absolute_normal(file);
    add(policy, "policy");
    // The scheme a policy names by path (`scheme: schemes/gpms-2008.yaml`), as the policy loader resolves it.
    const YAML::Node root = parse_yaml(read_file(policy, kMaxBundledFileBytes), policy);
    const std::string scheme = top_level_scalar(root, "scheme");
    if (!scheme.empty()) add(policy.parent_path() / scheme, "scheme");
  };
  for (const fs::path& policy : policy_files) add_policy(policy);
  // The scenario's default policy, so that it runs without --policy once extracted.
  if (const std::string policy = top_level_scalar(scenario_root, "policy"); !policy.empty()) {
    const fs::path file = scenario.parent_path() / policy;
    if (fs::is_regular_file(file)) add_policy(file);
  }
  // An inject list kept in a spreadsheet.
  if (scenario_root.IsMap()) {
    for (const auto& item : scenario_root) {
      if (!item.second.IsScalar()) continue;
      const std::string value = item.second.Scalar();
      if (value.size() > 4 && value.ends_with(".csv") && fs::is_regular_file(scenario.parent_path() / value))
        add(scenario.parent_path() / value, "file");
    }
  }
  for (const fs::path& file : extra_files) add(file, "file");

  std::vector<fs::path> all{scenario};
  for (const Gathered& g : gathered) all.push_back(g.file);
  const fs::path root = common_root(all);
  bundle.scenario_file = scenario.lexically_relative(root).generic_string();
  for (const Gathered& g : gathered) {
    bundle.files.push_back(
        BundleFile{g.file.lexically_relative(root).generic_string(), g.role, read_file(g.file, kMaxBundledFileBytes)});
  }
  bundle.results = std::move(results);
  return bundle;
}

std::string to_json(const Bundle& bundle) {
  boost::json::value document = boost::json::object();
  boost::json::object& root = document.get_object();
  root["bundle_version"] = bundle.bundle_version;
  root["scenario"] = {{"name", bundle.scenario_name}, {"file", bundle.scenario_file}, {"text", bundle.scenario_text}};
  boost::json::array& files = root["files"].emplace_array();
  for (const BundleFile& file : bundle.files)
    files.push_back(boost::json::object{{"path", file.path}, {"role", file.role}, {"text", file.text}});
  boost::json::array& results = root["results"].emplace_array();
  for (const RunResult& result : bundle.results) results.push_back(detail::result_value(result));
  return json::pretty(document) + "\n";
}

Bundle parse_bundle(std::string_view json) {
  json::ParseResult parsed = json::parse(json);
  if (!parsed.error.empty()) throw BundleError(fmt::format("bundle: {}", parsed.error));
  const boost::json::value& root = parsed.value;
  auto bad = [](std::string_view what) -> BundleError { return BundleError(fmt::format("bundle: {}", what)); };
  auto text = [&](const boost::json::value* node, const char* key, std::string_view where) {
    const boost::json::value* value = node ? json::member(*node, key) : nullptr;
    if (!value || !value->is_string()) throw bad(fmt::format("{}: missing string \"{}\"", where, key));
    return std::string(value->get_string());
  };
  if (!root.is_object()) throw bad("expected a JSON object");
  Bundle bundle;
  std::int64_t version = 0;  // absent: not a version this icegate reads
  if (const boost::json::value* given = json::member(root, "bundle_version")) {
    if (!given->is_int64()) throw bad("\"bundle_version\" is not a number");
    version = given->get_int64();
  }
  if (version != 1) throw bad(fmt::format("unsupported bundle_version {} (this icegate reads version 1)", version));
  bundle.bundle_version = 1;
  const boost::json::value* scenario = json::member(root, "scenario");
  bundle.scenario_name = text(scenario, "name", "scenario");
  bundle.scenario_file = text(scenario, "file", "scenario");
  bundle.scenario_text = text(scenario, "text", "scenario");
  const boost::json::value* files = json::member(root, "files");
  if (!files || !files->is_array()) throw bad("\"files\" is not an array");
  for (std::size_t i = 0; i < files->get_array().size(); ++i) {
    const std::string where = fmt::format("files[{}]", i);
    const boost::json::value& file = files->get_array()[i];
    const boost::json::value* role = json::member(file, "role");
    bundle.files.push_back(BundleFile{text(&file, "path", where),
                                      role && role->is_string() ? std::string(role->get_string()) : std::string("file"),
                                      text(&file, "text", where)});
  }
  const boost::json::value* results = json::member(root, "results");
  if (!results || !results->is_array()) throw bad("\"results\" is not an array");
  for (std::size_t i = 0; i < results->get_array().size(); ++i) {
    try {
      bundle.results.push_back(detail::run_result_from_json(results->get_array()[i]));
    } catch (const ReportError& error) {
      throw bad(fmt::format("results[{}]: {}", i, error.what()));
    }
  }
  return bundle;
}

void write_bundle(const fs::path& bundle_path, const fs::path& scenario_file, const std::vector<fs::path>& policy_files,
                  const std::vector<RunResult>& results, const std::vector<fs::path>& extra_files) {
  const std::string json = to_json(make_bundle(scenario_file, policy_files, results, extra_files));
  std::ofstream out(bundle_path, std::ios::binary | std::ios::trunc);
  if (!out) throw BundleError(fmt::format("cannot write '{}'", bundle_path.string()));
  out << json;
  out.close();
  if (!out) throw BundleError(fmt::format("cannot write '{}'", bundle_path.string()));
}

Bundle read_bundle(const fs::path& bundle_path) {
  const std::string json = read_file(bundle_path, kMaxBundleBytes);
  try {
    return parse_bundle(json);
  } catch (const BundleError& error) {
    throw BundleError(fmt::format("{}: {}", bundle_path.string(), error.what()));
  }
}

std::optional<std::string> unsafe_bundle_path(std::string_view text) {
  if (text.empty()) return "an empty path";
  if (text.find('\0') != std::string_view::npos) return "a NUL character";
  // A separator on Windows: "..\\x" would escape there.
  if (text.find('\\') != std::string_view::npos) return "a backslash";
  const fs::path path{std::string(text)};
  if (text.front() == '/' || path.is_absolute() || path.has_root_name() || path.has_root_directory())
    return "an absolute path";
  for (const fs::path& component : path) {
    if (component == "..") return "a '..' component";
    if (component.empty()) return "a trailing '/'";
  }
  return std::nullopt;
}

fs::path extract_bundle(const Bundle& bundle, const fs::path& dir, bool overwrite) {
  struct Output {
    fs::path relative;
    const std::string* text;
  };
  std::vector<Output> outputs;
  std::set<fs::path> targets;
  auto plan = [&](const std::string& path, const std::string& text) {
    if (auto why = unsafe_bundle_path(path)) throw BundleError(fmt::format("bundle path '{}' refused: {}", path, *why));
    const fs::path relative = fs::path(path).lexically_normal();
    if (relative.empty() || relative == ".")
      throw BundleError(fmt::format("bundle path '{}' refused: it names the directory itself", path));
    if (!targets.insert(relative).second)
      throw BundleError(fmt::format("bundle path '{}' refused: it appears twice", path));
    outputs.push_back({relative, &text});
  };
  plan(bundle.scenario_file, bundle.scenario_text);
  for (const BundleFile& file : bundle.files) plan(file.path, file.text);
  // One path may not be another's directory ("a" and "a/b").
  for (const fs::path& target : targets) {
    for (fs::path parent = target.parent_path(); !parent.empty(); parent = parent.parent_path()) {
      if (targets.count(parent))
        throw BundleError(fmt::format("bundle path '{}' refused: '{}' is also a file", target.generic_string(),
                                      parent.generic_string()));
    }
  }

  std::error_code error;
  fs::create_directories(dir, error);
  if (error) throw BundleError(fmt::format("cannot create '{}': {}", dir.string(), error.message()));
  const fs::path base = fs::canonical(dir, error);
  if (error) throw BundleError(fmt::format("cannot resolve '{}': {}", dir.string(), error.message()));

  // Check every target before writing any: a symbolic link already in `dir`
  // must not carry a write outside it.
  auto inside = [&](const fs::path& resolved) {
    const auto [end, _] = std::mismatch(base.begin(), base.end(), resolved.begin(), resolved.end());
    return end == base.end();
  };
  for (const Output& output : outputs) {
    const fs::path target = base / output.relative;
    const fs::path resolved_parent = fs::weakly_canonical(target.parent_path(), error);
    if (error || !inside(resolved_parent))
      throw BundleError(fmt::format("bundle path '{}' refused: it leads outside '{}'", output.relative.generic_string(),
                                    dir.string()));
    if (fs::exists(resolved_parent) && !fs::is_directory(resolved_parent))
      throw BundleError(fmt::format("bundle path '{}' refused: '{}' is not a directory",
                                    output.relative.generic_string(), resolved_parent.string()));
    const fs::file_status status = fs::symlink_status(target, error);
    if (fs::is_symlink(status))
      throw BundleError(fmt::format("bundle path '{}' refused: it is a symbolic link in '{}'",
                                    output.relative.generic_string(), dir.string()));
    if (fs::exists(status) && (!overwrite || !fs::is_regular_file(status)))
      throw BundleError(fmt::format("'{}' already exists{}", target.string(), overwrite ? " and is not a file" : ""));
  }

  for (const Output& output : outputs) {
    const fs::path target = base / output.relative;
    fs::create_directories(target.parent_path(), error);
    if (error) throw BundleError(fmt::format("cannot create '{}': {}", target.parent_path().string(), error.message()));
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    out.write(output.text->data(), static_cast<std::streamsize>(output.text->size()));
    out.close();
    if (!out) throw BundleError(fmt::format("cannot write '{}'", target.string()));
  }
  return base / fs::path(bundle.scenario_file).lexically_normal();
}

}  // namespace icegate::exercise
