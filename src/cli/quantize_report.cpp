#include "cli/quantize_report.h"

#include <fmt/format.h>

#include <algorithm>

#include "recipe/presets.h"

namespace qmix::cli {
namespace {

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string out;
  for (int64_t d : shape) out += (out.empty() ? "" : " x ") + std::to_string(d);
  return out;
}

double mib(uint64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

std::string_view type_name(GgmlType t) { return quant_type(t).name; }

}  // namespace

void print_plan_table(std::FILE* out, const QuantPlan& plan) {
  size_t width = 6;
  for (const auto& t : plan.tensors) width = std::max(width, t.name.size());
  fmt::print(out, "{:<{}}  {:>18}  {:>7}    {:<7}  {:>10}  {}\n", "tensor", width, "shape", "from",
             "to", "bytes", "decided by");
  for (const auto& t : plan.tensors) {
    fmt::print(out, "{:<{}}  {:>18}  {:>7} -> {:<7}  {:>10}  {}\n", t.name, width,
               shape_string(t.shape), type_name(t.source_type), type_name(t.type), t.bytes,
               t.reason);
  }
  fmt::print(out, "\n{}\n", plan_summary(plan));
  fmt::print(out, "bpw: {:.4f} over all tensors, {:.4f} over quantizable weights\n",
             plan.bits_per_weight(), plan.bits_per_weight_quantizable());
  fmt::print(out, "types:");
  for (const auto& [type, totals] : plan.histogram())
    fmt::print(out, "  {} x{} ({:.2f} MiB)", type_name(type), totals.tensors, mib(totals.bytes));
  fmt::print(out, "\n");
}

nlohmann::ordered_json plan_to_json(const QuantPlan& plan) {
  nlohmann::ordered_json j;
  j["preset"] = plan.preset->name;
  j["file_type"] = static_cast<uint32_t>(plan.preset->ftype);
  auto& tensors = j["tensors"] = nlohmann::ordered_json::array();
  for (const auto& t : plan.tensors) {
    tensors.push_back({{"name", t.name},
                       {"shape", t.shape},
                       {"source_type", type_name(t.source_type)},
                       {"type", type_name(t.type)},
                       {"step", decision_step_name(t.step)},
                       {"reason", t.reason},
                       {"provenance", t.provenance},
                       {"fell_back", t.fell_back},
                       {"requires_imatrix", t.requires_imatrix},
                       {"n_elements", t.n_elements},
                       {"source_bytes", t.source_bytes},
                       {"bytes", t.bytes}});
  }
  j["totals"] = {
      {"tensors", plan.tensors.size()},      {"n_elements", plan.n_elements()},
      {"source_bytes", plan.source_bytes()}, {"bytes", plan.bytes()},
      {"bpw", plan.bits_per_weight()},       {"bpw_weights", plan.bits_per_weight_quantizable()},
      {"fell_back", plan.n_fell_back}};
  auto& histogram = j["histogram"] = nlohmann::ordered_json::object();
  for (const auto& [type, totals] : plan.histogram())
    histogram[std::string(type_name(type))] = {
        {"tensors", totals.tensors}, {"n_elements", totals.n_elements}, {"bytes", totals.bytes}};
  j["unused_rules"] = plan.unused_rules;
  j["needs_imatrix"] = plan.needs_imatrix();
  return j;
}

void print_preset_table(std::FILE* out) {
  fmt::print(out, "{:<10} {:>5}  {:<8}  {}\n", "preset", "ftype", "default", "description");
  for (const auto& p : all_presets())
    fmt::print(out, "{:<10} {:>5}  {:<8}  {}\n", p.name, static_cast<uint32_t>(p.ftype),
               type_name(p.default_type), p.description);
  fmt::print(out,
             "aliases: Q3_K = Q3_K_M, Q4_K = Q4_K_M, Q5_K = Q5_K_M; the ftype number works "
             "too\n");
}

nlohmann::ordered_json presets_to_json() {
  auto j = nlohmann::ordered_json::array();
  for (const auto& p : all_presets())
    j.push_back({{"name", p.name},
                 {"file_type", static_cast<uint32_t>(p.ftype)},
                 {"default_type", type_name(p.default_type)},
                 {"description", p.description}});
  return j;
}

std::string plan_summary(const QuantPlan& plan) {
  size_t changed = 0;
  for (const auto& t : plan.tensors) changed += t.type != t.source_type;
  std::string out =
      fmt::format("{}: {} tensors ({} converted), {:.2f} MiB -> {:.2f} MiB, {:.4f} bpw",
                  plan.preset->name, plan.tensors.size(), changed, mib(plan.source_bytes()),
                  mib(plan.bytes()), plan.bits_per_weight());
  if (plan.n_fell_back > 0)
    out += fmt::format(", {} fell back to another type (rows do not fit the blocks)",
                       plan.n_fell_back);
  return out;
}

}  // namespace qmix::cli
