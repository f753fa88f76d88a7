// The layout as documented: docs/architecture.md's dependency table is the graph every product
// folder's includes must follow, and the README is a short front door that links every document.

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace optischema {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = OPTISCHEMA_SOURCE_DIR;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// folder → the folders it may include, from the table under "## Dependencies".
std::map<std::string, std::set<std::string>> DependencyTable() {
  const std::string doc = ReadText(kSource / "docs/architecture.md");
  const auto section = doc.find("## Dependencies");
  EXPECT_NE(section, std::string::npos) << "docs/architecture.md has no ## Dependencies";
  std::map<std::string, std::set<std::string>> table;
  std::istringstream lines(doc.substr(section == std::string::npos ? 0 : section));
  const std::regex row(R"(^\| `([a-z_]+)/` \| (.*) \|\s*$)");
  const std::regex folder("`([a-z_]+)/`");
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (!std::regex_match(line, m, row)) continue;
    const std::string deps = m[2];
    std::set<std::string>& allowed = table[m[1]];
    for (auto it = std::sregex_iterator(deps.begin(), deps.end(), folder);
         it != std::sregex_iterator(); ++it) {
      allowed.insert((*it)[1]);
    }
  }
  return table;
}

// The top-level folders holding C++ sources of the product (tests/ excluded).
std::set<std::string> ProductFolders() {
  std::set<std::string> out;
  for (const auto& entry : fs::directory_iterator(kSource)) {
    const std::string name = entry.path().filename();
    if (!entry.is_directory() || name == "tests" || name.starts_with(".") ||
        name.starts_with("build")) {
      continue;
    }
    for (const auto& file : fs::recursive_directory_iterator(entry.path())) {
      const std::string ext = file.path().extension();
      if (ext == ".cc" || ext == ".h") {
        out.insert(name);
        break;
      }
    }
  }
  return out;
}

TEST(ArchitectureDocTest, EveryProductFolderHasARowAndEveryRowAFolder) {
  const auto table = DependencyTable();
  const auto folders = ProductFolders();
  for (const std::string& folder : folders) {
    EXPECT_TRUE(table.contains(folder)) << folder << "/ has no row in docs/architecture.md";
  }
  for (const auto& [folder, allowed] : table) {
    EXPECT_TRUE(folders.contains(folder))
        << "docs/architecture.md names " << folder << "/, which holds no source";
    for (const std::string& dep : allowed) {
      EXPECT_TRUE(folders.contains(dep)) << folder << "/ row names " << dep << "/";
    }
  }
}

TEST(ArchitectureDocTest, EveryIncludeFollowsTheDependencyTable) {
  const auto table = DependencyTable();
  const auto folders = ProductFolders();
  const std::regex include(R"(^#include "([a-z_]+)/)");
  int checked = 0;
  for (const std::string& folder : folders) {
    const auto row = table.find(folder);
    if (row == table.end()) continue;  // reported by the test above
    for (const auto& file : fs::recursive_directory_iterator(kSource / folder)) {
      const std::string ext = file.path().extension();
      if (ext != ".cc" && ext != ".h") continue;
      std::istringstream lines(ReadText(file.path()));
      for (std::string line; std::getline(lines, line);) {
        std::smatch m;
        if (!std::regex_search(line, m, include)) continue;
        const std::string target = m[1];
        if (!folders.contains(target) || target == folder) continue;
        ++checked;
        EXPECT_TRUE(row->second.contains(target))
            << fs::relative(file.path(), kSource).string() << " includes " << target
            << "/, which docs/architecture.md does not allow for " << folder << "/";
      }
    }
  }
  EXPECT_GT(checked, 100);  // the walk found the tree
}

TEST(ArchitectureDocTest, TheGraphHasNoCycle) {
  const auto table = DependencyTable();
  // Depth-first search; a folder met again while on the stack closes a cycle.
  std::map<std::string, int> state;  // 0 new, 1 on the stack, 2 done
  std::vector<std::string> cycle;
  std::function<bool(const std::string&)> visit = [&](const std::string& folder) {
    state[folder] = 1;
    const auto row = table.find(folder);
    if (row != table.end()) {
      for (const std::string& dep : row->second) {
        if (state[dep] == 1 || (state[dep] == 0 && visit(dep))) {
          cycle.push_back(folder);
          return true;
        }
      }
    }
    state[folder] = 2;
    return false;
  };
  for (const auto& [folder, allowed] : table) {
    if (state[folder] == 0 && visit(folder)) break;
  }
  EXPECT_TRUE(cycle.empty()) << "a dependency cycle through " << cycle.front() << "/";
}

TEST(ReadmeTest, IsAShortFrontDoorLinkingEveryDocument) {
  const std::string readme = ReadText(kSource / "README.md");
  EXPECT_LE(readme.size(), 12u * 1024u);
  for (const auto& entry : fs::directory_iterator(kSource / "docs")) {
    if (entry.path().extension() != ".md") continue;
    const std::string link = "(docs/" + entry.path().filename().string();
    EXPECT_NE(readme.find(link), std::string::npos)
        << "README.md does not link docs/" << entry.path().filename().string();
  }
}

TEST(ReadmeTest, EveryRelativeLinkInTheDocumentsResolves) {
  std::vector<fs::path> documents = {kSource / "README.md"};
  for (const auto& entry : fs::directory_iterator(kSource / "docs")) {
    if (entry.path().extension() == ".md") documents.push_back(entry.path());
  }
  const std::regex link(R"(\]\(([^)#\s]+)(#[^)\s]*)?\))");
  int checked = 0;
  for (const fs::path& document : documents) {
    const std::string text = ReadText(document);
    for (auto it = std::sregex_iterator(text.begin(), text.end(), link);
         it != std::sregex_iterator(); ++it) {
      const std::string target = (*it)[1];
      if (target.find("://") != std::string::npos || target.starts_with("mailto:")) continue;
      ++checked;
      EXPECT_TRUE(fs::exists(document.parent_path() / target))
          << fs::relative(document, kSource).string() << " links " << target
          << ", which does not exist";
    }
  }
  EXPECT_GT(checked, 10);
}

}  // namespace
}  // namespace optischema
