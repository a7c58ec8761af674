#include "recipe/importance.h"

#include <algorithm>
#include <cmath>

#include "imatrix/imatrix_file.h"

namespace qmix {
namespace {

bool contains_any(const std::string& name, const std::vector<std::string>& fragments) {
  return std::ranges::any_of(
      fragments, [&](const std::string& f) { return name.find(f) != std::string::npos; });
}

}  // namespace

ImportanceData importance_from_imatrix(const Imatrix& imatrix, std::string file,
                                       const ImportanceFilter& filter) {
  ImportanceData out;
  out.file = std::move(file);
  if (!imatrix.datasets.empty()) out.dataset = imatrix.datasets.front();
  out.chunk_count = imatrix.chunk_count;
  for (const auto& e : imatrix.entries) {
    if (e.counts.empty() || e.sum_sq.empty()) continue;  // llama-quantize skips these too
    if (!filter.exclude.empty() && contains_any(e.name, filter.exclude)) continue;
    if (!filter.include.empty() && !contains_any(e.name, filter.include)) continue;
    out.values.emplace(e.name, e.mean_sq_all());
  }
  return out;
}

Expected<ImportanceData> read_importance(const std::filesystem::path& path,
                                         const ImportanceFilter& filter) {
  QMIX_TRY_ASSIGN(const Imatrix imatrix, read_imatrix(path));
  ImportanceData data = importance_from_imatrix(imatrix, path.string(), filter);
  for (const auto& [name, values] : data.values) {
    for (const float v : values)
      if (!std::isfinite(v))
        return make_error(ErrorCode::kBadData, "{}: entry {} has a non-finite value", path.string(),
                          name);
  }
  return data;
}

}  // namespace qmix
