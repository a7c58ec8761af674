// The actions of the method's steps (method.h), each a call into one library module. Internal to
// src/workflow.
#pragma once

#include "workflow/config.h"
#include "workflow/method.h"
#include "workflow/runner.h"

namespace qmix::workflow::steps {

Status convert(const WorkflowConfig& c, const WorkflowPaths& p, const StepContext& ctx);
Status collect_imatrix(const WorkflowConfig& c, const std::filesystem::path& model,
                       const std::filesystem::path& text, const std::filesystem::path& out,
                       const StepContext& ctx);
Status compare_imatrices(const WorkflowConfig& c, const WorkflowPaths& p, const StepContext& ctx);
Status base_recipe(const WorkflowConfig& c, const WorkflowPaths& p, const StepContext& ctx);
Status derive_recipes(const WorkflowConfig& c, const WorkflowPaths& p, const StepContext& ctx);
Status plan(const WorkflowConfig& c, const WorkflowPaths& p, const VariantSpec& v,
            const StepContext& ctx);
Status quantize(const WorkflowConfig& c, const WorkflowPaths& p, const VariantSpec& v,
                const StepContext& ctx);
Status evaluate(const WorkflowConfig& c, const WorkflowPaths& p, const StepContext& ctx);
Status fit(const WorkflowConfig& c, const WorkflowPaths& p, const StepContext& ctx);
Status inspect(const WorkflowConfig& c, const WorkflowPaths& p, const StepContext& ctx);
Status report(const WorkflowConfig& c, const WorkflowPaths& p, const StepContext& ctx);

}  // namespace qmix::workflow::steps
